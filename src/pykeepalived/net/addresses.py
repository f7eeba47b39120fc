"""Adding and removing VIPs over rtnetlink the way keepalived does (``vrrp_ipaddress.c``).

keepalived's behaviour reproduced here:

* the prefix defaults to /32 (IPv4) or /128 (IPv6);
* IPv4: ``brd``, ``scope`` and ``label`` are passed as given (IFA_BROADCAST, ifa_scope,
  IFA_LABEL); a ``peer`` makes it a point-to-point address (IFA_ADDRESS = peer);
* IPv6: IFA_F_NODAD is set unless the address says ``-nodad`` (no DAD on VIPs: a VRRP
  split-brain must not leave the VIP "dadfailed" for ever), and a /128 gets
  preferred_lft 0 / valid_lft forever (deprecated, so it is never chosen as a source address)
  unless ``preferred_lft`` is given;
* ``home``, ``noprefixroute``, ``mngtmpaddr``, ``autojoin`` map to IFA_F_* flags sent in
  IFA_FLAGS.

Add is idempotent (EEXIST counts as "already there") and so is remove (EADDRNOTAVAIL counts as
"already gone"). :func:`remove_stale` deletes the VIPs a crashed run may have left behind.
"""

from __future__ import annotations

import errno
import logging
import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from ipaddress import (
    IPv4Address,
    IPv4Interface,
    IPv6Address,
    IPv6Interface,
    ip_interface,
)
from typing import Any

from pyroute2.netlink.exceptions import NetlinkError as _PyrouteNetlinkError

from pykeepalived.net.links import (
    AddrFlag,
    InterfaceNotFoundError,
    NetlinkOpError,
    NetlinkSession,
    link_index,
    netlink_errors,
)

log = logging.getLogger(__name__)

#: ifa_cacheinfo lifetime meaning "forever"
INFINITY_LIFE_TIME = 0xFFFFFFFF
_IFNAMSIZ_MAX = 15


class Scope(IntEnum):
    """Address scope (RT_SCOPE_*, /etc/iproute2/rt_scopes)."""

    UNIVERSE = 0
    SITE = 200
    LINK = 253
    HOST = 254
    NOWHERE = 255

    @classmethod
    def parse(cls, text: str) -> Scope | int:
        """A scope from its rt_scopes name ("global" is an alias of universe) or number."""
        names = {"global": cls.UNIVERSE, **{m.name.lower(): m for m in cls}}
        key = text.strip().lower()
        if key in names:
            return names[key]
        value = int(key, 0)
        if not 0 <= value <= 255:
            raise ValueError(f"scope {text!r} out of range 0..255")
        try:
            return cls(value)
        except ValueError:
            return value


@dataclass(frozen=True)
class VirtualAddress:
    """One address as a ``virtual_ipaddress`` / ``static_ipaddress`` line describes it.

    ``address`` carries the prefix (default /32 or /128, see :meth:`of`); ``nodad`` is
    keepalived's default (True; ``-nodad`` makes it False) and only matters for IPv6;
    ``preferred_lft_s`` None means keepalived's default (0 for an IPv6 /128, else forever).
    """

    address: IPv4Interface | IPv6Interface
    dev: str
    broadcast: IPv4Address | None = None
    scope: Scope | int = Scope.UNIVERSE
    label: str | None = None
    peer: IPv4Address | IPv6Address | None = None
    nodad: bool = True
    noprefixroute: bool = False
    home: bool = False
    mngtmpaddr: bool = False
    autojoin: bool = False
    preferred_lft_s: int | None = None

    def __post_init__(self) -> None:
        if not 0 < len(self.dev) <= _IFNAMSIZ_MAX:
            raise ValueError(f"bad interface name {self.dev!r}")
        if self.is_ipv6 and (self.broadcast is not None or self.label is not None):
            raise ValueError(f"{self.address}: brd and label are IPv4-only")
        if self.label is not None and not 0 < len(self.label) <= _IFNAMSIZ_MAX:
            raise ValueError(f"label {self.label!r} must be 1..{_IFNAMSIZ_MAX} characters")
        if self.peer is not None and self.peer.version != self.address.version:
            raise ValueError(f"peer {self.peer} is not of the family of {self.address}")
        if self.preferred_lft_s is not None and not 0 <= self.preferred_lft_s <= INFINITY_LIFE_TIME:
            raise ValueError(f"preferred_lft {self.preferred_lft_s} out of range")

    @classmethod
    def of(cls, text: str, dev: str, **options: Any) -> VirtualAddress:
        """From ``"IP[/PREFIX]"`` with keepalived's default prefix (/32, /128)."""
        iface = ip_interface(text if "/" in text else f"{text}/{128 if ':' in text else 32}")
        return cls(iface, dev, **options)

    @property
    def ip(self) -> IPv4Address | IPv6Address:
        """The address without its prefix."""
        return self.address.ip

    @property
    def is_ipv6(self) -> bool:
        """True for an IPv6 address."""
        return self.address.version == 6

    @property
    def family(self) -> int:
        """AF_INET or AF_INET6."""
        return socket.AF_INET6 if self.is_ipv6 else socket.AF_INET

    @property
    def ifa_flags(self) -> AddrFlag:
        """The IFA_F_* flags sent when adding the address."""
        flags = AddrFlag(0)
        if self.is_ipv6 and self.nodad:
            flags |= AddrFlag.NODAD
        if self.home:
            flags |= AddrFlag.HOMEADDRESS
        if self.mngtmpaddr:
            flags |= AddrFlag.MANAGETEMPADDR
        if self.noprefixroute:
            flags |= AddrFlag.NOPREFIXROUTE
        if self.autojoin:
            flags |= AddrFlag.MCAUTOJOIN
        return flags

    @property
    def effective_preferred_lft_s(self) -> int | None:
        """preferred_lft sent to the kernel, or None to send no IFA_CACHEINFO (forever)."""
        if self.preferred_lft_s is not None:
            return self.preferred_lft_s
        if self.is_ipv6 and self.address.network.prefixlen == 128:
            return 0
        return None


@dataclass(frozen=True)
class AddressEntry:
    """One address as the kernel reports it (``ip addr show``)."""

    address: IPv4Interface | IPv6Interface
    index: int
    label: str | None
    scope: Scope | int
    flags: AddrFlag
    broadcast: IPv4Address | None
    peer: IPv4Address | IPv6Address | None
    preferred_lft_s: int
    valid_lft_s: int

    @property
    def ip(self) -> IPv4Address | IPv6Address:
        """The address without its prefix."""
        return self.address.ip


def _scope_of(value: int) -> Scope | int:
    try:
        return Scope(value)
    except ValueError:
        return value


def _entry_from_msg(msg: Any) -> AddressEntry:
    local = msg.get("IFA_LOCAL")
    addr = msg.get("IFA_ADDRESS")
    own = local or addr
    peer = addr if local and addr and addr != local else None
    cache = msg.get("IFA_CACHEINFO") or {}
    brd = msg.get("IFA_BROADCAST")
    return AddressEntry(
        address=ip_interface(f"{own}/{msg['prefixlen']}"),
        index=msg["index"],
        label=msg.get("IFA_LABEL"),
        scope=_scope_of(msg["scope"]),
        flags=AddrFlag(msg.get("IFA_FLAGS") or msg["flags"]),
        broadcast=IPv4Address(brd) if brd else None,
        peer=ip_interface(peer).ip if peer else None,
        preferred_lft_s=int(cache.get("ifa_preferred", INFINITY_LIFE_TIME)),
        valid_lft_s=int(cache.get("ifa_valid", INFINITY_LIFE_TIME)),
    )


async def list_addresses(
    nl: NetlinkSession, dev: str, *, family: int | None = None
) -> list[AddressEntry]:
    """Addresses on ``dev`` in kernel order, optionally of one family (AF_INET/AF_INET6)."""
    index = await link_index(nl, dev)
    kwargs: dict[str, Any] = {"index": index}
    if family is not None:
        kwargs["family"] = family
    with netlink_errors(f"addr dump {dev}", ident=dev):
        msgs = [m async for m in await nl.ipr.addr("dump", **kwargs)]
    return [_entry_from_msg(m) for m in msgs if m["index"] == index]


def _request(vip: VirtualAddress, index: int) -> dict[str, Any]:
    """pyroute2 keyword arguments for RTM_NEWADDR/RTM_DELADDR of ``vip`` on ``index``."""
    req: dict[str, Any] = {
        "index": index,
        "family": vip.family,
        "prefixlen": vip.address.network.prefixlen,
    }
    if vip.peer is not None:
        req["local"] = str(vip.ip)
        req["address"] = str(vip.peer)
    else:
        req["address"] = str(vip.ip)
        if not vip.is_ipv6:
            req["local"] = str(vip.ip)
    return req


async def add_address(nl: NetlinkSession, vip: VirtualAddress) -> bool:
    """Add ``vip``; True if added, False if it was already there (EEXIST)."""
    index = await link_index(nl, vip.dev)
    req = _request(vip, index)
    req["scope"] = int(vip.scope)
    flags = vip.ifa_flags
    if flags:
        req["flags"] = int(flags)  # pyroute2 sends it as the u32 IFA_FLAGS attribute
    if vip.broadcast is not None:
        req["broadcast"] = str(vip.broadcast)
    if vip.label is not None:
        req["label"] = vip.label
    preferred = vip.effective_preferred_lft_s
    if preferred is not None:
        req["preferred_lft"] = preferred
        req["valid_lft"] = INFINITY_LIFE_TIME
    try:
        await nl.ipr.addr("add", **req)
    except _PyrouteNetlinkError as exc:
        if exc.code == errno.EEXIST:
            log.debug("%s already on %s", vip.address, vip.dev)
            return False
        if exc.code == errno.ENODEV:
            raise InterfaceNotFoundError(vip.dev) from exc
        raise NetlinkOpError(f"addr add {vip.address} dev {vip.dev}", exc.code) from exc
    except OSError as exc:
        raise NetlinkOpError(f"addr add {vip.address}", exc.errno or errno.EIO, str(exc)) from exc
    log.info("added %s dev %s", vip.address, vip.dev)
    return True


async def remove_address(nl: NetlinkSession, vip: VirtualAddress) -> bool:
    """Remove ``vip``; True if removed, False if it was not there (EADDRNOTAVAIL)."""
    index = await link_index(nl, vip.dev)
    try:
        await nl.ipr.addr("del", **_request(vip, index))
    except _PyrouteNetlinkError as exc:
        if exc.code == errno.EADDRNOTAVAIL:
            log.debug("%s not on %s", vip.address, vip.dev)
            return False
        if exc.code == errno.ENODEV:
            raise InterfaceNotFoundError(vip.dev) from exc
        raise NetlinkOpError(f"addr del {vip.address} dev {vip.dev}", exc.code) from exc
    except OSError as exc:
        raise NetlinkOpError(f"addr del {vip.address}", exc.errno or errno.EIO, str(exc)) from exc
    log.info("removed %s dev %s", vip.address, vip.dev)
    return True


# --------------------------------------------------------------------------------------------
# The synchronous fast path (a VRRP takeover)

_RTM_NEWADDR = 20
_RTM_DELADDR = 21
_NLMSG_ERROR = 2
_NLM_F_REQUEST = 0x1
_NLM_F_ACK = 0x4
_NLM_F_EXCL = 0x200
_NLM_F_CREATE = 0x400
_IFA_ADDRESS = 1
_IFA_LOCAL = 2
_IFA_LABEL = 3
_IFA_BROADCAST = 4
_IFA_CACHEINFO = 6
_IFA_FLAGS = 8
_NETLINK_ROUTE = 0
_ACK_TIMEOUT_S = 1.0


def _attr(kind: int, data: bytes) -> bytes:
    length = 4 + len(data)
    return struct.pack("=HH", length, kind) + data + b"\0" * (-length % 4)


def address_message(vip: VirtualAddress, index: int, *, add: bool, seq: int) -> bytes:
    """The RTM_NEWADDR (``add``) or RTM_DELADDR netlink message for ``vip`` on ``index``.

    The same attributes as :func:`add_address` / :func:`remove_address` send through pyroute2.
    """
    attrs = []
    if vip.peer is not None:
        attrs.append(_attr(_IFA_LOCAL, vip.ip.packed))
        attrs.append(_attr(_IFA_ADDRESS, vip.peer.packed))
    else:
        attrs.append(_attr(_IFA_ADDRESS, vip.ip.packed))
        if not vip.is_ipv6:
            attrs.append(_attr(_IFA_LOCAL, vip.ip.packed))
    scope = 0
    flags = 0
    if add:
        scope = int(vip.scope)
        flags = int(vip.ifa_flags)
        if flags:
            attrs.append(_attr(_IFA_FLAGS, struct.pack("=I", flags)))
        if vip.broadcast is not None:
            attrs.append(_attr(_IFA_BROADCAST, vip.broadcast.packed))
        if vip.label is not None:
            attrs.append(_attr(_IFA_LABEL, vip.label.encode() + b"\0"))
        preferred = vip.effective_preferred_lft_s
        if preferred is not None:
            info = struct.pack("=IIII", preferred, INFINITY_LIFE_TIME, 0, 0)
            attrs.append(_attr(_IFA_CACHEINFO, info))
    body = struct.pack(
        "=BBBBI", vip.family, vip.address.network.prefixlen, flags & 0xFF, scope, index
    ) + b"".join(attrs)
    msg_type = _RTM_NEWADDR if add else _RTM_DELADDR
    nl_flags = _NLM_F_REQUEST | _NLM_F_ACK
    if add:
        nl_flags |= _NLM_F_CREATE | _NLM_F_EXCL
    return struct.pack("=IHHII", 16 + len(body), msg_type, nl_flags, seq, 0) + body


class AddressSender:
    """VIP add/remove as one synchronous rtnetlink exchange, in the current namespace.

    A VRRP takeover adds its VIPs from the timer callback itself: rtnetlink handles a request
    inside ``sendmsg()``, so the address is in place (and the ack queued) when ``send`` returns;
    nothing waits for the event loop, and no interface dump is needed (the caller passes the
    ifindex). Errors are mapped as :func:`add_address` / :func:`remove_address` map them.
    """

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, _NETLINK_ROUTE)
        self._sock.bind((0, 0))
        self._sock.settimeout(_ACK_TIMEOUT_S)
        self._seq = 0

    def close(self) -> None:
        """Close the socket."""
        self._sock.close()

    def add(self, vip: VirtualAddress, index: int) -> bool:
        """Add ``vip`` on ``index``; True if added, False if it was there (EEXIST)."""
        err = self._exchange(vip, index, add=True)
        if err == errno.EEXIST:
            log.debug("%s already on %s", vip.address, vip.dev)
            return False
        if err:
            if err == errno.ENODEV:
                raise InterfaceNotFoundError(vip.dev)
            raise NetlinkOpError(f"addr add {vip.address} dev {vip.dev}", err)
        log.info("added %s dev %s", vip.address, vip.dev)
        return True

    def remove(self, vip: VirtualAddress, index: int) -> bool:
        """Remove ``vip`` from ``index``; True if removed, False if absent (EADDRNOTAVAIL)."""
        err = self._exchange(vip, index, add=False)
        if err == errno.EADDRNOTAVAIL:
            log.debug("%s not on %s", vip.address, vip.dev)
            return False
        if err:
            if err == errno.ENODEV:
                raise InterfaceNotFoundError(vip.dev)
            raise NetlinkOpError(f"addr del {vip.address} dev {vip.dev}", err)
        log.info("removed %s dev %s", vip.address, vip.dev)
        return True

    def _exchange(self, vip: VirtualAddress, index: int, *, add: bool) -> int:
        self._seq = self._seq % 0x7FFFFFFF + 1
        seq = self._seq
        op = "addr add" if add else "addr del"
        try:
            self._sock.send(address_message(vip, index, add=add, seq=seq))
            while True:
                data = self._sock.recv(65536)
                offset = 0
                while offset + 16 <= len(data):
                    length, msg_type, _flags, msg_seq, _pid = struct.unpack_from(
                        "=IHHII", data, offset
                    )
                    if msg_type == _NLMSG_ERROR and msg_seq == seq:
                        (code,) = struct.unpack_from("=i", data, offset + 16)
                        return -int(code)
                    offset += max(16, (length + 3) & ~3)
        except OSError as exc:
            raise NetlinkOpError(f"{op} {vip.address}", exc.errno or errno.EIO, str(exc)) from exc


async def has_address(nl: NetlinkSession, vip: VirtualAddress) -> bool:
    """True if ``vip`` (address and prefix) is on its interface."""
    try:
        entries = await list_addresses(nl, vip.dev, family=vip.family)
    except InterfaceNotFoundError:
        return False
    return any(e.address == vip.address for e in entries)


async def remove_stale(nl: NetlinkSession, vips: Iterable[VirtualAddress]) -> list[VirtualAddress]:
    """Remove those of ``vips`` that are present (left by a crashed run); return them.

    Interfaces that no longer exist are skipped: their addresses went with them.
    """
    removed: list[VirtualAddress] = []
    for vip in vips:
        try:
            if await remove_address(nl, vip):
                removed.append(vip)
        except InterfaceNotFoundError:
            log.debug("%s: interface %s is gone", vip.address, vip.dev)
    if removed:
        log.warning(
            "removed %d VIPs left behind: %s",
            len(removed),
            ", ".join(str(v.address) for v in removed),
        )
    return removed
