"""Keyword tables of the health checker blocks of a ``real_server`` (keepalived 2.2.7).

``TCP_CHECK``, ``HTTP_GET``, ``SSL_GET`` (with ``url { }``), ``MISC_CHECK``, ``SMTP_CHECK``
(with the deprecated ``host { }``), ``DNS_CHECK``, ``UDP_CHECK``, ``PING_CHECK``,
``FILE_CHECK`` and ``BFD_CHECK``, read into plain ``Fields`` dicts while the file is read;
`resolve_checker` turns one into its frozen model once the real server and virtual server are
known (keepalived's ``validate_check_config()`` defaults), and `render_checker` writes it back,
leaving out what would be inherited anyway.

Also here: the timer/address/hex helpers the LVS keywords share (the number readers with
2.2.7's exact messages, and the handler factories built on them, are in `base`).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable
from typing import Any

from pykeepalived.config.errors import Location
from pykeepalived.config.keywords.base import (
    INT32_MAX,
    TIMER_HZ,
    TIMER_MAX_US,
    UINT32_MAX,
    Fields,
    Handler,
    Keyword,
    KeywordTable,
    ParseContext,
    number,
    opt_bool,
    read_int_strvec,
    report_quote_error,
    require_args,
    timer_arg,
    unsigned_arg,
)
from pykeepalived.config.model.checkers import (
    DNS_DEFAULT_NAME,
    HTTP_DEFAULT_STATUS_CODES,
    HTTP_STATUS_CODE_MAX,
    HTTP_STATUS_CODE_MIN,
    SMTP_DEFAULT_HELO,
    UDP_DEFAULT_MAX_REPLY_LENGTH,
    BfdCheck,
    Checker,
    CheckerCommon,
    CheckerType,
    ConnOpts,
    DnsCheck,
    DnsType,
    FileCheck,
    HttpCheckBase,
    HttpGetCheck,
    HttpProtocol,
    HttpUrl,
    IPAddress,
    MiscCheck,
    PingCheck,
    SmtpCheck,
    SslGetCheck,
    TcpCheck,
    UdpCheck,
)
from pykeepalived.config.model.common import QuoteError, Script, quote_word, split_quoted_escaped
from pykeepalived.config.tree import Node

# =========================================================================== number readers
#
# The readers with keepalived's messages (and `number`, `opt_bool`, ...) are in `base`;
# timers are kept in microseconds while reading and in float seconds in the model.

UINT_MAX = UINT32_MAX
INT_MAX = INT32_MAX
IFNAMSIZ = 16
IPVS_WEIGHT_LIMIT = 2147483647
BFD_INAME_MAX = 32


def seconds_to_us(value_s: float) -> int:
    return round(value_s * TIMER_HZ)


def us_to_seconds(value_us: int) -> float:
    return value_us / TIMER_HZ


def format_timer(value_s: float) -> str:
    """Seconds as the shortest text that reads back to the same microseconds."""
    whole, frac = divmod(seconds_to_us(value_s), TIMER_HZ)
    if not frac:
        return str(whole)
    return f"{whole}.{frac:06d}".rstrip("0")


# =========================================================================== text helpers


@functools.lru_cache(maxsize=4096)
def parse_ip(text: str) -> IPAddress | None:
    """An IPv4/IPv6 address as ``inet_stosockaddr()`` takes it (``[v6]`` allowed).

    Cached: a config names the same few addresses again and again (a real server in many
    virtual servers, ``connect_ip``s), and the address objects are immutable."""
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


_PROTO_NAMES = {6: "tcp", 17: "udp", 132: "sctp"}


def fmt_trio(address: IPAddress, protocol: int | None, port: int) -> str:
    """keepalived's ``inet_sockaddrtotrio()``: ``[192.0.2.1]:tcp:80``."""
    proto = _PROTO_NAMES.get(protocol or 0, "none")
    return f"[{address}]:{proto}:{port}"


def end_location(node: Node) -> Location:
    """Where keepalived reports an end-of-block problem: the closing brace."""
    return node.end_location if node.end_location is not None else node.location


def words_of_raw(node: Node, ctx: ParseContext) -> list[str] | None:
    """The words after the keyword, re-split with quotes and escapes as keepalived does for
    scripts and regexes (``None`` with nothing to split or a bad quote)."""
    raw = node.raw if node.raw else " ".join(quote_word(a) for a in node.args)
    try:
        words = split_quoted_escaped(raw)
    except QuoteError as err:
        report_quote_error(err, node, ctx)
        return None
    return words or None


def script_from_node(node: Node, ctx: ParseContext) -> Script | None:
    """A notify/quorum script line: ``keyword "CMD ARGS" [USER [GROUP]]``."""
    raw = node.raw if node.raw else " ".join(quote_word(a) for a in node.args)
    try:
        words = split_quoted_escaped(raw)
    except QuoteError as err:
        report_quote_error(err, node, ctx)
        ctx.diags.warning("Unable to parse notify script", node.location)
        return None
    if not words:
        require_args(node, 1, ctx)
        return None
    try:
        argv = split_quoted_escaped(words[0])
    except QuoteError as err:
        report_quote_error(err, node, ctx)
        return None
    if not argv:
        ctx.diags.warning(f"Unable to parse script '{words[0]}' - ignoring", node.location)
        return None
    user = words[1] if len(words) > 1 else None
    group = words[2] if len(words) > 2 else None
    return Script(tuple(argv), user, group, words[0])


def parse_hex_string(text: str, allow_wildcard: bool) -> tuple[bytes, bytes | None] | None:
    """keepalived's ``read_hex_str()``: hex octets, spaces between groups allowed, a lone digit
    is one octet; with ``allow_wildcard`` an ``x`` is a wildcard nibble (mask nibble 0xf).
    Returns (data, mask or None) or ``None`` if invalid or empty."""
    data = bytearray()
    mask = bytearray()
    using_mask = False
    i = 0
    n = len(text)

    def nibble(ch: str) -> int | None:
        if ch in "0123456789abcdefABCDEF":
            return int(ch, 16)
        if allow_wildcard and ch in "xX":
            return -1
        return None

    while True:
        while i < n and text[i] in " \t":
            i += 1
        if i >= n:
            break
        hi = nibble(text[i])
        i += 1
        if hi is None:
            return None
        value, mask_val = (0, 0x0F) if hi < 0 else (hi, 0)
        using_mask = using_mask or hi < 0
        if i < n and text[i] != " ":
            lo = nibble(text[i])
            i += 1
            if lo is None:
                return None
            value <<= 4
            mask_val <<= 4
            if lo < 0:
                mask_val |= 0x0F
                using_mask = True
            else:
                value |= lo
        data.append(value)
        mask.append(mask_val)
    if not data:
        return None
    return bytes(data), (bytes(mask) if using_mask else None)


def render_hex(data: bytes, mask: bytes | None = None) -> str:
    """Hex text that `parse_hex_string` reads back to ``data``/``mask``."""
    out: list[str] = []
    for idx, octet in enumerate(data):
        m = mask[idx] if mask is not None else 0
        hi = "x" if m & 0xF0 else f"{octet >> 4:x}"
        lo = "x" if m & 0x0F else f"{octet & 0xF:x}"
        out.append(hi + lo)
    return "".join(out)


# =========================================================================== checker blocks

CheckerFields = Fields

# defaults keepalived sets per checker type: (retry, delay_before_retry in us; 0 = delay_loop)
TYPE_DEFAULTS: dict[CheckerType, tuple[int, int]] = {
    CheckerType.TCP: (1, 1 * TIMER_HZ),
    CheckerType.HTTP: (1, 3 * TIMER_HZ),
    CheckerType.SSL: (1, 3 * TIMER_HZ),
    CheckerType.MISC: (0, 1 * TIMER_HZ),
    CheckerType.SMTP: (1, 1 * TIMER_HZ),
    CheckerType.DNS: (3, 0),
    CheckerType.UDP: (1, 1 * TIMER_HZ),
    CheckerType.PING: (1, 1 * TIMER_HZ),
}

_NETWORK_TYPES = frozenset(
    {
        CheckerType.TCP,
        CheckerType.HTTP,
        CheckerType.SSL,
        CheckerType.SMTP,
        CheckerType.DNS,
        CheckerType.UDP,
        CheckerType.PING,
    }
)


def _vs_of(rs: Fields) -> Fields:
    vs: Fields = rs["_vs"]
    return vs


def fmt_rs_fields(rs: Fields) -> str:
    """FMT_RS of a real server still being read (the VS protocol known so far)."""
    return fmt_trio(rs["address"], _vs_of(rs).get("protocol"), rs.get("port", 0))


# --------------------------------------------------------------------------- common keywords


def _conn(ch: CheckerFields) -> Fields:
    conn: Fields = ch["conn"]
    return conn


def _in_conn(handler: Handler) -> Handler:
    """``handler`` applied to the checker's connection options instead of the checker."""
    return lambda node, ch, ctx: handler(node, _conn(ch), ctx)


def _conn_address(key: str, other: str) -> Handler:
    """``connect_ip``/``bindto ADDRESS``: it must be of the family of the ``other`` one."""

    def handler(node: Node, conn: Fields, ctx: ParseContext) -> None:
        if not require_args(node, 1, ctx):
            return
        addr = parse_ip(node.args[0])
        if addr is None:
            ctx.diags.error(f"Invalid {key} address {node.args[0]} - ignoring", node.location)
            return
        given = conn.get(other)
        if given is not None and given.version != addr.version:
            ctx.diags.error(
                f"{key} address {node.args[0]} does not match address family of {other} - skipping",
                node.location,
            )
            conn.pop(key, None)
            return
        conn[key] = addr

    return _in_conn(handler)


def _port(key: str) -> Handler:
    return _in_conn(number(key, unsigned_arg(1, 65535), f"Invalid checker {key} '{{value}}'"))


def _h_bind_if(node: Node, ch: CheckerFields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    if len(node.args[0]) > IFNAMSIZ - 1:
        ctx.diags.error(f"Interface name {node.args[0]} is too long - ignoring", node.location)
        return
    _conn(ch)["bind_if"] = node.args[0]


def _conn_keywords() -> list[Keyword]:
    return [
        Keyword("connect_ip", _conn_address("connect_ip", "bindto")),
        Keyword("connect_port", _port("connect_port")),
        Keyword("bindto", _conn_address("bindto", "connect_ip")),
        Keyword("bind_port", _port("bind_port")),
        Keyword("bind_if", _h_bind_if),
        Keyword(
            "connect_timeout",
            _in_conn(
                number(
                    "connect_timeout_us",
                    timer_arg(1, UINT_MAX),
                    "connect_timeout {value} invalid - ignoring",
                )
            ),
        ),
        Keyword(
            "fwmark",
            _in_conn(
                number(
                    "fwmark", unsigned_arg(0, UINT_MAX), "Invalid fwmark connection value '{value}'"
                )
            ),
        ),
    ]


def _common_keywords() -> list[Keyword]:
    return [
        Keyword(
            "retry",
            number("retry", unsigned_arg(0, UINT_MAX), "Invalid retry connection value '{value}'"),
        ),
        Keyword(
            "delay_before_retry",
            number(
                "delay_before_retry_us",
                timer_arg(0),
                "Invalid delay_before_retry connection value '{value}'",
            ),
        ),
        Keyword(
            "warmup", number("warmup_us", timer_arg(0), "Invalid warmup connection value '{value}'")
        ),
        Keyword(
            "delay_loop",
            number("delay_loop_us", timer_arg(1), "delay_loop '{value}' is invalid - ignoring"),
        ),
        Keyword("alpha", opt_bool("alpha", "Invalid alpha parameter {value}")),
        Keyword(
            "log_all_failures",
            opt_bool("log_all_failures", "Invalid log_all_failures parameter {value}"),
        ),
    ]


def _check_conn_opts(ch: CheckerFields, rs: Fields, ctx: ParseContext, where: Location) -> bool:
    """``check_conn_opts()``: a link-local IPv6 target needs ``bind_if``."""
    conn = _conn(ch)
    dst = conn.get("connect_ip", rs["address"])
    if isinstance(dst, ipaddress.IPv6Address) and dst.is_link_local and not conn.get("bind_if"):
        ctx.diags.error(f"Checker link local address {dst} requires a bind_if", where)
        return False
    return True


# --------------------------------------------------------------------------- HTTP_GET / SSL_GET


_nb_get_retry = number("retry", unsigned_arg(0, UINT_MAX), "Invalid nb_get_retry value '{value}'")


def _h_nb_get_retry(node: Node, ch: CheckerFields, ctx: ParseContext) -> None:
    ctx.diags.error("nb_get_retry is deprecated - please use 'retry'", node.location)
    _nb_get_retry(node, ch, ctx)


def _h_http_virtualhost(node: Node, ch: CheckerFields, ctx: ParseContext) -> None:
    if not node.args:
        ctx.diags.error("HTTP_GET virtualhost name missing", node.location)
        return
    ch["virtualhost"] = node.args[0]


def _h_http_protocol(node: Node, ch: CheckerFields, ctx: ParseContext) -> None:
    if not node.args:
        ctx.diags.error("Missing http_protocol version", node.location)
        return
    text = node.args[0]
    proto = {"1.0": HttpProtocol.HTTP_1_0, "1.1": HttpProtocol.HTTP_1_1}.get(text)
    if text in ("1.0C", "1.0c"):
        proto = HttpProtocol.HTTP_1_0C
    if proto is None:
        ctx.diags.error(f"Invalid http_protocol version {text}", node.location)
        return
    ch["http_protocol"] = proto


def _url(ch: CheckerFields) -> Fields:
    url: Fields = ch["urls"][-1]
    return url


def _h_url_path(node: Node, ch: CheckerFields, ctx: ParseContext) -> None:
    if require_args(node, 1, ctx):
        _url(ch)["path"] = node.args[0]


def _h_url_digest(node: Node, ch: CheckerFields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    url = _url(ch)
    digest = node.args[0]
    if url.get("digest") is not None:
        ctx.diags.error(f"Digest '{digest}' is a duplicate", node.location)
        return
    if len(digest) != 32:
        ctx.diags.error(
            f"digest '{digest}' character length should be 32 rather than {len(digest)}",
            node.location,
        )
        return
    for i in range(15, -1, -1):
        pair = digest[2 * i : 2 * i + 2]
        if not all(c in "0123456789abcdefABCDEF" for c in pair):
            ctx.diags.error(
                f"Unable to interpret hex digit in '{digest[: 2 * i + 2]}' at offset "
                f"{2 * i}/{2 * i + 1}",
                node.location,
            )
            return
    url["digest"] = digest.lower()


_STATUS_RE = re.compile(r"(\d+)(?:-(\d+))?")


def _h_url_status_code(node: Node, ch: CheckerFields, ctx: ParseContext) -> None:
    codes: set[int] = _url(ch).setdefault("status_codes", set())
    for text in node.args:
        match = _STATUS_RE.fullmatch(text)
        lo = hi = -1
        if match:
            lo = int(match.group(1))
            hi = int(match.group(2)) if match.group(2) is not None else lo
        if not (
            match
            and HTTP_STATUS_CODE_MIN <= lo <= HTTP_STATUS_CODE_MAX
            and HTTP_STATUS_CODE_MIN <= hi <= HTTP_STATUS_CODE_MAX
            and lo <= hi
        ):
            ctx.diags.error(f"Invalid HTTP_GET status code '{text}'", node.location)
            continue
        codes.update(range(lo, hi + 1))


def _h_url_virtualhost(node: Node, ch: CheckerFields, ctx: ParseContext) -> None:
    if not node.args:
        ctx.diags.error("Missing HTTP_GET virtualhost name", node.location)
        return
    _url(ch)["virtualhost"] = node.args[0]


def _h_url_regex(node: Node, ch: CheckerFields, ctx: ParseContext) -> None:
    words = words_of_raw(node, ctx)
    if words is None or len(words) != 1:
        ctx.diags.warning("regex missing or too many fields", node.location)
        return
    _url(ch)["regex"] = words[0]


def _h_url_regex_no_match(node: Node, ch: CheckerFields, ctx: ParseContext) -> None:
    _url(ch)["regex_no_match"] = True


# PCRE2 option names keepalived accepts in regex_options, in its table order
REGEX_OPTIONS: tuple[str, ...] = (
    "allow_empty_class",
    "alt_bsux",
    "auto_callout",
    "caseless",
    "dollar_endonly",
    "dotall",
    "dupnames",
    "extended",
    "firstline",
    "match_unset_backref",
    "multiline",
    "never_ucp",
    "never_utf",
    "no_auto_capture",
    "no_auto_possess",
    "no_dotstar_anchor",
    "no_start_optimize",
    "ucp",
    "ungreedy",
    "utf",
    "never_backslash_c",
    "alt_circumflex",
    "alt_verbnames",
    "use_offset_limit",
)


def _h_url_regex_options(node: Node, ch: CheckerFields, ctx: ParseContext) -> None:
    options: set[str] = _url(ch).setdefault("regex_options", set())
    options.update(a for a in node.args if a in REGEX_OPTIONS)


_UNSIGNED_RE = re.compile(r"\+?\d+")


def _regex_offset(node: Node, ctx: ParseContext, which: str) -> int:
    if len(node.args) != 1:
        ctx.diags.warning(f"Missing or too may options for regex_{which}_offset", node.location)
        return 0
    text = node.args[0]
    if not _UNSIGNED_RE.fullmatch(text):
        ctx.diags.warning(f"Invalid regex_{which}_offset {text} specified", node.location)
        return 0
    return int(text)


def _h_url_regex_min_offset(node: Node, ch: CheckerFields, ctx: ParseContext) -> None:
    _url(ch)["regex_min_offset"] = _regex_offset(node, ctx, "min")


def _h_url_regex_max_offset(node: Node, ch: CheckerFields, ctx: ParseContext) -> None:
    _url(ch)["regex_max_offset"] = _regex_offset(node, ctx, "max")


def _h_url_regex_stack(node: Node, ch: CheckerFields, ctx: ParseContext) -> None:
    if len(node.args) != 2:
        ctx.diags.warning("regex_stack requires start and max values", node.location)
        return
    if not node.args[0].isdigit():
        ctx.diags.warning("regex_stack invalid start value", node.location)
        return
    if not node.args[1].isdigit():
        ctx.diags.warning("regex_stack invalid max value", node.location)
        return
    start, stack_max = int(node.args[0]), int(node.args[1])
    if start > stack_max:
        ctx.diags.warning("regex stack start cannot exceed max value", node.location)
        return
    _url(ch)["regex_stack"] = (start, stack_max)


URL_KEYWORDS = KeywordTable(
    "url",
    [
        Keyword("path", _h_url_path),
        Keyword("digest", _h_url_digest),
        Keyword("status_code", _h_url_status_code),
        Keyword("virtualhost", _h_url_virtualhost),
        Keyword("regex", _h_url_regex),
        Keyword("regex_no_match", _h_url_regex_no_match),
        Keyword("regex_options", _h_url_regex_options),
        Keyword("regex_min_offset", _h_url_regex_min_offset),
        Keyword("regex_max_offset", _h_url_regex_max_offset),
        Keyword("regex_stack", _h_url_regex_stack),
    ],
)


def _h_url(node: Node, ch: CheckerFields, ctx: ParseContext) -> None:
    url: Fields = {"location": node.location}
    ch["urls"].append(url)
    URL_KEYWORDS.dispatch(node, ch, ctx)
    where = end_location(node)
    if "path" not in url:
        ctx.diags.error("HTTP/SSL_GET checker url has no path - ignoring", where)
        ch["urls"].pop()
        return
    regex_params = (
        url.get("regex_options")
        or url.get("regex_no_match")
        or url.get("regex_min_offset")
        or "regex_max_offset" in url
        or url.get("regex_stack")
    )
    if "regex" not in url and regex_params:
        ctx.diags.warning("regex parameters specified without regex", where)
        for key in ("regex_options", "regex_no_match", "regex_min_offset", "regex_stack"):
            url.pop(key, None)
        url.pop("regex_max_offset", None)
    max_offset = url.get("regex_max_offset")
    min_offset = url.get("regex_min_offset", 0)
    if max_offset is not None and min_offset > max_offset:
        ctx.diags.warning(
            f"regex min offset {min_offset} > regex_max_offset {max_offset} - ignoring", where
        )
        url.pop("regex_min_offset", None)
        url.pop("regex_max_offset", None)


def _http_table(block: str) -> KeywordTable:
    return KeywordTable(
        block,
        [
            *_conn_keywords(),
            *_common_keywords(),
            Keyword("nb_get_retry", _h_nb_get_retry),
            Keyword("virtualhost", _h_http_virtualhost),
            Keyword("http_protocol", _h_http_protocol),
            Keyword("enable_sni", opt_bool("enable_sni", "Invalid enable_sni parameter {value}")),
            Keyword(
                "fast_recovery",
                opt_bool("fast_recovery", "Invalid fast_recovery parameter {value}"),
            ),
            Keyword("url", _h_url),
        ],
    )


def _end_http(node: Node, ch: CheckerFields, rs: Fields, ctx: ParseContext) -> bool:
    where = end_location(node)
    if not ch["urls"]:
        ctx.diags.error("HTTP/SSL_GET checker has no urls specified - ignoring", where)
        return False
    return _check_conn_opts(ch, rs, ctx, where)


# --------------------------------------------------------------------------- MISC_CHECK


def _h_misc_path(node: Node, ch: CheckerFields, ctx: ParseContext) -> None:
    words = words_of_raw(node, ctx)
    if not words:
        return
    try:
        argv = split_quoted_escaped(words[0])
    except QuoteError as err:
        report_quote_error(err, node, ctx)
        return
    if argv:
        ch["script_argv"] = tuple(argv)
        ch["script_text"] = words[0]


def _h_misc_dynamic(node: Node, ch: CheckerFields, ctx: ParseContext) -> None:
    ch["dynamic"] = True


def _misc_cmd_str(ch: CheckerFields) -> str:
    return " ".join(f"'{a}'" for a in ch.get("script_argv", ()))


def _h_misc_user(node: Node, ch: CheckerFields, ctx: ParseContext) -> None:
    if not node.args:
        ctx.diags.error(
            f"No user specified for misc checker script {_misc_cmd_str(ch)}", node.location
        )
        return
    ch["user"] = node.args[0]
    ch["group"] = node.args[1] if len(node.args) > 1 else None


MISC_KEYWORDS = KeywordTable(
    "MISC_CHECK",
    [
        *_common_keywords(),
        Keyword("misc_path", _h_misc_path),
        Keyword(
            "misc_timeout",
            number(
                "misc_timeout",
                unsigned_arg(0, UINT_MAX // TIMER_HZ),
                "Invalid misc_timeout value '{value}'",
            ),
        ),
        Keyword("misc_dynamic", _h_misc_dynamic),
        Keyword("user", _h_misc_user),
    ],
)


def _end_misc(node: Node, ch: CheckerFields, rs: Fields, ctx: ParseContext) -> bool:
    if "script_argv" not in ch:
        ctx.diags.error(
            "No script path has been specified for MISC_CHECKER - skipping", end_location(node)
        )
        return False
    return True


# --------------------------------------------------------------------------- SMTP_CHECK


def _h_helo_name(node: Node, ch: CheckerFields, ctx: ParseContext) -> None:
    if not node.args:
        ctx.diags.error("SMTP_CHECK helo name missing", node.location)
        return
    ch["helo_name"] = node.args[0]


def _h_smtp_host(node: Node, ch: CheckerFields, ctx: ParseContext) -> None:
    """A deprecated ``host { }``: connection options go to the host's own copy (starting from
    the block's options so far), everything else to the checker itself, as in keepalived."""
    ctx.diags.warning(
        "The SMTP_CHECK host block is deprecated. Please define additional checkers.",
        node.location,
    )
    host_conn: Fields = dict(_conn(ch))
    view: Fields = {"conn": host_conn}
    for child in node.children or ():
        kw = SMTP_HOST_KEYWORDS.get(child.keyword)
        if kw is None:
            SMTP_HOST_KEYWORDS.dispatch_one(child, view, ctx)
            continue
        if child.keyword in _CONN_NAMES:
            kw.handler(child, view, ctx)
        else:
            kw.handler(child, ch, ctx)
    rs: Fields = ch["_rs"]
    if _check_conn_opts(view, rs, ctx, end_location(node)):
        ch["hosts"].append(host_conn)


_CONN_NAMES = frozenset(k.name for k in _conn_keywords())

SMTP_HOST_KEYWORDS = KeywordTable("host", [*_conn_keywords(), *_common_keywords()])

SMTP_KEYWORDS = KeywordTable(
    "SMTP_CHECK",
    [
        Keyword("helo_name", _h_helo_name),
        *_conn_keywords(),
        *_common_keywords(),
        Keyword("host", _h_smtp_host),
    ],
)


# --------------------------------------------------------------------------- DNS_CHECK


def _h_dns_type(node: Node, ch: CheckerFields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    try:
        ch["dns_type"] = DnsType[node.args[0].upper()]
    except KeyError:
        ctx.diags.error(f"Unknown DNS check type {node.args[0]} - ignoring", node.location)


def _h_dns_name(node: Node, ch: CheckerFields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    if "dns_name" in ch:
        ctx.diags.error("DNS_CHECK name already specified - ignoring", node.location)
        return
    name = node.args[0]
    invalid = (name.startswith(".") and name != ".") or ".." in name
    if invalid:
        ctx.diags.error(f"DNS_CHECK name '{name}' has empty label - ignoring", node.location)
        return
    ch["dns_name"] = name


DNS_KEYWORDS = KeywordTable(
    "DNS_CHECK",
    [
        *_conn_keywords(),
        *_common_keywords(),
        Keyword("type", _h_dns_type),
        Keyword("name", _h_dns_name),
    ],
)


# --------------------------------------------------------------------------- UDP_CHECK


def _h_udp_payload(node: Node, ch: CheckerFields, ctx: ParseContext) -> None:
    if not node.args:
        ctx.diags.error("UDP_CHECK payload requires a payload", node.location)
        return
    parsed = parse_hex_string(" ".join(node.args), allow_wildcard=False)
    if parsed is None:
        ctx.diags.error("Invalid hex string for UDP_CHECK payload", node.location)
        return
    ch["payload"] = parsed[0]


def _h_udp_require_reply(node: Node, ch: CheckerFields, ctx: ParseContext) -> None:
    ch["require_reply"] = True
    if not node.args:
        return
    parsed = parse_hex_string(" ".join(node.args), allow_wildcard=True)
    if parsed is None:
        ctx.diags.error("Invalid hex string for UDP_CHECK reply", node.location)
        return
    ch["reply_data"], ch["reply_mask"] = parsed


UDP_KEYWORDS = KeywordTable(
    "UDP_CHECK",
    [
        *_conn_keywords(),
        *_common_keywords(),
        Keyword("payload", _h_udp_payload),
        Keyword("require_reply", _h_udp_require_reply),
        Keyword(
            "min_reply_length",
            number(
                "min_reply_length",
                unsigned_arg(0, 65535),
                "UDP_CHECK min length {value} not valid - must be between 0 & 65535",
            ),
        ),
        Keyword(
            "max_reply_length",
            number(
                "max_reply_length",
                unsigned_arg(0, 65535),
                "UDP_CHECK max length {value} not valid - must be between 0 & 65535",
            ),
        ),
    ],
)


def _end_udp(node: Node, ch: CheckerFields, rs: Fields, ctx: ParseContext) -> bool:
    where = end_location(node)
    if not _check_conn_opts(ch, rs, ctx, where):
        return False
    lo = ch.get("min_reply_length", 0)
    hi = ch.get("max_reply_length", UDP_DEFAULT_MAX_REPLY_LENGTH)
    if lo > hi:
        ctx.diags.error(
            f"UDP_CHECK min_reply length {lo} > max_reply_length {hi} - will always fail", where
        )
    return True


# --------------------------------------------------------------------------- FILE_CHECK


def _lookup_objects(ctx: ParseContext, key: str, state_attr: str) -> dict[str, Any] | None:
    """Objects (by name) another subsystem has read so far under ``key`` in its fields, or in
    its parse state's ``state_attr`` (the VRRP reader keeps ``track_file`` and
    ``bfd_instance`` blocks there); ``None`` when no subsystem keeps such objects."""
    found: dict[str, Any] | None = None
    for fields in ctx.subsystems.values():
        sources: list[Any] = [fields.get(key)]
        state = fields.get("_state")
        if state is not None:
            sources.append(getattr(state, state_attr, None))
        for value in sources:
            if value is None:
                continue
            found = found if found is not None else {}
            if isinstance(value, dict):
                found.update((str(k), v) for k, v in value.items())
                continue
            for item in value:
                if isinstance(item, str):
                    found[item] = item
                    continue
                name = item.get("name") if isinstance(item, dict) else getattr(item, "name", None)
                if isinstance(name, str):
                    found[name] = item
    return found


def _h_file_track_file(node: Node, ch: CheckerFields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    known = _lookup_objects(ctx, "track_files", "track_files")
    if known is not None and node.args[0] not in known:
        ctx.diags.error(f"track_file {node.args[0]} not found", node.location)
        return
    ch["track_file"] = node.args[0]
    ch["_track_file"] = known.get(node.args[0]) if known is not None else None


def _h_file_weight(node: Node, ch: CheckerFields, ctx: ParseContext) -> None:
    if not node.args:
        ctx.diags.error("track file weight missing", node.location)
        return
    weight = read_int_strvec(node, ctx, 0, -IPVS_WEIGHT_LIMIT, IPVS_WEIGHT_LIMIT)
    if weight is None:
        ctx.diags.error(
            f"weight for track file must be in [{-IPVS_WEIGHT_LIMIT}..{IPVS_WEIGHT_LIMIT}] "
            "inclusive. Ignoring...",
            node.location,
        )
        return
    reverse = False
    if len(node.args) >= 2:
        if node.args[1] == "reverse":
            reverse = True
        elif node.args[1] != "noreverse":
            ctx.diags.error(
                f"unknown track file weight option {node.args[1]} - ignoring", node.location
            )
            return
    ch["file_weight"] = weight
    ch["reverse"] = reverse


FILE_KEYWORDS = KeywordTable(
    "FILE_CHECK",
    [Keyword("track_file", _h_file_track_file), Keyword("weight", _h_file_weight)],
)


def _end_file(node: Node, ch: CheckerFields, rs: Fields, ctx: ParseContext) -> bool:
    if "track_file" not in ch:
        ctx.diags.error("FILE_CHECK has no track_file specified - ignoring", end_location(node))
        return False
    tracked = ch.get("_track_file")
    if "file_weight" not in ch and isinstance(tracked, dict) and "weight" in tracked:
        # no weight here: the track_file's own weight (file_end_handler())
        ch["file_weight"] = tracked["weight"]
        ch["reverse"] = bool(tracked.get("weight_reverse", False))
    return True


# --------------------------------------------------------------------------- BFD_CHECK


def _h_bfd_name(node: Node, ch: CheckerFields, ctx: ParseContext) -> None:
    rs: Fields = ch["_rs"]
    who = fmt_rs_fields(rs)
    if len(node.args) != 1:
        ctx.diags.error(
            f"({who}) BFD_CHECK - No or too many names specified - skipping checker",
            node.location,
        )
        return
    name = node.args[0]
    if len(name) >= BFD_INAME_MAX:
        ctx.diags.error(f"({who}) BFD_CHECK - BFD name {name} too long", node.location)
        return
    if "bfd_name" in ch:
        ctx.diags.error(
            f"({who}) BFD_CHECK - BFD {name} already specified as {ch['bfd_name']}",
            node.location,
        )
        return
    known = _lookup_objects(ctx, "bfd_instances", "bfds")
    if known is not None and name not in known:
        ctx.diags.error(f"({who}) BFD_CHECK - BFD {name} not configured", node.location)
        ch["_dropped"] = True
        return
    monitored: set[str] = rs.setdefault("_bfds", set())
    if name in monitored:
        ctx.diags.error(f"({who}) BFD_CHECK - RS already monitoring {name}", node.location)
        ch["_dropped"] = True
        return
    monitored.add(name)
    ch["bfd_name"] = name


BFD_KEYWORDS = KeywordTable(
    "BFD_CHECK",
    [
        Keyword("name", _h_bfd_name),
        Keyword("alpha", opt_bool("alpha", "Invalid alpha parameter {value}")),
    ],
)


def _end_bfd(node: Node, ch: CheckerFields, rs: Fields, ctx: ParseContext) -> bool:
    if ch.get("_dropped"):
        return False  # keepalived already dropped it, without another message
    if "bfd_name" not in ch:
        ctx.diags.error(
            f"({fmt_rs_fields(rs)}) No name has been specified for BFD_CHECKER - skipping",
            end_location(node),
        )
        return False
    return True


# --------------------------------------------------------------------------- registration


def _end_conn_only(node: Node, ch: CheckerFields, rs: Fields, ctx: ParseContext) -> bool:
    return _check_conn_opts(ch, rs, ctx, end_location(node))


EndHandler = Callable[[Node, CheckerFields, Fields, ParseContext], bool]

_TABLES: dict[CheckerType, tuple[KeywordTable, EndHandler]] = {
    CheckerType.TCP: (
        KeywordTable("TCP_CHECK", [*_conn_keywords(), *_common_keywords()]),
        _end_conn_only,
    ),
    CheckerType.HTTP: (_http_table("HTTP_GET"), _end_http),
    CheckerType.SSL: (_http_table("SSL_GET"), _end_http),
    CheckerType.MISC: (MISC_KEYWORDS, _end_misc),
    CheckerType.SMTP: (SMTP_KEYWORDS, _end_conn_only),
    CheckerType.DNS: (DNS_KEYWORDS, _end_conn_only),
    CheckerType.UDP: (UDP_KEYWORDS, _end_udp),
    CheckerType.PING: (
        KeywordTable("PING_CHECK", [*_conn_keywords(), *_common_keywords()]),
        _end_conn_only,
    ),
    CheckerType.FILE: (FILE_KEYWORDS, _end_file),
    CheckerType.BFD: (BFD_KEYWORDS, _end_bfd),
}


def keyword_table(kind: CheckerType) -> KeywordTable:
    """The keywords of one checker block."""
    return _TABLES[kind][0]


def _checker_handler(kind: CheckerType) -> Handler:
    table, end = _TABLES[kind]

    def handler(node: Node, rs: Fields, ctx: ParseContext) -> None:
        ch: CheckerFields = {"type": kind, "location": node.location, "conn": {}, "_rs": rs}
        if kind in (CheckerType.HTTP, CheckerType.SSL):
            ch["urls"] = []
        if kind is CheckerType.SMTP:
            ch["hosts"] = []
        table.dispatch(node, ch, ctx)
        if end(node, ch, rs, ctx):
            rs.setdefault("checkers", []).append(ch)

    return handler


CHECKER_KEYWORDS: tuple[Keyword, ...] = tuple(
    Keyword(kind.value, _checker_handler(kind)) for kind in CheckerType
)
"""The checker blocks, for the ``real_server`` keyword table."""


# =========================================================================== resolution


class RsDefaults:
    """What a checker inherits: the real server's resolved values and the VS delay_loop."""

    __slots__ = (
        "address",
        "alpha",
        "connect_timeout_s",
        "delay_before_retry_s",
        "delay_loop_s",
        "port",
        "retry",
        "virtualhost",
        "vs_delay_loop_s",
        "warmup_s",
    )

    def __init__(
        self,
        *,
        address: IPAddress,
        port: int,
        retry: int | None,
        delay_before_retry_s: float | None,
        delay_loop_s: float,
        warmup_s: float | None,
        connect_timeout_s: float,
        alpha: bool,
        virtualhost: str | None,
        vs_delay_loop_s: float,
    ) -> None:
        self.address = address
        self.port = port
        self.retry = retry
        self.delay_before_retry_s = delay_before_retry_s
        self.delay_loop_s = delay_loop_s
        self.warmup_s = warmup_s
        self.connect_timeout_s = connect_timeout_s
        self.alpha = alpha
        self.virtualhost = virtualhost
        self.vs_delay_loop_s = vs_delay_loop_s


def _inherited_retry(kind: CheckerType, d: RsDefaults) -> int:
    return d.retry if d.retry is not None else TYPE_DEFAULTS[kind][0]


def _inherited_dbr_s(kind: CheckerType, d: RsDefaults, delay_loop_s: float) -> float:
    if d.delay_before_retry_s is not None:
        return d.delay_before_retry_s
    default_us = TYPE_DEFAULTS[kind][1]
    return us_to_seconds(default_us) if default_us else delay_loop_s


def _inherited_warmup_s(d: RsDefaults, delay_loop_s: float) -> float:
    return d.warmup_s if d.warmup_s is not None else delay_loop_s


def _common_values(kind: CheckerType, ch: CheckerFields, d: RsDefaults) -> dict[str, Any]:
    delay_loop_s = us_to_seconds(ch["delay_loop_us"]) if "delay_loop_us" in ch else d.delay_loop_s
    return {
        "retry": ch["retry"] if "retry" in ch else _inherited_retry(kind, d),
        "delay_before_retry_s": (
            us_to_seconds(ch["delay_before_retry_us"])
            if "delay_before_retry_us" in ch
            else _inherited_dbr_s(kind, d, delay_loop_s)
        ),
        "delay_loop_s": delay_loop_s,
        "warmup_s": (
            us_to_seconds(ch["warmup_us"])
            if "warmup_us" in ch
            else _inherited_warmup_s(d, delay_loop_s)
        ),
        "alpha": ch.get("alpha", d.alpha),
        "log_all_failures": ch.get("log_all_failures", False),
        "location": ch["location"],
    }


def _conn_opts(conn: Fields, d: RsDefaults) -> ConnOpts:
    return ConnOpts(
        connect_ip=conn.get("connect_ip", d.address),
        connect_port=conn.get("connect_port", d.port),
        bindto=conn.get("bindto"),
        bind_port=conn.get("bind_port"),
        bind_if=conn.get("bind_if"),
        fwmark=conn.get("fwmark"),
        connect_timeout_s=(
            us_to_seconds(conn["connect_timeout_us"])
            if "connect_timeout_us" in conn
            else d.connect_timeout_s
        ),
    )


def _status_ranges(codes: set[int] | None) -> tuple[tuple[int, int], ...]:
    if not codes:
        return HTTP_DEFAULT_STATUS_CODES
    ranges: list[tuple[int, int]] = []
    for code in sorted(codes):
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    return tuple(ranges)


def _url_model(url: Fields) -> HttpUrl:
    options: set[str] = url.get("regex_options", set())
    return HttpUrl(
        path=url["path"],
        digest=url.get("digest"),
        status_codes=_status_ranges(url.get("status_codes")),
        virtualhost=url.get("virtualhost"),
        regex=url.get("regex"),
        regex_no_match=url.get("regex_no_match", False),
        regex_options=tuple(o for o in REGEX_OPTIONS if o in options),
        regex_min_offset=url.get("regex_min_offset", 0),
        regex_max_offset=url.get("regex_max_offset"),
        regex_stack=url.get("regex_stack"),
        location=url["location"],
    )


def resolve_checker(ch: CheckerFields, d: RsDefaults) -> list[Checker]:
    """The frozen checker(s) of one block (an SMTP block with ``host { }`` gives several)."""
    kind: CheckerType = ch["type"]
    if kind is CheckerType.FILE:
        return [
            FileCheck(
                track_file=ch["track_file"],
                weight=ch.get("file_weight"),
                reverse=ch.get("reverse", False),
                location=ch["location"],
            )
        ]
    if kind is CheckerType.BFD:
        return [
            BfdCheck(name=ch["bfd_name"], alpha=ch.get("alpha", d.alpha), location=ch["location"])
        ]
    common = _common_values(kind, ch, d)
    if kind is CheckerType.MISC:
        misc_timeout = ch.get("misc_timeout", 0)
        return [
            MiscCheck(
                **common,
                script=Script(
                    ch["script_argv"], ch.get("user"), ch.get("group"), ch.get("script_text", "")
                ),
                timeout_s=float(misc_timeout) if misc_timeout else d.vs_delay_loop_s,
                dynamic=ch.get("dynamic", False),
            )
        ]
    conn = _conn_opts(_conn(ch), d)
    if kind is CheckerType.TCP:
        return [TcpCheck(**common, conn=conn)]
    if kind is CheckerType.PING:
        return [PingCheck(**common, conn=conn)]
    if kind in (CheckerType.HTTP, CheckerType.SSL):
        http: dict[str, Any] = {
            **common,
            "conn": conn,
            "urls": tuple(_url_model(u) for u in ch["urls"]),
            "http_protocol": ch.get("http_protocol", HttpProtocol.HTTP_1_0),
            "virtualhost": ch.get("virtualhost", d.virtualhost),
            "enable_sni": ch.get("enable_sni", False),
            "fast_recovery": ch.get("fast_recovery", False),
        }
        if kind is CheckerType.HTTP:
            return [HttpGetCheck(**http)]
        return [SslGetCheck(**http)]
    if kind is CheckerType.DNS:
        return [
            DnsCheck(
                **common,
                conn=conn,
                type=ch.get("dns_type", DnsType.SOA),
                name=ch.get("dns_name", DNS_DEFAULT_NAME),
            )
        ]
    if kind is CheckerType.UDP:
        return [
            UdpCheck(
                **common,
                conn=conn,
                payload=ch.get("payload"),
                require_reply=ch.get("require_reply", False),
                reply_data=ch.get("reply_data"),
                reply_mask=ch.get("reply_mask"),
                min_reply_length=ch.get("min_reply_length", 0),
                max_reply_length=ch.get("max_reply_length", UDP_DEFAULT_MAX_REPLY_LENGTH),
            )
        ]
    # SMTP: the block itself is a checker, and so is every host block (keepalived queues a
    # copy of the checker per host, sharing all other settings).
    helo = ch.get("helo_name", SMTP_DEFAULT_HELO)
    conns: list[Fields] = [_conn(ch), *ch["hosts"]]
    return [SmtpCheck(**common, conn=_conn_opts(c, d), helo_name=helo) for c in conns]


# =========================================================================== rendering


def _render_common(chk: CheckerCommon, d: RsDefaults) -> list[str]:
    kind = chk.kind
    out: list[str] = []
    if chk.retry != _inherited_retry(kind, d):
        out.append(f"retry {chk.retry}")
    if chk.delay_loop_s != d.delay_loop_s:
        out.append(f"delay_loop {format_timer(chk.delay_loop_s)}")
    if chk.delay_before_retry_s != _inherited_dbr_s(kind, d, chk.delay_loop_s):
        out.append(f"delay_before_retry {format_timer(chk.delay_before_retry_s)}")
    if chk.warmup_s != _inherited_warmup_s(d, chk.delay_loop_s):
        out.append(f"warmup {format_timer(chk.warmup_s)}")
    if chk.alpha != d.alpha:
        out.append("alpha" if chk.alpha else "alpha false")
    if chk.log_all_failures:
        out.append("log_all_failures")
    return out


def _render_conn(conn: ConnOpts, d: RsDefaults) -> list[str]:
    out: list[str] = []
    if conn.connect_ip != d.address:
        out.append(f"connect_ip {conn.connect_ip}")
    if conn.connect_port != d.port:
        out.append(f"connect_port {conn.connect_port}")
    if conn.bindto is not None:
        out.append(f"bindto {conn.bindto}")
    if conn.bind_port is not None:
        out.append(f"bind_port {conn.bind_port}")
    if conn.bind_if is not None:
        out.append(f"bind_if {conn.bind_if}")
    if conn.fwmark is not None:
        out.append(f"fwmark {conn.fwmark}")
    if conn.connect_timeout_s != d.connect_timeout_s:
        out.append(f"connect_timeout {format_timer(conn.connect_timeout_s)}")
    return out


def _render_url(url: HttpUrl, indent: str) -> list[str]:
    out = [f"path {quote_word(url.path)}"]
    if url.digest is not None:
        out.append(f"digest {url.digest}")
    if url.status_codes != HTTP_DEFAULT_STATUS_CODES:
        codes = " ".join(f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in url.status_codes)
        out.append(f"status_code {codes}")
    if url.virtualhost is not None:
        out.append(f"virtualhost {quote_word(url.virtualhost)}")
    if url.regex is not None:
        out.append(f"regex {quote_word(url.regex)}")
        if url.regex_no_match:
            out.append("regex_no_match")
        if url.regex_options:
            out.append("regex_options " + " ".join(url.regex_options))
        if url.regex_min_offset:
            out.append(f"regex_min_offset {url.regex_min_offset}")
        if url.regex_max_offset is not None:
            out.append(f"regex_max_offset {url.regex_max_offset}")
        if url.regex_stack is not None:
            out.append(f"regex_stack {url.regex_stack[0]} {url.regex_stack[1]}")
    return ["url {", *(indent + line for line in out), "}"]


def render_checker(chk: Checker, d: RsDefaults, indent: str = "    ") -> list[str]:
    """The checker block (its lines start at column 0; nested lines use ``indent``)."""
    body: list[str] = []
    if isinstance(chk, FileCheck):
        body.append(f"track_file {quote_word(chk.track_file)}")
        if chk.weight is not None:
            body.append(f"weight {chk.weight}" + (" reverse" if chk.reverse else ""))
    elif isinstance(chk, BfdCheck):
        body.append(f"name {quote_word(chk.name)}")
        if chk.alpha != d.alpha:
            body.append("alpha" if chk.alpha else "alpha false")
    elif isinstance(chk, MiscCheck):
        body.append(f"misc_path {quote_word(chk.script.command)}")
        if chk.timeout_s != d.vs_delay_loop_s:
            body.append(f"misc_timeout {int(chk.timeout_s)}")
        if chk.dynamic:
            body.append("misc_dynamic")
        if chk.script.user is not None:
            group = f" {quote_word(chk.script.group)}" if chk.script.group is not None else ""
            body.append(f"user {quote_word(chk.script.user)}{group}")
        body.extend(_render_common(chk, d))
    else:
        body.extend(_render_conn(chk.conn, d))
        body.extend(_render_common(chk, d))
        if isinstance(chk, HttpCheckBase):
            if chk.http_protocol is not HttpProtocol.HTTP_1_0:
                body.append(f"http_protocol {chk.http_protocol.value}")
            if chk.virtualhost is not None and chk.virtualhost != d.virtualhost:
                body.append(f"virtualhost {quote_word(chk.virtualhost)}")
            if chk.enable_sni:
                body.append("enable_sni")
            if chk.fast_recovery:
                body.append("fast_recovery")
            for url in chk.urls:
                body.extend(_render_url(url, indent))
        elif isinstance(chk, SmtpCheck):
            if chk.helo_name != SMTP_DEFAULT_HELO:
                body.append(f"helo_name {quote_word(chk.helo_name)}")
        elif isinstance(chk, DnsCheck):
            if chk.type is not DnsType.SOA:
                body.append(f"type {chk.type.name}")
            if chk.name != DNS_DEFAULT_NAME:
                body.append(f"name {quote_word(chk.name)}")
        elif isinstance(chk, UdpCheck):
            if chk.payload is not None:
                body.append(f"payload {render_hex(chk.payload)}")
            if chk.require_reply:
                reply = ""
                if chk.reply_data is not None:
                    reply = " " + render_hex(chk.reply_data, chk.reply_mask)
                body.append(f"require_reply{reply}")
            if chk.min_reply_length:
                body.append(f"min_reply_length {chk.min_reply_length}")
            if chk.max_reply_length != UDP_DEFAULT_MAX_REPLY_LENGTH:
                body.append(f"max_reply_length {chk.max_reply_length}")
    kind: CheckerType = chk.kind
    return [f"{kind.value} {{", *(indent + line for line in body), "}"]


__all__ = [
    "CHECKER_KEYWORDS",
    "REGEX_OPTIONS",
    "TIMER_MAX_US",
    "TYPE_DEFAULTS",
    "RsDefaults",
    "end_location",
    "fmt_trio",
    "format_timer",
    "keyword_table",
    "parse_hex_string",
    "parse_ip",
    "render_checker",
    "render_hex",
    "resolve_checker",
    "script_from_node",
    "seconds_to_us",
    "us_to_seconds",
    "words_of_raw",
]
