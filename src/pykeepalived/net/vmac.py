"""VMAC (macvlan) and ipvlan interfaces for ``use_vmac`` / ``use_ipvlan`` (``vrrp_vmac.c``).

keepalived 2.2.7, as observed in a namespace, creates for ``use_vmac`` on ``eth0`` VRID 51:

* ``vrrp.51@eth0``, macvlan mode *private*, MAC ``00:00:5e:00:01:33`` (IPv6:
  ``00:00:5e:00:02:VRID``), IPv6 address generation off (``addrgenmode none``) and, for an IPv4
  instance, ``disable_ipv6=1``; brought up;
* sysctls on the VMAC: ``arp_ignore=1``, ``accept_local=1``, ``rp_filter=0``,
  ``promote_secondaries=1``; on the parent: ``arp_ignore=1``, ``arp_filter=1``
  (``vrrp_if_config.c``);

and deletes the interface at exit. ``use_ipvlan`` makes an L2 ipvlan (``IFLA_IPVLAN_MODE`` L2,
``IFLA_IPVLAN_FLAGS`` bridge 0 / private 1 / vepa 2), for an IPv4 instance with
``disable_ipv6=1`` and without the macvlan sysctls, brings it up and then adds its address
(``netlink_link_add_ipvlan()``). The daemon owns the interfaces it created (it deletes only those).

pyroute2 0.9.7's ipvlan attribute table lacks ``IFLA_IPVLAN_FLAGS`` (it silently dropped
``ipvlan_flags``, so every ipvlan was made in bridge mode): this module registers a complete
table through pyroute2's ``register_link_kind``.
"""

from __future__ import annotations

import errno
import logging
from dataclasses import dataclass
from ipaddress import IPv4Interface, IPv6Interface
from pathlib import Path

from pyroute2.netlink import nla
from pyroute2.netlink.exceptions import NetlinkError as _PyrouteNetlinkError
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

from pykeepalived.net.links import NetlinkOpError, NetlinkSession, link_index

__all__ = [
    "VmacSpec",
    "create_vmac",
    "delete_link",
    "link_add_args",
    "set_sysctl",
    "vmac_mac",
    "vmac_name",
]

log = logging.getLogger(__name__)

_SYS = Path("/proc/sys/net")
_MACVLAN_MODE_PRIVATE = 1
_IPVLAN_MODES = {"l2": 0}
_IPVLAN_FLAGS = {"bridge": 0, "private": 1, "vepa": 2}
IN6_ADDR_GEN_MODE_NONE = 1


class _IpvlanData(nla):  # type: ignore[misc]
    """``IFLA_INFO_DATA`` of an ipvlan (``linux/if_link.h``): mode and flags, both u16."""

    prefix = "IFLA_"
    nla_map = (
        ("IFLA_IPVLAN_UNSPEC", "none"),
        ("IFLA_IPVLAN_MODE", "uint16"),
        ("IFLA_IPVLAN_FLAGS", "uint16"),
    )


ifinfmsg.ifinfo.register_link_kind(module={"ipvlan": _IpvlanData})


def vmac_mac(vrid: int, family: int) -> str:
    """The RFC 5798 virtual router MAC: 00:00:5e:00:01:VRID (IPv4) or 00:00:5e:00:02:VRID."""
    return f"00:00:5e:00:{1 if family == 4 else 2:02x}:{vrid:02x}"


def vmac_name(vrid: int, family: int) -> str:
    """keepalived's default VMAC name (``vrrp.VRID``; IPv6 tries ``vrrp6.VRID``)."""
    return f"vrrp.{vrid}" if family == 4 else f"vrrp6.{vrid}"


@dataclass(frozen=True)
class VmacSpec:
    """One interface to create: ``kind`` is ``macvlan`` or ``ipvlan``."""

    name: str
    parent: str
    vrid: int
    family: int
    kind: str = "macvlan"
    mac: str | None = None
    ipvlan_mode: str = "bridge"
    ipvlan_address: IPv4Interface | IPv6Interface | None = None

    @property
    def address(self) -> str:
        return self.mac or vmac_mac(self.vrid, self.family)


def set_sysctl(family: int, ifname: str, key: str, value: int) -> bool:
    """Write ``net/ipv{family}/conf/IF/key``; False (logged) if that is not possible."""
    path = _SYS / ("ipv4" if family == 4 else "ipv6") / "conf" / ifname / key
    try:
        path.write_text(f"{value}\n")
    except OSError as exc:
        log.warning("cannot set %s: %s", path, exc)
        return False
    return True


async def _exists(nl: NetlinkSession, name: str) -> bool:
    try:
        await link_index(nl, name)
    except NetlinkOpError:
        return False
    except Exception:  # InterfaceNotFoundError
        return False
    return True


def link_add_args(spec: VmacSpec, parent_index: int) -> dict[str, object]:
    """The ``IPRoute.link("add", ...)`` keywords creating ``spec`` on interface ``parent_index``:
    a private macvlan with the virtual MAC, or an L2 ipvlan with its bridge/private/vepa flag."""
    args: dict[str, object] = {"ifname": spec.name, "link": parent_index, "kind": spec.kind}
    if spec.kind == "macvlan":
        args["macvlan_mode"] = "private"
        args["address"] = spec.address
    else:
        if spec.ipvlan_mode not in _IPVLAN_FLAGS:
            raise ValueError(f"unknown ipvlan mode {spec.ipvlan_mode!r}")
        args["ipvlan_mode"] = _IPVLAN_MODES["l2"]
        args["ipvlan_flags"] = _IPVLAN_FLAGS[spec.ipvlan_mode]
    return args


async def create_vmac(nl: NetlinkSession, spec: VmacSpec) -> bool:
    """Create and bring up ``spec``; False if an interface of that name already existed
    (it is then reused, as keepalived reuses a matching VMAC)."""
    parent = await link_index(nl, spec.parent)
    created = False
    if not await _exists(nl, spec.name):
        try:
            await nl.ipr.link("add", **link_add_args(spec, parent))
        except _PyrouteNetlinkError as exc:
            if exc.code != errno.EEXIST:
                raise NetlinkOpError(f"link add {spec.name}", exc.code) from exc
        else:
            created = True
    index = await link_index(nl, spec.name)
    if spec.kind == "macvlan":
        try:
            await nl.ipr.link(
                "set",
                index=index,
                IFLA_AF_SPEC={
                    "attrs": [
                        (
                            "AF_INET6",
                            {"attrs": [("IFLA_INET6_ADDR_GEN_MODE", IN6_ADDR_GEN_MODE_NONE)]},
                        )
                    ]
                },
            )
        except (_PyrouteNetlinkError, OSError, ValueError, TypeError) as exc:
            log.debug("cannot set addrgenmode on %s: %s", spec.name, exc)
        if spec.family == 4:
            set_sysctl(6, spec.name, "disable_ipv6", 1)
        set_sysctl(4, spec.name, "arp_ignore", 1)
        set_sysctl(4, spec.name, "accept_local", 1)
        set_sysctl(4, spec.name, "rp_filter", 0)
        set_sysctl(4, spec.name, "promote_secondaries", 1)
        set_sysctl(4, spec.parent, "arp_ignore", 1)
        set_sysctl(4, spec.parent, "arp_filter", 1)
    elif spec.family == 4:
        set_sysctl(6, spec.name, "disable_ipv6", 1)
    try:
        await nl.ipr.link("set", index=index, state="up")
    except _PyrouteNetlinkError as exc:
        raise NetlinkOpError(f"link set {spec.name} up", exc.code) from exc
    if spec.ipvlan_address is not None:
        try:
            await nl.ipr.addr(
                "add",
                index=index,
                address=str(spec.ipvlan_address.ip),
                prefixlen=spec.ipvlan_address.network.prefixlen,
            )
        except _PyrouteNetlinkError as exc:
            if exc.code != errno.EEXIST:
                raise NetlinkOpError(f"addr add dev {spec.name}", exc.code) from exc
    log.info(
        "%s %s interface %s on %s",
        "Created" if created else "Reusing",
        spec.kind,
        spec.name,
        spec.parent,
    )
    return created


async def delete_link(nl: NetlinkSession, name: str) -> bool:
    """Delete interface ``name``; False if it did not exist."""
    try:
        index = await link_index(nl, name)
    except Exception:  # no such interface
        return False
    try:
        await nl.ipr.link("del", index=index)
    except _PyrouteNetlinkError as exc:
        if exc.code == errno.ENODEV:
            return False
        raise NetlinkOpError(f"link del {name}", exc.code) from exc
    log.info("Success removing VMAC interface %s", name)
    return True
