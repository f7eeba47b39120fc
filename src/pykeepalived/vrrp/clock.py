"""Time sources for the VRRP engine.

The state machine in :mod:`pykeepalived.vrrp.fsm` never reads a clock: every call takes the
current time as an argument. A :class:`Clock` is what the I/O driver (and the tests) use to
obtain that time. Times are float seconds on a monotonic scale with an arbitrary origin, the
same scale as :meth:`asyncio.AbstractEventLoop.time`, so deadlines can be passed straight to
``loop.call_at``.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "FakeClock", "MonotonicClock"]


@runtime_checkable
class Clock(Protocol):
    """Something that tells the current monotonic time in seconds."""

    def now(self) -> float:
        """Return the current time, in seconds, on a monotonic scale."""
        ...


class MonotonicClock:
    """The real clock: :func:`time.monotonic` (what asyncio's event loop uses too)."""

    def now(self) -> float:
        """Return :func:`time.monotonic`."""
        return time.monotonic()


class FakeClock:
    """A clock for tests that only moves when told to.

    It holds the current time in seconds (``start_s`` at creation). It refuses to go
    backwards, like a monotonic clock.
    """

    def __init__(self, start_s: float = 0.0) -> None:
        self._now_s = float(start_s)

    def now(self) -> float:
        """Return the current fake time."""
        return self._now_s

    def advance(self, delta_s: float) -> float:
        """Move the clock forward by ``delta_s`` seconds and return the new time."""
        if delta_s < 0:
            raise ValueError(f"a monotonic clock cannot go back ({delta_s} s)")
        self._now_s += delta_s
        return self._now_s

    def set(self, when_s: float) -> float:
        """Move the clock forward to the absolute time ``when_s`` and return it."""
        if when_s < self._now_s:
            raise ValueError(f"a monotonic clock cannot go back (from {self._now_s} to {when_s})")
        self._now_s = float(when_s)
        return self._now_s
