"""Adoption of services found in the kernel at start, and the kernel table following the
checker runtime's quorum state (sorry server, hysteresis) exactly."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from pykeepalived.checkers.dataplane import ServiceKey
from pykeepalived.checkers.events import EventLog
from pykeepalived.checkers.realserver import CheckerSlot, RecordingEffects, VirtualServerPool
from pykeepalived.config.loader import load_text
from pykeepalived.config.model.lvs import LvsConfig, Protocol
from pykeepalived.lvs.backend import FakeBackend
from pykeepalived.lvs.diff import AddDest, AddService, DelDest, DelService, EditDest
from pykeepalived.lvs.model import (
    Dest,
    DestId,
    LvsState,
    Service,
    ServiceAttrs,
    ServiceId,
    configured_state_dests,
    desired_state,
    health_of_pools,
)
from pykeepalived.lvs.reconcile import DataPlaneAdapter, Reconciler

pytestmark = pytest.mark.unit

IP = ipaddress.ip_address
VIP = ServiceId.for_address(IP("192.0.2.1"), 80, Protocol.TCP)
RS1, RS2, RS3 = (DestId(IP(f"198.51.100.{i}"), 80) for i in (1, 2, 3))
SORRY = DestId(IP("198.51.100.99"), 80)
STRAY = DestId(IP("203.0.113.9"), 80)

ADOPT = """
virtual_server 192.0.2.1 80 {
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  real_server 198.51.100.1 80 {
    weight 3
  }
  real_server 198.51.100.2 80 {
    weight 1
  }
}
"""

HYST = """
virtual_server 192.0.2.1 80 {
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  quorum 2
  hysteresis 1
  sorry_server 198.51.100.99 80
  real_server 198.51.100.1 80 {
    weight 1
  }
  real_server 198.51.100.2 80 {
    weight 1
  }
  real_server 198.51.100.3 80 {
    weight 1
  }
}
"""


def _lvs(text: str) -> LvsConfig:
    return load_text(text, filename="a.conf").config.lvs


def _kernel(*dests: Dest, scheduler: str = "rr") -> FakeBackend:
    return FakeBackend(state=LvsState.of([Service(VIP, ServiceAttrs(scheduler), dests)]))


def _pool(
    config: LvsConfig, adapter: DataPlaneAdapter, alpha: tuple[int, ...] = ()
) -> tuple[VirtualServerPool, list[CheckerSlot]]:
    vs = config.virtual_servers[0]
    pool = VirtualServerPool(vs, adapter, RecordingEffects(), EventLog(), lambda: 0.0)
    slots = [
        pool.add_checker(i, f"c{i}", alpha=i in alpha, retry=0) for i in range(len(vs.real_servers))
    ]
    return pool, slots


def test_adoption_keeps_configured_destinations_without_a_gap() -> None:
    """RS1 (in the config, wrong weight) is re-weighted, never deleted; RS2 (in the config,
    starts down with alpha) stays until the start-up settles, then goes; the stray one stays."""
    config = _lvs(ADOPT)
    backend = _kernel(Dest(RS1, 7), Dest(RS2, 1), Dest(STRAY, 5))
    rec = Reconciler(backend)
    rec.start(LvsState())
    adapter = DataPlaneAdapter(rec, config)
    pool, _ = _pool(config, adapter, alpha=(1,))
    pool.start()
    ops = [op for r in adapter.results for op in r.ops]
    assert not any(isinstance(op, AddService | DelService | DelDest) for op in ops), ops
    assert not any(isinstance(op, AddDest) and op.dest.id == RS1 for op in ops)
    table = backend.state.service_map()[VIP]
    assert table.attrs.scheduler == "wrr"  # the config's attributes
    assert {d.id: d.weight for d in table.dests} == {RS1: 3, RS2: 1, STRAY: 5}
    assert [op for op in ops if isinstance(op, EditDest)] == [EditDest(VIP, Dest(RS1, 3))]
    adapter.settle()
    assert {d.id for d in backend.state.service_map()[VIP].dests} == {RS1, STRAY}
    pool.stop()
    adapter.close(release=True)
    # ours are gone; the service stays because the stray destination is not ours
    assert backend.state == LvsState.of([Service(VIP, ServiceAttrs("wrr"), (Dest(STRAY, 5),))])


def test_adopted_service_with_nothing_foreign_is_removed_at_stop() -> None:
    config = _lvs(ADOPT)
    backend = _kernel(Dest(RS1, 3))
    rec = Reconciler(backend)
    rec.start(LvsState())
    adapter = DataPlaneAdapter(rec, config)
    pool, _ = _pool(config, adapter)
    pool.start()
    adapter.settle()
    assert {d.id for d in backend.state.service_map()[VIP].dests} == {RS1, RS2}
    pool.stop()
    adapter.close(release=True)
    assert backend.state == LvsState()


def test_settle_runs_right_after_the_checkers_start_in_a_loop() -> None:
    config = _lvs(ADOPT)
    backend = _kernel(Dest(RS1, 3), Dest(RS2, 1))

    async def scenario() -> set[DestId]:
        rec = Reconciler(backend)
        rec.start(LvsState())
        adapter = DataPlaneAdapter(rec, config)
        pool, _ = _pool(config, adapter, alpha=(1,))
        pool.start()
        assert RS2 in backend.state.service_map()[VIP].dest_map()  # kept during start-up
        await asyncio.sleep(0)
        return set(backend.state.service_map()[VIP].dest_map())

    assert asyncio.run(scenario()) == {RS1}


def test_full_state_start_adopts_with_the_configured_destinations() -> None:
    config = _lvs(ADOPT)
    backend = _kernel(Dest(RS1, 3), Dest(RS2, 1), Dest(STRAY, 1))
    rec = Reconciler(backend)
    result = rec.start(desired_state(config), configured_state_dests(config))
    assert [type(op).__name__ for op in result.ops] == ["EditService"]
    # a reload that drops the virtual server keeps the foreign destination only
    rec.sync(LvsState())
    assert backend.state == LvsState.of([Service(VIP, ServiceAttrs("wrr"), (Dest(STRAY, 1),))])


def _set(pool: VirtualServerPool, slots: list[CheckerSlot], index: int, alive: bool) -> None:
    pool.update_checker(index, slots[index], alive)


def test_kernel_follows_quorum_with_hysteresis_step_by_step() -> None:
    """quorum 2, hysteresis 1, three servers of weight 1: the quorum is lost only at 0 (< 2-1)
    and regained only at 3 (>= 2+1); the sorry server is in the kernel exactly in between."""
    config = _lvs(HYST)
    backend = FakeBackend()
    adapter = DataPlaneAdapter(Reconciler(backend), config)
    pool, slots = _pool(config, adapter)
    pool.start()
    steps = [
        (0, False, {RS2, RS3}),
        (1, False, {RS3}),  # live weight 1: not below 2-1, still up
        (2, False, {SORRY}),  # 0: lost, sorry server in
        (2, True, {SORRY}),  # 1 < 2+1: still down
        (1, True, {SORRY}),  # 2 < 3: still down (without hysteresis it would be up)
        (0, True, {RS1, RS2, RS3}),  # 3: gained, sorry server out
    ]
    for index, alive, expected in steps:
        _set(pool, slots, index, alive)
        table = backend.state.service_map()[VIP]
        assert set(table.dest_map()) == expected, (index, alive)
        # the same table as the desired state built from the runtime's quorum state
        assert table == desired_state(config, health_of_pools([pool])).service_map()[VIP]
    assert pool.quorum_up


def test_desired_state_without_runtime_uses_the_start_rule_with_hysteresis() -> None:
    config = _lvs(HYST)
    assert set(desired_state(config).service_map()[VIP].dest_map()) == {RS1, RS2, RS3}
    two_up = HYST.replace("weight 1\n  }\n}", "weight 0\n  }\n}")
    # live weight 2 < quorum + hysteresis: keepalived starts with the quorum down
    assert set(desired_state(_lvs(two_up)).service_map()[VIP].dest_map()) == {SORRY}
    key = ServiceKey.of(_lvs(HYST).virtual_servers[0]).text
    assert key == "[192.0.2.1]:tcp:80"
