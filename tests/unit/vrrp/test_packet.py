"""VRRP advert codec: golden bytes from keepalived 2.2.7, hand-checked vectors, round trips,
every decode error and every per-instance check of ``validate``."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address

import pytest

from pykeepalived.vrrp.auth import AhHeader, ah_icv, auth_data_from_password
from pykeepalived.vrrp.checksum import internet_checksum, vrrp_checksum
from pykeepalived.vrrp.packet import (
    IPTOS_PREC_INTERNETCONTROL,
    VRRP_MCAST_GROUP4,
    VRRP_MCAST_GROUP6,
    VRRP_TTL,
    Advertisement,
    AuthType,
    ChecksumCompat,
    DropReason,
    Family,
    InstanceExpectations,
    PacketError,
    ReceivedAdvert,
    UnicastPeer,
    VrrpType,
    VrrpVersion,
    decode_ipv4,
    decode_ipv6,
    decode_vrrp,
    encode_ipv4,
    encode_vrrp,
    expected_message_len,
    needs_old_unicast_checksum,
    validate,
)

pytestmark = pytest.mark.unit

SRC = IPv4Address("192.0.2.1")
PEER = IPv4Address("192.0.2.2")
OTHER = IPv4Address("192.0.2.3")
SRC6 = IPv6Address("fe80::f409:b9ff:fe08:92b2")
PEER6 = IPv6Address("fe80::2")

# ---------------------------------------------------------------------------------------------
# Golden packets captured from Debian's keepalived 2.2.7 (one namespace running keepalived on
# veth0 = 192.0.2.1, tcpdump on the other end). IPv4 packets are whole IP packets; the IPv6 one is
# the payload a raw socket returns (tcpdump showed hop limit 255, traffic class 0xc0).
# ---------------------------------------------------------------------------------------------
KA_V2_PASS = bytes.fromhex(  # vrid 11, prio 150, advert_int 1, PASS "secret12", 2 VIPs
    "45c0002c00010000ff70188dc0000201e0000012210b9602010155a8c0000264c00002657365637265743132"
)
KA_V2_AH = bytes.fromhex(  # vrid 12, prio 150, AH "ahkey", 192.0.2.110, multicast
    "45c0004000010000ff3318b6c0000201e0000012"
    "70040000c000020100000001da86e79c2c5d25b005f9d267"
    "210c960102018482c000026e0000000000000000"
)
KA_V2_AH_UNICAST = bytes.fromhex(  # vrid 13, AH "uni", unicast 192.0.2.1 -> 192.0.2.2
    "45c0004000010000ff3336c6c0000201c0000202"
    "70040000c0000201000000014b7e1c73ed41e2526e648fa0"
    "210d960102018477c00002780000000000000000"
)
KA_V3_V4 = bytes.fromhex(  # vrid 14, prio 200, advert_int 0.5, 3 VIPs, multicast
    "45c0002800010000ff701891c0000201e0000012310ec80300321c98c0000282c0000283c0000284"
)
KA_V3_UNICAST = bytes.fromhex(  # vrid 16, prio 100, 192.0.2.140, unicast to 192.0.2.2
    "45c0002000010000ff7036a9c0000201c0000202311064010064237dc000028c"
)
KA_V3_UNICAST_OLD = bytes.fromhex(  # vrid 17, old_unicast_checksum, 192.0.2.150
    "45c0002000010000ff7036a9c0000201c00002023111640100640562c0000296"
)
KA_V3_V6_PAYLOAD = bytes.fromhex(  # vrid 15, prio 200, advert_int 1, 2001:db8::15 and ::16
    "310fc80200646df920010db800000000000000000000001520010db8000000000000000000000016"
)


def v2_advert(**kw: object) -> Advertisement:
    base: dict[str, object] = {
        "version": VrrpVersion.V2,
        "vrid": 51,
        "priority": 100,
        "adver_int_cs": 100,
        "addresses": (IPv4Address("192.0.2.100"),),
    }
    base.update(kw)
    return Advertisement(**base)  # type: ignore[arg-type]


def v3_advert(**kw: object) -> Advertisement:
    base: dict[str, object] = {
        "version": VrrpVersion.V3,
        "vrid": 51,
        "priority": 100,
        "adver_int_cs": 100,
        "addresses": (IPv4Address("192.0.2.100"),),
    }
    base.update(kw)
    return Advertisement(**base)  # type: ignore[arg-type]


def v6_advert(**kw: object) -> Advertisement:
    base: dict[str, object] = {
        "version": VrrpVersion.V3,
        "vrid": 51,
        "priority": 100,
        "adver_int_cs": 100,
        "family": Family.IPV6,
        "addresses": (IPv6Address("fe80::51"), IPv6Address("2001:db8::51")),
    }
    base.update(kw)
    return Advertisement(**base)  # type: ignore[arg-type]


def expectations(advert: Advertisement, **kw: object) -> InstanceExpectations:
    """Expectations of an instance that would accept ``advert`` as it is."""
    base: dict[str, object] = {
        "version": advert.version,
        "vrid": advert.vrid,
        "family": advert.family,
        "adver_int_cs": advert.adver_int_cs,
        "vips": advert.addresses,
        "auth_type": advert.auth_type,
    }
    base.update(kw)
    return InstanceExpectations(**base)  # type: ignore[arg-type]


def rx4(
    advert: Advertisement, *, dst: IPv4Address = VRRP_MCAST_GROUP4, **kw: object
) -> ReceivedAdvert:
    packet = encode_ipv4(advert, src=kw.pop("src", SRC), dst=dst, ip_id=7, **kw)  # type: ignore[arg-type]
    return decode_ipv4(packet)


def rx6(advert: Advertisement, *, hop_limit: int | None = 255) -> ReceivedAdvert:
    payload = encode_vrrp(advert, src=SRC6, dst=VRRP_MCAST_GROUP6)
    return decode_ipv6(payload, src=SRC6, dst=VRRP_MCAST_GROUP6, hop_limit=hop_limit)


def with_byte(data: bytes, index: int, value: int) -> bytes:
    return data[:index] + bytes([value]) + data[index + 1 :]


def fix_ip_checksum(packet: bytes) -> bytes:
    hdr = packet[:10] + b"\x00\x00" + packet[12:20]
    return hdr[:10] + internet_checksum(hdr).to_bytes(2, "big") + packet[12:]


# ---------------------------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------------------------


def test_wire_constants() -> None:
    assert int(VrrpType.ADVERTISEMENT) == 1
    assert (VrrpVersion.V2, VrrpVersion.V3) == (2, 3)
    assert VRRP_TTL == 255
    assert IPTOS_PREC_INTERNETCONTROL == 0xC0
    assert str(VRRP_MCAST_GROUP4) == "224.0.0.18"
    assert str(VRRP_MCAST_GROUP6) == "ff02::12"


@pytest.mark.parametrize(
    ("version", "family", "naddr", "length"),
    [
        (2, Family.IPV4, 0, 16),
        (2, Family.IPV4, 3, 28),
        (3, Family.IPV4, 3, 20),
        (3, Family.IPV6, 2, 40),
        (2, Family.IPV6, 1, 24),  # keepalived's v2-over-IPv6 extension has no auth bytes
        (7, Family.IPV4, 1, 12),  # unknown versions are laid out like v3
    ],
)
def test_expected_message_len(version: int, family: Family, naddr: int, length: int) -> None:
    assert expected_message_len(version, family, naddr) == length


# ---------------------------------------------------------------------------------------------
# Golden vectors: decode keepalived's packets, and encode them back byte for byte
# ---------------------------------------------------------------------------------------------


def test_keepalived_v2_pass() -> None:
    rx = decode_ipv4(KA_V2_PASS)
    a = rx.advert
    assert (a.version, a.vrid, a.priority, a.adver_int_cs) == (VrrpVersion.V2, 11, 150, 100)
    assert a.adver_int_raw == 1
    assert a.auth_type is AuthType.PASS
    assert a.auth_data == b"secret12"
    assert a.addresses == (IPv4Address("192.0.2.100"), IPv4Address("192.0.2.101"))
    assert a.checksum == 0x55A8
    assert (rx.src, rx.dst, rx.ttl, rx.tos, rx.ip_id) == (SRC, VRRP_MCAST_GROUP4, 255, 0xC0, 1)
    assert rx.ah is None
    assert encode_ipv4(a, src=SRC, dst=VRRP_MCAST_GROUP4, ip_id=1) == KA_V2_PASS
    exp = expectations(a, auth_type=AuthType.PASS, auth_data=auth_data_from_password("secret12"))
    assert validate(rx, exp) is None


def test_keepalived_v2_ah_multicast() -> None:
    rx = decode_ipv4(KA_V2_AH)
    a = rx.advert
    assert (a.vrid, a.priority, a.auth_type, a.auth_data) == (12, 150, AuthType.AH, bytes(8))
    assert rx.ah is not None
    assert (rx.ah.spi, rx.ah.seq_number) == (int(SRC), 1)
    key = auth_data_from_password("ahkey")
    again = encode_ipv4(a, src=SRC, dst=VRRP_MCAST_GROUP4, ip_id=1, ah_key=key, ah_seq=1)
    assert again == KA_V2_AH
    exp = expectations(a, auth_type=AuthType.AH, auth_data=key)
    assert validate(rx, exp) is None


def test_keepalived_v2_ah_unicast() -> None:
    rx = decode_ipv4(KA_V2_AH_UNICAST)
    key = auth_data_from_password("uni")
    again = encode_ipv4(rx.advert, src=SRC, dst=PEER, ip_id=1, ah_key=key, ah_seq=1, unicast=True)
    assert again == KA_V2_AH_UNICAST
    exp = expectations(
        rx.advert, auth_type=AuthType.AH, auth_data=key, unicast_peers=(UnicastPeer(SRC),)
    )
    assert validate(rx, exp) is None
    # A multicast instance computes the ICV with the TTL in: this advert fails there.
    exp_mcast = replace(exp, unicast_peers=())
    assert validate(rx, exp_mcast) is DropReason.AUTH_FAILURE


def test_keepalived_v3_ipv4_multicast() -> None:
    rx = decode_ipv4(KA_V3_V4)
    a = rx.advert
    assert (a.version, a.vrid, a.priority, a.adver_int_cs) == (VrrpVersion.V3, 14, 200, 50)
    assert a.adver_int_raw == 50
    assert a.auth_type is AuthType.NONE
    assert a.auth_data == b""
    assert [str(x) for x in a.addresses] == ["192.0.2.130", "192.0.2.131", "192.0.2.132"]
    assert a.checksum == 0x1C98
    assert encode_ipv4(a, src=SRC, dst=VRRP_MCAST_GROUP4, ip_id=1) == KA_V3_V4
    assert validate(rx, expectations(a)) is None


def test_keepalived_v3_ipv4_unicast() -> None:
    rx = decode_ipv4(KA_V3_UNICAST)
    assert rx.dst == PEER
    assert encode_ipv4(rx.advert, src=SRC, dst=PEER, ip_id=1) == KA_V3_UNICAST
    exp = expectations(rx.advert, unicast_peers=(UnicastPeer(SRC),))
    assert validate(rx, exp) is None
    assert not needs_old_unicast_checksum(rx, exp)


def test_keepalived_v3_ipv4_old_unicast_checksum() -> None:
    rx = decode_ipv4(KA_V3_UNICAST_OLD)
    again = encode_ipv4(rx.advert, src=SRC, dst=PEER, ip_id=1, pseudo_header_dst=VRRP_MCAST_GROUP4)
    assert again == KA_V3_UNICAST_OLD
    exp = expectations(rx.advert, unicast_peers=(UnicastPeer(SRC),))
    # Default mode: accepted, and the instance should switch to the old algorithm.
    assert validate(rx, exp) is None
    assert needs_old_unicast_checksum(rx, exp)
    # Already switched / configured: accepted, no further switch.
    for mode in (ChecksumCompat.AUTO, ChecksumCompat.CONFIG):
        exp_old = replace(exp, unicast_checksum_compat=mode)
        assert validate(rx, exp_old) is None
        assert not needs_old_unicast_checksum(rx, exp_old)
    # "old_unicast_checksum never": refused.
    exp_never = replace(exp, unicast_checksum_compat=ChecksumCompat.NEVER)
    assert validate(rx, exp_never) is DropReason.CHK_ERR
    # A new-style checksum is refused by an instance configured for the old one.
    new_style = decode_ipv4(KA_V3_UNICAST)
    exp_cfg = expectations(
        new_style.advert,
        unicast_peers=(UnicastPeer(SRC),),
        unicast_checksum_compat=ChecksumCompat.CONFIG,
    )
    assert validate(new_style, exp_cfg) is DropReason.CHK_ERR


def test_keepalived_v3_ipv6() -> None:
    rx = decode_ipv6(KA_V3_V6_PAYLOAD, src=SRC6, dst=VRRP_MCAST_GROUP6, hop_limit=255)
    a = rx.advert
    assert (a.family, a.version, a.vrid, a.priority, a.adver_int_cs) == (
        Family.IPV6,
        VrrpVersion.V3,
        15,
        200,
        100,
    )
    assert a.addresses == (IPv6Address("2001:db8::15"), IPv6Address("2001:db8::16"))
    assert a.checksum == 0x6DF9
    assert encode_vrrp(a, src=SRC6, dst=VRRP_MCAST_GROUP6) == KA_V3_V6_PAYLOAD
    # What keepalived itself writes: checksum 0, filled in by the kernel (IPV6_CHECKSUM).
    assert encode_vrrp(a)[6:8] == b"\x00\x00"
    assert encode_vrrp(a)[8:] == KA_V3_V6_PAYLOAD[8:]
    assert validate(rx, expectations(a)) is None


# ---------------------------------------------------------------------------------------------
# Hand-checked vectors (checksums computed by hand in test_checksum.py)
# ---------------------------------------------------------------------------------------------


def test_hand_built_v2_none() -> None:
    a = v2_advert(vrid=1, priority=100, addresses=(IPv4Address("192.0.2.1"),))
    assert encode_vrrp(a) == bytes.fromhex(
        "2101640100 01b8fa c0000201 0000000000000000".replace(" ", "")
    )
    packet = encode_ipv4(a, src=SRC, dst=VRRP_MCAST_GROUP4, ip_id=0x1234)
    assert packet[:12] == bytes.fromhex("45c0002812340000ff70") + packet[10:12]
    assert internet_checksum(packet[:20]) == 0
    assert packet[12:20] == SRC.packed + VRRP_MCAST_GROUP4.packed


def test_hand_built_v3() -> None:
    a = v3_advert(vrid=1, priority=100, addresses=(IPv4Address("192.0.2.1"),))
    assert encode_vrrp(a, src=SRC, dst=VRRP_MCAST_GROUP4) == bytes.fromhex(
        "3101640100640607c0000201"
    )
    # v3_checksum_as_v2: plain checksum over the 12 bytes.
    plain = encode_vrrp(a, v3_checksum_as_v2=True)
    assert plain[6:8] == vrrp_checksum(plain).to_bytes(2, "big")
    assert plain != encode_vrrp(a, src=SRC, dst=VRRP_MCAST_GROUP4)


def test_v3_reserved_bits_ignored_on_decode() -> None:
    msg = bytes.fromhex("3101640100640607c0000201")
    with_reserved = msg[:4] + bytes([0xF0 | msg[4]]) + msg[5:]
    assert decode_vrrp(with_reserved, Family.IPV4).adver_int_cs == 100


def test_encode_ttl_tos_and_id() -> None:
    packet = encode_ipv4(v2_advert(), src=SRC, dst=PEER, ip_id=65535, ttl=64, tos=0)
    rx = decode_ipv4(packet)
    assert (rx.ttl, rx.tos, rx.ip_id) == (64, 0, 65535)
    assert packet[6:8] == b"\x00\x00"  # DF clear, no fragment offset


# ---------------------------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "advert",
    [
        v2_advert(),
        v2_advert(priority=0, addresses=()),
        v2_advert(priority=255, adver_int_cs=25500),
        v2_advert(auth_type=AuthType.PASS, auth_data=b"pw\x00\x00\x00\x00\x00\x00"),
        v3_advert(adver_int_cs=1),
        v3_advert(
            adver_int_cs=4095, addresses=tuple(IPv4Address(f"198.51.100.{i}") for i in range(20))
        ),
        v3_advert(addresses=()),
    ],
)
def test_ipv4_round_trip(advert: Advertisement) -> None:
    rx = decode_ipv4(encode_ipv4(advert, src=SRC, dst=VRRP_MCAST_GROUP4, ip_id=1))
    assert rx.advert == advert
    assert validate(rx, expectations(advert, auth_data=advert.auth_data or bytes(8))) is None


def test_ipv4_round_trip_ah() -> None:
    advert = v2_advert(auth_type=AuthType.AH)
    key = auth_data_from_password("k")
    packet = encode_ipv4(advert, src=SRC, dst=VRRP_MCAST_GROUP4, ip_id=9, ah_key=key, ah_seq=41)
    rx = decode_ipv4(packet)
    assert rx.advert == advert
    assert rx.ah is not None and rx.ah.seq_number == 41
    exp = expectations(advert, auth_type=AuthType.AH, auth_data=key)
    assert validate(rx, exp, ah_last_seq=40) is None


@pytest.mark.parametrize(
    "advert",
    [
        v6_advert(),
        v6_advert(addresses=(), priority=0),
        v6_advert(version=VrrpVersion.V2, adver_int_cs=300),  # keepalived non-strict extension
    ],
)
def test_ipv6_round_trip(advert: Advertisement) -> None:
    rx = rx6(advert)
    assert rx.advert == advert
    assert rx.family is Family.IPV6
    assert validate(rx, expectations(advert)) is None


def test_checksum_excluded_from_equality() -> None:
    a = decode_ipv4(KA_V3_V4).advert
    assert a == replace(a, checksum=0)


def test_auth_data_hidden_from_repr() -> None:
    a = v2_advert(auth_type=AuthType.PASS, auth_data=b"topsecrt")
    exp = expectations(a, auth_type=AuthType.PASS, auth_data=b"topsecrt")
    assert "topsecrt" not in repr(a)
    assert "topsecrt" not in repr(exp)
    assert "topsecrt" not in repr(decode_ipv4(KA_V2_PASS.replace(b"secret12", b"topsecrt")))


# ---------------------------------------------------------------------------------------------
# Construction errors (programming errors: ValueError, not PacketError)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"vrid": 256},
        {"priority": -1},
        {"adver_int_cs": 150},  # v2 whole seconds only
        {"adver_int_cs": 25600},
        {"addresses": (IPv6Address("::1"),)},
        {"auth_data": b"short"},
        {"addresses": tuple(IPv4Address(i) for i in range(256))},
    ],
)
def test_bad_v2_advert(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        v2_advert(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"adver_int_cs": 4096},
        {"auth_type": AuthType.PASS},
        {"auth_data": bytes(8)},
    ],
)
def test_bad_v3_advert(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        v3_advert(**kwargs)


def test_v2_auth_data_defaults_to_zeros() -> None:
    assert v2_advert().auth_data == bytes(8)
    assert v6_advert(version=VrrpVersion.V2, adver_int_cs=100).auth_data == b""


def test_encode_argument_errors() -> None:
    with pytest.raises(ValueError):
        encode_vrrp(v3_advert())  # v3 IPv4 needs the pseudo-header addresses
    with pytest.raises(ValueError):
        encode_vrrp(v6_advert(), src=SRC, dst=PEER)  # IPv4 addresses for an IPv6 advert
    with pytest.raises(ValueError):
        encode_ipv4(v6_advert(), src=SRC, dst=PEER, ip_id=1)
    with pytest.raises(ValueError):
        encode_ipv4(v2_advert(auth_type=AuthType.AH), src=SRC, dst=PEER, ip_id=1)


# ---------------------------------------------------------------------------------------------
# Decode errors: each structural check
# ---------------------------------------------------------------------------------------------


def _reason(fn: object, *args: object, **kw: object) -> DropReason:
    with pytest.raises(PacketError) as info:
        fn(*args, **kw)  # type: ignore[operator]
    return info.value.reason


def test_decode_ipv4_too_short_for_ip_header() -> None:
    assert _reason(decode_ipv4, KA_V3_V4[:19]) is DropReason.PACKET_LEN_ERR


def test_decode_ipv4_too_short_for_vrrp_header() -> None:
    assert _reason(decode_ipv4, KA_V3_V4[:27]) is DropReason.PACKET_LEN_ERR


def test_decode_ipv4_too_short_for_ah() -> None:
    assert _reason(decode_ipv4, KA_V2_AH[:51]) is DropReason.PACKET_LEN_ERR


def test_decode_ipv4_missing_address() -> None:
    assert _reason(decode_ipv4, KA_V3_V4[:-4]) is DropReason.PACKET_LEN_ERR


def test_decode_ipv4_trailing_bytes() -> None:
    assert _reason(decode_ipv4, KA_V3_V4 + b"\x00") is DropReason.PACKET_LEN_ERR


def test_decode_ipv4_naddr_too_big() -> None:
    assert _reason(decode_ipv4, with_byte(KA_V3_V4, 23, 4)) is DropReason.PACKET_LEN_ERR


def test_decode_ipv4_v2_without_auth_bytes() -> None:
    # A v3-sized message claiming version 2 lacks the 8 auth bytes.
    assert _reason(decode_ipv4, with_byte(KA_V3_V4, 20, 0x21)) is DropReason.PACKET_LEN_ERR


def test_decode_ipv4_not_ipv4() -> None:
    assert _reason(decode_ipv4, with_byte(KA_V3_V4, 0, 0x65)) is DropReason.IP_HDR_ERR


def test_decode_ipv4_bad_ihl() -> None:
    assert _reason(decode_ipv4, with_byte(KA_V3_V4, 0, 0x44)) is DropReason.IP_HDR_ERR


def test_decode_ipv4_wrong_protocol() -> None:
    assert _reason(decode_ipv4, with_byte(KA_V3_V4, 9, 17)) is DropReason.IP_HDR_ERR


def test_decode_ipv4_ah_for_other_protocol() -> None:
    reason = _reason(decode_ipv4, with_byte(KA_V2_AH, 20, 6))
    assert reason is DropReason.AH_NOT_VRRP


def test_decode_ipv4_bad_version() -> None:
    assert _reason(decode_ipv4, with_byte(KA_V3_V4, 20, 0x41)) is DropReason.VERS_ERR


def test_decode_ipv4_bad_v2_auth_type() -> None:
    assert _reason(decode_ipv4, with_byte(KA_V2_PASS, 24, 3)) is DropReason.INVALID_AUTHTYPE


def test_decode_ipv4_bad_type() -> None:
    assert _reason(decode_ipv4, with_byte(KA_V3_V4, 20, 0x32)) is DropReason.INVALID_TYPE_RCVD


def test_decode_ipv4_tot_len_mismatch() -> None:
    bad = fix_ip_checksum(KA_V3_V4[:2] + (len(KA_V3_V4) + 4).to_bytes(2, "big") + KA_V3_V4[4:])
    assert _reason(decode_ipv4, bad) is DropReason.IP_TOT_LEN_ERR


def test_decode_ipv4_with_ip_options() -> None:
    # IHL 6: a 4-byte option (router alert) before the VRRP message.
    hdr = bytearray(KA_V3_V4[:20])
    hdr[0] = 0x46
    hdr[2:4] = (len(KA_V3_V4) + 4).to_bytes(2, "big")
    packet = fix_ip_checksum(bytes(hdr) + b"\x94\x04\x00\x00" + KA_V3_V4[20:])
    rx = decode_ipv4(packet)
    assert rx.advert == decode_ipv4(KA_V3_V4).advert
    assert len(rx.ip_header) == 24


def test_decode_ipv6_errors() -> None:
    kw = {"src": SRC6, "dst": VRRP_MCAST_GROUP6, "hop_limit": 255}
    assert _reason(decode_ipv6, KA_V3_V6_PAYLOAD[:7], **kw) is DropReason.PACKET_LEN_ERR
    assert _reason(decode_ipv6, KA_V3_V6_PAYLOAD[:-1], **kw) is DropReason.PACKET_LEN_ERR
    assert _reason(decode_ipv6, with_byte(KA_V3_V6_PAYLOAD, 0, 0x11), **kw) is DropReason.VERS_ERR
    assert (
        _reason(decode_ipv6, with_byte(KA_V3_V6_PAYLOAD, 0, 0x3F), **kw)
        is DropReason.INVALID_TYPE_RCVD
    )


def test_packet_error_message() -> None:
    err = PacketError(DropReason.CHK_ERR, "detail")
    assert err.reason is DropReason.CHK_ERR
    assert str(err) == "chk_err: detail"
    assert str(PacketError(DropReason.VRID_ERR)) == "vrid_err"


# ---------------------------------------------------------------------------------------------
# validate(): every per-instance check
# ---------------------------------------------------------------------------------------------


def test_validate_vrid_mismatch() -> None:
    a = v2_advert()
    assert validate(rx4(a), expectations(a, vrid=52)) is DropReason.VRID_ERR


def test_validate_ah_header_without_ah_config() -> None:
    rx = decode_ipv4(KA_V2_AH)
    exp = expectations(rx.advert, auth_type=AuthType.NONE)
    assert validate(rx, exp) is DropReason.AH_PRESENCE_MISMATCH


def test_validate_ah_config_without_ah_header() -> None:
    # The header says auth type AH but the packet has no AH header (protocol 112).
    packet = encode_ipv4(v2_advert(), src=SRC, dst=VRRP_MCAST_GROUP4, ip_id=1)
    rx = decode_ipv4(with_byte(packet, 24, AuthType.AH))
    assert rx.advert.auth_type is AuthType.AH
    exp = expectations(rx.advert, auth_type=AuthType.AH, auth_data=bytes(8))
    assert validate(rx, exp) is DropReason.AH_PRESENCE_MISMATCH


@pytest.mark.parametrize("ttl", [0, 1, 64, 254])
def test_validate_multicast_ttl(ttl: int) -> None:
    a = v3_advert()
    assert validate(rx4(a, ttl=ttl), expectations(a)) is DropReason.IP_TTL_ERR


def test_validate_ipv6_hop_limit() -> None:
    a = v6_advert()
    assert validate(rx6(a, hop_limit=1), expectations(a)) is DropReason.IP_TTL_ERR
    # Unknown hop limit (no cmsg): the check is skipped, like keepalived's rx_ttl_hop_limit -1.
    assert validate(rx6(a, hop_limit=None), expectations(a)) is None


def test_validate_unicast_ignores_ttl_255_rule() -> None:
    a = v3_advert()
    exp = expectations(a, unicast_peers=(UnicastPeer(SRC),))
    assert validate(rx4(a, dst=PEER, ttl=60), exp) is None


def test_validate_version_mismatch() -> None:
    a = v3_advert()
    exp = expectations(v2_advert())
    assert validate(rx4(a), exp) is DropReason.VERS_ERR


def test_validate_authtype_mismatch() -> None:
    a = v2_advert(auth_type=AuthType.PASS, auth_data=b"password")
    exp_none = expectations(a, auth_type=AuthType.NONE)
    assert validate(rx4(a), exp_none) is DropReason.AUTHTYPE_MISMATCH
    exp_pass = expectations(v2_advert(), auth_type=AuthType.PASS, auth_data=b"password")
    assert validate(rx4(v2_advert()), exp_pass) is DropReason.AUTHTYPE_MISMATCH


def test_validate_wrong_password() -> None:
    a = v2_advert(auth_type=AuthType.PASS, auth_data=auth_data_from_password("right"))
    exp = expectations(a, auth_type=AuthType.PASS, auth_data=auth_data_from_password("wrong"))
    assert validate(rx4(a), exp) is DropReason.AUTH_FAILURE
    exp_ok = replace(exp, auth_data=auth_data_from_password("right"))
    assert validate(rx4(a), exp_ok) is None


def test_validate_ah_wrong_key() -> None:
    rx = decode_ipv4(KA_V2_AH)
    exp = expectations(rx.advert, auth_type=AuthType.AH, auth_data=auth_data_from_password("nope"))
    assert validate(rx, exp) is DropReason.AUTH_FAILURE


def test_validate_ah_tampered_priority() -> None:
    tampered = with_byte(KA_V2_AH, 46, 200)  # priority 150 -> 200 (VRRP checksum now wrong too)
    rx = decode_ipv4(tampered)
    exp = expectations(rx.advert, auth_type=AuthType.AH, auth_data=auth_data_from_password("ahkey"))
    assert validate(rx, exp) is DropReason.AUTH_FAILURE


def test_validate_ah_spi_must_be_source() -> None:
    key = auth_data_from_password("k")
    a = v2_advert(auth_type=AuthType.AH)
    packet = bytearray(
        encode_ipv4(a, src=SRC, dst=VRRP_MCAST_GROUP4, ip_id=3, ah_key=key, ah_seq=5)
    )
    packet[24:28] = int(OTHER).to_bytes(4, "big")
    # Recompute the ICV so that only the SPI is wrong.
    ah = AhHeader.decode(bytes(packet[20:44]))
    packet[32:44] = ah_icv(bytes(packet[:20]), ah, bytes(packet[44:]), key, zero_ttl=False)
    rx = decode_ipv4(bytes(packet))
    exp = expectations(a, auth_type=AuthType.AH, auth_data=key)
    assert validate(rx, exp) is DropReason.AUTH_FAILURE


@pytest.mark.parametrize(("last", "ok"), [(0, True), (4, True), (5, False), (9, False)])
def test_validate_ah_anti_replay(last: int, ok: bool) -> None:
    key = auth_data_from_password("k")
    a = v2_advert(auth_type=AuthType.AH)
    rx = rx4(a, ah_key=key, ah_seq=5)
    exp = expectations(a, auth_type=AuthType.AH, auth_data=key)
    expected = None if ok else DropReason.AUTH_FAILURE
    assert validate(rx, exp, ah_last_seq=last) is expected


def test_validate_v2_advert_interval() -> None:
    a = v2_advert(adver_int_cs=200)
    reason = validate(rx4(a), expectations(a, adver_int_cs=100))
    assert reason is DropReason.ADVERT_INTERVAL_ERR


def test_validate_v3_advert_interval_mismatch_is_accepted() -> None:
    a = v3_advert(adver_int_cs=35)
    assert validate(rx4(a), expectations(a, adver_int_cs=100)) is None


def test_validate_addr_count() -> None:
    a = v3_advert()
    exp = expectations(a, vips=(*a.addresses, IPv4Address("192.0.2.101")))
    assert validate(rx4(a), exp) is DropReason.ADDR_COUNT_ERR


def test_validate_addr_list() -> None:
    a = v3_advert()
    exp = expectations(a, vips=(IPv4Address("192.0.2.199"),))
    assert validate(rx4(a), exp) is DropReason.ADDR_LIST_ERR


def test_validate_addr_order_does_not_matter() -> None:
    vips = (IPv4Address("192.0.2.100"), IPv4Address("192.0.2.101"))
    a = v3_advert(addresses=vips)
    assert validate(rx4(a), expectations(a, vips=vips[::-1])) is None


def test_validate_skip_check_adv_addr() -> None:
    a = v3_advert()
    exp = expectations(a, vips=(IPv4Address("192.0.2.199"), OTHER), skip_check_adv_addr=True)
    # First advert from a new master: checked.
    assert validate(rx4(a), exp) is DropReason.ADDR_COUNT_ERR
    assert validate(rx4(a), exp, current_master=PEER) is DropReason.ADDR_COUNT_ERR
    # From the master we already know: not checked.
    assert validate(rx4(a), exp, current_master=SRC) is None
    # Without skip_check_adv_addr the current master is checked too.
    exp_check = replace(exp, skip_check_adv_addr=False)
    assert validate(rx4(a), exp_check, current_master=SRC) is DropReason.ADDR_COUNT_ERR


def _corrupt_checksum(packet: bytes, offset: int) -> bytes:
    return packet[:offset] + bytes([packet[offset] ^ 0xFF]) + packet[offset + 1 :]


def test_validate_v2_checksum() -> None:
    rx = decode_ipv4(_corrupt_checksum(KA_V2_PASS, 26))
    exp = expectations(rx.advert, auth_type=AuthType.PASS, auth_data=b"secret12")
    assert validate(rx, exp) is DropReason.CHK_ERR


def test_validate_v3_checksum() -> None:
    rx = decode_ipv4(_corrupt_checksum(KA_V3_V4, 26))
    assert validate(rx, expectations(rx.advert)) is DropReason.CHK_ERR


def test_validate_v3_checksum_depends_on_addresses() -> None:
    # Same VRRP bytes, but claimed from another source: the pseudo-header no longer matches.
    rx = decode_ipv4(fix_ip_checksum(KA_V3_V4[:12] + OTHER.packed + KA_V3_V4[16:]))
    assert validate(rx, expectations(rx.advert)) is DropReason.CHK_ERR


def test_validate_v3_checksum_as_v2() -> None:
    a = v3_advert()
    plain = decode_ipv4(
        encode_ipv4(a, src=SRC, dst=VRRP_MCAST_GROUP4, ip_id=1, v3_checksum_as_v2=True)
    )
    rfc = rx4(a)
    assert validate(plain, expectations(a)) is DropReason.CHK_ERR
    exp = expectations(a, v3_checksum_as_v2=True)
    assert validate(plain, exp) is None
    assert validate(rfc, exp) is None  # Linux-style peers still accepted
    garbage = decode_ipv4(
        _corrupt_checksum(encode_ipv4(a, src=SRC, dst=VRRP_MCAST_GROUP4, ip_id=1), 26)
    )
    assert validate(garbage, exp) is DropReason.CHK_ERR


def test_validate_ipv6_checksum() -> None:
    a = v6_advert()
    payload = _corrupt_checksum(encode_vrrp(a, src=SRC6, dst=VRRP_MCAST_GROUP6), 6)
    rx = decode_ipv6(payload, src=SRC6, dst=VRRP_MCAST_GROUP6, hop_limit=255)
    assert validate(rx, expectations(a)) is DropReason.CHK_ERR
    zero = decode_ipv6(encode_vrrp(a), src=SRC6, dst=VRRP_MCAST_GROUP6, hop_limit=255)
    assert validate(zero, expectations(a)) is DropReason.CHK_ERR


def test_validate_unicast_packet_on_multicast_instance() -> None:
    a = v3_advert()
    assert validate(rx4(a, dst=PEER), expectations(a)) is DropReason.DEST_TYPE_ERR


def test_validate_multicast_packet_on_unicast_instance() -> None:
    a = v3_advert()
    exp = expectations(a, unicast_peers=(UnicastPeer(SRC),))
    assert validate(rx4(a), exp) is DropReason.DEST_TYPE_ERR


def test_validate_ipv6_destination_type() -> None:
    a = v6_advert()
    payload = encode_vrrp(a, src=SRC6, dst=PEER6)
    rx = decode_ipv6(payload, src=SRC6, dst=PEER6, hop_limit=255)
    assert validate(rx, expectations(a)) is DropReason.DEST_TYPE_ERR
    exp = expectations(a, unicast_peers=(UnicastPeer(SRC6),))
    assert validate(rx, exp) is None


def test_validate_unicast_source_check() -> None:
    a = v3_advert()
    peers = (UnicastPeer(OTHER),)
    exp = expectations(a, unicast_peers=peers, check_unicast_src=True)
    assert validate(rx4(a, dst=PEER), exp) is DropReason.UNICAST_SRC_ERR
    assert validate(rx4(a, dst=PEER), replace(exp, check_unicast_src=False)) is None
    assert validate(rx4(a, src=OTHER, dst=PEER), exp) is None


@pytest.mark.parametrize(("ttl", "ok"), [(9, False), (10, True), (20, True), (21, False)])
def test_validate_unicast_ttl_range(ttl: int, ok: bool) -> None:
    a = v3_advert()
    exp = expectations(
        a, unicast_peers=(UnicastPeer(SRC, min_ttl=10, max_ttl=20),), check_unicast_src=True
    )
    expected = None if ok else DropReason.UNICAST_TTL_ERR
    assert validate(rx4(a, dst=PEER, ttl=ttl), exp) is expected


def test_validate_check_order_follows_keepalived() -> None:
    # Wrong TTL and wrong version: TTL is checked first.
    a = v3_advert()
    assert validate(rx4(a, ttl=1), expectations(v2_advert())) is DropReason.IP_TTL_ERR
    # Wrong auth type and wrong interval: auth first.
    b = v2_advert(adver_int_cs=300, auth_type=AuthType.PASS, auth_data=b"xxxxxxxx")
    assert validate(rx4(b), expectations(v2_advert())) is DropReason.AUTHTYPE_MISMATCH
    # Wrong VIP count and bad checksum: count first.
    rx = decode_ipv4(_corrupt_checksum(KA_V3_V4, 26))
    assert validate(rx, expectations(rx.advert, vips=())) is DropReason.ADDR_COUNT_ERR
    # Bad checksum and wrong destination type: checksum first.
    exp = expectations(rx.advert, unicast_peers=(UnicastPeer(SRC),))
    assert validate(rx, exp) is DropReason.CHK_ERR


def test_validate_priority_zero_is_accepted() -> None:
    a = v3_advert(priority=0)
    assert validate(rx4(a), expectations(a)) is None
