"""The VRRP state machine of one instance, as keepalived 2.2.7 runs it (sans I/O).

A :class:`VrrpMachine` holds the protocol state of one ``vrrp_instance``. It is fed
:data:`Event` values together with the current time and answers with a list of :data:`Action`
values for the driver to carry out (send an advert, add the VIPs, run the notify scripts, ...).
It never does I/O, never sleeps and never reads a clock. It keeps an absolute deadline for its
next timer; the driver asks :meth:`VrrpMachine.next_deadline` and calls
:meth:`VrrpMachine.on_timer` when that time has come (h11 style).

Behaviour follows keepalived 2.2.7 (``vrrp.c``: ``vrrp_state_backup()``,
``vrrp_state_master_rx()``, ``vrrp_state_master_tx()``, ``vrrp_state_leave_master()``,
``vrrp_state_leave_fault()``; ``vrrp_scheduler.c``: ``vrrp_init_state()``,
``vrrp_dispatcher_read()``/``_read_timeout()``, ``try_up_instance()``; ``vrrp_track.c``:
``down_instance()``, ``vrrp_set_effective_priority()``), including its quirks:

* In BACKUP an advert of equal priority is always accepted (the address tie-break is applied
  only by a master). A lower-priority advert is discarded when preempting; the down timer keeps
  running from the last accepted advert.
* Leaving MASTER for FAULT sends *two* priority-0 adverts (one from
  ``vrrp_state_leave_master()`` and one from ``vrrp_restore_interface()``).
* A master's advert timer is restarted by every advert it receives (valid or not) unless
  ``lower_prio_no_advert`` is set.
* Two address owners: the one that hears the other lowers its base and effective priority to
  254 for good (2.2.7 has no "rogue owner" timer; that came in 2.3.3).
* A change of effective priority while BACKUP shifts the running down timer by the difference
  between the new Master_Down_Interval and the last computed down-timer value.

Deliberate deviations, for malformed input or log-level-dependent code only: a master always
forgets the advert interval it learnt as a backup (2.2.7 does so only when detailed logging is
on), and a v3 advert interval of 0 is learnt as 1 cs.

Simplifications (behaviourally equivalent): an address owner with ``state MASTER`` becomes
master directly at :class:`Startup` (keepalived goes through BACKUP with a 1 µs timer and no
notify). Sync groups are coordinated outside: with ``MachineConfig.sync_group`` an expired down
timer yields :class:`MasterWanted` instead of a transition, and the coordinator answers with
:class:`ForceMaster` (keepalived's ``vrrp_sync_can_goto_master()``/``vrrp_sync_master()``).

Config completion (``vrrp_complete_instance()``: nopreempt cleared with ``state MASTER`` or
priority 255, strict-mode resets, garp_lower_prio defaults, ...) is the caller's job: a
:class:`MachineConfig` is taken as already completed.

Times are float seconds on the driver's monotonic clock; durations are computed in integer
microseconds exactly as keepalived does (see :mod:`pykeepalived.vrrp.timers`).
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from ipaddress import IPv4Address, IPv6Address

from pykeepalived.vrrp import timers

__all__ = [
    "Action",
    "AddVips",
    "AdvertReceived",
    "AdvertRejected",
    "EffectivePriorityChanged",
    "EffectivePriorityUpdated",
    "Event",
    "FaultOff",
    "FaultOn",
    "ForceBackup",
    "ForceMaster",
    "GarpKind",
    "InitComplete",
    "MachineConfig",
    "MachineStats",
    "MachineStatus",
    "MasterReason",
    "MasterWanted",
    "Notify",
    "NotifyMasterRxLowerPri",
    "Reason",
    "RemoveVips",
    "SendAdvert",
    "SendGratuitous",
    "SendLowerPrioGarp",
    "Shutdown",
    "SourceAddressChanged",
    "Startup",
    "State",
    "StateChanged",
    "Timer",
    "VrrpMachine",
]

logger = logging.getLogger(__name__)

IPAddress = IPv4Address | IPv6Address

PRIO_OWNER = 255
"""Priority of the address owner (``VRRP_PRIO_OWNER``)."""
PRIO_STOP = 0
"""Priority announcing that the master stops (``VRRP_PRIO_STOP``)."""
_MAX_V3_ADVER_INT_CS = 4095
_MAX_V2_ADVER_INT_S = 255


class State(IntEnum):
    """Instance states, with keepalived's numbers (``VRRP_STATE_*``)."""

    INIT = 0
    BACKUP = 1
    MASTER = 2
    FAULT = 3
    STOP = 98
    """Internal: the daemon is stopping (used for the notifies only)."""


class GarpKind(Enum):
    """Why a burst of gratuitous ARPs / unsolicited NAs is sent."""

    MASTER = "master"
    """The burst sent on becoming master (``garp_master_repeat`` per VIP)."""
    MASTER_DELAYED = "master_delayed"
    """The second burst, ``garp_master_delay`` after becoming master."""
    REFRESH = "refresh"
    """The periodic refresh (``garp_master_refresh`` / ``garp_master_refresh_repeat``)."""
    LOWER_PRIO = "lower_prio"
    """After a lower-priority advert was received as master (``garp_lower_prio_repeat``)."""
    LOWER_PRIO_DELAYED = "lower_prio_delayed"
    """The second lower-priority burst, ``garp_lower_prio_delay`` later."""
    SOURCE_ADDRESS = "source_address"
    """One GARP/NA for our own unicast source address, on leaving FAULT (unicast only)."""


class Reason(Enum):
    """Why the last state transition happened (for logs and the status API)."""

    STARTUP = "startup"
    ADDRESS_OWNER = "address owner with state MASTER"
    INIT_PENDING = "waiting for tracking scripts to report"
    MASTER_DOWN_TIMER = "master down timer expired"
    HIGHER_PRIORITY = "advert with higher priority received"
    EQUAL_PRIORITY_HIGHER_ADDRESS = "advert with equal priority and higher address received"
    FAULT = "fault"
    FAULT_CLEARED = "all faults cleared"
    INIT_COMPLETE = "tracking scripts reported"
    SYNC_GROUP = "sync group"
    SHUTDOWN = "shutdown"
    RELOAD = "reload of a master"


class MasterReason(Enum):
    """Why a backup would become master next (keepalived's ``next_master_reason``, RFC 6527)."""

    MASTER_NO_RESPONSE = "master no response"
    PRIORITY = "priority 0 advert received"
    PREEMPTED = "preempted"


# --------------------------------------------------------------------------------------------
# Configuration


@dataclass(frozen=True, slots=True)
class MachineConfig:
    """What the state machine needs to know of one ``vrrp_instance`` (already completed).

    Durations carry their unit in their name. ``source_address`` is the address our adverts
    are sent from (``unicast_src_ip``/``mcast_src_ip``, else the interface's primary address);
    a master compares it with the sender of an equal-priority advert.
    """

    vrid: int
    version: int = 2
    family: socket.AddressFamily = socket.AF_INET
    priority: int = 100
    """Configured (base) priority, 1..255; 255 is the address owner."""
    adver_int_cs: int = 100
    """Our advert interval in centiseconds (v2: a whole number of seconds)."""
    initial_state: State = State.BACKUP
    """``state MASTER`` or ``state BACKUP`` (only an address owner starts as master at once)."""
    nopreempt: bool = False
    preempt_delay_s: float = 0.0
    source_address: IPAddress | None = None
    down_timer_adverts: int = timers.DEFAULT_DOWN_TIMER_ADVERTS
    lower_prio_no_advert: bool = False
    higher_prio_send_advert: bool = False
    skip_check_adv_addr: bool = False
    """Skip the VIP-list check for adverts from the master already known (BACKUP only)."""
    garp_master_delay_s: float = 5.0
    garp_master_repeat: int = 5
    garp_master_refresh_s: float = 0.0
    garp_master_refresh_repeat: int = 1
    garp_lower_prio_delay_s: float = 5.0
    garp_lower_prio_repeat: int = 5
    unicast: bool = False
    """Unicast peers are configured (a GARP for our source address is sent on leaving FAULT)."""
    sync_group: bool = False
    """Member of a sync group: going master is left to the group (see :class:`MasterWanted`)."""
    name: str = ""
    """Instance name, for log messages."""

    def __post_init__(self) -> None:
        if not 1 <= self.vrid <= 255:
            raise ValueError(f"vrid must be in 1..255, not {self.vrid}")
        if self.version not in (2, 3):
            raise ValueError(f"version must be 2 or 3, not {self.version}")
        if self.family not in (socket.AF_INET, socket.AF_INET6):
            raise ValueError(f"family must be AF_INET or AF_INET6, not {self.family!r}")
        if not 1 <= self.priority <= PRIO_OWNER:
            raise ValueError(f"priority must be in 1..255, not {self.priority}")
        if self.version == 3 and not 1 <= self.adver_int_cs <= _MAX_V3_ADVER_INT_CS:
            raise ValueError(f"v3 advert interval must be 1..4095 cs, not {self.adver_int_cs}")
        if self.version == 2 and (
            self.adver_int_cs % 100 or not 1 <= self.adver_int_cs // 100 <= _MAX_V2_ADVER_INT_S
        ):
            raise ValueError(f"v2 advert interval must be 1..255 s, not {self.adver_int_cs} cs")
        if self.initial_state not in (State.BACKUP, State.MASTER):
            raise ValueError(f"initial state must be BACKUP or MASTER, not {self.initial_state}")
        if not 1 <= self.down_timer_adverts <= 100:
            raise ValueError(f"down_timer_adverts must be in 1..100, not {self.down_timer_adverts}")
        for name in (
            "preempt_delay_s",
            "garp_master_delay_s",
            "garp_master_refresh_s",
            "garp_lower_prio_delay_s",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        for name in ("garp_master_repeat", "garp_master_refresh_repeat", "garp_lower_prio_repeat"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.source_address is not None:
            _check_family(self.family, self.source_address, "source_address")


def _check_family(family: socket.AddressFamily, address: IPAddress, what: str) -> None:
    want = 4 if family == socket.AF_INET else 6
    if address.version != want:
        raise ValueError(f"{what} {address} is not an IPv{want} address")


# --------------------------------------------------------------------------------------------
# Events


@dataclass(frozen=True, slots=True)
class Startup:
    """The daemon has started the instance (keepalived's ``vrrp_init_state()``).

    ``init_pending``: a weight-0 tracking script has not reported yet; the instance waits in
    FAULT (without a FAULT notify) until :class:`InitComplete`.
    """

    init_pending: bool = False
    reload_master: bool = False
    """A reload replaced this instance while it was MASTER: it stays MASTER (keepalived's
    ``reload_master``), without a new MASTER notify."""


@dataclass(frozen=True, slots=True)
class InitComplete:
    """Every weight-0 tracking script has reported once (``try_up_instance(vrrp, true)``)."""


@dataclass(frozen=True, slots=True)
class AdvertReceived:
    """A decoded advert for our VRID that passed the checks that do not depend on our state.

    ``adver_int_cs``: the advert's interval in centiseconds (v3: Max Adver Int; v2: the
    seconds field times 100). ``addr_list_ok``: the VIP list matched ours (count and members)
    and, for unicast with ``check_unicast_src``, the sender is a configured peer with a TTL in
    range. keepalived applies those checks only when it checks the address list, which a
    backup with ``skip_check_adv_addr`` skips for adverts from the known master.
    """

    priority: int
    adver_int_cs: int
    source: IPAddress
    addr_list_ok: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.priority <= 255:
            raise ValueError(f"priority must be in 0..255, not {self.priority}")
        if not 0 <= self.adver_int_cs <= _MAX_V2_ADVER_INT_S * 100:
            raise ValueError(f"advert interval out of range: {self.adver_int_cs} cs")


@dataclass(frozen=True, slots=True)
class AdvertRejected:
    """An advert for our VRID that failed keepalived's ``vrrp_check_packet()`` (e.g. bad auth).

    It changes nothing in BACKUP, but restarts a master's advert timer (unless
    ``lower_prio_no_advert``), as in keepalived.
    """

    reason: str


@dataclass(frozen=True, slots=True)
class Timer:
    """The deadline from :meth:`VrrpMachine.next_deadline` has come."""


@dataclass(frozen=True, slots=True)
class Shutdown:
    """The daemon stops. ``release`` is false with ``--dont-release-vrrp``."""

    release: bool = True


@dataclass(frozen=True, slots=True)
class FaultOn:
    """A fault appeared (interface down, weight-0 tracker failed, ...), named by ``reason``."""

    reason: str


@dataclass(frozen=True, slots=True)
class FaultOff:
    """The fault named ``reason`` went away."""

    reason: str


@dataclass(frozen=True, slots=True)
class EffectivePriorityChanged:
    """Tracking changed the total priority (base + weights); it is clamped to 1..254.

    Ignored for an address owner, as in keepalived.
    """

    priority: int


@dataclass(frozen=True, slots=True)
class SourceAddressChanged:
    """The address our adverts are sent from changed (primary address of the interface)."""

    address: IPAddress | None


@dataclass(frozen=True, slots=True)
class ForceMaster:
    """Sync group: the group goes master (``vrrp_sync_master()``); acts only in BACKUP."""


@dataclass(frozen=True, slots=True)
class ForceBackup:
    """Sync group: the group goes backup (``vrrp_sync_backup()``); acts only in MASTER."""


@dataclass(frozen=True, slots=True)
class SendLowerPrioGarp:
    """Sync group: another member heard a lower-priority advert; send our lower-prio GARPs."""


Event = (
    Startup
    | InitComplete
    | AdvertReceived
    | AdvertRejected
    | Timer
    | Shutdown
    | FaultOn
    | FaultOff
    | EffectivePriorityChanged
    | SourceAddressChanged
    | ForceMaster
    | ForceBackup
    | SendLowerPrioGarp
)

# --------------------------------------------------------------------------------------------
# Actions


@dataclass(frozen=True, slots=True)
class SendAdvert:
    """Send one advert with this priority (0 = the master resigns)."""

    priority: int


@dataclass(frozen=True, slots=True)
class AddVips:
    """Install the VIPs/eVIPs, virtual routes and rules (and the accept-mode firewall rules)."""


@dataclass(frozen=True, slots=True)
class RemoveVips:
    """Remove what :class:`AddVips` installed."""


@dataclass(frozen=True, slots=True)
class SendGratuitous:
    """Send ``repeat`` gratuitous ARPs / unsolicited NAs per VIP (one for SOURCE_ADDRESS)."""

    kind: GarpKind
    repeat: int


@dataclass(frozen=True, slots=True)
class Notify:
    """Run the notify scripts / FIFO / SMTP for entering ``state`` with ``priority``."""

    state: State
    priority: int


@dataclass(frozen=True, slots=True)
class NotifyMasterRxLowerPri:
    """As master, a lower-priority advert was heard (``notify_master_rx_lower_pri``)."""

    source: IPAddress
    priority: int


@dataclass(frozen=True, slots=True)
class EffectivePriorityUpdated:
    """The effective priority changed (for ``notify_priority_changes``)."""

    old: int
    new: int
    state: State


@dataclass(frozen=True, slots=True)
class StateChanged:
    """The instance went from ``old`` to ``new`` (for logging, stats and the status API)."""

    old: State
    new: State
    reason: Reason


@dataclass(frozen=True, slots=True)
class MasterWanted:
    """Sync group member: the down timer expired and the instance wants to become master.

    The group coordinator answers with :class:`ForceMaster` when every member agrees.
    """


Action = (
    SendAdvert
    | AddVips
    | RemoveVips
    | SendGratuitous
    | Notify
    | NotifyMasterRxLowerPri
    | EffectivePriorityUpdated
    | StateChanged
    | MasterWanted
)

# --------------------------------------------------------------------------------------------
# Status


@dataclass(frozen=True, slots=True)
class MachineStats:
    """Counters kept by the state machine (keepalived's names)."""

    become_master: int = 0
    release_master: int = 0
    pri_zero_rcvd: int = 0
    pri_zero_sent: int = 0


@dataclass(frozen=True, slots=True)
class MachineStatus:
    """A snapshot of one machine, for the status API."""

    name: str
    vrid: int
    state: State
    want_state: State
    base_priority: int
    effective_priority: int
    master_address: IPAddress | None
    """Address of the master last heard (kept while we are master, as keepalived does)."""
    master_priority: int | None
    adver_int_cs: int
    master_adver_int_cs: int
    last_transition_s: float | None
    last_reason: Reason | None
    next_master_reason: MasterReason
    faults: tuple[str, ...]
    vips_set: bool
    next_deadline_s: float | None
    preempt_deadline_s: float | None
    stats: MachineStats


@dataclass(order=True, slots=True)
class _PendingGarp:
    at_s: float
    kind: GarpKind = field(compare=False)


# --------------------------------------------------------------------------------------------
# The machine


def _learnt_cs(event: AdvertReceived) -> int:
    """The Master_Adver_Interval to learn from a v3 advert.

    keepalived adopts even 0 (a malformed advert), which makes the down timer 0 and can spin a
    sync-group member that is held in BACKUP; we learn at least 1 cs instead.
    """
    return max(1, event.adver_int_cs)


class VrrpMachine:
    """The protocol state of one VRRP instance; see the module docstring."""

    def __init__(self, config: MachineConfig) -> None:
        self._cfg = config
        self._state = State.INIT
        self._want_state = config.initial_state
        self._started = False
        self._init_pending = False
        self._base_priority = config.priority
        self._effective_priority = config.priority
        self._master_adver_int_cs = config.adver_int_cs
        self._ms_down_timer_us = self._mdi_us()
        self._deadline_s: float | None = None
        self._preempt_s: float | None = None
        self._vips_set = False
        self._faults: set[str] = set()
        self._source_address = config.source_address
        self._master_address: IPAddress | None = None
        self._master_priority: int | None = None
        self._next_master_reason = MasterReason.MASTER_NO_RESPONSE
        self._last_reason: Reason | None = None
        self._last_transition_s: float | None = None
        self._last_notified: State | None = None
        self._garp_refresh_s: float | None = None
        self._pending_garps: list[_PendingGarp] = []
        self._become_master = 0
        self._release_master = 0
        self._pri_zero_rcvd = 0
        self._pri_zero_sent = 0
        self._lower_prio_logged: tuple[IPAddress, int] | None = None
        self._repeat: AdvertReceived | None = None
        """The advert a backup just accepted from its master, if handling the very same event
        object again can only move the down timer (see :meth:`handle`)."""
        self._repeat_down_s = 0.0
        """The down timer that advert restarts, in seconds."""

    # ---- public read-only view ------------------------------------------------------------

    @property
    def config(self) -> MachineConfig:
        """The configuration this machine runs."""
        return self._cfg

    @property
    def state(self) -> State:
        """The current state."""
        return self._state

    @property
    def want_state(self) -> State:
        """keepalived's ``wantstate`` (what a sync group looks at)."""
        return self._want_state

    @property
    def effective_priority(self) -> int:
        """The priority we advertise."""
        return self._effective_priority

    @property
    def base_priority(self) -> int:
        """The configured priority (lowered to 254 after an address-owner conflict)."""
        return self._base_priority

    @property
    def master_address(self) -> IPAddress | None:
        """The address of the master last heard (what receive checks compare with)."""
        return self._master_address

    def next_deadline(self) -> float | None:
        """When :meth:`on_timer` must next be called (None: no timer running)."""
        deadline = self._deadline_s
        if self._pending_garps:
            garp_s = self._pending_garps[0].at_s  # kept sorted
            if deadline is None or garp_s < deadline:
                return garp_s
        return deadline

    def describe(self) -> MachineStatus:
        """A snapshot of the machine's state for the status API."""
        return MachineStatus(
            name=self._cfg.name,
            vrid=self._cfg.vrid,
            state=self._state,
            want_state=self._want_state,
            base_priority=self._base_priority,
            effective_priority=self._effective_priority,
            master_address=self._master_address,
            master_priority=self._master_priority,
            adver_int_cs=self._cfg.adver_int_cs,
            master_adver_int_cs=self._master_adver_int_cs,
            last_transition_s=self._last_transition_s,
            last_reason=self._last_reason,
            next_master_reason=self._next_master_reason,
            faults=tuple(sorted(self._faults)),
            vips_set=self._vips_set,
            next_deadline_s=self.next_deadline(),
            preempt_deadline_s=self._preempt_s,
            stats=MachineStats(
                become_master=self._become_master,
                release_master=self._release_master,
                pri_zero_rcvd=self._pri_zero_rcvd,
                pri_zero_sent=self._pri_zero_sent,
            ),
        )

    # ---- entry points ---------------------------------------------------------------------

    def on_timer(self, now: float) -> list[Action]:
        """Run every timer due at ``now`` (the advert/down timer and delayed GARP bursts)."""
        return self.handle(Timer(), now)

    def handle(self, event: Event, now: float) -> list[Action]:
        """Feed one event that happened at ``now``; return the actions to carry out, in order.

        A backup hears its master's advert 100 times a second at 10 ms. When the same
        :class:`AdvertReceived` object comes again and nothing else was handled since, the
        outcome is known: the down timer restarts and nothing else changes (the state, master,
        priority and interval that decided the first time are the ones it left behind); only
        that is done. Any other event forgets the advert.
        """
        if event is self._repeat:
            self._deadline_s = now + self._repeat_down_s
            return []
        self._repeat = None
        out: list[Action] = []
        if self._state is State.STOP:
            return out
        match event:
            case Timer():
                self._run_timers(now, out)
            case AdvertReceived():
                self._on_advert(event, now, out)
            case AdvertRejected():
                self._on_rejected(event, now)
            case Startup():
                self._on_startup(event, now, out)
            case InitComplete():
                self._on_init_complete(now, out)
            case FaultOn():
                self._on_fault_on(event, now, out)
            case FaultOff():
                self._on_fault_off(event, now, out)
            case EffectivePriorityChanged():
                self._on_priority(event, out)
            case SourceAddressChanged():
                if event.address is None or event.address.version == self._family_version():
                    self._source_address = event.address
            case ForceMaster():
                if self._state is State.BACKUP:
                    self._want_state = State.MASTER
                    self._goto_master(now, Reason.SYNC_GROUP, out)
            case ForceBackup():
                if self._state is State.MASTER:
                    self._want_state = State.BACKUP
                    self._leave_master(now, Reason.SYNC_GROUP, False, out)
                elif self._state is State.BACKUP:
                    self._want_state = State.BACKUP
            case SendLowerPrioGarp():
                if self._state is State.MASTER:
                    self._lower_prio_garps(now, out)
            case Shutdown():
                self._on_shutdown(event, now, out)
        return out

    # ---- timers ---------------------------------------------------------------------------

    def _mdi_us(self) -> int:
        return timers.master_down_interval_us(
            self._cfg.version,
            self._effective_priority,
            self._master_adver_int_cs,
            self._cfg.down_timer_adverts,
        )

    def _skew_us(self) -> int:
        return timers.skew_time_us(
            self._cfg.version, self._effective_priority, self._master_adver_int_cs
        )

    def _adver_int_s(self) -> float:
        return timers.us_to_s(timers.cs_to_us(self._cfg.adver_int_cs))

    def _init_sands(self, now: float) -> None:
        """keepalived's ``vrrp_init_instance_sands()``: restart the timer for the state."""
        if self._state is State.MASTER:
            self._deadline_s = now + self._adver_int_s()
        elif self._state is State.BACKUP:
            self._deadline_s = now + timers.us_to_s(self._ms_down_timer_us)
        else:
            self._deadline_s = None

    def _run_timers(self, now: float, out: list[Action]) -> None:
        """Run the due timers in deadline order; the main timer runs at most once per call."""
        main_done = False
        while True:
            garp = self._pending_garps[0] if self._pending_garps else None
            main = None if main_done else self._deadline_s
            if garp is not None and garp.at_s <= now and (main is None or garp.at_s <= main):
                self._pending_garps.pop(0)
                self._delayed_garp(garp.kind, out)
            elif main is not None and main <= now:
                main_done = True
                self._main_timer(now, out)
            else:
                return

    def _main_timer(self, now: float, out: list[Action]) -> None:
        if self._state is State.BACKUP:
            logger.debug("(%s) Receive advertisement timeout", self._cfg.name)
            self._want_state = State.MASTER
            if self._cfg.sync_group:
                # Held in BACKUP until the group agrees (vrrp_sync_can_goto_master()).
                self._ms_down_timer_us = self._mdi_us()
                self._init_sands(now)
                out.append(MasterWanted())
                return
            self._goto_master(now, Reason.MASTER_DOWN_TIMER, out)
        elif self._state is State.MASTER:
            self._master_tx(now, out)
            # The next advert is due one interval after this one was due, not after the time we
            # got round to it: adverts re-armed from "now" drift by the wake-up latency.
            previous = self._deadline_s
            self._init_sands(now)
            if previous is not None and self._deadline_s is not None:
                on_time = previous + self._adver_int_s()
                if on_time > now:
                    self._deadline_s = on_time
        else:  # pragma: no cover - no timer runs in INIT/FAULT/STOP
            self._deadline_s = None

    def _schedule_garp(self, at_s: float, kind: GarpKind) -> None:
        self._pending_garps.append(_PendingGarp(at_s, kind))
        self._pending_garps.sort()

    def _delayed_garp(self, kind: GarpKind, out: list[Action]) -> None:
        # vrrp_send_link_update() sends nothing unless the VIPs are set.
        if not self._vips_set:
            return
        repeat = (
            self._cfg.garp_master_repeat
            if kind is GarpKind.MASTER_DELAYED
            else self._cfg.garp_lower_prio_repeat
        )
        if repeat:
            out.append(SendGratuitous(kind, repeat))

    # ---- transitions ----------------------------------------------------------------------

    def _set_state(self, new: State, now: float, reason: Reason, out: list[Action]) -> None:
        old = self._state
        self._state = new
        if old is not new:
            self._last_reason = reason
            self._last_transition_s = now
            out.append(StateChanged(old, new, reason))

    def _notify(self, out: list[Action]) -> None:
        """keepalived's ``send_instance_notifies()``: only when the state really changed."""
        if self._state is not self._last_notified:
            self._last_notified = self._state
            out.append(Notify(self._state, self._effective_priority))

    def _goto_master(self, now: float, reason: Reason, out: list[Action]) -> None:
        """``vrrp_state_goto_master()``: MASTER, then the first advert goes out."""
        logger.info("(%s) Entering MASTER STATE", self._cfg.name)
        self._set_state(State.MASTER, now, reason, out)
        self._init_sands(now)
        self._master_tx(now, out)

    def _master_tx(self, now: float, out: list[Action]) -> None:
        """``vrrp_state_master_tx()``: the advert first, so that the old master lets go."""
        out.append(SendAdvert(self._effective_priority))
        if not self._vips_set:
            self._become_master_(now, out)
            if self._cfg.garp_master_delay_s:
                self._schedule_garp(now + self._cfg.garp_master_delay_s, GarpKind.MASTER_DELAYED)
        elif (
            self._cfg.garp_master_refresh_s
            and self._garp_refresh_s is not None
            and now > self._garp_refresh_s
        ):
            if self._cfg.garp_master_refresh_repeat:
                out.append(SendGratuitous(GarpKind.REFRESH, self._cfg.garp_master_refresh_repeat))
            self._garp_refresh_s = now + self._cfg.garp_master_refresh_s

    def _become_master_(self, now: float, out: list[Action]) -> None:
        """``vrrp_state_become_master()``."""
        self._become_master += 1
        # A master advertises its own interval; forget the one learnt from the old master.
        self._master_adver_int_cs = self._cfg.adver_int_cs
        out.append(AddVips())
        self._vips_set = True
        if self._cfg.garp_master_repeat:
            out.append(SendGratuitous(GarpKind.MASTER, self._cfg.garp_master_repeat))
        self._garp_refresh_s = (
            now + self._cfg.garp_master_refresh_s if self._cfg.garp_master_refresh_s else None
        )
        self._notify(out)

    def _restore_interface(self, advert_stop: bool, out: list[Action]) -> None:
        """``vrrp_restore_interface()``: optional priority-0 advert, then remove the VIPs."""
        if advert_stop:
            out.append(SendAdvert(PRIO_STOP))
            self._pri_zero_sent += 1
        if self._vips_set:
            out.append(RemoveVips())
            self._vips_set = False

    def _leave_master(
        self, now: float, reason: Reason, advert_stop: bool, out: list[Action]
    ) -> None:
        """``vrrp_state_leave_master()``: to ``want_state`` (BACKUP or FAULT)."""
        if self._want_state is State.BACKUP:
            logger.info("(%s) Entering BACKUP STATE", self._cfg.name)
            self._preempt_s = None
        else:
            logger.info("(%s) Entering FAULT STATE", self._cfg.name)
            out.append(SendAdvert(PRIO_STOP))
        self._restore_interface(advert_stop, out)
        self._set_state(self._want_state, now, reason, out)
        self._notify(out)
        self._ms_down_timer_us = self._mdi_us()
        self._init_sands(now)
        self._release_master += 1

    def _leave_fault(self, now: float, reason: Reason, out: list[Action]) -> None:
        """``vrrp_state_leave_fault()``: to ``want_state`` from FAULT/BACKUP/INIT."""
        if self._want_state is State.MASTER:
            self._goto_master(now, reason, out)
        else:
            if self._state is not self._want_state:
                logger.info("(%s) Entering %s STATE", self._cfg.name, self._want_state.name)
            self._set_state(self._want_state, now, reason, out)
            self._notify(out)
            if self._state is State.BACKUP:
                self._preempt_s = None
        self._master_adver_int_cs = self._cfg.adver_int_cs
        self._ms_down_timer_us = self._mdi_us()
        self._init_sands(now)

    def _try_up(self, now: float, reason: Reason, out: list[Action]) -> None:
        """``try_up_instance()`` once no fault (and no pending init) is left."""
        owner_master = self._want_state is State.MASTER and self._base_priority == PRIO_OWNER
        if owner_master:
            self._next_master_reason = MasterReason.PREEMPTED
        else:
            self._want_state = State.BACKUP
            self._next_master_reason = MasterReason.MASTER_NO_RESPONSE
        self._master_adver_int_cs = self._cfg.adver_int_cs
        wanted = self._want_state
        if self._cfg.sync_group and wanted is State.MASTER:
            self._want_state = State.BACKUP
        self._leave_fault(now, reason, out)
        if self._cfg.unicast and self._source_address is not None:
            out.append(SendGratuitous(GarpKind.SOURCE_ADDRESS, 1))
        self._want_state = wanted
        if self._cfg.sync_group and wanted is State.MASTER and self._state is State.BACKUP:
            out.append(MasterWanted())

    # ---- event handlers -------------------------------------------------------------------

    def _on_startup(self, event: Startup, now: float, out: list[Action]) -> None:
        if self._started:
            return
        self._started = True
        self._init_pending = event.init_pending
        self._ms_down_timer_us = self._mdi_us()
        self._next_master_reason = MasterReason.MASTER_NO_RESPONSE
        if self._faults:
            self._want_state = State.FAULT
            logger.info("(%s) Entering FAULT STATE (init)", self._cfg.name)
            self._set_state(State.FAULT, now, Reason.FAULT, out)
            self._notify(out)
        elif self._init_pending:
            self._set_state(State.FAULT, now, Reason.INIT_PENDING, out)
        elif event.reload_master:
            self._want_state = State.MASTER
            self._last_notified = State.MASTER
            self._goto_master(now, Reason.RELOAD, out)
            return
        elif self._want_state is State.MASTER and self._base_priority == PRIO_OWNER:
            self._next_master_reason = MasterReason.PREEMPTED
            self._goto_master(now, Reason.ADDRESS_OWNER, out)
            return
        else:
            logger.info("(%s) Entering BACKUP STATE (init)", self._cfg.name)
            self._set_state(State.BACKUP, now, Reason.STARTUP, out)
            self._notify(out)
        self._init_sands(now)

    def _on_init_complete(self, now: float, out: list[Action]) -> None:
        if not self._init_pending:
            return
        self._init_pending = False
        if not self._started or self._faults:
            return
        self._try_up(now, Reason.INIT_COMPLETE, out)

    def _on_fault_on(self, event: FaultOn, now: float, out: list[Action]) -> None:
        if event.reason in self._faults:
            return
        self._faults.add(event.reason)
        if not self._started or len(self._faults) > 1:
            return
        logger.info("(%s) fault: %s", self._cfg.name, event.reason)
        self._want_state = State.FAULT
        if self._state is State.MASTER:
            self._leave_master(now, Reason.FAULT, True, out)
        else:
            self._leave_fault(now, Reason.FAULT, out)

    def _on_fault_off(self, event: FaultOff, now: float, out: list[Action]) -> None:
        if event.reason not in self._faults:
            return
        self._faults.discard(event.reason)
        if not self._started:
            return
        if self._faults or self._init_pending:
            if not self._faults:
                self._want_state = State.BACKUP
            return
        self._try_up(now, Reason.FAULT_CLEARED, out)

    def _on_priority(self, event: EffectivePriorityChanged, out: list[Action]) -> None:
        """``vrrp_set_effective_priority()``."""
        if self._base_priority == PRIO_OWNER:
            return
        new = min(max(event.priority, 1), PRIO_OWNER - 1)
        if new == self._effective_priority:
            return
        logger.info(
            "(%s) Changing effective priority from %d to %d",
            self._cfg.name,
            self._effective_priority,
            new,
        )
        old = self._effective_priority
        self._effective_priority = new
        old_down_us = self._ms_down_timer_us
        self._ms_down_timer_us = self._mdi_us()
        if self._state is State.BACKUP and self._deadline_s is not None:
            self._deadline_s += timers.us_to_s(self._ms_down_timer_us - old_down_us)
        out.append(EffectivePriorityUpdated(old, new, self._state))

    def _on_shutdown(self, event: Shutdown, now: float, out: list[Action]) -> None:
        if self._state is State.MASTER and event.release:
            self._restore_interface(True, out)
        self._set_state(State.STOP, now, Reason.SHUTDOWN, out)
        self._notify(out)
        self._deadline_s = None
        self._pending_garps.clear()
        self._preempt_s = None

    # ---- adverts --------------------------------------------------------------------------

    def _family_version(self) -> int:
        return 4 if self._cfg.family == socket.AF_INET else 6

    def _packet_ok(self, event: AdvertReceived, check_addr: bool) -> bool:
        """The state-dependent part of ``vrrp_check_packet()``."""
        if event.source.version != self._family_version():
            logger.info("(%s) advert from %s of the wrong family", self._cfg.name, event.source)
            return False
        if self._cfg.version == 2 and event.adver_int_cs != self._cfg.adver_int_cs:
            # "to prevent concurrent VRID running => multiple master in 1 VRID"
            logger.info(
                "(%s) advertisement interval mismatch mine=%d sec rcv'd=%d sec",
                self._cfg.name,
                self._cfg.adver_int_cs // 100,
                event.adver_int_cs // 100,
            )
            return False
        if check_addr and not event.addr_list_ok:
            logger.info("(%s) address list of advert from %s differs", self._cfg.name, event.source)
            return False
        if event.priority == PRIO_STOP:
            self._pri_zero_rcvd += 1
        return True

    def _saddr_cmp(self, source: IPAddress) -> int:
        """``vrrp_saddr_cmp()``: the sender's address against ours, numerically."""
        ours = self._source_address
        if ours is None or ours.version != source.version:
            return 0
        return (int(source) > int(ours)) - (int(source) < int(ours))

    def _on_advert(self, event: AdvertReceived, now: float, out: list[Action]) -> None:
        """``vrrp_dispatcher_read()``: dispatch by state, then restart the timer."""
        if self._state is State.BACKUP:
            if self._backup_rx(event, now):
                self._keep_down_timer(now)
            else:
                self._init_sands(now)
                if self._is_repeatable(event):
                    self._repeat = event
                    self._repeat_down_s = timers.us_to_s(self._ms_down_timer_us)
        elif (
            self._state is State.MASTER
            and not self._master_rx(event, now, out)
            and not self._cfg.lower_prio_no_advert
        ):
            # Still master: its advert timer restarts (it may just have sent one).
            self._init_sands(now)
        # INIT and FAULT: adverts are ignored.

    def _is_repeatable(self, event: AdvertReceived) -> bool:
        """True if this accepted advert, handled again, would only restart the down timer.

        That is when :meth:`_backup_rx` took its "master is alive" branch for a reason that
        does not depend on the time (``nopreempt``, or a priority at least ours: not a running
        ``preempt_delay``) and left the learnt interval, master and priority as they are now.
        """
        return (
            self._state is State.BACKUP
            and event.priority != PRIO_STOP
            and (self._cfg.nopreempt or event.priority >= self._effective_priority)
            and self._master_address == event.source
            and (self._cfg.version != 3 or self._master_adver_int_cs == _learnt_cs(event))
        )

    def _on_rejected(self, event: AdvertRejected, now: float) -> None:
        logger.debug("(%s) advert rejected: %s", self._cfg.name, event.reason)
        if self._state is State.BACKUP:
            self._keep_down_timer(now)
        elif self._state is State.MASTER and not self._cfg.lower_prio_no_advert:
            self._init_sands(now)

    def _keep_down_timer(self, now: float) -> None:
        """An ignored advert: the down timer keeps its deadline (or fires at once if past)."""
        deadline = self._deadline_s if self._deadline_s is not None else now
        self._ms_down_timer_us = max(0, timers.s_to_us(deadline - now))
        self._deadline_s = max(deadline, now)

    def _backup_rx(self, event: AdvertReceived, now: float) -> bool:
        """``vrrp_state_backup()``; return True when the advert was ignored."""
        check_addr = (
            not self._cfg.skip_check_adv_addr
            or self._master_address is None
            or self._master_address != event.source
        )
        if not self._packet_ok(event, check_addr):
            return True
        if event.priority == PRIO_STOP:
            logger.debug("(%s) Backup received priority 0 advertisement", self._cfg.name)
            self._ms_down_timer_us = self._skew_us()
            self._next_master_reason = MasterReason.PRIORITY
            return False
        if (
            self._cfg.nopreempt
            or event.priority >= self._effective_priority
            or (self._cfg.preempt_delay_s and (self._preempt_s is None or self._preempt_s > now))
        ):
            if self._cfg.version == 3 and self._master_adver_int_cs != _learnt_cs(event):
                logger.debug(
                    "(%s) advertisement interval updated from %d0ms to %d0ms by master",
                    self._cfg.name,
                    self._master_adver_int_cs,
                    _learnt_cs(event),
                )
                self._master_adver_int_cs = _learnt_cs(event)
            self._ms_down_timer_us = self._mdi_us()
            self._master_address = event.source
            self._master_priority = event.priority
            self._next_master_reason = MasterReason.MASTER_NO_RESPONSE
            if self._cfg.preempt_delay_s:
                if event.priority >= self._effective_priority:
                    self._preempt_s = None
                elif self._preempt_s is None:
                    self._preempt_s = now + self._cfg.preempt_delay_s
            # Held in BACKUP by a sync group or not, an advert means we want BACKUP.
            self._want_state = State.BACKUP
            self._lower_prio_logged = None
            return False
        if self._lower_prio_logged != (event.source, event.priority):
            # Logged once per sender and priority, not for every advert (100/s at 0.01 s).
            self._lower_prio_logged = (event.source, event.priority)
            logger.info(
                "(%s) received lower priority (%d) advert from %s - discarding",
                self._cfg.name,
                event.priority,
                event.source,
            )
        self._next_master_reason = MasterReason.PREEMPTED
        self._master_address = event.source
        return True

    def _master_rx(self, event: AdvertReceived, now: float, out: list[Action]) -> bool:
        """``vrrp_state_master_rx()``; return True when we went to BACKUP."""
        if not self._packet_ok(event, True):
            return False
        addr_cmp = self._saddr_cmp(event.source)
        prio = event.priority
        higher = prio > self._effective_priority or (
            prio == self._effective_priority and addr_cmp > 0
        )
        if prio == PRIO_STOP or (self._cfg.higher_prio_send_advert and higher):
            out.append(SendAdvert(self._effective_priority))
            if prio == PRIO_STOP:
                logger.debug("(%s) Master received priority 0 message", self._cfg.name)
                return False
        if prio == self._effective_priority:
            if addr_cmp == 0:
                logger.warning(
                    "(%s) WARNING - equal priority advert received from remote host with our"
                    " IP address.",
                    self._cfg.name,
                )
            elif self._effective_priority == PRIO_OWNER:
                logger.error(
                    "(%s) CONFIGURATION ERROR: local instance and a remote instance are both"
                    " configured as address owner, please fix - reducing local priority",
                    self._cfg.name,
                )
                self._effective_priority = PRIO_OWNER - 1
                self._base_priority = PRIO_OWNER - 1
        if prio < self._effective_priority or (prio == self._effective_priority and addr_cmp < 0):
            logger.info(
                "(%s) Received advert from %s with lower priority %d, ours %d%s",
                self._cfg.name,
                event.source,
                prio,
                self._effective_priority,
                "" if self._cfg.lower_prio_no_advert else ", forcing new election",
            )
            if not self._cfg.lower_prio_no_advert:
                out.append(SendAdvert(self._effective_priority))
            self._lower_prio_garps(now, out)
            out.append(NotifyMasterRxLowerPri(event.source, prio))
            return False
        if prio > self._effective_priority or (prio == self._effective_priority and addr_cmp > 0):
            if prio > self._effective_priority:
                reason = Reason.HIGHER_PRIORITY
                logger.info(
                    "(%s) Master received advert from %s with higher priority %d, ours %d",
                    self._cfg.name,
                    event.source,
                    prio,
                    self._effective_priority,
                )
            else:
                reason = Reason.EQUAL_PRIORITY_HIGHER_ADDRESS
                logger.info(
                    "(%s) Master received advert from %s with same priority %d but higher IP"
                    " address than ours",
                    self._cfg.name,
                    event.source,
                    prio,
                )
            if self._cfg.version == 3:
                self._master_adver_int_cs = _learnt_cs(event)
            self._master_priority = prio
            self._want_state = State.BACKUP
            self._leave_master(now, reason, False, out)
            return True
        return False

    def _lower_prio_garps(self, now: float, out: list[Action]) -> None:
        if not self._cfg.garp_lower_prio_repeat:
            return
        if self._vips_set:
            out.append(SendGratuitous(GarpKind.LOWER_PRIO, self._cfg.garp_lower_prio_repeat))
        if self._cfg.garp_lower_prio_delay_s:
            self._schedule_garp(
                now + self._cfg.garp_lower_prio_delay_s, GarpKind.LOWER_PRIO_DELAYED
            )
