"""Shared test helpers: load a config, build a pool with fakes, simulate a runner in fake time."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

from pykeepalived.checkers.base import CheckResult, Reason
from pykeepalived.checkers.dataplane import FakeDataPlane
from pykeepalived.checkers.events import EventLog
from pykeepalived.checkers.realserver import RecordingEffects, VirtualServerPool
from pykeepalived.checkers.rise_fall import Timing
from pykeepalived.checkers.scheduler import CheckerRunner, Flavour
from pykeepalived.config.loader import load_text
from pykeepalived.config.model import Config
from pykeepalived.config.model.lvs import VirtualServer
from pykeepalived.vrrp.clock import FakeClock


def load(text: str) -> Config:
    result = load_text(text)
    assert result.runnable, [d.format() for d in result.diagnostics]
    return result.config


@dataclass
class World:
    vs: VirtualServer
    clock: FakeClock
    dataplane: FakeDataPlane
    effects: RecordingEffects
    events: EventLog
    pool: VirtualServerPool


def world(vs: VirtualServer) -> World:
    clock = FakeClock(100.0)
    dp = FakeDataPlane()
    effects = RecordingEffects()
    events = EventLog()
    pool = VirtualServerPool(vs, dp, effects, events, clock.now)
    return World(vs, clock, dp, effects, events, pool)


class ScriptedProbe:
    """A probe whose results are given in advance (never actually run by the simulator)."""

    def __init__(self) -> None:
        self.key: Hashable = ("scripted", id(self))

    async def run(self, url_index: int = 0) -> CheckResult:
        raise AssertionError("simulated")


OK = CheckResult.ok()
FAIL = CheckResult.fail(Reason.CONNECT_REFUSED)


@dataclass
class Trace:
    """When each attempt ran and what the checker said afterwards."""

    times: list[float] = field(default_factory=list)
    up: list[bool] = field(default_factory=list)
    url: list[int] = field(default_factory=list)


def make_runner(
    w: World,
    *,
    rs_index: int = 0,
    flavour: Flavour = Flavour.SIMPLE,
    retry: int = 1,
    delay_loop_s: float = 10.0,
    dbr_s: float = 1.0,
    alpha: bool = False,
    n_urls: int = 1,
    fast_recovery: bool = False,
) -> CheckerRunner:
    slot = w.pool.add_checker(rs_index, f"chk{rs_index}", alpha=alpha, retry=retry)
    return CheckerRunner(
        name=f"chk{rs_index}",
        probe=ScriptedProbe(),
        flavour=flavour,
        timing=Timing(retry, delay_loop_s, dbr_s),
        pool=w.pool,
        rs_index=rs_index,
        slot=slot,
        n_urls=n_urls,
        fast_recovery=fast_recovery,
    )


def simulate(
    w: World, runner: CheckerRunner, results: Iterable[CheckResult], *, duration_s: float = 0.0
) -> Trace:
    """Run attempts back to back in fake time; each attempt takes ``duration_s``."""
    trace = Trace()
    due = w.clock.now()
    for result in results:
        w.clock.set(due)
        started = w.clock.now()
        trace.times.append(round(started - 100.0, 6))
        trace.url.append(runner.url_index)
        w.clock.advance(duration_s)
        due, _ = runner.apply(result, started, w.clock.now())
        trace.up.append(runner.slot.status.is_up)
    return trace
