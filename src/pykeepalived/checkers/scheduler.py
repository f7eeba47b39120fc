"""Runs checkers on time: delay_loop per checker, random warmup, per-interval jitter, bounded
concurrency, and one shared attempt for identical probes that are due together.

`CheckerRunner` is the pure part (result in → state change and next due time out); it is what
the unit tests drive with a fake clock. `Scheduler` is the asyncio driver. It has no task per
checker: each checker is one loop timer (``call_at`` its due time); a due checker starts its
probe through the probe's callback interface (``begin``; probes without one run as a task),
the completion callback applies the result and sets the next timer. A counter and a FIFO of
waiting checkers bound the attempts in flight, and a `ProbeSharer` makes identical checks of a
real server in several virtual servers hit it once. At 10,000 real servers this costs a few
tens of microseconds of CPU per check (see bench/checkers.py).
Lateness (start time minus due time) of every attempt is kept for the status and the bench.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
from collections import deque
from collections.abc import Hashable

from pykeepalived.checkers.base import (
    Cancel,
    CheckResult,
    Probe,
    ProbeDone,
    begin_via_task,
    internal_error,
    no_op,
)
from pykeepalived.checkers.reactor import Reactor, TimerEntry
from pykeepalived.checkers.realserver import CheckerSlot, VirtualServerPool
from pykeepalived.checkers.rise_fall import (
    Anchor,
    HttpUrlState,
    Next,
    Timing,
    http_failure,
    http_success,
    misc_epilog,
    tcp_epilog,
)

log = logging.getLogger(__name__)

BOOTSTRAP_DELAY_S = 1.0  # keepalived's BOOTSTRAP_DELAY before the first (warmed-up) check


class Flavour(enum.Enum):
    """Which epilog the checker type uses."""

    SIMPLE = "simple"  # TCP, UDP, DNS, PING, SMTP
    MISC = "misc"
    HTTP = "http"


class CheckerRunner:
    """One scheduled checker bound to its real server in its pool."""

    def __init__(
        self,
        *,
        name: str,
        probe: Probe,
        flavour: Flavour,
        timing: Timing,
        pool: VirtualServerPool,
        rs_index: int,
        slot: CheckerSlot,
        warmup_s: float = 0.0,
        n_urls: int = 1,
        fast_recovery: bool = False,
    ) -> None:
        self.name = name
        self.probe = probe
        self.flavour = flavour
        self.timing = timing
        self.pool = pool
        self.rs_index = rs_index
        self.slot = slot
        self.warmup_s = warmup_s
        self.urls = HttpUrlState(n_urls)
        self.fast_recovery = fast_recovery
        self.attempts = 0
        self.failures = 0
        self.last_result: CheckResult | None = None
        self.suspended = False  # ha_suspend: the VIP is not on this box; no attempts meanwhile

    @property
    def url_index(self) -> int:
        return self.urls.current if self.flavour is Flavour.HTTP else 0

    def first_due(self, start_s: float, rng: random.Random, *, bootstrap_s: float) -> float:
        """keepalived: ``BOOTSTRAP_DELAY + warmup * rand() / RAND_MAX``."""
        return start_s + bootstrap_s + (self.warmup_s * rng.random() if self.warmup_s else 0.0)

    def apply(self, result: CheckResult, started_s: float, finished_s: float) -> tuple[float, Next]:
        """Feed one attempt's result; returns the next due time and the epilog's decision."""
        self.attempts += 1
        self.last_result = result
        if not result.success:
            self.failures += 1

        def report(alive: bool) -> None:
            self.pool.update_checker(
                self.rs_index, self.slot, alive, reason=result.reason.value, detail=result.detail
            )

        st = self.slot.status
        if self.flavour is Flavour.SIMPLE:
            nxt = tcp_epilog(st, self.timing, result.success, report)
        elif self.flavour is Flavour.MISC:
            if result.success and result.weight is not None:
                self.pool.set_weight(self.rs_index, result.weight)
            nxt = misc_epilog(st, self.timing, result.success, report)
        elif result.success:
            nxt = http_success(st, self.urls, self.timing, report, fast_recovery=self.fast_recovery)
        else:
            nxt = http_failure(st, self.urls, self.timing, report, fast_recovery=self.fast_recovery)
        anchor = started_s if nxt.anchor is Anchor.START else finished_s
        return max(finished_s, anchor + nxt.delay_s), nxt


class _Flight:
    """One probe attempt (in flight, or done and kept for late joiners)."""

    __slots__ = ("cancel", "key", "result", "started_s", "waiters")

    def __init__(self, key: Hashable, started_s: float) -> None:
        self.key = key
        self.started_s = started_s
        self.waiters: list[_Slot] = []
        self.result: CheckResult | None = None
        self.cancel: Cancel = no_op


class ProbeSharer:
    """Joins identical attempts: an attempt in flight, or one started within ``window_s`` of
    the caller's due time, is reused instead of probing again.

    Keys are ``(probe.key, url_index)``; ``probed`` counts real attempts, ``shared`` the
    checks answered by another checker's attempt.
    """

    def __init__(self, *, window_s: float = 0.05) -> None:
        self.window_s = window_s
        self.entries: dict[Hashable, _Flight] = {}
        self.shared = 0
        self.probed = 0

    def joinable(self, key: Hashable, due_s: float) -> _Flight | None:
        """An attempt a checker due at ``due_s`` may use instead of its own."""
        flight = self.entries.get(key)
        if flight is None:
            return None
        if flight.result is None or flight.started_s >= due_s - self.window_s:
            return flight
        return None

    def forget_done(self, older_than_s: float) -> None:
        """Drop finished attempts started before ``older_than_s``."""
        for key in [
            k
            for k, f in self.entries.items()
            if f.result is not None and f.started_s < older_than_s
        ]:
            del self.entries[key]


_GOLDEN = 0x9E3779B9
_MASK32 = 0xFFFFFFFF


class _Slot:
    """The driver's state of one `CheckerRunner`: its timer, its attempt, its jitter."""

    __slots__ = (
        "active",
        "begin",
        "due_s",
        "flight",
        "jitter_state",
        "key_id",
        "runner",
        "started_s",
        "timer",
    )

    def __init__(
        self, runner: CheckerRunner, begin: BeginFn, key_id: int, jitter_seed: int
    ) -> None:
        self.runner = runner
        self.begin = begin
        self.key_id = key_id  # identical probes share an id (cheap to hash, unlike probe.key)
        self.due_s = 0.0
        self.started_s = 0.0
        self.timer: TimerEntry | None = None
        self.flight: _Flight | None = None
        self.active = True
        self.jitter_state = (jitter_seed & _MASK32) or _GOLDEN

    def next_random(self) -> float:
        """xorshift32: identical probes (same seed) draw identical sequences, so they stay
        due together and share their attempts."""
        x = self.jitter_state
        x ^= (x << 13) & _MASK32
        x ^= x >> 17
        x ^= (x << 5) & _MASK32
        self.jitter_state = x
        return x / 4294967296.0


class BeginFn:
    """Starts one attempt of a probe: ``probe.begin`` when the probe has one, else a task."""

    __slots__ = ("probe", "start", "tasks")

    def __init__(self, probe: Probe, tasks: set[asyncio.Task[CheckResult]]) -> None:
        self.probe = probe
        self.tasks = tasks
        begin = getattr(probe, "begin", None)
        self.start = begin if callable(begin) else self._via_task

    def _via_task(self, url_index: int, done: ProbeDone) -> Cancel:
        return begin_via_task(self.probe.run, url_index, done, self.tasks)

    def __call__(self, url_index: int, done: ProbeDone) -> Cancel:
        result: Cancel = self.start(url_index, done)
        return result


class Scheduler:
    """The asyncio driver of many `CheckerRunner` s (see the module docstring)."""

    def __init__(
        self,
        *,
        max_concurrency: int = 512,
        jitter_fraction: float = 0.01,
        max_jitter_s: float = 0.1,
        bootstrap_s: float = BOOTSTRAP_DELAY_S,
        seed: int | None = None,
        lateness_samples: int = 100_000,
    ) -> None:
        self.max_concurrency = max(1, max_concurrency)
        self.jitter_fraction = jitter_fraction
        self.max_jitter_s = max_jitter_s
        self.bootstrap_s = bootstrap_s
        self._seed = seed if seed is not None else random.randrange(1 << 30)
        self._loop = asyncio.get_running_loop()
        self._reactor = Reactor.current()
        self._key_ids: dict[Hashable, int] = {}
        self.sharer = ProbeSharer()
        self.lateness_s: deque[float] = deque(maxlen=lateness_samples)
        self._slots: dict[CheckerRunner, _Slot] = {}
        self._waiting: deque[_Slot] = deque()  # due, but the concurrency bound is reached
        self._draining = False
        self._tasks: set[asyncio.Task[CheckResult]] = set()  # probes without ``begin``
        self.in_flight = 0
        self.errors = 0
        self.attempts = 0
        self.suspended_skips = 0

    def now(self) -> float:
        return self._loop.time()

    # ---- life cycle ---------------------------------------------------------------------------
    def start(self, runner: CheckerRunner) -> None:
        key = runner.probe.key
        key_id = self._key_ids.setdefault(key, len(self._key_ids))
        slot = _Slot(runner, BeginFn(runner.probe, self._tasks), key_id, hash((key, self._seed)))
        self._slots[runner] = slot
        # identical probes draw the same warmup, so they are due together from the start
        rng = random.Random(hash((key, self._seed)))
        due = runner.first_due(self.now(), rng, bootstrap_s=self.bootstrap_s)
        self._set_timer(slot, due)

    async def stop(self, runner: CheckerRunner) -> None:
        slot = self._slots.pop(runner, None)
        if slot is not None:
            self._deactivate(slot)
        await self._settle()

    async def stop_all(self) -> None:
        slots = list(self._slots.values())
        self._slots.clear()
        for slot in slots:
            self._deactivate(slot)
        self._waiting.clear()
        await self._settle()

    async def _settle(self) -> None:
        """Wait for cancelled probe tasks to finish their clean-up (killing a script ...)."""
        cancelled = [t for t in self._tasks if t.cancelling()]
        if cancelled:
            await asyncio.gather(*cancelled, return_exceptions=True)

    @property
    def running(self) -> int:
        return len(self._slots)

    def _deactivate(self, slot: _Slot) -> None:
        slot.active = False
        if slot.timer is not None:
            self._reactor.cancel(slot.timer)
            slot.timer = None
        flight, slot.flight = slot.flight, None
        if flight is None or flight.result is not None:
            return
        flight.waiters.remove(slot)
        if not flight.waiters:  # nobody wants this attempt any more
            flight.cancel()
            self.in_flight -= 1
            if self.sharer.entries.get(flight.key) is flight:
                del self.sharer.entries[flight.key]
            self._drain()

    # ---- the cycle ----------------------------------------------------------------------------
    def _set_timer(self, slot: _Slot, due_s: float) -> None:
        slot.due_s = due_s
        slot.timer = self._reactor.call_at(due_s, self._due, slot)

    def _due(self, slot: _Slot) -> None:
        slot.timer = None
        if not slot.active:
            return
        if slot.runner.suspended:  # keepalived: a disabled checker just waits another delay_loop
            self.suspended_skips += 1
            self._set_timer(slot, self._loop.time() + slot.runner.timing.delay_loop_s)
            return
        key = (slot.key_id, slot.runner.url_index)
        flight = self.sharer.joinable(key, slot.due_s)
        if flight is None and self.in_flight >= self.max_concurrency:
            self._waiting.append(slot)
            return
        self._launch(slot, key, flight)

    def _launch(self, slot: _Slot, key: Hashable, flight: _Flight | None) -> None:
        now = self._loop.time()
        slot.started_s = now
        late = now - slot.due_s
        self.lateness_s.append(late if late > 0.0 else 0.0)
        sharer = self.sharer
        if flight is not None:
            sharer.shared += 1
            if flight.result is not None:
                self._finish(slot, flight.result, now)
            else:
                slot.flight = flight
                flight.waiters.append(slot)
            return
        sharer.probed += 1
        self.in_flight += 1
        flight = _Flight(key, now)
        flight.waiters.append(slot)
        slot.flight = flight
        sharer.entries[key] = flight

        def done(result: CheckResult) -> None:
            self._flight_done(flight, result)

        try:
            cancel = slot.begin(slot.runner.url_index, done)
        except Exception as exc:  # a probe bug must not kill the checker
            log.exception("checker %s: probe failed", slot.runner.name)
            if flight.result is None:
                self.errors += 1
                done(internal_error(exc))
            return
        if flight.result is None:
            flight.cancel = cancel

    def _flight_done(self, flight: _Flight, result: CheckResult) -> None:
        if flight.result is not None:
            return  # a probe must call done once; ignore a second call
        flight.result = result
        flight.cancel = no_op
        self.in_flight -= 1
        now = self._loop.time()
        waiters, flight.waiters = flight.waiters, []
        for slot in waiters:
            slot.flight = None
            if slot.active:
                self._finish(slot, result, now)
        self._drain()
        if len(self.sharer.entries) > 2 * len(self._slots) + 64:
            self.sharer.forget_done(now - 60.0)

    def _finish(self, slot: _Slot, result: CheckResult, finished_s: float) -> None:
        self.attempts += 1
        try:
            due, nxt = slot.runner.apply(result, slot.started_s, finished_s)
        except Exception:  # a bug in the verdict logic must not stop the checker
            self.errors += 1
            log.exception("checker %s: applying %s failed", slot.runner.name, result.reason)
            due, nxt = finished_s + slot.runner.timing.delay_loop_s, Next(0.0)
        if not nxt.retrying and self.jitter_fraction > 0:
            due += slot.next_random() * min(self.max_jitter_s, nxt.delay_s * self.jitter_fraction)
        self._set_timer(slot, due)

    def _drain(self) -> None:
        if self._draining:  # an attempt that finished at once, inside the loop below
            return
        self._draining = True
        try:
            self._drain_waiting()
        finally:
            self._draining = False

    def _drain_waiting(self) -> None:
        waiting = self._waiting
        while waiting and self.in_flight < self.max_concurrency:
            slot = waiting.popleft()
            if not slot.active:
                continue
            key = (slot.key_id, slot.runner.url_index)
            self._launch(slot, key, self.sharer.joinable(key, slot.due_s))

    # ---- statistics -----------------------------------------------------------------------------
    def lateness_percentile(self, q: float) -> float:
        if not self.lateness_s:
            return 0.0
        ordered = sorted(self.lateness_s)
        index = min(len(ordered) - 1, int(q * len(ordered)))
        return ordered[index]
