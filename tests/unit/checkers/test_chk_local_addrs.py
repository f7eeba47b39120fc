"""ha_suspend's view of local addresses: /proc/net parsers and which virtual servers suspend."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest

from pykeepalived.checkers.local_addrs import (
    is_suspended,
    parse_fib_trie,
    parse_if_inet6,
    read_local_addresses,
    suspend_address,
)

from .chk_helpers import load

pytestmark = pytest.mark.unit

FIB_TRIE = """Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
     +-- 198.51.100.0/24 2 0 2
           |-- 198.51.100.0
              /24 link UNICAST
           |-- 198.51.100.7
              /32 host LOCAL
"""

IF_INET6 = """00000000000000000000000000000001 01 80 10 80       lo
20010db8000000000000000000000005 04 40 00 82     eth0
"""


def test_fib_trie_gives_host_local_addresses_only() -> None:
    assert parse_fib_trie(FIB_TRIE) == {IPv4Address("127.0.0.1"), IPv4Address("198.51.100.7")}


def test_if_inet6() -> None:
    assert parse_if_inet6(IF_INET6) == {IPv6Address("::1"), IPv6Address("2001:db8::5")}


def test_this_namespace_has_loopback() -> None:
    assert IPv4Address("127.0.0.1") in read_local_addresses()


def _vs(head: str, extra: str) -> str:
    return f"""
virtual_server {head} {{
    protocol TCP
    {extra}
    real_server 127.0.0.1 8080 {{
        TCP_CHECK {{
        }}
    }}
}}
"""


def test_only_address_services_with_ha_suspend_suspend() -> None:
    with_it = load(_vs("198.51.100.7 80", "ha_suspend")).lvs.virtual_servers[0]
    without = load(_vs("198.51.100.9 80", "")).lvs.virtual_servers[0]
    fwmark = load(_vs("fwmark 5", "ha_suspend")).lvs.virtual_servers[0]
    assert suspend_address(with_it) == IPv4Address("198.51.100.7")
    assert suspend_address(without) is None
    assert suspend_address(fwmark) is None
    local = frozenset({IPv4Address("198.51.100.7")})
    assert not is_suspended(with_it, local)
    assert is_suspended(with_it, frozenset())
    assert not is_suspended(without, frozenset())
    assert not is_suspended(fwmark, frozenset())
