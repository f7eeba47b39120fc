"""Grouping and global VRRP-side blocks: ``vrrp_sync_group``, ``track_group``, ``garp_group``,
``linkbeat_interfaces``, ``interface_up_down_delays`` and ``static_ipaddress``/``static_routes``/
``static_rules`` (keepalived 2.2.7's vrrp_parser.c).
"""

from __future__ import annotations

import dataclasses
from typing import TypeVar

from pykeepalived.config.keywords import net
from pykeepalived.config.keywords.base import (
    TIMER_HZ,
    Fields,
    Handler,
    Keyword,
    KeywordTable,
    ParseContext,
    check_true_false,
    expect_block,
    read_decimal_unsigned_strvec,
    unknown_keyword,
)
from pykeepalived.config.keywords.vrrp_common import (
    INT_MAX,
    TRACK_BFD,
    TRACK_FILE,
    TRACK_PROCESS,
    TRACK_SCRIPT,
    VrrpParseState,
    interface_known,
    notify_script,
    read_tracked_interfaces,
    read_tracked_list,
    report_missing_interface,
    vrrp_state,
)
from pykeepalived.config.model.net import IpAddressSpec, RouteSpec, RuleSpec
from pykeepalived.config.model.vrrp import LinkbeatType
from pykeepalived.config.tree import Node

_Static = TypeVar("_Static", IpAddressSpec, RouteSpec, RuleSpec)


def _kw(name: str, handler: Handler) -> Keyword:
    return Keyword(name, handler)


def block_words(block: Node) -> list[str]:
    """keepalived's ``read_value_block``: every word of every line of the block."""
    words: list[str] = []
    for child in block.children or ():
        words.extend(child.words)
    return words


# --------------------------------------------------------------------------- vrrp_sync_group


def _sg_group(node: Node, f: Fields, ctx: ParseContext) -> None:
    if f["members"] is not None:
        ctx.diags.error(f"Group list already specified for sync group {f['name']}", node.location)
        return
    if not expect_block(node, ctx):
        return
    words = block_words(node)
    if not words:
        ctx.diags.error(f"Warning - sync group {f['name']} has empty group block", node.location)
        return
    f["members"] = words
    f["members_location"] = node.location


def _sg_track_interface(node: Node, f: Fields, ctx: ParseContext) -> None:
    if expect_block(node, ctx):
        read_tracked_interfaces(f["name"], node, ctx, f["track_interfaces"])


def _sg_track(key: str, kind_name: str) -> Handler:
    kind = {"script": TRACK_SCRIPT, "file": TRACK_FILE, "process": TRACK_PROCESS, "bfd": TRACK_BFD}[
        kind_name
    ]

    def handler(node: Node, f: Fields, ctx: ParseContext) -> None:
        if expect_block(node, ctx):
            read_tracked_list(f["name"], node, kind, ctx, f[key])

    return handler


def _sg_notify(key: str, what: str) -> Handler:
    def handler(node: Node, f: Fields, ctx: ParseContext) -> None:
        if f[key] is not None:
            arg = node.args[0] if node.args else ""
            ctx.diags.error(
                f"vrrp group {f['name']}: {what} already specified - ignoring {arg}",
                node.location,
            )
            return
        script = notify_script(node, ctx)
        if script is not None:
            f[key] = script

    return handler


def _sg_smtp(node: Node, f: Fields, ctx: ParseContext) -> None:
    value = True
    if node.args:
        parsed = check_true_false(node.args[0])
        if parsed is None:
            ctx.diags.error(
                f"Invalid vrrp_group smtp_alert parameter {node.args[0]}", node.location
            )
            return
        value = parsed
    f["smtp_alert"] = value


def _sg_global_tracking(node: Node, f: Fields, ctx: ParseContext) -> None:
    ctx.diags.error(
        f"({f['name']}) global_tracking is deprecated. Use track_interface/script/file on the"
        " sync group",
        node.location,
    )
    f["global_tracking"] = True
    f["tracking_weight"] = True


def _sg_tracking_weight(node: Node, f: Fields, ctx: ParseContext) -> None:
    f["tracking_weight"] = True


def _sg_notify_priority_changes(node: Node, f: Fields, ctx: ParseContext) -> None:
    value = True
    if node.args:
        parsed = check_true_false(node.args[0])
        if parsed is None:
            ctx.diags.error(
                f"({f['name']}) Invalid value '{node.args[0]}' for sync group"
                " notify_priority_changes specified",
                node.location,
            )
            return
        value = parsed
    f["notify_priority_changes"] = value


SYNC_GROUP_TABLE = KeywordTable(
    "vrrp_sync_group",
    [
        _kw("group", _sg_group),
        _kw("track_interface", _sg_track_interface),
        _kw("track_script", _sg_track("track_scripts", "script")),
        _kw("track_file", _sg_track("track_files", "file")),
        _kw("track_process", _sg_track("track_processes", "process")),
        _kw("track_bfd", _sg_track("track_bfds", "bfd")),
        _kw("notify_backup", _sg_notify("notify_backup", "notify_backup script")),
        _kw("notify_master", _sg_notify("notify_master", "notify_master script")),
        _kw("notify_fault", _sg_notify("notify_fault", "notify_fault script")),
        _kw("notify_stop", _sg_notify("notify_stop", "notify_stop script")),
        _kw("notify", _sg_notify("notify", "notify script")),
        _kw("smtp_alert", _sg_smtp),
        _kw("global_tracking", _sg_global_tracking),
        _kw("sync_group_tracking_weight", _sg_tracking_weight),
        _kw("notify_priority_changes", _sg_notify_priority_changes),
    ],
)


def _dispatch(table: KeywordTable, block: Node, f: Fields, ctx: ParseContext) -> None:
    for child in block.children or ():
        kw = table.get(child.keyword)
        if kw is None:
            unknown_keyword(child, ctx)
            continue
        kw.handler(child, f, ctx)


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
    _dispatch(SYNC_GROUP_TABLE, node, f, ctx)
    state.sync_groups.append(f)


# --------------------------------------------------------------------------- track_group


def _tg_group(node: Node, f: Fields, ctx: ParseContext) -> None:
    if f["members"] is not None:
        ctx.diags.error(f"Group list already specified for sync group {f['name']}", node.location)
        return
    if not expect_block(node, ctx):
        return
    words = block_words(node)
    if not words:
        ctx.diags.error(f"Warning - track group {f['name']} has empty group block", node.location)
        return
    f["members"] = words


TRACK_GROUP_TABLE = KeywordTable("track_group", [_kw("group", _tg_group)])


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
    _dispatch(TRACK_GROUP_TABLE, node, f, ctx)
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
        _kw("garp_interval", _gg_interval("garp_interval_s", "garp_interval")),
        _kw("gna_interval", _gg_interval("gna_interval_s", "gna_interval")),
        _kw("interface", _gg_interface),
        _kw("interfaces", _gg_interfaces),
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
    _dispatch(GARP_GROUP_TABLE, node, f, ctx)
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


def linkbeat_interfaces_handler(node: Node, fields: Fields, ctx: ParseContext) -> None:
    """Root keyword ``linkbeat_interfaces { IF [MII|ETHTOOL|IOCTL] ... }``."""
    if not expect_block(node, ctx):
        return
    state = vrrp_state(fields)
    for entry in node.children or ():
        if interface_known(entry.keyword, ctx):
            linkbeat_entry(entry, state, ctx)
            continue
        report_missing_interface(
            ctx,
            f"unknown interface {entry.keyword} specified for linkbeat interface",
            entry.location,
            lambda e=entry: linkbeat_entry(e, state, ctx),  # type: ignore[misc]
            fatal=True,
            stops_vrrp=False,
        )


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
    if not expect_block(node, ctx):
        return
    state = vrrp_state(fields)
    for entry in node.children or ():
        if interface_known(entry.keyword, ctx):
            up_down_entry(entry, state, ctx)
            continue
        report_missing_interface(
            ctx,
            f"unknown interface {entry.keyword} specified for up/down delay",
            entry.location,
            lambda e=entry: up_down_entry(e, state, ctx),  # type: ignore[misc]
            fatal=True,
            stops_vrrp=False,
        )


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
