"""Interface lookup over rtnetlink (pyroute2's AsyncIPRoute), mapped to our own types.

A :class:`NetlinkSession` owns one rtnetlink socket, in the current network namespace or in a
named one (tests and the lab use the latter). Lookups are single request/response exchanges on
that socket, so they are short and do not block the event loop.

pyroute2's messages and exceptions never leave this package: callers get frozen dataclasses
(:class:`LinkInfo`) and :class:`NetError` subclasses.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
from collections.abc import AsyncIterator, Collection, Iterator
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from ipaddress import IPv4Address, IPv4Interface, IPv6Address
from types import TracebackType
from typing import Any, Self

from pyroute2 import AsyncIPRoute
from pyroute2.netlink.exceptions import NetlinkError as _PyrouteNetlinkError

log = logging.getLogger(__name__)


class NetError(Exception):
    """Base class of the errors raised by pykeepalived.net."""


class NamespaceNotFoundError(NetError):
    """The named network namespace does not exist."""


class InterfaceNotFoundError(NetError):
    """No interface with that name (or index)."""

    def __init__(self, ident: str | int) -> None:
        self.ident = ident
        super().__init__(f"interface {ident!r} not found")


class NetlinkOpError(NetError):
    """The kernel refused a netlink request: ``op`` names it, ``errno`` is the kernel's code."""

    def __init__(self, op: str, err: int, message: str | None = None) -> None:
        self.op = op
        self.errno = err
        super().__init__(f"{op}: [{errno.errorcode.get(err, err)}] {message or _strerror(err)}")


def _strerror(err: int) -> str:
    return os.strerror(err)


class OperState(IntEnum):
    """RFC 2863 operational state (IF_OPER_*, linux/if.h)."""

    UNKNOWN = 0
    NOTPRESENT = 1
    DOWN = 2
    LOWERLAYERDOWN = 3
    TESTING = 4
    DORMANT = 5
    UP = 6


class IfFlag(IntFlag):
    """Interface flags (IFF_*, linux/if.h) that matter to VRRP."""

    UP = 0x1
    BROADCAST = 0x2
    LOOPBACK = 0x8
    POINTOPOINT = 0x10
    RUNNING = 0x40
    NOARP = 0x80
    PROMISC = 0x100
    MULTICAST = 0x1000
    LOWER_UP = 0x10000


class AddrFlag(IntFlag):
    """Address flags (IFA_F_*, linux/if_addr.h)."""

    SECONDARY = 0x01
    NODAD = 0x02
    OPTIMISTIC = 0x04
    DADFAILED = 0x08
    HOMEADDRESS = 0x10
    DEPRECATED = 0x20
    TENTATIVE = 0x40
    PERMANENT = 0x80
    MANAGETEMPADDR = 0x100
    NOPREFIXROUTE = 0x200
    MCAUTOJOIN = 0x400
    STABLE_PRIVACY = 0x800


@dataclass(frozen=True)
class LinkInfo:
    """What VRRP needs to know about one interface.

    ``mac`` is lower-case colon-separated ("" for interfaces without one); ``flags`` holds the
    IFF_* bits; ``link_index`` is the parent of a macvlan/vlan (None otherwise);
    ``ipv4_primary`` is the first non-secondary IPv4 address (VIPs can be excluded);
    ``ipv6_link_local`` the first usable fe80::/10 address; ``ipv6_forwarding`` the
    interface's IPv6 forwarding setting (None if IPv6 is off), which sets the NA router flag.
    """

    index: int
    name: str
    mac: str
    mtu: int
    flags: IfFlag
    oper_state: OperState
    kind: str | None
    link_index: int | None
    ipv4_primary: IPv4Interface | None
    ipv6_link_local: IPv6Address | None
    ipv6_forwarding: bool | None

    @property
    def admin_up(self) -> bool:
        """The interface is administratively up (IFF_UP)."""
        return bool(self.flags & IfFlag.UP)

    @property
    def running(self) -> bool:
        """Up and with carrier (IFF_UP and IFF_RUNNING), as keepalived's IF_ISUP tests."""
        return bool(self.flags & IfFlag.UP) and bool(self.flags & IfFlag.RUNNING)

    @property
    def noarp(self) -> bool:
        """IFF_NOARP: keepalived sends no gratuitous ARP on such interfaces."""
        return bool(self.flags & IfFlag.NOARP)

    @property
    def mac_bytes(self) -> bytes:
        """``mac`` as 6 (or however many) raw bytes; b"" if there is none."""
        return bytes.fromhex(self.mac.replace(":", "")) if self.mac else b""


# --------------------------------------------------------------------------------------------
# Session and error mapping


@contextlib.contextmanager
def netlink_errors(op: str, *, ident: str | int | None = None) -> Iterator[None]:
    """Translate pyroute2/OS errors raised inside the block into NetError subclasses.

    With ``ident`` given, ENODEV means "no such interface" (InterfaceNotFoundError).
    """
    try:
        yield
    except _PyrouteNetlinkError as exc:
        if ident is not None and exc.code == errno.ENODEV:
            raise InterfaceNotFoundError(ident) from exc
        raise NetlinkOpError(op, exc.code) from exc
    except (OSError, TimeoutError) as exc:
        raise NetlinkOpError(op, getattr(exc, "errno", None) or errno.EIO, str(exc)) from exc


class NetlinkSession:
    """One rtnetlink socket, in the current namespace (``netns`` None) or a named one.

    Use as ``async with NetlinkSession(netns) as nl:``. ``ipr`` is the pyroute2 object, for
    the other modules of this package only.
    """

    def __init__(self, netns: str | None = None) -> None:
        self.netns = netns
        self._ipr: Any = None

    async def open(self) -> Self:
        """Create the socket (entering ``netns`` briefly if one is named)."""
        if self._ipr is not None:
            return self
        # flags=0: never create the namespace as a side effect
        ipr = AsyncIPRoute(netns=self.netns, flags=0)
        try:
            await ipr.setup_endpoint()  # opens the socket now, not on the first request
        except FileNotFoundError as exc:
            ipr.close()
            raise NamespaceNotFoundError(f"network namespace {self.netns!r} not found") from exc
        except OSError as exc:
            ipr.close()
            raise NetlinkOpError("open", exc.errno or errno.EIO, str(exc)) from exc
        self._ipr = ipr
        return self

    def close(self) -> None:
        """Close the socket; the session can be opened again."""
        if self._ipr is not None:
            self._ipr.close()
            self._ipr = None

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def ipr(self) -> Any:
        """The underlying AsyncIPRoute (raises NetError if the session is not open)."""
        if self._ipr is None:
            raise NetError("netlink session is not open")
        return self._ipr


# --------------------------------------------------------------------------------------------
# Lookups


def _link_from_msg(
    msg: Any, addrs: list[Any], exclude_ipv4: Collection[IPv4Address] = ()
) -> LinkInfo:
    ipv4_primary: IPv4Interface | None = None
    ipv6_ll: IPv6Address | None = None
    for a in addrs:
        flags = AddrFlag(a.get("IFA_FLAGS") or a["flags"])
        if a["family"] == socket.AF_INET and ipv4_primary is None:
            local = a.get("IFA_LOCAL") or a.get("IFA_ADDRESS")
            if local is None or flags & AddrFlag.SECONDARY:
                continue
            itf = IPv4Interface(f"{local}/{a['prefixlen']}")
            if itf.ip not in exclude_ipv4:
                ipv4_primary = itf
        elif a["family"] == socket.AF_INET6 and ipv6_ll is None:
            addr = IPv6Address(a.get("IFA_ADDRESS"))
            if addr.is_link_local and not flags & (AddrFlag.TENTATIVE | AddrFlag.DADFAILED):
                ipv6_ll = addr
    link_index = msg.get("IFLA_LINK")
    oper = msg.get("IFLA_OPERSTATE") or "UNKNOWN"
    return LinkInfo(
        index=msg["index"],
        name=msg.get("IFLA_IFNAME"),
        mac=(msg.get("IFLA_ADDRESS") or "").lower(),
        mtu=msg.get("IFLA_MTU") or 0,
        flags=IfFlag(msg["flags"]),
        oper_state=OperState[oper] if oper in OperState.__members__ else OperState.UNKNOWN,
        kind=msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND"),
        link_index=link_index if link_index and link_index != msg["index"] else None,
        ipv4_primary=ipv4_primary,
        ipv6_link_local=ipv6_ll,
        ipv6_forwarding=_ipv6_forwarding(msg),
    )


def _ipv6_forwarding(msg: Any) -> bool | None:
    spec = msg.get("IFLA_AF_SPEC")
    if spec is None:
        return None
    inet6 = spec.get("AF_INET6")
    if inet6 is None:
        return None
    conf = inet6.get("IFLA_INET6_CONF")
    if not conf:
        return None
    if conf.get("disable_ipv6"):
        return None
    return bool(conf.get("forwarding"))


async def _addr_msgs(nl: NetlinkSession, index: int) -> list[Any]:
    with netlink_errors("addr dump", ident=index):
        return [a async for a in await nl.ipr.addr("dump", index=index)]


async def get_link(
    nl: NetlinkSession, name: str, *, exclude_ipv4: Collection[IPv4Address] = ()
) -> LinkInfo:
    """The interface called ``name``; InterfaceNotFoundError if there is none.

    ``exclude_ipv4`` lists addresses (our VIPs) never to be taken as the primary address.
    """
    with netlink_errors(f"link get {name}", ident=name):
        msgs = await nl.ipr.link("get", ifname=name)
    if not msgs:
        raise InterfaceNotFoundError(name)
    msg = msgs[0]
    return _link_from_msg(msg, await _addr_msgs(nl, msg["index"]), exclude_ipv4)


async def get_link_by_index(
    nl: NetlinkSession, index: int, *, exclude_ipv4: Collection[IPv4Address] = ()
) -> LinkInfo:
    """The interface with ifindex ``index``; InterfaceNotFoundError if there is none."""
    with netlink_errors(f"link get #{index}", ident=index):
        msgs = await nl.ipr.link("get", index=index)
    if not msgs:
        raise InterfaceNotFoundError(index)
    return _link_from_msg(msgs[0], await _addr_msgs(nl, index), exclude_ipv4)


async def link_index(nl: NetlinkSession, name: str) -> int:
    """The ifindex of ``name``; InterfaceNotFoundError if there is none.

    One RTM_GETLINK request for that name (pyroute2's ``link_lookup`` dumps and decodes every
    link of the namespace, which costs milliseconds with many interfaces).
    """
    with netlink_errors(f"link lookup {name}", ident=name):
        msgs = await nl.ipr.link("get", ifname=name)
    if not msgs:
        raise InterfaceNotFoundError(name)
    return int(msgs[0]["index"])


async def iter_links(nl: NetlinkSession) -> AsyncIterator[LinkInfo]:
    """Every interface of the namespace, in ifindex order, with its addresses."""
    with netlink_errors("link dump"):
        links = [m async for m in await nl.ipr.link("dump")]
        addrs = [a async for a in await nl.ipr.addr("dump")]
    by_index: dict[int, list[Any]] = {}
    for a in addrs:
        by_index.setdefault(a["index"], []).append(a)
    for msg in sorted(links, key=lambda m: int(m["index"])):
        yield _link_from_msg(msg, by_index.get(msg["index"], []))


async def list_links(nl: NetlinkSession) -> list[LinkInfo]:
    """:func:`iter_links` as a list."""
    return [link async for link in iter_links(nl)]
