"""Tracked objects: ``vrrp_script``, ``track_file`` (``vrrp_track_file``),
``vrrp_track_process`` and ``bfd_instance``, as keepalived 2.2.7 reads them.

Each root handler reads its block into a dict and appends it to the parse state only if
keepalived would keep it, so later ``track_*`` references see exactly keepalived's objects.
System-dependent steps (user lookup, creating the track file) are left to the runtime.
"""

from __future__ import annotations

import ipaddress

from pykeepalived.config.keywords.base import (
    TIMER_HZ,
    Fields,
    Handler,
    Keyword,
    KeywordTable,
    ParseContext,
    expect_block,
    read_decimal_unsigned_strvec,
    read_int_strvec,
    read_unsigned_strvec,
    report_quote_error,
    require_args,
    unknown_keyword,
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


def _kw(name: str, handler: Handler) -> Keyword:
    return Keyword(name, handler)


def _dispatch(table: KeywordTable, block: Node, f: Fields, ctx: ParseContext) -> None:
    for child in block.children or ():
        kw = table.get(child.keyword)
        if kw is None:
            unknown_keyword(child, ctx)
            continue
        kw.handler(child, f, ctx)


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


def _script_interval(node: Node, f: Fields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    hi = UINT_MAX // TIMER_HZ
    value = read_unsigned_strvec(node, ctx, 0, 0, hi)
    if value is None:
        ctx.diags.error(
            f"({f['name']}): vrrp script interval '{node.args[0]}' must be between 1 and {hi}"
            " - ignoring",
            node.location,
        )
        return
    if value == 0:
        ctx.diags.error(
            f"({f['name']}): vrrp script interval must be greater than 0, setting to 1",
            node.location,
        )
        value = 1
    f["interval_s"] = float(value)


def _script_timeout(node: Node, f: Fields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    value = read_unsigned_strvec(node, ctx, 0, 0, UINT_MAX // TIMER_HZ)
    if value is None:
        ctx.diags.error(
            f"({f['name']}): vrrp script timeout '{node.args[0]}' invalid - ignoring",
            node.location,
        )
        return
    if value == 0:
        ctx.diags.error(
            f"({f['name']}): vrrp script timeout must be greater than 0, setting to 1",
            node.location,
        )
        value = 1
    f["timeout_s"] = float(value)


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
    if len(node.args) >= 2:
        if node.args[1] == "reverse":
            f["weight_reverse"] = True
        else:
            ctx.diags.error(
                f"vrrp_script {f['name']} unknown weight option {node.args[1]}", node.location
            )


def _script_rise_fall(key: str) -> Handler:
    def handler(node: Node, f: Fields, ctx: ParseContext) -> None:
        if not require_args(node, 1, ctx):
            return
        value = read_unsigned_strvec(node, ctx, 0, 1, INT_MAX)
        if value is None:
            ctx.diags.error(
                f"({f['name']}): vrrp script {key} value '{node.args[0]}' invalid, defaulting to 1",
                node.location,
            )
            value = 1
        f[key] = value

    return handler


def _script_user(node: Node, f: Fields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    f["user"] = node.args[0]
    f["group"] = node.args[1] if len(node.args) > 1 else None


def _script_init_fail(node: Node, f: Fields, ctx: ParseContext) -> None:
    f["init_fail"] = True


SCRIPT_TABLE = KeywordTable(
    "vrrp_script",
    [
        _kw("script", _script_script),
        _kw("interval", _script_interval),
        _kw("timeout", _script_timeout),
        _kw("weight", _script_weight),
        _kw("rise", _script_rise_fall("rise")),
        _kw("fall", _script_rise_fall("fall")),
        _kw("user", _script_user),
        _kw("init_fail", _script_init_fail),
    ],
)


def vrrp_script_handler(node: Node, fields: Fields, ctx: ParseContext) -> None:
    """Root keyword ``vrrp_script NAME { ... }``."""
    if not require_args(node, 1, ctx) or not expect_block(node, ctx):
        return
    f: Fields = {
        "name": node.args[0],
        "location": node.location,
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
    }
    _dispatch(SCRIPT_TABLE, node, f, ctx)
    if f["script"] is None:
        ctx.diags.error(
            f"No script set for vrrp_script {f['name']} - removing",
            node.end_location or node.location,
        )
        return
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


def _tfile_weight(node: Node, f: Fields, ctx: ParseContext) -> None:
    if not node.args:
        ctx.diags.error(f"No weight specified for track file {f['name']} - ignoring", node.location)
        return
    if f["_weight_set"]:
        ctx.diags.error(
            f"Weight already set for track file {f['name']} - ignoring {node.args[0]}",
            node.location,
        )
        return
    value = read_int_strvec(node, ctx, 0, -254, 254)
    if value is None:
        ctx.diags.error(
            f"Weight ({node.args[0]}) for track_file {f['name']} must be between [-254..254]"
            " inclusive. Ignoring...",
            node.location,
        )
        return
    if len(node.args) >= 2:
        if node.args[1] == "reverse":
            f["weight_reverse"] = True
        else:
            ctx.diags.error(
                f"track_file {f['name']} unknown weight option {node.args[1]}", node.location
            )
    f["weight"] = value
    f["_weight_set"] = True


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
    [_kw("file", _tfile_file), _kw("weight", _tfile_weight), _kw("init_file", _tfile_init)],
)


def track_file_handler(node: Node, fields: Fields, ctx: ParseContext) -> None:
    """Root keyword ``track_file NAME { ... }`` (and the deprecated ``vrrp_track_file``)."""
    if node.keyword == "vrrp_track_file":
        ctx.diags.info('"vrrp_track_file" is deprecated, please use "track_file"', node.location)
    if not require_args(node, 1, ctx) or not expect_block(node, ctx):
        return
    f: Fields = {
        "name": node.args[0],
        "location": node.location,
        "path": None,
        "weight": 1,
        "weight_reverse": False,
        "_weight_set": False,
        "init_file": False,
        "init_value": None,
        "init_overwrite": False,
    }
    _dispatch(TRACK_FILE_TABLE, node, f, ctx)
    if f["path"] is None:
        ctx.diags.error(
            f"No file set for track_file {f['name']} - ignoring",
            node.end_location or node.location,
        )
        return
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


def _tp_weight(node: Node, f: Fields, ctx: ParseContext) -> None:
    name = f["name"]
    if not node.args:
        ctx.diags.error(f"No weight specified for track process {name} - ignoring", node.location)
        return
    if f["weight"]:
        ctx.diags.error(
            f"Weight already set for track process {name} - ignoring {node.args[0]}",
            node.location,
        )
        return
    value = read_int_strvec(node, ctx, 0, -254, 254)
    if value is None:
        ctx.diags.error(
            f"Weight ({node.args[0]}) for vrrp_track_process {name} must be between"
            " [-254..254] inclusive. Ignoring...",
            node.location,
        )
        return
    if len(node.args) >= 2:
        if node.args[1] == "reverse":
            f["weight_reverse"] = True
        else:
            ctx.diags.error(
                f"vrrp_track_process {name} unknown weight option {node.args[1]}", node.location
            )
    f["weight"] = value


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


def _tp_full(node: Node, f: Fields, ctx: ParseContext) -> None:
    f["full_command"] = True


TRACK_PROCESS_TABLE = KeywordTable(
    "vrrp_track_process",
    [
        _kw("process", _tp_process),
        _kw("param_match", _tp_param_match),
        _kw("weight", _tp_weight),
        _kw("quorum", _tp_quorum),
        _kw("quorum_max", _tp_quorum_max),
        _kw("delay", _tp_delay("")),
        _kw("terminate_delay", _tp_delay("terminate_")),
        _kw("fork_delay", _tp_delay("fork_")),
        _kw("full_command", _tp_full),
    ],
)


def track_process_handler(node: Node, fields: Fields, ctx: ParseContext) -> None:
    """Root keyword ``vrrp_track_process NAME { ... }``."""
    if not require_args(node, 1, ctx) or not expect_block(node, ctx):
        return
    f: Fields = {
        "name": node.args[0],
        "location": node.location,
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
    }
    _dispatch(TRACK_PROCESS_TABLE, node, f, ctx)
    if f["process"] is None:
        ctx.diags.error(
            f"track process '{f['name']}' process name not specified",
            node.end_location or node.location,
        )
        return
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


def _bfd_interval(key: str, what: str, lo_ms: int) -> Handler:
    def handler(node: Node, f: Fields, ctx: ParseContext) -> None:
        if not require_args(node, 1, ctx):
            return
        value = read_decimal_unsigned_strvec(
            node, ctx, 0, lo_ms * 1000, BFD_INTERVAL_MAX_US, places=3
        )
        if value is None:
            ctx.diags.error(
                _bfd_err(
                    f,
                    f"{what} value {node.args[0]} is not valid (must be in range"
                    f" [{lo_ms}-{BFD_INTERVAL_MAX_US // 1000}]), ignoring",
                ),
                node.location,
            )
            return
        f[key] = value

    return handler


def _bfd_multiplier(node: Node, f: Fields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    value = read_unsigned_strvec(node, ctx, 0, 1, 255)
    if value is None:
        ctx.diags.error(
            _bfd_err(
                f, f"multiplier value {node.args[0]} not valid (must be in range [1-255]), ignoring"
            ),
            node.location,
        )
        return
    f["multiplier"] = value


def _bfd_ttl(node: Node, f: Fields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    value = read_unsigned_strvec(node, ctx, 0, 1, BFD_TTL_MAX)
    if value is None:
        ctx.diags.error(
            _bfd_err(
                f,
                f"ttl/hoplimit value {node.args[0]} not valid (must be in range"
                f" [1-{BFD_TTL_MAX}]), ignoring",
            ),
            node.location,
        )
        return
    f["ttl"] = value


def _bfd_max_hops(node: Node, f: Fields, ctx: ParseContext) -> None:
    if not require_args(node, 1, ctx):
        return
    value = read_int_strvec(node, ctx, 0, -1, BFD_TTL_MAX)
    if value is None:
        ctx.diags.error(
            _bfd_err(
                f,
                f"max_hops value {node.args[0]} not valid (must be in range"
                f" [-1-{BFD_TTL_MAX}]), ignoring",
            ),
            node.location,
        )
        return
    f["max_hops"] = value


def _bfd_flag(key: str) -> Handler:
    def handler(node: Node, f: Fields, ctx: ParseContext) -> None:
        f[key] = True

    return handler


def _bfd_ignore(node: Node, f: Fields, ctx: ParseContext) -> None:
    """Read by the other process."""


BFD_TABLE = KeywordTable(
    "bfd_instance",
    [
        _kw("source_ip", _bfd_source),
        _kw("neighbor_ip", _bfd_neighbor),
        _kw("neighbour_ip", _bfd_neighbor),
        _kw("min_rx", _bfd_interval("min_rx_us", "min_rx", 1)),
        _kw("min_tx", _bfd_interval("min_tx_us", "min_tx", 1)),
        _kw("idle_tx", _bfd_interval("idle_tx_us", "idle_tx", 1000)),
        _kw("multiplier", _bfd_multiplier),
        _kw("passive", _bfd_flag("passive")),
        _kw("ttl", _bfd_ttl),
        _kw("hoplimit", _bfd_ttl),
        _kw("max_hops", _bfd_max_hops),
        _kw("weight", _bfd_ignore),
        _kw("vrrp", _bfd_flag("vrrp")),
        _kw("checker", _bfd_flag("checker")),
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
    if len(node.args) >= 2:
        if node.args[1] == "reverse":
            f["weight_reverse"] = True
        else:
            ctx.diags.error(_bfd_err(f, f"unknown weight option {node.args[1]}"), node.location)


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
