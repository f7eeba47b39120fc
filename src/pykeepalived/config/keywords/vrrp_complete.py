"""End-of-config checks and fix-ups: keepalived 2.2.7's ``vrrp_complete_init()`` and
``vrrp_complete_instance()`` (vrrp.c), ``vrrp_sync_set_group()`` (vrrp_sync.c) and
``static_track_group_init()``, turned into a pure function from the parse state to `VrrpConfig`.

keepalived stops at the first check that fails (``-t`` then reports nothing more about the VRRP
side); we do the same for the messages, but still build a model from what remains, with the
later messages suppressed, so callers always get a resolved config.

What needs the running system is approximated: interfaces are Ethernet, multicast capable,
MTU 1500, and only ``lo`` is a loopback.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, TypeVar

from pykeepalived.config.errors import Diagnostics
from pykeepalived.config.keywords.base import TIMER_HZ, Fields, ParseContext
from pykeepalived.config.keywords.vrrp_common import (
    VrrpParseState,
    global_bool,
    global_int,
    global_opt_bool,
    global_value,
    undo_missing_interfaces,
)
from pykeepalived.config.keywords.vrrp_security import check_script_security
from pykeepalived.config.model.net import IpAddressSpec
from pykeepalived.config.model.vrrp import (
    DEFAULT_MTU,
    VRRP_MAX_ADDR,
    VRRP_PRIO_DEFAULT,
    VRRP_PRIO_OWNER,
    AuthType,
    BfdInstance,
    GarpGroup,
    InterfaceUpDownDelay,
    LinkbeatInterface,
    SyncGroup,
    Tracked,
    TrackedInterface,
    TrackFile,
    TrackGroup,
    TrackProcess,
    VrrpConfig,
    VrrpInstance,
    VrrpScript,
    VrrpState,
)

TIMER_CENTI_HZ = TIMER_HZ // 100
VRRP_DOWN_TIMER_ADVERTS = 3


class _FailedError(Exception):
    """keepalived's ``return false`` from vrrp_complete_init()/vrrp_complete_instance()."""


def _quiet(ctx: ParseContext) -> ParseContext:
    return ParseContext(
        diags=Diagnostics(), interface_exists=ctx.interface_exists, subsystems=ctx.subsystems
    )


def complete(state: VrrpParseState, ctx: ParseContext) -> VrrpConfig:
    """The resolved `VrrpConfig`; messages go to ``ctx.diags`` as keepalived prints them."""
    undo_missing_interfaces(state, ctx)
    live = ctx
    if state.nonexistent_interface and not global_bool(ctx, "dynamic_interfaces"):
        ctx.diags.error("Non-existent interface specified in configuration")
        live = _quiet(ctx)
    check_script_security(state, live)
    instances = list(state.instances)
    sync_of: dict[str, str] = {}

    # chk_min_cfg(): an instance without VRID or interface stops everything
    kept: list[Fields] = []
    for f in instances:
        if not f["vrid"]:
            live.diags.error(f"({f['name']}) the virtual router id must be set")
            live = _quiet(ctx)
            continue
        if f["interface"] is None:
            live.diags.error(f"({f['name']}) Unknown interface!")
            live = _quiet(ctx)
            continue
        kept.append(f)
    instances = kept

    if _vrid_conflicts(instances, live):
        live = _quiet(ctx)

    groups: list[SyncGroup] = []
    for g in state.sync_groups:
        group = _set_sync_group(g, instances, sync_of, live)
        if group is not None:
            groups.append(group)

    done: list[VrrpInstance] = []
    for f in instances:
        try:
            done.append(_complete_instance(f, sync_of, groups, state, live))
        except _FailedError:
            live = _quiet(ctx)
            quiet = _quiet(ctx)
            try:
                done.append(_complete_instance(f, sync_of, groups, state, quiet))
            except _FailedError:
                continue

    track_groups = _static_track_groups(state, done, live)
    present = {i.name for i in done}
    groups = [
        _sync_group_tracking(
            dataclasses.replace(g, members=tuple(m for m in g.members if m in present)),
            done,
            live,
        )
        for g in groups
        if any(m in present for m in g.members)
    ]
    ctx.diags.items.extend(state.bfd_diags.items)  # the BFD process reports last
    return VrrpConfig(
        scripts=tuple(_script(s) for s in state.scripts),
        sync_groups=tuple(groups),
        instances=tuple(done),
        track_files=tuple(_model(TrackFile, t) for t in state.track_files),
        track_processes=tuple(_model(TrackProcess, t) for t in state.track_processes),
        bfd_instances=tuple(_bfd(b, state) for b in state.bfds),
        static_ipaddresses=tuple(state.static_addresses),
        static_routes=tuple(state.static_routes),
        static_rules=tuple(state.static_rules),
        track_groups=tuple(track_groups),
        garp_groups=tuple(
            GarpGroup(
                tuple(g["interfaces"]),
                g["garp_interval_s"],
                g["gna_interval_s"],
                g["interfaces_block"],
                g["location"],
            )
            for g in state.garp_groups
        ),
        linkbeat_interfaces=tuple(
            LinkbeatInterface(e["name"], e["type"], e["location"]) for e in state.linkbeat
        ),
        interface_up_down_delays=tuple(
            InterfaceUpDownDelay(e["name"], e["down_delay_s"], e["up_delay_s"], e["location"])
            for e in state.up_down_delays
        ),
    )


# --------------------------------------------------------------------------- simple objects


_Model = TypeVar("_Model", VrrpScript, TrackFile, TrackProcess, BfdInstance)


def _model(cls: type[_Model], f: Fields, **given: Any) -> _Model:
    """``cls`` with each field taken from the key of the same name in ``f``, or from ``given``."""
    names = (fld.name for fld in dataclasses.fields(cls))
    return cls(**{name: f[name] for name in names if name not in given}, **given)


def _script(f: Fields) -> VrrpScript:
    script = dataclasses.replace(f["script"], user=f["user"], group=f["group"])
    return _model(VrrpScript, f, script=script)


def _bfd(f: Fields, state: VrrpParseState) -> BfdInstance:
    track = next((t for t in state.bfd_tracks if t["name"] == f["name"]), None)
    return _model(
        BfdInstance,
        f,
        weight=track["weight"] if track else 0,
        weight_reverse=bool(track and track["weight_reverse"]),
    )


# --------------------------------------------------------------------------- VRID conflicts


def _vrid_conflicts(instances: list[Fields], ctx: ParseContext) -> bool:
    """keepalived's ``check_vrid_conflicts()``; True if any conflict was reported."""
    had_error = False
    for i, a in enumerate(instances):
        for b in instances[i + 1 :]:
            if _family(a) != _family(b) or a["vrid"] != b["vrid"]:
                continue
            if bool(a["peers"]) != bool(b["peers"]):
                continue
            if a["peers"]:
                if a["interface"] and b["interface"] and a["interface"] != b["interface"]:
                    continue
                src_a = a["src_ip"] or a["interface"]
                src_b = b["src_ip"] or b["interface"]
                if src_a is None or src_b is None or src_a != src_b:
                    continue
                ctx.diags.error(
                    f"({a['name']}) duplicate VRID conflict with {b['name']} VRID {a['vrid']}"
                )
                had_error = True
                continue
            if a["interface"] != b["interface"]:
                continue
            ctx.diags.error(
                f"{a['name']} and {b['name']} both use VRID {a['vrid']} with IPv{_family(a)}"
                f" on interface {a['interface']}"
            )
            had_error = True
    return had_error


def _family(f: Fields) -> int:
    return int(f["family"]) or 4


# --------------------------------------------------------------------------- sync groups


def _set_sync_group(
    g: Fields, instances: list[Fields], sync_of: dict[str, str], ctx: ParseContext
) -> SyncGroup | None:
    name = g["name"]
    if g["members"] is None:
        ctx.diags.error(f"Sync group {name} has no virtual router(s). removing")
        return None
    by_name = {f["name"]: f for f in instances}
    members: list[str] = []
    for iname in g["members"]:
        inst = by_name.get(iname)
        if inst is None:
            ctx.diags.error(
                f"Virtual router {iname} specified in sync group {name} doesn't exist - ignoring"
            )
            continue
        if iname in sync_of:
            ctx.diags.error(
                f"Virtual router {iname} cannot exist in more than one sync group; ignoring {name}"
            )
            continue
        sync_of[iname] = name
        members.append(iname)
    if not members:
        ctx.diags.error(
            f"Sync group {name}, no matching virtual router found in group declaration - removing"
        )
        return None
    if len(members) == 1:
        ctx.diags.error(
            f"Sync group {name} has only 1 virtual router(s) - this probably isn't what you want"
        )
    owners = [by_name[m]["priority"] == VRRP_PRIO_OWNER for m in members]
    if any(owners) and not all(owners):
        ctx.diags.info(
            f"Sync group {name} has some member(s) as address owner and some not as address"
            " owner. This won't work."
        )
    smtp = g["smtp_alert"]
    if smtp is None:
        smtp = _default_smtp_alert(ctx)
    return SyncGroup(
        name=name,
        members=tuple(members),
        track_interfaces=tuple(g["track_interfaces"]),
        track_scripts=tuple(g["track_scripts"]),
        track_files=tuple(g["track_files"]),
        track_processes=tuple(g["track_processes"]),
        track_bfds=tuple(g["track_bfds"]),
        notify_master=g["notify_master"],
        notify_backup=g["notify_backup"],
        notify_fault=g["notify_fault"],
        notify_stop=g["notify_stop"],
        notify=g["notify"],
        smtp_alert=smtp,
        tracking_weight=g["tracking_weight"],
        global_tracking=g["global_tracking"],
        notify_priority_changes=g["notify_priority_changes"],
        location=g["location"],
    )


def _default_smtp_alert(ctx: ParseContext) -> bool:
    for key in ("smtp_alert_vrrp", "smtp_alert"):
        value = global_opt_bool(ctx, key)
        if value is not None:
            return value
    return False


def _sync_group_tracking(
    group: SyncGroup, instances: list[VrrpInstance], ctx: ParseContext
) -> SyncGroup:
    """``sync_group_tracking_init()``: no weights if a member is the address owner."""
    members = [i for i in instances if i.name in group.members]
    if not any(i.is_owner for i in members):
        return group
    name = group.name

    def strip(items: Iterable[Any], what: str, verb: str) -> tuple[Any, ...]:
        out = []
        for item in items:
            if item.weight:
                ctx.diags.error(
                    f"({name}) Cannot have weighted track {what} '{item.name}' with member"
                    f" having priority {VRRP_PRIO_OWNER} - {verb}"
                )
                item = dataclasses.replace(item, weight=0)
            out.append(item)
        return tuple(out)

    return dataclasses.replace(
        group,
        track_scripts=strip(group.track_scripts, "script", "clearing weight"),
        track_files=strip(group.track_files, "file", "setting weight 0"),
        track_processes=strip(group.track_processes, "process", "setting weight 0"),
        track_bfds=strip(group.track_bfds, "bfd", "setting weight 0"),
        track_interfaces=strip(group.track_interfaces, "interface", "clearing weight"),
    )


def _static_track_groups(
    state: VrrpParseState, instances: list[VrrpInstance], ctx: ParseContext
) -> list[TrackGroup]:
    names = {i.name for i in instances}
    found: list[TrackGroup] = []
    for g in state.track_groups:
        if g["members"] is None:
            ctx.diags.error(f"Static track group {g['name']} has no virtual router(s)")
            continue
        members: list[str] = []
        for iname in g["members"]:
            if iname not in names:
                ctx.diags.info(
                    f"vrrp instance {iname} specified in track group {g['name']} doesn't exist"
                    " - ignoring"
                )
                continue
            if iname not in members:
                members.append(iname)
        if not members:
            ctx.diags.info(f"Static track group {g['name']} has no VRRP instance(s)")
            continue
        found.append(TrackGroup(g["name"], tuple(members), g["location"]))
    return found


# --------------------------------------------------------------------------- instances


def _max_addresses(family: int, version: int, auth: AuthType) -> int:
    if family == 4:
        hdr = 14 + 20 + 8
        if version == 2:
            hdr += 8
            if auth is AuthType.AH:
                hdr += 24
        count = (DEFAULT_MTU - hdr) // 4
    else:
        count = (DEFAULT_MTU - (14 + 40 + 8)) // 16
    return min(count, VRRP_MAX_ADDR)


def _or_global(value: int | None, ctx: ParseContext, key: str) -> int:
    return global_int(ctx, key) if value is None else value


def _no_vip(iname: str, required: bool, ctx: ParseContext) -> None:
    if required:
        ctx.diags.error(f"({iname}) No VIP specified; at least one is required")
        raise _FailedError
    ctx.diags.error(f"({iname}) No VIP specified; at least one is sensible")


def _complete_instance(
    f: Fields,
    sync_of: dict[str, str],
    groups: list[SyncGroup],
    state: VrrpParseState,
    ctx: ParseContext,
) -> VrrpInstance:
    """keepalived's ``vrrp_complete_instance()`` (2.2.7) on one parsed instance."""
    iname: str = f["name"]
    err = ctx.diags.error
    strict: bool = f["strict"] if f["strict"] is not None else global_bool(ctx, "vrrp_strict")
    family: int = f["family"]
    version: int = f["version"]
    if family == 6:
        if version == 2 and strict:
            err(f"({iname}) cannot use IPv6 with VRRP version 2; setting version 3")
            version = 3
        elif not version:
            version = 3
    if not family:
        family = 4
    if not version:
        version = 3 if family == 6 else (global_int(ctx, "vrrp_version") or 2)

    vips: list[IpAddressSpec] = list(f["vips"])
    evips: list[IpAddressSpec] = list(f["evips"])
    if not vips:
        _no_vip(iname, version == 3 or strict, ctx)

    priority: int = f["priority"]
    wantstate: str | None = f["wantstate"]
    if not priority:
        priority = VRRP_PRIO_OWNER if wantstate == "MASTER" else VRRP_PRIO_DEFAULT
    owner = priority == VRRP_PRIO_OWNER
    if wantstate is None:
        wantstate = "MASTER" if owner else "BACKUP"
    elif strict and (wantstate == "MASTER") != owner:
        err(f"({iname}) State MASTER must match being address owner")
        wantstate = "MASTER" if owner else "BACKUP"

    auth: AuthType = f["auth_type"]
    auth_pass: str = f["auth_pass"]
    if strict and auth is not AuthType.NONE:
        err(f"({iname}) Strict mode does not support authentication. Ignoring.")
        auth, auth_pass = AuthType.NONE, ""
    elif version == 3 and auth is not AuthType.NONE:
        err(f"({iname}) VRRP version 3 does not support authentication. Ignoring.")
        auth, auth_pass = AuthType.NONE, ""
    elif auth is not AuthType.NONE and not auth_pass:
        err(f"({iname}) Authentication specified but no password given. Ignoring")
        auth = AuthType.NONE
    elif family == 6 and auth is AuthType.AH:
        err(f"({iname}) Cannot use AH authentication with IPv6. ignoring")
        auth, auth_pass = AuthType.NONE, ""
    elif auth is AuthType.AH and wantstate == "MASTER" and not owner:
        err(f"({iname}) Initial state master is incompatible with AH authentication - clearing")
        wantstate = "BACKUP"

    peers = list(f["peers"])
    if strict and peers and f["interface"] is not None:
        err(f"({iname}) Unicast peers are not supported in strict mode")
        raise _FailedError

    if f["unicast_configured"] and not peers:
        if f["unicast_fault_no_peer"]:
            ctx.diags.info(f"({iname}) Cannot use unicast without any peers - going to fault state")
        else:
            err(
                f"({iname}) A unicast keyword has been specified without any unicast peers."
                " Defaulting to multicast. This usage is deprecated - please update your"
                " configuration."
            )

    vmac_mac = f["vmac_mac"]
    if strict and vmac_mac is not None:
        err(f"({iname}): cannot specify MAC address with strict mode - clearing")
        vmac_mac = None

    if family == 6 and not peers and vips and not vips[0].ip.is_link_local:
        if strict:
            err(f"({iname}) the first IPv6 VIP address must be link local")
        else:
            ctx.diags.info(f"({iname}) the first IPv6 VIP address should be link local")

    max_addr = _max_addresses(family, version, auth)
    if vips and len(vips) > max_addr:
        err(
            f"({iname}) Number of VIPs ({len(vips)}) exceeds maximum/space available in packet"
            f" (max {max_addr} addresses) - excess moved to eVIPs"
        )
        evips.extend(vips[max_addr - 1 :])
        vips = vips[: max_addr - 1]

    nopreempt: bool = f["nopreempt"]
    preempt_delay_us: int = f["preempt_delay_us"]
    if owner and nopreempt:
        err(
            f"({iname}) nopreempt is incompatible with priority {VRRP_PRIO_OWNER}."
            " resetting nopreempt"
        )
        nopreempt = False
    if wantstate == "MASTER":
        if nopreempt:
            err(f"({iname}) Warning - nopreempt will not work with initial state MASTER - clearing")
            nopreempt = False
        if preempt_delay_us:
            err(
                f"({iname}) Warning - preempt delay will not work with initial state MASTER"
                " - clearing"
            )
            preempt_delay_us = 0
    if preempt_delay_us:
        if strict:
            err(f"({iname}) preempt_delay is incompatible with strict mode - resetting")
            preempt_delay_us = 0
        if nopreempt:
            err(f"({iname}) preempt_delay is incompatible with nopreempt mode - resetting")
            preempt_delay_us = 0

    down_timer_adverts: int = f["down_timer_adverts"] or (
        global_int(ctx, "vrrp_down_timer_adverts") or VRRP_DOWN_TIMER_ADVERTS
    )
    if strict and down_timer_adverts != VRRP_DOWN_TIMER_ADVERTS:
        err(f"({iname}) down_timer_adverts is incompatible with strict mode - resetting")
        down_timer_adverts = VRRP_DOWN_TIMER_ADVERTS

    accept = f["accept"]
    if accept is None:
        accept = True if owner else not strict
    if accept and not owner and strict and version == 2:
        err(
            f"({iname}) warning - accept mode for VRRP version 2 does not comply with RFC3768"
            " - resetting"
        )
        accept = False

    mcast_dst = f["mcast_dst_ip"]
    if mcast_dst is not None and peers:
        err(f"({iname}) multicast destination specified with unicast - ignoring")
        mcast_dst = None

    garp_rep_global = global_value(ctx, "vrrp_garp_lower_prio_repeat")
    if garp_rep_global is None:
        garp_rep_global = global_int(ctx, "vrrp_garp_master_repeat")
    garp_delay_global = global_value(ctx, "vrrp_garp_lower_prio_delay")
    if garp_delay_global is None:
        garp_delay_global = global_int(ctx, "vrrp_garp_master_delay")
    garp_lower_prio_rep = f["garp_lower_prio_rep"]
    if garp_lower_prio_rep is None:
        garp_lower_prio_rep = 0 if strict else int(garp_rep_global)
    elif strict and garp_lower_prio_rep:
        err(f"({iname}) Strict mode requires no repeat garps. resetting")
        garp_lower_prio_rep = 0
    garp_lower_prio_delay = f["garp_lower_prio_delay_s"]
    if garp_lower_prio_delay is None:
        garp_lower_prio_delay = 0 if strict else int(garp_delay_global)
    elif strict and garp_lower_prio_delay:
        err(f"({iname}) Strict mode requires no repeat garp delay. resetting")
        garp_lower_prio_delay = 0
    lower_prio_no_advert = f["lower_prio_no_advert"]
    if lower_prio_no_advert is None:
        lower_prio_no_advert = True if strict else global_bool(ctx, "vrrp_lower_prio_no_advert")
    elif strict and not lower_prio_no_advert:
        err(f"({iname}) Strict mode requires no lower priority advert. resetting")
        lower_prio_no_advert = True
    higher_prio_send_advert = f["higher_prio_send_advert"]
    if higher_prio_send_advert is None:
        higher_prio_send_advert = (
            False if strict else global_bool(ctx, "vrrp_higher_prio_send_advert")
        )
    elif strict and higher_prio_send_advert:
        err(f"({iname}) strict mode requires higher_prio_send_advert to be clear. resetting")
        higher_prio_send_advert = False

    smtp_alert = f["smtp_alert"]
    if smtp_alert is None:
        smtp_alert = _default_smtp_alert(ctx)
    notify_priority_changes = f["notify_priority_changes"]
    sync_name = sync_of.get(iname)
    if notify_priority_changes is None:
        group = next((g for g in groups if g.name == sync_name), None)
        if group is not None and group.notify_priority_changes is not None:
            notify_priority_changes = group.notify_priority_changes
        else:
            notify_priority_changes = global_bool(ctx, "vrrp_notify_priority_changes")

    adver_us: int = f["adver_int_us"] or TIMER_HZ
    if version == 2:
        if adver_us >= 256 * TIMER_HZ:
            err(
                f"({iname}) VRRPv2 advertisement interval {adver_us / TIMER_HZ:.2f}s is out of"
                " range. Must be less than 256s. Setting to 255s"
            )
            adver_us = 255 * TIMER_HZ
        elif adver_us % TIMER_HZ:
            err(
                f"({iname}) VRRPv2 advertisement interval {adver_us / TIMER_HZ:f}s must be an"
                " integer. rounding"
            )
            adver_us += TIMER_HZ // 2
            adver_us -= adver_us % TIMER_HZ
            adver_us = adver_us or TIMER_HZ
    elif adver_us >= 4096 * TIMER_CENTI_HZ:
        err(
            f"({iname}) VRRPv3 advertisement interval {adver_us / TIMER_HZ:.2f}s is out of"
            " range. Must be less than 40.96s. Setting to 40.95s"
        )
        adver_us = 4095 * TIMER_CENTI_HZ
    elif adver_us % TIMER_CENTI_HZ:
        err(
            f"({iname}) VRRPv3 advertisement interval {adver_us / TIMER_HZ:f}s must be in"
            " units of 10ms - rounding"
        )
        adver_us += TIMER_CENTI_HZ // 2
        adver_us -= adver_us % TIMER_CENTI_HZ
        adver_us = adver_us or TIMER_CENTI_HZ

    src_ip = f["src_ip"]
    track_src_ip = f["track_src_ip"] and src_ip is not None
    use_vmac: bool = f["use_vmac"]
    use_ipvlan: bool = f["use_ipvlan"]
    promote_secondaries: bool = f["promote_secondaries"]
    vmac_xmit_base: bool = f["vmac_xmit_base"]
    if use_vmac and strict and vmac_xmit_base:
        err(f"({iname}) xmit_base is incompatible with strict mode - resetting")
        vmac_xmit_base = False
    if promote_secondaries and (use_vmac or use_ipvlan):
        err(f"({iname}) promote_secondaries is automatically set for vmacs - ignoring")
        promote_secondaries = False
    if use_ipvlan and family == 4 and f["ipvlan_address"] is None:
        err(
            f"({iname}) IPv4 ipvlan requires a source ip address to be configured. setting"
            " instance to fault state"
        )
    interface: str = f["interface"]
    track_interfaces: list[TrackedInterface] = []
    for tip in f["track_interfaces"]:
        if tip.name == interface:
            err(f"({iname}) Ignoring track_interface {interface} since own interface")
            continue
        track_interfaces.append(tip)
    if vmac_xmit_base and not use_vmac:
        err(f"({iname}) vmac_xmit_base is only valid with a vmac")
        vmac_xmit_base = False

    garp_extra_if = f["garp_extra_if"]
    garp_extra_if_all = f["garp_extra_if_all"]
    if garp_extra_if is None:
        garp_extra_if = global_int(ctx, "vrrp_garp_extra_if")
        garp_extra_if_all = global_bool(ctx, "vrrp_garp_extra_if_all")
    if garp_extra_if:
        use_extra_if = use_extra_vmac = False
        for spec in [*vips, *evips]:
            other_if = spec.dev is not None and spec.dev != interface
            if spec.use_vmac or (f["use_vmac_addr"] and (other_if or spec.family != family)):
                use_extra_vmac = True
            elif other_if:
                use_extra_if = True
        if (not use_extra_if and not use_extra_vmac) or (
            not use_extra_vmac and not garp_extra_if_all
        ):
            garp_extra_if = 0

    if not vips:
        _no_vip(iname, version == 3 or family == 6 or strict, ctx)

    track_scripts: list[Tracked] = list(f["track_scripts"])
    track_files: list[Tracked] = list(f["track_files"])
    track_bfds: list[Tracked] = list(f["track_bfds"])
    group_obj = next((g for g in groups if g.name == sync_name), None)
    no_weight = group_obj is not None and not group_obj.tracking_weight
    if no_weight or owner:
        reason = "SYNC group" if no_weight else "address owner"
        reason_ = "SYNC group" if no_weight else "address_owner"
        kept_if: list[TrackedInterface] = []
        for tip in track_interfaces:
            if tip.weight:
                err(
                    f"({iname}) ignoring {tip.name} tracked interface"
                    f" {'weight ' if no_weight else ''}due to {reason}"
                )
                if not no_weight:
                    continue
                tip = dataclasses.replace(tip, weight=0)
            kept_if.append(tip)
        track_interfaces = kept_if
        kept: list[Tracked] = []
        for sc in track_scripts:
            if sc.weight:
                err(f"({iname}) ignoring tracked script {sc.name} with weights due to {reason_}")
                continue
            kept.append(sc)
        track_scripts = kept
        kept = []
        for tf in track_files:
            if tf.weight == 1:
                err(
                    f"({iname}) ignoring weight from tracked file {tf.name} due to {reason_}."
                    " specify weight 0"
                )
                tf = dataclasses.replace(tf, weight=0)
            elif tf.weight:
                err(
                    f"({iname}) ignoring tracked file {tf.name} with weight {tf.weight} due to"
                    f" {reason_}"
                )
                continue
            kept.append(tf)
        track_files = kept
        kept = []
        for tb in track_bfds:
            if tb.weight:
                err(
                    f"({iname}) ignoring tracked bfd {tb.name} with weight {tb.weight} due to"
                    f" {reason_}"
                )
                continue
            kept.append(tb)
        track_bfds = kept

    return VrrpInstance(
        name=iname,
        virtual_router_id=f["vrid"],
        interface=interface,
        vrf=f["vrf"],
        state=VrrpState(wantstate),
        priority=priority,
        advert_int_cs=adver_us // TIMER_CENTI_HZ,
        version=version,
        family=family,
        native_ipv6=f["native_ipv6"],
        nopreempt=nopreempt,
        preempt_delay_s=round(preempt_delay_us / TIMER_HZ, 6),
        accept=accept,
        strict_mode=strict,
        skip_check_adv_addr=bool(f["skip_check_adv_addr"])
        or global_bool(ctx, "vrrp_skip_check_adv_addr"),
        down_timer_adverts=down_timer_adverts,
        lower_prio_no_advert=lower_prio_no_advert,
        higher_prio_send_advert=higher_prio_send_advert,
        debug=f["debug"],
        kernel_rx_buf_size=f["kernel_rx_buf_size"],
        linkbeat_use_polling=f["linkbeat_use_polling"],
        lvs_sync_daemon_interface=f["lvs_sync_daemon_interface"],
        virtual_ipaddresses=tuple(vips),
        excluded_ipaddresses=tuple(evips),
        virtual_routes=tuple(f["vroutes"]),
        virtual_rules=tuple(f["vrules"]),
        promote_secondaries=promote_secondaries,
        src_ip=src_ip,
        track_src_ip=track_src_ip,
        mcast_dst_ip=mcast_dst,
        unicast_configured=f["unicast_configured"],
        unicast_peers=tuple(peers),
        unicast_fault_no_peer=f["unicast_fault_no_peer"],
        unicast_ttl=f["ttl"],
        check_unicast_src=bool(f["check_unicast_src"])
        or global_bool(ctx, "vrrp_check_unicast_src"),
        unicast_checksum_compat=f["chksum_compat"],
        use_vmac=use_vmac,
        vmac_ifname=f["vmac_ifname"],
        vmac_mac=vmac_mac,
        vmac_xmit_base=vmac_xmit_base,
        use_vmac_addr=f["use_vmac_addr"],
        use_ipvlan=use_ipvlan,
        ipvlan_ifname=f["ipvlan_ifname"],
        ipvlan_address=f["ipvlan_address"],
        ipvlan_mode=f["ipvlan_mode"],
        garp_extra_if_s=garp_extra_if or None,
        garp_extra_if_all=bool(garp_extra_if) and garp_extra_if_all,
        dont_track_primary=f["dont_track_primary"],
        track_interfaces=tuple(track_interfaces),
        track_scripts=tuple(track_scripts),
        track_files=tuple(track_files),
        track_processes=tuple(f["track_processes"]),
        track_bfds=tuple(track_bfds),
        garp_master_delay_s=_or_global(f["garp_delay_s"], ctx, "vrrp_garp_master_delay"),
        garp_master_repeat=_or_global(f["garp_rep"], ctx, "vrrp_garp_master_repeat"),
        garp_master_refresh_s=_or_global(f["garp_refresh_s"], ctx, "vrrp_garp_master_refresh"),
        garp_master_refresh_repeat=_or_global(
            f["garp_refresh_rep"], ctx, "vrrp_garp_master_refresh_repeat"
        ),
        garp_lower_prio_delay_s=garp_lower_prio_delay,
        garp_lower_prio_repeat=garp_lower_prio_rep,
        auth_type=auth,
        auth_pass=auth_pass,
        notify_master=f["notify_master"],
        notify_backup=f["notify_backup"],
        notify_fault=f["notify_fault"],
        notify_stop=f["notify_stop"],
        notify_deleted=f["notify_deleted"],
        notify_deleted_script=f["notify_deleted_script"],
        notify=f["notify"],
        notify_master_rx_lower_pri=f["notify_master_rx_lower_pri"],
        smtp_alert=smtp_alert,
        notify_priority_changes=notify_priority_changes,
        sync_group=sync_name,
        location=f["location"],
    )
