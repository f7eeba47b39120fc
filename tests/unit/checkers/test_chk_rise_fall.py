"""keepalived's retry / delay_before_retry / alpha logic, step by step in fake time."""

from __future__ import annotations

import pytest

from pykeepalived.checkers.base import CheckResult, Reason
from pykeepalived.checkers.events import EventKind
from pykeepalived.checkers.rise_fall import (
    CheckerStatus,
    HttpUrlState,
    Timing,
    http_failure,
    http_success,
    misc_epilog,
    tcp_epilog,
)
from pykeepalived.checkers.scheduler import Flavour

from .chk_helpers import FAIL, OK, load, make_runner, simulate, world

pytestmark = pytest.mark.unit

VS = """
virtual_server 192.0.2.1 80 {
    protocol TCP
    delay_loop 10
    real_server 198.51.100.1 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
"""


def one_rs_world():
    return world(load(VS).lvs.virtual_servers[0])


def test_tcp_first_failure_is_decisive_without_alpha() -> None:
    w = one_rs_world()
    runner = make_runner(w, retry=3)
    w.pool.start()
    assert w.dataplane.table["[192.0.2.1]:tcp:80"] == {"[198.51.100.1]:80": 1}
    trace = simulate(w, runner, [FAIL])
    assert trace.up == [False]
    assert w.dataplane.table["[192.0.2.1]:tcp:80"] == {}
    assert [e.kind for e in w.events.events()][:2] == [EventKind.QUORUM_UP, EventKind.CHECKER_DOWN]


def test_tcp_retry_timing_while_up() -> None:
    """Up: a failure is retried `retry` times at delay_before_retry, then down; the period then
    goes back to delay_loop, and while down keepalived alternates as its counter says."""
    w = one_rs_world()
    runner = make_runner(w, retry=2, delay_loop_s=10, dbr_s=1)
    w.pool.start()
    trace = simulate(w, runner, [OK, FAIL, FAIL, FAIL, FAIL, FAIL, FAIL, OK, OK])
    # t=0 ok -> +10; fail -> +1 (retry 1); fail -> +1 (retry 2); fail -> down, +10;
    # down: fail (+1), fail (+1), fail (+10); ok -> up (+10)
    assert trace.times == [0, 10, 11, 12, 22, 23, 24, 34, 44]
    assert trace.up == [True, True, True, False, False, False, False, True, True]
    assert w.dataplane.ops() == [
        ("add", "[198.51.100.1]:80", 1),
        ("remove", "[198.51.100.1]:80", None),
        ("add", "[198.51.100.1]:80", 1),
    ]


def test_tcp_a_success_during_retries_resets_the_count() -> None:
    w = one_rs_world()
    runner = make_runner(w, retry=1, delay_loop_s=5, dbr_s=2)
    w.pool.start()
    trace = simulate(w, runner, [OK, FAIL, OK, FAIL, FAIL])
    assert trace.times == [0, 5, 7, 12, 14]
    assert trace.up == [True, True, True, True, False]


def test_retry_zero_goes_down_on_first_failure() -> None:
    w = one_rs_world()
    runner = make_runner(w, retry=0, delay_loop_s=3, dbr_s=1)
    w.pool.start()
    trace = simulate(w, runner, [OK, FAIL, OK])
    assert trace.times == [0, 3, 6]
    assert trace.up == [True, False, True]


def test_alpha_starts_down_and_one_success_brings_it_up() -> None:
    w = one_rs_world()
    runner = make_runner(w, retry=1, alpha=True)
    w.pool.start()
    assert w.dataplane.table["[192.0.2.1]:tcp:80"] == {}
    assert w.pool.quorum_up is False
    trace = simulate(w, runner, [OK])
    assert trace.up == [True]
    assert w.dataplane.table["[192.0.2.1]:tcp:80"] == {"[198.51.100.1]:80": 1}
    assert w.pool.quorum_up is True
    assert w.effects.lines == [
        b"RS [198.51.100.1]:tcp:80 [192.0.2.1]:tcp:80 UP\n",
        b"VS [192.0.2.1]:tcp:80 UP\n",
    ]


def test_alpha_first_failure_sends_down_notifies_once() -> None:
    w = one_rs_world()
    runner = make_runner(w, retry=1, alpha=True, delay_loop_s=10, dbr_s=1)
    w.pool.start()
    trace = simulate(w, runner, [FAIL, FAIL, FAIL])
    assert trace.up == [False, False, False]
    # the first verdict reports the RS down (FIFO line), later failures say nothing
    assert w.effects.lines == [b"RS [198.51.100.1]:tcp:80 [192.0.2.1]:tcp:80 DOWN\n"]
    assert trace.times == [0, 10, 11]


def test_non_alpha_first_success_sends_nothing() -> None:
    w = one_rs_world()
    runner = make_runner(w)
    w.pool.start()
    w.effects.lines.clear()
    simulate(w, runner, [OK, OK])
    assert w.effects.lines == []


def test_pure_tcp_epilog_reports_only_transitions() -> None:
    reports: list[bool] = []
    st = CheckerStatus.initial(alpha=False, retry=1)
    timing = Timing(1, 10.0, 1.0)
    assert tcp_epilog(st, timing, True, reports.append).delay_s == 10.0
    assert reports == [True]  # the first verdict is always reported (has_run)
    st.is_up = True
    tcp_epilog(st, timing, True, reports.append)
    assert reports == [True]
    nxt = tcp_epilog(st, timing, False, reports.append)
    assert (nxt.delay_s, nxt.retrying, reports) == (1.0, True, [True])
    tcp_epilog(st, timing, False, reports.append)
    assert reports == [True, False]


def test_misc_times_from_the_start_of_the_script() -> None:
    w = one_rs_world()
    runner = make_runner(w, flavour=Flavour.MISC, retry=1, delay_loop_s=10, dbr_s=2)
    w.pool.start()
    trace = simulate(w, runner, [OK, FAIL, FAIL, OK], duration_s=3)
    # a run lasting 3 s: next = start + delay (but never before the end)
    assert trace.times == [0, 10, 13, 23]
    assert trace.up == [True, True, False, True]


def test_misc_dynamic_weight_applies_before_state() -> None:
    w = one_rs_world()
    runner = make_runner(w, flavour=Flavour.MISC, retry=0)
    w.pool.start()
    simulate(w, runner, [CheckResult.ok(weight=7), FAIL, CheckResult.ok(weight=0)])
    assert w.dataplane.ops() == [
        ("add", "[198.51.100.1]:80", 1),
        ("weight", "[198.51.100.1]:80", 7),
        ("remove", "[198.51.100.1]:80", None),
        ("add", "[198.51.100.1]:80", 0),
    ]


def test_pure_misc_epilog_retry_counts() -> None:
    reports: list[bool] = []
    st = CheckerStatus(is_up=True, has_run=True)
    timing = Timing(2, 10.0, 1.0)
    delays = [misc_epilog(st, timing, False, reports.append).delay_s for _ in range(3)]
    assert delays == [1.0, 1.0, 10.0]
    assert reports == [False]


def test_http_one_url_per_delay_loop_and_failed_url_retry() -> None:
    w = one_rs_world()
    runner = make_runner(w, flavour=Flavour.HTTP, n_urls=2, retry=1, delay_loop_s=10, dbr_s=3)
    w.pool.start()
    #        url0 url1 url0 url1 (fail) retry(fail) -> down; failed url1 again every max(3,10)
    results = [OK, OK, OK, FAIL, FAIL, FAIL, OK, OK, OK]
    trace = simulate(w, runner, results)
    assert trace.url == [0, 1, 0, 1, 1, 1, 1, 0, 1]
    assert trace.times == [0, 10, 20, 30, 33, 43, 53, 63, 73]
    assert trace.up == [True, True, True, True, False, False, False, False, True]


def test_http_fast_recovery_checks_urls_back_to_back_after_recovery() -> None:
    w = one_rs_world()
    runner = make_runner(
        w, flavour=Flavour.HTTP, n_urls=3, retry=0, delay_loop_s=10, dbr_s=1, fast_recovery=True
    )
    w.pool.start()
    trace = simulate(w, runner, [OK, OK, OK, FAIL, OK, OK, OK, OK])
    # not run yet: fast; failure -> down (retry 0); the failed URL is retried after
    # max(dbr, delay_loop); once it passes keepalived starts again from the first URL (so
    # URL 0 is fetched twice) and, with fast_recovery, runs them back to back
    assert trace.url == [0, 1, 2, 0, 0, 0, 1, 2]
    assert trace.times == [0, 0, 0, 10, 20, 20, 20, 20]
    assert trace.up == [True, True, True, False, False, False, False, True]


def test_pure_http_retry_counts_like_tcp() -> None:
    reports: list[bool] = []
    st = CheckerStatus(is_up=True, has_run=True)
    urls = HttpUrlState(1)
    timing = Timing(2, 10.0, 3.0)
    http_success(st, urls, timing, reports.append)
    delays = [http_failure(st, urls, timing, reports.append).delay_s for _ in range(3)]
    assert delays == [3.0, 3.0, 10.0]
    assert reports == [False]
    assert urls.failed_url == 0


def test_reason_is_carried_to_events() -> None:
    w = one_rs_world()
    runner = make_runner(w, retry=0)
    w.pool.start()
    simulate(w, runner, [CheckResult.fail(Reason.CONNECT_TIMEOUT, "timed out")])
    down = w.events.events(EventKind.CHECKER_DOWN)
    assert [(e.reason, e.detail) for e in down] == [("connect_timeout", "timed out")]
    assert w.events.events(EventKind.RS_DOWN)[0].rs == "[198.51.100.1]:tcp:80"
