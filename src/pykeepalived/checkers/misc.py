"""MISC_CHECK: run a script (no shell, own process group, as ``user``), judge its exit code.

Exit 0 is up, anything else down; with ``misc_dynamic`` exits 2..255 are up too and set the
real server's weight to ``exit - 2`` (exit 1 stays "down"). A script that outlives
``misc_timeout`` gets SIGTERM, then SIGKILL after 2 s, on its whole process group, and counts as
a failure.
"""

from __future__ import annotations

from collections.abc import Hashable

from pykeepalived.checkers.base import CheckResult, Reason
from pykeepalived.config.model.checkers import MiscCheck
from pykeepalived.notify.scripts import ScriptResult, ScriptSpec, resolve_user, run_script


def judge_exit(result: ScriptResult, *, dynamic: bool) -> CheckResult:
    """The verdict for a finished script run."""
    if result.error is not None:
        return CheckResult.fail(Reason.SCRIPT_ERROR, result.error)
    if result.timed_out:
        return CheckResult.fail(Reason.SCRIPT_TIMEOUT, "timed out")
    if result.exit_code is None:
        return CheckResult.fail(Reason.SCRIPT_SIGNAL, f"killed by signal {result.signal}")
    code = result.exit_code
    if code == 0:
        return CheckResult.ok("exited with status 0")
    if dynamic and 2 <= code <= 255:
        return CheckResult.ok(f"exited with status {code}", weight=code - 2)
    return CheckResult.fail(Reason.SCRIPT_EXIT, f"exited with status {code}")


def script_spec(check: MiscCheck, default_user: str | None = None) -> ScriptSpec:
    """The argv and identity to run (``user`` of the checker, else the default script user)."""
    user = check.script.user if check.script.user is not None else default_user
    group = check.script.group if check.script.user is not None else None
    uid, gid = resolve_user(user, group)
    return ScriptSpec(check.script.argv, uid, gid)


class MiscProbe:
    """One run of the checker's script."""

    def __init__(self, check: MiscCheck, *, default_user: str | None = None) -> None:
        self.check = check
        self.spec = script_spec(check, default_user)

    @property
    def key(self) -> Hashable:
        return ("misc", self.spec, self.check.timeout_s, self.check.dynamic)

    async def run(self, url_index: int = 0) -> CheckResult:
        result = await run_script(self.spec, timeout_s=self.check.timeout_s)
        return judge_exit(result, dynamic=self.check.dynamic)
