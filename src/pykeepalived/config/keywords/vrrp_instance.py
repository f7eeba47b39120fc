"""``vrrp_instance NAME { ... }``: the keywords of an instance, as keepalived 2.2.7 reads them.

Handlers fill a plain dict (see `new_instance` for its keys); values keepalived leaves "unset"
until ``vrrp_complete_instance()`` are ``None``/0 here and resolved by `vrrp_complete`.
Messages and their order follow keepalived's vrrp_parser.c / vrrp_data.c.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

from pykeepalived.config.keywords import net
from pykeepalived.config.keywords.base import (
    TIMER_HZ,
    Fields,
    Handler,
    Keyword,
    KeywordTable,
    ParseContext,
    check_true_false,
    decimal_arg,
    expect_block,
    number,
    opt_bool,
    read_int_strvec,
    read_unsigned_strvec,
    require_args,
    set_value,
    unsigned_arg,
)
from pykeepalived.config.keywords.vrrp_common import (
    IFNAMSIZ,
    INT_MAX,
    TRACK_KEYWORDS,
    UINT_MAX,
    interface_known,
    is_loopback,
    notify_handler,
    notify_script,
    parse_ip,
    report_missing_interface,
    vrrp_state,
)
from pykeepalived.config.model.vrrp import (
    AuthType,
    IpvlanMode,
    UnicastChecksumCompat,
    UnicastPeer,
)
from pykeepalived.config.tree import Node

TIMER_MAX_SEC = 1000
VRRP_AUTH_LEN = 8

_MAC_CHARS = re.compile(r"[0-9A-Fa-f:]+")


def new_instance(name: str, node: Node, ctx: ParseContext) -> Fields:
    """keepalived's ``alloc_vrrp()``. Values taken from ``global_defs`` are ``None`` here:
    keepalived 2.2.7 has read ``global_defs`` before any instance, wherever it is in the
    file, so they are resolved from the final global values by `vrrp_complete`."""
    return {
        "name": name,
        "location": node.location,
        "interface": None,
        "vrf": None,
        "wantstate": None,
        "priority": 0,
        "adver_int_us": 0,
        "version": 0,
        "family": 0,
        "native_ipv6": False,
        "vrid": 0,
        "nopreempt": False,
        "preempt_delay_us": 0,
        "accept": None,
        "strict": None,
        "skip_check_adv_addr": None,
        "down_timer_adverts": None,
        "lower_prio_no_advert": None,
        "higher_prio_send_advert": None,
        "debug": 0,
        "kernel_rx_buf_size": None,
        "linkbeat_use_polling": False,
        "lvs_sync_daemon_interface": None,
        "vips": [],
        "evips": [],
        "vroutes": [],
        "vrules": [],
        "promote_secondaries": False,
        "src_ip": None,
        "track_src_ip": False,
        "mcast_dst_ip": None,
        "unicast_configured": False,
        "peers": [],
        "unicast_fault_no_peer": False,
        "ttl": None,
        "check_unicast_src": None,
        "chksum_compat": UnicastChecksumCompat.AUTO,
        "use_vmac": False,
        "vmac_ifname": None,
        "vmac_mac": None,
        "vmac_xmit_base": False,
        "use_vmac_addr": False,
        "use_ipvlan": False,
        "ipvlan_ifname": None,
        "ipvlan_address": None,
        "ipvlan_mode": None,
        "garp_extra_if": None,
        "garp_extra_if_all": False,
        "dont_track_primary": False,
        "track_interfaces": [],
        "track_scripts": [],
        "track_files": [],
        "track_processes": [],
        "track_bfds": [],
        "garp_delay_s": None,
        "garp_rep": None,
        "garp_refresh_s": None,
        "garp_refresh_rep": None,
        "garp_lower_prio_delay_s": None,
        "garp_lower_prio_rep": None,
        "auth_type": AuthType.NONE,
        "auth_pass": "",
        "notify_master": None,
        "notify_backup": None,
        "notify_fault": None,
        "notify_stop": None,
        "notify_deleted": False,
        "notify_deleted_script": None,
        "notify": None,
        "notify_master_rx_lower_pri": None,
        "smtp_alert": None,
        "notify_priority_changes": None,
    }


def _iname(f: Fields) -> str:
    return str(f["name"])


def _set_family(f: Fields, family: int) -> bool:
    """Adopt ``family`` if the instance has none yet; False if it conflicts."""
    if not f["family"]:
        f["family"] = family
        return True
    return bool(f["family"] == family)


# --------------------------------------------------------------------------- core protocol


def _state(node: Node, f: Fields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    text = node.args[0]
    if text == "MASTER":
        f["wantstate"] = "MASTER"
    elif text == "BACKUP":
        if f["wantstate"] == "MASTER":
            ctx.diags.error(
                f"({_iname(f)}) state previously set as MASTER - ignoring BACKUP", node.location
            )
        else:
            f["wantstate"] = "BACKUP"
    else:
        ctx.diags.error(
            f"({_iname(f)}) unknown state '{text}', defaulting to BACKUP", node.location
        )
        f["wantstate"] = "BACKUP"


def _interface(node: Node, f: Fields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    name = node.args[0]
    if len(name) >= IFNAMSIZ:
        ctx.diags.error(f"Interface name '{name}' too long - ignoring", node.location)
        return
    if not interface_known(name, ctx):
        report_missing_interface(
            ctx,
            f"WARNING - interface {name} for vrrp_instance {_iname(f)} doesn't exist",
            node.location,
            lambda: f.__setitem__("interface", name),
        )
        f["interface"] = None
        return
    if is_loopback(name):
        ctx.diags.error(
            f"({_iname(f)}) cannot use a loopback interface ({name}) for vrrp - ignoring",
            node.location,
        )
        f["interface"] = None
        return
    f["interface"] = name


def _vrf(node: Node, f: Fields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    name = node.args[0]
    iname = _iname(f)
    if len(name) >= IFNAMSIZ:
        ctx.diags.error(f"({iname}) VRF interface name '{name}' too long - ignoring", node.location)
        return
    if f["interface"] is not None:
        ctx.diags.error(
            f"({iname}) Cannot specify VRF interface and interface - ignoring", node.location
        )
        return
    if f["vrf"] is not None:
        ctx.diags.error(
            f"({iname}) VRF interface already specified as '{f['vrf']}' - ignoring", node.location
        )
        return
    if not interface_known(name, ctx):
        report_missing_interface(
            ctx,
            f"({iname}) WARNING - VRF interface {name} doesn't exist",
            node.location,
            lambda: f.__setitem__("vrf", name),
        )
        return
    if is_loopback(name):
        ctx.diags.error(
            f"({iname}) cannot use a loopback interface ({name}) for VRF - ignoring", node.location
        )
        return
    f["vrf"] = name


def _version(node: Node, f: Fields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    value = read_int_strvec(node, ctx, 0, 2, 3)
    if value is None:
        ctx.diags.error(f"({_iname(f)}): Version must be either 2 or 3", node.location)
        return
    if (f["version"] and f["version"] != value) or (value == 2 and f["family"] == 6):
        ctx.diags.error(
            f"({_iname(f)}) vrrp_version {value} conflicts with configured or deduced version"
            f" {f['version']}; ignoring.",
            node.location,
        )
        return
    f["version"] = value


def _native_ipv6(node: Node, f: Fields, ctx: ParseContext) -> None:
    if f["family"] == 4:
        ctx.diags.error(
            f"({_iname(f)}) Cannot specify native_ipv6 with IPv4 addresses", node.location
        )
        return
    f["family"] = 6
    f["version"] = 3
    f["native_ipv6"] = True


def _skip_check_adv_addr(node: Node, f: Fields, ctx: ParseContext) -> None:
    # keepalived 2.2.7 sets the flag for any valid BOOL, even "false" (vrrp_parser.c)
    if node.args and check_true_false(node.args[0]) is None:
        ctx.diags.error(
            f"({_iname(f)}) invalid skip_check_adv_addr {node.args[0]} specified", node.location
        )
        return
    f["skip_check_adv_addr"] = True


def _kernel_rx_buf_size(node: Node, f: Fields, ctx: ParseContext) -> None:
    if len(node.args) == 1:
        value = read_unsigned_strvec(node, ctx, 0, 0, UINT_MAX)
        if value is not None:
            f["kernel_rx_buf_size"] = value
            return
    ctx.diags.error(f"({_iname(f)}) invalid kernel_rx_buf_size specified", node.location)


def _linkbeat(node: Node, f: Fields, ctx: ParseContext) -> None:
    f["linkbeat_use_polling"] = True
    ctx.diags.error(
        f"({_iname(f)}) 'linkbeat_use_polling' in vrrp instance deprecated - use"
        " linkbeat_interfaces block",
        node.location,
    )


def _lvs_syncd(node: Node, f: Fields, ctx: ParseContext) -> None:
    iname = _iname(f)
    ctx.diags.error(
        f"({iname}) Specifying lvs_sync_daemon_interface against a vrrp is deprecated.",
        node.location,
    )
    ctx.diags.error(
        f"      {'':{max(len(iname) - 2, 0)}}Please use global lvs_sync_daemon", node.location
    )
    if not require_args(node, 1, ctx):
        return
    state = vrrp_state(ctx.fields_of("vrrp"))
    for other in [*state.instances, f]:
        if other["lvs_sync_daemon_interface"] is not None:
            ctx.diags.error(
                f"({iname}) lvs_sync_daemon_interface has already been specified as"
                f" {other['lvs_sync_daemon_interface']} - ignoring",
                node.location,
            )
            return
    f["lvs_sync_daemon_interface"] = node.args[0]


# --------------------------------------------------------------------------- addressing


def _address_block(key: str, *, vip: bool) -> Handler:
    def handler(node: Node, f: Fields, ctx: ParseContext) -> None:
        if not expect_block(node, ctx):
            return
        for entry in node.children or ():
            spec = net.parse_ip_address(entry, ctx, allow_track_group=False)
            if spec is None:
                continue
            if vip and not _set_family(f, spec.family):
                ctx.diags.error(
                    f"({_iname(f)}): address family must match VRRP instance [{entry.keyword}]"
                    " - ignoring",
                    entry.location,
                )
                continue
            f[key].append(spec)

    return handler


def _spec_block(key: str, parse: Callable[[Node, ParseContext], object | None]) -> Handler:
    """A block of one route (or rule) a line, each kept one appended to ``fields[key]``."""

    def handler(node: Node, f: Fields, ctx: ParseContext) -> None:
        if not expect_block(node, ctx):
            return
        for entry in node.children or ():
            spec = parse(entry, ctx)
            if spec is not None:
                f[key].append(spec)

    return handler


def _src_ip(node: Node, f: Fields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    text = node.args[0]
    addr = parse_ip(text)
    if addr is None:
        ctx.diags.error(
            f"Configuration error: VRRP instance[{_iname(f)}] malformed src address[{text}]."
            " Skipping...",
            node.location,
        )
        return
    if not _set_family(f, addr.version):
        ctx.diags.error(
            f"Configuration error: VRRP instance[{_iname(f)}] and src address[{text}] MUST be"
            " of the same family !!! Skipping...",
            node.location,
        )
        f["src_ip"] = None
        return
    f["src_ip"] = addr


def _unicast_src_ip(node: Node, f: Fields, ctx: ParseContext) -> None:
    f["unicast_configured"] = True
    _src_ip(node, f, ctx)


def _mcast_dst_ip(node: Node, f: Fields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    text = node.args[0]
    iname = _iname(f)
    addr = parse_ip(text)
    if addr is None:
        ctx.diags.error(
            f"({iname}) malformed mcast dest address {text}. Skipping...", node.location
        )
        return
    if not _set_family(f, addr.version):
        ctx.diags.error(
            f"({iname}) mcast dest address {text} MUST match VRRP instance family. Skipping...",
            node.location,
        )
        return
    if (addr.version == 4 and not addr.is_multicast) or (
        isinstance(addr, ipaddress.IPv6Address)
        and not (addr.is_multicast and (addr.packed[1] & 0x0F) == 2)
    ):
        link_local = " link-local" if addr.version == 6 else ""
        ctx.diags.error(
            f"({iname}) mcast_dst_ip {text} not{link_local} multicast. Skipping...", node.location
        )
        return
    f["mcast_dst_ip"] = addr


def _unicast_peer(node: Node, f: Fields, ctx: ParseContext) -> None:
    f["unicast_configured"] = True
    if not expect_block(node, ctx):
        return
    iname = _iname(f)
    for entry in node.children or ():
        text = entry.keyword
        addr = parse_ip(text)
        if addr is None:
            ctx.diags.error(
                f"Configuration error: VRRP instance[{iname}] malformed unicast peer"
                f" address[{text}]. Skipping...",
                entry.location,
            )
            continue
        if not _set_family(f, addr.version):
            ctx.diags.error(
                f"Configuration error: VRRP instance[{iname}] and unicast peer address[{text}]"
                " MUST be of the same family !!! Skipping...",
                entry.location,
            )
            continue
        min_ttl, max_ttl = 0, 255
        args = entry.args
        i = 0
        while i < len(args):
            if i + 1 >= len(args):
                ctx.diags.error(f"({iname}) {args[i]} is missing a value", entry.location)
                break
            ttl = read_unsigned_strvec(entry, ctx, i + 1, 0, 255)
            if ttl is not None:
                if args[i] == "min_ttl":
                    min_ttl = ttl
                elif args[i] == "max_ttl":
                    max_ttl = ttl
                else:
                    ctx.diags.error(
                        f"({iname}) unknown unicast_peer option {args[i]}", entry.location
                    )
                    break
                f["check_unicast_src"] = True
            i += 2
        if min_ttl > max_ttl:
            ctx.diags.error(
                f"({iname}) min_ttl {min_ttl} > max_ttl {max_ttl} - all packets will be discarded",
                entry.location,
            )
        f["peers"].append(UnicastPeer(addr, min_ttl, max_ttl, entry.location))


def _unicast_flag(key: str | None) -> Handler:
    def handler(node: Node, f: Fields, ctx: ParseContext) -> None:
        f["unicast_configured"] = True
        if key is not None:
            f[key] = True

    return handler


def _old_unicast_checksum(node: Node, f: Fields, ctx: ParseContext) -> None:
    f["unicast_configured"] = True
    if node.args:
        if node.args[0] == "never":
            f["chksum_compat"] = UnicastChecksumCompat.NEVER
        else:
            ctx.diags.error(
                f"({_iname(f)}) Unknown old_unicast_chksum mode {node.args[0]} - ignoring",
                node.location,
            )
    else:
        f["chksum_compat"] = UnicastChecksumCompat.CONFIG


# --------------------------------------------------------------------------- VMAC / ipvlan


def _dev_name_valid(name: str) -> bool:
    if not name or len(name) >= IFNAMSIZ or name in (".", ".."):
        return False
    return not any(c in "/:" or c.isspace() for c in name)


def _parse_mac(text: str) -> bool:
    """keepalived's VMAC MAC check: 6 hex octets, or 5 (the VRID is the sixth)."""
    octets = text.split(":")
    if octets and octets[-1] == "" and len(octets) == 6:
        octets = octets[:-1]
    if len(octets) not in (5, 6):
        return False
    return all(1 <= len(o) <= 2 for o in octets)


def _use_vmac(node: Node, f: Fields, ctx: ParseContext) -> None:
    f["use_vmac"] = True
    args = list(node.args)
    i = 0
    iname = _iname(f)
    while i < len(args):
        word = args[i]
        if ":" in word:
            if f["vmac_mac"] is not None:
                ctx.diags.error("VMAC interface address already specified", node.location)
            elif not _MAC_CHARS.fullmatch(word):
                ctx.diags.error(f"VMAC invalid MAC address {word}", node.location)
            elif not _parse_mac(word):
                ctx.diags.error(f"VMAC invalid MAC address {word} - ignored", node.location)
            elif int(word.split(":")[0], 16) & 0x01:
                ctx.diags.error(f"VMAC MAC address is multicast {word} - ignoring", node.location)
            elif [int(o, 16) for o in word.split(":")[:4] if o] == [0, 0, 0x5E, 0] and int(
                word.split(":")[4], 16
            ) in (1, 2):
                ctx.diags.error(
                    f"VMAC MAC address not allowed to be RFC5798 address ({word}) - ignoring",
                    node.location,
                )
            else:
                f["vmac_mac"] = word.lower()
            i += 1
            continue
        if word == "name":
            i += 1
            if i >= len(args):
                break
            word = args[i]
        i += 1
        if f["vmac_ifname"] is not None:
            ctx.diags.error("VMAC interface name already specified", node.location)
            continue
        if not _dev_name_valid(word):
            ctx.diags.error(
                f"VMAC interface name '{word}' too long or invalid characters - ignoring",
                node.location,
            )
            continue
        other = _vmac_name_user(word, ctx)
        if other is not None:
            ctx.diags.error(
                f"({iname}) VRRP instance {other} is already using {word} - ignoring name",
                node.location,
            )
            continue
        f["vmac_ifname"] = word


def _vmac_name_user(name: str, ctx: ParseContext) -> str | None:
    for other in vrrp_state(ctx.fields_of("vrrp")).instances:
        if name in (other["vmac_ifname"], other["ipvlan_ifname"]):
            return str(other["name"])
    return None


def _use_ipvlan(node: Node, f: Fields, ctx: ParseContext) -> None:
    iname = _iname(f)
    if f["use_ipvlan"]:
        ctx.diags.error(f"({iname}) use_ipvlan already specified", node.location)
        return
    f["use_ipvlan"] = True
    args = list(node.args)
    i = 0
    had_mode = False
    while i < len(args):
        word = args[i]
        i += 1
        if word in ("bridge", "private", "vepa"):
            if had_mode:
                ctx.diags.error(
                    f"({iname}) ipvlan type already specified - ignoring '{word}'", node.location
                )
            else:
                f["ipvlan_mode"] = IpvlanMode(word)
                had_mode = True
            continue
        if word == "name":
            if i >= len(args):
                break
            word = args[i]
            i += 1
        else:
            try:
                addr = ipaddress.ip_interface(word)
            except ValueError:
                addr = None
            if addr is not None:
                if f["ipvlan_address"] is not None:
                    ctx.diags.error(
                        f"({iname}) ipvlan address already specified - ignoring '{word}'",
                        node.location,
                    )
                    continue
                if not _set_family(f, addr.version):
                    ctx.diags.error(
                        f"({iname}) ipvlan address[{word}] MUST match vrrp instance family !!!"
                        " Skipping...",
                        node.location,
                    )
                    continue
                f["ipvlan_address"] = addr
                continue
        if f["ipvlan_ifname"] is not None:
            ctx.diags.error(
                f"({iname}) IPVLAN interface already specified - ignoring '{word}'", node.location
            )
            continue
        if len(word) >= IFNAMSIZ:
            ctx.diags.error(
                f"({iname}) IPVLAN interface name '{word}' too long - ignoring", node.location
            )
            continue
        other = _vmac_name_user(word, ctx)
        if other is not None:
            ctx.diags.error(
                f"({iname}) VRRP instance {other} is already using {word} - ignoring name",
                node.location,
            )
            continue
        f["ipvlan_ifname"] = word


def _garp_extra_if(node: Node, f: Fields, ctx: ParseContext) -> None:
    cmd = node.keyword
    iname = _iname(f)
    delay: int | None = None
    all_if = False
    for index, word in enumerate(node.args):
        if word == "all":
            all_if = True
            continue
        value = read_unsigned_strvec(node, ctx, index, 0, 86400)
        if value is None:
            ctx.diags.error(f"({iname}): {cmd} '{word}' invalid - ignoring", node.location)
            return
        delay = value
    if all_if:
        f["garp_extra_if_all"] = True
    if delay is None:
        ctx.diags.error(f"({iname}): {cmd} specified without time - ignoring", node.location)
        return
    f["garp_extra_if"] = delay


def _vmac_garp_intvl(node: Node, f: Fields, ctx: ParseContext) -> None:
    ctx.diags.error(
        'Keyword "vmac_garp_intvl" is deprecated - please use "garp_extra_if"', node.location
    )
    _garp_extra_if(node, f, ctx)


# --------------------------------------------------------------------------- auth


def _auth_type(node: Node, f: Fields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    text = node.args[0]
    if text == "AH":
        f["auth_type"] = AuthType.AH
    elif text == "PASS":
        f["auth_type"] = AuthType.PASS
    else:
        ctx.diags.error(f"({_iname(f)}) unknown authentication type '{text}'", node.location)


def _auth_pass(node: Node, f: Fields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    text = node.args[0]
    if len(text) > VRRP_AUTH_LEN:
        ctx.diags.error(f"Truncating auth_pass to {VRRP_AUTH_LEN} characters", node.location)
        text = text[:VRRP_AUTH_LEN]
    f["auth_pass"] = text


AUTH_TABLE = KeywordTable(
    "authentication",
    [Keyword("auth_type", _auth_type), Keyword("auth_pass", _auth_pass)],
)


def _authentication(node: Node, f: Fields, ctx: ParseContext) -> None:
    if expect_block(node, ctx):
        AUTH_TABLE.dispatch(node, f, ctx)


# --------------------------------------------------------------------------- notify


def _notify_deleted(node: Node, f: Fields, ctx: ParseContext) -> None:
    if f["notify_deleted"]:
        arg = node.args[0] if node.args else ""
        ctx.diags.error(
            f"({_iname(f)}) notify_deleted already specified - ignoring {arg}", node.location
        )
        return
    if node.args:
        f["notify_deleted_script"] = notify_script(node, ctx)
    f["notify_deleted"] = True


INSTANCE_TABLE = KeywordTable(
    "vrrp_instance",
    [
        Keyword("use_vmac", _use_vmac),
        Keyword("use_vmac_addr", set_value("use_vmac_addr")),
        Keyword("vmac_xmit_base", set_value("vmac_xmit_base")),
        Keyword("use_ipvlan", _use_ipvlan),
        Keyword("unicast_peer", _unicast_peer),
        Keyword("unicast_fault_no_peer", _unicast_flag("unicast_fault_no_peer")),
        Keyword("check_unicast_src", _unicast_flag("check_unicast_src")),
        Keyword("old_unicast_checksum", _old_unicast_checksum),
        Keyword("native_ipv6", _native_ipv6),
        Keyword("state", _state),
        Keyword("interface", _interface),
        Keyword("vrf", _vrf),
        Keyword("dont_track_primary", set_value("dont_track_primary")),
        *TRACK_KEYWORDS,
        Keyword("mcast_src_ip", _src_ip),
        Keyword("unicast_src_ip", _unicast_src_ip),
        Keyword("mcast_dst_ip", _mcast_dst_ip),
        Keyword("track_src_ip", set_value("track_src_ip")),
        Keyword(
            "virtual_router_id",
            number(
                "vrid",
                unsigned_arg(1, 255),
                "({name}): VRID '{value}' not valid - must be between 1 & 255",
            ),
        ),
        Keyword(
            "unicast_ttl",
            number(
                "ttl",
                unsigned_arg(0, 255),
                "({name}): TTL '{value}' not valid - must be between 0 & 255",
            ),
        ),
        Keyword("version", _version),
        Keyword(
            "priority",
            number(
                "priority",
                unsigned_arg(1, 255),
                "({name}) Priority not valid! must be between 1 & 255. Using default 100",
                default=100,
            ),
        ),
        Keyword(
            "advert_int",
            number(
                "adver_int_us",
                decimal_arg(TIMER_HZ // 100, 255 * TIMER_HZ, places=6),
                "({name}) Advert interval ({value}) not valid! Must be > 0 - ignoring",
            ),
        ),
        Keyword("virtual_ipaddress", _address_block("vips", vip=True)),
        Keyword("virtual_ipaddress_excluded", _address_block("evips", vip=False)),
        Keyword("promote_secondaries", set_value("promote_secondaries")),
        Keyword("linkbeat_use_polling", _linkbeat),
        Keyword(
            "virtual_routes",
            _spec_block("vroutes", lambda entry, ctx: net.parse_route(entry, ctx, virtual=True)),
        ),
        Keyword(
            "virtual_rules",
            _spec_block("vrules", lambda entry, ctx: net.parse_rule(entry, ctx, virtual=True)),
        ),
        Keyword("accept", set_value("accept", True)),
        Keyword("no_accept", set_value("accept", False)),
        Keyword("skip_check_adv_addr", _skip_check_adv_addr),
        Keyword(
            "strict_mode", opt_bool("strict", "({name}) invalid strict_mode {value} specified")
        ),
        Keyword("preempt", set_value("nopreempt", False)),
        Keyword("nopreempt", set_value("nopreempt", True)),
        Keyword(
            "preempt_delay",
            number(
                "preempt_delay_us",
                decimal_arg(0, TIMER_MAX_SEC * TIMER_HZ, places=6),
                f"({{name}}) Preempt_delay not valid! must be between 0-{TIMER_MAX_SEC}",
                default=0,
            ),
        ),
        Keyword(
            "debug",
            number(
                "debug",
                unsigned_arg(0, 4),
                "({name}) Debug value '{value}' not valid; must be between 0-4",
            ),
        ),
        Keyword("notify_backup", notify_handler("notify_backup", "({name})")),
        Keyword("notify_master", notify_handler("notify_master", "({name})")),
        Keyword("notify_fault", notify_handler("notify_fault", "({name})")),
        Keyword("notify_stop", notify_handler("notify_stop", "({name})")),
        Keyword("notify_deleted", _notify_deleted),
        Keyword("notify", notify_handler("notify", "({name})")),
        Keyword(
            "notify_master_rx_lower_pri", notify_handler("notify_master_rx_lower_pri", "({name})")
        ),
        Keyword(
            "smtp_alert",
            opt_bool("smtp_alert", "Invalid vrrp_instance smtp_alert parameter {value}"),
        ),
        Keyword(
            "notify_priority_changes",
            opt_bool(
                "notify_priority_changes",
                "({name}) Invalid value '{value}' for notify_priority_changes specified",
            ),
        ),
        Keyword("lvs_sync_daemon_interface", _lvs_syncd),
        Keyword(
            "garp_master_delay",
            number(
                "garp_delay_s",
                unsigned_arg(0, UINT_MAX // TIMER_HZ),
                "({name}): garp_master_delay '{value}' invalid - ignoring",
            ),
        ),
        Keyword(
            "garp_master_refresh",
            number(
                "garp_refresh_s",
                unsigned_arg(0, UINT_MAX),
                "({name}): Invalid garp_master_refresh '{value}' - ignoring",
                default=0,
            ),
        ),
        Keyword(
            "garp_master_repeat",
            number(
                "garp_rep",
                unsigned_arg(0, UINT_MAX),
                "({name}): garp_master_repeat '{value}' invalid - ignoring",
                zero="({name}): garp_master_repeat must be greater than 0, setting to 1",
            ),
        ),
        Keyword(
            "garp_master_refresh_repeat",
            number(
                "garp_refresh_rep",
                unsigned_arg(0, UINT_MAX),
                "({name}): garp_master_refresh_repeat '{value}' invalid - ignoring",
                zero="({name}): garp_master_refresh_repeat must be greater than 0, setting to 1",
            ),
        ),
        Keyword(
            "garp_lower_prio_delay",
            number(
                "garp_lower_prio_delay_s",
                unsigned_arg(0, UINT_MAX // TIMER_HZ),
                "({name}): garp_lower_prio_delay '{value}' invalid - ignoring",
            ),
        ),
        Keyword(
            "garp_lower_prio_repeat",
            number(
                "garp_lower_prio_rep",
                unsigned_arg(0, INT_MAX),
                "({name}): Invalid garp_lower_prio_repeat '{value}'",
            ),
        ),
        Keyword(
            "down_timer_adverts",
            number(
                "down_timer_adverts",
                unsigned_arg(1, 100),
                "({name}): Invalid down_timer_adverts [1:100] '{value}'",
            ),
        ),
        Keyword("garp_extra_if", _garp_extra_if),
        Keyword("vmac_garp_intvl", _vmac_garp_intvl),
        Keyword(
            "lower_prio_no_advert",
            opt_bool(
                "lower_prio_no_advert", "({name}) invalid lower_prio_no_advert {value} specified"
            ),
        ),
        Keyword(
            "higher_prio_send_advert",
            opt_bool(
                "higher_prio_send_advert",
                "({name}) invalid higher_prio_send_advert {value} specified",
            ),
        ),
        Keyword("kernel_rx_buf_size", _kernel_rx_buf_size),
        Keyword("authentication", _authentication),
    ],
)


def end_instance(f: Fields, ctx: ParseContext, node: Node) -> None:
    """keepalived's ``vrrp_end_handler()``: checks at the closing brace."""
    iname = _iname(f)
    loc = node.end_location or node.location
    if f["unicast_configured"] and (f["use_vmac"] or f["use_ipvlan"]):
        if f["interface"] is None:
            ctx.diags.error(
                f"({iname}): Cannot use VMAC/ipvlan with unicast and no interface - clearing"
                " use_vmac",
                loc,
            )
            f["use_vmac"] = f["use_ipvlan"] = False
            f["vmac_ifname"] = f["ipvlan_ifname"] = None
        elif not f["vmac_xmit_base"]:
            ctx.diags.error(
                f"({iname}) unicast with use_vmac requires vmac_xmit_base - setting", loc
            )
            f["vmac_xmit_base"] = True
    if not f["peers"] and f["ttl"] is not None:
        ctx.diags.error(f"({iname}): Cannot use unicast_ttl without unicast peers - resetting", loc)
        f["ttl"] = None
    if f["interface"] is None:
        f["linkbeat_use_polling"] = False


def vrrp_instance_handler(node: Node, fields: Fields, ctx: ParseContext) -> None:
    """Root keyword ``vrrp_instance NAME { ... }``."""
    state = vrrp_state(fields)
    if len(node.args) != 1:
        ctx.diags.error("vrrp_instance must have a name", node.location)
        return
    name = node.args[0]
    if any(i["name"] == name for i in state.instances):
        ctx.diags.error(f"vrrp instance {name} already defined", node.location)
        return
    if not expect_block(node, ctx):
        return
    inst = new_instance(name, node, ctx)
    INSTANCE_TABLE.dispatch(node, inst, ctx)
    end_instance(inst, ctx, node)
    state.instances.append(inst)
