"""Run notify/track/check scripts as keepalived does: exec'd without a shell, in their own
process group, as the configured user, killed (whole group) on timeout.

keepalived (core/notify.c) splits a quoted command into argv and ``execve``s it; it uses
``system()`` only for commands that begin with ``</`` (e.g. ``"</dev/tcp/127.0.0.1/80"``)
which only a shell understands. ``IFS``, ``LD_PRELOAD`` and ``LD_LIBRARY_PATH`` are removed from
the environment; no state is passed in the environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pykeepalived.notify.script_files import find_executable, insecure_reason, resolve_user

log = logging.getLogger(__name__)

__all__ = [
    "ScriptLauncher",
    "ScriptResult",
    "ScriptSpec",
    "clean_environment",
    "find_executable",
    "insecure_reason",
    "resolve_user",
    "run_script",
    "split_command",
]

UNSAFE_ENV = ("IFS", "LD_PRELOAD", "LD_LIBRARY_PATH")
KILL_GRACE_S = 2.0  # keepalived sends SIGKILL 2 s after SIGTERM


@dataclass(frozen=True)
class ScriptSpec:
    """A command ready to exec: argv, and the identity to run it as (None = ours)."""

    argv: tuple[str, ...]
    uid: int | None = None
    gid: int | None = None

    @property
    def needs_shell(self) -> bool:
        return bool(self.argv) and self.argv[0].startswith("</")

    def with_args(self, *extra: str) -> ScriptSpec:
        return ScriptSpec((*self.argv, *extra), self.uid, self.gid)


@dataclass(frozen=True)
class ScriptResult:
    """How a run ended: ``exit_code`` (None if killed by a signal), the signal, a timeout flag."""

    exit_code: int | None
    signal: int | None
    timed_out: bool
    duration_s: float
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and self.error is None


def split_command(command: str) -> tuple[str, ...]:
    """Split a script line into argv, honouring quotes as keepalived's parser does."""
    try:
        return tuple(shlex.split(command, posix=True))
    except ValueError:
        return tuple(command.split())


def clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in UNSAFE_ENV}


async def run_script(
    spec: ScriptSpec,
    *,
    timeout_s: float | None = None,
    extra_args: Sequence[str] = (),
) -> ScriptResult:
    """Run ``spec`` to completion (or timeout) and report how it ended. Never raises OSError."""
    argv = (*spec.argv, *extra_args)
    start = time.monotonic()
    try:
        if spec.needs_shell:
            command = " ".join(shlex.quote(a) if i else a for i, a in enumerate(argv))
            proc = await asyncio.create_subprocess_exec(
                "/bin/sh", "-c", command, **_spawn_options(spec)
            )
        else:
            proc = await asyncio.create_subprocess_exec(*argv, **_spawn_options(spec))
    except OSError as exc:
        log.warning("cannot run %s: %s", argv[0] if argv else "(empty)", exc)
        return ScriptResult(None, None, False, time.monotonic() - start, error=str(exc))
    timed_out = False
    try:
        await asyncio.wait_for(proc.wait(), timeout=timeout_s)
    except TimeoutError:
        timed_out = True
        await _kill_group(proc)
    except asyncio.CancelledError:
        await _kill_group(proc)
        raise
    code = proc.returncode
    duration = time.monotonic() - start
    if code is not None and code < 0:
        return ScriptResult(None, -code, timed_out, duration)
    return ScriptResult(code, None, timed_out, duration)


def _spawn_options(spec: ScriptSpec) -> dict[str, Any]:
    options: dict[str, Any] = {
        "stdin": asyncio.subprocess.DEVNULL,
        "stdout": asyncio.subprocess.DEVNULL,
        "stderr": asyncio.subprocess.DEVNULL,
        "env": clean_environment(),
        "start_new_session": True,  # own session and process group: killpg reaches children
        "close_fds": True,
    }
    if spec.gid is not None:
        options["group"] = spec.gid
        options["extra_groups"] = []
    if spec.uid is not None:
        options["user"] = spec.uid
    return options


async def _kill_group(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM the script's process group, SIGKILL it after the grace period."""
    for sig, wait_s in ((signal.SIGTERM, KILL_GRACE_S), (signal.SIGKILL, None)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            await asyncio.wait_for(proc.wait(), timeout=wait_s)
            return
        except TimeoutError:
            continue


class ScriptLauncher:
    """Fire-and-forget launches (notify scripts) that are still reaped and bounded.

    Each launch is a task; tasks are kept until done so they are never garbage-collected
    mid-run, and `close` cancels (and kills) what is still running at shutdown.
    """

    def __init__(self, *, max_running: int = 256) -> None:
        self._tasks: set[asyncio.Task[ScriptResult]] = set()
        self._max_running = max_running
        self.dropped = 0

    def launch(
        self, spec: ScriptSpec, *, timeout_s: float | None = None, extra_args: Sequence[str] = ()
    ) -> asyncio.Task[ScriptResult] | None:
        if len(self._tasks) >= self._max_running:
            self.dropped += 1
            log.warning("too many scripts running; not starting %s", spec.argv[0])
            return None
        task = asyncio.get_running_loop().create_task(
            run_script(spec, timeout_s=timeout_s, extra_args=extra_args)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @property
    def running(self) -> int:
        return len(self._tasks)

    async def wait_all(self, timeout_s: float | None = None) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout_s)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
