"""The reconciler (start / sync / stop, ownership) and the checkers' DataPlane adapter."""

from __future__ import annotations

import ipaddress

import pytest

from pykeepalived.checkers.dataplane import DataPlane, Destination, FakeDataPlane, ServiceKey
from pykeepalived.checkers.events import EventLog
from pykeepalived.checkers.realserver import CheckerSlot, RecordingEffects, VirtualServerPool
from pykeepalived.config.loader import load_text
from pykeepalived.config.model.lvs import LvsConfig, Protocol
from pykeepalived.lvs.backend import FakeBackend, UnsupportedError
from pykeepalived.lvs.diff import DelDest, EditDest
from pykeepalived.lvs.model import (
    Dest,
    DestId,
    HealthView,
    LvsState,
    RsHealth,
    Service,
    ServiceAttrs,
    ServiceId,
    desired_state,
)
from pykeepalived.lvs.reconcile import DataPlaneAdapter, Reconciler

pytestmark = pytest.mark.unit

IP = ipaddress.ip_address

CONF = """
virtual_server_group G {
  192.0.2.10-11 80
  fwmark 3
}
virtual_server 192.0.2.1 80 {
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  sorry_server 198.51.100.99 80
  quorum 2
  real_server 198.51.100.1 80 {
    weight 2
  }
  real_server 198.51.100.2 80 {
    weight 1
    inhibit_on_failure
  }
}
virtual_server group G {
  lb_algo rr
  lb_kind DR
  protocol TCP
  real_server 198.51.100.5 80 {
    weight 1
  }
}
"""
VS1 = ServiceId.for_address(IP("192.0.2.1"), 80, Protocol.TCP)


def _lvs(text: str = CONF) -> LvsConfig:
    return load_text(text, filename="r.conf").config.lvs


def test_start_sync_stop_with_minimal_kernel_ops() -> None:
    backend = FakeBackend()
    rec = Reconciler(backend)
    desired = desired_state(_lvs())
    result = rec.start(desired)
    assert backend.state == desired
    assert result.kernel_ops == len(desired) + desired.dest_count
    key = "[192.0.2.1]:tcp:80"
    down = HealthView({(key, IP("198.51.100.2"), 80): RsHealth(alive=False)})
    result = rec.sync(desired_state(_lvs(), down))
    assert result.ops == (
        EditDest(VS1, Dest(DestId(IP("198.51.100.2"), 80), 0)),
    )  # inhibit_on_failure: weight 0
    assert rec.sync(desired_state(_lvs(), down)).kernel_ops == 0
    rec.stop()
    assert backend.state == LvsState()


def test_stop_leaves_foreign_services_and_destinations() -> None:
    foreign_svc = Service(ServiceId.for_fwmark(99), ServiceAttrs("rr"), ())
    foreign_dest = Dest(DestId(IP("203.0.113.9"), 80), 1)
    adopted = Service(VS1, ServiceAttrs("wrr"), (foreign_dest,))
    backend = FakeBackend(state=LvsState.of([foreign_svc, adopted]))
    rec = Reconciler(backend)
    rec.start(desired_state(_lvs()))
    assert foreign_svc in backend.state.services  # not ours: never touched
    # the adopted service was brought to the config; its foreign destination stays
    adopted_now = backend.state.service_map()[VS1]
    assert adopted_now.attrs == desired_state(_lvs()).service_map()[VS1].attrs
    assert foreign_dest in adopted_now.dests
    rec.stop()
    services = backend.state.service_map()
    assert set(services) == {foreign_svc.id, VS1}
    # what we manage is gone; the service stays because something foreign is left in it
    assert services[VS1].dests == (foreign_dest,)


def test_lvs_flush_and_flush_on_stop_modes() -> None:
    foreign = Service(ServiceId.for_fwmark(99), ServiceAttrs("rr"), ())
    backend = FakeBackend(state=LvsState.of([foreign]))
    rec = Reconciler(backend, flush_at_start=True, flush_on_stop="VS")
    rec.start(desired_state(_lvs()))
    assert foreign.id not in backend.state.service_map()
    backend.state = LvsState.of([*backend.state.services, foreign])
    rec.stop()
    assert backend.state == LvsState.of([foreign])
    rec = Reconciler(backend, flush_on_stop="full")
    rec.start(desired_state(_lvs()))
    rec.stop()
    assert backend.state == LvsState()


def test_backend_refusal_stops_before_any_change() -> None:
    backend = FakeBackend(refuse=("wrr",))
    with pytest.raises(UnsupportedError) as info:
        Reconciler(backend).start(desired_state(_lvs()))
    assert "(r.conf: Line 6" in str(info.value)
    assert backend.kernel_ops == 0


def _pool(config: LvsConfig, adapter: DataPlane) -> tuple[VirtualServerPool, list[CheckerSlot]]:
    vs = config.virtual_servers[0]
    pool = VirtualServerPool(vs, adapter, RecordingEffects(), EventLog(), lambda: 0.0)
    slots = [
        pool.add_checker(i, f"c{i}", alpha=False, retry=0) for i in range(len(vs.real_servers))
    ]
    return pool, slots


def test_adapter_follows_checker_transitions_with_one_op_each() -> None:
    config = _lvs()
    backend = FakeBackend()
    adapter = DataPlaneAdapter(Reconciler(backend), config)
    pool, slots = _pool(config, adapter)
    pool.start()
    assert backend.state == LvsState.of([desired_state(config).service_map()[VS1]])
    before = backend.kernel_ops
    pool.update_checker(1, slots[1], False)  # inhibit: weight 0
    assert backend.kernel_ops == before + 1
    assert backend.state.service_map()[VS1].dest_map()[DestId(IP("198.51.100.2"), 80)].weight == 0
    # the same table as desired_state for the same health
    key = "[192.0.2.1]:tcp:80"
    health = HealthView({(key, IP("198.51.100.2"), 80): RsHealth(alive=False)})
    assert backend.state.service_map()[VS1] == desired_state(config, health).service_map()[VS1]
    # the last one down: quorum lost, sorry server in
    pool.update_checker(0, slots[0], False)
    dests = backend.state.service_map()[VS1].dest_map()
    assert dests[DestId(IP("198.51.100.99"), 80)].weight == 1
    assert DestId(IP("198.51.100.1"), 80) not in dests
    pool.stop()
    assert backend.state == LvsState()


def test_adapter_matches_the_checkers_fake_dataplane() -> None:
    config = _lvs()
    backend = FakeBackend()
    adapter = DataPlaneAdapter(Reconciler(backend), config)
    fake = FakeDataPlane()
    pools = [_pool(config, adapter), _pool(config, fake)]
    for pool, _ in pools:
        pool.start()
    for pool, slots in pools:
        pool.update_checker(0, slots[0], False)
    table = {str(d.id): d.weight for d in backend.state.service_map()[VS1].dests}
    assert table == fake.table["[192.0.2.1]:tcp:80"]


def test_adapter_mirrors_a_group_on_every_member() -> None:
    config = _lvs()
    backend = FakeBackend()
    adapter = DataPlaneAdapter(Reconciler(backend), config)
    vs = config.virtual_servers[1]
    key = ServiceKey.of(vs)
    adapter.add_service(key, vs)
    rs = vs.real_servers[0]
    dest = Destination(rs.address, rs.port, rs.forwarding)
    adapter.add_destination(key, dest, 1)
    assert len(backend.state) == 3
    fwm = backend.state.service_map()[ServiceId.for_fwmark(3)]
    assert [d.id.port for d in fwm.dests] == [0]
    before = backend.kernel_ops
    adapter.set_weight(key, dest, 5)
    assert backend.kernel_ops == before + 3  # one per kernel service of the group
    adapter.remove_destination(key, dest)
    assert all(s.dests == () for s in backend.state)
    assert isinstance(adapter.results[-1].ops[0], DelDest)
    adapter.remove_service(key)
    assert backend.state == LvsState()
