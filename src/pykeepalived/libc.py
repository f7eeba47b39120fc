"""The C library, for the few Linux calls Python's standard library does not wrap.

``timerfd_*``, ``prctl``, ``inotify_*`` and ``recvmmsg`` are reached through :mod:`ctypes`;
every user goes through :data:`LIBC` (None where no C library can be loaded) and turns a
failed call into an :class:`OSError` with :func:`last_error`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

__all__ = ["LIBC", "last_error", "load_libc"]


def load_libc() -> ctypes.CDLL | None:
    """The C library with ``errno`` kept per call (None if it cannot be loaded)."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name or "libc.so.6", use_errno=True)
    except OSError:
        return None


def last_error(what: str = "") -> OSError:
    """An :class:`OSError` for the ``errno`` the last ctypes call left."""
    err = ctypes.get_errno()
    return OSError(err, f"{what}: {os.strerror(err)}" if what else os.strerror(err))


LIBC = load_libc()
"""The process's C library (None where it cannot be loaded)."""
