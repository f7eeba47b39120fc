"""Quorum, hysteresis, sorry server and inhibit_on_failure as keepalived's ipwrapper.c."""

from __future__ import annotations

import pytest

from pykeepalived.checkers.events import EventKind
from pykeepalived.checkers.quorum import QuorumChange, decide

from .chk_helpers import FAIL, OK, load, make_runner, simulate, world

pytestmark = pytest.mark.unit


def vs_text(extra: str = "", rs_extra: str = "", n: int = 3, weight: int = 1) -> str:
    servers = "".join(
        f"""
    real_server 198.51.100.{i + 1} 80 {{
        weight {weight}
        {rs_extra}
        TCP_CHECK {{
            connect_timeout 1
        }}
    }}"""
        for i in range(n)
    )
    return f"""
virtual_server 192.0.2.1 80 {{
    protocol TCP
    delay_loop 10
    {extra}
    {servers}
}}
"""


@pytest.mark.parametrize(
    ("up", "weight_sum", "quorum", "hyst", "expected"),
    [
        (False, 3, 3, 0, QuorumChange.GAINED),
        (False, 3, 3, 1, None),  # needs quorum + hysteresis = 4
        (False, 4, 3, 1, QuorumChange.GAINED),
        (True, 2, 3, 1, None),  # keeps it down to quorum - hysteresis = 2
        (True, 1, 3, 1, QuorumChange.LOST),
        (True, 0, 0, 0, QuorumChange.LOST),  # a zero sum always loses
        (True, 5, 3, 0, None),
    ],
)
def test_decide(up: bool, weight_sum: int, quorum: int, hyst: int, expected: object) -> None:
    decision = decide(up=up, weight_sum=weight_sum, quorum=quorum, hysteresis=hyst)
    assert (decision.change if decision else None) == expected


def test_decide_message_is_keepalived_text() -> None:
    d = decide(up=False, weight_sum=4, quorum=3, hysteresis=1)
    assert d is not None and d.message(3, 1) == "Gained quorum 3+1=4 <= 4"
    d = decide(up=True, weight_sum=1, quorum=3, hysteresis=1)
    assert d is not None and d.message(3, 1) == "Lost quorum 3-1=2 > 1"


def test_hysteresis_damps_flaps_and_scripts_run() -> None:
    text = vs_text(
        'quorum 3\n    hysteresis 1\n    quorum_up "/bin/qup"\n    quorum_down "/bin/qdown"', n=4
    )
    w = world(load(text).lvs.virtual_servers[0])
    runners = [make_runner(w, rs_index=i, retry=0) for i in range(4)]
    w.pool.start()
    assert w.pool.quorum_up is True  # 4 >= 3 + 1 at start ("Gained quorum", quorum_up runs)
    assert w.effects.scripts == [("/bin/qup",)]
    simulate(w, runners[0], [FAIL])  # 3 live: still >= 3 - 1
    simulate(w, runners[1], [FAIL])  # 2 live: still >= 2
    assert w.pool.quorum_up is True
    simulate(w, runners[2], [FAIL])  # 1 live: lost
    assert w.pool.quorum_up is False
    simulate(w, runners[0], [OK])
    simulate(w, runners[1], [OK])  # 3 live: not yet, needs 4
    assert w.pool.quorum_up is False
    simulate(w, runners[2], [OK])
    assert w.pool.quorum_up is True
    assert w.effects.scripts == [("/bin/qup",), ("/bin/qdown",), ("/bin/qup",)]
    vs_lines = [line for line in w.effects.lines if line.startswith(b"VS ")]
    assert vs_lines == [
        b"VS [192.0.2.1]:tcp:80 UP\n",
        b"VS [192.0.2.1]:tcp:80 DOWN\n",
        b"VS [192.0.2.1]:tcp:80 UP\n",
    ]


def test_sorry_server_replaces_pool_when_quorum_lost() -> None:
    text = vs_text("quorum 2\n    sorry_server 203.0.113.9 8080", n=2)
    w = world(load(text).lvs.virtual_servers[0])
    r0, _r1 = (make_runner(w, rs_index=i, retry=0) for i in range(2))
    w.pool.start()
    svc = "[192.0.2.1]:tcp:80"
    assert w.dataplane.table[svc] == {"[198.51.100.1]:80": 1, "[198.51.100.2]:80": 1}
    simulate(w, r0, [FAIL])
    # lost: remaining live RSs removed, sorry server in
    assert w.dataplane.table[svc] == {"[203.0.113.9]:8080": 1}
    simulate(w, r0, [OK])  # back: 2 >= 2 gains; sorry out, live RSs back
    assert w.dataplane.table[svc] == {"[198.51.100.1]:80": 1, "[198.51.100.2]:80": 1}
    kinds = [e.kind for e in w.events.events()]
    assert EventKind.SORRY_SERVER_IN in kinds and EventKind.SORRY_SERVER_OUT in kinds


def test_rs_changes_while_sorry_active_do_not_touch_dataplane() -> None:
    text = vs_text("quorum 3\n    sorry_server 203.0.113.9 8080", n=3)
    w = world(load(text).lvs.virtual_servers[0])
    runners = [make_runner(w, rs_index=i, retry=0) for i in range(3)]
    w.pool.start()
    simulate(w, runners[0], [FAIL])
    simulate(w, runners[1], [FAIL])
    before = list(w.dataplane.calls)
    simulate(w, runners[1], [OK])  # 2 live < 3: still sorry; nothing to add
    assert w.dataplane.calls == before


def test_alpha_with_sorry_server_starts_with_quorum_down() -> None:
    text = vs_text("alpha\n    sorry_server 203.0.113.9 8080", n=1)
    w = world(load(text).lvs.virtual_servers[0])
    runner = make_runner(w, retry=0, alpha=True)
    w.pool.start()
    assert w.dataplane.table["[192.0.2.1]:tcp:80"] == {"[203.0.113.9]:8080": 1}
    assert w.events.events(EventKind.QUORUM_DOWN)[0].detail.startswith("Starting with quorum down")
    simulate(w, runner, [OK])
    assert w.dataplane.table["[192.0.2.1]:tcp:80"] == {"[198.51.100.1]:80": 1}


def test_inhibit_on_failure_sets_weight_zero() -> None:
    text = vs_text(rs_extra="inhibit_on_failure", n=1, weight=5)
    w = world(load(text).lvs.virtual_servers[0])
    runner = make_runner(w, retry=0)
    w.pool.start()
    simulate(w, runner, [FAIL, OK])
    assert w.dataplane.ops() == [
        ("add", "[198.51.100.1]:80", 5),
        ("weight", "[198.51.100.1]:80", 0),
        ("weight", "[198.51.100.1]:80", 5),
    ]


def test_inhibit_with_alpha_adds_at_weight_zero() -> None:
    text = vs_text("alpha", rs_extra="inhibit_on_failure", n=1, weight=5)
    w = world(load(text).lvs.virtual_servers[0])
    runner = make_runner(w, retry=0, alpha=True)
    w.pool.start()
    assert w.dataplane.ops() == [("add", "[198.51.100.1]:80", 0)]
    simulate(w, runner, [OK])
    assert w.dataplane.ops()[-1] == ("weight", "[198.51.100.1]:80", 5)


def test_rs_up_only_when_all_checkers_up() -> None:
    w = world(load(vs_text(n=1)).lvs.virtual_servers[0])
    a = make_runner(w, retry=0)
    b = make_runner(w, retry=0)
    w.pool.start()
    simulate(w, a, [FAIL])
    simulate(w, b, [FAIL])
    assert w.pool.real_servers[0].num_failed == 2
    simulate(w, a, [OK])
    assert w.pool.real_servers[0].alive is False
    simulate(w, b, [OK])
    assert w.pool.real_servers[0].alive is True
    assert [k for k, *_ in w.dataplane.ops()] == ["add", "remove", "add"]


def test_notify_scripts_and_fifo_lines_of_rs() -> None:
    text = vs_text(rs_extra='notify_up "/bin/up arg"\n        notify_down /bin/down', n=1)
    w = world(load(text).lvs.virtual_servers[0])
    runner = make_runner(w, retry=0)
    w.pool.start()
    simulate(w, runner, [FAIL, OK])
    assert w.effects.scripts == [("/bin/down",), ("/bin/up", "arg")]
    rs_lines = [line for line in w.effects.lines if line.startswith(b"RS ")]
    assert rs_lines == [
        b"RS [198.51.100.1]:tcp:80 [192.0.2.1]:tcp:80 DOWN\n",
        b"RS [198.51.100.1]:tcp:80 [192.0.2.1]:tcp:80 UP\n",
    ]


def test_omega_stop_runs_down_notifies() -> None:
    text = vs_text('omega\n    quorum_down "/bin/qdown"', rs_extra="notify_down /bin/down", n=1)
    w = world(load(text).lvs.virtual_servers[0])
    make_runner(w)
    w.pool.start()
    w.pool.stop()
    assert w.effects.scripts == [("/bin/down",), ("/bin/qdown",)]
    assert w.dataplane.table == {}


def test_stop_without_omega_is_silent() -> None:
    text = vs_text('quorum_down "/bin/qdown"', rs_extra="notify_down /bin/down", n=1)
    w = world(load(text).lvs.virtual_servers[0])
    make_runner(w)
    w.pool.start()
    w.effects.lines.clear()
    w.pool.stop()
    assert w.effects.scripts == [] and w.effects.lines == []


def test_file_check_weight_and_fault() -> None:
    w = world(load(vs_text(n=1, weight=10)).lvs.virtual_servers[0])
    slot = w.pool.add_checker(0, "file", alpha=False, retry=0)
    slot.status.has_run = True
    w.pool.start()
    w.pool.file_status(0, slot, 0, 5)
    assert w.dataplane.table["[192.0.2.1]:tcp:80"] == {"[198.51.100.1]:80": 15}
    w.pool.file_status(0, slot, 5, None)
    assert w.dataplane.table["[192.0.2.1]:tcp:80"] == {}
    w.pool.file_status(0, slot, None, -3)
    assert w.dataplane.table["[192.0.2.1]:tcp:80"] == {"[198.51.100.1]:80": 7}
