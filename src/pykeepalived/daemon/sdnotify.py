"""systemd's readiness protocol (sd_notify(3)) without libsystemd: one datagram to
``$NOTIFY_SOCKET`` (a path, or ``@name`` for the abstract namespace).

The supervisor sends ``READY=1`` once every worker has started, ``RELOADING=1`` (with
``MONOTONIC_USEC``, as systemd >= 253 wants for ``Type=notify-reload``) while a SIGHUP is being
applied, then ``READY=1`` again, and ``STOPPING=1`` when it begins to stop.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

log = logging.getLogger(__name__)

ENV = "NOTIFY_SOCKET"


def notify_address(env: Mapping[str, str]) -> str | None:
    """The socket address from ``env`` (abstract names start with a NUL byte), or None."""
    path = env.get(ENV)
    if not path:
        return None
    if path.startswith("@"):
        return "\0" + path[1:]
    if path.startswith("/"):
        return path
    return None


def sd_notify(state: str, *, env: Mapping[str, str] | None = None) -> bool:
    """Send ``state`` (``KEY=VALUE`` lines); False when not run by systemd or on error."""
    address = notify_address(os.environ if env is None else env)
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as exc:
        log.warning("sd_notify(%s) failed: %s", state.replace("\n", " "), exc)
        return False
    return True


def ready(status: str = "") -> bool:
    return sd_notify("READY=1" + (f"\nSTATUS={status}" if status else ""))


def reloading() -> bool:
    usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    return sd_notify(f"RELOADING=1\nMONOTONIC_USEC={usec}")


def stopping() -> bool:
    return sd_notify("STOPPING=1")
