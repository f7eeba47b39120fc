"""VRRPv2 PASS and IPsec-AH (HMAC-MD5-96) authentication, checked against keepalived's bytes."""

from __future__ import annotations

import pytest

from pykeepalived.vrrp.auth import (
    AH_HEADER_LEN,
    AH_ICV_LEN,
    AhHeader,
    AuthType,
    ah_icv,
    auth_data_from_password,
    check_password,
)

pytestmark = pytest.mark.unit

# Captured from Debian's keepalived 2.2.7 (tcpdump on the peer end of a veth pair in a test
# namespace): the first advert of an instance with vrid 12, priority 150, advert_int 1,
# auth_type AH, auth_pass "ahkey", VIP 192.0.2.110, multicast from 192.0.2.1.
KA_AH_MCAST = bytes.fromhex(
    "45c0004000010000ff3318b6c0000201e0000012"  # IPv4: tos c0, id 1, ttl 255, proto 51
    "70040000c000020100000001da86e79c2c5d25b005f9d267"  # AH: spi=src, seq 1, ICV
    "210c960102018482c000026e0000000000000000"  # VRRPv2 message, auth bytes zero
)
# Same, vrid 13, auth_pass "uni", unicast_src_ip 192.0.2.1, unicast_peer 192.0.2.2 (the TTL is
# zeroed in the ICV input for unicast instances).
KA_AH_UNICAST = bytes.fromhex(
    "45c0004000010000ff3336c6c0000201c0000202"
    "70040000c0000201000000014b7e1c73ed41e2526e648fa0"
    "210d960102018477c00002780000000000000000"
)


def _split(packet: bytes) -> tuple[bytes, AhHeader, bytes]:
    return packet[:20], AhHeader.decode(packet[20:44]), packet[44:]


def test_auth_type_values() -> None:
    assert (AuthType.NONE, AuthType.PASS, AuthType.AH) == (0, 1, 2)


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("secret12", b"secret12"),
        ("abc", b"abc\x00\x00\x00\x00\x00"),
        ("longerthan8", b"longerth"),
        (b"\x01\x02", b"\x01\x02" + bytes(6)),
        ("", bytes(8)),
    ],
)
def test_auth_data_from_password(password: str | bytes, expected: bytes) -> None:
    assert auth_data_from_password(password) == expected


def test_check_password() -> None:
    assert check_password(b"secret12", auth_data_from_password("secret12"))
    assert not check_password(b"secret13", auth_data_from_password("secret12"))
    assert not check_password(b"secret1\x00", auth_data_from_password("secret12"))


def test_ah_header_layout_from_keepalived() -> None:
    _, ah, _ = _split(KA_AH_MCAST)
    assert ah.next_header == 112
    assert ah.payload_len == 4
    assert ah.reserved == 0
    assert ah.spi == 0xC0000201  # 192.0.2.1
    assert ah.seq_number == 1
    assert ah.icv == bytes.fromhex("da86e79c2c5d25b005f9d267")
    assert ah.encode() == KA_AH_MCAST[20:44]
    assert len(ah.encode()) == AH_HEADER_LEN


def test_ah_header_zero_icv_form() -> None:
    ah = AhHeader(spi=1, seq_number=2, icv=b"x" * AH_ICV_LEN)
    assert ah.encode(zero_icv=True)[12:] == bytes(AH_ICV_LEN)
    assert ah.encode()[12:] == b"x" * AH_ICV_LEN
    with pytest.raises(ValueError):
        AhHeader(spi=1, seq_number=2, icv=b"short").encode()


def test_icv_matches_keepalived_multicast() -> None:
    ip, ah, vrrp = _split(KA_AH_MCAST)
    assert ah_icv(ip, ah, vrrp, auth_data_from_password("ahkey"), zero_ttl=False) == ah.icv


def test_icv_matches_keepalived_unicast() -> None:
    ip, ah, vrrp = _split(KA_AH_UNICAST)
    key = auth_data_from_password("uni")
    assert ah_icv(ip, ah, vrrp, key, zero_ttl=True) == ah.icv
    # The TTL really is excluded for unicast instances, and included for multicast ones.
    assert ah_icv(ip, ah, vrrp, key, zero_ttl=False) != ah.icv


def test_icv_ignores_mutable_fields() -> None:
    ip, ah, vrrp = _split(KA_AH_MCAST)
    key = auth_data_from_password("ahkey")
    mutated = bytearray(ip)
    mutated[1] = 0x10  # TOS
    mutated[6:8] = b"\x40\x00"  # DF set
    mutated[10:12] = b"\xde\xad"  # header checksum
    assert ah_icv(bytes(mutated), ah, vrrp, key, zero_ttl=False) == ah.icv


@pytest.mark.parametrize(
    "change",
    ["ip_id", "ttl", "src", "seq", "vrrp", "key"],
)
def test_icv_covers_immutable_fields(change: str) -> None:
    ip, ah, vrrp = _split(KA_AH_MCAST)
    key = auth_data_from_password("ahkey")
    mip = bytearray(ip)
    if change == "ip_id":
        mip[5] ^= 1
    elif change == "ttl":
        mip[8] = 254
    elif change == "src":
        mip[15] ^= 1
    elif change == "seq":
        ah = AhHeader(spi=ah.spi, seq_number=ah.seq_number + 1, icv=ah.icv)
    elif change == "vrrp":
        vrrp = vrrp[:2] + b"\x95" + vrrp[3:]  # priority 150 -> 149
    elif change == "key":
        key = auth_data_from_password("ahkez")
    assert ah_icv(bytes(mip), ah, vrrp, key, zero_ttl=False) != ah.icv


def test_icv_ignores_received_icv_value() -> None:
    ip, ah, vrrp = _split(KA_AH_MCAST)
    other = AhHeader(spi=ah.spi, seq_number=ah.seq_number, icv=bytes(AH_ICV_LEN))
    key = auth_data_from_password("ahkey")
    assert ah_icv(ip, other, vrrp, key, zero_ttl=False) == ah.icv
