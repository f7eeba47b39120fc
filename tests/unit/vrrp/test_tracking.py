"""Tracking arithmetic (keepalived's vrrp_track.c) and the rise/fall counter of vrrp_script."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pykeepalived.vrrp.track_io import parse_link_messages, parse_track_file_value
from pykeepalived.vrrp.tracking import (
    FILE_FAULT,
    InstanceTracking,
    ScriptResult,
    ScriptStatus,
    TrackKind,
    TrackRef,
    bool_contribution,
    bool_fault,
    clamp_priority,
    file_status,
)

pytestmark = pytest.mark.unit

S = TrackKind.SCRIPT
I = TrackKind.INTERFACE  # noqa: E741
F = TrackKind.FILE
P = TrackKind.PROCESS


@pytest.mark.parametrize(
    ("weight", "reverse", "up", "expected"),
    [
        (10, False, True, 10),
        (10, False, False, 0),
        (-10, False, True, 0),
        (-10, False, False, -10),
        (10, True, True, -10),
        (10, True, False, 0),
        (-10, True, True, 0),
        (-10, True, False, 10),
    ],
)
def test_bool_contribution(weight: int, reverse: bool, up: bool, expected: int) -> None:
    assert bool_contribution(weight, reverse, up) == expected


def test_weight_zero_is_fault_in_failing_direction() -> None:
    assert bool_fault(0, False, False) and not bool_fault(0, False, True)
    assert bool_fault(0, True, True) and not bool_fault(0, True, False)
    assert not bool_fault(5, False, False)


@given(st.integers(-253, 253), st.booleans())
def test_transition_delta_matches_keepalived_update(weight: int, reverse: bool) -> None:
    """After init keepalived adds |w|*m on success and subtracts it on failure."""
    mult = -1 if reverse else 1
    delta = bool_contribution(weight, reverse, True) - bool_contribution(weight, reverse, False)
    assert delta == abs(weight) * mult


def test_clamp_and_owner() -> None:
    assert clamp_priority(100, 300) == 254
    assert clamp_priority(100, -50) == 1
    assert clamp_priority(255, 10) == 255


def test_file_status() -> None:
    assert file_status(0, False, 0) == 0
    assert file_status(0, False, 3) == FILE_FAULT
    assert file_status(0, True, 0) == FILE_FAULT
    assert file_status(10, False, 3) == 30
    assert file_status(10, True, 3) == -30
    assert file_status(-100, False, 5) == FILE_FAULT
    assert file_status(100, False, 5) == 253


def test_instance_sum_and_faults() -> None:
    t = InstanceTracking(
        100,
        [
            TrackRef(I, "eth0"),
            TrackRef(S, "chk", -20),
            TrackRef(S, "bonus", 5),
            TrackRef(F, "f", 2),
            TrackRef(P, "p", 0),
        ],
    )
    t.update({(I, "eth0"): True, (P, "p"): True, (F, "f"): 4})
    r = t.result()
    assert r.total_priority == 108 and not r.faults and not r.init_pending
    t.set(S, "chk", ScriptStatus.FAILED)
    t.set(S, "bonus", ScriptStatus.OK)
    assert t.result().total_priority == 100 - 20 + 5 + 8
    t.set(I, "eth0", False)
    t.set(P, "p", False)
    assert t.result().faults == {"interface eth0 down", "track_process p"}
    assert not t.set(S, "unknown", ScriptStatus.OK)


def test_weight_zero_script_pending_until_reported() -> None:
    t = InstanceTracking(100, [TrackRef(S, "chk", 0)])
    assert t.result().init_pending
    t.set(S, "chk", ScriptStatus.FAILED)
    r = t.result()
    assert not r.init_pending and r.faults == {"track_script chk"}
    t.set(S, "chk", ScriptStatus.OK)
    assert not t.result().faults


def test_owner_priority_never_adjusted() -> None:
    t = InstanceTracking(255, [TrackRef(S, "chk", -50)])
    t.set(S, "chk", ScriptStatus.FAILED)
    assert t.result().total_priority == 255


def test_rise_fall_counter() -> None:
    c = ScriptResult(rise=2, fall=3)
    assert c.status is ScriptStatus.INIT
    assert c.record(True) is ScriptStatus.OK  # starts one success away
    assert c.record(False) is None
    assert c.record(False) is None
    assert c.record(False) is ScriptStatus.FAILED  # third consecutive failure
    assert c.record(True) is None
    assert c.record(True) is ScriptStatus.OK  # two successes to rise
    assert c.record(False) is None and c.record(True) is None  # streak restarted at top


def test_first_failure_is_reported_and_init_fail() -> None:
    c = ScriptResult(rise=3, fall=3)
    assert c.record(False) is ScriptStatus.FAILED
    d = ScriptResult(rise=2, fall=1, init_fail=True)
    assert d.status is ScriptStatus.FAILED
    assert d.record(False) is None
    assert d.record(True) is None and d.record(True) is ScriptStatus.OK


def test_strtol_like_parsing() -> None:
    assert parse_track_file_value("12\n") == 12
    assert parse_track_file_value("  -7 junk") == -7
    assert parse_track_file_value("0x10") == 16
    assert parse_track_file_value("010") == 8
    assert parse_track_file_value("abc") == 0
    assert parse_track_file_value("") == 0
    assert parse_track_file_value("9999") == 254


def test_link_message_parser() -> None:
    name = b"eth0\0"
    rta = struct.pack("=HH", 4 + len(name), 3) + name + b"\0" * ((-len(name)) % 4)
    body = struct.pack("=BxHiII", 0, 1, 7, 0x41, 0) + rta
    msg = struct.pack("=IHHII", 16 + len(body), 16, 0, 0, 0) + body
    assert parse_link_messages(msg) == [(7, "eth0", True, False)]
    down = struct.pack("=BxHiII", 0, 1, 7, 0x1, 0) + rta
    msg2 = struct.pack("=IHHII", 16 + len(down), 17, 0, 0, 0) + down
    assert parse_link_messages(msg + msg2) == [(7, "eth0", True, False), (7, "eth0", False, True)]
