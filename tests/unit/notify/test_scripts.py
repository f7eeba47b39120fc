from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path

import pytest

from pykeepalived.notify import scripts
from pykeepalived.notify.scripts import ScriptSpec, run_script

pytestmark = pytest.mark.unit


def _write_script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def test_split_command_honours_quotes() -> None:
    assert scripts.split_command("/bin/x 'a b' \"c d\" e") == ("/bin/x", "a b", "c d", "e")
    assert scripts.split_command("unbalanced 'quote") == ("unbalanced", "'quote")


def test_arguments_are_passed_without_a_shell(tmp_path: Path) -> None:
    out = tmp_path / "args"
    script = _write_script(tmp_path / "s.sh", f'printf "%s\\n" "$@" > {out}\n')
    spec = ScriptSpec((str(script), "$(touch pwned)", "a b;c"))
    result = asyncio.run(run_script(spec, extra_args=("INSTANCE", "VI_1", "MASTER", "100")))
    assert result.succeeded
    assert out.read_text().splitlines() == [
        "$(touch pwned)",
        "a b;c",
        "INSTANCE",
        "VI_1",
        "MASTER",
        "100",
    ]
    assert not (tmp_path / "pwned").exists()


def test_exit_status_and_signals_are_reported(tmp_path: Path) -> None:
    fail = _write_script(tmp_path / "f.sh", "exit 3\n")
    result = asyncio.run(run_script(ScriptSpec((str(fail),))))
    assert (result.exit_code, result.signal, result.timed_out) == (3, None, False)
    killed = _write_script(tmp_path / "k.sh", "kill -9 $$\n")
    result = asyncio.run(run_script(ScriptSpec((str(killed),))))
    assert result.exit_code is None and result.signal == 9


def test_missing_program_is_an_error_not_an_exception(tmp_path: Path) -> None:
    result = asyncio.run(run_script(ScriptSpec((str(tmp_path / "nope"),))))
    assert not result.succeeded and result.error


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    script = _write_script(tmp_path / "slow.sh", f"sleep 60 & echo $! > {pidfile}\nwait\n")
    start = time.monotonic()
    result = asyncio.run(run_script(ScriptSpec((str(script),)), timeout_s=0.5))
    assert result.timed_out and not result.succeeded
    assert time.monotonic() - start < 30
    child = int(pidfile.read_text())
    for _ in range(100):
        if not _alive(child):
            break
        time.sleep(0.05)
    assert not _alive(child), "the script's own child survived the timeout"


def test_unsafe_environment_is_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LD_PRELOAD", "/tmp/evil.so")
    monkeypatch.setenv("IFS", "x")
    monkeypatch.setenv("PYK_KEEP", "1")
    out = tmp_path / "env"
    script = _write_script(tmp_path / "e.sh", f"env > {out}\n")
    assert asyncio.run(run_script(ScriptSpec((str(script),)))).succeeded
    env = out.read_text()
    assert "LD_PRELOAD" not in env and "PYK_KEEP=1" in env


def test_shell_only_commands_use_a_shell() -> None:
    spec = ScriptSpec(("</dev/null",))
    assert spec.needs_shell
    assert asyncio.run(run_script(spec)).succeeded


@pytest.mark.skipif(os.geteuid() != 0, reason="switching user needs root")
def test_runs_as_the_configured_user() -> None:
    # pytest's tmp_path is private to root; the unprivileged user needs a reachable directory
    with tempfile.TemporaryDirectory(prefix="pyk-user-") as tmp:
        work = Path(tmp)
        work.chmod(0o777)
        out = work / "id"
        script = _write_script(work / "id.sh", f"id -u > {out}; id -g >> {out}\n")
        uid, gid = scripts.resolve_user("nobody", "nogroup")
        assert asyncio.run(run_script(ScriptSpec((str(script),), uid, gid))).succeeded
        assert out.read_text().split() == [str(uid), str(gid)]


def test_security_check(tmp_path: Path) -> None:
    script = _write_script(tmp_path / "ok.sh", "exit 0\n")
    script.chmod(0o777)
    reason = scripts.insecure_reason(script, run_as_uid=0)
    assert (reason is not None and "writable" in reason) or "owned" in (reason or "")
    assert scripts.insecure_reason(tmp_path / "missing", run_as_uid=0) is not None
    assert scripts.insecure_reason(Path("/bin/true"), run_as_uid=0) is None


def test_launcher_keeps_and_reaps_tasks(tmp_path: Path) -> None:
    script = _write_script(tmp_path / "q.sh", "exit 0\n")

    async def body() -> int:
        launcher = scripts.ScriptLauncher(max_running=2)
        tasks = [launcher.launch(ScriptSpec((str(script),))) for _ in range(3)]
        assert tasks[2] is None and launcher.dropped == 1
        await launcher.wait_all(timeout_s=10)
        await launcher.close()
        return launcher.running

    assert asyncio.run(body()) == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purpose
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False
