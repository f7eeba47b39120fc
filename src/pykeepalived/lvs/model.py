"""The desired state of the kernel's load-balancing tables, as plain frozen values.

A `LvsState` is a set of `Service` s, each identified by a `ServiceId` (address + port +
protocol, or fwmark + family) and holding its scheduler settings (`ServiceAttrs`) and its
destinations (`Dest`). Both backends (IPVS, nftables) are programmed from this one model and
`lvs.diff` computes the operations that turn one state into another.

`desired_state` builds it from the config model and the current health of the real servers,
with keepalived's rules: a dead real server is left out (or kept with weight 0 with
``inhibit_on_failure``), the sorry server replaces the real servers when the quorum is lost,
and a ``virtual_server group`` is expanded into one kernel service per address / fwmark.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from pykeepalived.checkers.dataplane import format_vs
from pykeepalived.checkers.quorum import initial_state, real_weight
from pykeepalived.checkers.realserver import VirtualServerPool
from pykeepalived.config.errors import Location
from pykeepalived.config.model.lvs import (
    AddressFamily,
    AddressService,
    Forwarding,
    FwmarkService,
    GroupService,
    IPAddress,
    LvsConfig,
    Protocol,
    RealServer,
    ServiceFlag,
    VirtualServer,
    VsgFwmark,
)

_NOWHERE = Location("<lvs>", 0, 0)

__all__ = [
    "Dest",
    "DestId",
    "HealthView",
    "LvsState",
    "RsHealth",
    "Service",
    "ServiceAttrs",
    "ServiceId",
    "configured_dests",
    "configured_state_dests",
    "desired_state",
    "dest_id_for",
    "expand_service_ids",
    "health_of_pools",
    "persistence_netmask",
]


@dataclass(frozen=True)
class ServiceId:
    """What names a kernel virtual service.

    Either ``fwmark`` > 0 (``protocol`` 0, ``address`` None, ``port`` 0) or an address service
    (``protocol`` a `Protocol`, ``port`` 0 for a port-less persistent service).
    """

    family: AddressFamily
    protocol: int
    address: IPAddress | None
    port: int
    fwmark: int = 0

    @classmethod
    def for_address(cls, address: IPAddress, port: int, protocol: Protocol) -> ServiceId:
        return cls(AddressFamily.of(address), int(protocol), address, port, 0)

    @classmethod
    def for_fwmark(cls, fwmark: int, family: AddressFamily = AddressFamily.INET) -> ServiceId:
        return cls(family, 0, None, 0, fwmark)

    @property
    def is_fwmark(self) -> bool:
        return self.fwmark != 0

    def __str__(self) -> str:
        if self.is_fwmark:
            suffix = "" if self.family is AddressFamily.INET else " IPv6"
            return f"FWM {self.fwmark}{suffix}"
        proto = Protocol(self.protocol).name if self.protocol in _PROTOCOLS else str(self.protocol)
        return f"{proto} [{self.address}]:{self.port}"

    def sort_key(self) -> tuple[int, int, int, int, int]:
        """A total order that works across families (IPv4 and IPv6 addresses do not compare)."""
        addr = int(self.address) if self.address is not None else -1
        return (self.fwmark, int(self.family), self.protocol, addr, self.port)


_PROTOCOLS = frozenset(int(p) for p in Protocol)


@dataclass(frozen=True)
class ServiceAttrs:
    """The editable part of a service.

    - ``scheduler``: the IPVS scheduler name (``lb_algo``).
    - ``flags``: ``IP_VS_SVC_F_*`` bits (persistent, one-packet, sh/mh flags); HASHED never.
    - ``timeout_s``: persistence timeout, 0 = not persistent.
    - ``netmask``: persistence granularity: an IPv4 mask as an int (0xffffffff by default) or
      an IPv6 prefix length (128 by default).
    - ``pe_name``: persistence engine, "" for none.
    """

    scheduler: str = "wlc"
    flags: int = 0
    timeout_s: int = 0
    netmask: int = 0xFFFFFFFF
    pe_name: str = ""


@dataclass(frozen=True)
class DestId:
    """A destination of a service: real server address and port (0 for fwmark services)."""

    address: IPAddress
    port: int

    def __str__(self) -> str:
        return f"[{self.address}]:{self.port}"

    def sort_key(self) -> tuple[int, int, int]:
        return (self.address.version, int(self.address), self.port)


@dataclass(frozen=True)
class Dest:
    """A destination and its editable settings (weight, forwarding method, thresholds)."""

    id: DestId
    weight: int
    forwarding: Forwarding = field(default_factory=Forwarding)
    u_threshold: int = 0
    l_threshold: int = 0
    location: Location = field(default=_NOWHERE, compare=False)

    def with_weight(self, weight: int) -> Dest:
        return Dest(
            self.id, weight, self.forwarding, self.u_threshold, self.l_threshold, self.location
        )


@dataclass(frozen=True)
class Service:
    """One kernel service: its id, attributes, and destinations sorted by id.

    ``location`` is the ``virtual_server`` line it came from (for error messages); it is not
    compared.
    """

    id: ServiceId
    attrs: ServiceAttrs
    dests: tuple[Dest, ...] = ()
    location: Location = field(default=_NOWHERE, compare=False)

    def __post_init__(self) -> None:
        ids = [d.id for d in self.dests]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{self.id}: duplicate destinations")
        ordered = tuple(sorted(self.dests, key=lambda d: d.id.sort_key()))
        if ordered != self.dests:
            object.__setattr__(self, "dests", ordered)

    def dest_map(self) -> dict[DestId, Dest]:
        return {d.id: d for d in self.dests}


@dataclass(frozen=True)
class LvsState:
    """A whole table: services sorted by id, at most one per id."""

    services: tuple[Service, ...] = ()

    def __post_init__(self) -> None:
        ids = [s.id for s in self.services]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate services")
        ordered = tuple(sorted(self.services, key=lambda s: s.id.sort_key()))
        if ordered != self.services:
            object.__setattr__(self, "services", ordered)

    @classmethod
    def of(cls, services: Iterable[Service]) -> LvsState:
        return cls(tuple(services))

    def service_map(self) -> dict[ServiceId, Service]:
        return {s.id: s for s in self.services}

    def __iter__(self) -> Iterator[Service]:
        return iter(self.services)

    def __len__(self) -> int:
        return len(self.services)

    @property
    def dest_count(self) -> int:
        return sum(len(s.dests) for s in self.services)


# ---- from the config model ----------------------------------------------------------------


@dataclass(frozen=True)
class RsHealth:
    """What the checkers currently say about one real server.

    ``weight`` replaces the configured weight (MISC_CHECK ``misc_dynamic``, FILE_CHECK) when
    not ``None``.
    """

    alive: bool
    weight: int | None = None


HealthKey = tuple[str, IPAddress, int]


@dataclass(frozen=True)
class HealthView:
    """The health of every real server, keyed by (virtual server key text, address, port).

    A real server missing from ``real_servers`` is alive unless it has ``alpha`` (keepalived
    starts such servers down). ``quorum_up`` gives the quorum state of a virtual server as the
    checker runtime holds it (with hysteresis); a missing entry is computed from the weights.
    """

    real_servers: Mapping[HealthKey, RsHealth] = field(default_factory=dict)
    quorum_up: Mapping[str, bool] = field(default_factory=dict)

    def of(self, vs_key: str, rs: RealServer) -> RsHealth:
        found = self.real_servers.get((vs_key, rs.address, rs.port))
        if found is not None:
            return found
        return RsHealth(alive=not rs.alpha)


def health_of_pools(pools: Iterable[VirtualServerPool]) -> HealthView:
    """The checker runtime's view: each real server's alive state and effective weight, and
    each virtual server's quorum state (with its hysteresis), as `desired_state` takes it."""
    real_servers: dict[HealthKey, RsHealth] = {}
    quorum: dict[str, bool] = {}
    for pool in pools:
        key = pool.key.text
        quorum[key] = pool.quorum_up
        for rs in pool.real_servers:
            real_servers[(key, rs.config.address, rs.config.port)] = RsHealth(rs.alive, rs.weight)
    return HealthView(real_servers, quorum)


def persistence_netmask(vs: VirtualServer, family: AddressFamily) -> int:
    """``persistence_granularity`` as IPVS wants it: a v4 mask as int, or a v6 prefix length."""
    gran = vs.persistence_granularity
    if family is AddressFamily.INET6:
        return gran if isinstance(gran, int) else 128
    if isinstance(gran, ipaddress.IPv4Address):
        return int(gran)
    if isinstance(gran, int):
        return int(ipaddress.IPv4Network(f"0.0.0.0/{gran}").netmask)
    return 0xFFFFFFFF


def service_attrs(vs: VirtualServer, family: AddressFamily) -> ServiceAttrs:
    flags = int(vs.flags) & ~int(ServiceFlag.HASHED) & ~int(ServiceFlag.PERSISTENT)
    if vs.persistence_timeout_s:
        flags |= int(ServiceFlag.PERSISTENT)
    return ServiceAttrs(
        scheduler=str(vs.lb_algo),
        flags=flags,
        timeout_s=vs.persistence_timeout_s,
        netmask=persistence_netmask(vs, family),
        pe_name=vs.persistence_engine or "",
    )


def expand_service_ids(vs: VirtualServer, config: LvsConfig) -> list[ServiceId]:
    """The kernel services of a virtual server (a group gives one per address and fwmark)."""
    svc = vs.service
    protocol = vs.protocol if vs.protocol is not None else Protocol.TCP
    if isinstance(svc, AddressService):
        return [ServiceId.for_address(svc.address, svc.port, protocol)]
    if isinstance(svc, FwmarkService):
        return [ServiceId.for_fwmark(svc.fwmark, vs.family or AddressFamily.INET)]
    assert isinstance(svc, GroupService)
    group = config.group(svc.name)
    if group is None:
        return []
    ids: list[ServiceId] = []
    for entry in group.entries:
        if isinstance(entry, VsgFwmark):
            fam = entry.family or vs.family or AddressFamily.INET
            ids.append(ServiceId.for_fwmark(entry.fwmark, fam))
        else:
            ids.extend(
                ServiceId.for_address(address, entry.port, protocol)
                for address in entry.addresses()
            )
    seen: set[ServiceId] = set()
    unique: list[ServiceId] = []
    for sid in ids:
        if sid not in seen:
            seen.add(sid)
            unique.append(sid)
    return unique


def _vs_key_text(vs: VirtualServer) -> str:
    """The text the checker runtime names the virtual server by."""
    return format_vs(vs)


def dest_id_for(sid: ServiceId, address: IPAddress, port: int) -> DestId:
    """The kernel destination of a real server in service ``sid`` (fwmark: no port; a
    real server without a port takes the service's)."""
    if sid.is_fwmark:
        return DestId(address, 0)
    if not port and sid.port:
        port = sid.port
    return DestId(address, port)


def virtual_server_dests(vs: VirtualServer, sid: ServiceId, health: HealthView) -> tuple[Dest, ...]:
    """The destinations of one kernel service of ``vs`` given the real servers' health."""
    key = _vs_key_text(vs)
    live: list[tuple[RealServer, int]] = []
    dead: list[RealServer] = []
    for rs in vs.real_servers:
        h = health.of(key, rs)
        weight = real_weight(h.weight if h.weight is not None else rs.weight)
        if h.alive:
            live.append((rs, weight))
        else:
            dead.append(rs)
    live_weight = sum(w for _, w in live)
    quorum_up = health.quorum_up.get(key)
    if quorum_up is None:
        # no runtime state: the state keepalived starts with (``set_quorum_states()``, then
        # ``update_quorum_state(init)``): up when the live weight reaches quorum + hysteresis
        quorum_up = live_weight > 0 and initial_state(live_weight, vs.quorum, vs.hysteresis)
    dests: dict[DestId, Dest] = {}

    def put(rs: RealServer, weight: int) -> None:
        did = dest_id_for(sid, rs.address, rs.port)
        dests[did] = Dest(did, weight, rs.forwarding, rs.uthreshold, rs.lthreshold, rs.location)

    sorry = vs.sorry_server
    if quorum_up or sorry is None:
        for rs, weight in live:
            put(rs, weight)
        for rs in dead:
            if rs.inhibit_on_failure:
                put(rs, 0)
        if sorry is not None and sorry.inhibit:
            did = dest_id_for(sid, sorry.address, sorry.port)
            dests.setdefault(did, Dest(did, 0, sorry.forwarding, location=sorry.location))
    else:
        # quorum lost: the live real servers are taken out (inhibited ones stay at 0)
        for rs, _ in live:
            if rs.inhibit_on_failure:
                put(rs, 0)
        for rs in dead:
            if rs.inhibit_on_failure:
                put(rs, 0)
        did = dest_id_for(sid, sorry.address, sorry.port)
        dests[did] = Dest(did, real_weight(vs.weight), sorry.forwarding, location=sorry.location)
    return tuple(dests.values())


def configured_dests(vs: VirtualServer, sid: ServiceId) -> frozenset[DestId]:
    """Every destination the config names for one kernel service of ``vs`` (its real
    servers and its sorry server, whatever their health): what adoption does not call
    foreign."""
    ids = {dest_id_for(sid, rs.address, rs.port) for rs in vs.real_servers}
    if vs.sorry_server is not None:
        ids.add(dest_id_for(sid, vs.sorry_server.address, vs.sorry_server.port))
    return frozenset(ids)


def configured_state_dests(config: LvsConfig) -> dict[ServiceId, frozenset[DestId]]:
    """`configured_dests` of every kernel service of the config."""
    out: dict[ServiceId, frozenset[DestId]] = {}
    for vs in config.virtual_servers:
        for sid in expand_service_ids(vs, config):
            out.setdefault(sid, configured_dests(vs, sid))
    return out


def desired_state(config: LvsConfig, health: HealthView | None = None) -> LvsState:
    """The whole table the config asks for, given the real servers' health.

    Two virtual servers naming the same kernel service (keepalived refuses this) keep the
    first one.
    """
    health = health if health is not None else HealthView()
    services: dict[ServiceId, Service] = {}
    for vs in config.virtual_servers:
        for sid in expand_service_ids(vs, config):
            if sid in services:
                continue
            dests = virtual_server_dests(vs, sid, health)
            services[sid] = Service(sid, service_attrs(vs, sid.family), dests, vs.location)
    return LvsState.of(services.values())
