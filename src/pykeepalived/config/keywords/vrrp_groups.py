"""Grouping and global VRRP-side blocks: ``vrrp_sync_group``, ``track_group``, ``garp_group``,
``linkbeat_interfaces``, ``interface_up_down_delays`` and ``static_ipaddress``/``static_routes``/
``static_rules`` (keepalived 2.2.7's vrrp_parser.c).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TypeVar

from pykeepalived.config.keywords import net
from pykeepalived.config.keywords.base import (
    TIMER_HZ,
    Fields,
    Handler,
    Keyword,
    KeywordTable,
    ParseContext,
    expect_block,
    opt_bool,
    read_decimal_unsigned_strvec,
    set_value,
)
from pykeepalived.config.keywords.vrrp_common import (
    INT_MAX,
    TRACK_KEYWORDS,
    VrrpParseState,
    interface_known,
    notify_handler,
    report_missing_interface,
    vrrp_state,
)
from pykeepalived.config.model.net import IpAddressSpec, RouteSpec, RuleSpec
from pykeepalived.config.model.vrrp import LinkbeatType
from pykeepalived.config.tree import Node

_Static = TypeVar("_Static", IpAddressSpec, RouteSpec, RuleSpec)


def block_words(block: Node) -> list[str]:
    """keepalived's ``read_value_block``: every word of every line of the block."""
    words: list[str] = []
    for child in block.children or ():
        words.extend(child.words)
    return words


# --------------------------------------------------------------------------- vrrp_sync_group


def _group_block(what: str) -> Handler:
    """``group { NAME ... }`` of a sync group or track group (``what`` names which)."""

    def handler(node: Node, f: Fields, ctx: ParseContext) -> None:
        if f["members"] is not None:
            # keepalived says "sync group" for a track group too
            ctx.diags.error(
                f"Group list already specified for sync group {f['name']}", node.location
            )
            return
        if not expect_block(node, ctx):
            return
        words = block_words(node)
        if not words:
            ctx.diags.error(f"Warning - {what} {f['name']} has empty group block", node.location)
            return
        f["members"] = words
        f["members_location"] = node.location

    return handler


def _sg_global_tracking(node: Node, f: Fields, ctx: ParseContext) -> None:
    ctx.diags.error(
        f"({f['name']}) global_tracking is deprecated. Use track_interface/script/file on the"
        " sync group",
        node.location,
    )
    f["global_tracking"] = True
    f["tracking_weight"] = True


SYNC_GROUP_TABLE = KeywordTable(
    "vrrp_sync_group",
    [
        Keyword("group", _group_block("sync group")),
        *TRACK_KEYWORDS,
        Keyword("notify_backup", notify_handler("notify_backup", "vrrp group {name}:")),
        Keyword("notify_master", notify_handler("notify_master", "vrrp group {name}:")),
        Keyword("notify_fault", notify_handler("notify_fault", "vrrp group {name}:")),
        Keyword("notify_stop", notify_handler("notify_stop", "vrrp group {name}:")),
        Keyword("notify", notify_handler("notify", "vrrp group {name}:")),
        Keyword(
            "smtp_alert", opt_bool("smtp_alert", "Invalid vrrp_group smtp_alert parameter {value}")
        ),
        Keyword("global_tracking", _sg_global_tracking),
        Keyword("sync_group_tracking_weight", set_value("tracking_weight")),
        Keyword(
            "notify_priority_changes",
            opt_bool(
                "notify_priority_changes",
                "({name}) Invalid value '{value}' for sync group notify_priority_changes specified",
            ),
        ),
    ],
)


def sync_group_handler(node: Node, fields: Fields, ctx: ParseContext) -> None:
    """Root keyword ``vrrp_sync_group NAME { ... }``."""
    state = vrrp_state(fields)
    if len(node.args) != 1:
        ctx.diags.error("vrrp_sync_group must have a name - skipping", node.location)
        return
    name = node.args[0]
    if any(g["name"] == name for g in state.sync_groups):
        ctx.diags.error(f"vrrp sync group {name} already defined", node.location)
        return
    if not expect_block(node, ctx):
        return
    f: Fields = {
        "name": name,
        "location": node.location,
        "members": None,
        "members_location": None,
        "track_interfaces": [],
        "track_scripts": [],
        "track_files": [],
        "track_processes": [],
        "track_bfds": [],
        "notify_master": None,
        "notify_backup": None,
        "notify_fault": None,
        "notify_stop": None,
        "notify": None,
        "smtp_alert": None,
        "tracking_weight": False,
        "global_tracking": False,
        "notify_priority_changes": None,
    }
    SYNC_GROUP_TABLE.dispatch(node, f, ctx)
    state.sync_groups.append(f)


# --------------------------------------------------------------------------- track_group


TRACK_GROUP_TABLE = KeywordTable("track_group", [Keyword("group", _group_block("track group"))])


def track_group_handler(node: Node, fields: Fields, ctx: ParseContext) -> None:
    """Root keyword ``track_group NAME { group { VI_1 ... } }``."""
    state = vrrp_state(fields)
    if len(node.args) != 1:
        ctx.diags.error("track_group must have a name - skipping", node.location)
        return
    name = node.args[0]
    if any(g["name"] == name for g in state.track_groups):
        ctx.diags.error(f"track_group {name} already defined", node.location)
        return
    if not expect_block(node, ctx):
        return
    f: Fields = {"name": name, "location": node.location, "members": None}
    TRACK_GROUP_TABLE.dispatch(node, f, ctx)
    state.track_groups.append(f)


# --------------------------------------------------------------------------- garp_group


def _assigned_garp_interfaces(ctx: ParseContext) -> set[str]:
    found: set[str] = set()
    for group in vrrp_state(ctx.fields_of("vrrp")).garp_groups:
        found.update(group["interfaces"])
    return found


def _gg_interval(key: str, what: str) -> Handler:
    def handler(node: Node, f: Fields, ctx: ParseContext) -> None:
        value = read_decimal_unsigned_strvec(node, ctx, 0, 0, INT_MAX, places=6)
        if value is None:
            arg = node.args[0] if node.args else ""
            ctx.diags.error(f"garp_group {what} '{arg}' invalid", node.location)
            return
        f[key] = round(value / TIMER_HZ, 6)

    return handler


def _gg_add_interface(name: str, node: Node, f: Fields, ctx: ParseContext) -> None:
    if not interface_known(name, ctx):
        report_missing_interface(
            ctx,
            f"WARNING - interface {name} specified for garp_group doesn't exist",
            node.location,
            lambda: f["interfaces"].append(name),
            stops_vrrp=False,
        )
        return
    if name in f["interfaces"] or name in _assigned_garp_interfaces(ctx):
        ctx.diags.error(f"garp_group already specified for {name} - ignoring", node.location)
        return
    f["interfaces"].append(name)


def _gg_interface(node: Node, f: Fields, ctx: ParseContext) -> None:
    if node.args:
        _gg_add_interface(node.args[0], node, f, ctx)


def _gg_interfaces(node: Node, f: Fields, ctx: ParseContext) -> None:
    if not expect_block(node, ctx):
        return
    words = block_words(node)
    if not words:
        ctx.diags.error("Warning - empty garp_group interfaces block", node.location)
        return
    f["interfaces_block"] = True
    for word in words:
        _gg_add_interface(word, node, f, ctx)


GARP_GROUP_TABLE = KeywordTable(
    "garp_group",
    [
        Keyword("garp_interval", _gg_interval("garp_interval_s", "garp_interval")),
        Keyword("gna_interval", _gg_interval("gna_interval_s", "gna_interval")),
        Keyword("interface", _gg_interface),
        Keyword("interfaces", _gg_interfaces),
    ],
)


def garp_group_handler(node: Node, fields: Fields, ctx: ParseContext) -> None:
    """Root keyword ``garp_group { ... }``."""
    if not expect_block(node, ctx):
        return
    state = vrrp_state(fields)
    f: Fields = {
        "location": node.location,
        "interfaces": [],
        "garp_interval_s": None,
        "gna_interval_s": None,
        "interfaces_block": False,
    }
    GARP_GROUP_TABLE.dispatch(node, f, ctx)
    if f["garp_interval_s"] is None and f["gna_interval_s"] is None:
        number = 0
        if f["interfaces_block"]:
            number = 1 + sum(1 for g in state.garp_groups if g["interfaces_block"])
        ctx.diags.error(
            f"garp group {number} does not have any delay set - removing",
            node.end_location or node.location,
        )
        return
    state.garp_groups.append(f)


# --------------------------------------------------------------------------- linkbeat / delays


def _interface_lines(
    node: Node,
    fields: Fields,
    ctx: ParseContext,
    what: str,
    read_entry: Callable[[Node, VrrpParseState, ParseContext], None],
) -> None:
    """A block of ``IF ...`` lines; a line naming an unknown interface is a fatal error
    (``what`` says for what), undone with ``dynamic_interfaces``."""
    if not expect_block(node, ctx):
        return
    state = vrrp_state(fields)
    for entry in node.children or ():
        if interface_known(entry.keyword, ctx):
            read_entry(entry, state, ctx)
            continue
        report_missing_interface(
            ctx,
            f"unknown interface {entry.keyword} specified for {what}",
            entry.location,
            lambda e=entry: read_entry(e, state, ctx),  # type: ignore[misc]
            fatal=True,
            stops_vrrp=False,
        )


def linkbeat_interfaces_handler(node: Node, fields: Fields, ctx: ParseContext) -> None:
    """Root keyword ``linkbeat_interfaces { IF [MII|ETHTOOL|IOCTL] ... }``."""
    _interface_lines(node, fields, ctx, "linkbeat interface", linkbeat_entry)


def linkbeat_entry(entry: Node, state: VrrpParseState, ctx: ParseContext) -> None:
    """One ``IF [MII|ETHTOOL|IOCTL]`` line of ``linkbeat_interfaces``."""
    name = entry.keyword
    lb_type = LinkbeatType.DEFAULT
    if entry.args:
        word = entry.args[0]
        if word in ("MII", "ETHTOOL", "IOCTL"):
            lb_type = LinkbeatType(word)
        if lb_type is LinkbeatType.DEFAULT or len(entry.args) > 1:
            ctx.diags.error(f"extra characters {word} in linkbeat interface", entry.location)
    state.linkbeat = [e for e in state.linkbeat if e["name"] != name]
    state.linkbeat.append({"name": name, "type": lb_type, "location": entry.location})


def up_down_delays_handler(node: Node, fields: Fields, ctx: ParseContext) -> None:
    """Root keyword ``interface_up_down_delays { IF DOWN [UP] ... }`` (seconds, max 255)."""
    _interface_lines(node, fields, ctx, "up/down delay", up_down_entry)


def up_down_entry(entry: Node, state: VrrpParseState, ctx: ParseContext) -> None:
    """One ``IF DOWN [UP]`` line of ``interface_up_down_delays``."""
    name = entry.keyword
    if not entry.args:
        ctx.diags.info(f"No timeouts specified for {name} up/down delays", entry.location)
        return
    if len(entry.args) > 2:
        ctx.diags.info(f"Too many parameters for {name} up/down delays", entry.location)
    down = read_decimal_unsigned_strvec(entry, ctx, 0, 0, 255 * TIMER_HZ, places=6)
    if down is None:
        ctx.diags.info(f"Invalid down delay {entry.args[0]} for {name}", entry.location)
        return
    up = 0
    if len(entry.args) >= 2:
        parsed = read_decimal_unsigned_strvec(entry, ctx, 1, 0, 255 * TIMER_HZ, places=6)
        if parsed is None:
            ctx.diags.info(f"Invalid up delay {entry.args[1]} for {name}", entry.location)
            return
        up = parsed
    state.up_down_delays = [e for e in state.up_down_delays if e["name"] != name]
    state.up_down_delays.append(
        {
            "name": name,
            "down_delay_s": round(down / TIMER_HZ, 6),
            "up_delay_s": round(up / TIMER_HZ, 6),
            "location": entry.location,
        }
    )


# --------------------------------------------------------------------------- static entries


def _known_track_group(spec: _Static, entry: Node, ctx: ParseContext) -> _Static:
    """A static entry naming an undefined ``track_group`` loses it (keepalived's message)."""
    group = spec.track_group
    if group is None:
        return spec
    if any(g["name"] == group for g in vrrp_state(ctx.fields_of("vrrp")).track_groups):
        return spec
    ctx.diags.error(f"track_group {group} not found", entry.location)
    return dataclasses.replace(spec, track_group=None)


def static_addresses_handler(node: Node, fields: Fields, ctx: ParseContext) -> None:
    """Root keyword ``static_ipaddress { ... }``."""
    if not expect_block(node, ctx):
        return
    state = vrrp_state(fields)
    for entry in node.children or ():
        spec = net.parse_ip_address(entry, ctx, allow_track_group=True)
        if spec is not None:
            state.static_addresses.append(_known_track_group(spec, entry, ctx))


def static_routes_handler(node: Node, fields: Fields, ctx: ParseContext) -> None:
    """Root keyword ``static_routes { ... }``."""
    if not expect_block(node, ctx):
        return
    state = vrrp_state(fields)
    for entry in node.children or ():
        spec = net.parse_route(entry, ctx, virtual=False)
        if spec is not None:
            state.static_routes.append(_known_track_group(spec, entry, ctx))


def static_rules_handler(node: Node, fields: Fields, ctx: ParseContext) -> None:
    """Root keyword ``static_rules { ... }``."""
    if not expect_block(node, ctx):
        return
    state = vrrp_state(fields)
    for entry in node.children or ():
        spec = net.parse_rule(entry, ctx, virtual=False)
        if spec is not None:
            state.static_rules.append(_known_track_group(spec, entry, ctx))
