"""Sync-group coordination (keepalived's vrrp_sync.c) with real state machines, fake time."""

from __future__ import annotations

import pytest

from pykeepalived.vrrp.fsm import (
    AdvertReceived,
    Event,
    FaultOff,
    FaultOn,
    MachineConfig,
    MasterWanted,
    Startup,
    State,
    StateChanged,
    VrrpMachine,
)
from pykeepalived.vrrp.sync_group import MemberView, SyncGroupCoordinator

pytestmark = pytest.mark.unit

from ipaddress import IPv4Address  # noqa: E402


class Harness:
    """Two members driven like the service drives them."""

    def __init__(self) -> None:
        self.m = {
            n: VrrpMachine(MachineConfig(vrid=v, priority=100, sync_group=True, name=n))
            for n, v in (("A", 1), ("B", 2))
        }
        self.g = SyncGroupCoordinator("G", ("A", "B"))
        self.group_states: list[State] = []

    def views(self) -> dict[str, MemberView]:
        return {n: MemberView(m.state, m.want_state) for n, m in self.m.items()}

    def feed(self, name: str, event: Event, now: float) -> None:
        out = self.m[name].handle(event, now)
        self._after(name, out, now)

    def timer(self, name: str, now: float) -> None:
        self._after(name, self.m[name].on_timer(now), now)

    def _after(self, name: str, actions: list[object], now: float) -> None:
        faults = set(self.m[name].describe().faults) - {self.g.fault_reason}
        outs = [self.g.member_fault(name, bool(faults), self.views())]
        for a in actions:
            if isinstance(a, StateChanged):
                outs.append(self.g.member_changed(name, a.old, a.new, self.views()))
            if isinstance(a, MasterWanted):
                outs.append(self.g.master_wanted(name, self.views()))
        for o in outs:
            if o.group_state is not None:
                self.group_states.append(o.group_state)
            for member, ev in o.events:
                self.feed(member, ev, now)
        last = self.g.refresh(self.views())
        if last.group_state is not None:
            self.group_states.append(last.group_state)

    def states(self) -> tuple[State, State]:
        return (self.m["A"].state, self.m["B"].state)


def test_member_waits_until_all_want_master_then_group_moves() -> None:
    h = Harness()
    h.feed("A", Startup(), 0.0)
    h.feed("B", Startup(), 0.0)
    assert h.states() == (State.BACKUP, State.BACKUP)
    a_deadline = h.m["A"].next_deadline()
    assert a_deadline is not None
    # B keeps hearing a master, A does not: A wants MASTER but is held
    h.feed("B", AdvertReceived(110, 100, IPv4Address("192.0.2.9")), a_deadline - 0.1)
    h.timer("A", a_deadline)
    assert h.states() == (State.BACKUP, State.BACKUP)
    assert h.m["A"].want_state is State.MASTER
    # B's master goes silent too: the group becomes master together
    b_deadline = h.m["B"].next_deadline()
    assert b_deadline is not None
    h.timer("B", b_deadline)
    assert h.states() == (State.MASTER, State.MASTER)
    assert h.group_states[-1] is State.MASTER


def test_higher_priority_advert_to_one_member_takes_both_to_backup() -> None:
    h = Harness()
    for n in "AB":
        h.feed(n, Startup(), 0.0)
    t = 10.0
    h.timer("A", t)
    h.timer("B", t)
    assert h.states() == (State.MASTER, State.MASTER)
    h.feed("A", AdvertReceived(200, 100, IPv4Address("192.0.2.9")), t + 0.5)
    assert h.states() == (State.BACKUP, State.BACKUP)
    assert h.group_states[-1] is State.BACKUP


def test_fault_in_one_member_faults_the_group_and_clears_together() -> None:
    h = Harness()
    for n in "AB":
        h.feed(n, Startup(), 0.0)
    h.timer("A", 10.0)
    h.timer("B", 10.0)
    assert h.states() == (State.MASTER, State.MASTER)
    h.feed("B", FaultOn("interface eth1 down"), 11.0)
    assert h.states() == (State.FAULT, State.FAULT)
    assert h.group_states[-1] is State.FAULT
    assert h.g.faulty_members == {"B"}
    h.feed("B", FaultOff("interface eth1 down"), 12.0)
    assert h.states() == (State.BACKUP, State.BACKUP)
    assert h.group_states[-1] is State.BACKUP


def test_lower_prio_heard_only_reaches_other_masters() -> None:
    g = SyncGroupCoordinator("G", ("A", "B", "C"))
    views = {
        "A": MemberView(State.MASTER, State.MASTER),
        "B": MemberView(State.MASTER, State.MASTER),
        "C": MemberView(State.BACKUP, State.BACKUP),
    }
    out = g.lower_prio_heard("A", views)
    assert [m for m, _ in out.events] == ["B"]
