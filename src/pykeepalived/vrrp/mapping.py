"""From the config model to what one VRRP instance runs: pure, no I/O.

:func:`plan_instance` turns a resolved :class:`~pykeepalived.config.model.vrrp.VrrpInstance`
(and the global settings it inherits) into an :class:`InstancePlan`: the state machine's
:class:`~pykeepalived.vrrp.fsm.MachineConfig`, the codec's
:class:`~pykeepalived.vrrp.packet.InstanceExpectations`, the socket it shares, where adverts
go, the addresses to install and the scripts to run.

:func:`instance_identity` is keepalived's ``vrrp_exist()``: what makes an instance "the same"
across a reload (VRID, family, interface, unicast or multicast and the addresses involved),
not its name.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from pykeepalived.config.model.common import Script
from pykeepalived.config.model.net import IpAddressSpec, RouteSpec, RuleSpec
from pykeepalived.config.model.vrrp import (
    SyncGroup,
    UnicastChecksumCompat,
    VrrpInstance,
    VrrpState,
)
from pykeepalived.net.addresses import VirtualAddress
from pykeepalived.net.vmac import VmacSpec, vmac_name
from pykeepalived.notify.scripts import ScriptSpec, resolve_user
from pykeepalived.vrrp.auth import AuthType, auth_data_from_password
from pykeepalived.vrrp.checksum import IpProto
from pykeepalived.vrrp.fsm import PRIO_OWNER, MachineConfig, State
from pykeepalived.vrrp.packet import (
    VRRP_MCAST_GROUP4,
    VRRP_MCAST_GROUP6,
    VRRP_TTL,
    ChecksumCompat,
    Family,
    InstanceExpectations,
    UnicastPeer,
    VrrpVersion,
)
from pykeepalived.vrrp.sockets import SocketKey
from pykeepalived.vrrp.tracking import TrackKind, TrackRef

__all__ = [
    "GlobalSettings",
    "InstanceIdentity",
    "InstancePlan",
    "NotifyScripts",
    "global_settings",
    "instance_identity",
    "plan_instance",
    "script_spec",
    "track_refs",
    "virtual_address",
]

log = logging.getLogger(__name__)

IPAddress = IPv4Address | IPv6Address


@dataclass(frozen=True)
class GlobalSettings:
    """The ``global_defs`` values the VRRP runtime reads (keepalived's defaults)."""

    mcast_group4: IPv4Address = VRRP_MCAST_GROUP4
    mcast_group6: IPv6Address = VRRP_MCAST_GROUP6
    garp_interval_s: float = 0.0
    """``vrrp_garp_interval``: gap between two GARPs on one interface."""
    gna_interval_s: float = 0.0
    """``vrrp_gna_interval``: gap between two unsolicited NAs on one interface."""
    check_unicast_src: bool = False
    log_unknown_vrids: bool = False
    startup_delay_s: float = 0.0
    script_user: str | None = None
    script_group: str | None = None
    notify_fifo: str | None = None
    """``notify_fifo``: receives VRRP and LVS events."""
    vrrp_notify_fifo: str | None = None
    """``vrrp_notify_fifo``: VRRP events only."""
    notify_fifo_script: Script | None = None
    vrrp_notify_fifo_script: Script | None = None
    enable_script_security: bool = False
    notify_priority_changes: bool = False
    nftables_table: str = "keepalived"
    nftables_priority: int = -1
    realtime_priority: int = 0
    process_priority: int = 0
    garp_extra_if_s: int = 0
    garp_extra_if_all: bool = False
    rx_bufs_policy: str | None = None
    """``vrrp_rx_bufs_policy MTU|ADVERT`` (None: the system's default socket buffer)."""
    rx_bufs_size: int | None = None
    """``vrrp_rx_bufs_policy <bytes>``: bytes per instance."""
    rx_bufs_multiplier: int = 3
    """``vrrp_rx_bufs_multiplier``: MTUs or adverts per instance."""


def _first_attr(obj: object, names: tuple[str, ...]) -> Any:
    for name in names:
        value = getattr(obj, name, None)
        if value is not None:
            return value
    return None


def _as_float(value: Any, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, int | float):
        return float(value)
    return default


def _fifo_path(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    path = _first_attr(value, ("path", "name", "file"))
    return str(path) if path else None


def _fifo_script(value: Any) -> Script | None:
    if isinstance(value, Script):
        return value
    script = _first_attr(value, ("script",)) if value is not None else None
    return script if isinstance(script, Script) else None


def global_settings(global_defs: object) -> GlobalSettings:
    """Read the VRRP-relevant globals from the ``global_defs`` model (missing = default).

    The names tried cover the model's spelling (``vrrp_garp_interval_s`` or
    ``vrrp_garp_interval``, ...); anything absent keeps keepalived's default.
    """
    g4 = _first_attr(global_defs, ("vrrp_mcast_group4", "mcast_group4"))
    g6 = _first_attr(global_defs, ("vrrp_mcast_group6", "mcast_group6"))
    user = _first_attr(global_defs, ("script_user",))
    group = _first_attr(global_defs, ("script_group",))
    if user is not None and not isinstance(user, str):  # a (user, group) pair or an object
        group = _first_attr(user, ("group",)) if group is None else group
        user = _first_attr(user, ("user", "name"))
    notify_fifo = _first_attr(global_defs, ("notify_fifo",))
    vrrp_fifo = _first_attr(global_defs, ("vrrp_notify_fifo",))
    return GlobalSettings(
        mcast_group4=IPv4Address(str(g4)) if g4 is not None else VRRP_MCAST_GROUP4,
        mcast_group6=IPv6Address(str(g6)) if g6 is not None else VRRP_MCAST_GROUP6,
        garp_interval_s=_as_float(
            _first_attr(global_defs, ("vrrp_garp_interval_s", "vrrp_garp_interval")), 0.0
        ),
        gna_interval_s=_as_float(
            _first_attr(global_defs, ("vrrp_gna_interval_s", "vrrp_gna_interval")), 0.0
        ),
        check_unicast_src=bool(_first_attr(global_defs, ("vrrp_check_unicast_src",))),
        log_unknown_vrids=bool(_first_attr(global_defs, ("log_unknown_vrids",))),
        startup_delay_s=_as_float(
            _first_attr(global_defs, ("vrrp_startup_delay_s", "vrrp_startup_delay")), 0.0
        ),
        script_user=user if isinstance(user, str) else None,
        script_group=group if isinstance(group, str) else None,
        notify_fifo=_fifo_path(notify_fifo),
        vrrp_notify_fifo=_fifo_path(vrrp_fifo),
        notify_fifo_script=_fifo_script(
            _first_attr(global_defs, ("notify_fifo_script",)) or notify_fifo
        ),
        vrrp_notify_fifo_script=_fifo_script(
            _first_attr(global_defs, ("vrrp_notify_fifo_script",)) or vrrp_fifo
        ),
        enable_script_security=bool(_first_attr(global_defs, ("enable_script_security",))),
        rx_bufs_policy=_first_attr(global_defs, ("vrrp_rx_bufs_policy",)),
        rx_bufs_size=_first_attr(global_defs, ("vrrp_rx_bufs_size",)),
        rx_bufs_multiplier=int(_first_attr(global_defs, ("vrrp_rx_bufs_multiplier",)) or 3),
        notify_priority_changes=bool(_first_attr(global_defs, ("vrrp_notify_priority_changes",))),
        nftables_table=str(_first_attr(global_defs, ("nftables",)) or "keepalived"),
        nftables_priority=int(_first_attr(global_defs, ("nftables_priority",)) or -1),
        realtime_priority=int(_first_attr(global_defs, ("vrrp_realtime_priority",)) or 0),
        process_priority=int(_first_attr(global_defs, ("vrrp_process_priority",)) or 0),
        garp_extra_if_s=int(_first_attr(global_defs, ("vrrp_garp_extra_if",)) or 0),
        garp_extra_if_all=bool(_first_attr(global_defs, ("vrrp_garp_extra_if_all",))),
    )


@dataclass(frozen=True)
class NotifyScripts:
    """The instance's notify scripts, ready to exec (None: not configured or unusable)."""

    master: ScriptSpec | None = None
    backup: ScriptSpec | None = None
    fault: ScriptSpec | None = None
    stop: ScriptSpec | None = None
    generic: ScriptSpec | None = None
    """``notify``: gets ``INSTANCE <name> <STATE> <priority>`` appended."""
    master_rx_lower_pri: ScriptSpec | None = None

    def for_state(self, state: State) -> ScriptSpec | None:
        """The state-specific script for entering ``state``."""
        return {
            State.MASTER: self.master,
            State.BACKUP: self.backup,
            State.FAULT: self.fault,
            State.STOP: self.stop,
        }.get(state)


@dataclass(frozen=True)
class InstanceIdentity:
    """What keepalived's ``vrrp_exist()`` compares to match instances across a reload."""

    vrid: int
    family: Family
    interface: str | None
    unicast: bool
    src_ip: IPAddress | None
    mcast_dst: IPAddress | None
    use_vmac: bool


@dataclass(frozen=True)
class InstancePlan:
    """Everything the runtime needs for one instance (see the module docstring).

    ``interface`` None means "the interface holding ``src_ip``" (found at start).
    ``advert_addresses`` are the VIPs carried in adverts (the instance's family, at most
    255); ``vips`` are all ``virtual_ipaddress`` entries to install, ``evips`` the
    ``virtual_ipaddress_excluded`` ones (plus VIPs of the other family).
    """

    name: str
    interface: str | None
    family: Family
    version: VrrpVersion
    vrid: int
    machine: MachineConfig
    expectations: InstanceExpectations
    mcast_group: IPAddress
    unicast_peers: tuple[IPAddress, ...]
    src_ip: IPAddress | None
    ttl: int
    """IPv4 TTL of sent adverts (``unicast_ttl`` for unicast, else 255)."""
    unicast_hop_limit: int | None
    """IPv6 unicast hop limit (``unicast_ttl``), None for the kernel default."""
    auth_type: AuthType
    auth_data: bytes = field(repr=False)
    vips: tuple[VirtualAddress, ...]
    evips: tuple[VirtualAddress, ...]
    advert_addresses: tuple[IPAddress, ...]
    notify: NotifyScripts
    dont_track_primary: bool
    track_interfaces: tuple[str, ...]
    """Interfaces whose failure (weight 0) puts the instance in FAULT (see ``tracks``)."""
    identity: InstanceIdentity
    smtp_alert: bool = False
    tracks: tuple[TrackRef, ...] = ()
    """Every tracking entry (instance and sync group), primary interface included."""
    sync_group: str | None = None
    virtual_routes: tuple[RouteSpec, ...] = ()
    virtual_rules: tuple[RuleSpec, ...] = ()
    accept: bool = True
    """Accept_Mode; False installs keepalived's nftables drop rules while MASTER."""
    vmac: VmacSpec | None = None
    """The VMAC/ipvlan to create (adverts use it unless ``vmac_xmit_base``)."""
    vmac_xmit_base: bool = False
    garp_extra_if_s: int = 0
    garp_extra_if_all: bool = False
    notify_priority_changes: bool = False
    unicast_fault_no_peer: bool = False
    kernel_rx_buf_size: int = 0
    """``kernel_rx_buf_size``: this instance's share of its socket's receive buffer (0: the
    global ``vrrp_rx_bufs_policy`` decides)."""
    """``unicast_fault_no_peer`` with an empty peer list: the instance stays in FAULT."""

    @property
    def socket_interface(self) -> str | None:
        """Where adverts are sent and received: the VMAC unless ``vmac_xmit_base``."""
        if self.vmac is not None and not self.vmac_xmit_base:
            return self.vmac.name
        return self.interface

    @property
    def unicast(self) -> bool:
        """True when adverts are sent to unicast peers."""
        return bool(self.unicast_peers)

    @property
    def proto(self) -> int:
        """IP protocol of the adverts: 51 for VRRPv2 AH, else 112."""
        return IpProto.AH if self.auth_type is AuthType.AH else IpProto.VRRP

    def socket_key(self, interface: str) -> SocketKey:
        """The socket shared by this instance on ``interface``."""
        if self.unicast:
            if self.src_ip is None:
                raise ValueError(f"({self.name}) unicast needs a source address")
            bind: IPAddress = self.src_ip
        else:
            bind = self.mcast_group
        return SocketKey(interface, self.family, self.unicast, bind, self.proto)


def advert_len(plan: InstancePlan) -> int:
    """Bytes of the instance's VRRP message: header, addresses, v2's authentication data."""
    per_address = 4 if plan.family is Family.IPV4 else 16
    auth = 8 if plan.version is VrrpVersion.V2 and plan.family is Family.IPV4 else 0
    return 8 + per_address * len(plan.advert_addresses) + auth


def rx_buf_size(
    plans: Iterable[InstancePlan], settings: GlobalSettings, mtu: Callable[[str], int]
) -> int:
    """The ``SO_RCVBUF`` of a socket shared by ``plans`` (0: leave the system's default).

    keepalived's socket pool sums one share per instance: its ``kernel_rx_buf_size``, else
    the global size, else ``vrrp_rx_bufs_multiplier`` adverts (``ADVERT``) or MTUs of its
    interface (``MTU``, ``mtu(interface)``).
    """
    total = 0
    for plan in plans:
        if plan.kernel_rx_buf_size:
            total += plan.kernel_rx_buf_size
        elif settings.rx_bufs_size is not None:
            total += settings.rx_bufs_size
        elif settings.rx_bufs_policy == "ADVERT":
            total += settings.rx_bufs_multiplier * advert_len(plan)
        elif settings.rx_bufs_policy == "MTU":
            total += settings.rx_bufs_multiplier * mtu(plan.interface or "")
    return total


def virtual_address(spec: IpAddressSpec, default_dev: str) -> VirtualAddress:
    """A ``virtual_ipaddress`` line as :mod:`pykeepalived.net.addresses` installs it."""
    broadcast = spec.broadcast if spec.address.version == 4 else None
    return VirtualAddress(
        address=spec.address,
        dev=spec.dev or default_dev,
        broadcast=broadcast,
        scope=spec.scope,
        label=spec.label if spec.address.version == 4 else None,
        peer=spec.peer,
        nodad=not spec.dad,
        noprefixroute=spec.noprefixroute,
        home=spec.home,
        mngtmpaddr=spec.mngtmpaddr,
        autojoin=spec.autojoin,
        preferred_lft_s=spec.preferred_lft,
    )


def script_spec(script: Script | None, settings: GlobalSettings, what: str) -> ScriptSpec | None:
    """The exec-ready form of ``script`` (its user, else ``script_user``); None if unusable."""
    return _script_spec(script, settings, what)


def track_refs(inst: VrrpInstance, group: SyncGroup | None) -> tuple[TrackRef, ...]:
    """Every tracking entry of ``inst`` and of its sync group (the primary interface with
    weight 0 unless ``dont_track_primary``); duplicates keep the instance's entry."""
    refs: list[TrackRef] = []
    seen: set[tuple[TrackKind, str]] = set()

    def add(ref: TrackRef) -> None:
        if ref.key not in seen:
            seen.add(ref.key)
            refs.append(ref)

    if inst.interface is not None and not inst.dont_track_primary:
        add(TrackRef(TrackKind.INTERFACE, inst.interface))
    sources: list[VrrpInstance | SyncGroup] = [inst] if group is None else [inst, group]
    for src in sources:
        for ti in src.track_interfaces:
            add(TrackRef(TrackKind.INTERFACE, ti.name, ti.weight, ti.reverse))
        for kind, entries in (
            (TrackKind.SCRIPT, src.track_scripts),
            (TrackKind.FILE, src.track_files),
            (TrackKind.PROCESS, src.track_processes),
        ):
            for t in entries:
                add(TrackRef(kind, t.name, t.weight, t.reverse))
    return tuple(refs)


def _script_spec(script: Script | None, settings: GlobalSettings, what: str) -> ScriptSpec | None:
    if script is None or not script.argv:
        return None
    user = script.user if script.user is not None else settings.script_user
    group = script.group if script.user is not None else settings.script_group
    try:
        uid, gid = resolve_user(user, group)
    except KeyError as exc:
        log.warning("%s: unknown user/group %s - script %s not run", what, exc, script.argv[0])
        return None
    return ScriptSpec(tuple(script.argv), uid, gid)


def _checksum_compat(value: UnicastChecksumCompat) -> ChecksumCompat:
    return {
        UnicastChecksumCompat.AUTO: ChecksumCompat.NONE,
        UnicastChecksumCompat.CONFIG: ChecksumCompat.CONFIG,
        UnicastChecksumCompat.NEVER: ChecksumCompat.NEVER,
    }[value]


def instance_identity(inst: VrrpInstance, settings: GlobalSettings) -> InstanceIdentity:
    """keepalived's ``vrrp_exist()`` key for ``inst``."""
    family = Family.IPV6 if inst.family == 6 else Family.IPV4
    mcast: IPAddress | None = None
    if not inst.is_unicast:
        mcast = inst.mcast_dst_ip or (
            settings.mcast_group6 if family is Family.IPV6 else settings.mcast_group4
        )
    return InstanceIdentity(
        vrid=inst.virtual_router_id,
        family=family,
        interface=inst.interface,
        unicast=inst.is_unicast,
        src_ip=inst.src_ip if inst.is_unicast else None,
        mcast_dst=mcast,
        use_vmac=inst.use_vmac,
    )


def _vmac_spec(inst: VrrpInstance) -> VmacSpec | None:
    if inst.interface is None:
        return None
    if inst.use_vmac:
        return VmacSpec(
            name=inst.vmac_ifname or vmac_name(inst.virtual_router_id, inst.family),
            parent=inst.interface,
            vrid=inst.virtual_router_id,
            family=inst.family,
            mac=inst.vmac_mac,
        )
    if inst.use_ipvlan:
        return VmacSpec(
            name=inst.ipvlan_ifname or vmac_name(inst.virtual_router_id, inst.family),
            parent=inst.interface,
            vrid=inst.virtual_router_id,
            family=inst.family,
            kind="ipvlan",
            ipvlan_mode=inst.ipvlan_mode.value if inst.ipvlan_mode is not None else "bridge",
            ipvlan_address=inst.ipvlan_address,
        )
    return None


def plan_instance(
    inst: VrrpInstance,
    settings: GlobalSettings | None = None,
    group: SyncGroup | None = None,
) -> InstancePlan:
    """Build the :class:`InstancePlan` of ``inst`` (already resolved by the config loader);
    ``group`` is its sync group, if any."""
    settings = settings or GlobalSettings()
    family = Family.IPV6 if inst.family == 6 else Family.IPV4
    version = VrrpVersion(inst.version)
    vmac = _vmac_spec(inst)
    # keepalived moves the VIPs onto a VMAC (macvlan); with use_ipvlan they stay on the parent
    on_vmac = vmac is not None and vmac.kind == "macvlan"
    dev = (vmac.name if vmac is not None and on_vmac else inst.interface) or ""
    want_version = int(family)
    advert_addresses: list[IPAddress] = []
    vips: list[VirtualAddress] = []
    evips: list[VirtualAddress] = []
    for spec in inst.virtual_ipaddresses:
        va = virtual_address(spec, dev) if dev or spec.dev else None
        if spec.address.version == want_version and len(advert_addresses) < 255:
            advert_addresses.append(spec.address.ip)
            if va is not None:
                vips.append(va)
        elif va is not None:
            evips.append(va)
    for spec in inst.excluded_ipaddresses:
        if dev or spec.dev:
            evips.append(virtual_address(spec, dev))

    auth_type = AuthType(int(inst.auth_type))
    if version is VrrpVersion.V3 or family is Family.IPV6:
        auth_type = AuthType.NONE
    auth_data = auth_data_from_password(inst.auth_pass) if auth_type else bytes(8)

    peers = tuple(
        UnicastPeer(p.address, p.min_ttl, p.max_ttl)
        for p in inst.unicast_peers
        if p.address.version == want_version
    )
    mcast_group: IPAddress = inst.mcast_dst_ip or (
        settings.mcast_group6 if family is Family.IPV6 else settings.mcast_group4
    )
    unicast = bool(peers)
    check_src = (
        inst.check_unicast_src
        or settings.check_unicast_src
        or any(p.has_ttl_limits for p in inst.unicast_peers)
    )
    expectations = InstanceExpectations(
        version=version,
        vrid=inst.virtual_router_id,
        family=family,
        adver_int_cs=inst.advert_int_cs,
        vips=tuple(advert_addresses),
        auth_type=auth_type,
        auth_data=auth_data,
        unicast_peers=peers,
        check_unicast_src=unicast and check_src,
        skip_check_adv_addr=inst.skip_check_adv_addr,
        unicast_checksum_compat=_checksum_compat(inst.unicast_checksum_compat),
        mcast_group4=settings.mcast_group4,
    )
    initial = State.MASTER if inst.state is VrrpState.MASTER else State.BACKUP
    nopreempt = inst.nopreempt and initial is State.BACKUP and inst.priority != PRIO_OWNER
    if inst.nopreempt and not nopreempt:
        log.warning("(%s) nopreempt ignored with state MASTER or priority 255", inst.name)
    preempt_delay_s = 0.0 if nopreempt else inst.preempt_delay_s
    src_ip = inst.src_ip if inst.src_ip is None or inst.src_ip.version == want_version else None
    machine = MachineConfig(
        vrid=inst.virtual_router_id,
        version=int(version),
        family=socket.AF_INET6 if family is Family.IPV6 else socket.AF_INET,
        priority=inst.priority,
        adver_int_cs=inst.advert_int_cs,
        initial_state=initial,
        nopreempt=nopreempt,
        preempt_delay_s=preempt_delay_s,
        source_address=src_ip,
        down_timer_adverts=inst.down_timer_adverts,
        lower_prio_no_advert=inst.lower_prio_no_advert,
        higher_prio_send_advert=inst.higher_prio_send_advert,
        skip_check_adv_addr=inst.skip_check_adv_addr,
        garp_master_delay_s=float(inst.garp_master_delay_s),
        garp_master_repeat=inst.garp_master_repeat,
        garp_master_refresh_s=float(inst.garp_master_refresh_s),
        garp_master_refresh_repeat=inst.garp_master_refresh_repeat,
        garp_lower_prio_delay_s=float(inst.garp_lower_prio_delay_s),
        garp_lower_prio_repeat=inst.garp_lower_prio_repeat,
        unicast=unicast,
        sync_group=group is not None,
        name=inst.name,
    )
    notify = NotifyScripts(
        master=_script_spec(inst.notify_master, settings, inst.name),
        backup=_script_spec(inst.notify_backup, settings, inst.name),
        fault=_script_spec(inst.notify_fault, settings, inst.name),
        stop=_script_spec(inst.notify_stop, settings, inst.name),
        generic=_script_spec(inst.notify, settings, inst.name),
        master_rx_lower_pri=_script_spec(inst.notify_master_rx_lower_pri, settings, inst.name),
    )
    ttl = inst.unicast_ttl if unicast and inst.unicast_ttl is not None else VRRP_TTL
    refs = track_refs(inst, group)
    return InstancePlan(
        name=inst.name,
        interface=inst.interface,
        family=family,
        version=version,
        vrid=inst.virtual_router_id,
        machine=machine,
        expectations=expectations,
        mcast_group=mcast_group,
        unicast_peers=tuple(p.address for p in peers),
        src_ip=src_ip,
        ttl=ttl,
        unicast_hop_limit=inst.unicast_ttl if unicast else None,
        auth_type=auth_type,
        auth_data=auth_data,
        vips=tuple(vips),
        evips=tuple(evips),
        advert_addresses=tuple(advert_addresses),
        notify=notify,
        dont_track_primary=inst.dont_track_primary,
        track_interfaces=tuple(
            r.name
            for r in refs
            if r.kind is TrackKind.INTERFACE and r.name != inst.interface and r.weight == 0
        ),
        identity=instance_identity(inst, settings),
        smtp_alert=inst.smtp_alert,
        tracks=refs,
        sync_group=group.name if group is not None else None,
        virtual_routes=inst.virtual_routes,
        virtual_rules=inst.virtual_rules,
        accept=inst.accept,
        vmac=vmac,
        vmac_xmit_base=inst.vmac_xmit_base,
        garp_extra_if_s=inst.garp_extra_if_s or 0,
        garp_extra_if_all=inst.garp_extra_if_all,
        notify_priority_changes=inst.notify_priority_changes,
        unicast_fault_no_peer=inst.unicast_fault_no_peer and not peers,
        kernel_rx_buf_size=inst.kernel_rx_buf_size or 0,
    )
