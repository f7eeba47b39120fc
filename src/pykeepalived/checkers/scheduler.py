"""Runs checkers on time: delay_loop per checker, random warmup, per-interval jitter, bounded
concurrency, and one shared attempt for identical probes that are due together.

`CheckerRunner` is the pure part (result in → state change and next due time out); it is what
the unit tests drive with a fake clock. `Scheduler` is the asyncio driver: one task per
checker sleeping until its due time, a semaphore bounding attempts in flight, and a
`ProbeSharer` so that identical checks of a real server in several virtual servers hit it once.
Lateness (start time minus due time) of every attempt is kept for the status and the bench.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from pykeepalived.checkers.base import CheckResult, Probe, Reason
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


@dataclass
class _Shared:
    started_s: float
    task: asyncio.Future[CheckResult]


class ProbeSharer:
    """Joins identical attempts: an attempt in flight, or one started within ``window_s`` of
    the caller's due time, is reused instead of probing again."""

    def __init__(self, now: Callable[[], float], *, window_s: float = 0.05) -> None:
        self._now = now
        self.window_s = window_s
        self._entries: dict[Hashable, _Shared] = {}
        self.shared = 0
        self.probed = 0

    async def run(self, probe: Probe, url_index: int, due_s: float) -> CheckResult:
        key = (probe.key, url_index)
        entry = self._entries.get(key)
        if entry is not None and (
            not entry.task.done() or entry.started_s >= due_s - self.window_s
        ):
            self.shared += 1
            return await asyncio.shield(entry.task)
        self.probed += 1
        task = asyncio.ensure_future(probe.run(url_index))
        self._entries[key] = _Shared(self._now(), task)
        return await asyncio.shield(task)

    def forget_done(self, older_than_s: float) -> None:
        for key in [
            k for k, e in self._entries.items() if e.task.done() and e.started_s < older_than_s
        ]:
            del self._entries[key]


class Scheduler:
    """The asyncio driver of many `CheckerRunner` s."""

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
        self._sem = asyncio.Semaphore(max_concurrency)
        self.jitter_fraction = jitter_fraction
        self.max_jitter_s = max_jitter_s
        self.bootstrap_s = bootstrap_s
        self._seed = seed if seed is not None else random.randrange(1 << 30)
        self._loop = asyncio.get_running_loop()
        self.sharer = ProbeSharer(self._loop.time)
        self.lateness_s: deque[float] = deque(maxlen=lateness_samples)
        self._tasks: dict[CheckerRunner, asyncio.Task[None]] = {}
        self.errors = 0

    def now(self) -> float:
        return self._loop.time()

    def _rng_for(self, runner: CheckerRunner) -> random.Random:
        # identical probes get identical random sequences, so they stay due together
        return random.Random(hash((runner.probe.key, self._seed)))

    def start(self, runner: CheckerRunner) -> None:
        task = self._loop.create_task(self._drive(runner), name=f"checker {runner.name}")
        self._tasks[runner] = task

    async def stop(self, runner: CheckerRunner) -> None:
        task = self._tasks.pop(runner, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def stop_all(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @property
    def running(self) -> int:
        return len(self._tasks)

    def _jitter(self, rng: random.Random, nxt: Next) -> float:
        if nxt.retrying or self.jitter_fraction <= 0:
            return 0.0
        return rng.random() * min(self.max_jitter_s, nxt.delay_s * self.jitter_fraction)

    async def _drive(self, runner: CheckerRunner) -> None:
        rng = self._rng_for(runner)
        due = runner.first_due(self.now(), rng, bootstrap_s=self.bootstrap_s)
        while True:
            delay = due - self.now()
            if delay > 0:
                await asyncio.sleep(delay)
            async with self._sem:
                started = self.now()
                self.lateness_s.append(max(0.0, started - due))
                try:
                    result = await self.sharer.run(runner.probe, runner.url_index, due)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a probe bug must not kill the checker
                    self.errors += 1
                    log.exception("checker %s: probe failed", runner.name)
                    result = CheckResult.fail(Reason.SOCKET_ERROR, f"internal error: {exc!r}")
            finished = self.now()
            due, nxt = runner.apply(result, started, finished)
            due += self._jitter(rng, nxt)
            if len(self.sharer._entries) > 4 * max(1, len(self._tasks)):
                self.sharer.forget_done(finished - 60.0)

    def lateness_percentile(self, q: float) -> float:
        if not self.lateness_s:
            return 0.0
        ordered = sorted(self.lateness_s)
        index = min(len(ordered) - 1, int(q * len(ordered)))
        return ordered[index]
