"""notify FIFOs: one line per event, byte-identical to keepalived's.

keepalived creates a missing FIFO (mkfifo, mode 0644) and opens it ``O_RDWR | O_NONBLOCK``: a
write never blocks and lines are simply lost when nobody reads or the pipe is full.

Line formats (vrrp_notify.c ``notify_fifo()``, ipwrapper.c ``notify_fifo_vs/rs()``)::

    INSTANCE "VI_1" MASTER 100
    GROUP "G1" BACKUP 0
    VS [192.0.2.15]:tcp:80 UP
    RS [198.51.100.4]:tcp:80 [192.0.2.15]:tcp:80 DOWN
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

# VRRP FIFO states and events, as keepalived spells them.
VRRP_FIFO_WORDS = frozenset(
    {
        "MASTER",
        "BACKUP",
        "FAULT",
        "STOP",
        "DELETED",
        "MASTER_RX_LOWER_PRI",
        "MASTER_PRIORITY",
        "BACKUP_PRIORITY",
    }
)


def instance_line(name: str, state: str, priority: int) -> bytes:
    return f'INSTANCE "{name}" {state} {priority}\n'.encode()


def group_line(name: str, state: str) -> bytes:
    return f'GROUP "{name}" {state} 0\n'.encode()


def service_text(address: str, protocol: str, port: int) -> str:
    """keepalived's ``[addr]:proto:port`` (proto lower case: tcp, udp, sctp)."""
    return f"[{address}]:{protocol.lower()}:{port}"


def fwmark_text(fwmark: int) -> str:
    return f"FWM {fwmark}"


def vs_line(service: str, up: bool) -> bytes:
    return f"VS {service} {'UP' if up else 'DOWN'}\n".encode()


def rs_line(real_server: str, service: str, up: bool) -> bytes:
    return f"RS {real_server} {service} {'UP' if up else 'DOWN'}\n".encode()


class NotifyFifo:
    """A FIFO opened as keepalived opens it; `write` never blocks and never raises."""

    def __init__(self, path: str | os.PathLike[str], *, uid: int = -1, gid: int = -1) -> None:
        self.path = Path(path)
        self._uid = uid
        self._gid = gid
        self._fd: int | None = None
        self.lines_written = 0
        self.lines_dropped = 0

    def open(self) -> None:
        try:
            st = self.path.stat()
            if not stat.S_ISFIFO(st.st_mode):
                log.error("notify FIFO %s exists and is not a FIFO", self.path)
                return
        except FileNotFoundError:
            os.mkfifo(self.path, 0o644)
            if self._uid != -1 or self._gid != -1:
                os.chown(self.path, self._uid, self._gid)
        self._fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)

    def write(self, line: bytes) -> bool:
        if self._fd is None:
            return False
        try:
            os.write(self._fd, line)
        except OSError as exc:
            self.lines_dropped += 1
            if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK):
                log.warning("writing to notify FIFO %s failed: %s", self.path, exc)
            return False
        self.lines_written += 1
        return True

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> NotifyFifo:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
