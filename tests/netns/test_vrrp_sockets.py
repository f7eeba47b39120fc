"""Raw VRRP sockets between two namespaces: multicast and unicast, IPv4 and IPv6, drops."""

from __future__ import annotations

import asyncio
import select
import time
from collections.abc import Callable, Iterator
from ipaddress import IPv4Address, IPv6Address

import pytest

from pykeepalived.lab.topology import Topology
from pykeepalived.vrrp.auth import AuthType, auth_data_from_password
from pykeepalived.vrrp.packet import (
    VRRP_MCAST_GROUP4,
    VRRP_MCAST_GROUP6,
    Advertisement,
    Family,
    InstanceExpectations,
    PacketError,
    ReceivedAdvert,
    VrrpVersion,
    encode_ipv4,
    encode_vrrp,
    validate,
)
from pykeepalived.vrrp.sockets import Datagram, SocketKey, VrrpSocket, open_vrrp_socket
from pykeepalived.vrrp.stats import DropReason

pytestmark = pytest.mark.netns

TopologyFactory = Callable[..., Topology]


def _ifindex(topo: Topology, host: str) -> int:
    return int(topo.ip_json(host, ["link", "show", "dev", "eth0"])[0]["ifindex"])


def _link_local(topo: Topology, host: str) -> IPv6Address:
    infos = topo.ip_json(host, ["-6", "addr", "show", "dev", "eth0"])[0]["addr_info"]
    return IPv6Address(next(a["local"] for a in infos if a.get("scope") == "link"))


def _open(topo: Topology, host: str, key: SocketKey) -> VrrpSocket:
    return open_vrrp_socket(key, _ifindex(topo, host), netns=topo.host(host).netns)


def _recv(sock: VrrpSocket, timeout_s: float = 3.0) -> Datagram:
    ready, _, _ = select.select([sock.fileno()], [], [], timeout_s)
    assert ready, f"nothing received on {sock.key.describe()}"
    got = sock.read_one()
    assert got is not None
    return got


def _nothing(sock: VrrpSocket, timeout_s: float = 0.3) -> bool:
    ready, _, _ = select.select([sock.fileno()], [], [], timeout_s)
    return not ready


@pytest.fixture
def two_hosts(topology: TopologyFactory) -> Iterator[Topology]:
    yield topology(hosts=2)


def _sockets(topo: Topology, key1: SocketKey, key2: SocketKey) -> tuple[VrrpSocket, VrrpSocket]:
    return _open(topo, "h1", key1), _open(topo, "h2", key2)


def test_ipv4_multicast_v3_advert_crosses_with_ttl_tos_and_checksum(two_hosts: Topology) -> None:
    topo = two_hosts
    key = SocketKey("eth0", Family.IPV4, False, VRRP_MCAST_GROUP4)
    s1, s2 = _sockets(topo, key, key)
    try:
        src = topo.host("h1").ipv4()
        advert = Advertisement(VrrpVersion.V3, 51, 150, 100, (IPv4Address("192.0.2.100"),))
        pkt = encode_ipv4(advert, src=src, dst=VRRP_MCAST_GROUP4, ip_id=7)
        assert s1.send_ipv4(pkt, VRRP_MCAST_GROUP4)
        rx = _recv(s2)
        assert isinstance(rx, ReceivedAdvert)
        assert rx.advert.vrid == 51 and rx.advert.priority == 150
        assert rx.src == src and rx.dst == VRRP_MCAST_GROUP4
        assert rx.ttl == 255 and rx.tos == 0xC0 and rx.ip_id == 7
        exp = InstanceExpectations(
            VrrpVersion.V3, 51, Family.IPV4, 100, vips=(IPv4Address("192.0.2.100"),)
        )
        assert validate(rx, exp) is None
        # multicast loop is off: the sender does not hear itself
        assert _nothing(s1)
        assert s1.stats.sent == 1 and s2.stats.received == 1
    finally:
        s1.close()
        s2.close()


def test_ipv4_multicast_socket_ignores_unicast_and_unicast_socket_gets_it(
    two_hosts: Topology,
) -> None:
    topo = two_hosts
    h1, h2 = topo.host("h1").ipv4(), topo.host("h2").ipv4()
    mkey = SocketKey("eth0", Family.IPV4, False, VRRP_MCAST_GROUP4)
    s1 = _open(topo, "h1", SocketKey("eth0", Family.IPV4, True, h1))
    s2_mcast = _open(topo, "h2", mkey)
    s2_ucast = _open(topo, "h2", SocketKey("eth0", Family.IPV4, True, h2))
    try:
        advert = Advertisement(
            VrrpVersion.V2,
            9,
            100,
            100,
            (IPv4Address("192.0.2.200"),),
            auth_type=AuthType.PASS,
            auth_data=auth_data_from_password("secret"),
        )
        assert s1.send_ipv4(encode_ipv4(advert, src=h1, dst=h2, ip_id=1), h2)
        rx = _recv(s2_ucast)
        assert isinstance(rx, ReceivedAdvert)
        assert rx.dst == h2 and not rx.is_multicast
        assert rx.advert.auth_data == auth_data_from_password("secret")
        assert _nothing(s2_mcast)
    finally:
        for s in (s1, s2_mcast, s2_ucast):
            s.close()


def test_ipv6_multicast_hop_limit_pktinfo_and_kernel_checksum(two_hosts: Topology) -> None:
    topo = two_hosts
    key = SocketKey("eth0", Family.IPV6, False, VRRP_MCAST_GROUP6)
    s1, s2 = _sockets(topo, key, key)
    try:
        ll1 = _link_local(topo, "h1")
        vip = IPv6Address("fe80::1:100")
        advert = Advertisement(VrrpVersion.V3, 61, 200, 10, (vip,), family=Family.IPV6)
        assert s1.send_ipv6(encode_vrrp(advert), VRRP_MCAST_GROUP6, ll1)
        rx = _recv(s2)
        assert isinstance(rx, ReceivedAdvert)
        assert rx.src == ll1 and rx.dst == VRRP_MCAST_GROUP6 and rx.ttl == 255
        assert rx.advert.adver_int_cs == 10 and rx.advert.addresses == (vip,)
        # the kernel filled in the checksum (IPV6_CHECKSUM): validate() recomputes it
        exp = InstanceExpectations(VrrpVersion.V3, 61, Family.IPV6, 10, vips=(vip,))
        assert validate(rx, exp) is None
        assert _nothing(s1)
    finally:
        s1.close()
        s2.close()


def test_ipv6_unicast_with_global_source(two_hosts: Topology) -> None:
    topo = two_hosts
    h1, h2 = topo.host("h1").ipv6(), topo.host("h2").ipv6()
    s1 = _open(topo, "h1", SocketKey("eth0", Family.IPV6, True, h1))
    s2 = _open(topo, "h2", SocketKey("eth0", Family.IPV6, True, h2))
    try:
        advert = Advertisement(
            VrrpVersion.V3, 62, 90, 100, (IPv6Address("2001:db8:0:1::100"),), family=Family.IPV6
        )
        assert s1.send_ipv6(encode_vrrp(advert), h2, h1)
        rx = _recv(s2)
        assert isinstance(rx, ReceivedAdvert)
        assert rx.src == h1 and rx.dst == h2 and not rx.is_multicast
        assert rx.ttl == 64  # kernel default for unicast, as keepalived leaves it
    finally:
        s1.close()
        s2.close()


def test_malformed_packets_are_counted_drops_and_reader_survives(two_hosts: Topology) -> None:
    topo = two_hosts
    key = SocketKey("eth0", Family.IPV4, False, VRRP_MCAST_GROUP4)
    s2 = _open(topo, "h2", key)
    raw = open_vrrp_socket(key, _ifindex(topo, "h1"), netns=topo.host("h1").netns)
    src = topo.host("h1").ipv4()
    got: list[Datagram] = []

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        s2.attach(loop, lambda _sock, d, _at: got.append(d))
        good = encode_ipv4(
            Advertisement(VrrpVersion.V3, 1, 100, 100, ()), src=src, dst=VRRP_MCAST_GROUP4, ip_id=3
        )
        # truncated VRRP header, a wrong version, then a good one
        hdr = bytearray(good[:20])
        short = bytearray(hdr)
        short[2:4] = (24).to_bytes(2, "big")
        assert raw.send_ipv4(bytes(short) + b"\x31\x01\x64\x00", VRRP_MCAST_GROUP4)
        bad_version = bytearray(good)
        bad_version[20] = 0x71
        assert raw.send_ipv4(bytes(bad_version), VRRP_MCAST_GROUP4)
        assert raw.send_ipv4(good, VRRP_MCAST_GROUP4)
        for _ in range(100):
            if len(got) >= 3:
                break
            await asyncio.sleep(0.02)
        s2.detach()

    try:
        asyncio.run(scenario())
        assert len(got) == 3
        assert isinstance(got[0], PacketError) and got[0].reason is DropReason.PACKET_LEN_ERR
        assert isinstance(got[1], PacketError) and got[1].reason is DropReason.VERS_ERR
        assert isinstance(got[2], ReceivedAdvert)
        assert s2.stats.drops == {"packet_len_err": 1, "vers_err": 1}
    finally:
        raw.close()
        s2.close()


def test_bounded_reads_per_wakeup(two_hosts: Topology) -> None:
    topo = two_hosts
    key = SocketKey("eth0", Family.IPV4, False, VRRP_MCAST_GROUP4)
    s1, s2 = _sockets(topo, key, key)
    s2.max_reads_per_wakeup = 4
    src = topo.host("h1").ipv4()
    try:
        pkt = encode_ipv4(
            Advertisement(VrrpVersion.V3, 1, 100, 100, ()), src=src, dst=VRRP_MCAST_GROUP4, ip_id=5
        )
        for _ in range(10):
            assert s1.send_ipv4(pkt, VRRP_MCAST_GROUP4)
        seen: list[Datagram] = []
        s2.set_handler(lambda _s, d, _at: seen.append(d))
        select.select([s2.fileno()], [], [], 3.0)
        time.sleep(0.2)
        s2.on_readable()
        assert len(seen) == 4 and s2.stats.reads_capped == 1
        s2.on_readable()
        s2.on_readable()
        assert len(seen) == 10
    finally:
        s1.close()
        s2.close()


def test_socket_key_rejects_inconsistent_values() -> None:
    with pytest.raises(ValueError):
        SocketKey("eth0", Family.IPV4, False, IPv4Address("192.0.2.1"))
    with pytest.raises(ValueError):
        SocketKey("eth0", Family.IPV6, False, VRRP_MCAST_GROUP4)
    with pytest.raises(ValueError):
        SocketKey("eth0", Family.IPV6, False, VRRP_MCAST_GROUP6, proto=51)
    assert SocketKey("eth0", Family.IPV4, False, VRRP_MCAST_GROUP4).proto == 112
