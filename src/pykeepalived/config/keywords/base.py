"""Keyword tables: how a block's lines become a model's fields.

A block is read by dispatching each child `Node` to the handler registered for its keyword.
Handlers write into a plain ``Fields`` dict; when the block is complete the dict is turned into
a frozen model dataclass (``Model(**fields)``) after keepalived's fix-ups and checks.

The readers below (`read_int`, `read_timer`, ...) report problems with keepalived 2.2.7's own
wording and severity and return ``None``, so a handler simply skips a bad value, exactly as
keepalived ignores it (and keeps its default).
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pykeepalived.config.errors import Diagnostics, Location
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

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def get(self, name: str) -> Keyword | None:
        return self._by_name.get(name)

    @property
    def names(self) -> Mapping[str, Keyword]:
        return self._by_name

    def dispatch(self, block: Node, fields: Fields, ctx: ParseContext) -> None:
        """Run the handler of every child line of ``block``; unknown keywords are errors."""
        for child in block.children or ():
            self.dispatch_one(child, fields, ctx)

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


def expect_block(node: Node, ctx: ParseContext) -> bool:
    """True if the line opened a ``{ ... }`` block; an error otherwise."""
    if node.is_block:
        return True
    ctx.diags.error(f"Keyword '{node.keyword}' requires a '{{' block", node.location)
    return False


# --------------------------------------------------------------------------- readers

_INT_RE = re.compile(r"[+-]?\d+")
_DECIMAL_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def parse_int_text(text: str) -> int | None:
    """Parse an integer the way keepalived's read_int_strvec does (decimal only)."""
    if not _INT_RE.fullmatch(text):
        return None
    return int(text)


def read_int(
    node: Node, ctx: ParseContext, lo: int, hi: int, index: int = 0, *, what: str | None = None
) -> int | None:
    """The integer at ``args[index]`` within ``[lo, hi]``, or ``None`` after a message."""
    if not require_args(node, index + 1, ctx):
        return None
    text = node.args[index]
    value = parse_int_text(text)
    if value is None:
        ctx.diags.error(f"invalid number '{text}'", node.location)
        return None
    if not lo <= value <= hi:
        ctx.diags.error(f"number '{text}' outside range [{lo}, {hi}]", node.location)
        return None
    return value


def read_decimal(
    node: Node, ctx: ParseContext, lo: float, hi: float, index: int = 0
) -> float | None:
    """A decimal number within ``[lo, hi]`` (keepalived prints the bounds with %f)."""
    if not require_args(node, index + 1, ctx):
        return None
    text = node.args[index]
    if not _DECIMAL_RE.fullmatch(text):
        ctx.diags.error(f"invalid number '{text}'", node.location)
        return None
    value = float(text)
    if not (lo <= value <= hi) or math.isnan(value):
        ctx.diags.error(f"number '{text}' outside range [{lo:f}, {hi:f}]", node.location)
        return None
    return value


def read_timer(
    node: Node, ctx: ParseContext, lo_s: float = 0.0, hi_s: float = 4294.967295, index: int = 0
) -> float | None:
    """A ``<TIMER>``: seconds with decimals, microsecond resolution."""
    value = read_decimal(node, ctx, lo_s, hi_s, index)
    if value is None:
        return None
    return round(value, 6)


_TRUE = frozenset({"on", "true", "yes"})
_FALSE = frozenset({"off", "false", "no"})


def read_bool(node: Node, ctx: ParseContext, index: int = 0) -> bool | None:
    """A ``<BOOL>``; a keyword given without the argument means true."""
    if len(node.args) <= index:
        return True
    text = node.args[index].lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    ctx.diags.error(f"Invalid {node.keyword} parameter {node.args[index]}", node.location)
    return None


def read_ip(
    node: Node, ctx: ParseContext, index: int = 0, *, what: str = "address"
) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not require_args(node, index + 1, ctx):
        return None
    text = node.args[index]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        ctx.diags.error(f"Invalid {what} '{text}'", node.location)
        return None


# --------------------------------------------------------------------------- handler factories


def set_flag(name: str, value: bool = True) -> Handler:
    """``keyword`` alone sets ``fields[name] = value``."""

    def handler(node: Node, fields: Fields, ctx: ParseContext) -> None:
        fields[name] = value

    return handler


def set_bool(name: str) -> Handler:
    """``keyword [<BOOL>]``."""

    def handler(node: Node, fields: Fields, ctx: ParseContext) -> None:
        value = read_bool(node, ctx)
        if value is not None:
            fields[name] = value

    return handler


def set_int(name: str, lo: int, hi: int) -> Handler:
    def handler(node: Node, fields: Fields, ctx: ParseContext) -> None:
        value = read_int(node, ctx, lo, hi)
        if value is not None:
            fields[name] = value

    return handler


def set_timer(name: str, lo_s: float = 0.0, hi_s: float = 4294.967295) -> Handler:
    def handler(node: Node, fields: Fields, ctx: ParseContext) -> None:
        value = read_timer(node, ctx, lo_s, hi_s)
        if value is not None:
            fields[name] = value

    return handler


def set_str(name: str) -> Handler:
    """``keyword VALUE`` (the first argument)."""

    def handler(node: Node, fields: Fields, ctx: ParseContext) -> None:
        if require_args(node, 1, ctx):
            fields[name] = node.args[0]

    return handler


def ignored(node: Node, fields: Fields, ctx: ParseContext) -> None:
    """Accepted and without effect (keepalived keeps such keywords for compatibility)."""


def location_of(node: Node) -> Location:
    return node.location


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
