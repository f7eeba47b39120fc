"""Gratuitous ARP and unsolicited IPv6 Neighbour Advertisement: frame builders and a sender.

The frames match keepalived's byte for byte (``vrrp_arp.c`` send_gratuitous_arp_immediate,
``vrrp_ndisc.c`` ndisc_send_unsolicited_na_immediate):

* GARP (42 bytes): Ethernet dst ff:ff:ff:ff:ff:ff, src = the interface MAC (the VMAC on a VMAC
  interface), type ARP; ARP *request*, sender = (MAC, VIP), target = (ff:ff:ff:ff:ff:ff, VIP).
* Unsolicited NA (86 bytes): Ethernet dst 33:33:00:00:00:01, src = the interface MAC, type
  IPv6; IPv6 src = VIP, dst ff02::1, hop limit 255, traffic class/flow label 0; ICMPv6 type 136
  code 0 with the Override flag, the Router flag when IPv6 forwarding is on for the interface,
  Solicited clear; target = VIP; one Target Link-Layer Address option carrying the MAC.

Both are sent whole on an AF_PACKET socket, as keepalived does. For the NA this was chosen
over an ICMPv6 raw socket because:

* the IPv6 source must be the VIP, which keepalived (and we) add deprecated (preferred_lft 0)
  and which may still be tentative when ``-nodad`` is given; a raw ICMPv6 socket would have to
  bind to / IPV6_PKTINFO that address and the kernel refuses tentative sources;
* the Ethernet source must be the VMAC on VMAC interfaces, which only a link-layer socket
  controls, and the frame then equals keepalived's byte for byte, so the builder is a pure
  function tested without root;
* the frame bypasses the IP output path (routing, netfilter OUTPUT), exactly like keepalived,
  so nftables rules such as ``no_accept``'s never drop it.

The builders are pure; :class:`GarpSender` is the only I/O. When to send (bursts,
``garp_master_delay``, rate limits, IFF_NOARP) is the caller's business.
"""

from __future__ import annotations

import errno
import logging
import socket
import struct
from enum import IntEnum, IntFlag
from ipaddress import IPv4Address, IPv6Address
from types import TracebackType
from typing import Self

log = logging.getLogger(__name__)

ETH_ALEN = 6
ETH_HLEN = 14
IPV6_HLEN = 40
ARP_ETHER_IPV4_LEN = 28
NDISC_HOP_LIMIT = 255
BROADCAST_MAC = b"\xff" * ETH_ALEN
IPV6_ALL_NODES = IPv6Address("ff02::1")

GARP_FRAME_LEN = ETH_HLEN + ARP_ETHER_IPV4_LEN
NA_ICMP_LEN = 24 + 8  # NA header with target, then one 8-byte TLLA option
NA_FRAME_LEN = ETH_HLEN + IPV6_HLEN + NA_ICMP_LEN


class EtherType(IntEnum):
    """Ethernet type field values."""

    IPV4 = 0x0800
    ARP = 0x0806
    IPV6 = 0x86DD


class ArpHardware(IntEnum):
    """ARP hardware type (ARPHRD_*)."""

    ETHER = 1


class ArpOp(IntEnum):
    """ARP opcode (ARPOP_*)."""

    REQUEST = 1
    REPLY = 2


class IpProto(IntEnum):
    """IP protocol / next-header numbers used here."""

    ICMPV6 = 58


class Icmp6Type(IntEnum):
    """ICMPv6 message types used here."""

    NEIGHBOR_SOLICITATION = 135
    NEIGHBOR_ADVERTISEMENT = 136


class NaFlag(IntFlag):
    """Neighbour Advertisement flags, in the top bits of the 32-bit word after the checksum."""

    ROUTER = 0x80000000
    SOLICITED = 0x40000000
    OVERRIDE = 0x20000000


class NdOptionType(IntEnum):
    """Neighbour Discovery option types (RFC 4861 4.6)."""

    SOURCE_LL_ADDR = 1
    TARGET_LL_ADDR = 2


class GarpError(Exception):
    """A frame could not be built (bad MAC or address)."""


def mac_to_bytes(mac: str | bytes) -> bytes:
    """``"aa:bb:cc:dd:ee:ff"`` (or 6 raw bytes) as 6 bytes; GarpError otherwise."""
    if isinstance(mac, bytes):
        raw = mac
    else:
        try:
            raw = bytes.fromhex(mac.replace(":", "").replace("-", ""))
        except ValueError as exc:
            raise GarpError(f"bad MAC address {mac!r}") from exc
    if len(raw) != ETH_ALEN:
        raise GarpError(f"MAC address must be {ETH_ALEN} bytes, got {len(raw)}")
    return raw


def ipv6_multicast_mac(group: IPv6Address) -> bytes:
    """The Ethernet address of an IPv6 multicast group (RFC 2464 7: 33:33 + last 32 bits)."""
    if not group.is_multicast:
        raise GarpError(f"{group} is not a multicast address")
    return b"\x33\x33" + group.packed[-4:]


def inet_checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum (one's complement of the one's complement sum)."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def icmpv6_checksum(src: IPv6Address, dst: IPv6Address, icmp: bytes) -> int:
    """ICMPv6 checksum of ``icmp`` (checksum field zeroed) over the RFC 8200 8.1 pseudo-header."""
    pseudo = src.packed + dst.packed + struct.pack("!I3xB", len(icmp), IpProto.ICMPV6)
    return inet_checksum(pseudo + icmp)


def build_garp(vip: IPv4Address, mac: str | bytes) -> bytes:
    """The gratuitous ARP frame keepalived sends for ``vip`` from ``mac`` (42 bytes)."""
    hw = mac_to_bytes(mac)
    eth = BROADCAST_MAC + hw + struct.pack("!H", EtherType.ARP)
    arp = struct.pack(
        "!HHBBH6s4s6s4s",
        ArpHardware.ETHER,
        EtherType.IPV4,
        ETH_ALEN,
        4,
        ArpOp.REQUEST,
        hw,
        vip.packed,
        BROADCAST_MAC,
        vip.packed,
    )
    return eth + arp


def build_na_icmp(
    vip: IPv6Address, mac: str | bytes, *, router: bool, src: IPv6Address | None = None
) -> bytes:
    """The ICMPv6 part (32 bytes, checksum filled in) of the unsolicited NA for ``vip``.

    ``src`` is the IPv6 source used in the checksum (the VIP itself unless given).
    """
    hw = mac_to_bytes(mac)
    flags = NaFlag.OVERRIDE | (NaFlag.ROUTER if router else NaFlag(0))
    option = struct.pack("!BB6s", NdOptionType.TARGET_LL_ADDR, 1, hw)  # length in 8-byte units

    def pack(checksum: int) -> bytes:
        header = struct.pack("!BBHI", Icmp6Type.NEIGHBOR_ADVERTISEMENT, 0, checksum, int(flags))
        return header + vip.packed + option

    checksum = icmpv6_checksum(src or vip, IPV6_ALL_NODES, pack(0))
    return pack(checksum)


def build_unsolicited_na(vip: IPv6Address, mac: str | bytes, *, router: bool) -> bytes:
    """The unsolicited Neighbour Advertisement frame keepalived sends for ``vip`` (86 bytes)."""
    hw = mac_to_bytes(mac)
    icmp = build_na_icmp(vip, hw, router=router)
    eth = ipv6_multicast_mac(IPV6_ALL_NODES) + hw + struct.pack("!H", EtherType.IPV6)
    ip6 = struct.pack(
        "!IHBB16s16s",
        6 << 28,  # version 6, traffic class 0, flow label 0
        len(icmp),
        IpProto.ICMPV6,
        NDISC_HOP_LIMIT,
        vip.packed,
        IPV6_ALL_NODES.packed,
    )
    return eth + ip6 + icmp


def _packet_socket(netns: str | None) -> socket.socket:
    # protocol 0: this socket only sends; it never queues received frames
    if netns is None:
        return socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    from pyroute2.netns import create_socket  # noqa: PLC0415  (tests and lab only)

    sock: socket.socket = create_socket(netns, socket.AF_PACKET, socket.SOCK_RAW, 0, flags=0)
    return sock


class GarpSender:
    """An AF_PACKET socket that sends GARP / unsolicited NA frames on any interface.

    One sender serves all interfaces (like keepalived's shared garp_fd). ``netns`` opens the
    socket in a named network namespace (tests, lab); the daemon leaves it None. Sends are
    non-blocking: a full queue or a vanished interface is logged and counted in ``errors``.
    """

    def __init__(self, *, netns: str | None = None) -> None:
        self._sock = _packet_socket(netns)
        self._sock.setblocking(False)
        self.sent = 0
        self.errors = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the socket."""
        self._sock.close()

    def send_frame(self, ifname: str, frame: bytes, ethertype: int) -> bool:
        """Send a whole Ethernet frame on ``ifname``; False (and counted) if the kernel refused."""
        try:
            self._sock.sendto(frame, (ifname, ethertype))
        except OSError as exc:
            self.errors += 1
            name = errno.errorcode.get(exc.errno or 0, str(exc.errno))
            log.warning("cannot send %#06x frame on %s: %s (%s)", ethertype, ifname, name, exc)
            return False
        self.sent += 1
        return True

    def send_garp(self, ifname: str, vip: IPv4Address, mac: str | bytes) -> bool:
        """Send one gratuitous ARP for ``vip`` from ``mac`` on ``ifname``."""
        log.debug("sending gratuitous ARP on %s for %s", ifname, vip)
        return self.send_frame(ifname, build_garp(vip, mac), EtherType.ARP)

    def send_na(self, ifname: str, vip: IPv6Address, mac: str | bytes, *, router: bool) -> bool:
        """Send one unsolicited Neighbour Advertisement for ``vip`` from ``mac`` on ``ifname``."""
        log.debug("sending unsolicited neighbour advert on %s for %s", ifname, vip)
        return self.send_frame(
            ifname, build_unsolicited_na(vip, mac, router=router), EtherType.IPV6
        )

    def send_for(
        self, ifname: str, vip: IPv4Address | IPv6Address, mac: str | bytes, *, router: bool = False
    ) -> bool:
        """GARP for an IPv4 ``vip``, unsolicited NA (``router`` flag) for an IPv6 one."""
        if isinstance(vip, IPv4Address):
            return self.send_garp(ifname, vip, mac)
        return self.send_na(ifname, vip, mac, router=router)
