"""The scheduler's driver with fake (callback) probes: probe sharing, the concurrency bound,
ha_suspend skips, errors that must not stop a checker, and the reactor's timers."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable

import pytest

from pykeepalived.checkers.base import Cancel, CheckResult, ProbeDone, Reason
from pykeepalived.checkers.reactor import Reactor
from pykeepalived.checkers.scheduler import CheckerRunner, Flavour, Scheduler

from .chk_helpers import load, make_runner, world

pytestmark = pytest.mark.unit

VS = """
virtual_server 192.0.2.1 80 {
    protocol TCP
    real_server 127.0.0.1 8080 {
        TCP_CHECK {
        }
    }
}
"""


class FakeProbe:
    """A callback probe answering after ``delay_s`` (0: before ``begin`` returns)."""

    def __init__(self, key: Hashable, *, delay_s: float = 0.0, ok: bool = True) -> None:
        self.key = key
        self.delay_s = delay_s
        self.ok = ok
        self.begun = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.cancelled = 0

    async def run(self, url_index: int = 0) -> CheckResult:
        raise AssertionError("the scheduler must use begin()")

    def begin(self, url_index: int, done: ProbeDone) -> Cancel:
        self.begun += 1
        result = CheckResult.ok() if self.ok else CheckResult.fail(Reason.CONNECT_REFUSED)
        if self.delay_s == 0:
            done(result)
            return lambda: None
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        loop = asyncio.get_running_loop()

        def finish() -> None:
            self.in_flight -= 1
            done(result)

        handle = loop.call_later(self.delay_s, finish)

        def cancel() -> None:
            self.cancelled += 1
            self.in_flight -= 1
            handle.cancel()

        return cancel


def _runner(probe: FakeProbe, delay_loop_s: float = 0.05) -> CheckerRunner:
    w = world(load(VS).lvs.virtual_servers[0])
    w.pool.start()
    runner = make_runner(w, delay_loop_s=delay_loop_s, retry=0)
    runner.probe = probe
    runner.flavour = Flavour.SIMPLE
    return runner


def _scheduler(max_concurrency: int = 512) -> Scheduler:
    return Scheduler(bootstrap_s=0.0, jitter_fraction=0.0, seed=1, max_concurrency=max_concurrency)


def test_identical_probes_of_two_virtual_servers_share_one_attempt() -> None:
    async def scenario() -> tuple[int, int, int, int, int]:
        shared_a = FakeProbe(("tcp", "127.0.0.1", 8080), delay_s=0.005)
        shared_b = FakeProbe(("tcp", "127.0.0.1", 8080), delay_s=0.005)
        other = FakeProbe(("tcp", "127.0.0.1", 9090), delay_s=0.005)
        runners = [_runner(shared_a), _runner(shared_b), _runner(other)]
        sched = _scheduler()
        for r in runners:
            sched.start(r)
        await asyncio.sleep(0.5)
        await sched.stop_all()
        a, b, c = (r.attempts for r in runners)
        return shared_a.begun + shared_b.begun, a, b, other.begun, c

    probes_shared, attempts_a, attempts_b, probes_other, attempts_other = asyncio.run(scenario())
    assert attempts_a >= 5 and attempts_b >= 5
    # both checkers got a verdict every round, from one attempt per round (the last one
    # may still be in flight when the scheduler stops)
    assert max(attempts_a, attempts_b) <= probes_shared <= max(attempts_a, attempts_b) + 1
    assert attempts_other <= probes_other <= attempts_other + 1  # other keys are not shared


def test_sharing_counts_in_the_status_counters() -> None:
    async def scenario() -> tuple[int, int]:
        probes = [FakeProbe("same", delay_s=0.002) for _ in range(3)]
        sched = _scheduler()
        for p in probes:
            sched.start(_runner(p))
        await asyncio.sleep(0.3)
        await sched.stop_all()
        return sched.sharer.probed, sched.sharer.shared

    probed, shared = asyncio.run(scenario())
    assert probed > 0
    assert shared == pytest.approx(2 * probed, abs=2)


def test_concurrency_bound_queues_due_checks() -> None:
    async def scenario() -> tuple[int, int, int]:
        probes = [FakeProbe(i, delay_s=0.02) for i in range(20)]
        runners = [_runner(p, delay_loop_s=1.0) for p in probes]
        sched = _scheduler(max_concurrency=4)
        for r in runners:
            sched.start(r)
        peak = 0
        for _ in range(40):
            await asyncio.sleep(0.005)
            peak = max(peak, sched.in_flight)
        await sched.stop_all()
        return peak, sum(r.attempts for r in runners), sum(p.begun for p in probes)

    peak, attempts, begun = asyncio.run(scenario())
    assert peak == 4
    assert begun == attempts == 20  # every checker ran once, four at a time


def test_synchronous_results_do_not_recurse() -> None:
    """Probes answering inside begin() (refused at once) drain the queue iteratively."""

    async def scenario() -> int:
        probes = [FakeProbe(i) for i in range(3000)]
        runners = [_runner(p, delay_loop_s=10.0) for p in probes]
        sched = _scheduler(max_concurrency=1)
        for r in runners:
            sched.start(r)
        await asyncio.sleep(0.2)
        await sched.stop_all()
        return sum(r.attempts for r in runners)

    assert asyncio.run(scenario()) == 3000


def test_stop_cancels_the_attempt_in_flight() -> None:
    async def scenario() -> tuple[int, int, int]:
        probe = FakeProbe("slow", delay_s=5.0)
        runner = _runner(probe)
        sched = _scheduler()
        sched.start(runner)
        await asyncio.sleep(0.05)
        in_flight = sched.in_flight
        await sched.stop(runner)
        return in_flight, probe.cancelled, sched.in_flight

    assert asyncio.run(scenario()) == (1, 1, 0)


def test_suspended_checker_makes_no_attempt_and_resumes() -> None:
    async def scenario() -> tuple[int, int, int]:
        probe = FakeProbe("vip", delay_s=0.001)
        runner = _runner(probe, delay_loop_s=0.02)
        runner.suspended = True
        sched = _scheduler()
        sched.start(runner)
        await asyncio.sleep(0.2)
        while_suspended = probe.begun
        skips = sched.suspended_skips
        runner.suspended = False
        await asyncio.sleep(0.2)
        await sched.stop_all()
        return while_suspended, skips, probe.begun

    while_suspended, skips, after = asyncio.run(scenario())
    assert while_suspended == 0
    assert skips >= 3
    assert after >= 3


def test_probe_raising_in_begin_is_a_failure_not_a_dead_checker() -> None:
    class Broken(FakeProbe):
        def begin(self, url_index: int, done: ProbeDone) -> Cancel:
            self.begun += 1
            raise RuntimeError("bug")

    async def scenario() -> tuple[int, int, bool]:
        probe = Broken("broken")
        runner = _runner(probe, delay_loop_s=0.02)
        sched = _scheduler()
        sched.start(runner)
        await asyncio.sleep(0.15)
        await sched.stop_all()
        return probe.begun, sched.errors, runner.slot.status.is_up

    begun, errors, up = asyncio.run(scenario())
    assert begun >= 3  # it kept being scheduled
    assert errors == begun
    assert not up


def test_reactor_timers_fire_in_order_and_cancel() -> None:
    async def scenario() -> list[str]:
        reactor = Reactor.current()
        assert Reactor.current() is reactor
        fired: list[str] = []
        now = reactor.time()
        reactor.call_at(now + 0.03, fired.append, "c")
        reactor.call_at(now + 0.01, fired.append, "a")
        cancelled = reactor.call_at(now + 0.02, fired.append, "x")
        reactor.call_at(now + 0.02, fired.append, "b")
        reactor.cancel(cancelled)
        await asyncio.sleep(0.06)
        return fired

    assert asyncio.run(scenario()) == ["a", "b", "c"]


def test_reactor_is_per_loop() -> None:
    async def get() -> Reactor:
        return Reactor.current()

    assert asyncio.run(get()) is not asyncio.run(get())


def test_identical_probes_draw_the_same_warmup() -> None:
    async def scenario() -> tuple[int, int, int]:
        probes = [FakeProbe("warm", delay_s=0.002) for _ in range(2)]
        runners = [_runner(p, delay_loop_s=0.05) for p in probes]
        for r in runners:
            r.warmup_s = 0.2
        sched = _scheduler()
        for r in runners:
            sched.start(r)
        await asyncio.sleep(0.5)
        await sched.stop_all()
        return sum(p.begun for p in probes), runners[0].attempts, runners[1].attempts

    begun, a, b = asyncio.run(scenario())
    assert a >= 3 and b >= 3
    assert begun <= max(a, b) + 1
