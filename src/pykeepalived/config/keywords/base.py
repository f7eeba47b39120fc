"""Keyword tables: how a block's lines become a model's fields.

A block is read by dispatching each child `Node` to the handler registered for its keyword.
Handlers write into a plain ``Fields`` dict; when the block is complete the dict is turned into
a frozen model dataclass (``Model(**fields)``) after keepalived's fix-ups and checks.

The readers below (`read_unsigned_strvec`, `read_timer`, ...) report problems with keepalived
2.2.7's own wording and severity and return ``None``, so a handler simply skips a bad value,
exactly as keepalived ignores it (and keeps its default).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pykeepalived.config.errors import Diagnostics
from pykeepalived.config.model.common import QuoteError
from pykeepalived.config.tree import Node

Fields = dict[str, Any]


@dataclass
class ParseContext:
    """What handlers may consult while reading.

    - ``diags``: where every message goes.
    - ``interface_exists``: a lookup for interface names (``None`` = do not check; the
      ``-t`` path passes one that reads the running system, as keepalived does).
    - ``subsystems``: the fields of each subsystem read so far, by subsystem name
      (``"global"``, ``"vrrp"``, ``"lvs"``). Global defaults apply wherever global_defs
      sits in the file (checked against keepalived 2.2.7), so subsystems read
      ``ctx.subsystems["global"]`` when they finish, not while reading a block.
    """

    diags: Diagnostics = field(default_factory=Diagnostics)
    interface_exists: Callable[[str], bool] | None = None
    subsystems: dict[str, Fields] = field(default_factory=dict)

    def fields_of(self, subsystem: str) -> Fields:
        return self.subsystems.setdefault(subsystem, {})


Handler = Callable[[Node, Fields, ParseContext], None]


@dataclass(frozen=True)
class Keyword:
    """One keyword of one block. ``replaced_by`` marks a deprecated alias."""

    name: str
    handler: Handler
    replaced_by: str | None = None


class KeywordTable:
    """The keywords of one block type, dispatched in file order."""

    def __init__(self, block: str, keywords: Iterable[Keyword]) -> None:
        self.block = block
        self._by_name: dict[str, Keyword] = {}
        for kw in keywords:
            if kw.name in self._by_name:
                raise ValueError(f"keyword {kw.name!r} registered twice in {block}")
            self._by_name[kw.name] = kw
        # the handlers of the keywords that are not deprecated: one lookup per line
        self._current: dict[str, Handler] = {
            kw.name: kw.handler for kw in self._by_name.values() if kw.replaced_by is None
        }

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def get(self, name: str) -> Keyword | None:
        return self._by_name.get(name)

    @property
    def names(self) -> Mapping[str, Keyword]:
        return self._by_name

    def dispatch(self, block: Node, fields: Fields, ctx: ParseContext) -> None:
        """Run the handler of every child line of ``block``; unknown keywords are errors."""
        current = self._current
        for child in block.children or ():
            handler = current.get(child.keyword)
            if handler is not None:
                handler(child, fields, ctx)
            else:
                self.dispatch_one(child, fields, ctx)  # unknown or deprecated

    def dispatch_one(self, node: Node, fields: Fields, ctx: ParseContext) -> None:
        kw = self._by_name.get(node.keyword)
        if kw is None:
            unknown_keyword(node, ctx)
            return
        if kw.replaced_by is not None:
            deprecated(node, kw.replaced_by, ctx)
        kw.handler(node, fields, ctx)


# --------------------------------------------------------------------------- messages


def unknown_keyword(node: Node, ctx: ParseContext) -> None:
    ctx.diags.error(f"Unknown keyword '{node.keyword}'", node.location)


def deprecated(node: Node, new_name: str, ctx: ParseContext) -> None:
    ctx.diags.warning(
        f'Keyword "{node.keyword}" is deprecated - please use "{new_name}"', node.location
    )


def missing_parameter(node: Node, position: int, ctx: ParseContext) -> None:
    """keepalived aborts reading when a keyword lacks a mandatory parameter (exit 2)."""
    ctx.diags.abort(
        f"*** Configuration line starting `{node.keyword}` is missing a parameter after "
        f"keyword `{node.words[position - 2] if position >= 2 else node.keyword}` "
        f"at word position {position}",
        node.location,
    )


def require_args(node: Node, count: int, ctx: ParseContext) -> bool:
    """True if ``node`` has at least ``count`` args; otherwise report as keepalived does."""
    if len(node.args) >= count:
        return True
    missing_parameter(node, len(node.args) + 2, ctx)
    return False


def report_quote_error(err: QuoteError, node: Node, ctx: ParseContext) -> None:
    """A script line that could not be split: a config error, or only logged like keepalived."""
    if err.log_only:
        ctx.diags.info(str(err), node.location)
    else:
        ctx.diags.error(str(err), node.location)


def expect_block(node: Node, ctx: ParseContext) -> bool:
    """True if the line opened a ``{ ... }`` block; an error otherwise."""
    if node.is_block:
        return True
    ctx.diags.error(f"Keyword '{node.keyword}' requires a '{{' block", node.location)
    return False


# --------------------------------------------------------------------------- readers
#
# keepalived 2.2.7's number readers (lib/parser.c), one family for every keyword table. The
# ``check_*`` functions are pure (text in, value and messages out); the ``read_*`` ones take
# the word at ``node.args[index]``, abort as keepalived does when it is missing, report the
# messages as config errors at the line and return the value (``None``: keep the default).
# A bad unsigned number reads "negative number 'X'" (any leading '-'), "invalid number 'X'",
# "number 'X' outside unsigned integer range" or "number 'X' outside range [LO, HI]".

UINT32_MAX = 2**32 - 1
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
UINT64_MAX = 2**64 - 1
TIMER_HZ = 1_000_000
TIMER_MAX_US = UINT64_MAX - 1
"""The largest timer keepalived accepts when a keyword gives no maximum (``ULONG_MAX - 1`` us)."""

WHITE_SPACE = " \t\n\v\f\r"
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_TIMER_PREFIX_RE = re.compile(r"\+?(\d*)(?:\.(\d*))?")

Reading = tuple[int | None, list[str]]
"""A value (``None``: rejected) and keepalived's messages about the text, in order."""


def strtoul(text: str, base: int = 10) -> tuple[int, str, bool]:
    """C ``strtoul``: (value, unparsed rest, whether any digit was read).

    Leading white space and a sign are accepted; base 0 picks 16 for ``0x``, 8 for ``0``.
    A negative number wraps as in C. With no digits the rest is the whole text.
    """
    if base == 10 and text.isdigit() and text.isascii():
        return int(text), "", True  # the common case: plain ASCII decimal digits only
    s = text.lstrip(WHITE_SPACE)
    neg = False
    if s[:1] in ("+", "-"):
        neg = s[0] == "-"
        s = s[1:]
    if base in (0, 16) and s[:2].lower() == "0x" and s[2:3].lower() in _DIGITS[:16] and s[2:3]:
        s = s[2:]
        base = 16
    elif base == 0:
        base = 8 if s[:1] == "0" else 10
    valid = _DIGITS[:base]
    n = 0
    while n < len(s) and s[n].lower() in valid:
        n += 1
    if n == 0:
        return 0, text, False
    value = int(s[:n], base)
    if neg:
        value = (-value) % (1 << 64)
    return value, s[n:], True


def _is_negative(text: str) -> bool:
    return text.lstrip(WHITE_SPACE)[:1] == "-"


def check_unsigned(text: str, lo: int, hi: int, base: int = 10) -> tuple[int | None, str | None]:
    """``read_unsigned_base()``: ``(value, None)`` or ``(None, message)``."""
    if base == 10 and text.isdigit() and text.isascii():
        value = int(text)  # plain ASCII decimal digits: neither negative nor invalid
    else:
        value, rest, _ = strtoul(text, base)
        if _is_negative(text):
            return None, f"negative number '{text}'"
        if rest:
            return None, f"invalid number '{text}'"
    if value > UINT32_MAX:
        return None, f"number '{text}' outside unsigned integer range"
    if not lo <= value <= hi:
        return None, f"number '{text}' outside range [{lo}, {hi}]"
    return value, None


def check_unsigned64(text: str, lo: int, hi: int) -> tuple[int | None, str | None]:
    """``read_unsigned64_base()``: as `check_unsigned`, 64 bits wide."""
    value, rest, _ = strtoul(text, 10)
    if _is_negative(text):
        return None, f"negative number '{text}'"
    if rest:
        return None, f"invalid number '{text}'"
    if value > UINT64_MAX:
        return None, f"number '{text}' outside unsigned 64 bit range"
    if not lo <= value <= hi:
        return None, f"number '{text}' outside range [{lo}, {hi}]"
    return value, None


def check_int(text: str, lo: int, hi: int) -> tuple[int | None, str | None]:
    """``read_int_base()`` (``strtol``, base 10): ``(value, None)`` or ``(None, message)``."""
    s = text.lstrip(WHITE_SPACE)
    negative = s[:1] == "-"
    body = s[1:] if s[:1] in ("+", "-") else s
    magnitude, rest, digits = strtoul(body, 10) if body[:1].isdigit() else (0, body, False)
    if not digits or rest:
        return None, f"invalid number '{text}'"
    value = -magnitude if negative else magnitude
    if not INT32_MIN <= value <= INT32_MAX:
        return None, f"number '{text}' outside integer range"
    if not lo <= value <= hi:
        return None, f"number '{text}' outside range [{lo}, {hi}]"
    return value, None


def format_scaled(value: int, places: int) -> str:
    """A count of ``10**-places`` as keepalived prints decimal bounds (``%u.%0*u``)."""
    if places == 0:
        return f"{value}."
    return f"{value // 10**places}.{value % 10**places:0{places}d}"


def check_decimal_unsigned(text: str, lo: int, hi: int, places: int) -> Reading:
    """``read_decimal_unsigned_base()``: ``text`` as a count of ``10**-places`` within
    ``[lo, hi]`` (same unit). More decimals than ``places`` are rounded, with a message."""
    s = text.lstrip(WHITE_SPACE)
    if s[:1] == "-":
        return None, [f"negative number '{text}'"]
    body = s[1:] if s[:1] == "+" else s
    whole, _, frac = body.partition(".")
    if not (whole or frac) or not (whole + frac).isdigit() or not body.isascii():
        return None, [f"invalid number '{text}'"]
    messages = []
    if len(frac) > places:
        messages.append(f"number '{text}' has too many decimal places")
    value = int((whole or "0") + frac.ljust(places, "0")[:places])
    if len(frac) > places and frac[places] >= "5":
        value += 1
    if not lo <= value <= hi:
        bounds = f"[{format_scaled(lo, places)}, {format_scaled(hi, places)}]"
        messages.append(f"number '{text}' outside range {bounds}")
        return None, messages
    return value, messages


def check_timer(text: str, lo_us: int = 0, hi_us: int = TIMER_MAX_US) -> Reading:
    """``read_timer()``: decimal seconds as microseconds within ``[lo_us, hi_us]``.

    Extra decimals are reported and truncated; a value with trailing junk is reported as
    invalid but its numeric prefix is still used when it is in range ("5x" reads as 5 s,
    "x" as 0 s)."""
    if text.isdigit() and text.isascii():  # the common case: whole seconds
        value_us = int(text) * TIMER_HZ
        if value_us > UINT64_MAX:
            return None, [f"number '{text}' outside unsigned decimal range"]
        if not lo_us <= value_us <= hi_us:
            return None, [f"number '{text}' outside range {_timer_bounds(lo_us, hi_us)}"]
        return value_us, []
    if _is_negative(text):
        return None, [f"negative number '{text}'"]
    match = _TIMER_PREFIX_RE.match(text)
    whole = match.group(1) if match else ""
    frac = (match.group(2) if match else None) or ""
    valid = match is not None and match.end() == len(text) and bool(whole or frac)
    messages = []
    if len(frac) > 6:
        if valid:
            messages.append(f"number '{text}' has too many decimal places")
        frac = frac[:6]
    value_us = int(whole or "0") * TIMER_HZ + (int(frac.ljust(6, "0")) if frac else 0)
    if not valid:
        messages.append(f"invalid number '{text}'")
        return (value_us if lo_us <= value_us <= hi_us else None), messages
    if value_us > UINT64_MAX:
        messages.append(f"number '{text}' outside unsigned decimal range")
        return None, messages
    if not lo_us <= value_us <= hi_us:
        messages.append(f"number '{text}' outside range {_timer_bounds(lo_us, hi_us)}")
        return None, messages
    return value_us, messages


def _timer_bounds(lo_us: int, hi_us: int) -> str:
    return f"[{format_scaled(lo_us, 6)}, {format_scaled(hi_us, 6)}]"


def report(node: Node, ctx: ParseContext, messages: Iterable[str | None]) -> None:
    """Each message (``None`` skipped) as a config error at ``node``'s line."""
    for message in messages:
        if message is not None:
            ctx.diags.error(message, node.location)


def read_unsigned_text(
    text: str, node: Node, ctx: ParseContext, lo: int, hi: int, *, base: int = 10
) -> int | None:
    """`check_unsigned` of ``text``, its message reported at ``node``."""
    value, message = check_unsigned(text, lo, hi, base)
    if message is not None:
        ctx.diags.error(message, node.location)
    return value


def read_int_text(text: str, node: Node, ctx: ParseContext, lo: int, hi: int) -> int | None:
    """`check_int` of ``text``, its message reported at ``node``."""
    value, message = check_int(text, lo, hi)
    report(node, ctx, [message])
    return value


def read_decimal_unsigned_text(
    text: str, node: Node, ctx: ParseContext, lo: int, hi: int, *, places: int
) -> int | None:
    """`check_decimal_unsigned` of ``text``, its messages reported at ``node``."""
    value, messages = check_decimal_unsigned(text, lo, hi, places)
    report(node, ctx, messages)
    return value


def read_unsigned_strvec(
    node: Node, ctx: ParseContext, index: int, lo: int, hi: int, *, base: int = 10
) -> int | None:
    """``read_unsigned_strvec()``: the unsigned number at ``args[index]``."""
    if not require_args(node, index + 1, ctx):
        return None
    return read_unsigned_text(node.args[index], node, ctx, lo, hi, base=base)


def read_int_strvec(node: Node, ctx: ParseContext, index: int, lo: int, hi: int) -> int | None:
    """``read_int_strvec()``: the signed number at ``args[index]``."""
    if not require_args(node, index + 1, ctx):
        return None
    return read_int_text(node.args[index], node, ctx, lo, hi)


def read_decimal_unsigned_strvec(
    node: Node, ctx: ParseContext, index: int, lo: int, hi: int, *, places: int
) -> int | None:
    """``read_decimal_unsigned_strvec()``: ``args[index]`` as a count of ``10**-places``."""
    if not require_args(node, index + 1, ctx):
        return None
    return read_decimal_unsigned_text(node.args[index], node, ctx, lo, hi, places=places)


def read_timer(
    node: Node, ctx: ParseContext, index: int = 0, lo_us: int = 0, hi_us: int = TIMER_MAX_US
) -> int | None:
    """``read_timer()``: the ``<TIMER>`` at ``args[index]`` in microseconds."""
    if not require_args(node, index + 1, ctx):
        return None
    value, messages = check_timer(node.args[index], lo_us, hi_us)
    if messages:
        report(node, ctx, messages)
    return value


_TRUE = frozenset({"on", "true", "yes"})
_FALSE = frozenset({"off", "false", "no"})


def check_true_false(text: str) -> bool | None:
    """``check_true_false()``: on/off, true/false, yes/no (any case); ``None`` otherwise."""
    low = text.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    return None


# --------------------------------------------------------------------------- handler factories
#
# Most keywords differ only in the field they set, how their value is read and keepalived's
# message for a bad value. Such messages are ``str.format`` templates: ``{value}`` is the word
# given, ``{name}`` the name of the block being read (``fields["name"]``).

ArgReader = Callable[[Node, ParseContext], int | None]
"""Reads the number at ``node.args[0]``, reporting keepalived's own message; ``None``: bad."""


def unsigned_arg(lo: int, hi: int) -> ArgReader:
    """`read_unsigned_strvec` within ``[lo, hi]``."""
    return lambda node, ctx: read_unsigned_strvec(node, ctx, 0, lo, hi)


def int_arg(lo: int, hi: int) -> ArgReader:
    """`read_int_strvec` within ``[lo, hi]``."""
    return lambda node, ctx: read_int_strvec(node, ctx, 0, lo, hi)


def decimal_arg(lo: int, hi: int, *, places: int) -> ArgReader:
    """`read_decimal_unsigned_strvec`: a count of ``10**-places`` within ``[lo, hi]``."""
    return lambda node, ctx: read_decimal_unsigned_strvec(node, ctx, 0, lo, hi, places=places)


def timer_arg(lo_us: int = 0, hi_us: int = TIMER_MAX_US) -> ArgReader:
    """`read_timer`: microseconds within ``[lo_us, hi_us]``."""
    return lambda node, ctx: read_timer(node, ctx, 0, lo_us, hi_us)


def format_message(template: str, node: Node, fields: Fields) -> str:
    """``template`` with ``{value}`` (the first word after the keyword) and ``{name}``."""
    return template.format(value=node.args[0] if node.args else "", name=fields.get("name"))


def set_value(key: str, value: object = True) -> Handler:
    """A keyword that sets ``fields[key]`` to ``value`` (any words after it are ignored)."""

    def handler(node: Node, fields: Fields, ctx: ParseContext) -> None:
        fields[key] = value

    return handler


def number(
    key: str,
    read: ArgReader,
    invalid: str,
    *,
    default: int | None = None,
    zero: str | None = None,
    convert: Callable[[int], Any] | None = None,
) -> Handler:
    """``keyword NUMBER``: ``read``'s value, through ``convert``, into ``fields[key]``.

    No number aborts the read (keepalived's message). A bad one gets the reader's message,
    then ``invalid``; the field keeps its value, or is set to ``default`` if one is given.
    ``zero``: the message for 0, which is then taken as 1.
    """

    def handler(node: Node, fields: Fields, ctx: ParseContext) -> None:
        if not require_args(node, 1, ctx):
            return
        value = read(node, ctx)
        if value is None:
            ctx.diags.error(format_message(invalid, node, fields), node.location)
            if default is None:
                return
            value = default
        elif value == 0 and zero is not None:
            ctx.diags.error(format_message(zero, node, fields), node.location)
            value = 1
        fields[key] = value if convert is None else convert(value)

    return handler


def opt_bool(key: str, invalid: str, *, default: bool = True) -> Handler:
    """``keyword [<BOOL>]``: no word sets ``default``; a bad word is reported with ``invalid``
    and ignored."""

    def handler(node: Node, fields: Fields, ctx: ParseContext) -> None:
        if not node.args:
            fields[key] = default
            return
        value = check_true_false(node.args[0])
        if value is None:
            ctx.diags.error(format_message(invalid, node, fields), node.location)
            return
        fields[key] = value

    return handler


def ignored(node: Node, fields: Fields, ctx: ParseContext) -> None:
    """Accepted and without effect (keepalived keeps such keywords for compatibility)."""


# --------------------------------------------------------------------------- subsystems


@dataclass(frozen=True)
class Subsystem:
    """One part of the config (``global``, ``vrrp``, ``lvs``), as the loader sees it.

    - ``root_keywords``: the top-level keywords this subsystem owns (e.g. ``vrrp_instance``);
      their handlers receive this subsystem's ``Fields`` (``ctx.fields_of(name)``).
    - ``finish``: turns the collected fields into the subsystem's frozen model, running
      keepalived's end-of-parse fix-ups and cross-reference checks; reports via ``ctx.diags``.
    - ``render``: the model as keepalived.conf lines (canonical form, 4-space indents), such
      that reading them back gives an equal model.
    """

    name: str
    root_keywords: KeywordTable
    finish: Callable[[Fields, ParseContext], Any]
    render: Callable[[Any], list[str]]
