"""Helpers shared by the VRRP keyword tables: readers with keepalived's messages, the global
defaults an instance copies, interface checks, script lines and tracked-object lists.

The ``vrrp`` subsystem's ``Fields`` hold lists of per-object field dicts (``instances``,
``scripts``, ...) in config order; `vrrp_state` gives typed access to them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pykeepalived.config.errors import Diagnostic, Diagnostics, Location
from pykeepalived.config.keywords.base import (
    INT32_MAX,
    TIMER_HZ,
    UINT32_MAX,
    Fields,
    Handler,
    Keyword,
    ParseContext,
    expect_block,
    format_message,
    read_int_strvec,
    report_quote_error,
    require_args,
)
from pykeepalived.config.model.common import QuoteError, Script, split_quoted_escaped
from pykeepalived.config.model.vrrp import Tracked, TrackedInterface
from pykeepalived.config.tree import Node

IFNAMSIZ = 16
UINT_MAX = UINT32_MAX
INT_MAX = INT32_MAX

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


# --------------------------------------------------------------------------- parse state


@dataclass
class VrrpParseState:
    """What the VRRP keyword handlers accumulate while the file is read (config order)."""

    instances: list[Fields] = field(default_factory=list)
    scripts: list[Fields] = field(default_factory=list)
    sync_groups: list[Fields] = field(default_factory=list)
    track_files: list[Fields] = field(default_factory=list)
    track_processes: list[Fields] = field(default_factory=list)
    bfds: list[Fields] = field(default_factory=list)
    bfd_tracks: list[Fields] = field(default_factory=list)
    bfd_diags: Diagnostics = field(default_factory=Diagnostics)
    track_groups: list[Fields] = field(default_factory=list)
    garp_groups: list[Fields] = field(default_factory=list)
    linkbeat: list[Fields] = field(default_factory=list)
    up_down_delays: list[Fields] = field(default_factory=list)
    static_addresses: list[Any] = field(default_factory=list)
    static_routes: list[Any] = field(default_factory=list)
    static_rules: list[Any] = field(default_factory=list)
    nonexistent_interface: bool = False
    deferred_missing: list[tuple[Diagnostic, Callable[[], None]]] = field(default_factory=list)
    """Messages about interfaces that do not exist, with how to undo them: keepalived reads
    ``global_defs`` before anything else, so a later ``dynamic_interfaces`` still applies."""

    def script_names(self) -> set[str]:
        return {s["name"] for s in self.scripts}


def vrrp_state(fields: Fields) -> VrrpParseState:
    """The parse state kept in the vrrp subsystem's fields (created on first use)."""
    state = fields.get("_state")
    if not isinstance(state, VrrpParseState):
        state = VrrpParseState()
        fields["_state"] = state
    return state


# --------------------------------------------------------------------------- globals


_GLOBAL_DEFAULTS: dict[str, Any] = {
    "vrrp_garp_master_delay": 5,
    "vrrp_garp_master_repeat": 5,
    "vrrp_garp_master_refresh": 0,
    "vrrp_garp_master_refresh_repeat": 1,
    "vrrp_garp_lower_prio_delay": None,
    "vrrp_garp_lower_prio_repeat": None,
    "vrrp_version": 2,
    "vrrp_strict": False,
    "vrrp_skip_check_adv_addr": False,
    "vrrp_lower_prio_no_advert": False,
    "vrrp_higher_prio_send_advert": False,
    "vrrp_down_timer_adverts": 3,
    "vrrp_check_unicast_src": False,
    "vrrp_garp_extra_if": 0,
    "vrrp_garp_extra_if_all": False,
    "vrrp_notify_priority_changes": False,
    "smtp_alert": None,
    "smtp_alert_vrrp": None,
    "dynamic_interfaces": False,
    "linkbeat_use_polling": False,
}


def global_value(ctx: ParseContext, key: str) -> Any:
    """A global_defs value as read so far (``ctx.fields_of("global")``), or its default."""
    value = ctx.fields_of("global").get(key)
    if value is None:
        return _GLOBAL_DEFAULTS.get(key)
    return value


def global_int(ctx: ParseContext, key: str) -> int:
    value = global_value(ctx, key)
    return int(value) if value is not None else 0


def global_bool(ctx: ParseContext, key: str) -> bool:
    return bool(global_value(ctx, key))


def global_opt_bool(ctx: ParseContext, key: str) -> bool | None:
    value = global_value(ctx, key)
    return None if value is None else bool(value)


# --------------------------------------------------------------------------- readers


def parse_ip(text: str) -> IPAddress | None:
    """``inet_stosockaddr``: a bare address (an IPv6 scope is not accepted)."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def usec_to_s(value_us: int) -> float:
    return round(value_us / TIMER_HZ, 6)


def format_seconds(value_s: float) -> str:
    """A seconds value as keepalived.conf text (no trailing zeros)."""
    text = f"{value_s:.6f}".rstrip("0").rstrip(".")
    return text or "0"


# --------------------------------------------------------------------------- interfaces


def interface_known(name: str, ctx: ParseContext) -> bool:
    """Whether keepalived would find (or create, with ``dynamic_interfaces``) the interface."""
    if ctx.interface_exists is None or global_bool(ctx, "dynamic_interfaces"):
        return True
    return ctx.interface_exists(name)


def is_loopback(name: str) -> bool:
    """keepalived refuses ARPHRD_LOOPBACK interfaces; without system access, that is ``lo``."""
    return name == "lo"


def report_missing_interface(
    ctx: ParseContext,
    message: str,
    location: Location | None,
    restore: Callable[[], None],
    *,
    fatal: bool = False,
    stops_vrrp: bool = True,
) -> None:
    """Report a missing interface; `undo_missing_interfaces` calls ``restore`` (and removes the
    message) if ``dynamic_interfaces`` turns out to be set."""
    state = vrrp_state(ctx.fields_of("vrrp"))
    if fatal:
        ctx.diags.fatal(message, location)
    else:
        ctx.diags.error(message, location)
    state.deferred_missing.append((ctx.diags.items[-1], restore))
    if stops_vrrp:
        state.nonexistent_interface = True


def undo_missing_interfaces(state: VrrpParseState, ctx: ParseContext) -> None:
    """With ``dynamic_interfaces`` (wherever it is in the file) nothing is missing."""
    if not global_bool(ctx, "dynamic_interfaces"):
        return
    for diag, restore in reversed(state.deferred_missing):
        ctx.diags.items[:] = [d for d in ctx.diags.items if d is not diag]
        restore()
    state.deferred_missing.clear()
    state.nonexistent_interface = False


# --------------------------------------------------------------------------- scripts


def script_words(node: Node, ctx: ParseContext) -> list[str] | None:
    """The words after the keyword, re-read with quotes and escapes (keepalived's
    ``alloc_strvec_quoted_escaped``); ``None`` after a message if badly quoted."""
    if not node.raw:
        return list(node.args)
    try:
        return split_quoted_escaped(node.raw)
    except QuoteError as exc:
        report_quote_error(exc, node, ctx)
        return None


def notify_script(node: Node, ctx: ParseContext) -> Script | None:
    """``KEYWORD "CMD ARGS" [user [group]]``: the command is the first (quoted) word."""
    if not require_args(node, 1, ctx):
        return None
    words = script_words(node, ctx)
    if not words:
        return None
    command = words[0]
    try:
        argv = split_quoted_escaped(command)
    except QuoteError as exc:
        report_quote_error(exc, node, ctx)
        return None
    if not argv:
        return None
    user = words[1] if len(words) > 1 else None
    group = words[2] if len(words) > 2 else None
    return Script(tuple(argv), user, group, command)


def notify_handler(key: str, owner: str) -> Handler:
    """``notify_* SCRIPT`` into ``fields[key]``, only once per block; ``owner`` is how the
    "already specified" message names the block (``{name}`` for its name)."""
    already = f"{owner} {key} script already specified - ignoring {{value}}"

    def handler(node: Node, f: Fields, ctx: ParseContext) -> None:
        if f[key] is not None:
            ctx.diags.error(format_message(already, node, f), node.location)
            return
        script = notify_script(node, ctx)
        if script is not None:
            f[key] = script

    return handler


# --------------------------------------------------------------------------- tracked lists


@dataclass(frozen=True)
class TrackKind:
    """How one kind of ``track_*`` block entry is read (keepalived's alloc_track_*)."""

    lookup: Callable[[str, ParseContext], tuple[int, bool] | None]
    """Name -> (default weight, default reverse) of the tracked object, or None if unknown."""
    not_found: str
    duplicate: str
    unknown_option: str
    no_value: str
    bad_weight: str
    bad_weight_option: str
    weight_lo: int
    weight_hi: int
    clamp_254: bool = False
    noreverse: bool = True
    bad_option_drops: bool = False


def read_tracked_list(
    owner: str, block: Node, kind: TrackKind, ctx: ParseContext, found: list[Tracked]
) -> None:
    """Append the entries of a ``track_script { NAME [weight N [reverse|noreverse]] }`` block
    to ``found`` (the owner's entries so far, for the duplicate check)."""
    for entry in block.children or ():
        tracked = entry.keyword
        loc = entry.location
        fmt = {"owner": owner, "name": tracked}
        default = kind.lookup(tracked, ctx)
        if default is None:
            ctx.diags.error(kind.not_found.format(**fmt), loc)
            continue
        if any(t.name == tracked for t in found):
            ctx.diags.error(kind.duplicate.format(**fmt), loc)
            continue
        weight, reverse = default
        args = entry.args
        if args:
            if args[0] != "weight":
                ctx.diags.error(kind.unknown_option.format(option=args[0], **fmt), loc)
                continue
            if len(args) == 1:
                ctx.diags.error(kind.no_value.format(**fmt), loc)
                continue
            value = read_int_strvec(entry, ctx, 1, kind.weight_lo, kind.weight_hi)
            if value is None:
                ctx.diags.error(kind.bad_weight.format(value=args[1], **fmt), loc)
            elif kind.clamp_254 and value in (-254, 254):
                ctx.diags.error(
                    f"({owner}) weight for {tracked} cannot be +/-254. Setting to +/-253", loc
                )
                weight = -253 if value < 0 else 253
            else:
                weight = value
            if len(args) >= 3:
                if args[2] == "reverse":
                    reverse = True
                elif args[2] == "noreverse" and kind.noreverse:
                    reverse = False
                else:
                    ctx.diags.error(kind.bad_weight_option.format(option=args[2], **fmt), loc)
                    if kind.bad_option_drops:
                        continue
        found.append(Tracked(tracked, weight, reverse, loc))


def _inserter(
    items: list[TrackedInterface], index: int, item: TrackedInterface
) -> Callable[[], None]:
    def restore() -> None:
        items.insert(index, item)

    return restore


def read_tracked_interfaces(
    owner: str, block: Node, ctx: ParseContext, found: list[TrackedInterface]
) -> None:
    """Append ``track_interface { IF [weight N [reverse]] }`` entries to ``found``
    (keepalived's alloc_track_if)."""
    for entry in block.children or ():
        name = entry.keyword
        loc = entry.location
        if not interface_known(name, ctx):
            restored = TrackedInterface(name, 0, False, loc)
            report_missing_interface(
                ctx,
                f"({owner}) tracked interface {name} doesn't exist",
                loc,
                _inserter(found, len(found), restored),
            )
            continue
        if any(t.name == name for t in found):
            ctx.diags.error(f"({owner}) duplicate track_interface {name} - ignoring", loc)
            continue
        weight = 0
        reverse = False
        args = entry.args
        if args:
            if args[0] != "weight":
                ctx.diags.error(
                    f"({owner}) unknown track_interface {name} option {args[0]} - ignoring", loc
                )
                continue
            if len(args) == 1:
                ctx.diags.error(
                    f"({owner}) weight without value specified for track_interface {name}"
                    " - ignoring",
                    loc,
                )
                continue
            value = read_int_strvec(entry, ctx, 1, -254, 254)
            if value is None:
                ctx.diags.error(
                    f"({owner}) weight {args[1]} for {name} must be between [-253..253]"
                    " inclusive. Ignoring...",
                    loc,
                )
            elif value in (-254, 254):
                ctx.diags.error(
                    f"({owner}) weight for {name} cannot be +/-254. Setting to +/-253", loc
                )
                weight = -253 if value < 0 else 253
            else:
                weight = value
            if len(args) >= 3:
                if args[2] == "reverse":
                    reverse = True
                else:
                    ctx.diags.error(
                        f"({owner}) unknown track_interace {name} weight option {args[2]}"
                        " - ignoring",
                        loc,
                    )
        found.append(TrackedInterface(name, weight, reverse, loc))


def _lookup_in(attr: str) -> Callable[[str, ParseContext], tuple[int, bool] | None]:
    def lookup(name: str, ctx: ParseContext) -> tuple[int, bool] | None:
        state = vrrp_state(ctx.fields_of("vrrp"))
        for obj in getattr(state, attr):
            if obj["name"] == name:
                return int(obj.get("weight", 0)), bool(obj.get("weight_reverse", False))
        return None

    return lookup


TRACK_SCRIPT = TrackKind(
    lookup=_lookup_in("scripts"),
    not_found="({owner}) track script {name} not found, ignoring...",
    duplicate="({owner}) duplicate track_script {name} - ignoring",
    unknown_option="({owner}) unknown track script option {option} - ignoring",
    no_value="({owner}) weight without value specified for track script {name} - ignoring",
    bad_weight=(
        "({owner}) track script {name}: weight must be between [-253..253] inclusive, ignoring..."
    ),
    bad_weight_option="({owner}) unknown track_script {name} weight option {option} - ignoring",
    weight_lo=-254,
    weight_hi=254,
    clamp_254=True,
)

TRACK_FILE = TrackKind(
    lookup=_lookup_in("track_files"),
    not_found="({owner}) track file {name} not found, ignoring...",
    duplicate="({owner}) duplicate track_file {name} - ignoring",
    unknown_option="({owner}) unknown track file option {option} - ignoring",
    no_value="({owner}) weight without value specified for track file {name} - ignoring",
    bad_weight=(
        "({owner}) weight for track file {name} must be in [-254..254] inclusive. Ignoring..."
    ),
    bad_weight_option="({owner}) unknown track file {name} weight option {option} - ignoring",
    weight_lo=-254,
    weight_hi=254,
    bad_option_drops=True,
)

TRACK_PROCESS = TrackKind(
    lookup=_lookup_in("track_processes"),
    not_found="({owner}) track process {name} not found, ignoring...",
    duplicate="({owner}) duplicate track_process {name} - ignoring",
    unknown_option="({owner}) unknown track process option {option} - ignoring",
    no_value="({owner}) weight without value specified for track process {name} - ignoring",
    bad_weight=(
        "({owner}) weight for track process {name} must be in [-254..254] inclusive. Ignoring..."
    ),
    bad_weight_option="({owner}) unknown track_process {name} weight option {option} - ignoring",
    weight_lo=-254,
    weight_hi=254,
)

TRACK_BFD = TrackKind(
    lookup=_lookup_in("bfd_tracks"),
    not_found="({owner}) track bfd {name} not found, ignoring...",
    duplicate="({owner}) duplicate track_bfd {name} - ignoring",
    unknown_option="({owner}) unknown track bfd {name} option {option} - ignoring",
    no_value="({owner}) weight without value specified for track bfd {name} - ignoring",
    bad_weight=(
        "({owner}) weight for track bfd {name} must be in [-253..253] inclusive. Ignoring..."
    ),
    bad_weight_option="({owner}) unknown track bfd {name} weight option {option} - ignoring",
    weight_lo=-253,
    weight_hi=253,
    bad_option_drops=True,
)


def track_interface_handler(node: Node, f: Fields, ctx: ParseContext) -> None:
    """``track_interface { ... }`` of an instance or sync group."""
    if expect_block(node, ctx):
        read_tracked_interfaces(str(f["name"]), node, ctx, f["track_interfaces"])


def tracked_list_handler(key: str, kind: TrackKind) -> Handler:
    """``track_script { ... }`` (and file, process, bfd) into the list ``fields[key]``."""

    def handler(node: Node, f: Fields, ctx: ParseContext) -> None:
        if expect_block(node, ctx):
            read_tracked_list(str(f["name"]), node, kind, ctx, f[key])

    return handler


TRACK_KEYWORDS = (
    Keyword("track_interface", track_interface_handler),
    Keyword("track_script", tracked_list_handler("track_scripts", TRACK_SCRIPT)),
    Keyword("track_file", tracked_list_handler("track_files", TRACK_FILE)),
    Keyword("track_process", tracked_list_handler("track_processes", TRACK_PROCESS)),
    Keyword("track_bfd", tracked_list_handler("track_bfds", TRACK_BFD)),
)
"""The ``track_*`` blocks an instance and a sync group share (same field names)."""
