"""What a reload would change: the difference between two config models.

VRRP instances are matched as keepalived's ``vrrp_exist()`` matches them across a reload
(VRID, address family, interface, unicast or multicast, source address, multicast group, VMAC),
not by name, so a renamed instance is a rename, not a removal plus an addition. Sync groups are
matched by name. Virtual servers are matched as ``vs_iseq()`` matches them (the service: address,
port and protocol, fwmark, or group name, with the family), real servers by address and port
within their virtual server. ``global_defs`` changes are listed field by field.

Pure: two `Config` values in, a `ConfigDiff` out; `format_diff` renders it for people.
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
from dataclasses import dataclass
from typing import Any

from pykeepalived.config.model import Config
from pykeepalived.config.model.lvs import (
    AddressService,
    FwmarkService,
    GroupService,
    RealServer,
    VirtualServer,
)
from pykeepalived.config.model.vrrp import VrrpInstance

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Action(enum.StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True)
class Change:
    """One object that differs: what it is, its name (new name for renames), and how.

    ``fields`` lists the changed settings (for CHANGED); ``old_name`` is set when an instance
    was matched under another name; ``children`` holds real server changes of a virtual server.
    """

    kind: str
    name: str
    action: Action
    fields: tuple[str, ...] = ()
    old_name: str | None = None
    children: tuple[Change, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "name": self.name, "action": self.action.value}
        if self.fields:
            data["fields"] = list(self.fields)
        if self.old_name is not None:
            data["old_name"] = self.old_name
        if self.children:
            data["children"] = [c.to_json() for c in self.children]
        return data


@dataclass(frozen=True)
class ConfigDiff:
    """Every change, grouped by subsystem, in config order (removals last)."""

    global_fields: tuple[str, ...] = ()
    vrrp: tuple[Change, ...] = ()
    lvs: tuple[Change, ...] = ()
    other: tuple[Change, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.global_fields or self.vrrp or self.lvs or self.other)

    def to_json(self) -> dict[str, Any]:
        return {
            "global_defs": list(self.global_fields),
            "vrrp": [c.to_json() for c in self.vrrp],
            "lvs": [c.to_json() for c in self.lvs],
            "other": [c.to_json() for c in self.other],
        }


# ---- matching keys ------------------------------------------------------------------------


@dataclass(frozen=True)
class InstanceKey:
    """keepalived's ``vrrp_exist()`` comparison."""

    vrid: int
    family: int
    interface: str | None
    unicast: bool
    src_ip: IPAddress | None
    mcast_dst: IPAddress | None
    use_vmac: bool

    @classmethod
    def of(cls, inst: VrrpInstance) -> InstanceKey:
        return cls(
            inst.virtual_router_id,
            inst.family,
            inst.interface,
            inst.is_unicast,
            inst.src_ip,
            inst.mcast_dst_ip,
            inst.use_vmac,
        )


def vs_label(vs: VirtualServer) -> str:
    """A virtual server as keepalived prints it (``[192.0.2.1]:tcp:80``, ``FWM 5``, ...)."""
    svc = vs.service
    proto = vs.protocol.name.lower() if vs.protocol is not None else "tcp"
    if isinstance(svc, AddressService):
        return f"[{svc.address}]:{proto}:{svc.port}"
    if isinstance(svc, FwmarkService):
        return f"FWM {svc.fwmark}"
    return f"group {svc.name}"


def vs_key(vs: VirtualServer) -> tuple[object, ...]:
    """keepalived's ``vs_iseq()``: group name (and port), else family and fwmark or address."""
    svc = vs.service
    if isinstance(svc, GroupService):
        return ("group", svc.name, vs.protocol)
    family = int(vs.family) if vs.family is not None else None
    if isinstance(svc, FwmarkService):
        return ("fwmark", family, svc.fwmark)
    return ("addr", family, vs.protocol, svc.address, svc.port)


def rs_label(rs: RealServer, vs: VirtualServer) -> str:
    proto = vs.protocol.name.lower() if vs.protocol is not None else "tcp"
    return f"[{rs.address}]:{proto}:{rs.port}"


# ---- comparison ---------------------------------------------------------------------------


def changed_fields(old: Any, new: Any, *, ignore: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """Names of the compared dataclass fields whose values differ (config order)."""
    out: list[str] = []
    for f in dataclasses.fields(old):
        if not f.compare or f.name in ignore:
            continue
        if getattr(old, f.name) != getattr(new, f.name):
            out.append(f.name)
    return tuple(out)


def _diff_instances(old: Config, new: Config) -> list[Change]:
    old_by_key: dict[InstanceKey, VrrpInstance] = {}
    for inst in old.vrrp.instances:
        old_by_key.setdefault(InstanceKey.of(inst), inst)
    changes: list[Change] = []
    for inst in new.vrrp.instances:
        prev = old_by_key.pop(InstanceKey.of(inst), None)
        if prev is None:
            changes.append(Change("vrrp_instance", inst.name, Action.ADDED))
            continue
        fields = changed_fields(prev, inst, ignore=frozenset({"name"}))
        renamed = prev.name != inst.name
        if fields or renamed:
            changes.append(
                Change(
                    "vrrp_instance",
                    inst.name,
                    Action.CHANGED,
                    fields,
                    old_name=prev.name if renamed else None,
                )
            )
    changes.extend(
        Change("vrrp_instance", inst.name, Action.REMOVED) for inst in old_by_key.values()
    )
    return changes


def _diff_named(kind: str, old: tuple[Any, ...], new: tuple[Any, ...]) -> list[Change]:
    """Objects with a ``name`` field, matched by name."""
    old_by_name = {o.name: o for o in old}
    changes: list[Change] = []
    for obj in new:
        prev = old_by_name.pop(obj.name, None)
        if prev is None:
            changes.append(Change(kind, obj.name, Action.ADDED))
        elif prev != obj:
            changes.append(Change(kind, obj.name, Action.CHANGED, changed_fields(prev, obj)))
    changes.extend(Change(kind, name, Action.REMOVED) for name in old_by_name)
    return changes


def _diff_real_servers(old: VirtualServer, new: VirtualServer) -> list[Change]:
    old_by_key = {(rs.address, rs.port): rs for rs in old.real_servers}
    changes: list[Change] = []
    for rs in new.real_servers:
        prev = old_by_key.pop((rs.address, rs.port), None)
        label = rs_label(rs, new)
        if prev is None:
            changes.append(Change("real_server", label, Action.ADDED))
        elif prev != rs:
            changes.append(Change("real_server", label, Action.CHANGED, changed_fields(prev, rs)))
    changes.extend(
        Change("real_server", rs_label(rs, old), Action.REMOVED) for rs in old_by_key.values()
    )
    return changes


def _diff_virtual_servers(old: Config, new: Config) -> list[Change]:
    old_by_key: dict[tuple[object, ...], VirtualServer] = {}
    for vs in old.lvs.virtual_servers:
        old_by_key.setdefault(vs_key(vs), vs)
    changes: list[Change] = []
    for vs in new.lvs.virtual_servers:
        prev = old_by_key.pop(vs_key(vs), None)
        if prev is None:
            changes.append(Change("virtual_server", vs_label(vs), Action.ADDED))
            continue
        if prev == vs:
            continue
        fields = changed_fields(prev, vs, ignore=frozenset({"real_servers"}))
        children = tuple(_diff_real_servers(prev, vs))
        changes.append(
            Change("virtual_server", vs_label(vs), Action.CHANGED, fields, None, children)
        )
    changes.extend(
        Change("virtual_server", vs_label(vs), Action.REMOVED) for vs in old_by_key.values()
    )
    return changes


def diff_configs(old: Config, new: Config) -> ConfigDiff:
    """What applying ``new`` over a daemon running ``old`` changes."""
    vrrp: list[Change] = []
    vrrp += _diff_instances(old, new)
    vrrp += _diff_named("vrrp_sync_group", old.vrrp.sync_groups, new.vrrp.sync_groups)
    vrrp += _diff_named("vrrp_script", old.vrrp.scripts, new.vrrp.scripts)
    vrrp += _diff_named("track_file", old.vrrp.track_files, new.vrrp.track_files)
    vrrp += _diff_named("vrrp_track_process", old.vrrp.track_processes, new.vrrp.track_processes)
    vrrp += _diff_named("bfd_instance", old.vrrp.bfd_instances, new.vrrp.bfd_instances)
    other: list[Change] = []
    for name in ("static_ipaddresses", "static_routes", "static_rules"):
        if getattr(old.vrrp, name) != getattr(new.vrrp, name):
            other.append(Change(name, name, Action.CHANGED))
    lvs: list[Change] = []
    lvs += _diff_virtual_servers(old, new)
    lvs += _diff_named(
        "virtual_server_group", old.lvs.virtual_server_groups, new.lvs.virtual_server_groups
    )
    if old.lvs.ssl != new.lvs.ssl:
        lvs.append(Change("SSL", "SSL", Action.CHANGED))
    return ConfigDiff(
        global_fields=changed_fields(old.global_defs, new.global_defs),
        vrrp=tuple(vrrp),
        lvs=tuple(lvs),
        other=tuple(other),
    )


_SIGN = {Action.ADDED: "+", Action.REMOVED: "-", Action.CHANGED: "~"}


def _format_change(change: Change, indent: str) -> list[str]:
    line = f"{indent}{_SIGN[change.action]} {change.kind} {change.name}"
    if change.old_name is not None:
        line += f" (was {change.old_name})"
    if change.fields:
        line += f": {', '.join(change.fields)}"
    lines = [line]
    for child in change.children:
        lines += _format_change(child, indent + "    ")
    return lines


def format_diff(diff: ConfigDiff) -> list[str]:
    """One line per change (``+`` added, ``-`` removed, ``~`` changed)."""
    if diff.empty:
        return ["no changes"]
    lines: list[str] = []
    if diff.global_fields:
        lines.append(f"~ global_defs: {', '.join(diff.global_fields)}")
    for change in (*diff.vrrp, *diff.other, *diff.lvs):
        lines += _format_change(change, "")
    return lines
