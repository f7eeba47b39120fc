"""Byte layout of the gratuitous ARP and unsolicited NA frames (keepalived's, RFC 826/4861)."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pykeepalived.vrrp.garp import (
    GARP_FRAME_LEN,
    IPV6_ALL_NODES,
    NA_FRAME_LEN,
    GarpError,
    build_garp,
    build_na_icmp,
    build_unsolicited_na,
    icmpv6_checksum,
    inet_checksum,
    ipv6_multicast_mac,
    mac_to_bytes,
)

pytestmark = pytest.mark.unit

MAC = "02:70:6b:00:00:01"
VMAC = "00:00:5e:00:01:33"

# Written out by hand from RFC 826 / RFC 4861 layouts, not produced by the code under test.
GARP_192_0_2_100 = bytes.fromhex(
    "ffffffffffff" "02706b000001" "0806"  # Ethernet: broadcast, our MAC, ARP
    "0001" "0800" "06" "04" "0001"  # Ethernet/IPv4, 6/4-byte addresses, request
    "02706b000001" "c0000264"  # sender: our MAC, VIP
    "ffffffffffff" "c0000264"  # target: broadcast, VIP
)  # fmt: skip
# The NA's checksum 0x8bba was confirmed "[correct]" by tshark 4.0 on a captured frame.
NA_2001_DB8_0_1__100 = bytes.fromhex(
    "333300000001" "02706b000001" "86dd"  # Ethernet: all-nodes group, our MAC, IPv6
    "60000000" "0020" "3a" "ff"  # version 6, payload 32, ICMPv6, hop limit 255
    "20010db8000000010000000000000100"  # source: the VIP
    "ff020000000000000000000000000001"  # destination: ff02::1
    "88" "00" "8bba" "20000000"  # NA, code 0, checksum, flags: Override only
    "20010db8000000010000000000000100"  # target: the VIP
    "02" "01" "02706b000001"  # option: target link-layer address, 1x8 bytes
)  # fmt: skip

macs = st.binary(min_size=6, max_size=6)
ipv4s = st.integers(0, 2**32 - 1).map(IPv4Address)
ipv6s = st.integers(0, 2**128 - 1).map(IPv6Address)


def test_garp_matches_hand_written_frame() -> None:
    frame = build_garp(IPv4Address("192.0.2.100"), MAC)
    assert len(frame) == GARP_FRAME_LEN == 42
    assert frame == GARP_192_0_2_100


def test_garp_uses_the_given_source_mac_everywhere() -> None:
    frame = build_garp(IPv4Address("192.0.2.100"), VMAC)
    vmac = mac_to_bytes(VMAC)
    assert frame[6:12] == vmac  # Ethernet source
    assert frame[22:28] == vmac  # ARP sender hardware address
    assert frame[0:6] == b"\xff" * 6


@given(vip=ipv4s, mac=macs)
def test_garp_fields_for_any_vip_and_mac(vip: IPv4Address, mac: bytes) -> None:
    frame = build_garp(vip, mac)
    dst, src, ethertype = struct.unpack("!6s6sH", frame[:14])
    hrd, pro, hln, pln, op, sha, spa, tha, tpa = struct.unpack("!HHBBH6s4s6s4s", frame[14:])
    assert (dst, src, ethertype) == (b"\xff" * 6, mac, 0x0806)
    assert (hrd, pro, hln, pln, op) == (1, 0x0800, 6, 4, 1)
    assert (sha, tha) == (mac, b"\xff" * 6)
    assert spa == tpa == vip.packed


def test_unsolicited_na_matches_hand_written_frame() -> None:
    frame = build_unsolicited_na(IPv6Address("2001:db8:0:1::100"), MAC, router=False)
    assert len(frame) == NA_FRAME_LEN == 86
    assert frame == NA_2001_DB8_0_1__100


def test_router_flag_sets_r_bit_and_changes_checksum() -> None:
    vip = IPv6Address("2001:db8:0:1::100")
    plain = build_unsolicited_na(vip, MAC, router=False)
    router = build_unsolicited_na(vip, MAC, router=True)
    assert router[58] == 0xA0  # Router | Override
    assert plain[58] == 0x20
    assert router[56:58] != plain[56:58]
    assert router[:56] == plain[:56]
    assert router[60:] == plain[60:]


@given(vip=ipv6s, mac=macs, router=st.booleans())
def test_na_checksum_verifies_and_fields_hold(vip: IPv6Address, mac: bytes, router: bool) -> None:
    frame = build_unsolicited_na(vip, mac, router=router)
    assert frame[0:6] == b"\x33\x33\x00\x00\x00\x01"
    assert frame[6:12] == mac
    ver_tc_fl, plen, nxt, hlim = struct.unpack("!IHBB", frame[14:22])
    assert (ver_tc_fl, plen, nxt, hlim) == (0x60000000, 32, 58, 255)
    assert frame[22:38] == vip.packed
    assert frame[38:54] == IPV6_ALL_NODES.packed
    icmp = frame[54:]
    typ, code, _csum, flags = struct.unpack("!BBHI", icmp[:8])
    assert (typ, code) == (136, 0)
    assert flags == (0xA0000000 if router else 0x20000000)
    assert icmp[8:24] == vip.packed
    assert icmp[24:] == b"\x02\x01" + mac
    # a correct checksum makes the sum over pseudo-header + message 0xffff
    pseudo = vip.packed + IPV6_ALL_NODES.packed + struct.pack("!I3xB", len(icmp), 58)
    assert inet_checksum(pseudo + icmp) == 0


def test_na_icmp_with_other_source_is_checksummed_for_that_source() -> None:
    vip = IPv6Address("2001:db8::1")
    src = IPv6Address("fe80::1")
    icmp = build_na_icmp(vip, MAC, router=False, src=src)
    zeroed = icmp[:2] + b"\x00\x00" + icmp[4:]
    assert struct.unpack("!H", icmp[2:4])[0] == icmpv6_checksum(src, IPV6_ALL_NODES, zeroed)
    assert icmp != build_na_icmp(vip, MAC, router=False)


def test_inet_checksum_rfc1071_example_and_odd_length() -> None:
    # RFC 1071 section 3: the sum of 0001 f203 f4f5 f6f7 is ddf2, so the checksum is 220d
    assert inet_checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D
    assert inet_checksum(b"\x01") == inet_checksum(b"\x01\x00") == 0xFEFF
    assert inet_checksum(b"") == 0xFFFF


def test_ipv6_multicast_mac() -> None:
    assert ipv6_multicast_mac(IPv6Address("ff02::1")) == bytes.fromhex("333300000001")
    assert ipv6_multicast_mac(IPv6Address("ff02::1:ff00:100")) == bytes.fromhex("3333ff000100")
    with pytest.raises(GarpError):
        ipv6_multicast_mac(IPv6Address("2001:db8::1"))


@pytest.mark.parametrize("bad", ["02:70:6b:00:00", "zz:70:6b:00:00:01", "", b"\x00" * 5])
def test_bad_macs_are_rejected(bad: str | bytes) -> None:
    with pytest.raises(GarpError):
        mac_to_bytes(bad)


def test_mac_spellings() -> None:
    raw = bytes.fromhex("02706b000001")
    assert mac_to_bytes("02:70:6B:00:00:01") == raw
    assert mac_to_bytes("02-70-6b-00-00-01") == raw
    assert mac_to_bytes(raw) == raw
