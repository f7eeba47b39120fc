"""Tracked objects: ``vrrp_script``, ``track_file`` (``vrrp_track_file``),
``vrrp_track_process`` and ``bfd_instance``, as keepalived 2.2.7 reads them.

Each root handler reads its block into a dict and appends it to the parse state only if
keepalived would keep it, so later ``track_*`` references see exactly keepalived's objects.
System-dependent steps (user lookup, creating the track file) are left to the runtime.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from pykeepalived.config.keywords.base import (
    TIMER_HZ,
    Fields,
    Handler,
    Keyword,
    KeywordTable,
    ParseContext,
    decimal_arg,
    expect_block,
    format_message,
    ignored,
    int_arg,
    number,
    read_decimal_unsigned_strvec,
    read_int_strvec,
    read_unsigned_strvec,
    report_quote_error,
    require_args,
    set_value,
    unknown_keyword,
    unsigned_arg,
)
from pykeepalived.config.keywords.vrrp_common import (
    INT_MAX,
    UINT_MAX,
    parse_ip,
    script_words,
    vrrp_state,
)
from pykeepalived.config.model.common import QuoteError, Script, split_quoted_escaped
from pykeepalived.config.model.vrrp import ParamMatch
from pykeepalived.config.tree import Node


def _reverse_option(node: Node, f: Fields, ctx: ParseContext, unknown: str) -> None:
    """The optional ``reverse`` after ``weight N``; ``unknown`` is the message for another
    word (``{name}``: the object's name, ``{option}``: the word)."""
    if len(node.args) < 2:
        return
    if node.args[1] == "reverse":
        f["weight_reverse"] = True
    else:
        ctx.diags.error(unknown.format(name=f["name"], option=node.args[1]), node.location)


def _read_object(
    node: Node,
    ctx: ParseContext,
    table: KeywordTable,
    defaults: Fields,
    *,
    missing: tuple[str, str],
) -> Fields | None:
    """The fields of a ``KEYWORD NAME { ... }`` tracked object, read with ``table`` over
    ``defaults``. ``missing`` is a mandatory key and the message (``{name}``) reported at the
    closing brace when it was not given; ``None`` then (or without a name or block)."""
    if not require_args(node, 1, ctx) or not expect_block(node, ctx):
        return None
    f: Fields = {"name": node.args[0], "location": node.location, **defaults}
    table.dispatch(node, f, ctx)
    key, message = missing
    if f[key] is None:
        ctx.diags.error(format_message(message, node, f), node.end_location or node.location)
        return None
    return f


# --------------------------------------------------------------------------- vrrp_script


def _script_script(node: Node, f: Fields, ctx: ParseContext) -> None:
    words = script_words(node, ctx)
    if not words:
        return
    try:
        argv = split_quoted_escaped(words[0])
    except QuoteError as exc:
        report_quote_error(exc, node, ctx)
        return
    if argv:
        f["script"] = Script(tuple(argv), text=words[0])


def _script_weight(node: Node, f: Fields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    value = read_int_strvec(node, ctx, 0, -253, 253)
    if value is None:
        ctx.diags.error(
            f"vrrp_script {f['name']} weight {node.args[0]} must be in [-253, 253]", node.location
        )
    else:
        f["weight"] = value
    _reverse_option(node, f, ctx, "vrrp_script {name} unknown weight option {option}")


def _script_user(node: Node, f: Fields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    f["user"] = node.args[0]
    f["group"] = node.args[1] if len(node.args) > 1 else None


SCRIPT_INTERVAL_MAX_S = UINT_MAX // TIMER_HZ

SCRIPT_TABLE = KeywordTable(
    "vrrp_script",
    [
        Keyword("script", _script_script),
        Keyword(
            "interval",
            number(
                "interval_s",
                unsigned_arg(0, SCRIPT_INTERVAL_MAX_S),
                f"({{name}}): vrrp script interval '{{value}}' must be between 1 and"
                f" {SCRIPT_INTERVAL_MAX_S} - ignoring",
                zero="({name}): vrrp script interval must be greater than 0, setting to 1",
                convert=float,
            ),
        ),
        Keyword(
            "timeout",
            number(
                "timeout_s",
                unsigned_arg(0, SCRIPT_INTERVAL_MAX_S),
                "({name}): vrrp script timeout '{value}' invalid - ignoring",
                zero="({name}): vrrp script timeout must be greater than 0, setting to 1",
                convert=float,
            ),
        ),
        Keyword("weight", _script_weight),
        Keyword(
            "rise",
            number(
                "rise",
                unsigned_arg(1, INT_MAX),
                "({name}): vrrp script rise value '{value}' invalid, defaulting to 1",
                default=1,
            ),
        ),
        Keyword(
            "fall",
            number(
                "fall",
                unsigned_arg(1, INT_MAX),
                "({name}): vrrp script fall value '{value}' invalid, defaulting to 1",
                default=1,
            ),
        ),
        Keyword("user", _script_user),
        Keyword("init_fail", set_value("init_fail")),
    ],
)


def vrrp_script_handler(node: Node, fields: Fields, ctx: ParseContext) -> None:
    """Root keyword ``vrrp_script NAME { ... }``."""
    f = _read_object(
        node,
        ctx,
        SCRIPT_TABLE,
        {
            "script": None,
            "interval_s": 1.0,
            "timeout_s": None,
            "weight": 0,
            "weight_reverse": False,
            "rise": 1,
            "fall": 1,
            "init_fail": False,
            "user": None,
            "group": None,
        },
        missing=("script", "No script set for vrrp_script {name} - removing"),
    )
    if f is not None:
        vrrp_state(fields).scripts.append(f)


# --------------------------------------------------------------------------- track_file


def _tfile_file(node: Node, f: Fields, ctx: ParseContext) -> None:
    if not node.args:
        ctx.diags.error("track file file name missing", node.location)
        return
    if f["path"] is not None:
        ctx.diags.error(
            f"File already set for track file {f['name']} - ignoring {node.args[0]}",
            node.location,
        )
        return
    f["path"] = node.args[0]


def _weight_once(noun: str, block: str, is_set: Callable[[Fields], bool]) -> Handler:
    """``weight N [reverse]`` of a track file or track process, ignored once ``is_set``;
    keepalived's messages name the object ``noun`` or ``block``."""

    def handler(node: Node, f: Fields, ctx: ParseContext) -> None:
        name = f["name"]
        if not node.args:
            ctx.diags.error(f"No weight specified for {noun} {name} - ignoring", node.location)
            return
        if is_set(f):
            ctx.diags.error(
                f"Weight already set for {noun} {name} - ignoring {node.args[0]}", node.location
            )
            return
        value = read_int_strvec(node, ctx, 0, -254, 254)
        if value is None:
            ctx.diags.error(
                f"Weight ({node.args[0]}) for {block} {name} must be between [-254..254]"
                " inclusive. Ignoring...",
                node.location,
            )
            return
        _reverse_option(node, f, ctx, block + " {name} unknown weight option {option}")
        f["weight"] = value
        f["_weight_set"] = True

    return handler


def _tfile_init(node: Node, f: Fields, ctx: ParseContext) -> None:
    f["init_file"] = True
    f["init_overwrite"] = False
    f["init_value"] = None
    for index, word in enumerate(node.args):
        if word[:1].isdigit() or word.startswith("-"):
            value = read_int_strvec(node, ctx, index, -(2**31), 2**31 - 1)
            if value is None:
                ctx.diags.error(
                    f"Track file {f['name']} init value {word} is invalid", node.location
                )
                value = 0
            elif not -254 <= value <= 254:
                ctx.diags.error(
                    f"Track file {f['name']} init value {value} is outside sensible range"
                    " [-254, 254]",
                    node.location,
                )
            f["init_value"] = value
        elif word == "overwrite":
            f["init_overwrite"] = True
        else:
            ctx.diags.error(f"Unknown track file init option {word}", node.location)


TRACK_FILE_TABLE = KeywordTable(
    "track_file",
    [
        Keyword("file", _tfile_file),
        Keyword("weight", _weight_once("track file", "track_file", lambda f: f["_weight_set"])),
        Keyword("init_file", _tfile_init),
    ],
)


def track_file_handler(node: Node, fields: Fields, ctx: ParseContext) -> None:
    """Root keyword ``track_file NAME { ... }`` (and the deprecated ``vrrp_track_file``)."""
    if node.keyword == "vrrp_track_file":
        ctx.diags.info('"vrrp_track_file" is deprecated, please use "track_file"', node.location)
    f = _read_object(
        node,
        ctx,
        TRACK_FILE_TABLE,
        {
            "path": None,
            "weight": 1,
            "weight_reverse": False,
            "_weight_set": False,
            "init_file": False,
            "init_value": None,
            "init_overwrite": False,
        },
        missing=("path", "No file set for track_file {name} - ignoring"),
    )
    if f is not None:
        vrrp_state(fields).track_files.append(f)


# --------------------------------------------------------------------------- vrrp_track_process


def _tp_process(node: Node, f: Fields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    if f["process"] is not None:
        ctx.diags.error(
            f"Process already set for track process {f['name']} - ignoring {node.args[0]}",
            node.location,
        )
        return
    f["process"] = node.args[0]
    if len(node.args) > 1:
        f["params"] = tuple(node.args[1:])
        if f["param_match"] is ParamMatch.NONE:
            f["param_match"] = ParamMatch.EXACT
        f["full_command"] = True


def _tp_param_match(node: Node, f: Fields, ctx: ParseContext) -> None:
    if not node.args:
        f["param_match"] = ParamMatch.EXACT
    elif node.args[0] in ("initial", "partial"):
        f["param_match"] = ParamMatch(node.args[0])
    else:
        ctx.diags.error(f"Invalid param_match type {node.args[0]} - ignoring", node.location)
        return
    f["full_command"] = True


def _tp_quorum(node: Node, f: Fields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    value = read_unsigned_strvec(node, ctx, 0, 1, 65535)
    if value is None:
        ctx.diags.error(
            f"Quorum ({node.args[0]}) for vrrp_track_process {f['name']} must be between"
            " [1..65535] inclusive. Ignoring...",
            node.location,
        )
        return
    if f["quorum_max"] is not None and value > f["quorum_max"]:
        ctx.diags.error("Quorum is greater than quorum_max - ignoring", node.location)
        return
    f["quorum"] = value


def _tp_quorum_max(node: Node, f: Fields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    value = read_unsigned_strvec(node, ctx, 0, 0, 65535)
    if value is None:
        ctx.diags.error(
            f"quorum_max ({node.args[0]}) for vrrp_track_process {f['name']} must be between"
            " [0..65535] inclusive. Ignoring...",
            node.location,
        )
        return
    if (value or f["quorum"] > 1) and value < f["quorum"]:
        ctx.diags.error("quorum_max is less than quorum - ignoring", node.location)
        return
    f["quorum_max"] = value
    if value == 0:
        f["quorum"] = 0
    elif not f["quorum"]:
        f["quorum"] = 1


def _tp_delay(prefix: str) -> Handler:
    def handler(node: Node, f: Fields, ctx: ParseContext) -> None:
        if not require_args(node, 1, ctx):
            return
        value = read_decimal_unsigned_strvec(node, ctx, 0, 1, 3600 * TIMER_HZ, places=6)
        if value is None:
            ctx.diags.error(
                f"{prefix}delay ({node.args[0]}) for vrrp_track_process {f['name']} must be"
                " between [0.000001..3600] inclusive. Ignoring...",
                node.location,
            )
            return
        seconds = round(value / TIMER_HZ, 6)
        if prefix != "fork_":
            f["terminate_delay_s"] = seconds
        if prefix != "terminate_":
            f["fork_delay_s"] = seconds

    return handler


TRACK_PROCESS_TABLE = KeywordTable(
    "vrrp_track_process",
    [
        Keyword("process", _tp_process),
        Keyword("param_match", _tp_param_match),
        Keyword(
            "weight",
            _weight_once("track process", "vrrp_track_process", lambda f: bool(f["weight"])),
        ),
        Keyword("quorum", _tp_quorum),
        Keyword("quorum_max", _tp_quorum_max),
        Keyword("delay", _tp_delay("")),
        Keyword("terminate_delay", _tp_delay("terminate_")),
        Keyword("fork_delay", _tp_delay("fork_")),
        Keyword("full_command", set_value("full_command")),
    ],
)


def track_process_handler(node: Node, fields: Fields, ctx: ParseContext) -> None:
    """Root keyword ``vrrp_track_process NAME { ... }``."""
    f = _read_object(
        node,
        ctx,
        TRACK_PROCESS_TABLE,
        {
            "process": None,
            "params": (),
            "param_match": ParamMatch.NONE,
            "weight": 0,
            "weight_reverse": False,
            "quorum": 1,
            "quorum_max": None,
            "terminate_delay_s": None,
            "fork_delay_s": None,
            "full_command": False,
        },
        missing=("process", "track process '{name}' process name not specified"),
    )
    if f is not None:
        vrrp_state(fields).track_processes.append(f)


# --------------------------------------------------------------------------- bfd_instance
#
# keepalived reads ``bfd_instance`` twice: the VRRP process keeps only the name and the
# ``weight`` (messages at once), the BFD process reads the session (its messages come after
# all VRRP messages under ``-t``). The BFD-side messages are therefore collected in
# ``VrrpParseState.bfd_diags`` and appended by `vrrp_complete`.

BFD_INAME_MAX = 32
BFD_INTERVAL_MAX_US = 4294967 * 1000
BFD_TTL_MAX = 255


def _bfd_err(f: Fields, text: str) -> str:
    return f"Configuration error: BFD instance {f['name']} {text}"


def _bfd_neighbor(node: Node, f: Fields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    text = node.args[0]
    addr = parse_ip(text)
    if addr is None:
        ctx.diags.error(
            _bfd_err(f, f"has malformed neighbor address {text}, ignoring instance"),
            node.location,
        )
        f["_drop"] = True
        return
    f["neighbor_ip"] = addr


def _bfd_source(node: Node, f: Fields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    addr = parse_ip(node.args[0])
    if addr is None:
        ctx.diags.error(
            _bfd_err(f, f"has malformed source address {node.args[0]}, ignoring"), node.location
        )
        return
    f["source_ip"] = addr


_BFD_ERR = "Configuration error: BFD instance {name} "
"""The start of keepalived's BFD messages (`_bfd_err`), as a `number` template."""


def _bfd_interval(key: str, lo_ms: int) -> Handler:
    """``min_rx``/``min_tx``/``idle_tx MILLISECONDS`` (three decimals) into ``key`` in us."""
    hi_ms = BFD_INTERVAL_MAX_US // 1000
    return number(
        f"{key}_us",
        decimal_arg(lo_ms * 1000, BFD_INTERVAL_MAX_US, places=3),
        _BFD_ERR + f"{key} value {{value}} is not valid (must be in range [{lo_ms}-{hi_ms}]),"
        " ignoring",
    )


_bfd_ttl = number(
    "ttl",
    unsigned_arg(1, BFD_TTL_MAX),
    _BFD_ERR + f"ttl/hoplimit value {{value}} not valid (must be in range [1-{BFD_TTL_MAX}]),"
    " ignoring",
)

BFD_TABLE = KeywordTable(
    "bfd_instance",
    [
        Keyword("source_ip", _bfd_source),
        Keyword("neighbor_ip", _bfd_neighbor),
        Keyword("neighbour_ip", _bfd_neighbor),
        Keyword("min_rx", _bfd_interval("min_rx", 1)),
        Keyword("min_tx", _bfd_interval("min_tx", 1)),
        Keyword("idle_tx", _bfd_interval("idle_tx", 1000)),
        Keyword(
            "multiplier",
            number(
                "multiplier",
                unsigned_arg(1, 255),
                _BFD_ERR
                + "multiplier value {value} not valid (must be in range [1-255]), ignoring",
            ),
        ),
        Keyword("passive", set_value("passive")),
        Keyword("ttl", _bfd_ttl),
        Keyword("hoplimit", _bfd_ttl),
        Keyword(
            "max_hops",
            number(
                "max_hops",
                int_arg(-1, BFD_TTL_MAX),
                _BFD_ERR + "max_hops value {value} not valid (must be in range"
                f" [-1-{BFD_TTL_MAX}]), ignoring",
            ),
        ),
        Keyword("weight", ignored),  # read by the VRRP side, see bfd_instance_handler
        Keyword("vrrp", set_value("vrrp")),
        Keyword("checker", set_value("checker")),
    ],
)


def _bfd_vrrp_weight(node: Node, f: Fields, ctx: ParseContext) -> None:
    """The VRRP process's view of ``weight N [reverse]``."""
    if not require_args(node, 1, ctx):
        return
    value = read_int_strvec(node, ctx, 0, -253, 253)
    if value is None:
        ctx.diags.error(
            _bfd_err(
                f, f"weight value {node.args[0]} not valid (must be in range [-253-253]), ignoring"
            ),
            node.location,
        )
        return
    f["weight"] = value
    _reverse_option(node, f, ctx, _BFD_ERR + "unknown weight option {option}")


def bfd_instance_handler(node: Node, fields: Fields, ctx: ParseContext) -> None:
    """Root keyword ``bfd_instance NAME { ... }`` (bfd_parser.c, both passes)."""
    if not require_args(node, 1, ctx) or not expect_block(node, ctx):
        return
    name = node.args[0]
    state = vrrp_state(fields)
    bctx = ParseContext(
        diags=state.bfd_diags, interface_exists=ctx.interface_exists, subsystems=ctx.subsystems
    )
    # VRRP process: the tracked object
    if any(t["name"] == name for t in state.bfd_tracks):
        ctx.diags.error(f"BFD {name} already specified", node.location)
    else:
        track: Fields = {"name": name, "weight": 0, "weight_reverse": False}
        for child in node.children or ():
            if child.keyword == "weight":
                _bfd_vrrp_weight(child, track, ctx)
        state.bfd_tracks.append(track)
    # BFD process: the session
    if len(name) >= BFD_INAME_MAX:
        bctx.diags.error(
            f"Configuration error: BFD instance {name} name too long (maximum length is"
            f" {BFD_INAME_MAX - 1} characters) - ignoring",
            node.location,
        )
        return
    if any(b["name"] == name for b in state.bfds):
        bctx.diags.error(
            f"Configuration error: BFD instance {name} already configured - ignoring",
            node.location,
        )
        return
    f: Fields = {
        "name": name,
        "location": node.location,
        "neighbor_ip": None,
        "source_ip": None,
        "min_rx_us": 10_000,
        "min_tx_us": 10_000,
        "idle_tx_us": 1_000_000,
        "multiplier": 5,
        "passive": False,
        "ttl": 0,
        "max_hops": 0,
        "vrrp": False,
        "checker": False,
        "_drop": False,
    }
    for child in node.children or ():
        kw = BFD_TABLE.get(child.keyword)
        if kw is None:
            unknown_keyword(child, ctx)
            continue
        kw.handler(child, f, bctx)
        if f["_drop"]:
            return
    end = node.end_location or node.location
    nbr = f["neighbor_ip"]
    if nbr is None:
        bctx.diags.error(_bfd_err(f, "has no neighbor address set, disabling instance"), end)
        return
    src = f["source_ip"]
    if any(b["neighbor_ip"] == nbr and b["source_ip"] == src for b in state.bfds):
        text = f"duplicate neighbor address {nbr}"
        if src is not None:
            text = f"duplicate source/neighbor address {src}/{nbr}"
        bctx.diags.error(_bfd_err(f, f"has {text}, ignoring instance"), end)
        return
    if src is not None and src.version != nbr.version:
        # keepalived prints the source address twice (a shared static buffer)
        bctx.diags.error(
            _bfd_err(
                f,
                f"source address {src} and neighbor address {src} are not of the same"
                " family, disabling instance",
            ),
            end,
        )
        return
    if not f["ttl"]:
        f["ttl"] = 255 if isinstance(nbr, ipaddress.IPv4Address) else 64
    if f["max_hops"] > f["ttl"]:
        bctx.diags.error(
            f"BFD instance {name}: max_hops exceeds ttl/hoplimit - setting to ttl/hoplimit", end
        )
        f["max_hops"] = f["ttl"]
    if not f["vrrp"] and not f["checker"]:
        f["vrrp"] = f["checker"] = True
    state.bfds.append(f)
