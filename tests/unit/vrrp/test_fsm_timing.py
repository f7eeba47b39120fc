"""Advert scheduling without drift and the rate-limited "lower priority" log line."""

from __future__ import annotations

import logging
from ipaddress import IPv4Address

import pytest

from pykeepalived.vrrp.fsm import (
    AdvertReceived,
    MachineConfig,
    SendAdvert,
    Startup,
    State,
    VrrpMachine,
)

pytestmark = pytest.mark.unit

OURS = IPv4Address("192.0.2.10")
PEER = IPv4Address("192.0.2.5")


def _master(**kw: object) -> tuple[VrrpMachine, float]:
    m = VrrpMachine(MachineConfig(vrid=51, source_address=OURS, name="VI_1", **kw))  # type: ignore[arg-type]
    m.handle(Startup(), 0.0)
    deadline = m.next_deadline()
    assert deadline is not None
    m.on_timer(deadline)
    assert m.state is State.MASTER
    return m, deadline


def test_late_wake_ups_do_not_delay_the_next_advert() -> None:
    m, _ = _master(version=3, adver_int_cs=1)  # 10 ms
    sent_at: list[float] = []
    for _ in range(100):
        due = m.next_deadline()
        assert due is not None
        now = due + 0.002  # every wake-up 2 ms late
        if any(isinstance(a, SendAdvert) for a in m.on_timer(now)):
            sent_at.append(due)
    assert len(sent_at) == 100
    # the schedule keeps its 10 ms grid: 100 adverts span 99 intervals, not 99 x 12 ms
    assert sent_at[-1] - sent_at[0] == pytest.approx(0.99, abs=1e-6)


def test_a_wake_up_later_than_an_interval_restarts_from_now() -> None:
    m, _ = _master(version=3, adver_int_cs=1)
    due = m.next_deadline()
    assert due is not None
    m.on_timer(due + 0.05)  # 5 intervals late: no burst of catch-up adverts
    assert m.next_deadline() == pytest.approx(due + 0.05 + 0.01)


def test_lower_priority_adverts_are_logged_once_per_sender_and_priority(
    caplog: pytest.LogCaptureFixture,
) -> None:
    m = VrrpMachine(MachineConfig(vrid=51, source_address=OURS, name="VI_1", nopreempt=False))
    m.handle(Startup(), 0.0)
    assert m.state is State.BACKUP
    caplog.set_level(logging.INFO, logger="pykeepalived.vrrp.fsm")
    for i in range(5):
        m.handle(AdvertReceived(50, 100, PEER, True), 0.1 * i)
    m.handle(AdvertReceived(60, 100, PEER, True), 0.6)
    lines = [r.getMessage() for r in caplog.records if "lower priority" in r.getMessage()]
    assert lines == [
        "(VI_1) received lower priority (50) advert from 192.0.2.5 - discarding",
        "(VI_1) received lower priority (60) advert from 192.0.2.5 - discarding",
    ]
