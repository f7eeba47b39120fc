"""A light reactor for many short-lived check sockets and timers, under asyncio's loop.

At 10,000 real servers checked every second, asyncio's per-call machinery (a `Handle` per
``add_writer``, selector key objects, a `TimerHandle` compared in Python on every heap step)
costs more CPU than the checks. `Reactor` keeps:

- a private ``epoll`` whose single descriptor is watched by the loop: sockets are registered
  there (one ``epoll_ctl`` each), and ready events are dispatched from a dict;
- a heap of plain ``[when, seq, callback, arg]`` lists with one loop timer armed for the
  earliest entry (tuple comparisons in C, cancelling is clearing the callback).

One reactor exists per event loop (`Reactor.current`). Callbacks run inside the loop, exactly
like loop callbacks; an exception in one is logged and does not affect the others.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import select
import weakref
from collections.abc import Callable
from typing import Any, ClassVar

log = logging.getLogger(__name__)

EPOLLIN = select.EPOLLIN
EPOLLOUT = select.EPOLLOUT
EPOLLERR = select.EPOLLERR
EPOLLHUP = select.EPOLLHUP

IoCallback = Callable[[int], None]
"""Called with the ready event mask."""

TimerEntry = list[Any]
"""``[when_s, seq, callback | None, arg]`` (cancelled: callback cleared by `Reactor.cancel`)."""

_reactors: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Reactor] = (
    weakref.WeakKeyDictionary()
)


class Reactor:
    """I/O readiness and timers for the checkers of one event loop (module docstring)."""

    _last: ClassVar[tuple[asyncio.AbstractEventLoop, Reactor] | None] = None  # latest loop's

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop_ref = weakref.ref(loop)
        self._time = loop.time
        self._resolution_s: float = getattr(loop, "_clock_resolution", 1e-9)
        self._epoll = select.epoll()
        self._io: dict[int, IoCallback] = {}
        self._heap: list[TimerEntry] = []
        self._seq = itertools.count()
        self._handle: asyncio.TimerHandle | None = None
        self._armed_s = float("inf")
        self._cancelled = 0
        loop.add_reader(self._epoll.fileno(), self._ready)

    @classmethod
    def current(cls) -> Reactor:
        """The reactor of the running loop (made on first use)."""
        loop = asyncio.get_running_loop()
        last = cls._last
        if last is not None and last[0] is loop:  # a WeakKeyDictionary lookup is slow
            return last[1]
        reactor = _reactors.get(loop)
        if reactor is None:
            reactor = _reactors[loop] = cls(loop)
        cls._last = (loop, reactor)
        return reactor

    def time(self) -> float:
        return self._time()

    # ---- I/O --------------------------------------------------------------------------------
    def watch(self, fd: int, events: int, callback: IoCallback) -> None:
        """Call ``callback(mask)`` whenever ``fd`` is ready for ``events`` (level-triggered)."""
        self._epoll.register(fd, events)
        self._io[fd] = callback

    def modify(self, fd: int, events: int, callback: IoCallback) -> None:
        self._epoll.modify(fd, events)
        self._io[fd] = callback

    def forget(self, fd: int) -> None:
        """Stop watching ``fd``; call it before closing the socket."""
        if self._io.pop(fd, None) is not None:
            try:  # noqa: SIM105 - hot path, cheaper than contextlib.suppress
                self._epoll.unregister(fd)
            except OSError:  # already closed
                pass

    @property
    def watched(self) -> int:
        return len(self._io)

    def _ready(self) -> None:
        io = self._io
        for fd, mask in self._epoll.poll(0, 1024):
            callback = io.get(fd)
            if callback is None:
                continue
            try:
                callback(mask)
            except Exception:
                log.exception("checker I/O callback failed")

    # ---- timers -------------------------------------------------------------------------------
    def call_at(self, when_s: float, callback: Callable[[Any], None], arg: Any) -> TimerEntry:
        """Run ``callback(arg)`` at loop time ``when_s``; `cancel` the returned entry to stop."""
        entry: TimerEntry = [when_s, next(self._seq), callback, arg]
        heapq.heappush(self._heap, entry)
        if when_s < self._armed_s:
            self._arm(when_s)
        return entry

    def cancel(self, entry: TimerEntry) -> None:
        """Cancel a timer made by `call_at` (firing it becomes a no-op)."""
        if entry[2] is None:
            return
        entry[2] = None
        self._cancelled += 1
        if self._cancelled > 4096 and 2 * self._cancelled > len(self._heap):
            self._heap[:] = [e for e in self._heap if e[2] is not None]
            heapq.heapify(self._heap)
            self._cancelled = 0

    def _arm(self, when_s: float) -> None:
        loop = self._loop_ref()
        if loop is None or loop.is_closed():
            return
        if self._handle is not None:
            self._handle.cancel()
        self._armed_s = when_s
        self._handle = loop.call_at(when_s, self._fire)

    def _fire(self) -> None:
        self._handle = None
        self._armed_s = float("inf")
        heap = self._heap
        limit = self._time() + self._resolution_s
        while heap and heap[0][0] <= limit:
            entry = heapq.heappop(heap)
            callback = entry[2]
            if callback is None:
                self._cancelled -= 1
                continue
            entry[2] = None
            try:
                callback(entry[3])
            except Exception:
                log.exception("checker timer callback failed")
        # drop cancelled entries at the head so the timer is armed for a live one
        while heap and heap[0][2] is None:
            heapq.heappop(heap)
            self._cancelled -= 1
        if heap:
            self._arm(heap[0][0])

    @property
    def timers(self) -> int:
        return len(self._heap)
