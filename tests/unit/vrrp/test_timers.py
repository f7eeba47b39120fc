"""Timer arithmetic (keepalived's VRRP_TIMER_SKEW / VRRP_MS_DOWN_TIMER) and the clocks."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pykeepalived.vrrp import timers
from pykeepalived.vrrp.clock import Clock, FakeClock, MonotonicClock

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("priority", "skew_us"),
    [(100, 609_375), (255, 3_906), (254, 7_812), (1, 996_093), (200, 218_750)],
)
@pytest.mark.parametrize("adver_int_cs", [100, 300, 25_500])
def test_v2_skew_is_independent_of_the_interval(
    priority: int, skew_us: int, adver_int_cs: int
) -> None:
    # RFC 3768: Skew_Time = (256 - Priority) / 256 seconds, truncated to whole microseconds.
    assert timers.skew_time_us(2, priority, adver_int_cs) == skew_us


@pytest.mark.parametrize(
    ("priority", "adver_int_cs", "skew_us"),
    [
        (100, 100, 609_375),  # same as v2 for a 1 s interval
        (200, 10, 21_875),  # 0.1 s, the worked example of the protocol notes
        (100, 200, 1_218_750),
        (255, 1, 39),  # 625 / 16 = 39.0625 -> truncated
        (1, 4095, 40_790_039),  # 255 * 4095 * 625 / 16 = 40790039.06...
    ],
)
def test_v3_skew_scales_with_the_master_interval(
    priority: int, adver_int_cs: int, skew_us: int
) -> None:
    assert timers.skew_time_us(3, priority, adver_int_cs) == skew_us


@pytest.mark.parametrize(
    ("version", "priority", "adver_int_cs", "adverts", "mdi_us"),
    [
        (2, 100, 100, 3, 3_609_375),
        (3, 100, 100, 3, 3_609_375),
        (3, 200, 10, 3, 321_875),
        (2, 150, 200, 3, 6_414_062),  # v2 skew ignores the 2 s interval
        (3, 150, 200, 3, 6_828_125),
        (2, 100, 100, 1, 1_609_375),
        (3, 100, 100, 10, 10_609_375),
    ],
)
def test_master_down_interval(
    version: int, priority: int, adver_int_cs: int, adverts: int, mdi_us: int
) -> None:
    assert timers.master_down_interval_us(version, priority, adver_int_cs, adverts) == mdi_us
    assert timers.master_down_interval_s(version, priority, adver_int_cs, adverts) == pytest.approx(
        mdi_us / 1e6, abs=1e-9
    )


def test_default_down_timer_adverts_is_three() -> None:
    assert timers.DEFAULT_DOWN_TIMER_ADVERTS == 3
    assert timers.master_down_interval_us(2, 100, 100) == 3_609_375


def test_skew_min_is_priority_255() -> None:
    assert timers.skew_time_min_us(2, 100) == timers.skew_time_us(2, 255, 100) == 3906
    assert timers.skew_time_min_us(3, 200) == timers.skew_time_us(3, 255, 200) == 7812


def test_seconds_helpers() -> None:
    assert timers.skew_time_s(2, 100, 100) == 0.609375
    assert timers.cs_to_us(150) == 1_500_000
    assert timers.us_to_s(2_500_000) == 2.5
    assert timers.s_to_us(0.0000014) == 1


@pytest.mark.parametrize(
    ("version", "priority", "adver_int_cs", "adverts"),
    [(1, 100, 100, 3), (4, 100, 100, 3), (2, 256, 100, 3), (2, -1, 100, 3), (3, 100, -5, 3)],
)
def test_bad_arguments_are_refused(
    version: int, priority: int, adver_int_cs: int, adverts: int
) -> None:
    with pytest.raises(ValueError, match=r"version|priority|interval"):
        timers.master_down_interval_us(version, priority, adver_int_cs, adverts)


def test_zero_down_timer_adverts_is_refused() -> None:
    with pytest.raises(ValueError, match="down_timer_adverts"):
        timers.master_down_interval_us(2, 100, 100, 0)


@given(
    version=st.sampled_from([2, 3]),
    priority=st.integers(0, 255),
    adver_int_cs=st.integers(1, 4095),
    adverts=st.integers(1, 100),
)
def test_formulas_match_the_rfc_in_exact_arithmetic(
    version: int, priority: int, adver_int_cs: int, adverts: int
) -> None:
    interval_s = Fraction(adver_int_cs, 100)
    exact_skew_s = Fraction(256 - priority, 256) * (interval_s if version == 3 else 1)
    skew_us = timers.skew_time_us(version, priority, adver_int_cs)
    # keepalived truncates to whole microseconds
    assert skew_us == int(exact_skew_s * 1_000_000)
    mdi_us = timers.master_down_interval_us(version, priority, adver_int_cs, adverts)
    assert mdi_us == adverts * adver_int_cs * 10_000 + skew_us


@given(
    version=st.sampled_from([2, 3]),
    low=st.integers(1, 254),
    adver_int_cs=st.integers(1, 4095),
)
def test_a_higher_priority_never_waits_longer(version: int, low: int, adver_int_cs: int) -> None:
    # The backup with the highest priority must be the first to time out.
    assert timers.master_down_interval_us(
        version, low + 1, adver_int_cs
    ) <= timers.master_down_interval_us(version, low, adver_int_cs)


# ---- clocks --------------------------------------------------------------------------------


def test_fake_clock_moves_only_when_told() -> None:
    clock = FakeClock(10.0)
    assert clock.now() == 10.0
    assert clock.advance(0.5) == 10.5
    assert clock.now() == 10.5
    assert clock.set(12.25) == 12.25
    assert clock.now() == 12.25


def test_fake_clock_refuses_to_go_back() -> None:
    clock = FakeClock(5.0)
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance(-1.0)
    with pytest.raises(ValueError, match="cannot go back"):
        clock.set(4.0)
    assert clock.now() == 5.0


def test_monotonic_clock_does_not_go_back() -> None:
    clock = MonotonicClock()
    first = clock.now()
    second = clock.now()
    assert second >= first


def test_both_clocks_satisfy_the_protocol() -> None:
    assert isinstance(FakeClock(), Clock)
    assert isinstance(MonotonicClock(), Clock)
