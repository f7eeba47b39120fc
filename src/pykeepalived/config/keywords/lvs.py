"""The LVS subsystem: ``SSL``, ``virtual_server_group`` and ``virtual_server`` (keepalived 2.2.7).

Reading follows ``check_parser.c`` (one handler per keyword, messages as keepalived words them);
`finish` then runs the fix-ups of ``validate_check_config()`` in keepalived's order and builds
the frozen `LvsConfig`; `render` writes canonical text that reads back to an equal model,
leaving out values a real server or checker would inherit anyway.

Messages keepalived only sends to syslog (``log_message``) are reported as warnings, so they
do not change the ``-t`` exit code, as in keepalived.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import pwd
from collections.abc import Callable

from pykeepalived.config.keywords.base import (
    Fields,
    Handler,
    Keyword,
    KeywordTable,
    ParseContext,
    Subsystem,
    check_unsigned,
    number,
    opt_bool,
    read_unsigned_strvec,
    require_args,
    set_value,
    timer_arg,
    unsigned_arg,
)
from pykeepalived.config.keywords.checkers import (
    CHECKER_KEYWORDS,
    TIMER_MAX_US,
    UINT_MAX,
    RsDefaults,
    end_location,
    fmt_trio,
    format_timer,
    parse_ip,
    render_checker,
    resolve_checker,
    script_from_node,
    us_to_seconds,
)
from pykeepalived.config.model.checkers import Checker, MiscCheck
from pykeepalived.config.model.common import Script, quote_word
from pykeepalived.config.model.lvs import (
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_LB_ALGO,
    IP_VS_PENAME_MAXLEN,
    IPVS_SVC_PERSISTENT_TIMEOUT_S,
    IPVS_WEIGHT_LIMIT,
    KEEPALIVED_DEFAULT_DELAY_S,
    LVS_MAX_TIMEOUT_S,
    AddressFamily,
    AddressService,
    Forwarding,
    FwmarkService,
    GroupService,
    IPAddress,
    LbAlgo,
    LbKind,
    LvsConfig,
    Protocol,
    RealServer,
    ServiceFlag,
    ServiceId,
    SorryServer,
    SslConfig,
    TunnelChecksum,
    TunnelType,
    VirtualServer,
    VirtualServerGroup,
    VsgAddressRange,
    VsgEntry,
    VsgFwmark,
)
from pykeepalived.config.tree import Node
from pykeepalived.notify.script_files import find_executable, insecure_reason

INDENT = "    "

# =========================================================================== small helpers


def _port_text_or_none(text: str | None) -> str | None:
    """keepalived treats a port of all zeros as no port (legacy configs wrote ``0``)."""
    if text is None or not text.strip("0"):
        return None
    return text


def _parse_port(text: str | None, node: Node, ctx: ParseContext) -> int | None:
    """A port for ``inet_stosockaddr()`` (1..65535), 0 if none, ``None`` after keepalived's
    number message if invalid."""
    if text is None:
        return 0
    value, message = check_unsigned(text, 1, 65535)
    if message is not None:
        ctx.diags.error(message, node.location)
    return value


def _parse_address(text: str) -> IPAddress | None:
    """The address part of ``A``, ``A-B`` or ``A/N``: IPv6 if the text has a colon."""
    base = text.split("/", 1)[0]
    if ":" in text:
        if "-" in base:
            base = base.split("-", 1)[0]
        addr = parse_ip(base)
        return addr if addr is not None and addr.version == 6 else None
    return parse_ip(base.split("-", 1)[0])


def _vs_fmt(vs: Fields) -> str:
    """keepalived's FMT_VS for a virtual server being read/validated."""
    service: ServiceId = vs["service"]
    if isinstance(service, GroupService):
        return f"[{service.name}]:0"
    if isinstance(service, FwmarkService):
        return f"FWM {service.fwmark}"
    return fmt_trio(service.address, vs.get("protocol"), service.port)


def _rs_fmt(rs: Fields, vs: Fields) -> str:
    return fmt_trio(rs["address"], vs.get("protocol"), rs["port"])


def _family_of(addr: IPAddress) -> AddressFamily:
    return AddressFamily.of(addr)


# =========================================================================== SSL


_SSL_KEYS = {
    "password": ("password", "password"),
    "ca": ("ca", "cafile"),
    "certificate": ("certificate", "certfile"),
    "key": ("key", "keyfile"),
}


def _ssl_file_handler(keyword: str) -> Handler:
    field, what = _SSL_KEYS[keyword]

    def handler(node: Node, ssl: Fields, ctx: ParseContext) -> None:
        if not node.args:
            ctx.diags.error(f"SSL {what} missing", node.location)
            return
        if field in ssl:
            ctx.diags.error(f"SSL {what} already specified - replacing", node.location)
        ssl[field] = node.args[0]

    return handler


SSL_KEYWORDS = KeywordTable("SSL", [Keyword(k, _ssl_file_handler(k)) for k in _SSL_KEYS])


def _h_ssl(node: Node, fields: Fields, ctx: ParseContext) -> None:
    if fields.get("ssl") is not None:
        ctx.diags.error("SSL context already specified - replacing", node.location)
    ssl: Fields = {"location": node.location}
    fields["ssl"] = ssl
    SSL_KEYWORDS.dispatch(node, ssl, ctx)


# =========================================================================== virtual_server_group


def _vsg_entry(node: Node, vsg: Fields, ctx: ParseContext) -> VsgEntry | None:
    words = node.words
    name = vsg["name"]
    if words[0] == "fwmark":
        if not require_args(node, 1, ctx):
            return None
        mark, message = check_unsigned(words[1], 0, UINT_MAX)
        if mark is None:
            if message:
                ctx.diags.error(message, node.location)
            ctx.diags.error(
                f"({name}): fwmark '{words[1]}' must be in [0, {UINT_MAX}] - ignoring",
                node.location,
            )
            return None
        family: AddressFamily | None = None
        if len(words) > 2:
            if words[2] == "inet":
                family = AddressFamily.INET
            elif words[2] == "inet6":
                family = AddressFamily.INET6
            else:
                ctx.diags.error(
                    f"({name}): fwmark '{mark}' family {words[2]} unknown - ignoring",
                    node.location,
                )
                return None
        return VsgFwmark(mark, family, node.location)

    text = words[0]
    port_text = _port_text_or_none(words[1] if len(words) > 1 else None)
    port = _parse_port(port_text, node, ctx)
    first = _parse_address(text) if port is not None else None
    if first is None or port is None:
        port_part = f"/port/{port_text}" if port_text else ""
        ctx.diags.error(
            f"Invalid virtual server group IP address {text} {port_part} - skipping",
            node.location,
        )
        return None
    max_bits = first.max_prefixlen
    if "/" in text:
        mask_text = text.split("/", 1)[1]
        mask = int(mask_text) if mask_text.isdigit() else 0
        if not mask_text.isdigit() or mask == 0 or mask > max_bits:
            ctx.diags.error(f"Invalid netmask - {text} - skipping", node.location)
            return None
        try:
            net = ipaddress.ip_network(f"{first}/{mask}", strict=True)
        except ValueError:
            ctx.diags.error(f"Address mask bits not empty - {text} - skipping", node.location)
            return None
        return VsgAddressRange(net[0], net[-1], port, node.location)
    if "-" in text:
        end_text = text.split("-", 1)[1]
        sep = "." if first.version == 4 else ":"
        if sep in end_text:
            last = parse_ip(end_text)
            if last is None:
                ctx.diags.error(f"Invalid range end {text} - skipping", node.location)
                return None
            if last.version != first.version:
                ctx.diags.error(
                    f"Range address families do not match {text} - skipping", node.location
                )
                return None
            if int(last) < int(first):
                ctx.diags.error(
                    f"Address range end is less than address range start - {text} - skipping",
                    node.location,
                )
                return None
            return VsgAddressRange(first, last, port, node.location)
        digits = "0123456789" if first.version == 4 else "0123456789abcdefABCDEF"
        limit = 255 if first.version == 4 else 0xFFFF
        used = len(end_text) - len(end_text.lstrip(digits))
        if used < len(end_text) or not used:
            ctx.diags.error(
                f"Virtual server group range '{text}' has extra characters at end "
                f"'{end_text[used:]}'",
                node.location,
            )
            return None
        end = int(end_text, 10 if first.version == 4 else 16)
        if end > limit:
            ctx.diags.error(
                f"Virtual server group range '{text}' end '{end_text}' too large", node.location
            )
            return None
        start = int(first) & limit
        if start >= end:
            ctx.diags.error(
                f"Address range end is not greater than address range start - {text} - skipping",
                node.location,
            )
            return None
        last_int = (int(first) & ~limit) | end
        last_addr: IPAddress = type(first)(last_int)
        return VsgAddressRange(first, last_addr, port, node.location)
    return VsgAddressRange(first, first, port, node.location)


def _h_vsg(node: Node, fields: Fields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    vsg: Fields = {"name": node.args[0], "location": node.location, "entries": []}
    for child in node.children or ():
        entry = _vsg_entry(child, vsg, ctx)
        if entry is not None:
            vsg["entries"].append(entry)
    entries: list[VsgEntry] = vsg["entries"]
    where = end_location(node)
    have4 = any(isinstance(e, VsgAddressRange) and e.first.version == 4 for e in entries) or any(
        isinstance(e, VsgFwmark) and e.family is AddressFamily.INET for e in entries
    )
    have6 = any(isinstance(e, VsgAddressRange) and e.first.version == 6 for e in entries) or any(
        isinstance(e, VsgFwmark) and e.family is AddressFamily.INET6 for e in entries
    )
    fwmark_no_family = any(isinstance(e, VsgFwmark) and e.family is None for e in entries)
    if not entries:
        ctx.diags.error(f"virtual server group {vsg['name']} has no entries - removing", where)
        return
    if have4 and have6 and fwmark_no_family:
        ctx.diags.error(
            f"virtual server group {vsg['name']} cannot have IPv4, IPv6 and fwmark without "
            "family - removing",
            where,
        )
        return
    fields.setdefault("groups", []).append(vsg)


# =========================================================================== forwarding


_METHODS = {"NAT": LbKind.NAT, "DR": LbKind.DR, "TUN": LbKind.TUN}


def _read_forwarding(
    node: Node, current: Forwarding | None, server: str, ctx: ParseContext
) -> Forwarding | None:
    """``svr_forwarding_handler()``: the method, then ``type``, ``port`` and checksum options.

    On a bad option keepalived has already set the method but keeps the old tunnel settings.
    """
    if not require_args(node, 1, ctx):
        return None
    method = _METHODS.get(node.args[0])
    if method is None:
        ctx.diags.error(
            f"PARSER : unknown [{node.args[0]}] routing method for {server} server.",
            node.location,
        )
        return None
    old = current if current is not None else Forwarding()
    fallback = dataclasses.replace(old, method=method)
    tun_type = TunnelType.IPIP
    port = 0
    csum = TunnelChecksum.NOCSUM
    args = node.args
    i = 1
    while i < len(args):
        word = args[i]
        if word == "type":
            if i + 1 >= len(args):
                ctx.diags.error(f"Missing tunnel type for {server} server.", node.location)
                return fallback
            types = {"ipip": TunnelType.IPIP, "gue": TunnelType.GUE, "gre": TunnelType.GRE}
            if args[i + 1] not in types:
                ctx.diags.error(
                    f"Unknown tunnel type {args[i + 1]} for {server} server.", node.location
                )
                return fallback
            tun_type = types[args[i + 1]]
            i += 2
            continue
        if word == "port":
            if i + 1 >= len(args):
                ctx.diags.error(f"Missing port for {server} server gue tunnel.", node.location)
                return fallback
            value, message = check_unsigned(args[i + 1], 1, 65535)
            if value is None:
                if message:
                    ctx.diags.error(message, node.location)
                ctx.diags.error(
                    f"Invalid gue tunnel port {args[i + 1]} for {server} server.", node.location
                )
                return fallback
            port = value
            i += 2
            continue
        checksums = {
            "nocsum": TunnelChecksum.NOCSUM,
            "csum": TunnelChecksum.CSUM,
            "remcsum": TunnelChecksum.REMCSUM,
        }
        if word in checksums:
            csum = checksums[word]
            i += 1
            continue
        ctx.diags.error(f"Invalid tunnel option {word} for {server} server.", node.location)
        return fallback
    if (tun_type is TunnelType.GUE) != (port != 0):
        ctx.diags.error("gue tunnels require port, otherwise cannot have port.", node.location)
        return fallback
    if tun_type is TunnelType.IPIP and csum is not TunnelChecksum.NOCSUM:
        ctx.diags.error("ipip tunnels do not support checksum option.", node.location)
        return fallback
    if tun_type is TunnelType.GRE and csum is TunnelChecksum.REMCSUM:
        ctx.diags.error("gre tunnels do not support remote checksum option.", node.location)
        return fallback
    return Forwarding(method, tun_type, port, csum)


def _normalized(fwd: Forwarding) -> Forwarding:
    """Tunnel options only matter for TUN; drop them elsewhere (``fwd`` itself when it has
    none)."""
    if fwd.method is LbKind.TUN or (
        fwd.tunnel_type is TunnelType.IPIP
        and fwd.tunnel_port == 0
        and fwd.tunnel_checksum is TunnelChecksum.NOCSUM
    ):
        return fwd
    return Forwarding(fwd.method)


def _render_forwarding(fwd: Forwarding) -> str:
    text = fwd.method.name
    if fwd.method is LbKind.TUN:
        if fwd.tunnel_type is not TunnelType.IPIP:
            text += f" type {fwd.tunnel_type.name.lower()}"
        if fwd.tunnel_port:
            text += f" port {fwd.tunnel_port}"
        if fwd.tunnel_checksum is not TunnelChecksum.NOCSUM:
            text += f" {fwd.tunnel_checksum.name.lower()}"
    return text


# =========================================================================== virtual_server


def _h_ip_family(node: Node, vs: Fields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    text = node.args[0]
    if text == "inet":
        family = AddressFamily.INET
    elif text == "inet6":
        family = AddressFamily.INET6
    else:
        ctx.diags.error(f"unknown address family {text}", node.location)
        return
    if vs.get("af") is not None and vs["af"] is not family:
        ctx.diags.error(
            f"Virtual server specified family {text} conflicts with server family", node.location
        )
        return
    vs["af"] = family


def _h_lb_algo(node: Node, vs: Fields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    try:
        vs["lb_algo"] = LbAlgo(node.args[0])
    except ValueError:
        ctx.diags.error(f"Invalid lvs_scheduler '{node.args[0]}' - ignoring", node.location)


def _h_lb_flag(node: Node, vs: Fields, ctx: ParseContext) -> None:
    word = node.keyword
    flags: ServiceFlag = vs.get("flags", ServiceFlag.NONE)
    simple = {
        "ops": ServiceFlag.ONEPACKET,
        "flag-1": ServiceFlag.SCHED1,
        "flag-2": ServiceFlag.SCHED2,
        "flag-3": ServiceFlag.SCHED3,
    }
    sched = vs.get("lb_algo")
    if word in simple:
        flags |= simple[word]
    elif sched is LbAlgo.SH:
        if word == "sh-port":
            flags |= ServiceFlag.SH_PORT
        elif word == "sh-fallback":
            flags |= ServiceFlag.SH_FALLBACK
    elif sched is LbAlgo.MH:
        if word == "mh-port":
            flags |= ServiceFlag.MH_PORT
        elif word == "mh-fallback":
            flags |= ServiceFlag.MH_FALLBACK
    else:
        ctx.diags.error(f"{word} only applies to sh scheduler - ignoring", node.location)
    vs["flags"] = flags


def _h_vs_forwarding(node: Node, vs: Fields, ctx: ParseContext) -> None:
    fwd = _read_forwarding(node, vs.get("forwarding"), "virtual", ctx)
    if fwd is not None:
        vs["forwarding"] = fwd


def _h_persistence_timeout(node: Node, vs: Fields, ctx: ParseContext) -> None:
    if not node.args:
        vs["persistence_timeout"] = IPVS_SVC_PERSISTENT_TIMEOUT_S
        return
    value = read_unsigned_strvec(node, ctx, 0, 1, LVS_MAX_TIMEOUT_S)
    if value is None:
        ctx.diags.error("persistence_timeout invalid", node.location)
        return
    vs["persistence_timeout"] = value


def _h_persistence_engine(node: Node, vs: Fields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    name = node.args[0]
    if len(name) > IP_VS_PENAME_MAXLEN - 1:
        ctx.diags.error(f"persistence_name too long, truncating - {name}", node.location)
        name = name[: IP_VS_PENAME_MAXLEN - 1]
    vs["persistence_engine"] = name


def _h_persistence_granularity(node: Node, vs: Fields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    text = node.args[0]
    family: AddressFamily | None = vs.get("af")
    if family is None:
        family = AddressFamily.INET if "." in text else AddressFamily.INET6
    granularity: ipaddress.IPv4Address | int
    if family is AddressFamily.INET6:
        value = read_unsigned_strvec(node, ctx, 0, 1, 128)
        if value is None:
            ctx.diags.error(
                f"Invalid IPv6 persistence_granularity specified - {text}", node.location
            )
            return
        granularity = value
    else:
        try:
            granularity = ipaddress.IPv4Address(text)
        except ValueError:
            ctx.diags.error(
                f"Invalid IPv4 persistence_granularity specified - {text}", node.location
            )
            return
    vs["persistence_granularity"] = granularity
    if vs.get("af") is None:
        vs["af"] = family
    if not vs.get("persistence_timeout"):
        vs["persistence_timeout"] = IPVS_SVC_PERSISTENT_TIMEOUT_S


def _h_protocol(node: Node, vs: Fields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    try:
        vs["protocol"] = Protocol[node.args[0].upper()]
    except KeyError:
        ctx.diags.error(f"Unknown protocol {node.args[0]} - ignoring", node.location)


def _virtualhost_handler(message: str) -> Handler:
    def handler(node: Node, obj: Fields, ctx: ParseContext) -> None:
        if not node.args:
            ctx.diags.error(message, node.location)
            return
        obj["virtualhost"] = node.args[0]

    return handler


def _snmp_name_handler(message: str) -> Handler:
    def handler(node: Node, obj: Fields, ctx: ParseContext) -> None:
        if len(node.args) != 1:
            ctx.diags.error(message, node.location)
            return
        obj["snmp_name"] = node.args[0]

    return handler


def _script_handler(name: str, what: str, vs_of: Callable[[Fields], Fields]) -> Handler:
    def handler(node: Node, obj: Fields, ctx: ParseContext) -> None:
        if obj.get(name) is not None:
            vs: Fields = vs_of(obj)
            service = vs["service"]
            group = service.name if isinstance(service, GroupService) else "(null)"
            extra = node.args[0] if node.args else "(null)"
            ctx.diags.error(
                f"({group}) {what} script already specified - ignoring {extra}", node.location
            )
            return
        script = script_from_node(node, ctx)
        if script is not None:
            obj[name] = script

    return handler


def _h_sorry_server(node: Node, vs: Fields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    port = _parse_port(_port_text_or_none(node.args[1] if len(node.args) > 1 else None), node, ctx)
    addr = parse_ip(node.args[0]) if port is not None else None
    if addr is None or port is None:
        ctx.diags.error(f"Invalid sorry server IP address {node.args[0]} - skipping", node.location)
        return
    vs["sorry_server"] = {
        "address": addr,
        "port": port,
        "inhibit": False,
        "forwarding": vs.get("forwarding"),
        "location": node.location,
    }


def _h_sorry_server_inhibit(node: Node, vs: Fields, ctx: ParseContext) -> None:
    if vs.get("sorry_server") is None:
        ctx.diags.error(
            "Ignoring sorry_server inhibit used before or without sorry_server", node.location
        )
        return
    vs["sorry_server"]["inhibit"] = True


def _h_sorry_server_forwarding(node: Node, vs: Fields, ctx: ParseContext) -> None:
    sorry = vs.get("sorry_server")
    if sorry is None:
        ctx.diags.error("sorry_server forwarding used without sorry_server", node.location)
        return
    fwd = _read_forwarding(node, sorry.get("forwarding"), "sorry", ctx)
    if fwd is not None:
        sorry["forwarding"] = fwd


# --------------------------------------------------------------------------- real_server


def _h_rs_forwarding(node: Node, rs: Fields, ctx: ParseContext) -> None:
    fwd = _read_forwarding(node, rs.get("forwarding"), "real", ctx)
    if fwd is not None:
        rs["forwarding"] = fwd


def _rs_vs(rs: Fields) -> Fields:
    vs: Fields = rs["_vs"]
    return vs


_retry = number("retry", unsigned_arg(1, UINT_MAX), "retry value invalid - {value}")


def _threshold(key: str) -> Handler:
    return number(
        key, unsigned_arg(0, UINT_MAX), f"Invalid real_server {key} '{{value}}' - ignoring"
    )


RS_KEYWORDS = KeywordTable(
    "real_server",
    [
        Keyword(
            "weight",
            number(
                "weight",
                unsigned_arg(0, IPVS_WEIGHT_LIMIT),
                f"Real server weight {{value}} is outside range 0-{IPVS_WEIGHT_LIMIT}",
            ),
        ),
        Keyword("lvs_method", _h_rs_forwarding),
        Keyword("uthreshold", _threshold("uthreshold")),
        Keyword("lthreshold", _threshold("lthreshold")),
        Keyword(
            "inhibit_on_failure",
            opt_bool("inhibit", "Invalid inhibit_on_failure parameter {value}"),
        ),
        Keyword("notify_up", _script_handler("notify_up", "notify_up", _rs_vs)),
        Keyword("notify_down", _script_handler("notify_down", "notify_down", _rs_vs)),
        Keyword("alpha", opt_bool("alpha", "Invalid alpha parameter {value}")),
        Keyword("retry", _retry),
        Keyword(
            "delay_before_retry",
            number(
                "delay_before_retry_us",
                timer_arg(0, TIMER_MAX_US),
                "real server delay_before_retry '{value}' invalid - ignoring",
            ),
        ),
        Keyword(
            "warmup",
            number(
                "warmup_us",
                timer_arg(0, TIMER_MAX_US),
                "real server warmup '{value}' invalid - ignoring",
            ),
        ),
        Keyword(
            "connect_timeout",
            number(
                "connect_timeout_us",
                timer_arg(1, UINT_MAX),
                "real server connect_timeout {value} invalid - ignoring",
            ),
        ),
        Keyword(
            "delay_loop",
            number(
                "delay_loop_us",
                timer_arg(1, TIMER_MAX_US),
                "real server delay_loop '{value}' invalid - ignoring",
            ),
        ),
        Keyword(
            "smtp_alert",
            opt_bool("smtp_alert", "Invalid real_server smtp_alert parameter {value}"),
        ),
        Keyword("virtualhost", _virtualhost_handler("real server virtualhost missing")),
        Keyword(
            "snmp_name", _snmp_name_handler("real server snmp_name missing or extra parameters")
        ),
        *CHECKER_KEYWORDS,
    ],
)


def _h_real_server(node: Node, vs: Fields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    port_given = node.args[1] if len(node.args) > 1 else None
    port = _parse_port(_port_text_or_none(port_given), node, ctx)
    addr = parse_ip(node.args[0]) if port is not None else None
    if addr is None or port is None:
        ctx.diags.error(
            f"Invalid real server ip address/port {node.args[0]}/{port_given or '(null)'}"
            " - skipping",
            node.location,
        )
        return
    rs: Fields = {
        "address": addr,
        "port": port,
        "forwarding": vs.get("forwarding"),
        "checkers": [],
        "location": node.location,
        "_vs": vs,
    }
    RS_KEYWORDS.dispatch(node, rs, ctx)
    fwd: Forwarding | None = rs.get("forwarding")
    if fwd is None or fwd.method is not LbKind.TUN:
        family = _family_of(addr)
        if vs.get("af") is None:
            vs["af"] = family
        elif vs["af"] is not family:
            ctx.diags.error(
                f"Address family of virtual server and real server {addr} don't match - "
                "skipping real server.",
                end_location(node),
            )
            return
    vs["real_servers"].append(rs)


VS_KEYWORDS = KeywordTable(
    "virtual_server",
    [
        Keyword("ip_family", _h_ip_family),
        Keyword("retry", _retry),
        Keyword(
            "delay_before_retry",
            number(
                "delay_before_retry_us",
                timer_arg(0, TIMER_MAX_US),
                "virtual server delay before retry '{value}' invalid - ignoring",
            ),
        ),
        Keyword(
            "warmup",
            number(
                "warmup_us",
                timer_arg(0, TIMER_MAX_US),
                "virtual server warmup '{value}' invalid - ignoring",
            ),
        ),
        Keyword(
            "connect_timeout",
            number(
                "connect_timeout_us",
                timer_arg(1, UINT_MAX),
                "virtual server connect_timeout {value} invalid - ignoring",
            ),
        ),
        Keyword(
            "delay_loop",
            number(
                "delay_loop_us",
                timer_arg(1, TIMER_MAX_US),
                "virtual server delay loop '{value}' invalid - ignoring",
            ),
        ),
        Keyword("inhibit_on_failure", set_value("inhibit")),
        Keyword("lb_algo", _h_lb_algo),
        Keyword("lvs_sched", _h_lb_algo),
        *(
            Keyword(word, _h_lb_flag)
            for word in (
                "hashed",
                "ops",
                "flag-1",
                "flag-2",
                "flag-3",
                "sh-port",
                "sh-fallback",
                "mh-port",
                "mh-fallback",
            )
        ),
        Keyword("lb_kind", _h_vs_forwarding),
        Keyword("lvs_method", _h_vs_forwarding),
        Keyword("persistence_engine", _h_persistence_engine),
        Keyword("persistence_timeout", _h_persistence_timeout),
        Keyword("persistence_granularity", _h_persistence_granularity),
        Keyword("protocol", _h_protocol),
        Keyword("ha_suspend", set_value("ha_suspend")),
        Keyword(
            "smtp_alert",
            opt_bool("smtp_alert", "Invalid virtual_server smtp_alert parameter {value}"),
        ),
        Keyword("virtualhost", _virtualhost_handler("virtual server virtualhost missing")),
        Keyword(
            "snmp_name", _snmp_name_handler("virtual server snmp_name missing or extra parameters")
        ),
        Keyword("alpha", set_value("alpha")),
        Keyword("omega", set_value("omega")),
        Keyword("quorum_up", _script_handler("quorum_up", "quorum_up", lambda vs: vs)),
        Keyword("quorum_down", _script_handler("quorum_down", "quorum_down", lambda vs: vs)),
        Keyword(
            "quorum",
            number(
                "quorum",
                unsigned_arg(1, UINT_MAX),
                f"Quorum {{value}} must be in [1, {UINT_MAX}]. Setting to 1.",
                default=1,
            ),
        ),
        Keyword(
            "hysteresis",
            number(
                "hysteresis",
                unsigned_arg(0, UINT_MAX),
                f"Hysteresis {{value}} must be in [0, {UINT_MAX}] - ignoring",
            ),
        ),
        Keyword(
            "weight",
            number(
                "weight",
                unsigned_arg(1, IPVS_WEIGHT_LIMIT),
                f"Virtual server weight {{value}} is outside range 1-{IPVS_WEIGHT_LIMIT}",
            ),
        ),
        Keyword("sorry_server", _h_sorry_server),
        Keyword("sorry_server_inhibit", _h_sorry_server_inhibit),
        Keyword("sorry_server_lvs_method", _h_sorry_server_forwarding),
        Keyword("real_server", _h_real_server),
    ],
)


def _h_virtual_server(node: Node, fields: Fields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    first = node.args[0]
    second = node.args[1] if len(node.args) > 1 else None
    service: ServiceId
    family: AddressFamily | None = None
    if first == "group":
        if not require_args(node, 2, ctx):
            return
        service = GroupService(node.args[1])
    elif first == "fwmark":
        if not require_args(node, 2, ctx):
            return
        mark, message = check_unsigned(node.args[1], 0, UINT_MAX)
        if mark is None:
            if message:
                ctx.diags.error(message, node.location)
            ctx.diags.error(
                f"virtual server fwmark '{node.args[1]}' must be in [0, {UINT_MAX}] - ignoring",
                node.location,
            )
            return
        service = FwmarkService(mark)
    else:
        port_text = _port_text_or_none(second)
        port = _parse_port(port_text, node, ctx)
        addr = parse_ip(first) if port is not None else None
        if addr is None or port is None:
            ctx.diags.error(
                f"Invalid virtual server IP address{'/port' if port_text else ''} {first}"
                f"{'/' if port_text else ''}{port_text or ''} - skipping",
                node.location,
            )
            return
        service = AddressService(addr, port)
        family = _family_of(addr)
    vs: Fields = {
        "service": service,
        "af": family,
        "real_servers": [],
        "location": node.location,
    }
    fields.setdefault("virtual_servers", []).append(vs)
    VS_KEYWORDS.dispatch(node, vs, ctx)
    _vs_end(node, vs, ctx)


def _vs_end(node: Node, vs: Fields, ctx: ParseContext) -> None:
    """``vs_end_handler()``: the sorry server's family, and a family for fwmark services."""
    sorry = vs.get("sorry_server")
    if sorry is not None:
        fwd: Forwarding | None = sorry.get("forwarding")
        if fwd is None or fwd.method is not LbKind.TUN:
            family = _family_of(sorry["address"])
            if vs.get("af") is None:
                vs["af"] = family
            elif vs["af"] is not family:
                ctx.diags.error(
                    f"Address family of virtual server and sorry server {sorry['address']} "
                    "don't match - skipping sorry server.",
                    end_location(node),
                )
                vs["sorry_server"] = None
                sorry = None
    if vs.get("af") is None and not isinstance(vs["service"], GroupService):
        found = _family_of(sorry["address"]) if sorry is not None else None
        mixed = False
        for rs in vs["real_servers"]:
            rs_family = _family_of(rs["address"])
            if found is None:
                found = rs_family
            elif found is not rs_family:
                mixed = True
                break
        vs["af"] = AddressFamily.INET if mixed or found is None else found


# =========================================================================== finish


def _global_smtp_alert(ctx: ParseContext) -> bool | None:
    """``smtp_alert_checker``, else ``smtp_alert`` of global_defs (``None`` if neither)."""
    glob = ctx.subsystems.get("global", {})
    for key in ("smtp_alert_checker", "smtp_alert"):
        value = glob.get(key)
        if isinstance(value, bool):
            return value
    return None


def _vsg_model(vsg: Fields) -> VirtualServerGroup:
    return VirtualServerGroup(vsg["name"], tuple(vsg["entries"]), vsg["location"])


def _us(obj: Fields, key: str) -> float | None:
    value = obj.get(key)
    return None if value is None else us_to_seconds(value)


def _validate_vs(
    vs: Fields, groups: dict[str, VirtualServerGroup], ctx: ParseContext
) -> VirtualServer | None:
    """One virtual server through ``validate_check_config()``; ``None`` when dropped."""
    diags = ctx.diags
    service: ServiceId = vs["service"]
    vsg: VirtualServerGroup | None = None
    if isinstance(service, GroupService):
        vsg = groups.get(service.name)
        if vsg is None:
            diags.warning(
                f"Virtual server group {service.name} specified but not configured - "
                f"ignoring virtual server {_vs_fmt(vs)}",
                vs["location"],
            )
            return None
    if not vs["real_servers"]:
        diags.error(f"Virtual server {_vs_fmt(vs)} has no real servers - ignoring")
        return None
    is_fwmark = isinstance(service, FwmarkService)
    vsg_ranges = vsg.address_ranges if vsg is not None else ()
    vsg_fwmarks = vsg.fwmarks if vsg is not None else ()
    if vs.get("ha_suspend") and (is_fwmark or vsg_fwmarks):
        diags.error(
            f"Virtual server {_vs_fmt(vs)}: cannot use ha_suspend with fwmarks - clearing "
            "ha_suspend"
        )
        vs["ha_suspend"] = False
    flags: ServiceFlag = vs.get("flags", ServiceFlag.NONE)
    persistence: int = vs.get("persistence_timeout", 0)
    if vsg_ranges or isinstance(service, AddressService):
        if vs.get("protocol") is None:
            diags.error(f"Virtual server {_vs_fmt(vs)}: no protocol set - defaulting to UDP")
            vs["protocol"] = Protocol.UDP
        if flags & ServiceFlag.ONEPACKET and vs["protocol"] is not Protocol.UDP:
            diags.error(
                f"Virtual server {_vs_fmt(vs)}: one packet scheduling requires UDP - resetting"
            )
            flags &= ~ServiceFlag.ONEPACKET
        if not persistence and isinstance(service, AddressService) and not service.port:
            diags.error(
                f"Virtual server {_vs_fmt(vs)}: zero port only valid for persistent services"
                " - setting"
            )
            persistence = IPVS_SVC_PERSISTENT_TIMEOUT_S
    if not persistence and vsg is not None and any(not r.port for r in vsg_ranges):
        diags.error(
            f"Virtual server {_vs_fmt(vs)}: zero port only valid for persistent services - setting"
        )
        persistence = IPVS_SVC_PERSISTENT_TIMEOUT_S
    if vs.get("protocol") is not None and (
        (vsg is not None and not vsg_ranges and vsg_fwmarks) or is_fwmark
    ):
        diags.error(
            f"Warning: Virtual server {_vs_fmt(vs)}: protocol specified for fwmark - protocol "
            "will be ignored"
        )
        vs["protocol"] = None
    lb_algo: LbAlgo | None = vs.get("lb_algo")
    if lb_algo is None:
        diags.error(
            f"Virtual server {_vs_fmt(vs)}: no scheduler set, setting default "
            f"'{DEFAULT_LB_ALGO.value}'"
        )
        lb_algo = DEFAULT_LB_ALGO
    vs_smtp = vs.get("smtp_alert")
    glob_smtp = _global_smtp_alert(ctx)
    smtp_alert = vs_smtp if vs_smtp is not None else bool(glob_smtp)

    vs_fwd: Forwarding | None = vs.get("forwarding")
    vs_inhibit = bool(vs.get("inhibit"))
    vs_alpha = bool(vs.get("alpha"))
    vs_weight: int = vs.get("weight", 1)
    vs_delay_us: int = vs.get("delay_loop_us", seconds_us(KEEPALIVED_DEFAULT_DELAY_S))
    vs_connect_us: int = vs.get("connect_timeout_us", seconds_us(DEFAULT_CONNECT_TIMEOUT_S))
    sorry: Fields | None = vs.get("sorry_server")

    def fwd_default() -> Forwarding:
        nonlocal vs_fwd
        if vs_fwd is None:
            diags.error(
                f"Virtual server {_vs_fmt(vs)}: no forwarding method set, setting default NAT"
            )
            vs_fwd = Forwarding()
        return vs_fwd

    rs_list: list[Fields] = []
    seen: set[tuple[object, object]] = set()  # (address, port): one set lookup, not a scan
    weight_sum = 0
    for rs in vs["real_servers"]:
        count = len(seen)
        seen.add((rs["address"], rs["port"]))  # hashes an address once, not twice
        if len(seen) == count:
            diags.error(
                f"VS {_vs_fmt(vs)}: real server {_rs_fmt(rs, vs)} is duplicated - removing "
                "second rs"
            )
            continue
        if rs.get("forwarding") is None:
            rs["forwarding"] = fwd_default()
        rs.setdefault("alpha", vs_alpha)
        rs.setdefault("inhibit", vs_inhibit)
        rs.setdefault("weight", vs_weight)
        if rs.get("smtp_alert") is None:
            rs["_smtp_alert"] = glob_smtp if glob_smtp is not None else True
        else:
            rs["_smtp_alert"] = rs["smtp_alert"]
        weight_sum += rs["weight"]
        if (
            sorry is not None
            and sorry["address"] == rs["address"]
            and sorry["port"] == rs["port"]
            and sorry["inhibit"] != rs["inhibit"]
        ):
            diags.error(
                f"Virtual server {_vs_fmt(vs)}: real server {_rs_fmt(rs, vs)} matches sorry "
                f"server, but inhibit setting differs, {'sett' if rs['inhibit'] else 'clear'}ing "
                "on sorry server"
            )
            sorry["inhibit"] = rs["inhibit"]
        rs_list.append(rs)
    if sorry is not None and sorry.get("forwarding") is None:
        sorry["forwarding"] = fwd_default()

    quorum: int = vs.get("quorum", 1)
    if quorum > weight_sum:
        diags.error(
            f"Warning - quorum {quorum} for {_vs_fmt(vs)} exceeds total weight of real servers "
            f"{weight_sum}, reducing quorum to {weight_sum}"
        )
        quorum = weight_sum
    hysteresis: int = vs.get("hysteresis", 0)
    if hysteresis >= quorum:
        new = (quorum - 1) & UINT_MAX
        diags.error(
            f"Virtual server {_vs_fmt(vs)}: hysteresis {hysteresis} >= quorum {quorum}; "
            f"setting hysteresis to {new}"
        )
        hysteresis = new

    _check_ports(vs, service=service, vsg=vsg, rs_list=rs_list, sorry=sorry, ctx=ctx)

    vs_retry: int | None = vs.get("retry")
    vs_dbr = _us(vs, "delay_before_retry_us")
    vs_warmup = _us(vs, "warmup_us")
    vs_vhost: str | None = vs.get("virtualhost")
    vs_delay_s = us_to_seconds(vs_delay_us)
    real_servers: list[RealServer] = []
    for rs in rs_list:
        defaults = RsDefaults(
            address=rs["address"],
            port=rs["port"],
            retry=rs.get("retry", vs_retry),
            delay_before_retry_s=_us(rs, "delay_before_retry_us")
            if "delay_before_retry_us" in rs
            else vs_dbr,
            delay_loop_s=us_to_seconds(rs.get("delay_loop_us", vs_delay_us)),
            warmup_s=_us(rs, "warmup_us") if "warmup_us" in rs else vs_warmup,
            connect_timeout_s=us_to_seconds(rs.get("connect_timeout_us", vs_connect_us)),
            alpha=rs["alpha"],
            virtualhost=rs.get("virtualhost", vs_vhost),
            vs_delay_loop_s=vs_delay_s,
        )
        checkers: list[Checker] = []
        for ch in rs["checkers"]:
            checkers.extend(resolve_checker(ch, defaults))
        real_servers.append(
            RealServer(
                address=rs["address"],
                port=rs["port"],
                weight=rs["weight"],
                forwarding=_normalized(rs["forwarding"]),
                inhibit_on_failure=rs["inhibit"],
                alpha=rs["alpha"],
                connect_timeout_s=defaults.connect_timeout_s,
                delay_loop_s=defaults.delay_loop_s,
                retry=defaults.retry,
                delay_before_retry_s=defaults.delay_before_retry_s,
                warmup_s=defaults.warmup_s,
                uthreshold=rs.get("uthreshold", 0),
                lthreshold=rs.get("lthreshold", 0),
                virtualhost=defaults.virtualhost,
                notify_up=rs.get("notify_up"),
                notify_down=rs.get("notify_down"),
                smtp_alert=rs["_smtp_alert"],
                smtp_alert_configured=rs.get("smtp_alert"),
                snmp_name=rs.get("snmp_name"),
                checkers=tuple(checkers),
                location=rs["location"],
            )
        )
    sorry_model = None
    if sorry is not None:
        sorry_model = SorryServer(
            address=sorry["address"],
            port=sorry["port"],
            inhibit=sorry["inhibit"],
            forwarding=_normalized(sorry["forwarding"]),
            location=sorry["location"],
        )
    family: AddressFamily | None = vs.get("af")
    return VirtualServer(
        service=service,
        family=family,
        protocol=vs.get("protocol"),
        lb_algo=lb_algo,
        flags=flags,
        forwarding=_normalized(vs_fwd) if vs_fwd is not None else None,
        persistence_timeout_s=persistence,
        persistence_granularity=vs.get("persistence_granularity"),
        persistence_engine=vs.get("persistence_engine"),
        ha_suspend=bool(vs.get("ha_suspend")),
        delay_loop_s=vs_delay_s,
        connect_timeout_s=us_to_seconds(vs_connect_us),
        retry=vs_retry,
        delay_before_retry_s=vs_dbr,
        warmup_s=vs_warmup,
        inhibit_on_failure=vs_inhibit,
        alpha=vs_alpha,
        omega=bool(vs.get("omega")),
        quorum=quorum,
        hysteresis=hysteresis,
        quorum_up=vs.get("quorum_up"),
        quorum_down=vs.get("quorum_down"),
        sorry_server=sorry_model,
        virtualhost=vs_vhost,
        smtp_alert=smtp_alert,
        smtp_alert_configured=vs_smtp,
        snmp_name=vs.get("snmp_name"),
        weight=vs_weight,
        real_servers=tuple(real_servers),
        location=vs["location"],
    )


def seconds_us(value_s: float) -> int:
    return round(value_s * 1_000_000)


def _check_ports(
    vs: Fields,
    *,
    service: ServiceId,
    vsg: VirtualServerGroup | None,
    rs_list: list[Fields],
    sorry: Fields | None,
    ctx: ParseContext,
) -> None:
    """Unless NAT, real and virtual servers use the same port; fwmark services none."""
    diags = ctx.diags

    def is_nat(obj: Fields) -> bool:
        fwd: Forwarding = obj["forwarding"]
        return fwd.method is LbKind.NAT

    if vsg is not None:
        if vsg.fwmarks:
            for rs in rs_list:
                if not is_nat(rs) and rs["port"]:
                    diags.error(
                        f"WARNING - fwmark virtual server {_vs_fmt(vs)}, real server "
                        f"{_rs_fmt(rs, vs)} has port specified - port will be ignored"
                    )
            if sorry is not None and not is_nat(sorry) and sorry["port"]:
                diags.error(
                    f"WARNING - fwmark virtual server {_vs_fmt(vs)}, sorry server has port "
                    "specified - port will be ignored"
                )
        for entry in vsg.address_ranges:
            for rs in rs_list:
                if not is_nat(rs) and rs["port"] and entry.port != rs["port"]:
                    diags.error(
                        f"virtual server {_vs_fmt(vs)}:[{_fmt_vsge(entry)}] and real server "
                        f"{_rs_fmt(rs, vs)} ports don't match"
                    )
            if (
                sorry is not None
                and not is_nat(sorry)
                and sorry["port"]
                and entry.port != sorry["port"]
            ):
                diags.error(
                    f"WARNING - virtual server {_vs_fmt(vs)}, sorry server has port specified"
                    " - port will be ignored"
                )
        return
    vs_port = service.port if isinstance(service, AddressService) else 0
    is_fwmark = isinstance(service, FwmarkService)
    for rs in rs_list:
        if is_nat(rs):
            if not is_fwmark and not rs["port"]:
                rs["port"] = vs_port
            continue
        if is_fwmark:
            if rs["port"]:
                diags.error(
                    f"WARNING - fwmark virtual server {_vs_fmt(vs)}, real server "
                    f"{_rs_fmt(rs, vs)} has port specified - clearing"
                )
                rs["port"] = 0
        elif not rs["port"]:
            rs["port"] = vs_port
        elif rs["port"] != vs_port:
            diags.error(
                f"WARNING - virtual server {_vs_fmt(vs)} and real server {_rs_fmt(rs, vs)} "
                "ports don't match - resetting"
            )
            rs["port"] = vs_port
    if sorry is not None and not is_nat(sorry):
        if is_fwmark:
            if sorry["port"]:
                diags.error(
                    f"WARNING - virtual server {_vs_fmt(vs)}, sorry server has port specified "
                    "- clearing"
                )
                sorry["port"] = 0
        elif not sorry["port"]:
            sorry["port"] = vs_port
        elif sorry["port"] != vs_port:
            diags.error(
                f"WARNING - virtual server {_vs_fmt(vs)} and sorry server ports don't match "
                "- resetting"
            )
            sorry["port"] = vs_port


def _fmt_vsge(entry: VsgAddressRange) -> str:
    if entry.first != entry.last:
        return f"{entry.first}-{entry.last},{entry.port}"
    return f"{entry.first},{entry.port}"


_NOT_FOUND_REASONS = ("does not exist", "is not executable")


def _script_uid(script: Script, ctx: ParseContext) -> int:
    user = script.user or ctx.subsystems.get("global", {}).get("script_user")
    if not isinstance(user, str):
        return 0
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        return 0


def _probe(script: Script, ctx: ParseContext) -> tuple[bool, bool]:
    """(found, insecure) for one script, as keepalived's ``check_script_secure()`` sees it."""
    path = find_executable(script.argv[0])
    if path is None:
        return False, False
    reason = insecure_reason(path, run_as_uid=_script_uid(script, ctx))
    if reason is not None and reason.endswith(_NOT_FOUND_REASONS):
        return False, False
    return True, reason is not None


def _check_script_security(servers: list[VirtualServer], ctx: ParseContext) -> list[VirtualServer]:
    """``check_check_script_security()``: MISC_CHECK scripts that are missing (or insecure,
    with ``enable_script_security``) are disabled; any script without script security is a
    security violation (``-t`` exits 6). It looks at the file system, so it runs only when the
    config is checked against the running machine (``ctx.interface_exists`` is set)."""
    if ctx.interface_exists is None:
        return servers
    secure = bool(ctx.subsystems.get("global", {}).get("enable_script_security"))
    any_script = any_insecure = False
    out: list[VirtualServer] = []
    for vs in servers:
        real_servers: list[RealServer] = []
        dropped_any = False
        for rs in vs.real_servers:
            kept: list[Checker] = []
            for chk in rs.checkers:
                if isinstance(chk, MiscCheck):
                    found, insecure = _probe(chk.script, ctx)
                    if not found:
                        ctx.diags.warning(
                            f"Disabling misc script {chk.script.cmd_str()} since not "
                            "found/accessible"
                        )
                        continue
                    if insecure and secure:
                        ctx.diags.warning(
                            f"Disabling misc script {chk.script.cmd_str()} due to insecure"
                        )
                        continue
                    any_script = True
                    any_insecure = any_insecure or insecure
                kept.append(chk)
            for script in (rs.notify_up, rs.notify_down):
                if script is not None:
                    found, insecure = _probe(script, ctx)
                    any_script = any_script or found
                    any_insecure = any_insecure or (found and insecure)
            if len(kept) == len(rs.checkers):
                real_servers.append(rs)  # nothing dropped: keep the object as it is
            else:
                real_servers.append(dataclasses.replace(rs, checkers=tuple(kept)))
                dropped_any = True
        for script in (vs.quorum_up, vs.quorum_down):
            if script is not None:
                found, insecure = _probe(script, ctx)
                any_script = any_script or found
                any_insecure = any_insecure or (found and insecure)
        out.append(dataclasses.replace(vs, real_servers=tuple(real_servers)) if dropped_any else vs)
    if any_script and not secure:
        extra = " There are insecure scripts." if any_insecure else ""
        ctx.diags.security(
            "SECURITY VIOLATION - check scripts are being executed but script_security not "
            f"enabled.{extra}"
        )
    return out


def finish(fields: Fields, ctx: ParseContext) -> LvsConfig:
    """keepalived's end-of-parse checks and defaults; builds the frozen `LvsConfig`."""
    ssl_fields: Fields | None = fields.get("ssl")
    ssl = None
    if ssl_fields is not None:
        ssl = SslConfig(
            password=ssl_fields.get("password"),
            ca=ssl_fields.get("ca"),
            certificate=ssl_fields.get("certificate"),
            key=ssl_fields.get("key"),
            location=ssl_fields["location"],
        )
    groups = [_vsg_model(g) for g in fields.get("groups", [])]
    by_name: dict[str, VirtualServerGroup] = {}
    for group in groups:
        by_name.setdefault(group.name, group)
    servers: list[VirtualServer] = []
    for vs in fields.get("virtual_servers", []):
        model = _validate_vs(vs, by_name, ctx)
        if model is not None:
            servers.append(model)
    servers = _check_script_security(servers, ctx)
    return LvsConfig(ssl=ssl, virtual_server_groups=tuple(groups), virtual_servers=tuple(servers))


# =========================================================================== render


def _render_vsg_entry(entry: VsgEntry) -> str:
    if isinstance(entry, VsgFwmark):
        family = f" {entry.family.keyword}" if entry.family is not None else ""
        return f"fwmark {entry.fwmark}{family}"
    port = f" {entry.port}" if entry.port else ""
    first, last = entry.first, entry.last
    if first == last:
        return f"{first}{port}"
    size = int(last) - int(first) + 1
    if size & (size - 1) == 0 and int(first) % size == 0:
        prefix = first.max_prefixlen - (size.bit_length() - 1)
        return f"{first}/{prefix}{port}"
    if first.version == 4 and int(first) >> 8 == int(last) >> 8:
        return f"{first}-{int(last) & 0xFF}{port}"
    return f"{first}-{last}{port}"


def _render_service(service: ServiceId) -> str:
    if isinstance(service, GroupService):
        return f"group {quote_word(service.name)}"
    if isinstance(service, FwmarkService):
        return f"fwmark {service.fwmark}"
    port = f" {service.port}" if service.port else ""
    return f"{service.address}{port}"


def _render_flags(vs: VirtualServer) -> list[str]:
    out: list[str] = []
    flags = vs.flags
    if flags & ServiceFlag.ONEPACKET:
        out.append("ops")
    names = {
        ServiceFlag.SCHED1: "flag-1",
        ServiceFlag.SCHED2: "flag-2",
        ServiceFlag.SCHED3: "flag-3",
    }
    if vs.lb_algo is LbAlgo.SH:
        names = {**names, ServiceFlag.SCHED1: "sh-fallback", ServiceFlag.SCHED2: "sh-port"}
    elif vs.lb_algo is LbAlgo.MH:
        names = {**names, ServiceFlag.SCHED1: "mh-fallback", ServiceFlag.SCHED2: "mh-port"}
    for bit in (ServiceFlag.SCHED1, ServiceFlag.SCHED2, ServiceFlag.SCHED3):
        if flags & bit:
            out.append(names[bit])
    return out


def _render_script(keyword: str, script: Script) -> str:
    return f"{keyword} {script.render_args()}"


def _render_rs(rs: RealServer, vs: VirtualServer) -> list[str]:
    body: list[str] = []
    if rs.weight != vs.weight:
        body.append(f"weight {rs.weight}")
    if vs.forwarding is None or rs.forwarding != vs.forwarding:
        body.append(f"lvs_method {_render_forwarding(rs.forwarding)}")
    if rs.inhibit_on_failure != vs.inhibit_on_failure:
        body.append("inhibit_on_failure" + ("" if rs.inhibit_on_failure else " false"))
    if rs.alpha != vs.alpha:
        body.append("alpha" + ("" if rs.alpha else " false"))
    if rs.retry is not None and rs.retry != vs.retry:
        body.append(f"retry {rs.retry}")
    if rs.delay_before_retry_s is not None and rs.delay_before_retry_s != vs.delay_before_retry_s:
        body.append(f"delay_before_retry {format_timer(rs.delay_before_retry_s)}")
    if rs.warmup_s is not None and rs.warmup_s != vs.warmup_s:
        body.append(f"warmup {format_timer(rs.warmup_s)}")
    if rs.connect_timeout_s != vs.connect_timeout_s:
        body.append(f"connect_timeout {format_timer(rs.connect_timeout_s)}")
    if rs.delay_loop_s != vs.delay_loop_s:
        body.append(f"delay_loop {format_timer(rs.delay_loop_s)}")
    if rs.uthreshold:
        body.append(f"uthreshold {rs.uthreshold}")
    if rs.lthreshold:
        body.append(f"lthreshold {rs.lthreshold}")
    if rs.virtualhost is not None and rs.virtualhost != vs.virtualhost:
        body.append(f"virtualhost {quote_word(rs.virtualhost)}")
    if rs.notify_up is not None:
        body.append(_render_script("notify_up", rs.notify_up))
    if rs.notify_down is not None:
        body.append(_render_script("notify_down", rs.notify_down))
    if rs.smtp_alert_configured is not None:
        body.append(f"smtp_alert {'true' if rs.smtp_alert_configured else 'false'}")
    if rs.snmp_name is not None:
        body.append(f"snmp_name {quote_word(rs.snmp_name)}")
    defaults = RsDefaults(
        address=rs.address,
        port=rs.port,
        retry=rs.retry,
        delay_before_retry_s=rs.delay_before_retry_s,
        delay_loop_s=rs.delay_loop_s,
        warmup_s=rs.warmup_s,
        connect_timeout_s=rs.connect_timeout_s,
        alpha=rs.alpha,
        virtualhost=rs.virtualhost,
        vs_delay_loop_s=vs.delay_loop_s,
    )
    for chk in rs.checkers:
        body.extend(render_checker(chk, defaults, INDENT))
    port = f" {rs.port}" if rs.port else ""
    return [f"real_server {rs.address}{port} {{", *(INDENT + line for line in body), "}"]


def _render_vs(vs: VirtualServer) -> list[str]:
    body: list[str] = []
    if not isinstance(vs.service, AddressService) and vs.family is not None:
        body.append(f"ip_family {vs.family.keyword}")
    if vs.protocol is not None:
        body.append(f"protocol {vs.protocol.name}")
    body.append(f"lb_algo {vs.lb_algo.value}")
    body.extend(_render_flags(vs))
    if vs.forwarding is not None:
        body.append(f"lb_kind {_render_forwarding(vs.forwarding)}")
    if vs.persistence_timeout_s:
        body.append(f"persistence_timeout {vs.persistence_timeout_s}")
    if vs.persistence_granularity is not None:
        body.append(f"persistence_granularity {vs.persistence_granularity}")
    if vs.persistence_engine is not None:
        body.append(f"persistence_engine {quote_word(vs.persistence_engine)}")
    if vs.ha_suspend:
        body.append("ha_suspend")
    if vs.delay_loop_s != KEEPALIVED_DEFAULT_DELAY_S:
        body.append(f"delay_loop {format_timer(vs.delay_loop_s)}")
    if vs.connect_timeout_s != DEFAULT_CONNECT_TIMEOUT_S:
        body.append(f"connect_timeout {format_timer(vs.connect_timeout_s)}")
    if vs.retry is not None:
        body.append(f"retry {vs.retry}")
    if vs.delay_before_retry_s is not None:
        body.append(f"delay_before_retry {format_timer(vs.delay_before_retry_s)}")
    if vs.warmup_s is not None:
        body.append(f"warmup {format_timer(vs.warmup_s)}")
    if vs.inhibit_on_failure:
        body.append("inhibit_on_failure")
    if vs.alpha:
        body.append("alpha")
    if vs.omega:
        body.append("omega")
    if vs.quorum not in (0, 1):
        body.append(f"quorum {vs.quorum}")
    if vs.hysteresis:
        body.append(f"hysteresis {vs.hysteresis}")
    if vs.quorum_up is not None:
        body.append(_render_script("quorum_up", vs.quorum_up))
    if vs.quorum_down is not None:
        body.append(_render_script("quorum_down", vs.quorum_down))
    if vs.virtualhost is not None:
        body.append(f"virtualhost {quote_word(vs.virtualhost)}")
    if vs.smtp_alert_configured is not None:
        body.append(f"smtp_alert {'true' if vs.smtp_alert_configured else 'false'}")
    if vs.snmp_name is not None:
        body.append(f"snmp_name {quote_word(vs.snmp_name)}")
    if vs.weight != 1:
        body.append(f"weight {vs.weight}")
    sorry = vs.sorry_server
    if sorry is not None:
        port = f" {sorry.port}" if sorry.port else ""
        body.append(f"sorry_server {sorry.address}{port}")
        if sorry.inhibit:
            body.append("sorry_server_inhibit")
        if vs.forwarding is None or sorry.forwarding != vs.forwarding:
            body.append(f"sorry_server_lvs_method {_render_forwarding(sorry.forwarding)}")
    for rs in vs.real_servers:
        body.extend(_render_rs(rs, vs))
    return [
        f"virtual_server {_render_service(vs.service)} {{",
        *(INDENT + line for line in body),
        "}",
    ]


def render(config: LvsConfig) -> list[str]:
    """The LVS part of keepalived.conf, canonical form (4-space indents)."""
    lines: list[str] = []
    if config.ssl is not None:
        body = [
            f"{keyword} {quote_word(value)}"
            for keyword, value in (
                ("password", config.ssl.password),
                ("ca", config.ssl.ca),
                ("certificate", config.ssl.certificate),
                ("key", config.ssl.key),
            )
            if value is not None
        ]
        lines += ["SSL {", *(INDENT + line for line in body), "}"]
    for vsg in config.virtual_server_groups:
        lines += [
            f"virtual_server_group {quote_word(vsg.name)} {{",
            *(INDENT + _render_vsg_entry(e) for e in vsg.entries),
            "}",
        ]
    for vs in config.virtual_servers:
        lines += _render_vs(vs)
    return lines


# =========================================================================== subsystem

ROOT_KEYWORDS = KeywordTable(
    "lvs",
    [
        Keyword("SSL", _h_ssl),
        Keyword("virtual_server_group", _h_vsg),
        Keyword("virtual_server", _h_virtual_server),
    ],
)

SUBSYSTEM = Subsystem(name="lvs", root_keywords=ROOT_KEYWORDS, finish=finish, render=render)

__all__ = [
    "ROOT_KEYWORDS",
    "RS_KEYWORDS",
    "SSL_KEYWORDS",
    "SUBSYSTEM",
    "VS_KEYWORDS",
    "finish",
    "render",
]
