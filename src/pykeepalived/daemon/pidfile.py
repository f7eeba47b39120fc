"""pid files with keepalived's default names (main.c): /run/keepalived.pid, /run/vrrp.pid,
/run/checkers.pid; refusing to start when a live process already holds one."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DEFAULT_MAIN = "/run/keepalived.pid"
DEFAULT_VRRP = "/run/vrrp.pid"
DEFAULT_CHECKERS = "/run/checkers.pid"


class PidFileInUseError(Exception):
    def __init__(self, path: Path, pid: int) -> None:
        super().__init__(f"daemon is already running (pid {pid} in {path})")
        self.path = path
        self.pid = pid


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_pidfile(path: str | os.PathLike[str], pid: int | None = None) -> Path:
    target = Path(path)
    existing = read_pid(target)
    if existing is not None and existing != os.getpid() and pid_alive(existing):
        raise PidFileInUseError(target, existing)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text(f"{pid if pid is not None else os.getpid()}\n")
    tmp.replace(target)
    return target


def remove_pidfile(path: str | os.PathLike[str]) -> None:
    target = Path(path)
    if read_pid(target) == os.getpid():
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
