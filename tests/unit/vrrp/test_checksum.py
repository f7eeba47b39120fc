"""Internet checksum, pseudo-headers and RFC 1624 incremental updates."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pykeepalived.vrrp.checksum import (
    IpProto,
    incremental_update16,
    incremental_update32,
    internet_checksum,
    ipv4_pseudo_header,
    ipv6_pseudo_header,
    ones_complement_sum,
    vrrp_checksum,
    vrrp_checksum_ok,
)

pytestmark = pytest.mark.unit


def test_rfc1071_example() -> None:
    # RFC 1071 §3 worked example: the words 0001 f203 f4f5 f6f7 sum to ddf2 (folded).
    data = bytes.fromhex("0001f203f4f5f6f7")
    assert ones_complement_sum(data) == 0xDDF2
    assert internet_checksum(data) == 0x220D


def test_odd_length_is_zero_padded() -> None:
    assert ones_complement_sum(b"\x12") == 0x1200
    assert ones_complement_sum(b"\x12\x34\x56") == 0x1234 + 0x5600


def test_checksum_of_data_with_its_checksum_is_zero() -> None:
    data = bytes.fromhex("45000073000040004011") + b"\x00\x00" + bytes.fromhex("c0a80001c0a800c7")
    csum = internet_checksum(data)
    # Wikipedia's IPv4 header example: checksum b861.
    assert csum == 0xB861
    assert internet_checksum(data[:10] + csum.to_bytes(2, "big") + data[12:]) == 0


def test_ipv4_pseudo_header_layout() -> None:
    ph = ipv4_pseudo_header(IPv4Address("192.0.2.1"), IPv4Address("224.0.0.18"), IpProto.VRRP, 12)
    assert ph == bytes.fromhex("c0000201 e0000012 00 70 000c".replace(" ", ""))


def test_ipv6_pseudo_header_layout() -> None:
    ph = ipv6_pseudo_header(IPv6Address("fe80::1"), IPv6Address("ff02::12"), IpProto.VRRP, 24)
    assert len(ph) == 40
    assert ph[:16] == IPv6Address("fe80::1").packed
    assert ph[16:32] == IPv6Address("ff02::12").packed
    assert ph[32:] == bytes.fromhex("00000018 000000 70".replace(" ", ""))


def test_vrrp_v2_checksum_by_hand() -> None:
    # v2/type 1, vrid 1, prio 100, naddr 1, auth 0, adver 1 s, 192.0.2.1, 8 zero auth bytes.
    # 0x2101 + 0x6401 + 0x0001 = 0x8503; + 0xc000 = 0x14503, folded 0x4504; + 0x0201 = 0x4705.
    # checksum = ~0x4705 = 0xb8fa.
    msg = bytes.fromhex("21016401000100 00 c0000201 0000000000000000".replace(" ", ""))
    assert vrrp_checksum(msg) == 0xB8FA
    assert vrrp_checksum_ok(msg[:6] + b"\xb8\xfa" + msg[8:])
    assert not vrrp_checksum_ok(msg[:6] + b"\xb8\xfb" + msg[8:])


def test_vrrp_v3_ipv4_checksum_by_hand() -> None:
    # v3, vrid 1, prio 100, naddr 1, 100 cs, 192.0.2.1; pseudo {192.0.2.1, 224.0.0.18, 0, 112, 12}
    # pseudo sum 0xa290, message sum 0x5768, total 0xf9f8 -> checksum 0x0607.
    msg = bytes.fromhex("310164010064 0000 c0000201".replace(" ", ""))
    src, dst = IPv4Address("192.0.2.1"), IPv4Address("224.0.0.18")
    assert vrrp_checksum(msg, src, dst) == 0x0607
    assert vrrp_checksum_ok(msg[:6] + b"\x06\x07" + msg[8:], src, dst)
    # The same bytes are not a valid "checksum as v2" message, and vice versa.
    assert not vrrp_checksum_ok(msg[:6] + b"\x06\x07" + msg[8:])


def test_checksum_field_is_ignored_when_computing() -> None:
    msg = bytes.fromhex("310164010064 abcd c0000201".replace(" ", ""))
    assert vrrp_checksum(msg) == vrrp_checksum(msg[:6] + b"\x00\x00" + msg[8:])


def test_mixed_families_are_refused() -> None:
    with pytest.raises(ValueError):
        vrrp_checksum(b"\x00" * 8, IPv4Address("192.0.2.1"), IPv6Address("::1"))
    with pytest.raises(ValueError):
        vrrp_checksum(b"\x00" * 8, IPv4Address("192.0.2.1"), None)


def test_negative_zero_is_accepted_on_receive() -> None:
    # A message whose correct checksum is 0x0000 also verifies with 0xffff (one's-complement -0).
    body = bytearray(bytes.fromhex("3101ff010000 0000 00000000"))
    # Choose the last word so that the sum of the rest is 0xffff: checksum then computes to 0.
    partial = ones_complement_sum(bytes(body))
    body[8:10] = ((0xFFFF - partial) & 0xFFFF).to_bytes(2, "big")
    assert vrrp_checksum(bytes(body)) == 0
    assert vrrp_checksum_ok(bytes(body))
    assert vrrp_checksum_ok(bytes(body[:6]) + b"\xff\xff" + bytes(body[8:]))


@given(
    st.binary(min_size=8, max_size=64).filter(lambda b: len(b) % 2 == 0),
    st.integers(0, 0xFFFF),
    st.data(),
)
def test_incremental_update16_matches_recompute(
    data: bytes, new_word: int, d: st.DataObject
) -> None:
    index = d.draw(st.integers(0, len(data) // 2 - 1))
    old_word = int.from_bytes(data[2 * index : 2 * index + 2], "big")
    before = internet_checksum(data)
    changed = data[: 2 * index] + new_word.to_bytes(2, "big") + data[2 * index + 2 :]
    updated = incremental_update16(before, old_word, new_word)
    # Both are valid one's-complement checksums of the changed data (0 and 0xffff are equal).
    assert ones_complement_sum(changed, updated) in (0xFFFF, 0)
    if any(changed):
        assert updated == internet_checksum(changed)


@given(st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFFFFFF))
def test_incremental_update32_for_an_address(old: int, new: int) -> None:
    prefix = bytes.fromhex("31016401006400 00".replace(" ", ""))
    before = internet_checksum(prefix + old.to_bytes(4, "big"))
    after = internet_checksum(prefix + new.to_bytes(4, "big"))
    assert incremental_update32(before, old, new) == after
