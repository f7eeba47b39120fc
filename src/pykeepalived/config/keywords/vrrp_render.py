"""`VrrpConfig` back to keepalived.conf text (4-space indents).

Resolved values are written explicitly (``priority``, ``state``, ``accept``/``no_accept``, ...),
so reading the text back gives an equal model whatever the global defaults are. The secret
``auth_pass`` is written: it is configuration (only logs and dumps hide it).
"""

from __future__ import annotations

from collections.abc import Iterable

from pykeepalived.config.keywords import net
from pykeepalived.config.keywords.vrrp_common import format_seconds
from pykeepalived.config.model.common import Script, quote_word
from pykeepalived.config.model.vrrp import (
    AuthType,
    BfdInstance,
    ParamMatch,
    SyncGroup,
    Tracked,
    TrackedInterface,
    TrackFile,
    TrackProcess,
    UnicastChecksumCompat,
    VrrpConfig,
    VrrpInstance,
    VrrpScript,
)

IND = "    "


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _block(name: str, body: Iterable[str], indent: str = "") -> list[str]:
    return [f"{indent}{name} {{", *(f"{indent}{IND}{line}" for line in body), f"{indent}}}"]


def _tracked(items: Iterable[Tracked]) -> list[str]:
    lines = []
    for t in items:
        line = f"{quote_word(t.name)} weight {t.weight}"
        line += " reverse" if t.reverse else " noreverse"
        lines.append(line)
    return lines


def _tracked_interfaces(items: Iterable[TrackedInterface]) -> list[str]:
    lines = []
    for t in items:
        line = f"{t.name} weight {t.weight}"
        if t.reverse:
            line += " reverse"
        lines.append(line)
    return lines


def _notify(keyword: str, script: Script | None) -> list[str]:
    return [] if script is None else [f"{keyword} {script.render_args()}"]


def _track_blocks(
    interfaces: tuple[TrackedInterface, ...],
    scripts: tuple[Tracked, ...],
    files: tuple[Tracked, ...],
    processes: tuple[Tracked, ...],
    bfds: tuple[Tracked, ...],
) -> list[str]:
    lines: list[str] = []
    if interfaces:
        lines += _block("track_interface", _tracked_interfaces(interfaces))
    for name, items in (
        ("track_script", scripts),
        ("track_file", files),
        ("track_process", processes),
        ("track_bfd", bfds),
    ):
        if items:
            lines += _block(name, _tracked(items))
    return lines


# --------------------------------------------------------------------------- objects


def render_script(s: VrrpScript) -> list[str]:
    body = [f"script {quote_word(s.script.command)}"]
    body.append(f"interval {format_seconds(s.interval_s)}")
    if s.timeout_s is not None:
        body.append(f"timeout {format_seconds(s.timeout_s)}")
    body.append(f"weight {s.weight}" + (" reverse" if s.weight_reverse else ""))
    body.append(f"rise {s.rise}")
    body.append(f"fall {s.fall}")
    if s.script.user is not None:
        user = f"user {quote_word(s.script.user)}"
        if s.script.group is not None:
            user += f" {quote_word(s.script.group)}"
        body.append(user)
    if s.init_fail:
        body.append("init_fail")
    return _block(f"vrrp_script {quote_word(s.name)}", body)


def render_track_file(t: TrackFile) -> list[str]:
    body = [f"file {quote_word(t.path)}"]
    body.append(f"weight {t.weight}" + (" reverse" if t.weight_reverse else ""))
    if t.init_file:
        init = "init_file"
        if t.init_value is not None:
            init += f" {t.init_value}"
        if t.init_overwrite:
            init += " overwrite"
        body.append(init)
    return _block(f"track_file {quote_word(t.name)}", body)


def render_track_process(t: TrackProcess) -> list[str]:
    body = [" ".join(["process", *(quote_word(w) for w in (t.process, *t.params))])]
    if t.param_match in (ParamMatch.INITIAL, ParamMatch.PARTIAL):
        body.append(f"param_match {t.param_match.value}")
    elif t.param_match is ParamMatch.EXACT and not t.params:
        body.append("param_match")
    if t.weight:
        body.append(f"weight {t.weight}" + (" reverse" if t.weight_reverse else ""))
    if t.quorum_max is not None:
        body.append(f"quorum_max {t.quorum_max}")
    if t.quorum_max != 0:
        body.append(f"quorum {t.quorum}")
    if t.terminate_delay_s is not None:
        body.append(f"terminate_delay {format_seconds(t.terminate_delay_s)}")
    if t.fork_delay_s is not None:
        body.append(f"fork_delay {format_seconds(t.fork_delay_s)}")
    if t.full_command:
        body.append("full_command")
    return _block(f"vrrp_track_process {quote_word(t.name)}", body)


def render_bfd(b: BfdInstance) -> list[str]:
    body = []
    if b.source_ip is not None:
        body.append(f"source_ip {b.source_ip}")
    body.append(f"neighbor_ip {b.neighbor_ip}")
    body.append(f"min_rx {format_seconds(b.min_rx_us / 1000)}")
    body.append(f"min_tx {format_seconds(b.min_tx_us / 1000)}")
    body.append(f"idle_tx {format_seconds(b.idle_tx_us / 1000)}")
    body.append(f"multiplier {b.multiplier}")
    if b.passive:
        body.append("passive")
    body.append(f"{'ttl' if b.neighbor_ip.version == 4 else 'hoplimit'} {b.ttl}")
    body.append(f"max_hops {b.max_hops}")
    if b.weight or b.weight_reverse:
        body.append(f"weight {b.weight}" + (" reverse" if b.weight_reverse else ""))
    if not (b.vrrp and b.checker):
        if b.vrrp:
            body.append("vrrp")
        if b.checker:
            body.append("checker")
    return _block(f"bfd_instance {quote_word(b.name)}", body)


def render_sync_group(g: SyncGroup) -> list[str]:
    body = _block("group", g.members)
    body += _track_blocks(
        g.track_interfaces, g.track_scripts, g.track_files, g.track_processes, g.track_bfds
    )
    body += _notify("notify_master", g.notify_master)
    body += _notify("notify_backup", g.notify_backup)
    body += _notify("notify_fault", g.notify_fault)
    body += _notify("notify_stop", g.notify_stop)
    body += _notify("notify", g.notify)
    body.append(f"smtp_alert {_bool(g.smtp_alert)}")
    if g.global_tracking:
        body.append("global_tracking")
    elif g.tracking_weight:
        body.append("sync_group_tracking_weight")
    if g.notify_priority_changes is not None:
        body.append(f"notify_priority_changes {_bool(g.notify_priority_changes)}")
    return _block(f"vrrp_sync_group {quote_word(g.name)}", body)


def _advert_int(inst: VrrpInstance) -> str:
    if inst.version == 2:
        return str(inst.advert_int_cs // 100)
    return format_seconds(inst.advert_int_cs / 100)


def render_instance(i: VrrpInstance) -> list[str]:
    body: list[str] = [f"state {i.state.value}"]
    if i.interface is not None:
        body.append(f"interface {i.interface}")
    if i.vrf is not None:
        body.append(f"vrf {i.vrf}")
    body.append(f"virtual_router_id {i.virtual_router_id}")
    body.append(f"version {i.version}")
    if i.native_ipv6:
        body.append("native_ipv6")
    body.append(f"priority {i.priority}")
    body.append(f"advert_int {_advert_int(i)}")
    body.append(f"strict_mode {_bool(i.strict_mode)}")
    if i.nopreempt:
        body.append("nopreempt")
    if i.preempt_delay_s:
        body.append(f"preempt_delay {format_seconds(i.preempt_delay_s)}")
    body.append("accept" if i.accept else "no_accept")
    if i.skip_check_adv_addr:
        body.append("skip_check_adv_addr")
    body.append(f"down_timer_adverts {i.down_timer_adverts}")
    body.append(f"lower_prio_no_advert {_bool(i.lower_prio_no_advert)}")
    body.append(f"higher_prio_send_advert {_bool(i.higher_prio_send_advert)}")
    if i.debug:
        body.append(f"debug {i.debug}")
    if i.kernel_rx_buf_size is not None:
        body.append(f"kernel_rx_buf_size {i.kernel_rx_buf_size}")
    if i.linkbeat_use_polling:
        body.append("linkbeat_use_polling")
    if i.lvs_sync_daemon_interface is not None:
        body.append(f"lvs_sync_daemon_interface {i.lvs_sync_daemon_interface}")
    # addressing: the source address first, so the family is fixed before the VIPs
    if i.src_ip is not None:
        kw = "unicast_src_ip" if i.unicast_configured else "mcast_src_ip"
        body.append(f"{kw} {i.src_ip}")
    if i.track_src_ip:
        body.append("track_src_ip")
    if i.mcast_dst_ip is not None:
        body.append(f"mcast_dst_ip {i.mcast_dst_ip}")
    if i.unicast_configured or i.unicast_peers:
        peers = []
        for p in i.unicast_peers:
            line = str(p.address)
            if p.min_ttl != 0:
                line += f" min_ttl {p.min_ttl}"
            if p.max_ttl != 255:
                line += f" max_ttl {p.max_ttl}"
            peers.append(line)
        body += _block("unicast_peer", peers)
    if i.unicast_fault_no_peer:
        body.append("unicast_fault_no_peer")
    if i.unicast_ttl is not None:
        body.append(f"unicast_ttl {i.unicast_ttl}")
    if i.check_unicast_src and (i.unicast_configured or i.unicast_peers):
        body.append("check_unicast_src")
    if i.unicast_checksum_compat is UnicastChecksumCompat.CONFIG:
        body.append("old_unicast_checksum")
    elif i.unicast_checksum_compat is UnicastChecksumCompat.NEVER:
        body.append("old_unicast_checksum never")
    if i.virtual_ipaddresses:
        body += _block(
            "virtual_ipaddress", (net.render_ip_address(a) for a in i.virtual_ipaddresses)
        )
    if i.excluded_ipaddresses:
        body += _block(
            "virtual_ipaddress_excluded",
            (net.render_ip_address(a) for a in i.excluded_ipaddresses),
        )
    if i.virtual_routes:
        body += _block("virtual_routes", (net.render_route(r) for r in i.virtual_routes))
    if i.virtual_rules:
        body += _block("virtual_rules", (net.render_rule(r) for r in i.virtual_rules))
    if i.promote_secondaries:
        body.append("promote_secondaries")
    # VMAC / ipvlan
    if i.use_vmac:
        words = ["use_vmac"]
        if i.vmac_ifname is not None:
            words.append(i.vmac_ifname)
        if i.vmac_mac is not None:
            words.append(i.vmac_mac)
        body.append(" ".join(words))
    if i.use_vmac_addr:
        body.append("use_vmac_addr")
    if i.vmac_xmit_base:
        body.append("vmac_xmit_base")
    if i.use_ipvlan:
        words = ["use_ipvlan"]
        if i.ipvlan_ifname is not None:
            words += ["name", i.ipvlan_ifname]
        if i.ipvlan_address is not None:
            words.append(str(i.ipvlan_address))
        if i.ipvlan_mode is not None:
            words.append(i.ipvlan_mode.value)
        body.append(" ".join(words))
    if i.garp_extra_if_s:
        body.append(f"garp_extra_if {'all ' if i.garp_extra_if_all else ''}{i.garp_extra_if_s}")
    # tracking
    if i.dont_track_primary:
        body.append("dont_track_primary")
    body += _track_blocks(
        i.track_interfaces, i.track_scripts, i.track_files, i.track_processes, i.track_bfds
    )
    # gratuitous ARP
    body.append(f"garp_master_delay {i.garp_master_delay_s}")
    body.append(f"garp_master_repeat {i.garp_master_repeat}")
    body.append(f"garp_master_refresh {i.garp_master_refresh_s}")
    body.append(f"garp_master_refresh_repeat {i.garp_master_refresh_repeat}")
    body.append(f"garp_lower_prio_delay {i.garp_lower_prio_delay_s}")
    body.append(f"garp_lower_prio_repeat {i.garp_lower_prio_repeat}")
    # authentication
    if i.auth_type is not AuthType.NONE or i.auth_pass:
        auth = []
        if i.auth_type is not AuthType.NONE:
            auth.append(f"auth_type {i.auth_type.name}")
        if i.auth_pass:
            auth.append(f"auth_pass {quote_word(i.auth_pass)}")
        body += _block("authentication", auth)
    # notification
    body += _notify("notify_master", i.notify_master)
    body += _notify("notify_backup", i.notify_backup)
    body += _notify("notify_fault", i.notify_fault)
    body += _notify("notify_stop", i.notify_stop)
    if i.notify_deleted:
        body += _notify("notify_deleted", i.notify_deleted_script) or ["notify_deleted"]
    body += _notify("notify", i.notify)
    body += _notify("notify_master_rx_lower_pri", i.notify_master_rx_lower_pri)
    body.append(f"smtp_alert {_bool(i.smtp_alert)}")
    body.append(f"notify_priority_changes {_bool(i.notify_priority_changes)}")
    return _block(f"vrrp_instance {quote_word(i.name)}", body)


def render(config: VrrpConfig) -> list[str]:
    """keepalived.conf lines for every VRRP-side block, in an order that reads back the same
    (tracked objects and groups before the instances that refer to them)."""
    blocks: list[list[str]] = []
    if config.linkbeat_interfaces:
        blocks.append(
            _block(
                "linkbeat_interfaces",
                (f"{e.name} {e.type.value}".rstrip() for e in config.linkbeat_interfaces),
            )
        )
    if config.interface_up_down_delays:
        blocks.append(
            _block(
                "interface_up_down_delays",
                (
                    f"{e.name} {format_seconds(e.down_delay_s)} {format_seconds(e.up_delay_s)}"
                    for e in config.interface_up_down_delays
                ),
            )
        )
    for g in config.garp_groups:
        body = []
        if g.garp_interval_s is not None:
            body.append(f"garp_interval {format_seconds(g.garp_interval_s)}")
        if g.gna_interval_s is not None:
            body.append(f"gna_interval {format_seconds(g.gna_interval_s)}")
        if g.interfaces_block:
            body += _block("interfaces", g.interfaces)
        else:
            body += [f"interface {name}" for name in g.interfaces]
        blocks.append(_block("garp_group", body))
    for s in config.scripts:
        blocks.append(render_script(s))
    for t in config.track_files:
        blocks.append(render_track_file(t))
    for p in config.track_processes:
        blocks.append(render_track_process(p))
    for b in config.bfd_instances:
        blocks.append(render_bfd(b))
    for tg in config.track_groups:
        blocks.append(_block(f"track_group {quote_word(tg.name)}", _block("group", tg.members)))
    if config.static_ipaddresses:
        blocks.append(
            _block(
                "static_ipaddress", (net.render_ip_address(a) for a in config.static_ipaddresses)
            )
        )
    if config.static_routes:
        blocks.append(_block("static_routes", (net.render_route(r) for r in config.static_routes)))
    if config.static_rules:
        blocks.append(_block("static_rules", (net.render_rule(r) for r in config.static_rules)))
    for sg in config.sync_groups:
        blocks.append(render_sync_group(sg))
    for inst in config.instances:
        blocks.append(render_instance(inst))
    lines: list[str] = []
    for block in blocks:
        if lines:
            lines.append("")
        lines.extend(block)
    return lines
