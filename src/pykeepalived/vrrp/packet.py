"""VRRP advertisement codec: VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798/9568), IPv4 and IPv6.

Pure code: bytes in, values out. No sockets, no clock.

* :func:`encode_vrrp` / :func:`decode_vrrp`: the VRRP message alone.
* :func:`encode_ipv4`: the whole IPv4 packet keepalived writes on its ``IP_HDRINCL`` socket
  (TOS 0xc0, TTL 255, DF clear, caller-supplied identification, optional AH header).
* :func:`decode_ipv4`: a packet as read from an IPv4 raw socket (IP header included).
* :func:`decode_ipv6`: an IPv6 raw socket gives only the payload; the hop limit
  (``IPV6_RECVHOPLIMIT``) and the destination (``IPV6_RECVPKTINFO``) come as ancillary data and the
  source from ``recvmsg``'s address, so they are arguments.
* :func:`validate`: keepalived's per-instance receive checks (``vrrp_check_packet()``), against an
  :class:`InstanceExpectations` built from the configuration.

Decoding raises only :class:`PacketError`, whose :attr:`~PacketError.reason` is a
:class:`~pykeepalived.vrrp.stats.DropReason`. Decoding does the checks that need no instance
(lengths, version 2/3, type 1, v2 auth type 0-2, IPv4 ``tot_len``); :func:`validate` does the rest,
in keepalived's order.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass, field
from enum import IntEnum
from ipaddress import IPv4Address, IPv6Address
from typing import TypeVar

from pykeepalived.vrrp.auth import (
    AH_HEADER_LEN,
    AUTH_DATA_LEN,
    AhHeader,
    AuthType,
    ah_icv,
    check_password,
)
from pykeepalived.vrrp.checksum import (
    IpProto,
    internet_checksum,
    vrrp_checksum,
    vrrp_checksum_ok,
)
from pykeepalived.vrrp.stats import DropReason

__all__ = [
    "IPTOS_PREC_INTERNETCONTROL",
    "IPV4_HEADER_LEN",
    "VRRP_HEADER_LEN",
    "VRRP_MCAST_GROUP4",
    "VRRP_MCAST_GROUP6",
    "VRRP_TTL",
    "Advertisement",
    "AuthType",
    "ChecksumCompat",
    "DropReason",
    "Family",
    "IPAddress",
    "InstanceExpectations",
    "IpProto",
    "PacketError",
    "ReceivedAdvert",
    "UnicastPeer",
    "VrrpType",
    "VrrpVersion",
    "decode_ipv4",
    "decode_ipv6",
    "decode_vrrp",
    "encode_ipv4",
    "encode_vrrp",
    "expected_message_len",
    "needs_old_unicast_checksum",
    "validate",
]

logger = logging.getLogger(__name__)

IPAddress = IPv4Address | IPv6Address
"""An IPv4 or IPv6 address (the :mod:`ipaddress` types)."""

VRRP_HEADER_LEN = 8
"""Fixed VRRP header: vers_type, vrid, priority, naddr, auth_type+adver_int|adver_int, chksum."""
IPV4_HEADER_LEN = 20
"""IPv4 header without options, as keepalived builds it."""
VRRP_TTL = 255
"""TTL / hop limit of multicast adverts, and what a receiver requires (``VRRP_IP_TTL``)."""
IPTOS_PREC_INTERNETCONTROL = 0xC0
"""TOS / traffic class keepalived sends with."""
VRRP_MCAST_GROUP4 = IPv4Address("224.0.0.18")
"""Default IPv4 group (``INADDR_VRRP_GROUP``)."""
VRRP_MCAST_GROUP6 = IPv6Address("ff02::12")
"""Default IPv6 group (``INADDR6_VRRP_GROUP``)."""
V3_ADVER_INT_MASK = 0x0FFF
"""v3 ``Max Adver Int``: low 12 bits, centiseconds; the top 4 bits are reserved."""
V2_MAX_ADVER_INT_S = 255
MAX_ADDRESSES = 255

_T = TypeVar("_T")
_HDR = struct.Struct("!BBBBH H")  # vers_type, vrid, priority, naddr, v2 auth+int | v3 int, chksum
_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_U16 = struct.Struct("!H")


class Family(IntEnum):
    """Address family of an advert (the IP version)."""

    IPV4 = 4
    IPV6 = 6

    @property
    def address_len(self) -> int:
        """Bytes per address in the advert's address list."""
        return 4 if self is Family.IPV4 else 16


class VrrpVersion(IntEnum):
    """VRRP protocol version (high nibble of the first byte)."""

    V2 = 2
    V3 = 3


class VrrpType(IntEnum):
    """VRRP packet type (low nibble of the first byte). Advertisement is the only one."""

    ADVERTISEMENT = 1


class ChecksumCompat(IntEnum):
    """keepalived's ``unicast_chksum_compat`` (``old_unicast_checksum``), for unicast VRRPv3/IPv4.

    keepalived up to 1.3.6 put the multicast group, not the unicast peer, into the pseudo-header.
    Values and order follow ``chksum_compatibility`` in keepalived's ``vrrp.h``.
    """

    NONE = 0
    """Default: send correct checksums; on receive accept old ones and switch to AUTO."""
    NEVER = 1
    """``old_unicast_checksum never``: never accept or switch to the old algorithm."""
    CONFIG = 3
    """``old_unicast_checksum``: always use the old algorithm."""
    AUTO = 4
    """Switched to the old algorithm after receiving an old-style checksum."""

    @property
    def uses_group_in_pseudo_header(self) -> bool:
        """True when the pseudo-header destination is the multicast group (old algorithm)."""
        return self in (ChecksumCompat.CONFIG, ChecksumCompat.AUTO)


class PacketError(Exception):
    """A received packet that cannot be an acceptable advert. ``reason`` says why."""

    def __init__(self, reason: DropReason, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason.name.lower()}: {detail}" if detail else reason.name.lower())


@dataclass(frozen=True, slots=True)
class Advertisement:
    """One VRRP advertisement message (the part after the IP and AH headers).

    The advert interval is held in one unit: ``adver_int_cs`` (centiseconds). On the wire
    VRRPv2 carries whole seconds (u8) and VRRPv3 centiseconds (12 bits); see
    :attr:`adver_int_raw`.
    """

    version: VrrpVersion
    vrid: int
    """Virtual router id, 0..255 (configurable 1..255)."""
    priority: int
    """0 (master resigns) .. 255 (address owner)."""
    adver_int_cs: int
    """Advert interval in centiseconds. v2: a multiple of 100 up to 25500; v3: 0..4095."""
    addresses: tuple[IPAddress, ...] = ()
    """The virtual addresses, in packet order (all of :attr:`family`)."""
    family: Family = Family.IPV4
    auth_type: AuthType = AuthType.NONE
    """v2 authentication type; always NONE for v3."""
    auth_data: bytes = field(default=b"", repr=False)
    """v2/IPv4 only: the 8 authentication bytes (PASS: the password; otherwise zeros)."""
    checksum: int = field(default=0, compare=False)
    """The checksum as received (decode only); encoding computes its own."""
    type: VrrpType = VrrpType.ADVERTISEMENT

    def __post_init__(self) -> None:
        if not 0 <= self.vrid <= 255:
            raise ValueError(f"vrid {self.vrid} out of range 0..255")
        if not 0 <= self.priority <= 255:
            raise ValueError(f"priority {self.priority} out of range 0..255")
        if len(self.addresses) > MAX_ADDRESSES:
            raise ValueError(f"at most {MAX_ADDRESSES} addresses fit in an advert")
        want = IPv4Address if self.family is Family.IPV4 else IPv6Address
        if not all(isinstance(a, want) for a in self.addresses):
            raise ValueError(f"all addresses must be {want.__name__}")
        if self.version is VrrpVersion.V2:
            if self.adver_int_cs % 100 or not 0 <= self.adver_int_cs <= V2_MAX_ADVER_INT_S * 100:
                raise ValueError(f"v2 advert interval {self.adver_int_cs} cs is not 0..255 s")
        else:
            if not 0 <= self.adver_int_cs <= V3_ADVER_INT_MASK:
                raise ValueError(f"v3 advert interval {self.adver_int_cs} cs is not 0..4095")
            if self.auth_type is not AuthType.NONE:
                raise ValueError("VRRPv3 has no authentication")
        if self.has_auth_field:
            if self.auth_data == b"":
                object.__setattr__(self, "auth_data", bytes(AUTH_DATA_LEN))
            elif len(self.auth_data) != AUTH_DATA_LEN:
                raise ValueError(f"auth_data must be {AUTH_DATA_LEN} bytes")
        elif self.auth_data:
            raise ValueError("only VRRPv2 over IPv4 carries authentication data")

    @property
    def has_auth_field(self) -> bool:
        """True for VRRPv2 over IPv4, whose message ends with 8 authentication bytes."""
        return self.version is VrrpVersion.V2 and self.family is Family.IPV4

    @property
    def naddr(self) -> int:
        """Number of addresses (the ``Count IPvX Addr`` field)."""
        return len(self.addresses)

    @property
    def adver_int_raw(self) -> int:
        """The interval as the wire carries it: seconds for v2, centiseconds for v3."""
        if self.version is VrrpVersion.V2:
            return self.adver_int_cs // 100
        return self.adver_int_cs

    @property
    def message_len(self) -> int:
        """Length of the encoded VRRP message in bytes."""
        return expected_message_len(self.version, self.family, self.naddr)


def expected_message_len(version: int, family: Family, naddr: int) -> int:
    """Length of a VRRP message: 8 + naddr x 4/16, + 8 auth bytes for VRRPv2 over IPv4.

    Any version other than 2 is laid out as v3, as keepalived's ``expected_vrrp_pkt_len()`` does.
    """
    length = VRRP_HEADER_LEN + naddr * family.address_len
    if version == VrrpVersion.V2 and family is Family.IPV4:
        length += AUTH_DATA_LEN
    return length


# --------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------


def _pack_message(advert: Advertisement, checksum: int) -> bytes:
    if advert.version is VrrpVersion.V2:
        int_field = (advert.auth_type << 8) | advert.adver_int_raw
    else:
        int_field = advert.adver_int_cs & V3_ADVER_INT_MASK
    header = _HDR.pack(
        (advert.version << 4) | advert.type,
        advert.vrid,
        advert.priority,
        advert.naddr,
        int_field,
        checksum,
    )
    return header + b"".join(a.packed for a in advert.addresses) + advert.auth_data


def encode_vrrp(
    advert: Advertisement,
    *,
    src: IPAddress | None = None,
    dst: IPAddress | None = None,
    v3_checksum_as_v2: bool = False,
) -> bytes:
    """Return the VRRP message bytes of ``advert`` with its checksum filled in.

    * VRRPv2 over IPv4, or VRRPv3 with ``v3_checksum_as_v2``: plain checksum, ``src``/``dst``
      unused.
    * VRRPv3 over IPv4: pseudo-header checksum; ``src`` and ``dst`` are required (``dst`` is the
      pseudo-header destination: pass the multicast group for keepalived's old unicast checksum).
    * IPv6 (any version): pseudo-header checksum if ``src`` and ``dst`` are given, else 0, to be
      filled by the kernel (``IPV6_CHECKSUM``), which is what keepalived does.
    """
    message = _pack_message(advert, 0)
    if advert.family is Family.IPV6:
        if src is None or dst is None:
            return message
        if not isinstance(src, IPv6Address) or not isinstance(dst, IPv6Address):
            raise ValueError("an IPv6 advert needs IPv6 src/dst")
        checksum = vrrp_checksum(message, src, dst)
    elif advert.version is VrrpVersion.V2 or v3_checksum_as_v2:
        checksum = vrrp_checksum(message)
    else:
        if not isinstance(src, IPv4Address) or not isinstance(dst, IPv4Address):
            raise ValueError("a VRRPv3/IPv4 checksum needs IPv4 src and dst")
        checksum = vrrp_checksum(message, src, dst)
    return message[:6] + checksum.to_bytes(2, "big") + message[8:]


def _ipv4_header(
    *,
    total_len: int,
    ip_id: int,
    ttl: int,
    tos: int,
    proto: int,
    src: IPv4Address,
    dst: IPv4Address,
) -> bytearray:
    hdr = bytearray(
        _IPV4.pack(0x45, tos, total_len, ip_id, 0, ttl, proto, 0, src.packed, dst.packed)
    )
    hdr[10:12] = internet_checksum(bytes(hdr)).to_bytes(2, "big")
    return hdr


_Ipv4Template = tuple[bytes, bytes, bytes, int]
"""An encoded IPv4 advert cut around its identification and header checksum fields:
(bytes 0-3, bytes 6-9, bytes 12-end, header checksum with identification 0)."""
_ipv4_templates: dict[tuple[object, ...], _Ipv4Template] = {}


def _ipv4_template(
    advert: Advertisement,
    *,
    src: IPv4Address,
    dst: IPv4Address,
    ttl: int,
    tos: int,
    v3_checksum_as_v2: bool,
    pseudo_header_dst: IPv4Address | None,
) -> _Ipv4Template:
    message = encode_vrrp(
        advert, src=src, dst=pseudo_header_dst or dst, v3_checksum_as_v2=v3_checksum_as_v2
    )
    hdr = _ipv4_header(
        total_len=IPV4_HEADER_LEN + len(message),
        ip_id=0,
        ttl=ttl,
        tos=tos,
        proto=IpProto.VRRP,
        src=src,
        dst=dst,
    )
    packet = bytes(hdr) + message
    return packet[:4], packet[6:10], packet[12:], _U16.unpack_from(packet, 10)[0]


def encode_ipv4(
    advert: Advertisement,
    *,
    src: IPv4Address,
    dst: IPv4Address,
    ip_id: int,
    ttl: int = VRRP_TTL,
    tos: int = IPTOS_PREC_INTERNETCONTROL,
    v3_checksum_as_v2: bool = False,
    pseudo_header_dst: IPv4Address | None = None,
    ah_key: bytes | None = None,
    ah_seq: int = 0,
    unicast: bool = False,
) -> bytes:
    """Return the full IPv4 packet keepalived sends for ``advert`` (``vrrp_build_pkt()``).

    The header is IHL 5, ``tos`` (0xc0), ``ip_id`` (keepalived: a per-instance counter that skips
    0, since the kernel would fill in 0), no fragment flags (DF clear), ``ttl`` (255, or
    ``unicast_ttl``), protocol 112 or 51. The header checksum is filled in (the kernel
    recomputes it anyway on an ``IP_HDRINCL`` socket).

    ``pseudo_header_dst`` overrides ``dst`` in the VRRPv3 pseudo-header (the multicast group for
    ``old_unicast_checksum``). For ``auth_type AH``, ``ah_key`` (the 8-byte ``auth_data``) and
    ``ah_seq`` are required; ``unicast`` zeroes the TTL in the ICV input, as keepalived does when
    the instance has unicast peers.
    """
    if advert.family is not Family.IPV4:
        raise ValueError("encode_ipv4 needs an IPv4 advert")
    use_ah = advert.version is VrrpVersion.V2 and advert.auth_type is AuthType.AH
    if not use_ah:
        # A master sends the same advert every interval: only the identification (and so the
        # header checksum) changes. Keep the rest and patch those two fields.
        key = (advert, src, dst, ttl, tos, v3_checksum_as_v2, pseudo_header_dst)
        template = _ipv4_templates.get(key)
        if template is None:
            template = _ipv4_template(
                advert,
                src=src,
                dst=dst,
                ttl=ttl,
                tos=tos,
                v3_checksum_as_v2=v3_checksum_as_v2,
                pseudo_header_dst=pseudo_header_dst,
            )
            if len(_ipv4_templates) >= _CACHE_MAX_ENTRIES:
                _ipv4_templates.clear()
            _ipv4_templates[key] = template
        head, middle, tail, checksum0 = template
        # RFC 1624: the header checksum for identification 0 is checksum0; add ip_id to it.
        total = (~checksum0 & 0xFFFF) + ip_id
        total = (total & 0xFFFF) + (total >> 16)
        return b"".join((head, _U16.pack(ip_id), middle, _U16.pack(~total & 0xFFFF), tail))
    message = encode_vrrp(
        advert,
        src=src,
        dst=pseudo_header_dst or dst,
        v3_checksum_as_v2=v3_checksum_as_v2,
    )
    if ah_key is None:
        raise ValueError("auth_type AH needs ah_key")
    hdr = _ipv4_header(
        total_len=IPV4_HEADER_LEN + AH_HEADER_LEN + len(message),
        ip_id=ip_id,
        ttl=ttl,
        tos=tos,
        proto=IpProto.AH,
        src=src,
        dst=dst,
    )
    ah = AhHeader(spi=int(src), seq_number=ah_seq)
    icv = ah_icv(bytes(hdr), ah, message, ah_key, zero_ttl=unicast)
    return bytes(hdr) + AhHeader(spi=ah.spi, seq_number=ah_seq, icv=icv).encode() + message


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------


_CACHE_MAX_ENTRIES = 1024
"""Bound of each decode/encode memo below (cleared when full, so a flood of distinct packets
costs at most one full decode each, as without the memo)."""
_decoded_v4: dict[bytes, Advertisement] = {}
_decoded_v6: dict[bytes, Advertisement] = {}
_addresses_v4: dict[bytes, IPv4Address] = {}


def _remember(cache: dict[bytes, _T], key: bytes, value: _T) -> _T:
    if len(cache) >= _CACHE_MAX_ENTRIES:
        cache.clear()
    cache[key] = value
    return value


def _ipv4_address(packed: bytes) -> IPv4Address:
    """``IPv4Address(packed)``, memoized: a segment carries few distinct addresses."""
    address = _addresses_v4.get(packed)
    if address is None:
        address = _remember(_addresses_v4, packed, IPv4Address(packed))
    return address


def decode_vrrp(message: bytes, family: Family) -> Advertisement:
    """Decode a VRRP message that is exactly ``message`` (no IP header, no trailing bytes).

    Raises :class:`PacketError` with ``PACKET_LEN_ERR`` (too short, or length not matching
    ``naddr``), ``VERS_ERR`` (version not 2/3), ``INVALID_AUTHTYPE`` (v2 auth type not 0-2) or
    ``INVALID_TYPE_RCVD`` (type not 1), in that order (keepalived's).

    A master repeats the same message every interval, so successful decodes are memoized by the
    message bytes (the result is immutable and shared).
    """
    key = bytes(message)
    cache = _decoded_v4 if family is Family.IPV4 else _decoded_v6
    advert = cache.get(key)
    if advert is None:
        advert = _remember(cache, key, _decode_vrrp(key, family))
    return advert


def _decode_vrrp(message: bytes, family: Family) -> Advertisement:
    """:func:`decode_vrrp` without the memo."""
    if len(message) < VRRP_HEADER_LEN:
        raise PacketError(DropReason.PACKET_LEN_ERR, f"{len(message)} bytes < VRRP header")
    vers_type, vrid, priority, naddr, int_field, checksum = _HDR.unpack_from(message)
    version = vers_type >> 4
    expected = expected_message_len(version, family, naddr)
    if len(message) != expected:
        raise PacketError(
            DropReason.PACKET_LEN_ERR, f"length {len(message)}, expected {expected} for {naddr}"
        )
    if version not in (VrrpVersion.V2, VrrpVersion.V3):
        raise PacketError(DropReason.VERS_ERR, f"version {version}")
    auth_type = AuthType.NONE
    if version == VrrpVersion.V2:
        raw_auth = int_field >> 8
        if raw_auth not in AuthType._value2member_map_:
            raise PacketError(DropReason.INVALID_AUTHTYPE, f"auth type {raw_auth}")
        auth_type = AuthType(raw_auth)
        adver_int_cs = (int_field & 0xFF) * 100
    else:
        adver_int_cs = int_field & V3_ADVER_INT_MASK
    if vers_type & 0x0F != VrrpType.ADVERTISEMENT:
        raise PacketError(DropReason.INVALID_TYPE_RCVD, f"type {vers_type & 0x0F}")
    alen = family.address_len
    start = VRRP_HEADER_LEN
    addresses: tuple[IPAddress, ...]
    if family is Family.IPV4:
        addresses = tuple(
            _ipv4_address(message[start + i * alen : start + (i + 1) * alen]) for i in range(naddr)
        )
    else:
        addresses = tuple(
            IPv6Address(message[start + i * alen : start + (i + 1) * alen]) for i in range(naddr)
        )
    auth_data = message[start + naddr * alen :]
    return Advertisement(
        version=VrrpVersion(version),
        vrid=vrid,
        priority=priority,
        adver_int_cs=adver_int_cs,
        addresses=addresses,
        family=family,
        auth_type=auth_type,
        auth_data=bytes(auth_data),
        checksum=checksum,
    )


@dataclass(frozen=True, slots=True)
class ReceivedAdvert:
    """A decoded advert plus what the IP layer told us about it."""

    advert: Advertisement
    src: IPAddress
    """IP source address (the sender)."""
    dst: IPAddress
    """IP destination (the multicast group or our unicast address)."""
    ttl: int | None
    """IPv4 TTL / IPv6 hop limit, None if unknown (no ``IPV6_HOPLIMIT`` cmsg)."""
    message: bytes = field(repr=False)
    """The raw VRRP message, for checksum and ICV verification."""
    ip_header: bytes = field(default=b"", repr=False)
    """IPv4 only: the raw IP header, options included (needed for the AH ICV)."""
    ah: AhHeader | None = None
    """IPv4 only: the AH header when the packet was protocol 51."""
    ip_id: int | None = None
    """IPv4 identification field."""
    tos: int | None = None
    """IPv4 TOS byte."""

    @property
    def family(self) -> Family:
        """IP version of the packet."""
        return self.advert.family

    @property
    def is_multicast(self) -> bool:
        """True if sent to a multicast destination (224.0.0.0/4, ff00::/8)."""
        dst = self.dst
        if dst.version == 4:
            return int(dst) >> 28 == 0xE
        return int(dst) >> 120 == 0xFF


def decode_ipv4(packet: bytes) -> ReceivedAdvert:
    """Decode an IPv4 packet as read from a raw ``IPPROTO_VRRP``/``IPPROTO_AH`` socket.

    Checks, in order: a usable IPv4 header (``IP_HDR_ERR``; protocol must be 112 or 51), the
    lengths (``PACKET_LEN_ERR``), an AH header protecting VRRP (``AH_NOT_VRRP``), the VRRP
    header (see :func:`decode_vrrp`) and that ``tot_len`` equals the bytes received
    (``IP_TOT_LEN_ERR``).
    """
    if len(packet) < IPV4_HEADER_LEN:
        raise PacketError(DropReason.PACKET_LEN_ERR, f"{len(packet)} bytes < IPv4 header")
    ver_ihl, tos, tot_len, ip_id, _frag, ttl, proto, _csum, src_b, dst_b = _IPV4.unpack_from(packet)
    if ver_ihl >> 4 != 4:
        raise PacketError(DropReason.IP_HDR_ERR, f"IP version {ver_ihl >> 4}")
    ihl = (ver_ihl & 0x0F) * 4
    if ihl < IPV4_HEADER_LEN:
        raise PacketError(DropReason.IP_HDR_ERR, f"IHL {ihl} bytes")
    offset = ihl
    ah: AhHeader | None = None
    if proto == IpProto.AH:
        if len(packet) < offset + AH_HEADER_LEN + VRRP_HEADER_LEN:
            raise PacketError(DropReason.PACKET_LEN_ERR, f"{len(packet)} bytes, too short for AH")
        ah = AhHeader.decode(packet[offset : offset + AH_HEADER_LEN])
        if ah.next_header != IpProto.VRRP:
            raise PacketError(DropReason.AH_NOT_VRRP, f"AH next header {ah.next_header}")
        offset += AH_HEADER_LEN
    elif proto != IpProto.VRRP:
        raise PacketError(DropReason.IP_HDR_ERR, f"IP protocol {proto}")
    elif len(packet) < offset + VRRP_HEADER_LEN:
        raise PacketError(DropReason.PACKET_LEN_ERR, f"{len(packet)} bytes, no VRRP header")
    message = bytes(packet[offset:])
    advert = decode_vrrp(message, Family.IPV4)
    if tot_len != len(packet):
        raise PacketError(
            DropReason.IP_TOT_LEN_ERR, f"tot_len {tot_len}, received {len(packet)} bytes"
        )
    return ReceivedAdvert(
        advert=advert,
        src=_ipv4_address(src_b),
        dst=_ipv4_address(dst_b),
        ttl=ttl,
        message=message,
        ip_header=bytes(packet[:ihl]),
        ah=ah,
        ip_id=ip_id,
        tos=tos,
    )


def decode_ipv6(
    payload: bytes, *, src: IPv6Address, dst: IPv6Address, hop_limit: int | None
) -> ReceivedAdvert:
    """Decode the payload read from an IPv6 raw ``IPPROTO_VRRP`` socket.

    ``src`` is the address ``recvmsg`` returned, ``dst`` the ``IPV6_PKTINFO`` address and
    ``hop_limit`` the ``IPV6_HOPLIMIT`` value (None if the cmsg was missing).
    """
    message = bytes(payload)
    advert = decode_vrrp(message, Family.IPV6)
    return ReceivedAdvert(advert=advert, src=src, dst=dst, ttl=hop_limit, message=message)


# --------------------------------------------------------------------------------------------
# Per-instance validation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnicastPeer:
    """A ``unicast_peer`` entry: its address and the accepted TTL/hop-limit range."""

    address: IPAddress
    min_ttl: int = 0
    max_ttl: int = 255


@dataclass(frozen=True, slots=True)
class InstanceExpectations:
    """What a VRRP instance requires of received adverts (filled from the configuration).

    ``vips`` are the instance's ``virtual_ipaddress`` entries that go into adverts, in order.
    ``check_unicast_src`` must be set when the global ``vrrp_check_unicast_src``, the instance's
    ``check_unicast_src``, or any peer's ``min_ttl``/``max_ttl`` is configured.
    """

    version: VrrpVersion
    vrid: int
    family: Family
    adver_int_cs: int
    """Our configured advert interval, centiseconds."""
    vips: tuple[IPAddress, ...] = ()
    auth_type: AuthType = AuthType.NONE
    auth_data: bytes = field(default=bytes(AUTH_DATA_LEN), repr=False)
    """8-byte password (PASS) or AH key, see :func:`.auth.auth_data_from_password`."""
    unicast_peers: tuple[UnicastPeer, ...] = ()
    """Non-empty means the instance is in unicast mode."""
    check_unicast_src: bool = False
    skip_check_adv_addr: bool = False
    v3_checksum_as_v2: bool = False
    unicast_checksum_compat: ChecksumCompat = ChecksumCompat.NONE
    mcast_group4: IPv4Address = VRRP_MCAST_GROUP4
    """The global ``vrrp_mcast_group4``: the old unicast checksum's pseudo-header destination."""

    @property
    def unicast(self) -> bool:
        """True when the instance has unicast peers."""
        return bool(self.unicast_peers)


def _checksum_ok(rx: ReceivedAdvert, exp: InstanceExpectations) -> bool:
    message, src, dst = rx.message, rx.src, rx.dst
    if isinstance(src, IPv6Address) and isinstance(dst, IPv6Address):
        # Done by the kernel (IPV6_CHECKSUM) before keepalived sees the packet: same check here.
        return vrrp_checksum_ok(message, src, dst)
    if not isinstance(src, IPv4Address) or not isinstance(dst, IPv4Address):
        return False
    if rx.advert.version is VrrpVersion.V2:
        return vrrp_checksum_ok(message)
    if exp.v3_checksum_as_v2:
        # keepalived (2.4+) computes the plain checksum but does not enforce it; we accept
        # either algorithm so that RFC 9568 (Cisco/Juniper) and Linux-style peers both work.
        return vrrp_checksum_ok(message) or vrrp_checksum_ok(message, src, dst)
    old_algorithm = exp.unicast_checksum_compat.uses_group_in_pseudo_header
    if vrrp_checksum_ok(message, src, exp.mcast_group4 if old_algorithm else dst):
        return True
    return needs_old_unicast_checksum(rx, exp)


def needs_old_unicast_checksum(rx: ReceivedAdvert, exp: InstanceExpectations) -> bool:
    """True if this unicast VRRPv3/IPv4 advert carries keepalived <= 1.3.6's checksum.

    That is: the instance is in the default ``ChecksumCompat.NONE`` mode, the checksum with the
    real destination is wrong and the one with the multicast group is right. keepalived then
    accepts the advert and switches the instance to ``ChecksumCompat.AUTO`` for good (logging
    "Setting unicast VRRPv3 checksum to old version"); the caller does the switch.
    """
    if (
        rx.family is not Family.IPV4
        or rx.advert.version is not VrrpVersion.V3
        or exp.v3_checksum_as_v2
        or not exp.unicast
        or exp.unicast_checksum_compat is not ChecksumCompat.NONE
        or not isinstance(rx.src, IPv4Address)
        or not isinstance(rx.dst, IPv4Address)
        or rx.dst == exp.mcast_group4
    ):
        return False
    return not vrrp_checksum_ok(rx.message, rx.src, rx.dst) and vrrp_checksum_ok(
        rx.message, rx.src, exp.mcast_group4
    )


def _check_ah(rx: ReceivedAdvert, exp: InstanceExpectations, ah_last_seq: int) -> DropReason | None:
    ah = rx.ah
    if ah is None or not isinstance(rx.src, IPv4Address):
        return DropReason.AUTH_FAILURE
    icv = ah_icv(rx.ip_header, ah, rx.message, exp.auth_data, zero_ttl=exp.unicast)
    if not check_password(icv, ah.icv):
        logger.debug("IPSEC-AH: invalid HMAC-MD5 from %s", rx.src)
        return DropReason.AUTH_FAILURE
    if ah.spi != int(rx.src):
        logger.debug("IPSEC-AH: SPI %#x is not the source %s", ah.spi, rx.src)
        return DropReason.AUTH_FAILURE
    if ah.seq_number <= ah_last_seq:
        logger.debug("IPSEC-AH: sequence %d already seen (last %d)", ah.seq_number, ah_last_seq)
        return DropReason.AUTH_FAILURE
    return None


def validate(
    rx: ReceivedAdvert,
    exp: InstanceExpectations,
    *,
    current_master: IPAddress | None = None,
    ah_last_seq: int = 0,
) -> DropReason | None:
    """Run keepalived's per-instance receive checks; return why to refuse, or None to accept.

    The order is keepalived 2.2.7's ``vrrp_check_packet()``: VRID (the dispatcher's lookup),
    AH presence, TTL 255 (multicast only), version, v2 auth type / password / AH ICV+SPI+sequence,
    v2 advert interval, VIP count, checksum, multicast-vs-unicast destination, then the VIP list
    and the unicast source and TTL range. A VRRPv3 interval different from ours is accepted
    (the backup adopts it).

    ``current_master`` is the source of the last accepted advert: with ``skip_check_adv_addr``
    the VIP and unicast-source checks are skipped for adverts from it. ``ah_last_seq`` is the
    instance's AH sequence counter (anti-replay: the new number must be greater); after an
    accepted AH advert the caller stores ``rx.ah.seq_number``.

    A refusal with :attr:`DropReason.counts_as_received` happened after keepalived counted the
    advert as received (see :meth:`VrrpStats.record_received`).
    """
    advert = rx.advert
    if advert.vrid != exp.vrid:
        return DropReason.VRID_ERR
    if rx.family is Family.IPV4 and (rx.ah is not None) != (exp.auth_type is AuthType.AH):
        return DropReason.AH_PRESENCE_MISMATCH
    if not exp.unicast and rx.ttl is not None and rx.ttl != VRRP_TTL:
        return DropReason.IP_TTL_ERR
    if advert.version != exp.version:
        return DropReason.VERS_ERR
    if advert.version is VrrpVersion.V2:
        if advert.auth_type != exp.auth_type:
            return DropReason.AUTHTYPE_MISMATCH
        if exp.auth_type is AuthType.PASS and not check_password(advert.auth_data, exp.auth_data):
            return DropReason.AUTH_FAILURE
        if exp.auth_type is AuthType.AH:
            reason = _check_ah(rx, exp, ah_last_seq)
            if reason is not None:
                return reason
        if advert.adver_int_cs != exp.adver_int_cs:
            return DropReason.ADVERT_INTERVAL_ERR
    check_vips = not (exp.skip_check_adv_addr and current_master == rx.src)
    if check_vips and advert.naddr != len(exp.vips):
        return DropReason.ADDR_COUNT_ERR
    if not _checksum_ok(rx, exp):
        return DropReason.CHK_ERR
    if rx.is_multicast == exp.unicast:
        return DropReason.DEST_TYPE_ERR
    # keepalived counts advert_rcvd here: the refusals below have counts_as_received set.
    if check_vips:
        # the usual case, the very same list, needs no set
        if advert.addresses != exp.vips:
            present = set(advert.addresses)
            if any(vip not in present for vip in exp.vips):
                return DropReason.ADDR_LIST_ERR
        if exp.unicast and exp.check_unicast_src:
            peer = next((p for p in exp.unicast_peers if p.address == rx.src), None)
            if peer is None:
                return DropReason.UNICAST_SRC_ERR
            if rx.ttl is not None and not peer.min_ttl <= rx.ttl <= peer.max_ttl:
                return DropReason.UNICAST_TTL_ERR
    return None
