"""Routes and rules from the config (``virtual_routes``/``virtual_rules``, ``static_*``).

keepalived programs them with rtnetlink (``vrrp_iproute.c``, ``vrrp_iprule.c``): virtual ones
when the instance becomes MASTER and removed when it leaves MASTER; static ones at start (and
removed at stop). This module maps :class:`~pykeepalived.config.model.net.RouteSpec` /
:class:`~pykeepalived.config.model.net.RuleSpec` to pyroute2 requests. Adding something that is
already there and deleting something already gone are not errors (keepalived logs and goes
on). Errors are :class:`~pykeepalived.net.links.NetError`.
"""

from __future__ import annotations

import errno
import logging
import socket
from typing import Any

from pyroute2.netlink.exceptions import NetlinkError as _PyrouteNetlinkError

from pykeepalived.config.model.net import RT_TABLE_MAIN, RouteSpec, RuleAction, RuleSpec
from pykeepalived.net.links import NetlinkOpError, NetlinkSession, link_index

__all__ = [
    "add_route",
    "add_rule",
    "describe_route",
    "describe_rule",
    "remove_route",
    "remove_rule",
    "route_request",
    "rule_request",
]

log = logging.getLogger(__name__)

_METRICS = {
    "mtu": "RTAX_MTU",
    "advmss": "RTAX_ADVMSS",
    "hoplimit": "RTAX_HOPLIMIT",
    "reordering": "RTAX_REORDERING",
    "window": "RTAX_WINDOW",
    "cwnd": "RTAX_CWND",
    "ssthresh": "RTAX_SSTHRESH",
    "initcwnd": "RTAX_INITCWND",
    "initrwnd": "RTAX_INITRWND",
    "quickack": "RTAX_QUICKACK",
}


def describe_route(spec: RouteSpec) -> str:
    """An ``ip route``-like text for logs."""
    parts = [str(spec.dst.network) if spec.dst.network.prefixlen else "default"]
    if spec.via is not None:
        parts += ["via", str(spec.via)]
    if spec.dev is not None:
        parts += ["dev", spec.dev]
    if spec.table != RT_TABLE_MAIN:
        parts += ["table", str(spec.table)]
    if spec.metric is not None:
        parts += ["metric", str(spec.metric)]
    return " ".join(parts)


def describe_rule(spec: RuleSpec) -> str:
    parts: list[str] = []
    if spec.priority is not None:
        parts.append(f"pref {spec.priority}")
    parts.append(f"from {spec.from_addr.network if spec.from_addr else 'all'}")
    if spec.to_addr is not None:
        parts.append(f"to {spec.to_addr.network}")
    if spec.fwmark is not None:
        parts.append(f"fwmark {spec.fwmark:#x}")
    if spec.table:
        parts.append(f"lookup {spec.table}")
    return " ".join(parts)


async def route_request(nl: NetlinkSession, spec: RouteSpec) -> dict[str, Any]:
    """pyroute2 keyword arguments for ``spec``."""
    req: dict[str, Any] = {
        "family": socket.AF_INET6 if spec.family == 6 else socket.AF_INET,
        "dst": str(spec.dst.network.network_address),
        "dst_len": spec.dst.network.prefixlen,
        "type": int(spec.type),
        "table": spec.table,
    }
    if spec.src is not None:
        req["src"] = str(spec.src.network.network_address)
        req["src_len"] = spec.src.network.prefixlen
    if spec.pref_src is not None:
        req["prefsrc"] = str(spec.pref_src)
    if spec.via is not None:
        req["gateway"] = str(spec.via)
    if spec.dev is not None:
        req["oif"] = await link_index(nl, spec.dev)
    if spec.metric is not None:
        req["priority"] = spec.metric
    if spec.protocol is not None:
        req["proto"] = spec.protocol
    if spec.scope is not None:
        req["scope"] = spec.scope
    if spec.tos is not None:
        req["tos"] = spec.tos
    if spec.onlink:
        req["flags"] = 4  # RTNH_F_ONLINK
    if spec.realms is not None:
        req["flow"] = spec.realms
    metrics = {
        name: getattr(spec, field)
        for field, name in _METRICS.items()
        if getattr(spec, field) is not None
    }
    if metrics:
        req["metrics"] = metrics
    if spec.nexthops:
        hops: list[dict[str, Any]] = []
        for hop in spec.nexthops:
            h: dict[str, Any] = {}
            if hop.via is not None:
                h["gateway"] = str(hop.via)
            if hop.dev is not None:
                h["oif"] = await link_index(nl, hop.dev)
            if hop.weight is not None:
                h["hops"] = hop.weight - 1
            if hop.onlink:
                h["flags"] = 4
            hops.append(h)
        req["multipath"] = hops
    return req


_RULE_ATTRS = {
    "fwmark": "fwmark",
    "fwmask": "fwmask",
    "iif": "iifname",
    "oif": "oifname",
    "suppress_prefixlen": "suppress_prefixlen",
    "suppress_group": "suppress_ifgroup",
    "protocol": "protocol",
    "ip_proto": "ip_proto",
}
"""RuleSpec fields copied as they are when set, by pyroute2 attribute."""


def rule_request(spec: RuleSpec) -> dict[str, Any]:
    """pyroute2 keyword arguments for ``spec``."""
    action = spec.action
    if action is RuleAction.UNSPEC:
        action = RuleAction.TO_TBL if spec.table else RuleAction.UNSPEC
    req: dict[str, Any] = {
        "family": socket.AF_INET6 if spec.family == 6 else socket.AF_INET,
        "action": int(action),
    }
    if spec.table:
        req["table"] = spec.table
    if spec.priority is not None:
        req["priority"] = spec.priority
    if spec.from_addr is not None:
        req["src"] = str(spec.from_addr.network.network_address)
        req["src_len"] = spec.from_addr.network.prefixlen
    if spec.to_addr is not None:
        req["dst"] = str(spec.to_addr.network.network_address)
        req["dst_len"] = spec.to_addr.network.prefixlen
    if spec.invert:
        req["flags"] = 2  # FIB_RULE_INVERT
    if spec.tos:
        req["tos"] = spec.tos
    req.update(
        (attr, getattr(spec, field))
        for field, attr in _RULE_ATTRS.items()
        if getattr(spec, field) is not None
    )
    if spec.sport is not None:
        req["sport_range"] = {"start": spec.sport[0], "end": spec.sport[1]}
    if spec.dport is not None:
        req["dport_range"] = {"start": spec.dport[0], "end": spec.dport[1]}
    if spec.action is RuleAction.GOTO:
        req["goto"] = spec.goto_target
    if spec.l3mdev:
        req["l3mdev"] = 1
    return req


async def _call(nl: NetlinkSession, what: str, op: str, req: dict[str, Any], ok: int) -> bool:
    try:
        await getattr(nl.ipr, what)(op, **req)
    except _PyrouteNetlinkError as exc:
        if exc.code == ok:
            return False
        raise NetlinkOpError(f"{what} {op}", exc.code) from exc
    except OSError as exc:
        raise NetlinkOpError(f"{what} {op}", exc.errno or errno.EIO, str(exc)) from exc
    return True


async def add_route(nl: NetlinkSession, spec: RouteSpec) -> bool:
    """Add ``spec``; False if it was already there."""
    done = await _call(nl, "route", "add", await route_request(nl, spec), errno.EEXIST)
    if done:
        log.info("added route %s", describe_route(spec))
    return done


async def remove_route(nl: NetlinkSession, spec: RouteSpec) -> bool:
    """Delete ``spec``; False if it was not there."""
    done = await _call(nl, "route", "del", await route_request(nl, spec), errno.ESRCH)
    if done:
        log.info("removed route %s", describe_route(spec))
    return done


async def add_rule(nl: NetlinkSession, spec: RuleSpec) -> bool:
    """Add ``spec``; False if it was already there."""
    done = await _call(nl, "rule", "add", rule_request(spec), errno.EEXIST)
    if done:
        log.info("added rule %s", describe_rule(spec))
    return done


async def remove_rule(nl: NetlinkSession, spec: RuleSpec) -> bool:
    """Delete ``spec``; False if it was not there."""
    done = await _call(nl, "rule", "del", rule_request(spec), errno.ENOENT)
    if done:
        log.info("removed rule %s", describe_rule(spec))
    return done
