"""keepalived's ``check_vrrp_script_security()`` (vrrp.c): which scripts exist and are safe.

This looks at the file system, so it runs only when the config is checked against the running
machine (the loader passes ``interface_exists`` then, as for ``keepalived -t``); pure parsing
(``interface_exists is None``) skips it.

- a ``vrrp_script`` whose program is missing or not executable is disabled (an error) and
  dropped from every ``track_script``;
- with ``enable_script_security``, an insecure one (writable by non-root users while run as
  root) is disabled too;
- without it, any script that would run gives "SECURITY VIOLATION ..." (``-t`` exits 6).
"""

from __future__ import annotations

import pwd
from collections.abc import Iterable

from pykeepalived.config.keywords.base import Fields, ParseContext
from pykeepalived.config.keywords.vrrp_common import VrrpParseState, global_bool
from pykeepalived.config.model.common import Script
from pykeepalived.notify.script_files import find_executable, insecure_reason

_NOT_FOUND_REASONS = ("does not exist", "is not executable")


def _run_as_uid(script: Script) -> int:
    if script.user is None:
        return 0
    try:
        return pwd.getpwnam(script.user).pw_uid
    except KeyError:
        return 0


def _probe(script: Script) -> tuple[bool, bool]:
    """(found, insecure) for a script; ``</...`` commands go to the shell and count as found."""
    if script.argv[0].startswith("</"):
        return True, False
    path = find_executable(script.argv[0])
    if path is None:
        return False, False
    reason = insecure_reason(path, run_as_uid=_run_as_uid(script))
    if reason is not None and reason.endswith(_NOT_FOUND_REASONS):
        return False, False
    return True, reason is not None


def _notify_scripts(state: VrrpParseState) -> Iterable[Script]:
    keys = (
        "notify_master",
        "notify_backup",
        "notify_fault",
        "notify_stop",
        "notify_deleted_script",
        "notify",
        "notify_master_rx_lower_pri",
    )
    for owner in [*state.instances, *state.sync_groups]:
        for key in keys:
            script = owner.get(key)
            if isinstance(script, Script):
                yield script


def check_script_security(state: VrrpParseState, ctx: ParseContext) -> None:
    """Report and drop unusable track scripts as keepalived does (see module docstring)."""
    if ctx.interface_exists is None or not state.instances:
        return
    security = global_bool(ctx, "enable_script_security")
    is_script = insecure = False
    disabled: set[str] = set()
    kept: list[Fields] = []
    for f in state.scripts:
        script: Script = f["script"]
        found, bad = _probe(script)
        if not found:
            ctx.diags.error(f"Disabling track script {f['name']} since not found/accessible")
            disabled.add(f["name"])
            continue
        if bad:
            insecure = True
            if security:
                ctx.diags.error(f"Disabling track script {f['name']} due to insecure")
                disabled.add(f["name"])
                continue
        is_script = True
        kept.append(f)
    for script in _notify_scripts(state):
        found, bad = _probe(script)
        is_script = is_script or found
        insecure = insecure or bad
    state.scripts = kept
    if disabled:
        for owner in [*state.instances, *state.sync_groups]:
            owner["track_scripts"] = [t for t in owner["track_scripts"] if t.name not in disabled]
    if not security and is_script:
        message = "SECURITY VIOLATION - scripts are being executed but script_security not enabled."
        if insecure:
            message += " There are insecure scripts."
        ctx.diags.security(message)
