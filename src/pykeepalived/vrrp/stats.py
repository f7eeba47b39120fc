"""Why a received VRRP packet was refused, and the per-instance counters keepalived keeps.

The counter names are keepalived's (``vrrp_stats`` in ``keepalived/include/vrrp.h``, shown by
``keepalived --json``/SIGUSR2 and SNMP, after RFC 2787/6527): ``advert_rcvd``, ``packet_len_err``,
``ip_ttl_err``, ... plus the RFC 2787 global ones ``chk_err``, ``vers_err``, ``vrid_err``.

A :class:`DropReason` names one check of keepalived's ``vrrp_check_packet()``. Several reasons
share a counter, as they do in keepalived (for example a wrong IPv4 ``tot_len`` and a wrong
message length both count as ``packet_len_err``); :attr:`DropReason.counter` gives it, or None for
the few refusals keepalived logs without counting.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum, IntEnum

__all__ = ["Disposition", "DropReason", "VrrpStats"]


class Disposition(Enum):
    """What keepalived does with a refused packet (``VRRP_PACKET_KO`` / ``VRRP_PACKET_DROP``)."""

    INVALID = "ko"
    """A bogus packet: logged as invalid and ignored (``VRRP_PACKET_KO``)."""
    IGNORED = "drop"
    """Not for us / not relevant: ignored quietly (``VRRP_PACKET_DROP``)."""


class DropReason(IntEnum):
    """A reason to refuse a received advert. Values are stable (usable in logs and metrics)."""

    PACKET_LEN_ERR = 1
    """Truncated header, or length != header + 4/16 x naddr (+ 8 auth bytes for v2 IPv4)."""
    IP_TOT_LEN_ERR = 2
    """IPv4 ``tot_len`` differs from the number of bytes received."""
    IP_HDR_ERR = 3
    """Not a usable IPv4 header (version != 4, IHL < 5, protocol not 112/51)."""
    IP_TTL_ERR = 4
    """Multicast advert with TTL/hop limit != 255, or unicast TTL outside [min_ttl, max_ttl]."""
    VERS_ERR = 5
    """VRRP version is not 2 or 3 (decode), or not the instance's version (validate)."""
    INVALID_TYPE_RCVD = 6
    """VRRP type is not 1 (ADVERTISEMENT)."""
    INVALID_AUTHTYPE = 7
    """v2 auth type not in {NONE, PASS, AH}."""
    AUTHTYPE_MISMATCH = 8
    """v2 auth type differs from the configured one."""
    AH_PRESENCE_MISMATCH = 9
    """IPv4 AH header present but auth type is not AH, or absent while it is."""
    AUTH_FAILURE = 10
    """Wrong PASS password, or AH ICV/SPI/sequence check failed."""
    AH_NOT_VRRP = 11
    """AH header whose next header is not VRRP (keepalived ignores it quietly)."""
    ADVERT_INTERVAL_ERR = 12
    """v2 advert interval differs from ours (ignored quietly to avoid two masters)."""
    CHK_ERR = 13
    """Bad VRRP checksum."""
    VRID_ERR = 14
    """VRID differs from the instance's (keepalived's socket lookup finds no instance)."""
    ADDR_COUNT_ERR = 15
    """naddr differs from the configured VIP count."""
    ADDR_LIST_ERR = 16
    """A configured VIP is missing from the advert."""
    DEST_TYPE_ERR = 17
    """Multicast destination on a unicast instance, or unicast destination on a multicast one."""
    UNICAST_SRC_ERR = 18
    """``check_unicast_src``: the source is not a configured unicast peer."""
    UNICAST_TTL_ERR = 19
    """Unicast advert whose TTL/hop limit is outside the peer's [min_ttl, max_ttl]."""

    @property
    def counter(self) -> str | None:
        """Name of the :class:`VrrpStats` counter keepalived increments, or None."""
        return _COUNTERS[self]

    @property
    def disposition(self) -> Disposition:
        """Whether keepalived treats the packet as invalid or just ignores it."""
        if self in (
            DropReason.AH_NOT_VRRP,
            DropReason.ADVERT_INTERVAL_ERR,
            DropReason.VRID_ERR,
        ):
            return Disposition.IGNORED
        return Disposition.INVALID

    @property
    def counts_as_received(self) -> bool:
        """True for the checks keepalived runs after it has incremented ``advert_rcvd``."""
        return self in _AFTER_ADVERT_RCVD


_AFTER_ADVERT_RCVD = frozenset(
    {DropReason.ADDR_LIST_ERR, DropReason.UNICAST_SRC_ERR, DropReason.UNICAST_TTL_ERR}
)

_COUNTERS: dict[DropReason, str | None] = {
    DropReason.PACKET_LEN_ERR: "packet_len_err",
    DropReason.IP_TOT_LEN_ERR: "packet_len_err",
    DropReason.IP_HDR_ERR: None,
    DropReason.IP_TTL_ERR: "ip_ttl_err",
    DropReason.VERS_ERR: "vers_err",
    DropReason.INVALID_TYPE_RCVD: "invalid_type_rcvd",
    DropReason.INVALID_AUTHTYPE: "invalid_authtype",
    DropReason.AUTHTYPE_MISMATCH: "authtype_mismatch",
    DropReason.AH_PRESENCE_MISMATCH: "authtype_mismatch",
    DropReason.AUTH_FAILURE: "auth_failure",
    DropReason.AH_NOT_VRRP: None,
    # keepalived 2.2.7 declares advert_interval_err but never increments it; RFC 2787's
    # vrrpStatsAdvertiseIntervalErrors is meant to count exactly these packets, so we do.
    DropReason.ADVERT_INTERVAL_ERR: "advert_interval_err",
    DropReason.CHK_ERR: "chk_err",
    DropReason.VRID_ERR: "vrid_err",
    DropReason.ADDR_COUNT_ERR: "addr_list_err",
    DropReason.ADDR_LIST_ERR: "addr_list_err",
    DropReason.DEST_TYPE_ERR: "addr_list_err",
    DropReason.UNICAST_SRC_ERR: None,
    DropReason.UNICAST_TTL_ERR: "ip_ttl_err",
}


@dataclass(slots=True)
class VrrpStats:
    """Per-instance VRRP counters, named as keepalived names them.

    Mutable on purpose: the instance owning it increments the counters. They survive a
    reload (keepalived's ``restore_vrrp_state()``): keep the object, do not recreate it.
    """

    advert_rcvd: int = 0
    advert_sent: int = 0
    become_master: int = 0
    release_master: int = 0
    packet_len_err: int = 0
    advert_interval_err: int = 0
    ip_ttl_err: int = 0
    invalid_type_rcvd: int = 0
    addr_list_err: int = 0
    invalid_authtype: int = 0
    authtype_mismatch: int = 0
    auth_failure: int = 0
    pri_zero_rcvd: int = 0
    pri_zero_sent: int = 0
    chk_err: int = 0
    vers_err: int = 0
    vrid_err: int = 0

    def count_drop(self, reason: DropReason) -> None:
        """Increment the counter that ``reason`` maps to (nothing if it has none)."""
        name = reason.counter
        if name is not None:
            setattr(self, name, getattr(self, name) + 1)

    def record_received(self, reason: DropReason | None, priority: int) -> None:
        """Count one advert that passed decoding, as keepalived's ``vrrp_check_packet()`` does.

        ``reason`` is what :func:`~pykeepalived.vrrp.packet.validate` returned. An accepted
        advert counts in ``advert_rcvd`` (and ``pri_zero_rcvd`` at priority 0); so does one
        refused by a check keepalived runs after counting it. A refusal also counts in its own
        counter.
        """
        if reason is None or reason.counts_as_received:
            self.advert_rcvd += 1
        if reason is None:
            if priority == 0:
                self.pri_zero_rcvd += 1
        else:
            self.count_drop(reason)

    def as_dict(self) -> dict[str, int]:
        """Return the counters as a plain dict, in keepalived's order."""
        return dataclasses.asdict(self)
