"""Precise VRRP deadlines: one Linux timerfd (CLOCK_MONOTONIC) driving a heap of deadlines.

asyncio's ``call_at`` wakes up through ``epoll_wait``'s millisecond timeout, which the loop
rounds and the kernel stretches by the task's timer slack (0.1 % of the wait by default: 3.6 ms
on a 3.65 s down timer). keepalived arms a timerfd instead; so does :class:`DeadlineTimer`: the
earliest deadline of all its clients is programmed as an absolute CLOCK_MONOTONIC expiry (the
clock behind ``loop.time()``), and the fd is watched with ``loop.add_reader``. hrtimers behind a
timerfd get no slack, so the wake-up comes within tens of microseconds of the deadline.

Clients (VRRP instances) call :meth:`DeadlineTimer.arm` with their next deadline. Arming a
*later* deadline than the one already armed costs nothing (a backup's down timer moves later on
every advert): the heap keeps the earlier entry, and when it fires the timer asks the client for
its deadline now (``DeadlineClient.current``) and files it again. Stale heap entries (superseded
by an earlier ``arm`` or by :meth:`DeadlineTimer.disarm`) are skipped when popped.

Deadlines due within ``coalesce_s`` of the one that woke the loop run in the same wake-up
(each client is told the deadline it was armed for): 200 masters at 10 ms would otherwise wake
the loop 20,000 times a second, each wake-up costing an ``epoll_wait`` round of asyncio.

Where timerfd is not available (not Linux), ``loop.call_at`` takes its place.
"""

from __future__ import annotations

import asyncio
import ctypes
import heapq
import itertools
import logging
import os
import struct
from collections.abc import Callable

from pykeepalived.libc import LIBC, last_error

__all__ = ["DeadlineClient", "DeadlineTimer", "TimerFd", "set_timer_slack_ns"]

log = logging.getLogger(__name__)

CLOCK_MONOTONIC = 1
TFD_NONBLOCK = 0o4000
TFD_CLOEXEC = 0o2000000
TFD_TIMER_ABSTIME = 1
PR_SET_TIMERSLACK = 29
_NS_PER_S = 1_000_000_000
DEFAULT_COALESCE_S = 0.0005
"""Deadlines this close after the one that fired run in the same wake-up."""


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


def set_timer_slack_ns(slack_ns: int) -> bool:
    """prctl(PR_SET_TIMERSLACK) for the calling thread; True if the kernel accepted it."""
    if LIBC is None:
        return False
    return int(LIBC.prctl(PR_SET_TIMERSLACK, ctypes.c_ulong(slack_ns), 0, 0, 0)) == 0


class TimerFd:
    """A non-blocking CLOCK_MONOTONIC timerfd armed at absolute times (seconds)."""

    def __init__(self) -> None:
        if LIBC is None or not hasattr(LIBC, "timerfd_create"):
            raise OSError("timerfd is not available")
        fd = int(LIBC.timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC))
        if fd < 0:
            raise last_error("timerfd_create")
        self.fd = fd
        self._spec = _Itimerspec()

    def arm(self, at_s: float) -> None:
        """Expire at ``at_s`` on CLOCK_MONOTONIC (at once if it is already past)."""
        assert LIBC is not None
        ns = max(1, int(at_s * _NS_PER_S))  # 0 would disarm
        value = self._spec.it_value
        value.tv_sec, value.tv_nsec = divmod(ns, _NS_PER_S)
        if LIBC.timerfd_settime(self.fd, TFD_TIMER_ABSTIME, ctypes.byref(self._spec), None) < 0:
            raise last_error("timerfd_settime")

    def disarm(self) -> None:
        """Stop the timer."""
        assert LIBC is not None
        value = self._spec.it_value
        value.tv_sec = value.tv_nsec = 0
        LIBC.timerfd_settime(self.fd, 0, ctypes.byref(self._spec), None)

    def consume(self) -> int:
        """Read the expiry count (0 if it has not expired: spurious wake-up)."""
        try:
            data = os.read(self.fd, 8)
        except BlockingIOError:
            return 0
        return int(struct.unpack("=Q", data)[0])

    def close(self) -> None:
        """Close the fd."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class DeadlineClient:
    """What a :class:`DeadlineTimer` holds per client: its armed deadline and its callback.

    The callback gets the deadline it was armed for (at most ``coalesce_s`` in the future).
    ``current``, if given, tells the client's deadline as it is now: when that has moved past
    the coalescing window since it was armed (a backup's down timer, pushed on by every advert),
    the timer arms it again itself instead of calling back.
    """

    __slots__ = ("armed_at", "callback", "current")

    def __init__(
        self,
        callback: Callable[[float], None],
        current: Callable[[], float | None] | None = None,
    ) -> None:
        self.callback = callback
        self.current = current
        self.armed_at: float | None = None


class DeadlineTimer:
    """Many clients' deadlines on one timerfd (or ``loop.call_at`` without one)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        use_timerfd: bool = True,
        coalesce_s: float = DEFAULT_COALESCE_S,
    ) -> None:
        self._loop = loop
        self._coalesce_s = coalesce_s
        self._heap: list[tuple[float, int, DeadlineClient]] = []
        self._seq = itertools.count()
        self._fd: TimerFd | None = None
        self._fd_at: float | None = None
        self._handle: asyncio.TimerHandle | None = None
        if use_timerfd:
            try:
                self._fd = TimerFd()
            except OSError as exc:
                log.warning("timerfd not available (%s): using the event loop's timers", exc)
        if self._fd is not None:
            loop.add_reader(self._fd.fd, self._on_fd)

    @property
    def uses_timerfd(self) -> bool:
        """True when deadlines are kept by a timerfd."""
        return self._fd is not None

    def arm(self, client: DeadlineClient, at_s: float) -> None:
        """Make sure ``client.callback`` runs at ``at_s`` or earlier (see the module docstring)."""
        armed = client.armed_at
        if armed is not None and armed <= at_s:
            return
        client.armed_at = at_s
        heapq.heappush(self._heap, (at_s, next(self._seq), client))
        if self._fd_at is None or at_s < self._fd_at:
            self._program(at_s)

    def disarm(self, client: DeadlineClient) -> None:
        """Forget ``client``'s deadline (its heap entry becomes stale)."""
        client.armed_at = None

    def close(self) -> None:
        """Stop: no callback runs any more."""
        self._heap.clear()
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._fd is not None:
            self._loop.remove_reader(self._fd.fd)
            self._fd.close()
            self._fd = None
        self._fd_at = None

    def _program(self, at_s: float) -> None:
        self._fd_at = at_s
        if self._fd is not None:
            self._fd.arm(at_s)
            return
        if self._handle is not None:
            self._handle.cancel()
        self._handle = self._loop.call_at(at_s, self._on_fd)

    def _on_fd(self) -> None:
        if self._fd is not None:
            self._fd.consume()
        self._handle = None
        self._fd_at = None
        heap = self._heap
        horizon = self._loop.time() + self._coalesce_s
        while heap and heap[0][0] <= horizon:
            at_s, _seq, client = heapq.heappop(heap)
            if client.armed_at != at_s:
                continue  # superseded or disarmed
            if client.current is not None:
                current = client.current()
                if current is not None and current > horizon:  # moved on: wait for it
                    client.armed_at = current
                    heapq.heappush(heap, (current, next(self._seq), client))
                    continue
            client.armed_at = None
            try:
                client.callback(at_s)
            except Exception:  # one instance's bug must not stop every timer
                log.exception("timer callback failed")
        while heap and heap[0][2].armed_at != heap[0][0]:
            heapq.heappop(heap)  # drop stale entries so they do not cause empty wake-ups
        if heap:
            self._program(heap[0][0])
        elif self._fd is not None:
            self._fd.disarm()
