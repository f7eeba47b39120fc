"""VRRP timer arithmetic, computed exactly as keepalived 2.2.7 does.

keepalived keeps its timers in integer microseconds (``TIMER_HZ`` = 1 000 000) and uses these
macros (``keepalived/include/vrrp.h``)::

    VRRP_TIMER_SKEW_CALC(v, p) = v3 ? (p * (master_adver_int / TIMER_CENTI_HZ) * 625) / 16
                                    : (p * TIMER_HZ) / 256
    VRRP_TIMER_SKEW(v)         = VRRP_TIMER_SKEW_CALC(v, 256 - effective_priority)
    VRRP_TIMER_SKEW_MIN(v)     = VRRP_TIMER_SKEW_CALC(v, 1)
    VRRP_MS_DOWN_TIMER(v)      = down_timer_adverts * master_adver_int + VRRP_TIMER_SKEW(v)

So for VRRPv2 the skew time is ``(256 - priority) / 256`` s whatever the advert interval (RFC
3768), and for VRRPv3 it is ``(256 - priority) * Master_Adver_Interval / 256`` (RFC 5798),
``625 / 16`` being ``10 000 µs per centisecond / 256``. The divisions truncate, as in C.

Example: advert_int 1 s, priority 100: skew 609 375 µs, Master_Down_Interval 3 609 375 µs, in
both versions.

All functions here are pure; durations are integer microseconds (``_us``) unless the name
says seconds (``_s``). Advert intervals are centiseconds (``_cs``), the VRRPv3 wire unit.
"""

from __future__ import annotations

import functools
from typing import Final

__all__ = [
    "CS_US",
    "DEFAULT_DOWN_TIMER_ADVERTS",
    "SECOND_US",
    "cs_to_us",
    "master_down_interval_s",
    "master_down_interval_us",
    "s_to_us",
    "skew_time_min_us",
    "skew_time_s",
    "skew_time_us",
    "us_to_s",
]

SECOND_US: Final = 1_000_000
"""Microseconds in a second (keepalived's ``TIMER_HZ``)."""
CS_US: Final = 10_000
"""Microseconds in a centisecond (keepalived's ``TIMER_CENTI_HZ``)."""
DEFAULT_DOWN_TIMER_ADVERTS: Final = 3
"""Adverts a backup misses before it declares the master down (``VRRP_DOWN_TIMER_ADVERTS``)."""

_MIN_PRIORITY: Final = 0
_MAX_PRIORITY: Final = 255


def _check(version: int, priority: int, master_adver_int_cs: int) -> None:
    if version not in (2, 3):
        raise ValueError(f"VRRP version must be 2 or 3, not {version}")
    if not _MIN_PRIORITY <= priority <= _MAX_PRIORITY:
        raise ValueError(f"priority must be in 0..255, not {priority}")
    if master_adver_int_cs < 0:
        raise ValueError(f"advert interval must not be negative, not {master_adver_int_cs} cs")


def _skew_calc_us(version: int, prio_val: int, master_adver_int_cs: int) -> int:
    if version == 3:
        return (prio_val * master_adver_int_cs * 625) // 16
    return (prio_val * SECOND_US) // 256


@functools.lru_cache(maxsize=1024)
def skew_time_us(version: int, priority: int, master_adver_int_cs: int) -> int:
    """Skew_Time in µs for a router of ``priority`` (keepalived's ``VRRP_TIMER_SKEW``).

    ``master_adver_int_cs`` only matters for VRRPv3 (it is the Master_Adver_Interval, the
    interval learnt from the current master, in centiseconds).
    """
    _check(version, priority, master_adver_int_cs)
    return _skew_calc_us(version, 256 - priority, master_adver_int_cs)


def skew_time_min_us(version: int, master_adver_int_cs: int) -> int:
    """The smallest skew (priority 255's), keepalived's ``VRRP_TIMER_SKEW_MIN``."""
    _check(version, 255, master_adver_int_cs)
    return _skew_calc_us(version, 1, master_adver_int_cs)


@functools.lru_cache(maxsize=1024)  # a backup computes it for every advert
def master_down_interval_us(
    version: int,
    priority: int,
    master_adver_int_cs: int,
    down_timer_adverts: int = DEFAULT_DOWN_TIMER_ADVERTS,
) -> int:
    """Master_Down_Interval in µs: ``down_timer_adverts * Master_Adver_Interval + Skew_Time``.

    keepalived's ``VRRP_MS_DOWN_TIMER``; ``down_timer_adverts`` is the instance keyword of the
    same name (1..100, default 3, forced to 3 in strict mode).
    """
    if down_timer_adverts < 1:
        raise ValueError(f"down_timer_adverts must be >= 1, not {down_timer_adverts}")
    return down_timer_adverts * cs_to_us(master_adver_int_cs) + skew_time_us(
        version, priority, master_adver_int_cs
    )


def skew_time_s(version: int, priority: int, master_adver_int_cs: int) -> float:
    """:func:`skew_time_us` in seconds."""
    return us_to_s(skew_time_us(version, priority, master_adver_int_cs))


def master_down_interval_s(
    version: int,
    priority: int,
    master_adver_int_cs: int,
    down_timer_adverts: int = DEFAULT_DOWN_TIMER_ADVERTS,
) -> float:
    """:func:`master_down_interval_us` in seconds."""
    return us_to_s(
        master_down_interval_us(version, priority, master_adver_int_cs, down_timer_adverts)
    )


def cs_to_us(duration_cs: int) -> int:
    """Centiseconds to microseconds."""
    return duration_cs * CS_US


def us_to_s(duration_us: int) -> float:
    """Microseconds to float seconds."""
    return duration_us / SECOND_US


def s_to_us(duration_s: float) -> int:
    """Float seconds to microseconds, rounded to the nearest microsecond."""
    return round(duration_s * SECOND_US)
