"""Internet checksums used by VRRP (RFC 1071 / RFC 1624) and the IP pseudo-headers.

Pure functions, no I/O. Addresses are :mod:`ipaddress` objects.

Which checksum applies to which advert (keepalived ``vrrp.c``, ``vrrp_build_vrrp_v2/v3``):

* VRRPv2 over IPv4: plain Internet checksum over the VRRP message (header, addresses, 8 auth bytes).
* VRRPv3 over IPv4: checksum over an IPv4 pseudo-header {src, dst, 0, 112, length} + the message,
  unless ``v3_checksum_as_v2`` (then the plain v2 algorithm, the RFC 9568 reading).
* IPv6 (v3, and keepalived's non-strict v2 extension): the kernel computes an IPv6
  pseudo-header checksum (``IPV6_CHECKSUM`` offset 6) on send and verifies it on receive.
"""

from __future__ import annotations

import struct
from enum import IntEnum
from ipaddress import IPv4Address, IPv6Address

__all__ = [
    "CHECKSUM_OFFSET",
    "IpProto",
    "incremental_update16",
    "incremental_update32",
    "internet_checksum",
    "ipv4_pseudo_header",
    "ipv6_pseudo_header",
    "ones_complement_sum",
    "vrrp_checksum",
    "vrrp_checksum_ok",
]

CHECKSUM_OFFSET = 6
"""Byte offset of the checksum field inside the VRRP header (also the IPV6_CHECKSUM offset)."""


class IpProto(IntEnum):
    """IP protocol numbers (IPv4 ``protocol`` / IPv6 ``next header``) that VRRP uses."""

    AH = 51
    VRRP = 112


def ones_complement_sum(data: bytes, initial: int = 0) -> int:
    """Return the folded 16-bit one's complement sum of ``data`` (big-endian words).

    An odd trailing byte is padded with a zero byte, as RFC 1071 says. ``initial`` is a
    previous partial sum (for example of a pseudo-header) to continue from.

    Computed in one step on the whole buffer read as a big-endian integer: 2**16 is 1 modulo
    0xffff, so the sum of the 16-bit words is congruent to that integer modulo 0xffff (the
    end-around carry of RFC 1071 is exactly a reduction modulo 0xffff). The only difference is
    that one's complement arithmetic yields 0xffff, never 0, for a non-zero sum.
    """
    if len(data) % 2:
        data = bytes(data) + b"\x00"
    value = int.from_bytes(data, "big") + initial
    if value == 0:
        return 0
    total = value % 0xFFFF
    return total if total else 0xFFFF


def internet_checksum(data: bytes, initial: int = 0) -> int:
    """Return the Internet checksum (one's complement of the one's complement sum) of ``data``.

    Computed over data whose checksum field holds the right value, the result is 0.
    """
    return ~ones_complement_sum(data, initial) & 0xFFFF


def ipv4_pseudo_header(src: IPv4Address, dst: IPv4Address, proto: int, length: int) -> bytes:
    """Return the 12-byte IPv4 pseudo-header {src, dst, zero, protocol, upper-layer length}."""
    return src.packed + dst.packed + struct.pack("!BBH", 0, proto, length)


def ipv6_pseudo_header(src: IPv6Address, dst: IPv6Address, next_header: int, length: int) -> bytes:
    """Return the 40-byte IPv6 pseudo-header of RFC 8200 §8.1."""
    return src.packed + dst.packed + struct.pack("!I3xB", length, next_header)


_PSEUDO_SUM_CACHE_MAX = 256
_pseudo_sums: dict[tuple[int, int, int, int], int] = {}


def _pseudo_sum(
    length: int, src: IPv4Address | IPv6Address | None, dst: IPv4Address | IPv6Address | None
) -> int:
    if src is None and dst is None:
        return 0
    if isinstance(src, IPv4Address) and isinstance(dst, IPv4Address):
        version = 4
    elif isinstance(src, IPv6Address) and isinstance(dst, IPv6Address):
        version = 6
    else:
        raise ValueError("src and dst must both be given and be of the same family")
    # memoized: a receiver sees the same few (master, group, length) triples over and over
    key = (version, int(src), int(dst), length)
    total = _pseudo_sums.get(key)
    if total is None:
        if isinstance(src, IPv4Address) and isinstance(dst, IPv4Address):
            header = ipv4_pseudo_header(src, dst, IpProto.VRRP, length)
        else:
            assert isinstance(src, IPv6Address) and isinstance(dst, IPv6Address)
            header = ipv6_pseudo_header(src, dst, IpProto.VRRP, length)
        total = ones_complement_sum(header)
        if len(_pseudo_sums) >= _PSEUDO_SUM_CACHE_MAX:
            _pseudo_sums.clear()
        _pseudo_sums[key] = total
    return total


def vrrp_checksum(
    message: bytes,
    src: IPv4Address | IPv6Address | None = None,
    dst: IPv4Address | IPv6Address | None = None,
) -> int:
    """Return the checksum to put into a VRRP message.

    ``message`` is the whole VRRP message; its checksum field (bytes 6-7) is treated as zero.
    With ``src`` and ``dst`` the pseudo-header of their family (protocol 112) is included
    (VRRPv3, and anything over IPv6); without them the plain v2 algorithm is used.
    """
    zeroed = message[:CHECKSUM_OFFSET] + b"\x00\x00" + message[CHECKSUM_OFFSET + 2 :]
    return internet_checksum(zeroed, _pseudo_sum(len(message), src, dst))


def vrrp_checksum_ok(
    message: bytes,
    src: IPv4Address | IPv6Address | None = None,
    dst: IPv4Address | IPv6Address | None = None,
) -> bool:
    """True if ``message`` (checksum field included) sums to zero, as a receiver checks it.

    Same ``src``/``dst`` convention as :func:`vrrp_checksum`. Like keepalived's ``in_csum()``
    check, a field of 0xffff is accepted where 0x0000 was computed (both are one's-complement 0).
    """
    return internet_checksum(message, _pseudo_sum(len(message), src, dst)) == 0


def incremental_update16(checksum: int, old_word: int, new_word: int) -> int:
    """Return ``checksum`` updated for one 16-bit word changing (RFC 1624 eqn. 3).

    ``HC' = ~(~HC + ~m + m')``: how keepalived patches the priority (and addresses) of an
    already-built advert without recomputing the whole sum.
    """
    total = (~checksum & 0xFFFF) + (~old_word & 0xFFFF) + (new_word & 0xFFFF)
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def incremental_update32(checksum: int, old_value: int, new_value: int) -> int:
    """Return ``checksum`` updated for one 32-bit value (e.g. an IPv4 address) changing."""
    checksum = incremental_update16(checksum, old_value >> 16, new_value >> 16)
    return incremental_update16(checksum, old_value & 0xFFFF, new_value & 0xFFFF)
