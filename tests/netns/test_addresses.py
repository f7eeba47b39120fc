"""VIP add/remove (pykeepalived.net.addresses) checked with ``ip -j addr`` in a lab namespace."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from ipaddress import IPv4Address, IPv4Interface, IPv6Interface
from typing import Any, TypeVar

import pytest

from pykeepalived.lab.topology import Topology
from pykeepalived.net.addresses import (
    INFINITY_LIFE_TIME,
    Scope,
    VirtualAddress,
    add_address,
    has_address,
    list_addresses,
    remove_address,
    remove_stale,
)
from pykeepalived.net.links import AddrFlag, InterfaceNotFoundError, NetlinkSession

pytestmark = pytest.mark.netns

TopologyFactory = Callable[..., Topology]
T = TypeVar("T")


def _in_ns(ns: str, fn: Callable[[NetlinkSession], Awaitable[T]]) -> T:
    async def go() -> T:
        async with NetlinkSession(ns) as nl:
            return await fn(nl)

    return asyncio.run(go())


def _shown(topo: Topology, host: str, dev: str = "eth0") -> dict[str, dict[str, Any]]:
    """``ip -j addr show dev DEV`` inside the host, keyed by address."""
    infos = topo.ip_json(host, ["addr", "show", "dev", dev])[0]["addr_info"]
    return {a["local"]: a for a in infos if a}


def test_ipv4_vip_with_label_scope_brd_added_once_and_removed_once(
    topology: TopologyFactory,
) -> None:
    topo = topology(hosts=1)
    ns = topo.host("h1").netns
    vip = VirtualAddress.of(
        "192.0.2.100",
        "eth0",
        label="eth0:vip",
        scope=Scope.LINK,
        broadcast=IPv4Address("192.0.2.255"),
    )
    assert vip.address == IPv4Interface("192.0.2.100/32")
    assert _in_ns(ns, lambda nl: add_address(nl, vip)) is True
    shown = _shown(topo, "h1")["192.0.2.100"]
    assert shown["prefixlen"] == 32
    assert shown["label"] == "eth0:vip"
    assert shown["scope"] == "link"
    assert shown["broadcast"] == "192.0.2.255"
    assert shown["valid_life_time"] == INFINITY_LIFE_TIME
    assert shown["preferred_life_time"] == INFINITY_LIFE_TIME

    assert _in_ns(ns, lambda nl: add_address(nl, vip)) is False  # EEXIST is fine
    assert _in_ns(ns, lambda nl: has_address(nl, vip)) is True
    assert _in_ns(ns, lambda nl: remove_address(nl, vip)) is True
    assert "192.0.2.100" not in _shown(topo, "h1")
    assert _in_ns(ns, lambda nl: remove_address(nl, vip)) is False  # absent is fine
    assert _in_ns(ns, lambda nl: has_address(nl, vip)) is False
    assert "192.0.2.1" in _shown(topo, "h1")  # the host's own address is untouched


def test_ipv6_128_vip_is_nodad_and_deprecated_like_keepalived(topology: TopologyFactory) -> None:
    topo = topology(hosts=1)
    ns = topo.host("h1").netns
    vip = VirtualAddress.of("2001:db8:0:1::100", "eth0")
    assert vip.address == IPv6Interface("2001:db8:0:1::100/128")
    assert _in_ns(ns, lambda nl: add_address(nl, vip)) is True
    shown = _shown(topo, "h1")["2001:db8:0:1::100"]
    assert shown["prefixlen"] == 128
    assert shown.get("nodad") is True
    assert shown.get("deprecated") is True
    assert shown["preferred_life_time"] == 0
    assert shown["valid_life_time"] == INFINITY_LIFE_TIME
    assert "noprefixroute" not in shown and "home" not in shown

    entries = _in_ns(ns, lambda nl: list_addresses(nl, "eth0", family=socket.AF_INET6))
    entry = next(e for e in entries if e.address == vip.address)
    assert entry.flags & AddrFlag.NODAD
    assert entry.flags & AddrFlag.DEPRECATED
    assert entry.preferred_lft_s == 0
    assert all(e.address.version == 6 for e in entries)
    assert _in_ns(ns, lambda nl: remove_address(nl, vip)) is True
    assert "2001:db8:0:1::100" not in _shown(topo, "h1")


def test_ipv6_options_minus_nodad_home_noprefixroute_preferred_forever(
    topology: TopologyFactory,
) -> None:
    topo = topology(hosts=1, ipv6_dad=True)
    ns = topo.host("h1").netns
    vip = VirtualAddress.of(
        "2001:db8:0:7::5/64",
        "eth0",
        nodad=False,
        home=True,
        noprefixroute=True,
        preferred_lft_s=INFINITY_LIFE_TIME,
    )
    assert _in_ns(ns, lambda nl: add_address(nl, vip)) is True
    shown = _shown(topo, "h1")["2001:db8:0:7::5"]
    assert "nodad" not in shown
    assert shown.get("tentative") is True  # DAD runs, as asked by -nodad
    assert shown.get("home") is True
    assert shown.get("noprefixroute") is True
    assert shown["preferred_life_time"] == INFINITY_LIFE_TIME
    routes = topo.ip_json("h1", ["-6", "route", "show", "2001:db8:0:7::/64"])
    assert routes == []


def test_ipv4_noprefixroute_and_peer(topology: TopologyFactory) -> None:
    topo = topology(hosts=1)
    ns = topo.host("h1").netns
    noroute = VirtualAddress.of("198.51.100.10/24", "eth0", noprefixroute=True)
    p2p = VirtualAddress.of("203.0.113.1", "eth0", peer=IPv4Address("203.0.113.2"))
    assert _in_ns(ns, lambda nl: add_address(nl, noroute)) is True
    assert _in_ns(ns, lambda nl: add_address(nl, p2p)) is True
    assert topo.ip_json("h1", ["route", "show", "198.51.100.0/24"]) == []
    shown = _shown(topo, "h1")
    assert shown["198.51.100.10"].get("noprefixroute") is True
    assert shown["203.0.113.1"]["address"] == "203.0.113.2"

    entries = _in_ns(ns, lambda nl: list_addresses(nl, "eth0", family=socket.AF_INET))
    by_ip = {str(e.ip): e for e in entries}
    assert by_ip["203.0.113.1"].peer == IPv4Address("203.0.113.2")
    assert by_ip["198.51.100.10"].flags & AddrFlag.NOPREFIXROUTE
    assert by_ip["192.0.2.1"].scope is Scope.UNIVERSE
    assert by_ip["192.0.2.1"].label == "eth0"
    assert _in_ns(ns, lambda nl: remove_address(nl, p2p)) is True
    assert "203.0.113.1" not in _shown(topo, "h1")


def test_remove_stale_removes_only_present_vips(topology: TopologyFactory) -> None:
    topo = topology(hosts=1, segments=2)
    ns = topo.host("h1").netns
    left_behind = [
        VirtualAddress.of("192.0.2.100", "eth0"),
        VirtualAddress.of("2001:db8:0:2::100", "eth1"),
    ]
    never_added = [
        VirtualAddress.of("192.0.2.101", "eth0"),
        VirtualAddress.of("192.0.2.102", "gone0"),  # interface does not exist
    ]

    async def scenario(nl: NetlinkSession) -> list[VirtualAddress]:
        for vip in left_behind:
            await add_address(nl, vip)
        return await remove_stale(nl, [*left_behind, *never_added])

    assert _in_ns(ns, scenario) == left_behind
    assert "192.0.2.100" not in _shown(topo, "h1", "eth0")
    assert "2001:db8:0:2::100" not in _shown(topo, "h1", "eth1")


def test_missing_interface_is_our_error(topology: TopologyFactory) -> None:
    topo = topology(hosts=1)
    ns = topo.host("h1").netns
    vip = VirtualAddress.of("192.0.2.100", "nosuch0")
    with pytest.raises(InterfaceNotFoundError):
        _in_ns(ns, lambda nl: add_address(nl, vip))
    with pytest.raises(InterfaceNotFoundError):
        _in_ns(ns, lambda nl: list_addresses(nl, "nosuch0"))
    assert _in_ns(ns, lambda nl: has_address(nl, vip)) is False


# Pure checks of the request model (no namespace needed, kept next to their netns tests).


def test_keepalived_defaults_for_flags_and_lifetimes() -> None:
    v4 = VirtualAddress.of("192.0.2.100", "eth0")
    v6 = VirtualAddress.of("2001:db8::100", "eth0")
    v6_64 = VirtualAddress.of("2001:db8::100/64", "eth0")
    assert v4.ifa_flags == AddrFlag(0)  # nodad only applies to IPv6
    assert v6.ifa_flags == AddrFlag.NODAD
    assert VirtualAddress.of("2001:db8::1", "eth0", nodad=False).ifa_flags == AddrFlag(0)
    assert (v4.effective_preferred_lft_s, v6.effective_preferred_lft_s) == (None, 0)
    assert v6_64.effective_preferred_lft_s is None
    assert (
        VirtualAddress.of("2001:db8::1", "eth0", preferred_lft_s=30).effective_preferred_lft_s == 30
    )
    every = VirtualAddress.of(
        "192.0.2.1/24", "eth0", home=True, noprefixroute=True, mngtmpaddr=True, autojoin=True
    )
    assert every.ifa_flags == (
        AddrFlag.HOMEADDRESS
        | AddrFlag.NOPREFIXROUTE
        | AddrFlag.MANAGETEMPADDR
        | AddrFlag.MCAUTOJOIN
    )


@pytest.mark.parametrize(
    ("text", "dev", "options"),
    [
        ("2001:db8::1", "eth0", {"label": "eth0:1"}),
        ("2001:db8::1", "eth0", {"broadcast": IPv4Address("192.0.2.255")}),
        ("192.0.2.1", "eth0", {"label": "x" * 16}),
        ("192.0.2.1", "", {}),
        ("192.0.2.1", "eth0", {"peer": IPv6Interface("2001:db8::2/128").ip}),
        ("192.0.2.1", "eth0", {"preferred_lft_s": -1}),
    ],
)
def test_invalid_virtual_addresses(text: str, dev: str, options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        VirtualAddress.of(text, dev, **options)


def test_scope_names() -> None:
    assert Scope.parse("global") is Scope.UNIVERSE
    assert Scope.parse("LINK") is Scope.LINK
    assert Scope.parse("host") is Scope.HOST
    assert Scope.parse("253") is Scope.LINK
    assert Scope.parse("7") == 7
    with pytest.raises(ValueError):
        Scope.parse("256")
    with pytest.raises(ValueError):
        Scope.parse("galaxy")
