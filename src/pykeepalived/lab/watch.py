"""Observers the lab runs while it breaks things (I/O): who holds the VIP, what the client gets.

- `Timeline` prints timestamped lines (seconds since the lab started);
- `VipWatch` follows ``ip monitor address`` in each director: who holds the VIP, since when;
- `HttpWatch` runs ``lab.probe watch`` in the client namespace and keeps every attempt.

Each follower is a process in a lab namespace read by a daemon thread; ``close`` kills the
process and joins the thread (and the namespace teardown kills whatever is left).
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TextIO

from pykeepalived.lab.topology import Topology
from pykeepalived.lab.traffic import Attempt, parse_watch_line, settled_at

_POLL_S = 0.02


@dataclass
class Timeline:
    """Timestamped lines printed as the lab goes; times are seconds since the lab started."""

    out: TextIO
    start: float = dataclasses.field(default_factory=time.monotonic)

    def now(self) -> float:
        return time.monotonic() - self.start

    def say(self, text: str) -> None:
        self.out.write(f"[{self.now():7.3f}s] {text}\n")
        self.out.flush()

    def block(self, lines: Sequence[str], indent: str = "    ") -> None:
        """Lines printed as they are, indented, without a timestamp."""
        for line in lines:
            self.out.write(f"{indent}{line}".rstrip() + "\n")
        self.out.flush()


def close_process(proc: subprocess.Popen[str], reader: threading.Thread | None) -> None:
    """Kill a follower process, let its reader thread see EOF, then close the pipe."""
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    proc.wait()
    if reader is not None:
        reader.join(timeout=5)
    if proc.stdout is not None:
        with contextlib.suppress(ValueError, OSError):
            proc.stdout.close()


class VipWatch:
    """Follows ``ip monitor address`` in each director: who holds the VIP, since when."""

    def __init__(
        self, topo: Topology, directors: Sequence[str], vip: ipaddress.IPv4Address
    ) -> None:
        self.vip = vip
        self.holder_since: dict[str, float | None] = dict.fromkeys(directors)
        self._cond = threading.Condition()
        self._procs: list[tuple[subprocess.Popen[str], threading.Thread]] = []
        pattern = re.compile(rf"\binet {re.escape(str(vip))}/")
        for name in directors:
            proc = topo.popen(
                name,
                ["ip", "monitor", "address"],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            thread = threading.Thread(target=self._follow, args=(name, proc, pattern), daemon=True)
            thread.start()
            self._procs.append((proc, thread))
            # an address already present before the monitor started
            if pattern.search(topo.run(name, ["ip", "-4", "addr", "show"], check=False).stdout):
                self.holder_since[name] = time.monotonic()

    def _follow(self, name: str, proc: subprocess.Popen[str], pattern: re.Pattern[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if not pattern.search(line):
                continue
            with self._cond:
                removed = line.startswith("Deleted")
                self.holder_since[name] = None if removed else time.monotonic()
                self._cond.notify_all()

    def holders(self) -> list[str]:
        with self._cond:
            return [n for n, since in self.holder_since.items() if since is not None]

    def wait_for(self, name: str, timeout_s: float) -> float | None:
        """The monotonic time ``name`` got the VIP (waiting up to ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self.holder_since[name] is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
            return self.holder_since[name]

    def wait_holders(self, names: Sequence[str], timeout_s: float) -> bool:
        """Wait until exactly ``names`` hold the VIP; False after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        want = sorted(names)
        with self._cond:
            while sorted(n for n, t in self.holder_since.items() if t is not None) != want:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def close(self) -> None:
        for proc, thread in self._procs:
            close_process(proc, thread)


class HttpWatch:
    """``lab.probe watch`` in the client namespace: a request every ``interval_s``, cycling
    through ``sources``; every `Attempt` is kept (``attempts()``)."""

    def __init__(
        self,
        topo: Topology,
        client: str,
        target: tuple[str, int],
        sources: Sequence[str],
        *,
        interval_s: float = 0.02,
        timeout_s: float = 0.5,
    ) -> None:
        self._lock = threading.Lock()
        self._attempts: list[Attempt] = []
        argv = [
            sys.executable, "-m", "pykeepalived.lab.probe", "watch",
            "--target", f"{target[0]}:{target[1]}",
            "--interval-s", str(interval_s), "--timeout-s", str(timeout_s),
        ]  # fmt: skip
        for src in sources:
            argv += ["--source", src]
        self._proc = topo.popen(
            client, argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            attempt = parse_watch_line(line)
            if attempt is not None:
                with self._lock:
                    self._attempts.append(attempt)

    def attempts(self) -> list[Attempt]:
        with self._lock:
            return list(self._attempts)

    def wait_started(self, timeout_s: float) -> bool:
        """True once the first attempt has been reported."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.attempts():
                return True
            time.sleep(_POLL_S)
        return False

    def wait_settled(
        self, since: float, accept: Callable[[Attempt], bool], *, confirm: int, timeout_s: float
    ) -> float | None:
        """Wait until the last ``confirm`` (or more) attempts after ``since`` are all accepted;
        the start time of that run (see `traffic.settled_at`), or None after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            at = settled_at(self.attempts(), since, accept, confirm)
            if at is not None or time.monotonic() >= deadline:
                return at
            time.sleep(_POLL_S)

    def close(self) -> None:
        close_process(self._proc, self._thread)
