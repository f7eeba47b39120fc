"""Address, route and rule specifications, as keepalived 2.2.7 reads them.

These are the entries of ``virtual_ipaddress``/``virtual_ipaddress_excluded``/``static_ipaddress``
(`IpAddressSpec`), ``virtual_routes``/``static_routes`` (`RouteSpec`) and
``virtual_rules``/``static_rules`` (`RuleSpec`). They hold what keepalived keeps after parsing
(its fix-ups already applied, e.g. a tracked route gets protocol ``keepalived``), so two specs
are equal when keepalived would program the same thing. Interface names are kept as names;
resolving them to indexes is the data plane's job. The grammar lives in `config.keywords.net`.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass, field

from pykeepalived.config.errors import Location

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface

INFINITY_LIFE_TIME = 0xFFFFFFFF
"""``preferred_lft forever``."""

RTPROT_KEEPALIVED = 18
"""The route/rule protocol keepalived uses for everything it tracks."""

RT_TABLE_MAIN = 254
RULE_START_PRIORITY = 16384
"""keepalived numbers rules without a preference downwards from here, per family."""


class Scope(enum.IntEnum):
    """``rt_scopes`` values (any 0..255 is allowed; these have names)."""

    UNIVERSE = 0
    SITE = 200
    LINK = 253
    HOST = 254
    NOWHERE = 255


class RouteType(enum.IntEnum):
    """``rtm_type`` (RTN_*) of a route."""

    UNSPEC = 0
    UNICAST = 1
    LOCAL = 2
    BROADCAST = 3
    ANYCAST = 4
    MULTICAST = 5
    BLACKHOLE = 6
    UNREACHABLE = 7
    PROHIBIT = 8
    THROW = 9
    NAT = 10
    XRESOLVE = 11


class RuleAction(enum.IntEnum):
    """``fib_rule_hdr.action`` (FR_ACT_*) of a rule."""

    UNSPEC = 0
    TO_TBL = 1
    GOTO = 2
    NOP = 3
    BLACKHOLE = 6
    UNREACHABLE = 7
    PROHIBIT = 8


@dataclass(frozen=True, slots=True)
class IpAddressSpec:
    """One address line: ``IP[/LEN] [brd IP|+|-] [dev IF] [scope S] [label L] [peer IP] ...``.

    - ``address``: the address with its prefix length (/32 or /128 when none was given; with
      ``peer`` the prefix is always the full length, as keepalived resets it).
    - ``broadcast``: IPv4 broadcast (``brd +``/``brd -`` are already computed).
    - ``dev``: interface name; ``None`` for a VIP means "the instance's interface". Static
      addresses always have one (keepalived fills in ``default_interface``).
    - ``scope``: 0..255 (`Scope`); always 0 for IPv6.
    - ``label``: IPv4 only, at most 15 characters.
    - ``dad``: ``-nodad`` was given, so keepalived does *not* set IFA_F_NODAD on an IPv6 add
      and the kernel performs duplicate address detection.
    - ``home``/``mngtmpaddr``/``noprefixroute``/``autojoin``: the IFA_F_* flags of those names.
    - ``no_track``: keepalived does not watch the address (VIPs only).
    - ``track_group``: name of the ``track_group`` (static addresses only).
    - ``preferred_lft``: seconds, `INFINITY_LIFE_TIME` for ``forever``; ``None`` = not given
      (see `effective_preferred_lft`).
    - ``use_vmac``: put the address on the instance's VMAC (VIPs only).
    """

    address: IPInterface
    broadcast: ipaddress.IPv4Address | None = None
    dev: str | None = None
    scope: int = 0
    label: str | None = None
    peer: IPAddress | None = None
    home: bool = False
    dad: bool = False
    mngtmpaddr: bool = False
    noprefixroute: bool = False
    autojoin: bool = False
    no_track: bool = False
    track_group: str | None = None
    preferred_lft: int | None = None
    use_vmac: bool = False
    location: Location | None = field(default=None, compare=False, repr=False)

    @property
    def family(self) -> int:
        """4 or 6."""
        return self.address.version

    @property
    def ip(self) -> IPAddress:
        return self.address.ip

    @property
    def prefixlen(self) -> int:
        return self.address.network.prefixlen

    @property
    def effective_preferred_lft(self) -> int | None:
        """What keepalived sends: an IPv6 address without ``preferred_lft`` gets 0 if /128
        (deprecated, so it is never picked as a source address) and forever otherwise."""
        if self.preferred_lft is not None or self.family == 4:
            return self.preferred_lft
        return 0 if self.prefixlen == 128 else INFINITY_LIFE_TIME


@dataclass(frozen=True, slots=True)
class Encap:
    """A lightweight-tunnel encapsulation (``encap ip|ip6|mpls|ila ...``).

    ``kind`` is ``ip``, ``ip6``, ``mpls`` or ``ila``. For ip/ip6: ``id``, ``dst``, ``src``,
    ``tos`` (the ``tos``/``tc`` dsfield), ``ttl`` (ttl/hoplimit) and ``flags``; for mpls:
    ``labels``; for ila: ``locator`` (64-bit).
    """

    kind: str
    id: int | None = None
    dst: IPAddress | None = None
    src: IPAddress | None = None
    tos: int | None = None
    ttl: int | None = None
    flags: int | None = None
    labels: tuple[int, ...] = ()
    locator: int | None = None


@dataclass(frozen=True, slots=True)
class Nexthop:
    """One ``nexthop via ADDR dev IF weight N onlink realms R encap ...`` of a multipath route.

    ``weight`` is 1..256 as written (``None`` = not given).
    """

    via: IPAddress | None = None
    dev: str | None = None
    weight: int | None = None
    onlink: bool = False
    realms: int | None = None
    encap: Encap | None = None


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """One route line, in ``ip route`` syntax.

    - ``dst``: destination with prefix (``default``/``any``/``all`` = the family's /0).
    - ``type``: `RouteType`;
    - ``src``: ``from PREFIX`` (IPv6 source routing); ``pref_src``: ``src ADDR``.
    - ``via``: gateway; ``dev``: output interface (``dev``/``oif``).
    - ``table`` (default main), ``metric`` (``metric``/``priority``/``preference``),
      ``protocol``, ``scope``, ``tos``: ``None`` = not given, except where keepalived fills
      them in (a tracked route always has protocol `RTPROT_KEEPALIVED`).
    - The route metrics (``mtu`` ... ``fastopen_no_cookie``) hold kernel values, except
      ``rtt_us``/``rttvar_us``/``rto_min_us`` which are microseconds (keepalived clamps them
      to [200 ms, 120 s]; the kernel wants rtt in 1/8 ms and rttvar in 1/4 ms). ``locks``
      names the metrics given with ``lock``.
    - ``nexthops``: multipath hops (the deprecated ``or ADDR`` form is read as two nexthops).
    - ``no_track``: not watched (keepalived also sets this when no ``dev`` is given).
    - ``track_group``: static routes only.
    """

    dst: IPInterface
    type: RouteType = RouteType.UNICAST
    src: IPInterface | None = None
    pref_src: IPAddress | None = None
    via: IPAddress | None = None
    dev: str | None = None
    table: int = RT_TABLE_MAIN
    metric: int | None = None
    protocol: int | None = None
    scope: int | None = None
    tos: int | None = None
    onlink: bool = False
    encap: Encap | None = None
    expires: int | None = None
    mtu: int | None = None
    advmss: int | None = None
    hoplimit: int | None = None
    rtt_us: int | None = None
    rttvar_us: int | None = None
    reordering: int | None = None
    window: int | None = None
    cwnd: int | None = None
    ssthresh: int | None = None
    realms: int | None = None
    rto_min_us: int | None = None
    initcwnd: int | None = None
    initrwnd: int | None = None
    features_ecn: bool = False
    quickack: int | None = None
    congctl: str | None = None
    pref: int | None = None
    ttl_propagate: bool | None = None
    fastopen_no_cookie: int | None = None
    locks: frozenset[str] = frozenset()
    nexthops: tuple[Nexthop, ...] = ()
    no_track: bool = False
    track_group: str | None = None
    location: Location | None = field(default=None, compare=False, repr=False)

    @property
    def family(self) -> int:
        return self.dst.version


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One rule line, in ``ip rule`` syntax.

    - ``family``: 4 or 6 (from the addresses; 4 when nothing says otherwise).
    - ``from_addr``/``to_addr``: prefixes (``all``/``default``/``any`` = the family's /0).
    - ``invert``: ``not``. ``priority``: ``preference``/``order``/``priority``; keepalived gives a
      rule without one the next free number counting down from 16384 (a config error).
    - ``tos`` (dsfield), ``fwmark``/``fwmask``, ``realms``, ``suppress_prefixlen``,
      ``suppress_group``, ``iif`` (``dev``/``iif``), ``oif``, ``tunnel_id``, ``uid_range``,
      ``l3mdev``, ``protocol`` (set to `RTPROT_KEEPALIVED` when tracked), ``ip_proto``,
      ``sport``/``dport`` (inclusive ranges).
    - ``action``: `RuleAction`; ``table`` for TO_TBL (0 with l3mdev), ``goto_target`` for GOTO.
    """

    family: int = 4
    from_addr: IPInterface | None = None
    to_addr: IPInterface | None = None
    invert: bool = False
    priority: int | None = None
    tos: int = 0
    fwmark: int | None = None
    fwmask: int | None = None
    realms: int = 0
    suppress_prefixlen: int | None = None
    suppress_group: int | None = None
    iif: str | None = None
    oif: str | None = None
    tunnel_id: int = 0
    uid_range: tuple[int, int] | None = None
    l3mdev: bool = False
    protocol: int | None = None
    ip_proto: int | None = None
    sport: tuple[int, int] | None = None
    dport: tuple[int, int] | None = None
    action: RuleAction = RuleAction.UNSPEC
    table: int = 0
    goto_target: int = 0
    no_track: bool = False
    track_group: str | None = None
    location: Location | None = field(default=None, compare=False, repr=False)
