"""diff/apply: minimal operations between two LVS states (property tests)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.config.model.lvs import AddressFamily, Forwarding, LbKind, Protocol
from pykeepalived.lvs.diff import (
    AddDest,
    AddService,
    DelDest,
    DelService,
    EditDest,
    EditService,
    OpError,
    apply,
    diff,
)
from pykeepalived.lvs.model import Dest, DestId, LvsState, Service, ServiceAttrs, ServiceId

pytestmark = pytest.mark.unit

V4 = AddressFamily.INET

service_ids = st.one_of(
    st.builds(
        lambda last, port, proto: ServiceId.for_address(
            ipaddress.IPv4Address(f"192.0.2.{last}"), port, proto
        ),
        st.integers(1, 6),
        st.sampled_from([0, 80, 443]),
        st.sampled_from(list(Protocol)),
    ),
    st.builds(lambda mark: ServiceId.for_fwmark(mark, V4), st.integers(1, 4)),
)
attrs = st.builds(
    ServiceAttrs,
    scheduler=st.sampled_from(["rr", "wrr", "wlc", "sh"]),
    flags=st.sampled_from([0, 1, 0x10]),
    timeout_s=st.sampled_from([0, 360]),
)
dest_ids = st.builds(
    lambda last, port: DestId(ipaddress.IPv4Address(f"198.51.100.{last}"), port),
    st.integers(1, 8),
    st.sampled_from([0, 80, 8080]),
)
dests = st.builds(
    Dest,
    id=dest_ids,
    weight=st.integers(0, 5),
    forwarding=st.sampled_from([Forwarding(), Forwarding(LbKind.DR), Forwarding(LbKind.TUN)]),
    u_threshold=st.sampled_from([0, 100]),
)


@st.composite
def services(draw: st.DrawFn, sid: ServiceId) -> Service:
    ds = draw(st.lists(dests, max_size=6, unique_by=lambda d: d.id))
    return Service(sid, draw(attrs), tuple(ds))


@st.composite
def states(draw: st.DrawFn) -> LvsState:
    sids = draw(st.lists(service_ids, max_size=6, unique=True))
    return LvsState.of(draw(services(sid)) for sid in sids)


@given(states(), states())
@settings(max_examples=300)
def test_applying_the_diff_gives_the_desired_state(current: LvsState, desired: LvsState) -> None:
    ops = diff(current, desired)
    assert apply(current, ops) == desired


@given(states(), states())
def test_diff_is_minimal(current: LvsState, desired: LvsState) -> None:
    ops = diff(current, desired)
    have, want = current.service_map(), desired.service_map()
    for op in ops:
        if isinstance(op, AddService):
            assert op.id not in have
        elif isinstance(op, DelService):
            assert op.id not in want
        elif isinstance(op, EditService):
            assert have[op.id].attrs != want[op.id].attrs
        elif isinstance(op, EditDest):
            old = have[op.service].dest_map()[op.dest.id]
            assert old != op.dest
        elif isinstance(op, DelDest):
            # a deleted service takes its destinations with it: no DelDest for it
            assert op.service in want
    # no service or destination is touched twice
    keys = [repr(op if isinstance(op, AddService | EditService | DelService) else (
        type(op).__name__, op.service, op.dest if isinstance(op, DelDest) else op.dest.id
    )) for op in ops]  # fmt: skip
    assert len(keys) == len(set(keys))


@given(states())
def test_no_change_no_ops(state: LvsState) -> None:
    assert diff(state, state) == []


@given(states(), st.data())
def test_one_weight_change_is_one_edit(state: LvsState, data: st.DataObject) -> None:
    candidates = [(s, d) for s in state for d in s.dests]
    if not candidates:
        return
    svc, dest = data.draw(st.sampled_from(candidates))
    new_weight = data.draw(st.integers(0, 100).filter(lambda w: w != dest.weight))
    changed = Service(
        svc.id,
        svc.attrs,
        tuple(d.with_weight(new_weight) if d.id == dest.id else d for d in svc.dests),
    )
    desired = LvsState.of(changed if s.id == svc.id else s for s in state)
    assert diff(state, desired) == [EditDest(svc.id, dest.with_weight(new_weight))]


@given(states(), states())
def test_deletions_come_before_additions(current: LvsState, desired: LvsState) -> None:
    ops = diff(current, desired)
    kinds = [type(op) for op in ops]
    first_add = next((i for i, k in enumerate(kinds) if k in (AddService, AddDest)), len(ops))
    assert all(k not in (DelService, DelDest) for k in kinds[first_add:])


def test_apply_refuses_what_the_kernel_refuses() -> None:
    sid = ServiceId.for_fwmark(1)
    state = LvsState.of([Service(sid, ServiceAttrs(), ())])
    d = Dest(DestId(ipaddress.IPv4Address("198.51.100.1"), 0), 1)
    with pytest.raises(OpError):
        apply(state, [AddService(Service(sid, ServiceAttrs()))])
    with pytest.raises(OpError):
        apply(state, [EditDest(sid, d)])
    with pytest.raises(OpError):
        apply(state, [DelDest(sid, d.id)])
    with pytest.raises(OpError):
        apply(state, [AddDest(ServiceId.for_fwmark(2), d)])
    with pytest.raises(OpError):
        apply(LvsState(), [DelService(sid)])
    assert apply(state, [AddDest(sid, d)]).services[0].dests == (d,)


def test_scheduler_change_is_one_service_edit_keeping_destinations() -> None:
    sid = ServiceId.for_address(ipaddress.IPv4Address("192.0.2.1"), 80, Protocol.TCP)
    d = Dest(DestId(ipaddress.IPv4Address("198.51.100.1"), 80), 1)
    old = LvsState.of([Service(sid, ServiceAttrs("wrr"), (d,))])
    new = LvsState.of([Service(sid, ServiceAttrs("rr"), (d,))])
    ops = diff(old, new)
    assert ops == [EditService(Service(sid, ServiceAttrs("rr")))]
    assert apply(old, ops) == new


def test_untouched_services_are_carried_over_as_the_same_objects() -> None:
    a = Service(ServiceId.for_fwmark(1), ServiceAttrs(), ())
    b = Service(ServiceId.for_fwmark(2), ServiceAttrs(), ())
    state = LvsState.of([a, b])
    d = Dest(DestId(ipaddress.IPv4Address("198.51.100.1"), 0), 1)
    after = apply(state, [AddDest(b.id, d)])
    assert after.services[0] is a
    assert after.services[1].dests == (d,)
