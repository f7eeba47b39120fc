"""Keywords of ``global_defs { ... }`` and the root-level global keywords (keepalived 2.2.7).

Handlers write into the ``global`` subsystem's fields (``ctx.fields_of("global")``), whose keys
are the `GlobalDefs` field names; `finish` builds the model. Messages, ranges and which missing
parameters abort the read were checked against Debian's keepalived 2.2.7 (``keepalived -t``).

Not reproduced (they depend on the machine, not on the text): the lookup of ``script_user``
and notify users, DNS resolution of ``smtp_server`` names, and the kernel check behind
``disable_local_igmp``. ``*_cpu_affinity`` is checked against this machine's CPU count, as
keepalived does.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from dataclasses import fields as dc_fields
from typing import Any

from pykeepalived.config.keywords.base import (
    INT32_MAX,
    INT32_MIN,
    TIMER_HZ,
    UINT32_MAX,
    Fields,
    Handler,
    Keyword,
    KeywordTable,
    ParseContext,
    Subsystem,
    check_true_false,
    check_unsigned,
    missing_parameter,
    opt_bool,
    read_decimal_unsigned_text,
    read_int_text,
    read_unsigned_text,
    report_quote_error,
    set_value,
    strtoul,
)
from pykeepalived.config.model.common import QuoteError, Script, quote_word, split_quoted_escaped
from pykeepalived.config.model.global_defs import (
    DEFAULT_IPVS_START_FWMARK,
    DEFAULT_NFTABLES_IPVS_TABLE,
    DEFAULT_NFTABLES_TABLE,
    GlobalDefs,
    LvsSyncDaemon,
    LvsTimeouts,
    NotifyFifo,
    SmtpServer,
)
from pykeepalived.config.tree import Node

TASK_COMM_LEN = 16
SCHED_RR_MIN = 1
SCHED_RR_MAX = 99
LVS_MAX_TIMEOUT = 86400 * 31
IP_VS_IFNAME_MAXLEN = 16
NFT_TABLE_MAXNAMELEN = 256
DEFAULT_PROCESS_NAMES = {
    "vrrp_process_name": "keepalived_vrrp",
    "checker_process_name": "keepalived_lvs",
    "bfd_process_name": "keepalived_bfd",
}
INCLUDE_CHECK_TYPES = ("match", "wildcard_match", "brace_match")
"""2.2.7 does not know ``readable`` (added later)."""


# =========================================================================== readers


def _err(node: Node, ctx: ParseContext, message: str) -> None:
    ctx.diags.error(message, node.location)


def _arg(node: Node, ctx: ParseContext, index: int = 0) -> str:
    """``strvec_slot(strvec, index + 1)``: a missing word aborts the read, as in keepalived."""
    if index < len(node.args):
        return node.args[index]
    missing_parameter(node, index + 2, ctx)
    raise _AbortError


class _AbortError(Exception):
    """Already reported with `missing_parameter`."""


def parse_script(node: Node, ctx: ParseContext) -> Script | None:
    """``keyword "CMD ARGS" [USER [GROUP]]`` as ``notify_script_init`` reads it."""
    raw = node.raw if node.raw else " ".join(quote_word(a) for a in node.args)
    try:
        words = split_quoted_escaped(raw)
        argv = split_quoted_escaped(words[0]) if words else []
    except QuoteError as err:
        report_quote_error(err, node, ctx)
        return None
    if not argv:
        return None
    user = words[1] if len(words) > 1 else None
    group = words[2] if len(words) > 2 else None
    return Script(tuple(argv), user, group, words[0])


# =========================================================================== handler factories

Setter = Callable[[Node, Fields, ParseContext], None]


def _handler(fn: Setter) -> Handler:
    """Wrap a handler so that an aborting missing parameter just stops it."""

    def handler(node: Node, fields: Fields, ctx: ParseContext) -> None:
        try:
            fn(node, fields, ctx)
        except _AbortError:
            return

    return handler


def global_bool(name: str, keyword: str | None = None) -> Handler:
    """The common ``Invalid value '%s' for global KEYWORD specified`` boolean."""
    return opt_bool(name, f"Invalid value '{{value}}' for global {keyword or name} specified")


def unsigned(
    name: str,
    lo: int,
    hi: int,
    message: str,
    *,
    missing: str | None = None,
    scale: int = 1,
) -> Handler:
    """``keyword N``: ``message`` (with ``{}`` for the word) follows the number's own error.
    ``missing``: the error for no argument (``None`` = keepalived aborts)."""

    def fn(node: Node, fields: Fields, ctx: ParseContext) -> None:
        if not node.args and missing is not None:
            _err(node, ctx, missing)
            return
        text = _arg(node, ctx)
        value = read_unsigned_text(text, node, ctx, lo, hi)
        if value is None:
            _err(node, ctx, message.format(text))
            return
        fields[name] = value * scale

    return _handler(fn)


def decimal_s(name: str, lo_us: int, hi_us: int, message: str) -> Handler:
    """``keyword SECONDS`` with microsecond resolution, stored as float seconds."""

    def fn(node: Node, fields: Fields, ctx: ParseContext) -> None:
        text = _arg(node, ctx)
        value = read_decimal_unsigned_text(text, node, ctx, lo_us, hi_us, places=6)
        if value is None:
            _err(node, ctx, message.format(text))
            return
        fields[name] = value / TIMER_HZ

    return _handler(fn)


def string(name: str, missing: str | None = None, *, once: str | None = None) -> Handler:
    """``keyword VALUE``; ``missing`` as in `unsigned`; ``once``: error if already set."""

    def fn(node: Node, fields: Fields, ctx: ParseContext) -> None:
        if not node.args and missing is not None:
            _err(node, ctx, missing)
            return
        value = _arg(node, ctx)
        if once is not None and fields.get(name) is not None:
            _err(node, ctx, once.format(value))
            return
        fields[name] = value

    return _handler(fn)


def _process_name(name: str) -> Handler:
    def fn(node: Node, fields: Fields, ctx: ParseContext) -> None:
        if node.keyword == "lvs_process_name":
            ctx.diags.info(
                "'lvs_process_name' is deprecated - please use 'checker_process_name'",
                node.location,
            )
        value = _arg(node, ctx)
        if len(value) >= TASK_COMM_LEN:
            _err(
                node,
                ctx,
                f"Process name {value} more than {TASK_COMM_LEN - 1} characters, truncating",
            )
            value = value[: TASK_COMM_LEN - 1]
        fields[name] = value

    return _handler(fn)


def _process_names(node: Node, fields: Fields, ctx: ParseContext) -> None:
    fields.update(DEFAULT_PROCESS_NAMES)


def _priority(process: str) -> Handler:
    def fn(node: Node, fields: Fields, ctx: ParseContext) -> None:
        if not node.args:
            _err(node, ctx, f"No {process} process priority specified")
            fields[f"{process}_process_priority"] = 0
            return
        value = read_int_text(node.args[0], node, ctx, -20, 19)
        if value is None:
            _err(node, ctx, f"Invalid {process} process priority specified")
            value = 0
        fields[f"{process}_process_priority"] = value

    return _handler(fn)


def _rt_priority(process: str) -> Handler:
    def fn(node: Node, fields: Fields, ctx: ParseContext) -> None:
        if not node.args:
            _err(node, ctx, f"No {process} process real-time priority specified")
            return
        text = node.args[0]
        value = read_int_text(text, node, ctx, INT32_MIN, INT32_MAX)
        if value is None:
            _err(node, ctx, f"{process} process real-time priority '{text}' invalid")
            return
        if value < SCHED_RR_MIN:
            _err(
                node,
                ctx,
                f"{process} process real-time priority {value} less than minimum "
                f"{SCHED_RR_MIN} - setting to minimum",
            )
            value = SCHED_RR_MIN
        elif value > SCHED_RR_MAX:
            _err(
                node,
                ctx,
                f"{process} process real-time priority {value} greater than maximum "
                f"{SCHED_RR_MAX} - setting to maximum",
            )
            value = SCHED_RR_MAX
        fields[f"{process}_realtime_priority"] = value

    return _handler(fn)


def _cpu_affinity(process: str) -> Handler:
    def fn(node: Node, fields: Fields, ctx: ParseContext) -> None:
        if not node.args:
            _err(node, ctx, f"No {process} cpu_id set specified")
            return
        num_cpus = os.cpu_count() or 1
        cpus: list[int] = []
        for text in node.args:
            value = read_int_text(text, node, ctx, 0, num_cpus - 1)
            if value is None:
                shown, _, _ = strtoul(text.lstrip("-"), 10)
                shown = (-shown if text.lstrip()[:1] == "-" else shown) & UINT32_MAX
                if shown > INT32_MAX:
                    shown -= 2**32
                _err(node, ctx, f"Invalid cpu_id:{shown} specified for {process} process")
                fields[f"{process}_cpu_affinity"] = ()
                return
            cpus.append(value)
        fields[f"{process}_cpu_affinity"] = tuple(sorted(set(cpus)))

    return _handler(fn)


def _rlimit(process: str) -> Handler:
    def fn(node: Node, fields: Fields, ctx: ParseContext) -> None:
        if node.keyword.endswith("_rtime"):
            ctx.diags.info(
                f"Keyword '{node.keyword}' is deprecated - please use '{process}_rlimit_rttime'",
                node.location,
            )
        text = _arg(node, ctx)
        value = read_unsigned_text(text, node, ctx, 1, UINT32_MAX)
        if value is None:
            _err(node, ctx, f"Invalid {process} real-time limit - {text}")
            value = 0
        fields[f"{process}_rlimit_rttime_us"] = max(value, 2) if value else 0

    return _handler(fn)


def _script(kind: str) -> Handler:
    def fn(node: Node, fields: Fields, ctx: ParseContext) -> None:
        name = f"{kind}_script"
        if fields.get(name) is not None:
            _err(node, ctx, f"{kind} script already specified")
            return
        if not node.args:
            _err(node, ctx, f"{kind} script missing")
            return
        script = parse_script(node, ctx)
        if script is None:
            _err(node, ctx, f"Invalid {kind} script")
            return
        fields[name] = script

    return _handler(fn)


def _script_timeout(kind: str) -> Handler:
    return unsigned(
        f"{kind}_script_timeout_s",
        1,
        1000,
        f"{kind}_script_timeout '{{}}' must be in [1, 1000] - ignoring",
        missing=f"{kind}_script_timeout requires value",
    )


def _umask(node: Node, fields: Fields, ctx: ParseContext) -> None:
    mask = _arg(node, ctx)
    if mask[:1].isdigit():
        if len(node.args) != 1:
            _err(node, ctx, "Extra parameter(s) to umask option")
            return
        value, rest, _ = strtoul(mask, 0)
        if rest or value & ~0o777:
            _err(node, ctx, f"invalid umask value {mask}")
            return
        fields["umask"] = value
        return
    bits = {"IRUSR": 0o400, "IWUSR": 0o200, "IXUSR": 0o100, "IRGRP": 0o040, "IWGRP": 0o020,
            "IXGRP": 0o010, "IROTH": 0o004, "IWOTH": 0o002, "IXOTH": 0o001}  # fmt: skip
    value = 0
    need_or = False
    for word in node.args:
        p = 0
        while p < len(word):
            if need_or:
                if word[p] == "|":
                    need_or = False
                    p += 1
                    continue
                _err(node, ctx, f"Invalid umask syntax {word}")
                return
            bit = bits.get(word[p : p + 5])
            if bit is None:
                _err(node, ctx, f"Unknown umask bit {word[p:]}")
                return
            value |= bit
            p += 5
            need_or = True
    if not need_or:
        _err(node, ctx, "umask missing bit value")
        return
    fields["umask"] = value


def _max_auto_priority(node: Node, fields: Fields, ctx: ParseContext) -> None:
    if not node.args:
        fields["max_auto_priority"] = SCHED_RR_MAX
        return
    text = node.args[0]
    value = read_int_text(text, node, ctx, -1, SCHED_RR_MAX)
    if value is None:
        _err(
            node,
            ctx,
            f"max_auto_priority '{text}' must be in [0, {SCHED_RR_MAX}] (or -1 to disable)"
            " - ignoring",
        )
        return
    fields["max_auto_priority"] = value


def _min_auto_priority_delay(node: Node, fields: Fields, ctx: ParseContext) -> None:
    if not node.args:
        _err(node, ctx, "min_auto_priority_delay requires delay time")
        return
    text = node.args[0]
    value = read_int_text(text, node, ctx, 1, 10_000_000)
    if value is None:
        _err(node, ctx, f"min_auto_priority_delay '{text}' must be in [1, 10000000] - ignoring")
        return
    fields["min_auto_priority_delay_us"] = value


def _reload_check_config(node: Node, fields: Fields, ctx: ParseContext) -> None:
    fields["reload_check_config"] = node.args[0] if node.args else "/dev/null"


def _reload_time_file(node: Node, fields: Fields, ctx: ParseContext) -> None:
    if len(node.args) != 1:
        _err(node, ctx, "reload_time_file invalid")
        return
    fields["reload_time_file"] = node.args[0]


def _reload_file(node: Node, fields: Fields, ctx: ParseContext) -> None:
    fields["reload_file"] = node.args[0] if node.args else ""


def _include_check(node: Node, fields: Fields, ctx: ParseContext) -> None:
    """``include_check [TYPE] [+TYPE|-TYPE ...]``, kept as written (no words = every check).

    As in 2.2.7, only the first word may be without a ``+``/``-`` sign; a later one is a
    "Duplicate" whatever it names.
    """
    kept: list[str] = []
    for index, word in enumerate(node.args):
        if index and word[:1] not in ("+", "-"):
            _err(node, ctx, f"Duplicate include_check '{word}' specified - ignoring")
            continue
        name = word[1:] if word[:1] in ("+", "-") else word
        if name not in INCLUDE_CHECK_TYPES:
            _err(node, ctx, f"Unknown include_check type '{name}' - ignoring")
            continue
        kept.append(word)
    fields["include_check"] = tuple(kept)


def _tmp_config_directory(node: Node, fields: Fields, ctx: ParseContext) -> None:
    if fields.get("tmp_config_directory") is not None:
        _err(node, ctx, f"{node.keyword} already specified - ignoring")
        return
    if not node.args:
        _err(node, ctx, f"{node.keyword} missing directory name")
        return
    fields["tmp_config_directory"] = node.args[0]


def _dynamic_interfaces(node: Node, fields: Fields, ctx: ParseContext) -> None:
    fields["dynamic_interfaces"] = True
    if node.args:
        if node.args[0] == "allow_if_changes":
            fields["dynamic_interfaces_allow_if_changes"] = True
        else:
            _err(node, ctx, f"Unknown dynamic_interfaces option '{node.args[0]}'")


def _smtp_server(node: Node, fields: Fields, ctx: ParseContext) -> None:
    """``smtp_server HOST [PORT]``. keepalived tries the address parser then the resolver,
    each reading the port, so a bad port is reported twice. Host names are accepted without
    resolving them (keepalived resolves them while reading)."""
    host = _arg(node, ctx)
    port_text = node.args[1] if len(node.args) >= 2 else "25"
    port, err = check_unsigned(port_text, 1, 65535)
    if err is not None:
        for _ in range(1 if any(c in host for c in "-/") else 2):
            _err(node, ctx, err)
    if port is None or not (_is_ip(host) or _is_host_name(host)):
        _err(node, ctx, f"Invalid smtp server {host} {port_text}")
        return
    fields["smtp_server"] = SmtpServer(host, port)


def _is_ip(text: str) -> bool:
    """An address ``getaddrinfo`` takes: IPv6, or IPv4 in any ``inet_aton`` form."""
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        pass
    else:
        return True
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return False
    values: list[int] = []
    for part in parts:
        value, rest, digits = strtoul(part, 0)
        if not digits or rest or part[:1] in ("+", "-", " "):
            return False
        values.append(value)
    limits = [256] * (len(values) - 1) + [256 ** (5 - len(values))]
    return all(v < lim for v, lim in zip(values, limits, strict=True))


def _is_host_name(text: str) -> bool:
    """Syntactically a host name (letters, digits, ``-``, dots; not all digits)."""
    labels = text.rstrip(".").split(".")
    if not text or any(not lab or lab[0] == "-" or lab[-1] == "-" for lab in labels):
        return False
    if all(lab.isdigit() for lab in labels):
        return False
    return all(c.isascii() and (c.isalnum() or c == "-") for lab in labels for c in lab)


def _smtp_helo_name(node: Node, fields: Fields, ctx: ParseContext) -> None:
    if node.args:
        fields["smtp_helo_name"] = node.args[0]


def _smtp_connect_timeout(node: Node, fields: Fields, ctx: ParseContext) -> None:
    text = _arg(node, ctx)
    hi = UINT32_MAX // TIMER_HZ
    value = read_unsigned_text(text, node, ctx, 0, hi)
    if value is None:
        _err(node, ctx, f"smtp_connect_timeout '{text}' must be in [0, {hi}] - ignoring")
        return
    if value == 0:
        _err(node, ctx, "smtp_conect_timeout must be greater than 0, setting to 1")
        value = 1
    fields["smtp_connect_timeout_s"] = value


def _notification_email(node: Node, fields: Fields, ctx: ParseContext) -> None:
    if node.args:
        _err(node, ctx, f"Block {node.keyword} has extra parameters {' '.join(node.args)} ...")
    emails = [w for child in node.children or () for w in child.words]
    if not emails:
        where = node.end_location or node.location
        ctx.diags.error("Warning - empty notification_email block", where)
        return
    fields["notification_email"] = (*fields.get("notification_email", ()), *emails)


def _mcast_group(version: int) -> Handler:
    def fn(node: Node, fields: Fields, ctx: ParseContext) -> None:
        text = _arg(node, ctx)
        try:
            addr = ipaddress.ip_address(text)
        except ValueError:
            addr = None
        if addr is None or addr.version != version:
            _err(node, ctx, f"Can't parse vrrp_mcast_group{version} [{text}]. Skipping")
            return
        fields[f"vrrp_mcast_group{version}"] = addr

    return _handler(fn)


def _vrrp_version(node: Node, fields: Fields, ctx: ParseContext) -> None:
    value = read_int_text(_arg(node, ctx), node, ctx, 2, 3)
    if value is None:
        _err(node, ctx, "VRRP Error: Version must be either 2 or 3")
        return
    fields["vrrp_version"] = value


def _repeat(name: str, message: str, zero: str | None) -> Handler:
    def fn(node: Node, fields: Fields, ctx: ParseContext) -> None:
        text = _arg(node, ctx)
        value = read_unsigned_text(text, node, ctx, 0, UINT32_MAX if zero else INT32_MAX)
        if value is None:
            _err(node, ctx, message.format(text))
            return
        if value == 0 and zero:
            _err(node, ctx, zero)
            value = 1
        fields[name] = value

    return _handler(fn)


def _vrrp_min_garp(node: Node, fields: Fields, ctx: ParseContext) -> None:
    if node.args:
        value = check_true_false(node.args[0])
        if value is None:
            _err(node, ctx, "Invalid value for vrrp_min_garp specified")
            return
        if not value:
            return
    # only values still at their default change
    if fields.get("vrrp_garp_master_repeat", 5) == 5:
        fields["vrrp_garp_master_repeat"] = 1
    if fields.get("vrrp_garp_master_refresh", 0) == 0:
        fields["vrrp_garp_master_refresh"] = 0
    if fields.get("vrrp_garp_master_refresh_repeat", 1) == 1:
        fields["vrrp_garp_master_refresh_repeat"] = 0
    if fields.get("vrrp_garp_master_delay", 5) == 5:
        fields["vrrp_garp_master_delay"] = 0


def _garp_extra_if(node: Node, fields: Fields, ctx: ParseContext) -> None:
    name = node.keyword
    if name == "vrrp_vmac_garp_intvl":
        _err(
            node,
            ctx,
            'Keyword "vrrp_vmac_garp_intvl" is deprecated - please use "vrrp_garp_extra_if"',
        )
    delay = 0
    all_if = False
    for text in node.args:
        if text == "all":
            all_if = True
            continue
        value = read_unsigned_text(text, node, ctx, 1, 86400)
        if value is None:
            _err(node, ctx, f"{name} '{text}' invalid - ignoring")
            if all_if:
                fields["vrrp_garp_extra_if_all"] = True
            return
        delay = value
    if all_if:
        fields["vrrp_garp_extra_if_all"] = True
    if not delay:
        _err(node, ctx, f"{name} specified without time - ignoring")
        return
    fields["vrrp_garp_extra_if"] = delay


def _down_timer_adverts(node: Node, fields: Fields, ctx: ParseContext) -> None:
    text = _arg(node, ctx)
    value = read_unsigned_text(text, node, ctx, 1, 100)
    if value is None:
        _err(node, ctx, f"Invalid vrrp_down_timer_adverts [1:100] '{text}'")
        return
    fields["vrrp_down_timer_adverts"] = value


def _rx_bufs_policy(node: Node, fields: Fields, ctx: ParseContext) -> None:
    if not node.args:
        _err(node, ctx, "vrrp_rx_bufs_policy missing")
        return
    policy: set[str] = set()
    if fields.get("vrrp_rx_bufs_policy"):
        policy.add(fields["vrrp_rx_bufs_policy"])
    size = fields.get("vrrp_rx_bufs_size")
    for text in node.args:
        if text.upper() in ("MTU", "ADVERT"):
            policy.add(text.upper())
            continue
        value = read_unsigned_text(node.args[0], node, ctx, 0, UINT32_MAX)  # keepalived reads arg 1
        if value is None:
            _err(node, ctx, f"Invalid vrrp_rx_bufs_policy {text}")
        else:
            size = value
    if size is not None and policy:
        _err(node, ctx, "Cannot set vrrp_rx_bufs_policy size and policy, ignoring policy")
        policy.clear()
    elif policy == {"MTU", "ADVERT"}:
        _err(node, ctx, "Cannot set both vrrp_rx_bufs_policy MTU and ADVERT, ignoring ADVERT")
        policy = {"MTU"}
    fields["vrrp_rx_bufs_policy"] = policy.pop() if policy else None
    fields["vrrp_rx_bufs_size"] = size


def _rx_bufs_multiplier(node: Node, fields: Fields, ctx: ParseContext) -> None:
    if len(node.args) != 1:
        _err(node, ctx, "Invalid vrrp_rx_bufs_multiplier")
        return
    value = read_unsigned_text(node.args[0], node, ctx, 1, UINT32_MAX)
    if value is None:
        _err(node, ctx, f"Invalid vrrp_rx_bufs_multiplier {node.args[0]}")
        return
    fields["vrrp_rx_bufs_multiplier"] = value


def _rcv_bufs(name: str) -> Handler:
    def fn(node: Node, fields: Fields, ctx: ParseContext) -> None:
        if not node.args:
            _err(node, ctx, f"{name} size missing")
            return
        value = read_unsigned_text(node.args[0], node, ctx, 0, UINT32_MAX)
        if value is None:
            _err(node, ctx, f"{name} size ({node.args[0]}) invalid")
            return
        if value:
            fields[name] = value

    return _handler(fn)


def _nftables(name: str, default: str, what: str) -> Handler:
    def fn(node: Node, fields: Fields, ctx: ParseContext) -> None:
        if fields.get(name) is not None:
            _err(node, ctx, f"{what} already specified - ignoring")
            return
        table = default
        if node.args:
            if len(node.args[0]) >= NFT_TABLE_MAXNAMELEN:
                _err(node, ctx, f"{what} table name too long - ignoring")
                return
            table = node.args[0]
        fields[name] = table
        fields[f"{name}_priority"] = -1
        if name == "nftables_ipvs":
            fields["nftables_ipvs_start_fwmark"] = DEFAULT_IPVS_START_FWMARK

    return _handler(fn)


def _nft_priority(name: str, what: str) -> Handler:
    def fn(node: Node, fields: Fields, ctx: ParseContext) -> None:
        text = _arg(node, ctx)
        value = read_int_text(text, node, ctx, INT32_MIN, INT32_MAX)
        if value is None:
            _err(node, ctx, f"invalid {what} chain priority '{text}'")
            return
        fields[name] = value

    return _handler(fn)


def _vrrp_iptables(node: Node, fields: Fields, ctx: ParseContext) -> None:
    _err(
        node,
        ctx,
        "iptables not supported, using nftables instead. Please replace 'vrrp_iptables and "
        "'vrrp_ipsets' with 'nftables' config option",
    )
    fields["nftables"] = DEFAULT_NFTABLES_TABLE
    fields["nftables_priority"] = -1


_SYNCD_OPTIONS: dict[str, tuple[int, int, str]] = {
    "maxlen": (1, 65535 - 20 - 8, "maxlen"),
    "port": (1, 65535, "port"),
    "ttl": (1, 255, "ttl"),
}


def _lvs_sync_daemon(node: Node, fields: Fields, ctx: ParseContext) -> None:
    old: LvsSyncDaemon | None = fields.get("lvs_sync_daemon")
    if old is not None:
        _err(
            node,
            ctx,
            f"lvs_sync_daemon has already been specified as {old.interface} "
            f"{old.vrrp_instance or ''} - ignoring",
        )
        return
    if not node.args:
        _err(node, ctx, "lvs_sync_daemon requires interface")
        return
    ifname = node.args[0]
    if len(ifname) >= IP_VS_IFNAME_MAXLEN:
        _err(node, ctx, f"lvs_sync_daemon interface name '{ifname}' too long - ignoring")
        return
    opts: dict[str, Any] = {}
    words = node.words
    i = 2
    while i < len(words):
        word = words[i]
        if word == "inst":
            inst = _arg(node, ctx, i)
            if "vrrp_instance" in opts:
                _err(
                    node,
                    ctx,
                    "lvs_sync_daemon vrrp instance has already been specified as "
                    f"{opts['vrrp_instance']} - ignoring",
                )
            else:
                opts["vrrp_instance"] = inst
            i += 2
            continue
        if word in ("id", *_SYNCD_OPTIONS, "group"):
            if i == len(words) - 1:
                tail = ", defaulting to vrid" if word == "id" else " - ignoring"
                _err(node, ctx, f"No value specified for lvs_sync_daemon {word}{tail}")
                i += 1
                continue
            text = words[i + 1]
            if word == "id":
                value = read_unsigned_text(text, node, ctx, 0, 255)
                if value is None:
                    _err(node, ctx, f"Invalid syncid ({text}) - defaulting to vrid")
                else:
                    opts["syncid"] = value
            elif word == "group":
                _syncd_group(text, node, ctx, opts)
            else:
                lo, hi, what = _SYNCD_OPTIONS[word]
                value = read_unsigned_text(text, node, ctx, lo, hi)
                if value is None:
                    _err(node, ctx, f"Invalid lvs_sync_daemon {what} ({text}) - ignoring")
                else:
                    opts[word] = value
            i += 2
            continue
        if i == 2:
            opts["vrrp_instance"] = word
        elif i == 3:
            value = read_unsigned_text(word, node, ctx, 0, 255)
            if value is None:
                _err(node, ctx, f"Invalid syncid ({word}) - defaulting to vrid")
            else:
                _err(node, ctx, 'Please use keyword "id" before lvs_sync_daemon SYNCID')
                opts["syncid"] = value
        else:
            _err(node, ctx, f"Unknown option {word} specified for lvs_sync_daemon")
        i += 1
    fields["lvs_sync_daemon"] = LvsSyncDaemon(interface=ifname, **opts)


def _syncd_group(text: str, node: Node, ctx: ParseContext, opts: dict[str, Any]) -> None:
    try:
        group = ipaddress.ip_address(text)
    except ValueError:
        _err(node, ctx, f"Invalid lvs_sync_daemon group ({text}) - ignoring")
        return
    if not group.is_multicast:
        _err(node, ctx, f"lvs_sync_daemon group address {text} is not multicast - ignoring")
        opts.pop("group", None)
        return
    opts["group"] = group


def _lvs_timeouts(node: Node, fields: Fields, ctx: ParseContext) -> None:
    if len(node.args) < 2:
        _err(node, ctx, "lvs_timeouts requires at least one option")
        return
    current: LvsTimeouts = fields.get("lvs_timeouts", LvsTimeouts())
    values = {"tcp": current.tcp_s, "tcpfin": current.tcpfin_s, "udp": current.udp_s}
    args = node.args
    i = 0
    while i < len(args):
        word = args[i]
        if word in values:
            if i == len(args) - 1:
                _err(node, ctx, f"No value specified for lvs_timeout {word} - ignoring")
                i += 1
                continue
            value = read_unsigned_text(args[i + 1], node, ctx, 0, LVS_MAX_TIMEOUT)
            if value is None:
                _err(node, ctx, f"Invalid lvs_timeout {word} ({args[i + 1]}) - ignoring")
            else:
                values[word] = value
            i += 2
            continue
        _err(node, ctx, f"Unknown option {word} specified for lvs_timeouts")
        i += 1
    fields["lvs_timeouts"] = LvsTimeouts(values["tcp"], values["tcpfin"], values["udp"])


def _lvs_flush_on_stop(node: Node, fields: Fields, ctx: ParseContext) -> None:
    if node.keyword == "lvs_flush_onstop":
        ctx.diags.info(
            "Keyword 'lvs_flush_onstop' is deprecated - please use 'lvs_flush_on_stop'",
            node.location,
        )
    if not node.args:
        fields["lvs_flush_on_stop"] = "full"
    elif node.args[0] == "VS":
        fields["lvs_flush_on_stop"] = "VS"
    else:
        _err(node, ctx, f"Unknown lvs_flush_on_stop type {node.args[0]}")


def _script_user(node: Node, fields: Fields, ctx: ParseContext) -> None:
    if not node.args:
        _err(node, ctx, "No script username specified")
        return
    fields["script_user"] = node.args[0]
    fields["script_group"] = node.args[1] if len(node.args) > 1 else None


def _fifo(name: str, prefix: str) -> Handler:
    def fn(node: Node, fields: Fields, ctx: ParseContext) -> None:
        fifo: NotifyFifo = fields.get(name, NotifyFifo())
        if not node.args:
            _err(node, ctx, f"No {prefix}notify_fifo name specified")
            return
        if fifo.path is not None:
            _err(node, ctx, f"{prefix}notify_fifo already specified - ignoring {node.args[0]}")
            return
        user = node.args[1] if len(node.args) > 1 else None
        group = node.args[2] if len(node.args) > 2 else None
        fields[name] = NotifyFifo(node.args[0], user, group, fifo.script)

    return _handler(fn)


def _fifo_script(name: str, prefix: str) -> Handler:
    def fn(node: Node, fields: Fields, ctx: ParseContext) -> None:
        fifo: NotifyFifo = fields.get(name, NotifyFifo())
        if not node.args:
            _err(node, ctx, f"No {prefix}notify_fifo_script specified")
            return
        if fifo.script is not None:
            _err(
                node,
                ctx,
                f"{prefix}notify_fifo_script already specified - ignoring {node.args[0]}",
            )
            return
        script = parse_script(node, ctx)
        if script is not None:
            fields[name] = NotifyFifo(fifo.path, fifo.user, fifo.group, script)

    return _handler(fn)


def _snmp_socket(node: Node, fields: Fields, ctx: ParseContext) -> None:
    if len(node.args) > 1:
        _err(node, ctx, "Too many parameters specified for snmp_socket - ignoring")
        return
    if not node.args:
        _err(node, ctx, "SNMP error : snmp socket name missing")
        return
    if len(node.args[0]) > 4095:
        _err(node, ctx, "SNMP error : snmp socket name too long - ignored")
        return
    if fields.get("snmp_socket") is not None:
        _err(node, ctx, f"SNMP socket already set to {fields['snmp_socket']} - ignoring")
        return
    fields["snmp_socket"] = node.args[0]


def _snmp_rfc(node: Node, fields: Fields, ctx: ParseContext) -> None:
    fields["enable_snmp_rfcv2"] = True
    fields["enable_snmp_rfcv3"] = True


# ----------------------------------------------------------------- root-level handlers


def _pid_dir_name(name: str) -> Setter:
    """``net_namespace``/``instance NAME``: set once; either one implies ``use_pid_dir``."""

    def fn(node: Node, fields: Fields, ctx: ParseContext) -> None:
        if not node.args:
            _err(node, ctx, f"{name} name missing - ignoring")
            return
        if fields.get(name) is not None:
            _err(node, ctx, f"Duplicate {name} definition {node.args[0]} - ignoring")
            return
        fields[name] = node.args[0]
        fields["use_pid_dir"] = True

    return fn


def _net_namespace_ipvs(node: Node, fields: Fields, ctx: ParseContext) -> None:
    if fields.get("net_namespace_ipvs") is not None:
        _err(node, ctx, f"Duplicate net_namespace_ipvs definition {_arg(node, ctx)} - ignoring")
        return
    fields["net_namespace_ipvs"] = node.args[0] if node.args else ""


def _child_wait_time(node: Node, fields: Fields, ctx: ParseContext) -> None:
    text = _arg(node, ctx)
    value = read_unsigned_text(text, node, ctx, 0, UINT32_MAX)
    if value is None:
        _err(node, ctx, f"Invalid child_wait_time {text}")
        return
    fields["child_wait_time_s"] = value


def _global_defs_block(node: Node, fields: Fields, ctx: ParseContext) -> None:
    if node.children is None:
        return
    fields.setdefault("location", node.location)
    GLOBAL_DEFS_KEYWORDS.dispatch(node, fields, ctx)


def _h(fn: Setter) -> Handler:
    return _handler(fn)


# =========================================================================== tables

_PROCESS_KEYWORDS = [
    Keyword("tmp_config_directory", _h(_tmp_config_directory)),
    Keyword("config_save_dir", string("config_save_dir")),
    Keyword("process_names", _h(_process_names)),
    Keyword("process_name", _process_name("process_name")),
    Keyword("vrrp_process_name", _process_name("vrrp_process_name")),
    Keyword("checker_process_name", _process_name("checker_process_name")),
    Keyword("lvs_process_name", _process_name("checker_process_name")),
    Keyword("bfd_process_name", _process_name("bfd_process_name")),
    Keyword("startup_script", _script("startup")),
    Keyword("startup_script_timeout", _script_timeout("startup")),
    Keyword("shutdown_script", _script("shutdown")),
    Keyword("shutdown_script_timeout", _script_timeout("shutdown")),
    Keyword("umask", _h(_umask)),
    Keyword("random_seed", unsigned("random_seed", 0, UINT32_MAX, "random_seed {} invalid")),
    Keyword("max_auto_priority", _h(_max_auto_priority)),
    Keyword("min_auto_priority_delay", _h(_min_auto_priority_delay)),
    Keyword("reload_check_config", _h(_reload_check_config)),
    Keyword("reload_time_file", _h(_reload_time_file)),
    Keyword("reload_repeat", set_value("reload_repeat")),
    Keyword("reload_file", _h(_reload_file)),
    Keyword("include_check", _h(_include_check)),
    Keyword(
        "data_use_instance",
        opt_bool(
            "data_use_instance", "Invalid value '{value}' for global date_use_instance specified"
        ),
    ),
    Keyword("dynamic_interfaces", _h(_dynamic_interfaces)),
    Keyword(
        "default_interface",
        string("default_interface", "default_interface requires interface name"),
    ),
]
for _proc in ("vrrp", "checker", "bfd"):
    _PROCESS_KEYWORDS += [
        Keyword(f"{_proc}_priority", _priority(_proc)),
        Keyword(f"{_proc}_no_swap", set_value(f"{_proc}_no_swap")),
        Keyword(f"{_proc}_rt_priority", _rt_priority(_proc)),
        Keyword(f"{_proc}_cpu_affinity", _cpu_affinity(_proc)),
        Keyword(f"{_proc}_rlimit_rttime", _rlimit(_proc)),
        Keyword(f"{_proc}_rlimit_rtime", _rlimit(_proc)),
    ]

_EMAIL_KEYWORDS = [
    Keyword("router_id", string("router_id", "routerid name missing - ignoring")),
    Keyword(
        "notification_email_from",
        string("notification_email_from", "emailfrom missing - ignoring"),
    ),
    Keyword("notification_email", _h(_notification_email)),
    Keyword("smtp_server", _h(_smtp_server)),
    Keyword("smtp_helo_name", _h(_smtp_helo_name)),
    Keyword("smtp_connect_timeout", _h(_smtp_connect_timeout)),
    Keyword("smtp_alert", global_bool("smtp_alert")),
    Keyword("smtp_alert_vrrp", global_bool("smtp_alert_vrrp")),
    Keyword("smtp_alert_checker", global_bool("smtp_alert_checker")),
    Keyword("no_email_faults", set_value("no_email_faults")),
    Keyword("no_checker_emails", global_bool("no_checker_emails")),
    Keyword(
        "checker_log_all_failures",
        opt_bool(
            "checker_log_all_failures", "Invalid value for checker_log_all_failures specified"
        ),
    ),
]

_VRRP_KEYWORDS = [
    Keyword("vrrp_mcast_group4", _mcast_group(4)),
    Keyword("vrrp_mcast_group6", _mcast_group(6)),
    Keyword("vrrp_version", _h(_vrrp_version)),
    Keyword(
        "vrrp_garp_master_delay",
        unsigned(
            "vrrp_garp_master_delay",
            0,
            UINT32_MAX // TIMER_HZ,
            "vrrp_garp_master_delay '{}' invalid - ignoring",
        ),
    ),
    Keyword(
        "vrrp_garp_master_repeat",
        _repeat(
            "vrrp_garp_master_repeat",
            "vrrp_garp_master_repeat '{}' invalid - ignoring",
            "vrrp_garp_master_repeat must be greater than 0, setting to 1",
        ),
    ),
    Keyword(
        "vrrp_garp_master_refresh",
        unsigned(
            "vrrp_garp_master_refresh",
            0,
            UINT32_MAX,
            "Invalid vrrp_garp_master_refresh '{}' - ignoring",
        ),
    ),
    Keyword(
        "vrrp_garp_master_refresh_repeat",
        _repeat(
            "vrrp_garp_master_refresh_repeat",
            "vrrp_garp_master_refresh_repeat '{}' invalid - ignoring",
            "vrrp_garp_master_refresh_repeat must be greater than 0, setting to 1",
        ),
    ),
    Keyword(
        "vrrp_garp_lower_prio_delay",
        unsigned(
            "vrrp_garp_lower_prio_delay",
            0,
            UINT32_MAX // TIMER_HZ,
            "vrrp_garp_lower_prio_delay '{}' invalid - ignoring",
        ),
    ),
    Keyword(
        "vrrp_garp_lower_prio_repeat",
        _repeat("vrrp_garp_lower_prio_repeat", "Invalid vrrp_garp_lower_prio_repeat '{}'", None),
    ),
    Keyword(
        "vrrp_garp_interval",
        decimal_s("vrrp_garp_interval", 1, UINT32_MAX, "vrrp_garp_interval '{}' is invalid"),
    ),
    Keyword(
        "vrrp_gna_interval",
        decimal_s("vrrp_gna_interval", 1, UINT32_MAX, "vrrp_gna_interval '{}' is invalid"),
    ),
    Keyword("vrrp_min_garp", _h(_vrrp_min_garp)),
    Keyword("vrrp_garp_extra_if", _h(_garp_extra_if)),
    Keyword("vrrp_vmac_garp_intvl", _h(_garp_extra_if)),
    Keyword("vrrp_down_timer_adverts", _h(_down_timer_adverts)),
    Keyword(
        "vrrp_lower_prio_no_advert",
        opt_bool(
            "vrrp_lower_prio_no_advert", "Invalid value for vrrp_lower_prio_no_advert specified"
        ),
    ),
    Keyword(
        "vrrp_higher_prio_send_advert",
        opt_bool(
            "vrrp_higher_prio_send_advert",
            "Invalid value for vrrp_higher_prio_send_advert specified",
        ),
    ),
    Keyword("vrrp_strict", set_value("vrrp_strict")),
    Keyword("vrrp_check_unicast_src", set_value("vrrp_check_unicast_src")),
    Keyword("vrrp_skip_check_adv_addr", set_value("vrrp_skip_check_adv_addr")),
    Keyword("vrrp_notify_priority_changes", global_bool("vrrp_notify_priority_changes")),
    Keyword(
        "vrrp_startup_delay",
        decimal_s("vrrp_startup_delay", 1000, UINT32_MAX, "vrrp_startup_delay '{}' is invalid"),
    ),
    Keyword("log_unknown_vrids", set_value("log_unknown_vrids")),
    Keyword(
        "vmac_prefix",
        string("vmac_prefix", once="vmac prefix has already been specified - ignoring {}"),
    ),
    Keyword(
        "vmac_addr_prefix",
        string(
            "vmac_addr_prefix", once="vmac_addr prefix has already been specified - ignoring {}"
        ),
    ),
    Keyword("vrrp_rx_bufs_policy", _h(_rx_bufs_policy)),
    Keyword("vrrp_rx_bufs_multiplier", _h(_rx_bufs_multiplier)),
    Keyword("disable_local_igmp", set_value("disable_local_igmp")),
    Keyword("fifo_write_vrrp_states_on_reload", set_value("fifo_write_vrrp_states_on_reload")),
]
for _nl in ("vrrp_netlink_cmd", "vrrp_netlink_monitor", "lvs_netlink_cmd",
            "lvs_netlink_monitor", "process_monitor"):  # fmt: skip
    _VRRP_KEYWORDS += [
        Keyword(f"{_nl}_rcv_bufs", _rcv_bufs(f"{_nl}_rcv_bufs")),
        Keyword(f"{_nl}_rcv_bufs_force", global_bool(f"{_nl}_rcv_bufs_force")),
    ]

_FIREWALL_KEYWORDS = [
    Keyword("nftables", _nftables("nftables", DEFAULT_NFTABLES_TABLE, "nftables")),
    Keyword("nftables_priority", _nft_priority("nftables_priority", "nftables")),
    Keyword("nftables_counters", set_value("nftables_counters")),
    Keyword("nftables_ifindex", set_value("nftables_ifindex")),
    Keyword(
        "nftables_ipvs", _nftables("nftables_ipvs", DEFAULT_NFTABLES_IPVS_TABLE, "ipvs nftables")
    ),
    Keyword("nftables_ipvs_priority", _nft_priority("nftables_ipvs_priority", "ipvs nftables")),
    Keyword(
        "nftables_ipvs_start_fwmark",
        unsigned(
            "nftables_ipvs_start_fwmark",
            1,
            UINT32_MAX,
            "invalid ipvs nftables start_fwmark priority '{}'",
        ),
    ),
    Keyword("vrrp_iptables", _h(_vrrp_iptables)),
]

_LVS_KEYWORDS = [
    Keyword("lvs_sync_daemon", _h(_lvs_sync_daemon)),
    Keyword("lvs_timeouts", _h(_lvs_timeouts)),
    Keyword("lvs_flush", set_value("lvs_flush")),
    Keyword("lvs_flush_on_stop", _h(_lvs_flush_on_stop)),
    Keyword("lvs_flush_onstop", _h(_lvs_flush_on_stop)),
    Keyword("rs_init_notifies", global_bool("rs_init_notifies")),
]

_SCRIPT_KEYWORDS = [
    Keyword("script_user", _h(_script_user)),
    Keyword("enable_script_security", set_value("enable_script_security")),
]
for _prefix in ("", "vrrp_", "lvs_"):
    _SCRIPT_KEYWORDS += [
        Keyword(f"{_prefix}notify_fifo", _fifo(f"{_prefix}notify_fifo", _prefix)),
        Keyword(f"{_prefix}notify_fifo_script", _fifo_script(f"{_prefix}notify_fifo", _prefix)),
    ]

_SNMP_KEYWORDS = [
    Keyword("snmp_socket", _h(_snmp_socket)),
    Keyword("enable_snmp_vrrp", set_value("enable_snmp_vrrp")),
    Keyword("enable_snmp_keepalived", set_value("enable_snmp_vrrp")),  # deprecated since 2.0.0
    Keyword("enable_snmp_checker", set_value("enable_snmp_checker")),
    Keyword("enable_snmp_rfc", _h(_snmp_rfc)),
    Keyword("enable_snmp_rfcv2", set_value("enable_snmp_rfcv2")),
    Keyword("enable_snmp_rfcv3", set_value("enable_snmp_rfcv3")),
    Keyword("enable_traps", set_value("enable_traps")),
    Keyword("enable_dbus", set_value("enable_dbus")),
    Keyword(
        "dbus_service_name", string("dbus_service_name", "dbus_service_name missing - ignoring")
    ),
]

GLOBAL_DEFS_KEYWORDS = KeywordTable(
    "global_defs",
    _PROCESS_KEYWORDS
    + _EMAIL_KEYWORDS
    + _VRRP_KEYWORDS
    + _FIREWALL_KEYWORDS
    + _LVS_KEYWORDS
    + _SCRIPT_KEYWORDS
    + _SNMP_KEYWORDS,
)

ROOT_KEYWORDS = KeywordTable(
    "root",
    [
        Keyword("global_defs", _h(_global_defs_block)),
        Keyword("net_namespace", _h(_pid_dir_name("net_namespace"))),
        Keyword("net_namespace_ipvs", _h(_net_namespace_ipvs)),
        Keyword("namespace_with_ipsets", set_value("namespace_with_ipsets")),
        Keyword("instance", _h(_pid_dir_name("instance"))),
        Keyword("use_pid_dir", set_value("use_pid_dir")),
        Keyword("linkbeat_use_polling", set_value("linkbeat_use_polling")),
        Keyword("child_wait_time", _h(_child_wait_time)),
    ],
)

_MODEL_FIELDS = frozenset(f.name for f in dc_fields(GlobalDefs))


def finish(fields: Fields, ctx: ParseContext) -> GlobalDefs:
    """The model from the collected fields (keys that are not model fields are ignored)."""
    return GlobalDefs(**{k: v for k, v in fields.items() if k in _MODEL_FIELDS})


# =========================================================================== render

_DEFAULTS = GlobalDefs()


def _bool_word(value: bool) -> str:
    return "true" if value else "false"


def _fmt_seconds(value_s: float) -> str:
    text = f"{value_s:.6f}".rstrip("0").rstrip(".")
    return text or "0"


def _changed(defs: GlobalDefs, name: str) -> bool:
    return bool(getattr(defs, name) != getattr(_DEFAULTS, name))


def render_root(defs: GlobalDefs) -> list[str]:
    """The root-level keywords (before ``global_defs``)."""
    lines: list[str] = []
    if defs.net_namespace is not None:
        lines.append(f"net_namespace {quote_word(defs.net_namespace)}")
    if defs.net_namespace_ipvs is not None:
        ns = defs.net_namespace_ipvs
        lines.append(f"net_namespace_ipvs {quote_word(ns)}" if ns else "net_namespace_ipvs")
    if defs.namespace_with_ipsets:
        lines.append("namespace_with_ipsets")
    if defs.instance is not None:
        lines.append(f"instance {quote_word(defs.instance)}")
    implied = defs.net_namespace is not None or defs.instance is not None
    if defs.use_pid_dir and not implied:
        lines.append("use_pid_dir")
    if defs.linkbeat_use_polling:
        lines.append("linkbeat_use_polling")
    if _changed(defs, "child_wait_time_s"):
        lines.append(f"child_wait_time {defs.child_wait_time_s}")
    return lines


_FLAGS = (
    "reload_repeat", "dynamic_interfaces", "no_email_faults", "vrrp_strict",
    "vrrp_check_unicast_src", "vrrp_skip_check_adv_addr", "log_unknown_vrids",
    "disable_local_igmp", "fifo_write_vrrp_states_on_reload", "nftables_counters",
    "nftables_ifindex", "lvs_flush", "enable_script_security", "enable_snmp_vrrp",
    "enable_snmp_checker", "enable_snmp_rfcv2", "enable_snmp_rfcv3", "enable_traps",
    "enable_dbus", "vrrp_no_swap", "checker_no_swap", "bfd_no_swap",
)  # fmt: skip
_BOOLS = (
    "data_use_instance", "smtp_alert", "smtp_alert_vrrp", "smtp_alert_checker",
    "no_checker_emails", "checker_log_all_failures", "vrrp_lower_prio_no_advert",
    "vrrp_higher_prio_send_advert", "vrrp_notify_priority_changes", "rs_init_notifies",
    "vrrp_netlink_cmd_rcv_bufs_force", "vrrp_netlink_monitor_rcv_bufs_force",
    "lvs_netlink_cmd_rcv_bufs_force", "lvs_netlink_monitor_rcv_bufs_force",
    "process_monitor_rcv_bufs_force",
)  # fmt: skip
_STRINGS = (
    "config_save_dir", "process_name", "vrrp_process_name", "checker_process_name",
    "bfd_process_name", "reload_time_file", "default_interface", "router_id",
    "notification_email_from", "smtp_helo_name", "vmac_prefix", "vmac_addr_prefix",
    "snmp_socket", "dbus_service_name", "tmp_config_directory",
)  # fmt: skip
_NUMBERS = {
    "startup_script_timeout_s": "startup_script_timeout",
    "shutdown_script_timeout_s": "shutdown_script_timeout",
    "random_seed": "random_seed",
    "max_auto_priority": "max_auto_priority",
    "min_auto_priority_delay_us": "min_auto_priority_delay",
    "vrrp_process_priority": "vrrp_priority",
    "checker_process_priority": "checker_priority",
    "bfd_process_priority": "bfd_priority",
    "vrrp_realtime_priority": "vrrp_rt_priority",
    "checker_realtime_priority": "checker_rt_priority",
    "bfd_realtime_priority": "bfd_rt_priority",
    "vrrp_rlimit_rttime_us": "vrrp_rlimit_rttime",
    "checker_rlimit_rttime_us": "checker_rlimit_rttime",
    "bfd_rlimit_rttime_us": "bfd_rlimit_rttime",
    "smtp_connect_timeout_s": "smtp_connect_timeout",
    "vrrp_version": "vrrp_version",
    "vrrp_garp_master_delay": "vrrp_garp_master_delay",
    "vrrp_garp_master_repeat": "vrrp_garp_master_repeat",
    "vrrp_garp_master_refresh": "vrrp_garp_master_refresh",
    "vrrp_garp_master_refresh_repeat": "vrrp_garp_master_refresh_repeat",
    "vrrp_garp_lower_prio_delay": "vrrp_garp_lower_prio_delay",
    "vrrp_garp_lower_prio_repeat": "vrrp_garp_lower_prio_repeat",
    "vrrp_down_timer_adverts": "vrrp_down_timer_adverts",
    "vrrp_rx_bufs_multiplier": "vrrp_rx_bufs_multiplier",
    "vrrp_netlink_cmd_rcv_bufs": "vrrp_netlink_cmd_rcv_bufs",
    "vrrp_netlink_monitor_rcv_bufs": "vrrp_netlink_monitor_rcv_bufs",
    "lvs_netlink_cmd_rcv_bufs": "lvs_netlink_cmd_rcv_bufs",
    "lvs_netlink_monitor_rcv_bufs": "lvs_netlink_monitor_rcv_bufs",
    "process_monitor_rcv_bufs": "process_monitor_rcv_bufs",
}


def _render_body(defs: GlobalDefs) -> list[str]:
    out: list[str] = []
    for name in _STRINGS:
        value = getattr(defs, name)
        if value is not None and _changed(defs, name):
            out.append(f"{name} {quote_word(value)}")
    if defs.notification_email:
        out += ["notification_email {", *(f"    {quote_word(e)}" for e in defs.notification_email)]
        out.append("}")
    if defs.smtp_server is not None:
        srv = defs.smtp_server
        out.append(f"smtp_server {srv.host} {srv.port}")
    for name, kw in (("startup_script", "startup"), ("shutdown_script", "shutdown")):
        script: Script | None = getattr(defs, name)
        if script is not None:
            out.append(f"{kw}_script {script.render_args()}")
    for name, kw in _NUMBERS.items():
        value = getattr(defs, name)
        if value is not None and _changed(defs, name):
            out.append(f"{kw} {value}")
    for name in _FLAGS:
        if getattr(defs, name):
            out.append(name)
    for name in _BOOLS:
        value = getattr(defs, name)
        if value is not None and _changed(defs, name):
            out.append(f"{name} {_bool_word(value)}")
    if defs.dynamic_interfaces_allow_if_changes:
        out = [line for line in out if line != "dynamic_interfaces"]
        out.append("dynamic_interfaces allow_if_changes")
    if defs.umask != _DEFAULTS.umask:
        out.append(f"umask 0{defs.umask:o}")
    if defs.reload_check_config is not None:
        out.append(f"reload_check_config {quote_word(defs.reload_check_config)}")
    if defs.reload_file is not None:
        out.append(
            f"reload_file {quote_word(defs.reload_file)}" if defs.reload_file else "reload_file"
        )
    if defs.include_check is not None:
        out.append(" ".join(["include_check", *defs.include_check]))
    for proc in ("vrrp", "checker", "bfd"):
        cpus = getattr(defs, f"{proc}_cpu_affinity")
        if cpus:
            out.append(" ".join([f"{proc}_cpu_affinity", *map(str, cpus)]))
    for version in (4, 6):
        name = f"vrrp_mcast_group{version}"
        if _changed(defs, name):
            out.append(f"{name} {getattr(defs, name)}")
    for name in ("vrrp_garp_interval", "vrrp_gna_interval", "vrrp_startup_delay"):
        if _changed(defs, name):
            out.append(f"{name} {_fmt_seconds(getattr(defs, name))}")
    if defs.vrrp_garp_extra_if:
        all_word = ["all"] if defs.vrrp_garp_extra_if_all else []
        out.append(" ".join(["vrrp_garp_extra_if", *all_word, str(defs.vrrp_garp_extra_if)]))
    if defs.vrrp_rx_bufs_policy is not None:
        out.append(f"vrrp_rx_bufs_policy {defs.vrrp_rx_bufs_policy}")
    elif defs.vrrp_rx_bufs_size is not None:
        out.append(f"vrrp_rx_bufs_policy {defs.vrrp_rx_bufs_size}")
    for name in ("nftables", "nftables_ipvs"):
        table = getattr(defs, name)
        if table is not None:
            out.append(f"{name} {quote_word(table)}")
            priority = getattr(defs, f"{name}_priority")
            if priority != -1:
                out.append(f"{name}_priority {priority}")
    if _changed(defs, "nftables_ipvs_start_fwmark"):  # after nftables_ipvs, which resets it
        out.append(f"nftables_ipvs_start_fwmark {defs.nftables_ipvs_start_fwmark}")
    out += _render_lvs(defs)
    if defs.script_user is not None:
        group = f" {quote_word(defs.script_group)}" if defs.script_group else ""
        out.append(f"script_user {quote_word(defs.script_user)}{group}")
    for prefix in ("", "vrrp_", "lvs_"):
        fifo: NotifyFifo = getattr(defs, f"{prefix}notify_fifo")
        if fifo.path is not None:
            who = [quote_word(w) for w in (fifo.user, fifo.group) if w is not None]
            out.append(" ".join([f"{prefix}notify_fifo", quote_word(fifo.path), *who]))
        if fifo.script is not None:
            out.append(f"{prefix}notify_fifo_script {fifo.script.render_args()}")
    return out


def _render_lvs(defs: GlobalDefs) -> list[str]:
    out: list[str] = []
    syncd = defs.lvs_sync_daemon
    if syncd is not None:
        words = ["lvs_sync_daemon", syncd.interface]
        if syncd.vrrp_instance is not None:
            words += ["inst", syncd.vrrp_instance]
        for name in ("syncid", "maxlen", "port", "ttl", "group"):
            value = getattr(syncd, name)
            if value is not None:
                words += ["id" if name == "syncid" else name, str(value)]
        out.append(" ".join(words))
    t = defs.lvs_timeouts
    parts = [f"{k} {v}" for k, v in (("tcp", t.tcp_s), ("tcpfin", t.tcpfin_s), ("udp", t.udp_s))
             if v is not None]  # fmt: skip
    if parts:
        out.append("lvs_timeouts " + " ".join(parts))
    if defs.lvs_flush_on_stop is not None:
        vs = " VS" if defs.lvs_flush_on_stop == "VS" else ""
        out.append(f"lvs_flush_on_stop{vs}")
    return out


def render(defs: GlobalDefs) -> list[str]:
    """Root keywords and a ``global_defs`` block holding only non-default values."""
    lines = render_root(defs)
    body = _render_body(defs)
    if body:
        lines.append("global_defs {")
        lines += [f"    {line}" for line in body]
        lines.append("}")
    return lines


SUBSYSTEM = Subsystem(name="global", root_keywords=ROOT_KEYWORDS, finish=finish, render=render)
