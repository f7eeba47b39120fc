"""Which addresses are on this box, for ``ha_suspend``.

keepalived suspends the checkers of a virtual server with ``ha_suspend`` while the virtual
server's address is not configured locally (typically: this node is the VRRP backup), and
resumes them when the address appears. Their real servers keep their state meanwhile. Only
``virtual_server IP PORT`` has an address to look for; fwmark and group virtual servers are
never suspended.

The addresses are read from ``/proc/net`` of the current network namespace: IPv4 from the
``LOCAL`` host entries of ``fib_trie``, IPv6 from ``if_inet6``. The parsers are pure.
"""

from __future__ import annotations

import contextlib
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

from pykeepalived.config.model.lvs import AddressService, VirtualServer

IPAddress = IPv4Address | IPv6Address

FIB_TRIE = Path("/proc/net/fib_trie")
IF_INET6 = Path("/proc/net/if_inet6")


def parse_fib_trie(text: str) -> set[IPv4Address]:
    """Local IPv4 addresses: a ``|-- A.B.C.D`` leaf followed by a ``/32 host LOCAL`` line."""
    found: set[IPv4Address] = set()
    leaf: str | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|--"):
            leaf = stripped[3:].strip()
        elif stripped.startswith("/32 host LOCAL") and leaf is not None:
            found.add(IPv4Address(leaf))
    return found


def parse_if_inet6(text: str) -> set[IPv6Address]:
    """IPv6 addresses of ``/proc/net/if_inet6`` (32 hex digits first on each line)."""
    found: set[IPv6Address] = set()
    for line in text.splitlines():
        fields = line.split()
        if fields and len(fields[0]) == 32:
            found.add(IPv6Address(int(fields[0], 16)))
    return found


def read_local_addresses() -> frozenset[IPAddress]:
    """The addresses configured in this network namespace (an unreadable file counts empty)."""
    addresses: set[IPAddress] = set()
    with contextlib.suppress(OSError):
        addresses |= parse_fib_trie(FIB_TRIE.read_text())
    with contextlib.suppress(OSError):
        addresses |= parse_if_inet6(IF_INET6.read_text())
    return frozenset(addresses)


def suspend_address(vs: VirtualServer) -> IPAddress | None:
    """The address whose absence suspends ``vs``'s checkers, or None if it never is."""
    if not vs.ha_suspend or not isinstance(vs.service, AddressService):
        return None
    return vs.service.address


def is_suspended(vs: VirtualServer, local: frozenset[IPAddress]) -> bool:
    address = suspend_address(vs)
    return address is not None and address not in local
