"""The VRRP side of keepalived.conf, as keepalived 2.2.7 runs it.

Every value here is *resolved*: the fix-ups of ``vrrp_complete_instance()`` have been applied
(``state MASTER`` without ``priority`` gives 255, the advert interval is rounded for the version,
strict mode has removed authentication, ...), and global defaults that keepalived copies into an
instance are already copied. Cross references are by name and only to objects that exist (an
unknown ``track_script`` entry is dropped while reading, as keepalived drops it). Source
locations are kept but not compared.

Time units are in the field names: ``_s`` seconds (microsecond resolution), ``_cs`` centiseconds.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass, field

from pykeepalived.config.errors import Location
from pykeepalived.config.model.common import Script
from pykeepalived.config.model.net import IpAddressSpec, RouteSpec, RuleSpec

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface

VRRP_PRIO_OWNER = 255
VRRP_PRIO_DEFAULT = 100
VRRP_ADVER_DEFAULT_CS = 100
VRRP_MAX_ADDR = 255
DEFAULT_MTU = 1500


class VrrpState(enum.StrEnum):
    """The initial state an instance wants (``state``)."""

    MASTER = "MASTER"
    BACKUP = "BACKUP"


class AuthType(enum.IntEnum):
    """VRRPv2 authentication type (the value is the on-wire auth type)."""

    NONE = 0
    PASS = 1
    AH = 2


class UnicastChecksumCompat(enum.StrEnum):
    """``old_unicast_checksum``: ``auto`` (not given), ``config`` (given), ``never``."""

    AUTO = "auto"
    CONFIG = "config"
    NEVER = "never"


class IpvlanMode(enum.StrEnum):
    BRIDGE = "bridge"
    PRIVATE = "private"
    VEPA = "vepa"


class ParamMatch(enum.StrEnum):
    """How ``vrrp_track_process`` compares the command line."""

    NONE = "none"
    EXACT = "exact"
    INITIAL = "initial"
    PARTIAL = "partial"


class LinkbeatType(enum.StrEnum):
    """How ``linkbeat_interfaces`` polls an interface (``DEFAULT`` = let keepalived choose)."""

    DEFAULT = ""
    MII = "MII"
    ETHTOOL = "ETHTOOL"
    IOCTL = "IOCTL"


@dataclass(frozen=True, slots=True)
class Tracked:
    """One entry of ``track_script``/``track_file``/``track_process``/``track_bfd``.

    ``weight`` is resolved (the tracked object's own weight when the entry gives none);
    ``reverse`` likewise.
    """

    name: str
    weight: int = 0
    reverse: bool = False
    location: Location | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class TrackedInterface:
    """One ``track_interface`` entry: ``IF [weight N [reverse]]``."""

    name: str
    weight: int = 0
    reverse: bool = False
    location: Location | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class UnicastPeer:
    """A ``unicast_peer`` entry; ``min_ttl``/``max_ttl`` bound the TTL accepted from it."""

    address: IPAddress
    min_ttl: int = 0
    max_ttl: int = 255
    location: Location | None = field(default=None, compare=False, repr=False)

    @property
    def has_ttl_limits(self) -> bool:
        return self.min_ttl != 0 or self.max_ttl != 255


@dataclass(frozen=True, slots=True)
class VrrpScript:
    """``vrrp_script NAME``: run ``script`` every ``interval_s``; rise/fall decide its state.

    ``script.user``/``script.group`` come from the ``user`` keyword (``None``: default user).
    """

    name: str
    script: Script
    interval_s: float = 1.0
    timeout_s: float | None = None
    """``None``: keepalived's default (the interval)."""
    weight: int = 0
    weight_reverse: bool = False
    rise: int = 1
    fall: int = 1
    init_fail: bool = False
    location: Location | None = field(default=None, compare=False, repr=False)

    @property
    def effective_timeout_s(self) -> float:
        return self.interval_s if self.timeout_s is None else self.timeout_s


@dataclass(frozen=True, slots=True)
class TrackFile:
    """``track_file NAME`` (or the deprecated ``vrrp_track_file``): a watched value file."""

    name: str
    path: str
    weight: int = 1
    weight_reverse: bool = False
    init_file: bool = False
    init_value: int | None = None
    init_overwrite: bool = False
    location: Location | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class TrackProcess:
    """``vrrp_track_process NAME``: how many processes matching ``process`` run.

    ``params`` are the arguments after the process name; ``quorum_max`` ``None`` means no
    upper bound. Delays in seconds (``None`` = not set).
    """

    name: str
    process: str
    params: tuple[str, ...] = ()
    param_match: ParamMatch = ParamMatch.NONE
    weight: int = 0
    weight_reverse: bool = False
    quorum: int = 1
    quorum_max: int | None = None
    terminate_delay_s: float | None = None
    fork_delay_s: float | None = None
    full_command: bool = False
    location: Location | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class BfdInstance:
    """``bfd_instance NAME``: a BFD session (as keepalived's BFD process reads it).

    Intervals in microseconds (configured in milliseconds, decimals allowed); ``ttl`` is
    resolved (255 for IPv4, hop limit 64 for IPv6 unless given); ``vrrp``/``checker`` say
    which processes want its events (both when neither is given). The VRRP side of the
    block (``weight``) is in ``VrrpConfig.bfd_tracks``.
    """

    name: str
    neighbor_ip: IPAddress
    source_ip: IPAddress | None = None
    min_rx_us: int = 10_000
    min_tx_us: int = 10_000
    idle_tx_us: int = 1_000_000
    multiplier: int = 5
    passive: bool = False
    ttl: int = 255
    max_hops: int = 0
    weight: int = 0
    weight_reverse: bool = False
    vrrp: bool = True
    checker: bool = True
    location: Location | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class SyncGroup:
    """``vrrp_sync_group NAME``: ``members`` are existing instance names, in config order.

    Trackers apply to every member. ``smtp_alert`` is resolved; ``notify_priority_changes``
    ``None`` means not set (members then use the global setting).
    """

    name: str
    members: tuple[str, ...]
    track_interfaces: tuple[TrackedInterface, ...] = ()
    track_scripts: tuple[Tracked, ...] = ()
    track_files: tuple[Tracked, ...] = ()
    track_processes: tuple[Tracked, ...] = ()
    track_bfds: tuple[Tracked, ...] = ()
    notify_master: Script | None = None
    notify_backup: Script | None = None
    notify_fault: Script | None = None
    notify_stop: Script | None = None
    notify: Script | None = None
    smtp_alert: bool = False
    tracking_weight: bool = False
    global_tracking: bool = False
    notify_priority_changes: bool | None = None
    location: Location | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class VrrpInstance:
    """``vrrp_instance NAME`` after keepalived's checks and fix-ups.

    Addressing: ``family`` is 4 or 6; ``src_ip`` is ``mcast_src_ip``/``unicast_src_ip``
    (``None``: the interface's address); ``unicast_configured`` records that a unicast keyword
    was used (keepalived then warns if there are no peers). ``unicast_ttl`` ``None`` = default.

    Timing: ``advert_int_cs`` rounded for the version (v2 whole seconds); garp delays in
    seconds. ``auth_pass`` (at most 8 characters) never appears in ``repr``.
    """

    name: str
    virtual_router_id: int
    interface: str | None = None
    vrf: str | None = None
    state: VrrpState = VrrpState.BACKUP
    priority: int = VRRP_PRIO_DEFAULT
    advert_int_cs: int = VRRP_ADVER_DEFAULT_CS
    version: int = 2
    family: int = 4
    native_ipv6: bool = False
    nopreempt: bool = False
    preempt_delay_s: float = 0.0
    accept: bool = True
    strict_mode: bool = False
    skip_check_adv_addr: bool = False
    down_timer_adverts: int = 3
    lower_prio_no_advert: bool = False
    higher_prio_send_advert: bool = False
    debug: int = 0
    kernel_rx_buf_size: int | None = None
    linkbeat_use_polling: bool = False
    lvs_sync_daemon_interface: str | None = None
    # addressing
    virtual_ipaddresses: tuple[IpAddressSpec, ...] = ()
    excluded_ipaddresses: tuple[IpAddressSpec, ...] = ()
    virtual_routes: tuple[RouteSpec, ...] = ()
    virtual_rules: tuple[RuleSpec, ...] = ()
    promote_secondaries: bool = False
    src_ip: IPAddress | None = None
    track_src_ip: bool = False
    mcast_dst_ip: IPAddress | None = None
    unicast_configured: bool = False
    unicast_peers: tuple[UnicastPeer, ...] = ()
    unicast_fault_no_peer: bool = False
    unicast_ttl: int | None = None
    check_unicast_src: bool = False
    unicast_checksum_compat: UnicastChecksumCompat = UnicastChecksumCompat.AUTO
    # VMAC / ipvlan
    use_vmac: bool = False
    vmac_ifname: str | None = None
    vmac_mac: str | None = None
    vmac_xmit_base: bool = False
    use_vmac_addr: bool = False
    use_ipvlan: bool = False
    ipvlan_ifname: str | None = None
    ipvlan_address: IPInterface | None = None
    ipvlan_mode: IpvlanMode | None = None
    garp_extra_if_s: int | None = None
    garp_extra_if_all: bool = False
    # tracking
    dont_track_primary: bool = False
    track_interfaces: tuple[TrackedInterface, ...] = ()
    track_scripts: tuple[Tracked, ...] = ()
    track_files: tuple[Tracked, ...] = ()
    track_processes: tuple[Tracked, ...] = ()
    track_bfds: tuple[Tracked, ...] = ()
    # gratuitous ARP
    garp_master_delay_s: int = 5
    garp_master_repeat: int = 5
    garp_master_refresh_s: int = 0
    garp_master_refresh_repeat: int = 1
    garp_lower_prio_delay_s: int = 5
    garp_lower_prio_repeat: int = 5
    # authentication
    auth_type: AuthType = AuthType.NONE
    auth_pass: str = field(default="", repr=False)
    # notification
    notify_master: Script | None = None
    notify_backup: Script | None = None
    notify_fault: Script | None = None
    notify_stop: Script | None = None
    notify_deleted: bool = False
    notify_deleted_script: Script | None = None
    notify: Script | None = None
    notify_master_rx_lower_pri: Script | None = None
    smtp_alert: bool = False
    notify_priority_changes: bool = False
    sync_group: str | None = None
    location: Location | None = field(default=None, compare=False, repr=False)

    @property
    def advert_int_s(self) -> float:
        return self.advert_int_cs / 100

    @property
    def is_owner(self) -> bool:
        return self.priority == VRRP_PRIO_OWNER

    @property
    def is_unicast(self) -> bool:
        return bool(self.unicast_peers)

    def scripts(self) -> tuple[Script, ...]:
        """Every notify script of the instance (for script-security checks)."""
        found = (
            self.notify_master,
            self.notify_backup,
            self.notify_fault,
            self.notify_stop,
            self.notify_deleted_script,
            self.notify,
            self.notify_master_rx_lower_pri,
        )
        return tuple(s for s in found if s is not None)


@dataclass(frozen=True, slots=True)
class TrackGroup:
    """``track_group NAME { group { VI_1 ... } }``: instances that track static addresses."""

    name: str
    members: tuple[str, ...]
    location: Location | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class GarpGroup:
    """``garp_group``: rate limits (seconds) for gratuitous ARP / NA on its interfaces.

    ``interfaces_block`` is true when the interfaces came from an ``interfaces { }`` block
    (an aggregation group in keepalived's terms) rather than ``interface`` lines.
    """

    interfaces: tuple[str, ...]
    garp_interval_s: float | None = None
    gna_interval_s: float | None = None
    interfaces_block: bool = False
    location: Location | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class LinkbeatInterface:
    name: str
    type: LinkbeatType = LinkbeatType.DEFAULT
    location: Location | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class InterfaceUpDownDelay:
    """``interface_up_down_delays`` entry: debounce before acting on link down/up."""

    name: str
    down_delay_s: float
    up_delay_s: float = 0.0
    location: Location | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class VrrpConfig:
    """Everything VRRP-side of the config, in config order within each kind."""

    scripts: tuple[VrrpScript, ...] = ()
    sync_groups: tuple[SyncGroup, ...] = ()
    instances: tuple[VrrpInstance, ...] = ()
    track_files: tuple[TrackFile, ...] = ()
    track_processes: tuple[TrackProcess, ...] = ()
    bfd_instances: tuple[BfdInstance, ...] = ()
    static_ipaddresses: tuple[IpAddressSpec, ...] = ()
    static_routes: tuple[RouteSpec, ...] = ()
    static_rules: tuple[RuleSpec, ...] = ()
    track_groups: tuple[TrackGroup, ...] = ()
    garp_groups: tuple[GarpGroup, ...] = ()
    linkbeat_interfaces: tuple[LinkbeatInterface, ...] = ()
    interface_up_down_delays: tuple[InterfaceUpDownDelay, ...] = ()

    def instance(self, name: str) -> VrrpInstance | None:
        return next((i for i in self.instances if i.name == name), None)

    def script(self, name: str) -> VrrpScript | None:
        return next((s for s in self.scripts if s.name == name), None)

    def sync_group(self, name: str) -> SyncGroup | None:
        return next((g for g in self.sync_groups if g.name == name), None)

    def all_scripts(self) -> tuple[Script, ...]:
        """Every script the VRRP side may run (track scripts and notify scripts)."""
        found: list[Script] = [s.script for s in self.scripts]
        for inst in self.instances:
            found.extend(inst.scripts())
        for group in self.sync_groups:
            found.extend(
                s
                for s in (
                    group.notify_master,
                    group.notify_backup,
                    group.notify_fault,
                    group.notify_stop,
                    group.notify,
                )
                if s is not None
            )
        return tuple(found)


__all__ = [
    "AuthType",
    "BfdInstance",
    "GarpGroup",
    "InterfaceUpDownDelay",
    "IpvlanMode",
    "LinkbeatInterface",
    "LinkbeatType",
    "ParamMatch",
    "SyncGroup",
    "TrackFile",
    "TrackGroup",
    "TrackProcess",
    "Tracked",
    "TrackedInterface",
    "UnicastChecksumCompat",
    "UnicastPeer",
    "VrrpConfig",
    "VrrpInstance",
    "VrrpScript",
    "VrrpState",
]
