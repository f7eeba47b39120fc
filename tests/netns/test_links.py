"""Interface lookup (pykeepalived.net.links) against real interfaces in a lab namespace."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from ipaddress import IPv4Address, IPv4Interface, IPv6Address

import pytest

from pykeepalived.lab.topology import Topology, run_in
from pykeepalived.net.links import (
    IfFlag,
    InterfaceNotFoundError,
    LinkInfo,
    NamespaceNotFoundError,
    NetlinkSession,
    OperState,
    get_link,
    get_link_by_index,
    link_index,
    list_links,
)

pytestmark = pytest.mark.netns

TopologyFactory = Callable[..., Topology]


def _get(ns: str, name: str, exclude_ipv4: Collection[IPv4Address] = ()) -> LinkInfo:
    async def go() -> LinkInfo:
        async with NetlinkSession(ns) as nl:
            return await get_link(nl, name, exclude_ipv4=exclude_ipv4)

    return asyncio.run(go())


def test_link_fields_match_ip_command(topology: TopologyFactory) -> None:
    topo = topology(hosts=2)
    host = topo.host("h1")
    info = _get(host.netns, "eth0")
    shown = topo.ip_json("h1", ["-d", "addr", "show", "dev", "eth0"])[0]
    assert info.index == shown["ifindex"]
    assert info.name == "eth0"
    assert info.mac == host.iface().mac == shown["address"]
    assert info.mac_bytes == bytes.fromhex(info.mac.replace(":", ""))
    assert info.mtu == 1500
    assert info.admin_up and info.running and not info.noarp
    assert info.flags & IfFlag.MULTICAST
    assert info.oper_state is OperState.UP
    assert info.kind == "veth"
    assert info.link_index is not None  # the peer, in the switch namespace
    assert info.ipv4_primary == IPv4Interface("192.0.2.1/24")
    link_local = [a["local"] for a in shown["addr_info"] if a.get("scope") == "link"]
    assert info.ipv6_link_local == IPv6Address(link_local[0])
    assert info.ipv6_forwarding is False


def test_primary_ipv4_skips_secondaries_and_excluded_vips(topology: TopologyFactory) -> None:
    topo = topology(hosts=1)
    ns = topo.host("h1").netns
    run_in(ns, ["ip", "addr", "add", "192.0.2.50/24", "dev", "eth0"])  # a secondary
    run_in(ns, ["ip", "addr", "add", "192.0.2.100/32", "dev", "eth0", "scope", "link"])
    info = _get(ns, "eth0", exclude_ipv4={IPv4Address("192.0.2.100")})
    assert info.ipv4_primary == IPv4Interface("192.0.2.1/24")


def test_state_changes_and_forwarding_are_seen(topology: TopologyFactory) -> None:
    topo = topology(hosts=2)
    ns = topo.host("h1").netns
    run_in(ns, ["sysctl", "-q", "-w", "net.ipv6.conf.eth0.forwarding=1"])
    run_in(ns, ["ip", "link", "set", "eth0", "down"])
    info = _get(ns, "eth0")
    assert not info.admin_up
    assert info.oper_state is OperState.DOWN
    assert info.ipv6_forwarding is True
    # the peer going down removes our carrier: admin up, but not running (veth says DOWN)
    run_in(ns, ["ip", "link", "set", "eth0", "up"])
    sw_port = topo.host("h1").iface().switch_port
    run_in(topo.switch_ns, ["ip", "link", "set", sw_port, "down"])
    info = _get(ns, "eth0")
    assert info.admin_up and not info.running
    assert info.oper_state in (OperState.DOWN, OperState.LOWERLAYERDOWN)


def test_lookup_by_index_listing_and_errors(topology: TopologyFactory) -> None:
    topo = topology(hosts=1)
    ns = topo.host("h1").netns

    async def go() -> None:
        async with NetlinkSession(ns) as nl:
            idx = await link_index(nl, "eth0")
            by_index = await get_link_by_index(nl, idx)
            assert by_index.name == "eth0"
            names = [link.name for link in await list_links(nl)]
            assert names == ["lo", "eth0"]
            with pytest.raises(InterfaceNotFoundError):
                await get_link(nl, "nosuch0")
            with pytest.raises(InterfaceNotFoundError):
                await link_index(nl, "nosuch0")
            with pytest.raises(InterfaceNotFoundError):
                await get_link_by_index(nl, 9999)

    asyncio.run(go())


def test_missing_namespace_is_our_error() -> None:
    async def go() -> None:
        async with NetlinkSession("pk-no-such-namespace"):
            pass

    with pytest.raises(NamespaceNotFoundError):
        asyncio.run(go())
