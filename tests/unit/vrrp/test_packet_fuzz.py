"""Property tests: encode/decode round trips, and decoders that raise only PacketError."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pykeepalived.vrrp.auth import AuthType
from pykeepalived.vrrp.checksum import vrrp_checksum_ok
from pykeepalived.vrrp.packet import (
    VRRP_MCAST_GROUP4,
    Advertisement,
    DropReason,
    Family,
    InstanceExpectations,
    PacketError,
    ReceivedAdvert,
    UnicastPeer,
    VrrpVersion,
    decode_ipv4,
    decode_ipv6,
    decode_vrrp,
    encode_ipv4,
    encode_vrrp,
    validate,
)

pytestmark = pytest.mark.unit

ipv4 = st.builds(IPv4Address, st.integers(0, 2**32 - 1))
ipv6 = st.builds(IPv6Address, st.integers(0, 2**128 - 1))


@st.composite
def adverts(draw: st.DrawFn, family: Family | None = None) -> Advertisement:
    fam = family if family is not None else draw(st.sampled_from(Family))
    version = draw(st.sampled_from(VrrpVersion))
    addr: st.SearchStrategy[IPv4Address | IPv6Address] = ipv4 if fam is Family.IPV4 else ipv6
    addresses = tuple(draw(st.lists(addr, max_size=20)))
    auth_type = AuthType.NONE
    auth_data = b""
    if version is VrrpVersion.V2:
        adver_int_cs = draw(st.integers(0, 255)) * 100
        if fam is Family.IPV4:
            auth_type = draw(st.sampled_from(AuthType))
            auth_data = draw(st.binary(min_size=8, max_size=8))
        else:
            auth_type = draw(st.sampled_from(AuthType))
    else:
        adver_int_cs = draw(st.integers(0, 4095))
    return Advertisement(
        version=version,
        vrid=draw(st.integers(0, 255)),
        priority=draw(st.integers(0, 255)),
        adver_int_cs=adver_int_cs,
        addresses=addresses,
        family=fam,
        auth_type=auth_type,
        auth_data=auth_data,
    )


def expectations_strategy(family: Family) -> st.SearchStrategy[InstanceExpectations]:
    addr: st.SearchStrategy[IPv4Address | IPv6Address] = ipv4 if family is Family.IPV4 else ipv6
    return st.builds(
        InstanceExpectations,
        version=st.sampled_from(VrrpVersion),
        vrid=st.integers(0, 255),
        family=st.just(family),
        adver_int_cs=st.integers(0, 4095),
        vips=st.lists(addr, max_size=3).map(tuple),
        auth_type=st.sampled_from(AuthType),
        auth_data=st.binary(min_size=8, max_size=8),
        unicast_peers=st.lists(
            st.builds(UnicastPeer, addr, st.integers(0, 255), st.integers(0, 255)), max_size=2
        ).map(tuple),
        check_unicast_src=st.booleans(),
        skip_check_adv_addr=st.booleans(),
        v3_checksum_as_v2=st.booleans(),
    )


@given(adverts(Family.IPV4), ipv4, ipv4, st.integers(0, 0xFFFF), st.booleans())
def test_ipv4_round_trip(
    advert: Advertisement, src: IPv4Address, dst: IPv4Address, ip_id: int, as_v2: bool
) -> None:
    packet = encode_ipv4(
        advert,
        src=src,
        dst=dst,
        ip_id=ip_id,
        v3_checksum_as_v2=as_v2,
        ah_key=b"k" * 8,
        ah_seq=1,
    )
    rx = decode_ipv4(packet)
    assert rx.advert == advert
    assert (rx.src, rx.dst, rx.ip_id, rx.ttl) == (src, dst, ip_id, 255)
    assert (rx.ah is not None) == (
        advert.version is VrrpVersion.V2 and advert.auth_type is AuthType.AH
    )
    if advert.version is VrrpVersion.V2 or as_v2:
        assert vrrp_checksum_ok(rx.message)
    else:
        assert vrrp_checksum_ok(rx.message, src, dst)


@given(adverts(Family.IPV6), ipv6, ipv6, st.integers(0, 255))
def test_ipv6_round_trip(
    advert: Advertisement, src: IPv6Address, dst: IPv6Address, hl: int
) -> None:
    payload = encode_vrrp(advert, src=src, dst=dst)
    rx = decode_ipv6(payload, src=src, dst=dst, hop_limit=hl)
    assert rx.advert == advert
    assert vrrp_checksum_ok(payload, src, dst)


@given(adverts())
def test_message_round_trip(advert: Advertisement) -> None:
    message = encode_vrrp(advert, v3_checksum_as_v2=True)
    assert len(message) == advert.message_len
    assert decode_vrrp(message, advert.family) == advert


@given(st.binary(max_size=200))
def test_decode_ipv4_random_bytes(data: bytes) -> None:
    try:
        rx = decode_ipv4(data)
    except PacketError as err:
        assert isinstance(err.reason, DropReason)
        return
    assert len(rx.ip_header) + (24 if rx.ah else 0) + rx.advert.message_len == len(data)


@given(st.binary(max_size=200), st.sampled_from(Family))
def test_decode_vrrp_random_bytes(data: bytes, family: Family) -> None:
    try:
        advert = decode_vrrp(data, family)
    except PacketError as err:
        assert isinstance(err.reason, DropReason)
        return
    assert advert.message_len == len(data)


@given(st.binary(max_size=200), st.one_of(st.none(), st.integers(0, 255)))
def test_decode_ipv6_random_bytes(data: bytes, hop_limit: int | None) -> None:
    try:
        rx = decode_ipv6(
            data, src=IPv6Address("fe80::1"), dst=IPv6Address("ff02::12"), hop_limit=hop_limit
        )
    except PacketError as err:
        assert isinstance(err.reason, DropReason)
        return
    assert rx.advert.message_len == len(data)


@st.composite
def mutated_ipv4_packets(draw: st.DrawFn) -> bytes:
    """Valid packets with a few bytes flipped, truncated or extended: near-miss inputs."""
    advert = draw(adverts(Family.IPV4))
    packet = bytearray(
        encode_ipv4(
            advert,
            src=draw(ipv4),
            dst=draw(ipv4),
            ip_id=1,
            ah_key=bytes(8),
            ah_seq=draw(st.integers(0, 2**32 - 1)),
        )
    )
    for _ in range(draw(st.integers(0, 4))):
        index = draw(st.integers(0, len(packet) - 1))
        packet[index] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(packet)))
    return bytes(packet[:cut]) + draw(st.binary(max_size=8))


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(mutated_ipv4_packets(), expectations_strategy(Family.IPV4), st.integers(0, 2**32))
def test_decode_and_validate_mutated_ipv4(
    packet: bytes, exp: InstanceExpectations, last_seq: int
) -> None:
    try:
        rx = decode_ipv4(packet)
    except PacketError:
        return
    # validate never raises on anything the decoder accepted.
    reason = validate(rx, exp, current_master=rx.src, ah_last_seq=last_seq)
    assert reason is None or reason.name


@given(
    adverts(Family.IPV6),
    expectations_strategy(Family.IPV6),
    ipv6,
    ipv6,
    st.none() | st.integers(0, 255),
)
def test_validate_ipv6_never_raises(
    advert: Advertisement,
    exp: InstanceExpectations,
    src: IPv6Address,
    dst: IPv6Address,
    hop_limit: int | None,
) -> None:
    rx = decode_ipv6(encode_vrrp(advert, src=src, dst=dst), src=src, dst=dst, hop_limit=hop_limit)
    reason = validate(rx, exp)
    assert reason is None or reason.name


@given(adverts(Family.IPV4))
def test_validate_accepts_own_adverts(advert: Advertisement) -> None:
    """An instance accepts a well-formed advert that matches its own configuration."""
    key = bytes(range(8))
    auth_data = advert.auth_data if advert.auth_type is AuthType.PASS else key
    packet = encode_ipv4(
        advert, src=IPv4Address("192.0.2.9"), dst=VRRP_MCAST_GROUP4, ip_id=5, ah_key=key, ah_seq=3
    )
    rx: ReceivedAdvert = decode_ipv4(packet)
    exp = InstanceExpectations(
        version=advert.version,
        vrid=advert.vrid,
        family=Family.IPV4,
        adver_int_cs=advert.adver_int_cs,
        vips=advert.addresses,
        auth_type=advert.auth_type,
        auth_data=auth_data,
    )
    assert validate(rx, exp, ah_last_seq=2) is None
