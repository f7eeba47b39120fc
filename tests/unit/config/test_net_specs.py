"""The address / route / rule grammar (config.keywords.net) against keepalived 2.2.7.

Expected messages were captured from Debian's keepalived 2.2.7 with ``keepalived -t -f FILE``
on a one-line ``static_ipaddress``/``static_routes``/``static_rules`` block (the interfaces
``lo`` and ``eth0`` exist there; ``nonexist`` does not), and pasted here.
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.config.errors import Location, Severity
from pykeepalived.config.keywords import net
from pykeepalived.config.keywords.base import ParseContext
from pykeepalived.config.loader import load_text
from pykeepalived.config.model.net import (
    INFINITY_LIFE_TIME,
    RTPROT_KEEPALIVED,
    IpAddressSpec,
    Nexthop,
    RouteSpec,
    RouteType,
    RuleAction,
    RuleSpec,
)
from pykeepalived.config.tree import Node

pytestmark = pytest.mark.unit

EXISTING = {"lo", "eth0", "ifb0", "ifb1"}


def node_of(line: str) -> Node:
    words = line.split()
    return Node(words[0], tuple(words[1:]), Location("t.conf", 2))


def ctx_of(**global_fields: object) -> ParseContext:
    ctx = ParseContext(interface_exists=lambda name: name in EXISTING)
    ctx.fields_of("global").update(global_fields)
    return ctx


def messages(ctx: ParseContext) -> list[str]:
    return [d.message for d in ctx.diags if d.severity > Severity.INFO]


def addr(line: str, **kw: object) -> tuple[IpAddressSpec | None, list[str]]:
    ctx = ctx_of()
    static = bool(kw.get("static", True))
    spec = net.parse_ip_address(node_of(line), ctx, allow_track_group=static, track_groups=())
    return spec, messages(ctx)


def route(line: str) -> tuple[RouteSpec | None, list[str]]:
    ctx = ctx_of()
    spec = net.parse_route(node_of(line), ctx, virtual=False, track_groups=())
    return spec, messages(ctx)


def rule(line: str) -> tuple[RuleSpec | None, list[str]]:
    ctx = ctx_of()
    spec = net.parse_rule(node_of(line), ctx, virtual=False, track_groups=())
    return spec, messages(ctx)


# --------------------------------------------------------------------------- oracle messages

# (line, kept?, messages keepalived 2.2.7 printed)
ADDRESS_CASES = [
    ("300.1.1.1", False, ["VRRP parsed invalid IP 300.1.1.1. skipping IP..."]),
    (
        "192.0.2.1/33 dev lo",
        True,
        [
            "number '33' outside range [0, 32]",
            "Invalid address prefix len 33 for address 192.0.2.1/33 - using 32",
        ],
    ),
    ("192.0.2.2 dev", False, ["No dev parameter specified for 192.0.2.2"]),
    ("192.0.2.4 dev nonexist", False,
     ["WARNING - interface nonexist for ip address 192.0.2.4 doesn't exist"]),
    ("192.0.2.5 dev lo brd + foo", True,
     ["Unknown configuration entry 'foo' for ip address - ignoring",
      "Address prefix length 32 too long for broadcast"]),
    ("2001:db8::1/64 dev lo scope link label x", True,
     ["Cannot specify scope for IPv6 addresses (2001:db8::1/64) - ignoring scope",
      "Cannot specify label for IPv6 addresses (2001:db8::1/64) - ignoring label"]),
    ("192.0.2.6 use_vmac dev lo", True,
     ["Unknown configuration entry 'use_vmac' for ip address - ignoring"]),
    ("192.0.2.7 dev lo track_group foo", True, ["track_group foo not found"]),
    ("192.0.2.5/24 brd + peer 192.0.2.9", True,
     ["Cannot specify address prefix when specifying peer address - ignoring",
      "Cannot specify broadcast and peer addresses - ignoring broadcast address"]),
    ("192.0.2.6 peer 192.0.2.10/24 peer 192.0.2.11", True,
     ["VRRP parsed invalid IP 192.0.2.10/24. skipping IP...",
      "Invalid peer address 192.0.2.10/24"]),
    ("192.0.2.7 brd 1.2.3.300", False,
     ["VRRP is trying to assign invalid broadcast 1.2.3.300. skipping VIP..."]),
    ("192.0.2.8 preferred_lft -1", True,
     ["negative number '-1'", "preferred_lft -1 is invalid"]),
    ("192.0.2.9 preferred_lft 4294967296", True,
     ["number '4294967296' outside unsigned integer range", "preferred_lft 4294967296 is invalid"]),
    ("192.0.2.10 scope foo", True, ["Invalid scope 'foo' specified for 192.0.2.10 - ignoring"]),
    ("192.0.2.10/24 brd - dev ifb1 dev ifb0", False,
     ["Cannot specify ipaddress device more than once for 192.0.2.10/24"]),
    ("2001:db8::1 brd 1.1.1.1", False,
     ["VRRP is trying to assign a broadcast brd to the IPv6 address 2001:db8::1 !!?? "
      "WTF... skipping VIP..."]),
    ("192.0.2.12 peer 2001:db8::2", True,
     ["Peer address 2001:db8::2 does not match address family"]),
    ("192.0.2.14/ab", True,
     ["invalid number 'ab'", "Invalid address prefix len ab for address 192.0.2.14/ab - using 32"]),
    ("::1/129", True,
     ["number '129' outside range [0, 128]",
      "Invalid address prefix len 129 for address ::1/129 - using 128"]),
    ("192.0.2.1 dev lo label 12345678901234567890 foo", False,
     ["Address label 12345678901234567890 is longer than maximum length 15 - removing address"]),
    ("192.0.2.5 dev lo peer 192.0.2.6 peer 192.0.2.7", True,
     ["Peer 192.0.2.7 - another peer has already been specified",
      "Unknown configuration entry '192.0.2.7' for ip address - ignoring"]),
    ("fe80::1%lo dev lo", False, ["VRRP parsed invalid IP fe80::1%lo. skipping IP..."]),
    ("192.0.2.7 dev lo brd", False, ["No brd parameter specified for 192.0.2.7"]),
    ("192.0.2.11 -nodad home autojoin noprefixroute no_track scope 200", True, []),
    ("192.0.2.16/", True, []),
]  # fmt: skip


@pytest.mark.parametrize(("line", "kept", "expected"), ADDRESS_CASES)
def test_address_messages_match_keepalived(line: str, kept: bool, expected: list[str]) -> None:
    spec, got = addr(line)
    assert got == expected
    assert (spec is not None) == kept


def test_address_values() -> None:
    spec, _ = addr("192.0.2.4/24 dev lo brd + label abc scope host preferred_lft forever")
    assert spec is not None
    assert spec.address == ipaddress.IPv4Interface("192.0.2.4/24")
    assert spec.broadcast == ipaddress.IPv4Address("192.0.2.255")
    assert (spec.dev, spec.label, spec.scope) == ("lo", "abc", 254)
    assert spec.preferred_lft == INFINITY_LIFE_TIME
    spec, _ = addr("192.0.2.4/24 dev lo brd -")
    assert spec is not None and spec.broadcast == ipaddress.IPv4Address("192.0.2.0")
    # keepalived reads "192.0.2.16/" as prefix 0 (checked in its config dump)
    spec, _ = addr("192.0.2.16/ dev lo")
    assert spec is not None and spec.prefixlen == 0
    # a peer resets the prefix to the full length
    spec, _ = addr("192.0.2.5/24 dev lo peer 192.0.2.9")
    assert spec is not None and spec.prefixlen == 32 and str(spec.peer) == "192.0.2.9"


def test_static_address_gets_default_interface() -> None:
    ctx = ctx_of(default_interface="ifb0")
    spec = net.parse_ip_address(node_of("192.0.2.3"), ctx, allow_track_group=True)
    assert spec is not None and spec.dev == "ifb0"
    spec = net.parse_ip_address(node_of("192.0.2.3"), ctx_of(), allow_track_group=True)
    assert spec is not None and spec.dev == "eth0"
    # keepalived 2.2.7: fatal when the default interface does not exist (exit 4)
    ctx = ctx_of(default_interface="ifb9")
    assert net.parse_ip_address(node_of("192.0.2.1"), ctx, allow_track_group=True) is None
    assert [(d.severity, d.message) for d in ctx.diags] == [
        (
            Severity.FATAL,
            "Static address 192.0.2.1 requires either an interface or default interface must exist",
        )
    ]


def test_virtual_address_takes_use_vmac_not_track_group() -> None:
    ctx = ctx_of()
    spec = net.parse_ip_address(
        node_of("192.0.2.9/24 use_vmac no_track track_group x"), ctx, allow_track_group=False
    )
    assert spec is not None and spec.use_vmac and spec.no_track and spec.dev is None
    assert messages(ctx) == [
        "Unknown configuration entry 'track_group' for ip address - ignoring",
        "Unknown configuration entry 'x' for ip address - ignoring",
    ]


def test_ipv6_preferred_lft_defaults() -> None:
    spec, _ = addr("2001:db8::1 dev lo")
    assert spec is not None and spec.preferred_lft is None and spec.effective_preferred_lft == 0
    spec, _ = addr("2001:db8::1/64 dev lo")
    assert spec is not None and spec.effective_preferred_lft == INFINITY_LIFE_TIME


def test_dynamic_interfaces_skip_the_interface_check() -> None:
    ctx = ctx_of(dynamic_interfaces=True)
    spec = net.parse_ip_address(node_of("192.0.2.1 dev foo9"), ctx, allow_track_group=True)
    assert spec is not None and spec.dev == "foo9" and messages(ctx) == []


ROUTE_CASES = [
    ("192.0.2.0/24 via 198.51.100.1", True,
     ["Warning - cannot track route 192.0.2.0/24 with no interface specified, not tracking"]),
    ("192.0.2.0/24 via 198.51.100.1 dev lo", True, []),
    ("192.0.2.0/24 gw 198.51.100.1 dev lo protocol 5", True,
     ['"gw" for routes is deprecated. Please use "via"',
      "Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol"]),
    ("unreachable 192.0.2.0/24 dev lo table 100 metric 5", True, []),
    ("192.0.2.0/24 dev lo table foo", False, ["Routing table foo not found for route"]),
    ("192.0.2.0/24 dev lo metric -1", False,
     ["negative number '-1'", "Invalid metric -1 specified for route"]),
    ("2001:db8::/32 via 198.51.100.1 dev lo", False,
     ["Cannot mix IPv4 and IPv6 addresses for route"]),
    ("192.0.2.0/24 nexthop via 198.51.100.1 dev lo weight 2 nexthop via 198.51.100.2 dev lo "
     "weight 0", True,
     ["Invalid weight 0 specified for route",
      "Warning - cannot track route 192.0.2.0/24 with no interface specified, not tracking"]),
    ("192.0.2.0/24 dev lo foo bar", False,
     ["VRRP parsed invalid IP foo. skipping IP...", "unknown route keyword foo"]),
    ("to 192.0.2.0/24 dev lo scope link src 192.0.2.1 tos 0x10 onlink expires 10", False,
     ["expires is only valid for IPv6"]),
    ("inet6 default dev lo pref low", False, ["Route must have a destination"]),
    ("dev lo", False, ["Route must have a destination"]),
    ("default6 dev lo", True, []),
    ("192.0.2.0/24 dev lo or 198.51.100.2", True,
     ['"or" for routes is deprecated. Please use "nexthop"']),
    ("192.0.2.0/24 dev lo track_group X", True, ["track_group X not found"]),
    ("192.0.2.0/24 dev lo no_track encap ip id 5 dst 1.2.3.4 ttl 3", True, []),
    ("inet6 xx ::/0 dev lo", True, []),
    ("5 192.0.2.0/24 dev lo", True, []),
    ("192.0.2.0/24 dev lo realms 300 no_track", False, ["Invalid realms 300 for route"]),
    ("as to 1.2.3.4 192.0.2.0/24 dev lo", True, ['"as to" for MPLS only - ignoring']),
    ("192.0.2.0/24 dev lo ttl-propagate foo", True, ["ttl-propagate value foo not recognised"]),
    ("192.0.2.0/24 dev lo encap foo bar", True, ["Unknown encap type - foo"]),
    ("192.0.2.0/24 dev lo encap ip6 tc 5 hoplimit 300", False,
     ["number '300' outside range [0, 255]",
      "Invalid hoplimit 300 specified for ip6 encapsulation",
      "number '300' outside range [0, 255]", "Invalid hoplimit 300 specified for route"]),
    ("192.0.2.0/24 dev lo rtt 1.5 rttvar 3 rto_min 2s", True,
     ["number '1.5' has too many decimal places"]),
    ("192.0.2.0/24 dev lo rtt 5e2", False, ["Invalid rtt 5e2 for route"]),
    ("192.0.2.0/24 dev lo rttvar 481s", False,
     ["number '481' outside range [0.000, 480.000]", "Invalid rttvar 481s for route"]),
    ("192.0.2.0/24 dev lo rto_min 120001", False,
     ["number '120001' outside range [0., 120000.]",
      "Invalid rto_min value 120001 specified for route"]),
    ("192.0.2.0/24 dev lo no_track protocol kernel table 4294967296", True, []),
    ("192.0.2.0/24 dev nonexist", False,
     ["WARNING - interface nonexist for VROUTE nexthop doesn't exist"]),
    ("192.0.2.0/24 dev lo track_group G track_group G foo", False,
     ["track_group G not found", "track_group G not found",
      "VRRP parsed invalid IP foo. skipping IP...", "unknown route keyword foo"]),
]  # fmt: skip


@pytest.mark.parametrize(("line", "kept", "expected"), ROUTE_CASES)
def test_route_messages_match_keepalived(line: str, kept: bool, expected: list[str]) -> None:
    spec, got = route(line)
    assert got == expected
    assert (spec is not None) == kept


def test_route_values() -> None:
    spec, _ = route(
        "192.0.2.0/24 dev lo mtu lock 1400 advmss 1300 rtt 10ms rttvar 5 hoplimit 3 window 10 "
        "cwnd 3 ssthresh 4 realms 1/2 rto_min 2s initcwnd 10 initrwnd 10 features ecn "
        "quickack 1 congctl lock cubic fastopen_no_cookie 1"
    )
    assert spec is not None
    assert (spec.mtu, spec.advmss, spec.hoplimit, spec.window) == (1400, 1300, 3, 10)
    assert spec.locks == frozenset({"mtu", "congctl"})
    # keepalived 2.2.7 clamps rtt values to [200 ms, 120 s] (seen in its config dump)
    assert (spec.rtt_us, spec.rttvar_us, spec.rto_min_us) == (200_000, 200_000, 2_000_000)
    assert spec.realms == (1 << 16) | 2
    assert spec.protocol == RTPROT_KEEPALIVED and not spec.no_track
    spec, _ = route("192.0.2.0/24 via 198.51.100.1 or 198.51.100.2 dev lo")
    assert spec is not None and spec.via is None
    assert [str(h.via) for h in spec.nexthops] == ["198.51.100.1", "198.51.100.2"]
    spec, _ = route("blackhole 192.0.2.0/24")
    assert spec is not None and spec.type == RouteType.BLACKHOLE and spec.no_track
    spec, _ = route("default via 2001:db8::1 dev lo")
    assert spec is not None and spec.dst == ipaddress.IPv6Interface("::/0")
    spec, _ = route("192.0.2.0/24 dev lo rtt 1601")  # 1/8 ms units: 200.125 ms
    assert spec is not None and spec.rtt_us == 200_125


def test_route_missing_parameter_aborts() -> None:
    ctx = ctx_of()
    assert net.parse_route(node_of("192.0.2.0/24 dev lo via"), ctx, virtual=True) is None
    (diag,) = list(ctx.diags)
    assert diag.severity == Severity.ABORT
    assert diag.message == (
        "*** Configuration line starting `192.0.2.0/24` is missing a parameter after keyword "
        "`via` at word position 5"
    )


RULE_CASES = [
    ("from 192.0.2.0/24 table 100", True,
     ["Rule has no preference specified - setting to 16384. This is probably not what you want."]),
    ("from 192.0.2.0/24 table 100 priority 10", True, []),
    ("inet6 from all table 100 priority 10", False, ["Unknown rule option all"]),
    ("from all to 2001:db8::/32 lookup main priority 10 dev lo", True, []),
    ("from all table 100 priority 10 goto 5", False,
     ["Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable/l3mdev for "
      "rule"]),
    ("from all priority 10 goto 5", False, ["Invalid rule - preference 10 >= goto target 5"]),
    ("from all goto 20", False, ["Invalid rule - goto target 20 specified without preference"]),
    ("from all priority 10", False, ["No action specified for rule - ignoring"]),
    ("from all priority 10 realms 1/2 blackhole", False,
     ["suppressor/realm specified for non table action - skipping"]),
    ("from all priority 10 fwmark 0x10/0xff table 5 iif lo oif lo uidrange 1-10 sport 1-20 "
     "dport 30 ipproto tcp l3mdev", False,
     ["invalid dport range 30", "Cannot specify l3mdev with other action"]),
    ("priority 10 l3mdev", True, []),
    ("from all priority 10 table 0", False, ["Table 0 is not valid"]),
    ("from all priority 10 type local", False, ["Invalid rule action local"]),
    ("from all priority 10 frob", False, ["Unknown rule option frob"]),
    ("to 1.2.3.4 priority 10 nop track_group X no_track", True, ["track_group X not found"]),
    ("from all priority 5 table 10 fwmark 0x10/0x20x", False,
     ["Invalid rule fwmark 0x10/0x20x specified"]),
    ("to 1.2.3.4 from all table 5 priority 5", False,
     ["rule specification has mixed IPv4 and IPv6"]),
    ("from all table 5 priority 5 ipproto 200", True, ["Invalid ipproto 200"]),
    ("from all table 5 priority 5 iif nonexist", False,
     ["WARNING - interface nonexist for rule doesn't exist"]),
    ("not from 10.0.0.0/8 priority 7 lookup local no_track protocol 3", True, []),
]  # fmt: skip


@pytest.mark.parametrize(("line", "kept", "expected"), RULE_CASES)
def test_rule_messages_match_keepalived(line: str, kept: bool, expected: list[str]) -> None:
    spec, got = rule(line)
    assert got == expected
    assert (spec is not None) == kept


def test_rule_values_and_priority_counter() -> None:
    ctx = ctx_of()
    first = net.parse_rule(node_of("from 192.0.2.0/24 table 100"), ctx, virtual=True)
    second = net.parse_rule(node_of("to 192.0.2.0/24 table 100"), ctx, virtual=True)
    v6 = net.parse_rule(node_of("from 2001:db8::/32 table 100"), ctx, virtual=True)
    assert first is not None and second is not None and v6 is not None
    assert (first.priority, second.priority, v6.priority) == (16384, 16383, 16384)
    spec, _ = rule("inet6 inet6 priority 5 table 10 dev lo")
    assert spec is not None and spec.family == 6 and spec.iif == "lo"
    spec, _ = rule("from all priority 0x10 table 10 fwmark 010 sport 1-2 uidrange 3-4")
    assert spec is not None
    assert (spec.priority, spec.fwmark, spec.fwmask, spec.sport) == (16, 8, None, (1, 2))
    assert spec.from_addr == ipaddress.IPv4Interface("0.0.0.0/0")
    assert spec.action == RuleAction.TO_TBL and spec.protocol == RTPROT_KEEPALIVED


# --------------------------------------------------------------------------- round trips


def reparse_address(spec: IpAddressSpec, static: bool) -> IpAddressSpec | None:
    ctx = ParseContext()
    return net.parse_ip_address(node_of(net.render_ip_address(spec)), ctx, allow_track_group=static)


@pytest.mark.parametrize(
    "line",
    [case[0] for case in ADDRESS_CASES if case[1]]
    + ["192.0.2.4/24 dev lo brd + label eth0:1 scope site preferred_lft forever mngtmpaddr"],
)
def test_address_round_trip(line: str) -> None:
    spec, _ = addr(line)
    assert spec is not None
    assert reparse_address(spec, True) == spec


@pytest.mark.parametrize("line", [case[0] for case in ROUTE_CASES if case[1]])
def test_route_round_trip(line: str) -> None:
    spec, _ = route(line)
    assert spec is not None
    text = net.render_route(spec)
    assert net.parse_route(node_of(text), ParseContext(), virtual=False) == spec


@pytest.mark.parametrize("line", [case[0] for case in RULE_CASES if case[1]])
def test_rule_round_trip(line: str) -> None:
    spec, _ = rule(line)
    assert spec is not None
    text = net.render_rule(spec)
    assert net.parse_rule(node_of(text), ParseContext(), virtual=False) == spec


v4_address = st.builds(ipaddress.IPv4Address, st.integers(0, 2**32 - 1))
names = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)
v4_iface = st.builds(
    lambda a, p: ipaddress.IPv4Interface((a, p)), st.ip_addresses(v=4), st.integers(0, 32)
)
v6_iface = st.builds(
    lambda a, p: ipaddress.IPv6Interface((a, p)),
    st.ip_addresses(v=6),
    st.integers(0, 128),
)


@st.composite
def address_specs(draw: st.DrawFn) -> tuple[IpAddressSpec, bool]:
    static = draw(st.booleans())
    address = draw(st.one_of(v4_iface, v6_iface))
    v4 = address.version == 4
    peer = draw(st.none() | st.ip_addresses(v=address.version))
    if peer is not None:
        address = ipaddress.ip_interface(address.ip)
    spec = IpAddressSpec(
        address=address,
        broadcast=draw(st.none() | v4_address) if v4 and peer is None else None,
        dev=draw(names) if static else draw(st.none() | names),
        scope=draw(st.integers(0, 255)) if v4 else 0,
        label=draw(st.none() | names) if v4 else None,
        peer=peer,
        home=draw(st.booleans()),
        dad=draw(st.booleans()),
        mngtmpaddr=draw(st.booleans()),
        noprefixroute=draw(st.booleans()),
        autojoin=draw(st.booleans()),
        no_track=draw(st.booleans()),
        track_group=draw(st.none() | names) if static else None,
        preferred_lft=draw(st.none() | st.integers(0, INFINITY_LIFE_TIME)),
        use_vmac=False if static else draw(st.booleans()),
    )
    return spec, static


@settings(max_examples=300)
@given(address_specs())
def test_address_render_parse_property(case: tuple[IpAddressSpec, bool]) -> None:
    spec, static = case
    assert reparse_address(spec, static) == spec


@st.composite
def route_specs(draw: st.DrawFn) -> RouteSpec:
    dst = draw(st.one_of(v4_iface, v6_iface))
    v4 = dst.version == 4
    ip = st.ip_addresses(v=dst.version)
    dev = draw(st.none() | names)
    no_track = dev is None or draw(st.booleans())
    hops = draw(
        st.lists(
            st.builds(
                Nexthop,
                via=st.none() | ip,
                dev=st.none() | names,
                weight=st.none() | st.integers(1, 256),
                onlink=st.booleans(),
                realms=st.none() | st.integers(0, 255) if v4 else st.none(),
            ),
            max_size=3,
        )
    )
    rtt = st.none() | st.integers(1600, 960_000).map(lambda v: v * 125)
    return RouteSpec(
        dst=dst,
        type=draw(st.sampled_from(list(RouteType)[1:])),
        src=draw(st.none() | v6_iface) if not v4 else None,
        pref_src=draw(st.none() | ip),
        via=draw(st.none() | ip),
        dev=dev,
        table=draw(st.integers(0, 2**32 - 1)),
        metric=draw(st.none() | st.integers(0, 2**32 - 1)),
        protocol=draw(st.none() | st.integers(0, 255)) if no_track else RTPROT_KEEPALIVED,
        scope=draw(st.none() | st.integers(0, 255)),
        tos=draw(st.none() | st.integers(0, 255)),
        onlink=draw(st.booleans()),
        expires=None if v4 else draw(st.none() | st.integers(0, 2**32 - 1)),
        mtu=draw(st.none() | st.integers(0, 2**32 - 1)),
        advmss=draw(st.integers(0, 2**32 - 1)),
        rtt_us=draw(rtt),
        rto_min_us=draw(st.none() | st.integers(200, 120_000).map(lambda v: v * 1000)),
        realms=draw(st.none() | st.integers(0, 255)) if v4 else None,
        features_ecn=draw(st.booleans()),
        congctl=draw(names),
        pref=None if v4 else draw(st.none() | st.integers(0, 255)),
        ttl_propagate=draw(st.none() | st.booleans()),
        locks=frozenset(draw(st.sets(st.sampled_from(["advmss", "congctl"])))),
        nexthops=tuple(hops),
        no_track=no_track,
        track_group=draw(st.none() | names) if dev is not None else None,
    )


@settings(max_examples=300)
@given(route_specs())
def test_route_render_parse_property(spec: RouteSpec) -> None:
    text = net.render_route(spec)
    assert net.parse_route(node_of(text), ParseContext(), virtual=False) == spec, text


def test_static_blocks_through_the_loader() -> None:
    text = (
        "static_ipaddress {\n    192.0.2.1/24 dev eth0 label eth0:1\n}\n"
        "static_routes {\n    192.0.2.0/24 via 198.51.100.1 dev eth0 metric 5\n}\n"
        "static_rules {\n    from 192.0.2.0/24 priority 100 table 10\n}\n"
    )
    vrrp = load_text(text).config.vrrp
    ctx = ParseContext()
    assert vrrp.static_ipaddresses == (
        net.parse_ip_address(node_of("192.0.2.1/24 dev eth0 label eth0:1"), ctx,
                             allow_track_group=True),
    )  # fmt: skip
    assert vrrp.static_routes == (
        net.parse_route(node_of("192.0.2.0/24 via 198.51.100.1 dev eth0 metric 5"), ctx,
                        virtual=False),
    )  # fmt: skip
    assert vrrp.static_rules == (
        net.parse_rule(node_of("from 192.0.2.0/24 priority 100 table 10"), ctx, virtual=False),
    )
