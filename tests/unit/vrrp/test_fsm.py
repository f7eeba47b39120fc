"""The VRRP state machine, driven with a FakeClock, against keepalived 2.2.7's behaviour."""

from __future__ import annotations

import dataclasses
import socket
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any

import pytest

from pykeepalived.vrrp.clock import FakeClock
from pykeepalived.vrrp.fsm import (
    Action,
    AddVips,
    AdvertReceived,
    AdvertRejected,
    EffectivePriorityChanged,
    EffectivePriorityUpdated,
    FaultOff,
    FaultOn,
    ForceBackup,
    ForceMaster,
    GarpKind,
    InitComplete,
    MachineConfig,
    MasterReason,
    MasterWanted,
    Notify,
    NotifyMasterRxLowerPri,
    Reason,
    RemoveVips,
    SendAdvert,
    SendGratuitous,
    SendLowerPrioGarp,
    Shutdown,
    SourceAddressChanged,
    Startup,
    State,
    StateChanged,
    VrrpMachine,
)

pytestmark = pytest.mark.unit

OURS = IPv4Address("192.0.2.10")
PEER_LOW = IPv4Address("192.0.2.5")
PEER_HIGH = IPv4Address("192.0.2.20")
MDI_100 = 3.609375  # 3 * 1 s + (256 - 100) / 256 s
SKEW_100 = 0.609375


def config(**kw: Any) -> MachineConfig:
    base: dict[str, Any] = {"vrid": 51, "source_address": OURS, "name": "VI_1"}
    base.update(kw)
    return MachineConfig(**base)


class Harness:
    """A machine plus a FakeClock; runs timers the way the driver would."""

    def __init__(self, cfg: MachineConfig, start_s: float = 0.0) -> None:
        self.clock = FakeClock(start_s)
        self.m = VrrpMachine(cfg)

    def send(self, event: Any) -> list[Action]:
        return self.m.handle(event, self.clock.now())

    def advert(
        self,
        priority: int,
        source: IPv4Address | IPv6Address = PEER_HIGH,
        adver_int_cs: int = 100,
        addr_list_ok: bool = True,
    ) -> list[Action]:
        return self.send(AdvertReceived(priority, adver_int_cs, source, addr_list_ok))

    def run_until(self, t: float) -> list[tuple[float, Action]]:
        """Fire every timer due up to and including ``t``; return (time, action) pairs."""
        fired: list[tuple[float, Action]] = []
        while True:
            deadline = self.m.next_deadline()
            if deadline is None or deadline > t:
                break
            self.clock.set(max(deadline, self.clock.now()))
            fired += [(self.clock.now(), a) for a in self.m.on_timer(self.clock.now())]
        self.clock.set(t)
        return fired

    def become_master(self) -> None:
        self.send(Startup())
        self.run_until(self.m.next_deadline() or 0.0)
        assert self.m.state is State.MASTER


def states(actions: list[Action]) -> list[tuple[State, State]]:
    return [(a.old, a.new) for a in actions if isinstance(a, StateChanged)]


# ---- start-up ------------------------------------------------------------------------------


def test_startup_enters_backup_with_the_master_down_timer() -> None:
    h = Harness(config(), start_s=100.0)
    actions = h.send(Startup())
    assert actions == [
        StateChanged(State.INIT, State.BACKUP, Reason.STARTUP),
        Notify(State.BACKUP, 100),
    ]
    assert h.m.next_deadline() == 100.0 + MDI_100


def test_state_master_without_priority_255_waits_like_a_backup() -> None:
    h = Harness(config(initial_state=State.MASTER, priority=200))
    h.send(Startup())
    assert h.m.state is State.BACKUP
    assert h.m.want_state is State.MASTER
    assert h.m.next_deadline() == 3 + 56 / 256


def test_address_owner_with_state_master_goes_master_at_once() -> None:
    h = Harness(config(initial_state=State.MASTER, priority=255))
    actions = h.send(Startup())
    assert actions == [
        StateChanged(State.INIT, State.MASTER, Reason.ADDRESS_OWNER),
        SendAdvert(255),
        AddVips(),
        SendGratuitous(GarpKind.MASTER, 5),
        Notify(State.MASTER, 255),
    ]
    assert h.m.next_deadline() == 1.0


def test_address_owner_with_state_backup_waits() -> None:
    h = Harness(config(priority=255))
    h.send(Startup())
    assert h.m.state is State.BACKUP
    assert h.m.next_deadline() == 3.003906  # (256 - 255) / 256 s truncated to whole µs


def test_startup_with_a_fault_enters_fault() -> None:
    h = Harness(config())
    assert h.send(FaultOn("eth0 down")) == []  # before start-up: only recorded
    actions = h.send(Startup())
    assert actions == [
        StateChanged(State.INIT, State.FAULT, Reason.FAULT),
        Notify(State.FAULT, 100),
    ]
    assert h.m.next_deadline() is None


def test_adverts_are_ignored_before_startup_and_in_fault() -> None:
    h = Harness(config())
    assert h.advert(200) == []
    assert h.m.state is State.INIT
    h.send(FaultOn("x"))
    h.send(Startup())
    assert h.advert(0) == []
    assert h.m.next_deadline() is None


# ---- BACKUP -> MASTER ----------------------------------------------------------------------


def test_failover_happens_exactly_master_down_interval_after_the_last_advert() -> None:
    h = Harness(config())
    h.send(Startup())
    for t in range(1, 11):
        h.clock.set(float(t))
        assert h.advert(200) == []
    assert h.m.next_deadline() == 10 + MDI_100
    assert h.run_until(10 + MDI_100 - 1e-6) == []
    assert h.m.state is State.BACKUP
    fired = h.run_until(20.0)
    t0 = 10 + MDI_100
    assert fired[:5] == [
        (t0, StateChanged(State.BACKUP, State.MASTER, Reason.MASTER_DOWN_TIMER)),
        (t0, SendAdvert(100)),  # the advert goes out before the VIPs are added
        (t0, AddVips()),
        (t0, SendGratuitous(GarpKind.MASTER, 5)),
        (t0, Notify(State.MASTER, 100)),
    ]
    # then one advert per advert_int, and the second GARP burst garp_master_delay later
    rest = fired[5:]
    assert [t for t, a in rest if a == SendAdvert(100)] == pytest.approx(
        [t0 + k for k in range(1, 7)]
    )
    garps = [(t, a) for t, a in rest if isinstance(a, SendGratuitous)]
    assert [a for _, a in garps] == [SendGratuitous(GarpKind.MASTER_DELAYED, 5)]
    assert [t for t, _ in garps] == pytest.approx([t0 + 5])
    assert h.m.describe().stats.become_master == 1


def test_master_down_timer_uses_down_timer_adverts() -> None:
    h = Harness(config(down_timer_adverts=1))
    h.send(Startup())
    h.clock.set(2.0)
    h.advert(150)
    assert h.m.next_deadline() == 2.0 + 1 + SKEW_100


def test_priority_zero_makes_the_backup_take_over_after_the_skew_time() -> None:
    h = Harness(config())
    h.send(Startup())
    h.clock.set(1.0)
    h.advert(200)
    h.clock.set(1.5)
    h.advert(0)
    assert h.m.next_deadline() == 1.5 + SKEW_100
    h.run_until(1.5 + SKEW_100)
    assert h.m.state is State.MASTER
    status = h.m.describe()
    assert status.next_master_reason is MasterReason.PRIORITY
    assert status.stats.pri_zero_rcvd == 1


def test_equal_priority_is_accepted_by_a_backup_whatever_the_address() -> None:
    h = Harness(config())
    h.send(Startup())
    for t in range(1, 30):
        h.clock.set(float(t))
        h.advert(100, source=PEER_LOW)  # lower address than ours: no tie-break in BACKUP
    h.run_until(29.0 + MDI_100 - 0.001)
    assert h.m.state is State.BACKUP
    assert h.m.describe().master_address == PEER_LOW


# ---- preemption ----------------------------------------------------------------------------


def test_higher_priority_backup_preempts_after_the_down_interval() -> None:
    h = Harness(config(priority=200))
    h.send(Startup())  # deadline 3 + 56/256
    for t in (0.5, 1.5, 2.5):
        h.clock.set(t)
        assert h.advert(100, source=PEER_LOW) == []  # discarded
    assert h.m.next_deadline() == 3 + 56 / 256
    h.run_until(3 + 56 / 256)
    assert h.m.state is State.MASTER
    assert h.m.describe().next_master_reason is MasterReason.PREEMPTED


def test_nopreempt_backup_never_takes_over_from_a_live_master() -> None:
    h = Harness(config(priority=200, nopreempt=True))
    h.send(Startup())
    for t in range(1, 60):
        h.clock.set(float(t))
        h.advert(100, source=PEER_LOW)
        assert h.m.state is State.BACKUP
    assert h.m.next_deadline() == 59 + 3 + 56 / 256
    h.run_until(59 + 3 + 56 / 256)
    assert h.m.state is State.MASTER  # the master went silent


def test_preempt_delay_accepts_lower_adverts_until_it_expires() -> None:
    h = Harness(config(priority=200, preempt_delay_s=10.0))
    h.send(Startup())
    for t in range(1, 14):
        h.run_until(float(t))
        h.advert(100, source=PEER_LOW)
        if t <= 10:
            # accepted: the preempt timer started at the first lower advert (t=1)
            assert h.m.next_deadline() == t + 3 + 56 / 256
        else:
            # from t=11 (preempt_time, not later than now) the adverts are discarded
            assert h.m.next_deadline() == 10 + 3 + 56 / 256
    assert h.m.describe().preempt_deadline_s == 11.0
    h.run_until(14.0)
    assert h.m.state is State.MASTER
    assert h.m.describe().last_transition_s == 10 + 3 + 56 / 256


def test_preempt_delay_is_cancelled_by_a_higher_advert() -> None:
    h = Harness(config(priority=200, preempt_delay_s=10.0))
    h.send(Startup())
    h.clock.set(1.0)
    h.advert(100, source=PEER_LOW)
    assert h.m.describe().preempt_deadline_s == 11.0
    h.clock.set(2.0)
    h.advert(250)
    assert h.m.describe().preempt_deadline_s is None
    h.clock.set(3.0)
    h.advert(100, source=PEER_LOW)
    assert h.m.describe().preempt_deadline_s == 13.0


# ---- MASTER receiving adverts --------------------------------------------------------------


def test_master_yields_to_a_higher_priority_without_a_priority_zero_advert() -> None:
    h = Harness(config())
    h.become_master()
    h.clock.advance(0.3)
    actions = h.advert(150, source=PEER_LOW)
    assert actions == [
        RemoveVips(),
        StateChanged(State.MASTER, State.BACKUP, Reason.HIGHER_PRIORITY),
        Notify(State.BACKUP, 100),
    ]
    assert h.m.next_deadline() == pytest.approx(h.clock.now() + MDI_100)
    assert h.m.describe().stats.release_master == 1


@pytest.mark.parametrize(
    ("theirs", "ours", "yields"),
    [
        ("192.0.2.20", "192.0.2.10", True),
        ("192.0.2.9", "192.0.2.10", False),
        ("10.0.0.1", "9.255.255.255", True),  # numeric, not textual, comparison
        ("2001:db8::2", "2001:db8::1", True),
        ("2001:db8::1:0", "2001:db8::ffff", True),
        ("2001:db8::1", "2001:db8::2", False),
    ],
)
def test_equal_priority_tie_break_on_the_primary_address(
    theirs: str, ours: str, yields: bool
) -> None:
    family = socket.AF_INET6 if ":" in ours else socket.AF_INET
    h = Harness(config(family=family, version=3, source_address=ip_address(ours)))
    h.become_master()
    actions = h.advert(100, source=ip_address(theirs))
    if yields:
        assert actions == [
            RemoveVips(),
            StateChanged(State.MASTER, State.BACKUP, Reason.EQUAL_PRIORITY_HIGHER_ADDRESS),
            Notify(State.BACKUP, 100),
        ]
    else:
        assert h.m.state is State.MASTER
        assert SendAdvert(100) in actions


def test_master_answers_a_lower_priority_advert() -> None:
    h = Harness(config())
    h.become_master()
    h.clock.advance(0.25)
    actions = h.advert(50, source=PEER_HIGH)
    assert actions == [
        SendAdvert(100),
        SendGratuitous(GarpKind.LOWER_PRIO, 5),
        NotifyMasterRxLowerPri(PEER_HIGH, 50),
    ]
    # the advert timer restarted, and a second burst comes garp_lower_prio_delay later
    now = h.clock.now()
    assert h.m.next_deadline() == now + 1.0
    fired = h.run_until(now + 5.0)
    delayed = [t for t, a in fired if a == SendGratuitous(GarpKind.LOWER_PRIO_DELAYED, 5)]
    assert delayed == pytest.approx([now + 5.0])


def test_lower_prio_no_advert_keeps_quiet_and_keeps_the_timer() -> None:
    h = Harness(config(lower_prio_no_advert=True, garp_lower_prio_repeat=0))
    h.become_master()
    deadline = h.m.next_deadline()
    h.clock.advance(0.25)
    assert h.advert(50, source=PEER_HIGH) == [NotifyMasterRxLowerPri(PEER_HIGH, 50)]
    assert h.m.next_deadline() == deadline


def test_master_with_lower_prio_no_advert_still_answers_priority_zero() -> None:
    h = Harness(config(lower_prio_no_advert=True))
    h.become_master()
    deadline = h.m.next_deadline()
    h.clock.advance(0.5)
    assert h.advert(0, source=PEER_HIGH) == [SendAdvert(100)]
    assert h.m.next_deadline() == deadline  # the advert timer is not restarted


def test_zero_interval_from_a_v3_master_cannot_spin_a_held_sync_member() -> None:
    h = Harness(config(version=3, sync_group=True))
    h.send(Startup())
    h.clock.set(1.0)
    h.advert(200, adver_int_cs=0)
    assert h.m.describe().master_adver_int_cs == 1
    deadline = h.m.next_deadline()
    assert deadline is not None
    h.clock.set(deadline)
    assert h.m.on_timer(deadline) == [MasterWanted()]
    next_deadline = h.m.next_deadline()
    assert next_deadline is not None
    assert next_deadline > deadline


def test_master_readvertises_on_priority_zero() -> None:
    h = Harness(config())
    h.become_master()
    h.clock.advance(0.5)
    assert h.advert(0, source=PEER_HIGH) == [SendAdvert(100)]
    assert h.m.state is State.MASTER
    assert h.m.next_deadline() == h.clock.now() + 1.0


def test_higher_prio_send_advert_sends_one_before_yielding() -> None:
    h = Harness(config(higher_prio_send_advert=True))
    h.become_master()
    actions = h.advert(200)
    assert actions[0] == SendAdvert(100)
    assert states(actions) == [(State.MASTER, State.BACKUP)]


def test_two_address_owners_the_one_that_hears_the_other_backs_off() -> None:
    h = Harness(config(priority=255, initial_state=State.MASTER))
    h.send(Startup())
    actions = h.advert(255, source=PEER_LOW)  # even from a lower address
    assert states(actions) == [(State.MASTER, State.BACKUP)]
    assert h.m.base_priority == 254
    assert h.m.effective_priority == 254
    # no longer the owner: tracking now changes its priority
    h.send(EffectivePriorityChanged(200))
    assert h.m.effective_priority == 200


# ---- v2 / v3 intervals ---------------------------------------------------------------------


def test_v3_backup_adopts_the_master_interval_and_drops_it_as_master() -> None:
    h = Harness(config(version=3))
    h.send(Startup())
    h.clock.set(1.0)
    h.advert(150, adver_int_cs=200)
    skew = 156 * 200 * 625 // 16 / 1e6
    assert h.m.next_deadline() == 1.0 + 6.0 + skew
    assert h.m.describe().master_adver_int_cs == 200
    h.run_until(1.0 + 6.0 + skew)
    assert h.m.state is State.MASTER
    assert h.m.describe().master_adver_int_cs == 100
    assert h.m.next_deadline() == pytest.approx(1.0 + 6.0 + skew + 1.0)


def test_v3_master_yielding_uses_the_new_master_interval() -> None:
    h = Harness(config(version=3))
    h.become_master()
    h.advert(200, adver_int_cs=50)
    assert h.m.next_deadline() == pytest.approx(h.clock.now() + 1.5 + 156 * 50 * 625 // 16 / 1e6)


def test_v2_advert_with_another_interval_is_dropped() -> None:
    h = Harness(config())
    h.send(Startup())
    h.clock.set(2.0)
    assert h.advert(200, adver_int_cs=200) == []
    assert h.m.next_deadline() == MDI_100  # not reset
    h.run_until(MDI_100)
    assert h.m.state is State.MASTER
    # and a master ignores such an advert even from a higher priority
    assert h.advert(255, adver_int_cs=300) == []
    assert h.m.state is State.MASTER


# ---- address-list checks and rejected adverts ----------------------------------------------


def test_advert_with_wrong_vips_is_ignored() -> None:
    h = Harness(config())
    h.send(Startup())
    h.clock.set(1.0)
    h.advert(200, addr_list_ok=False)
    assert h.m.next_deadline() == MDI_100


def test_skip_check_adv_addr_only_skips_for_the_known_master() -> None:
    h = Harness(config(skip_check_adv_addr=True))
    h.send(Startup())
    h.clock.set(1.0)
    h.advert(200, source=PEER_HIGH)
    h.clock.set(2.0)
    h.advert(200, source=PEER_HIGH, addr_list_ok=False)
    assert h.m.next_deadline() == 2.0 + MDI_100
    h.clock.set(3.0)
    h.advert(200, source=IPv4Address("192.0.2.99"), addr_list_ok=False)
    assert h.m.next_deadline() == 2.0 + MDI_100


def test_rejected_advert_restarts_the_master_advert_timer_only() -> None:
    h = Harness(config())
    h.send(Startup())
    h.clock.set(1.0)
    assert h.send(AdvertRejected("auth_failure")) == []
    assert h.m.next_deadline() == MDI_100
    h.run_until(MDI_100)
    h.clock.advance(0.75)
    h.send(AdvertRejected("auth_failure"))
    assert h.m.next_deadline() == h.clock.now() + 1.0


def test_late_ignored_advert_lets_an_overdue_timer_fire_at_once() -> None:
    h = Harness(config(priority=200))
    h.send(Startup())
    h.clock.set(10.0)  # the driver is late: the deadline (3.21875) has passed
    h.advert(100, source=PEER_LOW)  # discarded
    assert h.m.next_deadline() == 10.0
    h.run_until(10.0)
    assert h.m.state is State.MASTER


# ---- faults --------------------------------------------------------------------------------


def test_master_to_fault_sends_two_priority_zero_adverts_and_removes_the_vips() -> None:
    h = Harness(config())
    h.become_master()
    actions = h.send(FaultOn("eth0 down"))
    assert actions == [
        SendAdvert(0),
        SendAdvert(0),
        RemoveVips(),
        StateChanged(State.MASTER, State.FAULT, Reason.FAULT),
        Notify(State.FAULT, 100),
    ]
    # only the (now harmless) delayed GARP burst is still scheduled, as in keepalived
    assert h.m.describe().next_deadline_s == h.clock.now() + 5.0
    assert h.run_until(h.clock.now() + 60) == []
    assert h.m.describe().stats.pri_zero_sent == 1


def test_fault_recovery_needs_every_fault_cleared_and_goes_backup() -> None:
    h = Harness(config(priority=255, initial_state=State.MASTER, garp_master_delay_s=0))
    h.become_master()
    h.send(FaultOn("eth0 down"))
    assert h.send(FaultOn("chk_nginx")) == []
    h.clock.set(5.0)
    assert h.send(FaultOff("eth0 down")) == []
    assert h.m.state is State.FAULT
    assert h.m.describe().faults == ("chk_nginx",)
    actions = h.send(FaultOff("chk_nginx"))
    # even the owner comes back through BACKUP after a fault (wantstate was FAULT)
    assert actions == [
        StateChanged(State.FAULT, State.BACKUP, Reason.FAULT_CLEARED),
        Notify(State.BACKUP, 255),
    ]
    assert h.m.next_deadline() == 5.0 + 3.003906


def test_backup_to_fault_and_back() -> None:
    h = Harness(config(version=3))
    h.send(Startup())
    h.clock.set(1.0)
    h.advert(200, adver_int_cs=300)
    actions = h.send(FaultOn("eth0 down"))
    assert actions == [
        StateChanged(State.BACKUP, State.FAULT, Reason.FAULT),
        Notify(State.FAULT, 100),
    ]
    h.clock.set(2.0)
    h.send(FaultOff("eth0 down"))
    assert h.m.state is State.BACKUP
    # the learnt interval is forgotten on leaving FAULT
    assert h.m.next_deadline() == 2.0 + MDI_100


def test_unicast_instance_announces_its_source_address_when_leaving_fault() -> None:
    h = Harness(config(unicast=True))
    h.send(FaultOn("eth0 down"))
    h.send(Startup())
    actions = h.send(FaultOff("eth0 down"))
    assert actions[-1] == SendGratuitous(GarpKind.SOURCE_ADDRESS, 1)


def test_unknown_fault_off_and_repeated_fault_on_are_ignored() -> None:
    h = Harness(config())
    h.send(Startup())
    assert h.send(FaultOff("never")) == []
    h.send(FaultOn("a"))
    assert h.send(FaultOn("a")) == []
    h.send(FaultOff("a"))
    assert h.m.state is State.BACKUP


def test_init_pending_waits_in_silent_fault() -> None:
    h = Harness(config(priority=255, initial_state=State.MASTER))
    actions = h.send(Startup(init_pending=True))
    assert actions == [StateChanged(State.INIT, State.FAULT, Reason.INIT_PENDING)]
    assert h.advert(100) == []
    h.clock.set(2.0)
    actions = h.send(InitComplete())
    # leaving init, the owner with state MASTER goes master at once
    assert states(actions) == [(State.FAULT, State.MASTER)]
    assert Notify(State.MASTER, 255) in actions


def test_init_pending_then_script_failure_notifies_fault() -> None:
    h = Harness(config())
    h.send(Startup(init_pending=True))
    assert h.send(FaultOn("chk")) == [Notify(State.FAULT, 100)]
    assert h.send(InitComplete()) == []
    h.clock.set(1.0)
    actions = h.send(FaultOff("chk"))
    assert states(actions) == [(State.FAULT, State.BACKUP)]


# ---- effective priority --------------------------------------------------------------------


def test_priority_change_in_backup_shifts_the_running_down_timer() -> None:
    h = Harness(config())
    h.send(Startup())
    h.clock.set(1.0)
    h.advert(200)
    actions = h.send(EffectivePriorityChanged(150))
    assert actions == [EffectivePriorityUpdated(100, 150, State.BACKUP)]
    assert h.m.next_deadline() == pytest.approx(1.0 + 3 + 106 / 256)


def test_priority_is_clamped_and_ignored_for_an_owner() -> None:
    h = Harness(config())
    h.send(EffectivePriorityChanged(-20))
    assert h.m.effective_priority == 1
    h.send(EffectivePriorityChanged(400))
    assert h.m.effective_priority == 254
    assert h.send(EffectivePriorityChanged(254)) == []
    owner = Harness(config(priority=255))
    assert owner.send(EffectivePriorityChanged(100)) == []
    assert owner.m.effective_priority == 255


def test_master_advertises_its_new_priority() -> None:
    h = Harness(config())
    h.become_master()
    h.send(EffectivePriorityChanged(90))
    fired = h.run_until(h.clock.now() + 1.0)
    assert [a for _, a in fired] == [SendAdvert(90)]


# ---- GARP refresh --------------------------------------------------------------------------


def test_garp_refresh_goes_out_with_the_first_advert_after_it_is_due() -> None:
    h = Harness(config(garp_master_refresh_s=2.5, garp_master_refresh_repeat=2))
    h.become_master()
    t0 = h.clock.now()
    fired = h.run_until(t0 + 6.0)
    refresh = [t for t, a in fired if a == SendGratuitous(GarpKind.REFRESH, 2)]
    assert refresh == pytest.approx([t0 + 3.0, t0 + 6.0])


def test_no_second_burst_without_garp_master_delay() -> None:
    h = Harness(config(garp_master_delay_s=0, garp_master_repeat=1))
    h.become_master()
    fired = h.run_until(h.clock.now() + 10)
    assert not [a for _, a in fired if isinstance(a, SendGratuitous)]


def test_delayed_burst_is_not_sent_after_leaving_master() -> None:
    h = Harness(config())
    h.become_master()
    t0 = h.clock.now()
    fired: list[tuple[float, Action]] = []
    for k in range(10):
        fired += h.run_until(t0 + k + 0.5)
        h.advert(200)
        assert h.m.state is State.BACKUP
    assert h.m.describe().stats.become_master == 1
    assert not [a for _, a in fired if isinstance(a, SendGratuitous)]


# ---- shutdown ------------------------------------------------------------------------------


def test_shutdown_of_a_master_resigns_with_priority_zero() -> None:
    h = Harness(config())
    h.become_master()
    actions = h.send(Shutdown())
    assert actions == [
        SendAdvert(0),
        RemoveVips(),
        StateChanged(State.MASTER, State.STOP, Reason.SHUTDOWN),
        Notify(State.STOP, 100),
    ]
    assert h.m.next_deadline() is None
    assert h.advert(200) == []
    assert h.send(Startup()) == []
    assert h.m.state is State.STOP


def test_shutdown_with_dont_release_vrrp_keeps_the_vips() -> None:
    h = Harness(config())
    h.become_master()
    actions = h.send(Shutdown(release=False))
    assert not [a for a in actions if isinstance(a, SendAdvert | RemoveVips)]


def test_shutdown_of_a_backup_only_notifies() -> None:
    h = Harness(config())
    h.send(Startup())
    assert h.send(Shutdown()) == [
        StateChanged(State.BACKUP, State.STOP, Reason.SHUTDOWN),
        Notify(State.STOP, 100),
    ]


# ---- sync groups ---------------------------------------------------------------------------


def test_sync_group_member_asks_before_going_master() -> None:
    h = Harness(config(sync_group=True))
    h.send(Startup())
    fired = h.run_until(MDI_100)
    assert [a for _, a in fired] == [MasterWanted()]
    assert h.m.state is State.BACKUP
    assert h.m.want_state is State.MASTER
    assert h.m.next_deadline() == 2 * MDI_100
    actions = h.send(ForceMaster())
    assert states(actions) == [(State.BACKUP, State.MASTER)]
    actions = h.send(ForceBackup())
    assert actions == [
        RemoveVips(),
        StateChanged(State.MASTER, State.BACKUP, Reason.SYNC_GROUP),
        Notify(State.BACKUP, 100),
    ]


def test_an_advert_makes_a_held_member_want_backup_again() -> None:
    h = Harness(config(sync_group=True))
    h.send(Startup())
    h.run_until(MDI_100)
    h.advert(200)
    assert h.m.want_state is State.BACKUP


def test_sync_group_lower_prio_garps() -> None:
    h = Harness(config(garp_lower_prio_repeat=3, garp_lower_prio_delay_s=0))
    h.send(Startup())
    assert h.send(SendLowerPrioGarp()) == []
    h.run_until(MDI_100)
    assert h.send(SendLowerPrioGarp()) == [SendGratuitous(GarpKind.LOWER_PRIO, 3)]


# ---- source address, status, config -------------------------------------------------------


def test_source_address_change_moves_the_tie_break() -> None:
    h = Harness(config())
    h.become_master()
    h.send(SourceAddressChanged(IPv4Address("192.0.2.30")))
    h.advert(100, source=PEER_HIGH)  # .20 is now below us
    assert h.m.state is State.MASTER
    h.send(SourceAddressChanged(IPv6Address("2001:db8::1")))  # wrong family: ignored
    h.advert(100, source=IPv4Address("192.0.2.25"))
    assert h.m.state is State.MASTER


def test_describe_reports_the_state() -> None:
    h = Harness(config(), start_s=7.0)
    h.send(Startup())
    h.clock.set(8.0)
    h.advert(200)
    status = h.m.describe()
    assert status.name == "VI_1"
    assert status.state is State.BACKUP
    assert status.effective_priority == 100
    assert status.master_address == PEER_HIGH
    assert status.master_priority == 200
    assert status.last_reason is Reason.STARTUP
    assert status.last_transition_s == 7.0
    assert status.next_deadline_s == 8.0 + MDI_100
    assert status.vips_set is False
    assert dataclasses.asdict(status)["vrid"] == 51


@pytest.mark.parametrize(
    "bad",
    [
        {"vrid": 0},
        {"vrid": 256},
        {"version": 1},
        {"priority": 0},
        {"priority": 256},
        {"adver_int_cs": 150},  # v2: whole seconds only
        {"version": 3, "adver_int_cs": 4096},
        {"initial_state": State.FAULT},
        {"down_timer_adverts": 0},
        {"preempt_delay_s": -1.0},
        {"garp_master_repeat": -1},
        {"source_address": IPv6Address("2001:db8::1")},
    ],
)
def test_bad_config_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"."):
        config(**bad)


def test_bad_advert_fields_are_refused() -> None:
    with pytest.raises(ValueError, match="priority"):
        AdvertReceived(256, 100, PEER_HIGH)
    with pytest.raises(ValueError, match="interval"):
        AdvertReceived(100, -1, PEER_HIGH)
