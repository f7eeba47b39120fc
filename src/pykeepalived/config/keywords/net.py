"""The grammar of address, route and rule lines (keepalived 2.2.7's ``alloc_ipaddress``,
``alloc_route`` and ``alloc_rule``), shared by the ``virtual_*`` and ``static_*`` blocks.

Each ``parse_*`` function reads one line (``node.words``, e.g. ``192.0.2.1/24 dev eth0``),
reports problems with keepalived's wording and severity and returns the spec, or ``None`` when
keepalived drops the line. A missing parameter aborts the config read, as in keepalived.
``render_*`` give the canonical text of a spec; ``parse(render(spec)) == spec``.

Faithful oddities of 2.2.7 kept on purpose (checked with ``keepalived -t``):

- in routes and rules ``inet``/``inet6`` also swallow the following word;
- ``dport N``/``sport N`` with a single port is refused ("invalid dport range");
- ``to all`` after an address of a family is "mixed IPv4 and IPv6" in rules;
- a bad ``nexthop`` stops reading the nexthops but keeps the route;
- a rule without a preference gets one counted down from 16384 (per family, per config).

Name tables (``rt_tables``, ``rt_protos``, ``rt_scopes``, ``rt_dsfield``, ``rt_realms``,
``group``) are Debian's iproute2 defaults; numbers are always accepted.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import NoReturn

from pykeepalived.config.keywords.base import (
    INT32_MAX,
    UINT32_MAX,
    UINT64_MAX,
    WHITE_SPACE,
    ParseContext,
    check_decimal_unsigned,
    check_unsigned,
    check_unsigned64,
    missing_parameter,
    read_unsigned_text,
    strtoul,
)
from pykeepalived.config.model.net import (
    INFINITY_LIFE_TIME,
    RT_TABLE_MAIN,
    RTPROT_KEEPALIVED,
    RULE_START_PRIORITY,
    Encap,
    IPAddress,
    IpAddressSpec,
    IPInterface,
    Nexthop,
    RouteSpec,
    RouteType,
    RuleAction,
    RuleSpec,
)
from pykeepalived.config.tree import Node

IFNAMSIZ = 16
DEFAULT_INTERFACE = "eth0"
"""keepalived's DFLT_INT, used for static addresses when ``default_interface`` is not set."""

# --------------------------------------------------------------------------- C-like numbers


def _c_number(text: str, base: int, hi: int) -> int | None:
    """A silent whole-word number (iproute2 table lookups fall back to this)."""
    value, rest, digits = strtoul(text, base)
    if not digits or rest or text.lstrip(WHITE_SPACE)[:1] == "-" or value > hi:
        return None
    return value


# --------------------------------------------------------------------------- name tables


@dataclass(frozen=True)
class NameTable:
    """An iproute2 names file: name -> number, plus numbers in ``base`` up to ``hi``."""

    names: tuple[tuple[str, int], ...]
    hi: int
    base: int = 0
    bits: int = 64

    def lookup(self, text: str) -> int | None:
        value = _c_number(text, self.base, self.hi)
        if value is not None:
            return value & ((1 << self.bits) - 1)  # stored in a narrower C type
        for name, number in self.names:
            if name == text:
                return number
        return None

    def name_of(self, value: int) -> str | None:
        for name, number in self.names:
            if number == value:
                return name
        return None


RT_TABLES = NameTable(
    (("local", 255), ("main", 254), ("default", 253), ("unspec", 0)), UINT64_MAX, bits=32
)
RT_PROTOS = NameTable(
    (
        ("unspec", 0), ("redirect", 1), ("kernel", 2), ("boot", 3), ("static", 4),
        ("gated", 8), ("ra", 9), ("mrt", 10), ("zebra", 11), ("bird", 12),
        ("dnrouted", 13), ("xorp", 14), ("ntk", 15), ("dhcp", 16), ("keepalived", 18),
        ("babel", 42), ("openr", 99), ("bgp", 186), ("isis", 187), ("ospf", 188),
        ("rip", 189), ("eigrp", 192),
    ),
    255,
)  # fmt: skip
RT_SCOPES = NameTable(
    (("global", 0), ("nowhere", 255), ("host", 254), ("link", 253), ("site", 200)), 255
)
RT_DSFIELD = NameTable(
    (
        ("default", 0x0), ("AF11", 0x28), ("AF12", 0x30), ("AF13", 0x38), ("AF21", 0x48),
        ("AF22", 0x50), ("AF23", 0x58), ("AF31", 0x68), ("AF32", 0x70), ("AF33", 0x78),
        ("AF41", 0x88), ("AF42", 0x90), ("AF43", 0x98), ("CS1", 0x20), ("CS2", 0x40),
        ("CS3", 0x60), ("CS4", 0x80), ("CS5", 0xA0), ("CS6", 0xC0), ("CS7", 0xE0),
        ("EF", 0xB8),
    ),
    255,
    base=16,
)  # fmt: skip
RT_REALMS = NameTable((("cosmos", 0),), 255)
RT_GROUPS = NameTable((("default", 0),), UINT32_MAX)
RT_TYPES = NameTable(tuple((t.name.lower(), int(t)) for t in RouteType if t), max(RouteType))
IP_PROTOCOLS = {
    "ip": 0, "icmp": 1, "igmp": 2, "tcp": 6, "egp": 8, "udp": 17, "ipv6": 41,
    "ipv6-route": 43, "ipv6-frag": 44, "rsvp": 46, "gre": 47, "esp": 50, "ah": 51,
    "ipv6-icmp": 58, "ipv6-nonxt": 59, "ipv6-opts": 60, "ospf": 89, "pim": 103, "vrrp": 112,
    "l2tp": 115, "sctp": 132, "udplite": 136, "mpls-in-ip": 137,
}  # fmt: skip
"""``getprotobyname`` as /etc/protocols has them (Debian netbase)."""

ROUTER_PREF = {"low": 3, "medium": 0, "high": 1}


def get_realms(text: str) -> int | None:
    """``realms [FROM/]TO`` -> (from << 16) | to."""
    head, sep, tail = text.partition("/")
    first = RT_REALMS.lookup(head)
    if first is None:
        return None
    if not sep:
        return first
    second = RT_REALMS.lookup(tail)
    return None if second is None else (first << 16) | second


def _realms_text(value: int) -> str:
    return f"{value >> 16}/{value & 0xFFFF}" if value >> 16 else str(value)


# --------------------------------------------------------------------------- words


class _AbortError(Exception):
    """A word keepalived needed was missing: it has already been reported (abort)."""


class _RouteError(Exception):
    """The route (or rule, or address) is dropped (already reported)."""


class _Words:
    """The words of one line with keepalived's ``strvec_slot`` behaviour."""

    def __init__(self, node: Node, ctx: ParseContext) -> None:
        self.node = node
        self.ctx = ctx
        self.words = node.words

    def __len__(self) -> int:
        return len(self.words)

    def at(self, index: int) -> str:
        if index >= len(self.words):
            missing_parameter(self.node, index + 1, self.ctx)
            raise _AbortError
        return self.words[index]

    def error(self, message: str) -> None:
        self.ctx.diags.error(message, self.node.location)

    def fail(self, message: str) -> NoReturn:
        """Report ``message`` and drop the line."""
        self.error(message)
        raise _RouteError

    def number(self, reading: tuple[int | None, str | None], message: str) -> int:
        """The value of a ``check_unsigned``-style ``reading``; if refused, its message, then
        ``message``, and the line is dropped."""
        value, err = reading
        if value is None:
            self.error(str(err))
            self.fail(message)
        return value

    def lookup(self, index: int, table: NameTable, message: str) -> int:
        """The number ``table`` gives word ``index``; if none, ``message`` (``{}``: the word)
        and the line is dropped."""
        text = self.at(index)
        value = table.lookup(text)
        if value is None:
            self.fail(message.format(text))
        return value


def _interface_missing(name: str, ctx: ParseContext) -> bool:
    """Whether ``name`` must be reported as missing (keepalived checks the live system)."""
    if ctx.interface_exists is None:
        return False
    if ctx.fields_of("global").get("dynamic_interfaces", False):
        return False
    return not ctx.interface_exists(name)


def parse_ip_text(text: str, *, allow_subnet_mask: bool, words: _Words) -> IPInterface | None:
    """keepalived's ``parse_ipaddress``: an address with an optional ``/len``."""
    v6 = ":" in text
    max_len = 128 if v6 else 32
    prefix = max_len
    addr_text = text
    if allow_subnet_mask and "/" in text:
        addr_text, _, len_text = text.partition("/")
        value, err = check_unsigned(len_text, 0, max_len)
        if err is not None:
            words.error(err)
            words.error(
                f"Invalid address prefix len {len_text} for address {text} - using {max_len}"
            )
        else:
            assert value is not None
            prefix = value
    address = _inet_pton(addr_text, v6)
    if address is None:
        words.error(f"VRRP parsed invalid IP {text}. skipping IP...")
        return None
    return ipaddress.ip_interface((address, prefix))


def _inet_pton(text: str, v6: bool) -> IPAddress | None:
    if "%" in text or not text:
        return None
    try:
        return ipaddress.IPv6Address(text) if v6 else ipaddress.IPv4Address(text)
    except ValueError:
        return None


def _parse_route_addr(text: str, words: _Words) -> tuple[IPInterface | None, int | None]:
    """keepalived's ``parse_route``: (address, family); ``default``/``any``/``all`` give
    (None, None) = "unspecified family", resolved once the route's family is known."""
    if text in ("default", "any", "all"):
        return None, None
    if text == "default6":
        words.ctx.diags.info(
            "'default6' is deprecated - please replace with 'inet6 default'", words.node.location
        )
        return ipaddress.IPv6Interface("::/0"), 6
    addr = parse_ip_text(text, allow_subnet_mask=True, words=words)
    return addr, (None if addr is None else addr.version)


def _zero_route(family: int) -> IPInterface:
    return ipaddress.IPv6Interface("::/0") if family == 6 else ipaddress.IPv4Interface("0.0.0.0/0")


# --------------------------------------------------------------------------- addresses


_ADDRESS_PARAM_WORDS = frozenset(
    ("dev", "scope", "broadcast", "brd", "label", "peer", "preferred_lft")
)
_ADDRESS_FLAGS = {
    "home": "home",
    "-nodad": "dad",
    "mngtmpaddr": "mngtmpaddr",
    "noprefixroute": "noprefixroute",
    "autojoin": "autojoin",
    "no_track": "no_track",
}


def parse_ip_address(
    node: Node,
    ctx: ParseContext,
    *,
    allow_track_group: bool,
    track_groups: Collection[str] | None = None,
) -> IpAddressSpec | None:
    """One ``virtual_ipaddress``/``static_ipaddress`` entry.

    ``allow_track_group`` is true for static addresses: they take ``track_group``, not
    ``use_vmac``, and get ``default_interface`` (global field, else eth0) when no ``dev`` is
    given. ``track_groups``: the names defined so far, to report unknown ones (``None`` = do
    not check).
    """
    words = _Words(node, ctx)
    try:
        return _parse_ip_address(words, allow_track_group, track_groups)
    except _AbortError:
        return None


def _parse_ip_address(
    words: _Words, static: bool, track_groups: Collection[str] | None
) -> IpAddressSpec | None:
    ctx = words.ctx
    addr_text = words.words[0]
    address = parse_ip_text(addr_text, allow_subnet_mask=True, words=words)
    if address is None:
        return None
    v6 = address.version == 6
    fields: dict[str, object] = {}
    dev: str | None = None
    peer: IPAddress | None = None
    brd_mode: str | None = None  # "+", "-" or None
    have_broadcast = False
    missing: str | None = None
    i = 1
    n = len(words)
    while i < n:
        word = words.words[i]
        needs_param = word in _ADDRESS_PARAM_WORDS or (static and word == "track_group")
        if needs_param and n < i + 2:
            missing = word
            break
        if word == "dev":
            if dev is not None:
                words.error(f"Cannot specify ipaddress device more than once for {addr_text}")
                return None
            i += 1
            dev = words.words[i]
            if _interface_missing(dev, ctx):
                words.error(f"WARNING - interface {dev} for ip address {addr_text} doesn't exist")
                return None
        elif word == "scope":
            i += 1
            scope = RT_SCOPES.lookup(words.words[i])
            if scope is None:
                words.error(
                    f"Invalid scope '{words.words[i]}' specified for {addr_text} - ignoring"
                )
            else:
                fields["scope"] = scope
        elif word in ("broadcast", "brd"):
            if v6:
                words.error(
                    f"VRRP is trying to assign a broadcast {word} to the IPv6 address "
                    f"{addr_text} !!?? WTF... skipping VIP..."
                )
                return None
            have_broadcast = True
            i += 1
            param = words.words[i]
            if param in ("+", "-"):
                brd_mode = param
            else:
                brd = _inet_pton(param, False)
                if brd is None:
                    words.error(
                        f"VRRP is trying to assign invalid broadcast {param}. skipping VIP..."
                    )
                    return None
                fields["broadcast"] = brd
        elif word == "label":
            i += 1
            label = words.words[i]
            if len(label) >= IFNAMSIZ:
                words.error(
                    f"Address label {label} is longer than maximum length {IFNAMSIZ - 1}"
                    " - removing address"
                )
                return None
            fields["label"] = label
        elif word == "peer":
            i += 1
            peer_text = words.words[i]
            if peer is not None:
                words.error(f"Peer {peer_text} - another peer has already been specified")
                continue  # keepalived then reads the address as the next option
            peer_addr = parse_ip_text(peer_text, allow_subnet_mask=False, words=words)
            if peer_addr is None:
                words.error(f"Invalid peer address {peer_text}")
            elif peer_addr.version != address.version:
                words.error(f"Peer address {peer_text} does not match address family")
            else:
                if address.network.prefixlen != (128 if v6 else 32):
                    words.error(
                        "Cannot specify address prefix when specifying peer address - ignoring"
                    )
                peer = peer_addr.ip
                address = ipaddress.ip_interface(address.ip)
        elif word in _ADDRESS_FLAGS:
            fields[_ADDRESS_FLAGS[word]] = True
        elif word == "preferred_lft":
            i += 1
            text = words.words[i]
            if text == "forever":
                fields["preferred_lft"] = INFINITY_LIFE_TIME
            else:
                value = read_unsigned_text(text, words.node, ctx, 0, UINT32_MAX)
                if value is None:
                    words.error(f"preferred_lft {text} is invalid")
                else:
                    fields["preferred_lft"] = value
        elif static and word == "track_group":
            i += 1
            name = words.words[i]
            if "track_group" in fields:
                words.error(f"track_group {name} is a duplicate")
                break
            if track_groups is not None and name not in track_groups:
                words.error(f"track_group {name} not found")
            else:
                fields["track_group"] = name
        elif not static and word == "use_vmac":
            fields["use_vmac"] = True
        else:
            words.error(f"Unknown configuration entry '{word}' for ip address - ignoring")
        i += 1

    if missing is not None:
        words.error(f"No {missing} parameter specified for {addr_text}")
        return None

    if have_broadcast and peer is not None:
        words.error("Cannot specify broadcast and peer addresses - ignoring broadcast address")
        fields.pop("broadcast", None)
    elif brd_mode is not None:
        prefix = address.network.prefixlen
        if prefix <= 30:
            base = int(address.ip)
            mask = 0xFFFFFFFF >> prefix
            value = base | mask if brd_mode == "+" else base & ~mask
            fields["broadcast"] = ipaddress.IPv4Address(value)
        else:
            words.error(f"Address prefix length {prefix} too long for broadcast")

    if static and dev is None:
        dev = ctx.fields_of("global").get("default_interface") or DEFAULT_INTERFACE
        if _interface_missing(dev, ctx):
            ctx.diags.fatal(
                f"Static address {addr_text} requires either an interface"
                " or default interface must exist",
                words.node.location,
            )
            return None

    if v6:
        if fields.get("scope"):
            words.error(f"Cannot specify scope for IPv6 addresses ({addr_text}) - ignoring scope")
        fields.pop("scope", None)
        if "label" in fields:
            words.error(f"Cannot specify label for IPv6 addresses ({addr_text}) - ignoring label")
            del fields["label"]

    return IpAddressSpec(
        address=address,
        dev=dev,
        peer=peer,
        location=words.node.location,
        **fields,  # type: ignore[arg-type]
    )


def render_ip_address(spec: IpAddressSpec) -> str:
    """Canonical text of an address line."""
    full = 128 if spec.family == 6 else 32
    out = [str(spec.ip) if spec.prefixlen == full else str(spec.address)]
    if spec.broadcast is not None:
        out += ["brd", str(spec.broadcast)]
    if spec.dev is not None:
        out += ["dev", spec.dev]
    if spec.scope:
        out += ["scope", RT_SCOPES.name_of(spec.scope) or str(spec.scope)]
    if spec.label is not None:
        out += ["label", spec.label]
    if spec.peer is not None:
        out += ["peer", str(spec.peer)]
    for word, name in _ADDRESS_FLAGS.items():
        if getattr(spec, name):
            out.append(word)
    if spec.track_group is not None:
        out += ["track_group", spec.track_group]
    if spec.preferred_lft is not None:
        lft = spec.preferred_lft
        out += ["preferred_lft", "forever" if lft == INFINITY_LIFE_TIME else str(lft)]
    if spec.use_vmac:
        out.append("use_vmac")
    return " ".join(out)


# --------------------------------------------------------------------------- routes


def _get_u32(words: _Words, text: str, hi: int, message: str) -> int:
    """``get_u32``-style: a number within [0, hi] or a dropped route."""
    return words.number(check_unsigned(text, 0, hi), message.format(text))


_STRTOD_RE = re.compile(r"[ \t\n\v\f\r]*[+-]?(\d+\.?\d*|\.\d+)")

RTT_MIN_MS = 200
RTT_MAX_MS = 120_000
_RTT_SCALE = {"rtt": 8, "rttvar": 4, "rto_min": 1}
"""Raw (unit-less) rtt values are in kernel units: 1/8 ms for rtt, 1/4 ms for rttvar."""


def read_decimal_unsigned(text: str, lo: int, hi: int, places: int, words: _Words) -> int | None:
    """`check_decimal_unsigned` with ``lo``/``hi`` in whole units, messages to ``words``."""
    scale = 10**places
    value, messages = check_decimal_unsigned(text, lo * scale, hi * scale, places)
    for message in messages:
        words.error(message)
    return value


def read_rtt(text: str, metric: str, words: _Words) -> int | None:
    """2.2.7's route ``rtt``/``rttvar``/``rto_min`` value, in microseconds.

    ``N`` is in kernel units (1/8 ms for rtt, 1/4 ms for rttvar, ms for rto_min), ``Nms``
    whole milliseconds, ``Ns`` seconds with up to 3 decimals. The result is clamped to
    [200 ms, 120 s] with a logged notice, as keepalived does.
    """
    scale = _RTT_SCALE[metric]
    if any(c in text for c in "eE") and not any(c in text for c in "xX"):
        words.ctx.diags.info(
            f"rtt value exponential form {text} no longer supported", words.node.location
        )
        return None
    m = _STRTOD_RE.match(text)
    number, suffix = (text[: m.end()], text[m.end() :]) if m else (text, "")
    max_ms = RTT_MAX_MS * scale
    if suffix.lower() in ("s", "sec", "secs"):
        value = read_decimal_unsigned(number, 0, max_ms // 1000, 3, words)
        value_us = None if value is None else value * 1000
    elif suffix.lower() in ("ms", "msec", "msecs"):
        value = read_decimal_unsigned(number, 0, max_ms, 0, words)
        value_us = None if value is None else value * 1000
    elif not suffix:
        value = read_decimal_unsigned(number, 0, max_ms, 0, words)
        value_us = None if value is None else value * 1000 // scale
    else:
        return None
    if value_us is None:
        return None
    if value_us < RTT_MIN_MS * 1000:
        words.ctx.diags.info(
            f"rtt value {text} below minimum {RTT_MIN_MS}ms, resetting", words.node.location
        )
        value_us = RTT_MIN_MS * 1000
    elif value_us > RTT_MAX_MS * 1000:
        words.ctx.diags.info(
            f"rtt value {text} exceeds maximum {RTT_MAX_MS // 1000}s, resetting",
            words.node.location,
        )
        value_us = RTT_MAX_MS * 1000
    return value_us


_LOCKABLE = ("mtu", "advmss", "rtt", "rttvar", "reordering", "cwnd", "ssthresh", "rto_min")
_U32_METRICS = {
    "mtu": "Invalid MTU {} specified for route",
    "advmss": "Invalid advmss {} specified for route",
    "reordering": "Invalid reordering value {} specified for route",
    "window": "Invalid window value {} specified for route",
    "cwnd": "Invalid cwnd value {} specified for route",
    "ssthresh": "Invalid ssthresh value {} specified for route",
    "initcwnd": "Invalid initcwnd value {} specified for route",
    "initrwnd": "Invalid initrwnd value {} specified for route",
}


class _RouteBuilder:
    """Mutable state of ``alloc_route`` while one line is read."""

    def __init__(self, words: _Words, static: bool, track_groups: Collection[str] | None):
        self.words = words
        self.static = static
        self.track_groups = track_groups
        self.family: int | None = None
        self.fields: dict[str, object] = {}
        self.dst: IPInterface | None = None
        self.dst_given = False
        self.dest_text = ""
        self.src: IPInterface | None = None
        self.src_given = False
        self.locks: set[str] = set()
        self.nexthops: list[Nexthop] = []

    def set_family(self, family: int | None, message: str) -> None:
        if family is None:
            return
        if self.family is None:
            self.family = family
        elif self.family != family:
            self.words.fail(message)

    def lock(self, i: int, name: str) -> int:
        """Handle ``NAME [lock] VALUE``: returns the index of VALUE."""
        i += 1
        if self.words.at(i) == "lock":
            self.locks.add(name)
            i += 1
        return i


def parse_route(
    node: Node,
    ctx: ParseContext,
    *,
    virtual: bool,
    track_groups: Collection[str] | None = None,
) -> RouteSpec | None:
    """One ``virtual_routes``/``static_routes`` entry (``ip route`` syntax).

    ``virtual`` is false for static routes, which take ``track_group`` (checked against
    ``track_groups`` when it is given).
    """
    b = _RouteBuilder(_Words(node, ctx), not virtual, track_groups)
    try:
        return _parse_route(b)
    except (_AbortError, _RouteError):
        return None


def _parse_route(b: _RouteBuilder) -> RouteSpec:
    words = b.words
    f = b.fields
    mix = "Cannot mix IPv4 and IPv6 addresses for route"
    do_nexthop = False
    i = 0
    n = len(words)
    while i < n:
        word = words.words[i]
        if word in ("inet", "inet6"):
            other = "IPv4" if word == "inet6" else "IPv6"
            b.set_family(6 if word == "inet6" else 4, f"{word} specified for {other} route")
            i += 1  # keepalived's loop steps once more: the next word is skipped
        elif word == "src":
            i += 1
            text = words.at(i)
            addr = parse_ip_text(text, allow_subnet_mask=False, words=words)
            if addr is None:
                words.fail(f"invalid route src address {text}")
            b.set_family(addr.version, mix)
            f["pref_src"] = addr.ip
        elif word == "as":
            i += 1
            if words.at(i) == "to":
                i += 1
            words.error('"as to" for MPLS only - ignoring')
        elif word in ("via", "gw"):
            if word == "gw":
                words.error('"gw" for routes is deprecated. Please use "via"')
            i += 1
            text = words.at(i)
            fam = b.family
            if text in ("inet", "inet6"):
                fam = 6 if text == "inet6" else 4
                i += 1
                text = words.at(i)
            b.set_family(fam, mix)
            addr = parse_ip_text(text, allow_subnet_mask=False, words=words)
            if addr is None:
                words.fail(f"invalid route via address {text}")
            b.set_family(addr.version, mix)
            f["via"] = addr.ip
        elif word == "from":
            i += 1
            text = words.at(i)
            src, fam = _parse_route_addr(text, words)
            if src is None and fam is None and text not in ("default", "any", "all"):
                words.fail(f"invalid route from address {text}")
            if fam != 6:
                words.fail(f"route from address only supported with IPv6 ({text})")
            b.set_family(fam, mix)
            b.src, b.src_given = src, True
        elif word in ("tos", "dsfield"):
            i += 1
            f["tos"] = words.lookup(i, RT_DSFIELD, "TOS value {} is invalid")
        elif word == "table":
            i += 1
            f["table"] = words.lookup(i, RT_TABLES, "Routing table {} not found for route")
        elif word == "protocol":
            i += 1
            f["protocol"] = words.lookup(i, RT_PROTOS, "Protocol {} not found or invalid for route")
        elif word == "scope":
            i += 1
            f["scope"] = words.lookup(i, RT_SCOPES, "Scope {} not found or invalid for route")
        elif word in ("metric", "priority", "preference"):
            i += 1
            f["metric"] = _get_u32(
                words, words.at(i), UINT32_MAX, "Invalid metric {} specified for route"
            )
        elif word in ("dev", "oif"):
            i += 1
            dev = words.at(i)
            if _interface_missing(dev, words.ctx):
                words.fail(f"WARNING - interface {dev} for VROUTE nexthop doesn't exist")
            f["dev"] = dev
        elif word == "onlink":
            f["onlink"] = True
        elif word == "encap":
            i, encap = _parse_encap(words, i)
            f["encap"] = encap
        elif word == "expires":
            i += 1
            text = words.at(i)
            if b.family == 4:
                words.fail("expires is only valid for IPv6")
            b.family = 6
            f["expires"] = _get_u32(
                words, text, UINT32_MAX, "Invalid expires time {} specified for route"
            )
        elif word in _U32_METRICS:
            i = b.lock(i, word) if word in _LOCKABLE else i + 1
            f[word] = _get_u32(words, words.at(i), UINT32_MAX, _U32_METRICS[word])
        elif word == "hoplimit":
            i += 1
            f["hoplimit"] = _get_u32(
                words, words.at(i), 255, "Invalid hoplimit {} specified for route"
            )
        elif word in ("rtt", "rttvar", "rto_min"):
            i = b.lock(i, word)
            text = words.at(i)
            value_us = read_rtt(text, word, words)
            if value_us is None:
                words.fail(
                    f"Invalid rto_min value {text} specified for route"
                    if word == "rto_min"
                    else f"Invalid {word} {text} for route"
                )
            f[f"{word}_us"] = value_us
        elif word == "realms":
            i += 1
            realms = get_realms(words.at(i))
            if realms is None:
                words.fail(f"Invalid realms {words.at(i)} for route")
            if b.family == 6:
                words.fail("realms are only valid for IPv4")
            b.family = 4
            f["realms"] = realms
        elif word == "features":
            i += 1
            if words.at(i) == "ecn":
                f["features_ecn"] = True
            else:
                words.error(f"feature {words.at(i)} not supported")
        elif word in ("quickack", "fastopen_no_cookie"):
            i += 1
            f[word] = _get_u32(
                words, words.at(i), 1, f"Invalid {word} value {{}} specified for route"
            )
        elif word == "congctl":
            i += 1
            if words.at(i) == "lock":
                b.locks.add("congctl")
                i += 1
            f["congctl"] = words.at(i)
        elif word == "pref":
            i += 1
            text = words.at(i)
            if b.family == 4:
                words.fail("pref is only valid for IPv6")
            b.family = 6
            if text in ROUTER_PREF:
                f["pref"] = ROUTER_PREF[text]
            else:
                f["pref"] = _get_u32(words, text, 255, "Invalid pref value {} specified for route")
        elif word == "ttl-propagate":
            i += 1
            text = words.at(i)
            if text not in ("enabled", "disabled"):
                words.error(f"ttl-propagate value {text} not recognised")
            f["ttl_propagate"] = text == "enabled"
        elif word == "or":
            words.error('"or" for routes is deprecated. Please use "nexthop"')
            if b.nexthops:
                words.error('"or" route already specified - ignoring subsequent')
                i += 2
                continue
            via = f.pop("via", None)
            i += 1
            text = words.at(i)
            addr = parse_ip_text(text, allow_subnet_mask=False, words=words)
            if addr is None:
                words.fail(f'Invalid "or" address {text}')
            b.nexthops += [Nexthop(via=via), Nexthop(via=addr.ip)]  # type: ignore[arg-type]
        elif word == "nexthop":
            if b.nexthops:
                words.error('Cannot specify nexthops with "or" route')
            else:
                do_nexthop = True
            break
        elif word == "no_track":
            f["no_track"] = True
        elif b.static and word == "track_group":
            i += 1
            name = words.at(i)
            if "track_group" in f:
                words.error(f"track_group {name} is a duplicate")
                break
            if b.track_groups is not None and name not in b.track_groups:
                words.error(f"track_group {name} not found")
            else:
                f["track_group"] = name
        else:
            if word == "to":
                i += 1
            rtype = RT_TYPES.lookup(word)
            if rtype is not None:
                f["type"] = RouteType(rtype)
                i += 1
            dest = words.at(i)
            b.dest_text = dest
            dst, fam = _parse_route_addr(dest, words)
            if dst is None and fam is None and dest not in ("default", "any", "all"):
                words.fail(f"unknown route keyword {dest}")
            if b.family is None:
                b.family = fam
            elif fam != b.family:
                words.fail(f"Cannot mix IPv4 and IPv6 addresses for route ({dest})")
            b.dst, b.dst_given = dst, True
        i += 1

    if do_nexthop:
        _parse_nexthops(b, i)
    elif i < n:
        words.fail(f"Route has trailing nonsense - {words.words[i]}")

    if not b.dst_given:
        words.fail("Route must have a destination")

    if not f.get("no_track"):
        if f.get("protocol", RTPROT_KEEPALIVED) != RTPROT_KEEPALIVED:
            words.error(
                "Route cannot be tracked if protocol is not RTPROT_KEEPALIVED"
                f"({RTPROT_KEEPALIVED}), resetting protocol"
            )
        f["protocol"] = RTPROT_KEEPALIVED
        if "dev" not in f:
            words.error(
                f"Warning - cannot track route {b.dest_text} with no interface specified,"
                " not tracking"
            )
            f["no_track"] = True

    if "track_group" in f and "dev" not in f:
        words.error("Static route cannot have track group if no oif specified")
        del f["track_group"]

    family = b.family or 4
    dst = b.dst if b.dst is not None else _zero_route(family)
    if b.src_given:
        f["src"] = b.src if b.src is not None else _zero_route(family)
    return RouteSpec(
        dst=dst,
        locks=frozenset(b.locks),
        nexthops=tuple(b.nexthops),
        location=words.node.location,
        **f,  # type: ignore[arg-type]
    )


def _parse_nexthops(b: _RouteBuilder, i: int) -> None:
    """keepalived's ``parse_nexthops``: an error ends the list but keeps the route."""
    words = b.words
    n = len(words)
    family: int | None = None
    try:
        while i < n and words.words[i] == "nexthop":
            i += 1
            nh: dict[str, object] = {}
            while i < n:
                word = words.words[i]
                if word == "via":
                    i += 1
                    text = words.at(i)
                    if text in ("inet", "inet6"):
                        family = 6 if text == "inet6" else 4
                        i += 1
                        text = words.at(i)
                    if family is not None:
                        b.set_family(family, "IPv4/6 mismatch for nexthop")
                    addr = parse_ip_text(text, allow_subnet_mask=False, words=words)
                    if addr is None:
                        words.fail(f"invalid nexthop address {text}")
                    if b.family is not None and addr.version != b.family:
                        words.fail("Address family mismatch for next hop")
                    b.family = b.family or addr.version
                    nh["via"] = addr.ip
                elif word == "dev":
                    i += 1
                    dev = words.at(i)
                    if _interface_missing(dev, words.ctx):
                        words.fail(f"WARNING - interface {dev} for VROUTE nexthop doesn't exist")
                    nh["dev"] = dev
                elif word == "weight":
                    i += 1
                    weight = _get_u32(
                        words, words.at(i), 256, "Invalid weight {} specified for route"
                    )
                    if weight == 0:
                        words.fail("Invalid weight 0 specified for route")
                    nh["weight"] = weight
                elif word == "onlink":
                    nh["onlink"] = True
                elif word == "encap":
                    i, encap = _parse_encap(words, i)
                    nh["encap"] = encap
                elif word == "realms":
                    i += 1
                    realms = get_realms(words.at(i))
                    if realms is None:
                        words.fail(f"Invalid realms {words.at(i)} for route")
                    b.set_family(4, "realms are only supported for IPv4")
                    nh["realms"] = realms
                elif word == "as":
                    i += 1
                    if words.at(i) == "to":
                        i += 1
                    words.fail("'as [to]' (nat) not supported")
                else:
                    break
                i += 1
            b.nexthops.append(Nexthop(**nh))  # type: ignore[arg-type]
        if i < n:
            words.error(f"Route has trailing nonsense after nexthops - {words.words[i]}")
    except _RouteError:
        return


_ENCAP_IP_KEYS = {
    "ip": ("id", "dst", "src", "tos", "ttl", "flags"),
    "ip6": ("id", "dst", "src", "tc", "hoplimit", "flags"),
}


def _parse_encap(words: _Words, i: int) -> tuple[int, Encap | None]:
    """``encap TYPE ...`` starting at the ``encap`` word; returns (index of the last word
    consumed, encap or ``None`` when keepalived reported it as invalid)."""
    n = len(words)
    i += 1
    if n <= i:
        words.error("Missing encap type")
        return i, None
    kind = words.words[i]
    i += 1
    if kind in _ENCAP_IP_KEYS:
        i, encap = _parse_encap_ip(words, i, kind)
    elif kind == "mpls":
        if i >= n:
            words.error("missing address for MPLS encapsulation")
            return i - 1, None
        text = words.words[i]
        i += 1
        labels = _parse_mpls(text)
        if labels is None:
            words.error(f"invalid mpls address {text} for encapsulation")
        encap = None if labels is None else Encap(kind="mpls", labels=labels)
    elif kind == "ila":
        if i >= n:
            words.error("missing locator for ILA encapsulation")
            return i - 1, None
        text = words.words[i]
        i += 1
        locator = _parse_addr64(text)
        if locator is None:
            words.error(f"invalid locator {text} for ila encapsulation")
        encap = None if locator is None else Encap(kind="ila", locator=locator)
    else:
        words.error(f"Unknown encap type - {kind}")
        return i, None
    return i - 1, encap


def _parse_encap_ip(words: _Words, i: int, kind: str) -> tuple[int, Encap | None]:
    v6 = kind == "ip6"
    what = "ip6 encapsulation" if v6 else "ip encapsulation"
    tos_key, ttl_key = ("tc", "hoplimit") if v6 else ("tos", "ttl")
    values: dict[str, object] = {}
    n = len(words)
    try:
        while i + 1 < n:
            key, value = words.words[i], words.words[i + 1]
            if key not in _ENCAP_IP_KEYS[kind]:
                break
            if key == "id":
                values["id"] = words.number(
                    check_unsigned64(value, 0, UINT64_MAX),
                    f"id {value} value invalid for IPv6 encapsulation"
                    if v6
                    else f"encap id {value} value is invalid",
                )
            elif key in ("dst", "src"):
                addr = parse_ip_text(value, allow_subnet_mask=False, words=words)
                if addr is None:
                    words.fail(f"Invalid encap {kind} {key} {value}")
                if (addr.version == 6) != v6:
                    words.fail(
                        f"IPv4 address {value} not valid for ip6 encapsulation"
                        if v6
                        else f"IPv6 address {value} not valid for ip encapsulation"
                    )
                values[key] = addr.ip
            elif key == tos_key:
                tos = RT_DSFIELD.lookup(value)
                if tos is None:
                    words.fail(
                        f"tc value {key} is invalid for ip6 encapsulation"
                        if v6
                        else f"dsfield {value} not valid for ip encapsulation"
                    )
                values["tos"] = tos
            elif key == ttl_key:
                msg = (
                    "Invalid hoplimit {} specified for ip6 encapsulation"
                    if v6
                    else "ttl {} is not valid for ip encapsulation"
                )
                values["ttl"] = _get_u32(words, value, 255, msg)
            else:  # flags
                values["flags"] = _get_u32(
                    words, value, 0xFFFF, f"flags {{}} is not valid for {what}"
                )
            i += 2
        if "dst" not in values and "id" not in values:
            words.fail(f"address or id missing for {what}")
    except _RouteError:
        return i, None
    return i, Encap(kind=kind, **values)  # type: ignore[arg-type]


def _parse_mpls(text: str) -> tuple[int, ...] | None:
    labels: list[int] = []
    for part in text.split("/"):
        if len(labels) == 8 or part[:1] == "-":
            return None
        value, rest, digits = strtoul(part, 0)
        if not digits or rest or value >= 1 << 20:
            return None
        labels.append(value)
    return tuple(labels)


def _parse_addr64(text: str) -> int | None:
    parts = text.lstrip(WHITE_SPACE).split(":")
    if len(parts) != 4:
        return None
    value = 0
    for part in parts:
        if not part or any(c not in "0123456789abcdefABCDEF" for c in part):
            return None
        word = int(part, 16)
        if word > 0xFFFF:
            return None
        value = (value << 16) | word
    return value


def _render_encap(encap: Encap) -> list[str]:
    out = ["encap", encap.kind]
    if encap.kind == "mpls":
        return [*out, "/".join(str(label) for label in encap.labels)]
    if encap.kind == "ila":
        loc = encap.locator or 0
        return [*out, ":".join(f"{(loc >> s) & 0xFFFF:x}" for s in (48, 32, 16, 0))]
    v6 = encap.kind == "ip6"
    if encap.id is not None:
        out += ["id", str(encap.id)]
    if encap.dst is not None:
        out += ["dst", str(encap.dst)]
    if encap.src is not None:
        out += ["src", str(encap.src)]
    if encap.tos is not None:
        out += ["tc" if v6 else "tos", f"0x{encap.tos:x}"]
    if encap.ttl is not None:
        out += ["hoplimit" if v6 else "ttl", str(encap.ttl)]
    if encap.flags is not None:
        out += ["flags", str(encap.flags)]
    return out


def _rtt_text(value_us: int, scale: int) -> str:
    """Raw kernel units when exact (always, for values keepalived produced)."""
    unit_us = 1000 // scale
    if value_us % unit_us == 0:
        return str(value_us // unit_us)
    return f"{value_us / 1_000_000:.3f}s"


def render_route(spec: RouteSpec) -> str:
    """Canonical text of a route line (destination first, so its family rules)."""
    out: list[str] = []
    if spec.type != RouteType.UNICAST:
        out.append(RT_TYPES.name_of(spec.type) or str(int(spec.type)))
    out.append(f"{spec.dst.ip}/{spec.dst.network.prefixlen}")
    if spec.src is not None:
        out += ["from", f"{spec.src.ip}/{spec.src.network.prefixlen}"]
    if spec.pref_src is not None:
        out += ["src", str(spec.pref_src)]
    if spec.via is not None:
        out += ["via", str(spec.via)]
    if spec.dev is not None:
        out += ["dev", spec.dev]
    if spec.table != RT_TABLE_MAIN:
        out += ["table", str(spec.table)]
    if spec.metric is not None:
        out += ["metric", str(spec.metric)]
    if spec.protocol is not None and spec.no_track:
        out += ["protocol", str(spec.protocol)]
    if spec.scope is not None:
        out += ["scope", RT_SCOPES.name_of(spec.scope) or str(spec.scope)]
    if spec.tos is not None:
        out += ["tos", f"0x{spec.tos:x}"]
    if spec.onlink:
        out.append("onlink")
    if spec.expires is not None:
        out += ["expires", str(spec.expires)]
    for name in ("mtu", "advmss", "reordering", "window", "cwnd", "ssthresh"):
        value = getattr(spec, name)
        if value is not None:
            out += [name, *(["lock"] if name in spec.locks else []), str(value)]
    if spec.hoplimit is not None:
        out += ["hoplimit", str(spec.hoplimit)]
    for name in ("rtt", "rttvar", "rto_min"):
        value_us = getattr(spec, f"{name}_us")
        if value_us is not None:
            lock = ["lock"] if name in spec.locks else []
            out += [name, *lock, _rtt_text(value_us, _RTT_SCALE[name])]
    if spec.realms is not None:
        out += ["realms", _realms_text(spec.realms)]
    for name in ("initcwnd", "initrwnd", "quickack", "fastopen_no_cookie"):
        value = getattr(spec, name)
        if value is not None:
            out += [name, str(value)]
    if spec.features_ecn:
        out += ["features", "ecn"]
    if spec.congctl is not None:
        out += ["congctl", *(["lock"] if "congctl" in spec.locks else []), spec.congctl]
    if spec.pref is not None:
        names = {v: k for k, v in ROUTER_PREF.items()}
        out += ["pref", names.get(spec.pref, str(spec.pref))]
    if spec.ttl_propagate is not None:
        out += ["ttl-propagate", "enabled" if spec.ttl_propagate else "disabled"]
    if spec.no_track:
        out.append("no_track")
    if spec.track_group is not None:
        out += ["track_group", spec.track_group]
    if spec.encap is not None:
        out += _render_encap(spec.encap)  # last: its options would swallow route words
    for hop in spec.nexthops:
        out.append("nexthop")
        if hop.via is not None:
            out += ["via", str(hop.via)]
        if hop.dev is not None:
            out += ["dev", hop.dev]
        if hop.weight is not None:
            out += ["weight", str(hop.weight)]
        if hop.onlink:
            out.append("onlink")
        if hop.realms is not None:
            out += ["realms", _realms_text(hop.realms)]
        if hop.encap is not None:
            out += _render_encap(hop.encap)
    return " ".join(out)


# --------------------------------------------------------------------------- rules

_RULE_TYPES = {"blackhole": RuleAction.BLACKHOLE, "unreachable": RuleAction.UNREACHABLE,
               "prohibit": RuleAction.PROHIBIT}  # fmt: skip
_RANGE_RE = re.compile(r"[ \t\n\v\f\r]*\+?(\d+)-[ \t\n\v\f\r]*\+?(\d+)")


def _next_rule_priority(ctx: ParseContext, family: int) -> int:
    """keepalived's static counters: 16384, 16383, ... per family, for the whole config."""
    state = ctx.subsystems.setdefault("net", {})
    key = f"next_rule_priority_ipv{family}"
    value: int = state.get(key, RULE_START_PRIORITY)
    state[key] = value - 1
    return value


def parse_rule(
    node: Node,
    ctx: ParseContext,
    *,
    virtual: bool,
    track_groups: Collection[str] | None = None,
) -> RuleSpec | None:
    """One ``virtual_rules``/``static_rules`` entry (``ip rule`` syntax)."""
    words = _Words(node, ctx)
    try:
        return _parse_rule(words, not virtual, track_groups)
    except (_AbortError, _RouteError):
        return None


def _parse_rule(
    words: _Words, static: bool, track_groups: Collection[str] | None
) -> RuleSpec | None:
    ctx = words.ctx
    f: dict[str, object] = {}
    family: int | None = None
    from_given = to_given = False
    table_option = False
    action = RuleAction.UNSPEC
    more_than_one = "Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable"

    i = 0
    n = len(words)
    while i < n:
        word = words.words[i]
        if word in ("inet", "inet6"):
            if family is None:
                family = 6 if word == "inet6" else 4
            elif family != (6 if word == "inet6" else 4):
                words.fail(f"{word} specified for {'IPv4' if word == 'inet6' else 'IPv6'} rule")
            i += 1  # the next word is skipped too, as in keepalived
        elif word in ("from", "to"):
            i += 1
            text = words.at(i)
            addr, fam = _parse_route_addr(text, words)
            if addr is None and fam is None and text not in ("default", "any", "all"):
                words.fail(f"Invalid rule {word} address {text}")
            if family is None:
                family = fam
            elif fam != family:
                words.fail("rule specification has mixed IPv4 and IPv6")
            f["from_addr" if word == "from" else "to_addr"] = addr
            if word == "from":
                from_given = True
            else:
                to_given = True
        elif word in ("table", "lookup"):
            i += 1
            table = words.lookup(i, RT_TABLES, "Routing table {} not found for rule")
            if table == 0:
                words.fail("Table 0 is not valid")
            f["table"] = table
            if action != RuleAction.UNSPEC:
                words.fail(f"{more_than_one} for rule")
            action = RuleAction.TO_TBL
        elif word == "not":
            f["invert"] = True
        elif word in ("preference", "order", "priority"):
            i += 1
            f["priority"] = words.number(
                check_unsigned(words.at(i), 0, UINT32_MAX, base=0),
                f"Invalid rule preference {word} specified",
            )
        elif word in ("tos", "dsfield"):
            i += 1
            f["tos"] = words.lookup(i, RT_DSFIELD, "TOS value {} is invalid")
        elif word == "fwmark":
            i += 1
            text = words.at(i)
            mark = _parse_fwmark(text)
            if mark is None:
                words.fail(f"Invalid rule fwmark {text.lstrip(WHITE_SPACE)} specified")
            else:
                f["fwmark"], f["fwmask"] = mark
        elif word == "realms":
            i += 1
            realms = get_realms(words.at(i))
            if realms is None:
                words.fail(f"invalid realms {words.at(i)} for rule")
            f["realms"] = realms
            table_option = True
            if family is None:
                family = 4
            elif family != 4:
                words.fail("realms is only valid for IPv4")
        elif word in ("suppress_prefixlength", "sup_pl"):
            i += 1
            f["suppress_prefixlen"] = words.number(
                check_unsigned(words.at(i), 0, INT32_MAX),
                f"Invalid suppress_prefixlength {word} specified",
            )
            table_option = True
        elif word in ("suppress_ifgroup", "sup_group"):
            i += 1
            f["suppress_group"] = words.lookup(i, RT_GROUPS, "suppress_group {} is invalid")
            table_option = True
        elif word in ("dev", "iif", "oif"):
            i += 1
            dev = words.at(i)
            if _interface_missing(dev, ctx):
                words.fail(f"WARNING - interface {dev} for rule doesn't exist")
            f["oif" if word == "oif" else "iif"] = dev
        elif word == "tunnel-id":
            i += 1
            f["tunnel_id"] = words.number(
                check_unsigned64(words.at(i), 0, UINT64_MAX), f"Invalid tunnel-id {word} specified"
            )
        elif word == "uidrange":
            i += 1
            m = _RANGE_RE.match(words.at(i))
            if m is None:
                words.fail(f"Invalid uidrange {word} specified")
            else:
                f["uid_range"] = (int(m.group(1)) & UINT32_MAX, int(m.group(2)) & UINT32_MAX)
        elif word == "l3mdev":
            f["l3mdev"] = True
            if action != RuleAction.UNSPEC:
                words.fail("Cannot specify l3mdev with other action")
            action = RuleAction.TO_TBL
        elif word == "protocol":
            i += 1
            value, err = check_unsigned(words.at(i), 0, 255)
            if err is not None:
                words.error(err)
                words.error(f"Invalid protocol {words.at(i)}")
            else:
                f["protocol"] = value
        elif word == "ipproto":
            i += 1
            proto = _inet_proto(words.at(i))
            if proto is None:
                words.error(f"Invalid ipproto {words.at(i)}")
            else:
                f["ip_proto"] = proto
        elif word in ("sport", "dport"):
            i += 1
            m = _RANGE_RE.match(words.at(i))
            if m is None:
                words.error(f"invalid {word} range {words.at(i)}")
            else:
                f[word] = (int(m.group(1)) & 0xFFFF, int(m.group(2)) & 0xFFFF)
        elif word == "no_track":
            f["no_track"] = True
        elif static and word == "track_group":
            i += 1
            name = words.at(i)
            if "track_group" in f:
                words.error(f"track_group {name} is a duplicate")
                break
            if track_groups is not None and name not in track_groups:
                words.error(f"track_group {name} not found")
            else:
                f["track_group"] = name
        else:
            if word == "type":
                i += 1
                word = words.at(i)
            if word == "goto":
                i += 1
                f["goto_target"] = words.number(
                    check_unsigned(words.at(i), 0, UINT32_MAX), f"Invalid target {word} specified"
                )
                new_action = RuleAction.GOTO
            elif word == "nop":
                new_action = RuleAction.NOP
            elif (rtype := RT_TYPES.lookup(word)) is not None:
                names = {int(a): a for a in _RULE_TYPES.values()}
                if rtype not in names:
                    words.fail(f"Invalid rule action {word}")
                new_action = names[rtype]
            else:
                words.fail(f"Unknown rule option {word}")
            if action != RuleAction.UNSPEC:
                words.fail(f"{more_than_one}/l3mdev for rule")
            action = new_action
        i += 1

    priority = f.get("priority")
    if action == RuleAction.GOTO:
        target = f.get("goto_target", 0)
        if priority is None:
            words.fail(f"Invalid rule - goto target {target} specified without preference")
        elif priority >= target:  # type: ignore[operator]
            words.fail(f"Invalid rule - preference {priority} >= goto target {target}")
    if action == RuleAction.UNSPEC:
        words.fail("No action specified for rule - ignoring")
    if action != RuleAction.TO_TBL and table_option:
        words.fail("suppressor/realm specified for non table action - skipping")
    if f.get("table") and f.get("l3mdev"):
        words.fail("table cannot be specified for l3mdev rules")
    if not f.get("no_track"):
        if f.get("protocol", RTPROT_KEEPALIVED) != RTPROT_KEEPALIVED:
            words.error(
                "Rule cannot be tracked if protocol is not RTPROT_KEEPALIVED"
                f"({RTPROT_KEEPALIVED}), resetting protocol"
            )
        f["protocol"] = RTPROT_KEEPALIVED
    if "track_group" in f and "iif" not in f:
        words.error("Static rule cannot have track_group if dev/iif not specified")
        del f["track_group"]

    fam = family or 4
    for key, given in (("from_addr", from_given), ("to_addr", to_given)):
        if given and f[key] is None:
            f[key] = _zero_route(fam)
    if priority is None:
        f["priority"] = _next_rule_priority(ctx, fam)
        words.error(
            f"Rule has no preference specified - setting to {f['priority']}. "
            "This is probably not what you want."
        )
    return RuleSpec(family=fam, action=action, location=words.node.location, **f)  # type: ignore[arg-type]


def _parse_fwmark(text: str) -> tuple[int, int | None] | None:
    s = text.lstrip(WHITE_SPACE)
    if s[:1] == "-":
        return None
    mark, rest, _ = strtoul(s, 0)
    if mark > UINT32_MAX:
        return None
    mask: int | None = None
    if rest[:1] == "/":
        tail = rest[1:]
        if tail[:1] in (*WHITE_SPACE, "-") and tail:
            return None
        mask, rest, _ = strtoul(tail, 0)
        if mask > UINT32_MAX:
            return None
    if rest:
        return None
    return mark, mask


def _inet_proto(text: str) -> int | None:
    s = text.lstrip(WHITE_SPACE)
    if not s or s[0] == "-":
        return None
    value, rest, _ = strtoul(s, 10)
    if value > 127:
        return None
    if not rest:
        return value
    return IP_PROTOCOLS.get(s)


def render_rule(spec: RuleSpec) -> str:
    """Canonical text of a rule line."""
    out: list[str] = []
    if spec.family == 6 and spec.from_addr is None and spec.to_addr is None:
        out += ["inet6", "inet6"]  # 2.2.7's inet6 also eats the next word
    if spec.invert:
        out.append("not")
    for word, addr in (("from", spec.from_addr), ("to", spec.to_addr)):
        if addr is not None:
            out += [word, f"{addr.ip}/{addr.network.prefixlen}"]
    if spec.priority is not None:
        out += ["priority", str(spec.priority)]
    if spec.tos:
        out += ["tos", f"0x{spec.tos:x}"]
    if spec.fwmark is not None:
        mask = "" if spec.fwmask is None else f"/0x{spec.fwmask:x}"
        out += ["fwmark", f"0x{spec.fwmark:x}{mask}"]
    if spec.realms:
        out += ["realms", _realms_text(spec.realms)]
    if spec.suppress_prefixlen is not None:
        out += ["suppress_prefixlength", str(spec.suppress_prefixlen)]
    if spec.suppress_group is not None:
        out += ["suppress_ifgroup", str(spec.suppress_group)]
    if spec.iif is not None:
        out += ["iif", spec.iif]
    if spec.oif is not None:
        out += ["oif", spec.oif]
    if spec.tunnel_id:
        out += ["tunnel-id", str(spec.tunnel_id)]
    if spec.uid_range is not None:
        out += ["uidrange", f"{spec.uid_range[0]}-{spec.uid_range[1]}"]
    if spec.protocol is not None and spec.no_track:
        out += ["protocol", str(spec.protocol)]
    if spec.ip_proto is not None:
        out += ["ipproto", str(spec.ip_proto)]
    for name in ("sport", "dport"):
        rng: tuple[int, int] | None = getattr(spec, name)
        if rng is not None:
            out += [name, f"{rng[0]}-{rng[1]}"]
    if spec.l3mdev:
        out.append("l3mdev")
    elif spec.action == RuleAction.TO_TBL:
        out += ["table", str(spec.table)]
    elif spec.action == RuleAction.GOTO:
        out += ["goto", str(spec.goto_target)]
    elif spec.action == RuleAction.NOP:
        out.append("nop")
    elif spec.action != RuleAction.UNSPEC:
        out.append(spec.action.name.lower())
    if spec.no_track:
        out.append("no_track")
    if spec.track_group is not None:
        out += ["track_group", spec.track_group]
    return " ".join(out)
