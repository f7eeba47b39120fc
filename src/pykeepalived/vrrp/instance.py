"""One VRRP instance at run time: the state machine wired to sockets, addresses and scripts.

:class:`InstanceRuntime` feeds its :class:`~pykeepalived.vrrp.fsm.VrrpMachine` with received
adverts, link changes and timer expiries (the machine's next deadline armed on the worker's shared
timerfd, :class:`~pykeepalived.vrrp.timerfd.DeadlineTimer`; the machine's clock is
``loop.time()``; a deadline that moved later, as a backup's down timer on every advert, is
re-armed only when the earlier one fires), and carries out the actions it returns:

* adverts are encoded and sent at once, in the order the machine asks (so the first advert of a
  new master leaves before its VIPs are added, as in keepalived);
* tracking (interfaces, scripts, files, processes) goes through the pure
  :class:`~pykeepalived.vrrp.tracking.InstanceTracking`; its total priority, faults and pending
  init are fed to the machine as events;
* sync-group members report their transitions, wishes to become master and own faults to a
  ``group_hook`` set by the service, which answers with events through :meth:`feed`;
* on MASTER: the no_accept firewall drop rules, VIPs/eVIPs, virtual routes, virtual rules (in
  keepalived's order), removed in the reverse order when leaving MASTER;
* VIP changes, notifies (scripts and FIFO lines) and GARP bursts go through one ordered queue
  worked by a task, so that a ``notify_master`` script sees the VIPs already installed and a
  burst of GARPs follows the addresses it announces. When that queue is idle, VIPs are added
  or removed at once from the timer callback (one synchronous rtnetlink request per VIP,
  :class:`~pykeepalived.net.addresses.AddressSender`, ifindex cached) and a burst whose
  interfaces are known is sent at once: a takeover puts its VIPs up within a fraction of a
  millisecond; notifies are still queued after them;
* with ``vrrp_garp_interval`` / ``vrrp_gna_interval`` spacing, keepalived's ``queue_garp()`` is
  followed: a packet goes out if the interface's spacing allows, otherwise its VIP is marked
  pending (once: a burst of repeat x VIPs gives 1 + VIPs packets), and a task sends the
  pending ones spaced; it is cancelled when the VIPs go.

Nothing received can raise out of :meth:`InstanceRuntime.on_advert`: refusals are counted in
:class:`~pykeepalived.vrrp.stats.VrrpStats` under keepalived's names.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from pykeepalived.net.addresses import AddressSender, VirtualAddress, add_address, remove_address
from pykeepalived.net.links import LinkInfo, NetError, NetlinkSession, get_link
from pykeepalived.net.routes import add_route, add_rule, remove_route, remove_rule
from pykeepalived.notify.fifo import NotifyFifo, instance_line
from pykeepalived.notify.scripts import ScriptLauncher, ScriptSpec
from pykeepalived.notify.vrrp_args import instance_notify_args
from pykeepalived.vrrp import fsm
from pykeepalived.vrrp.auth import AuthType
from pykeepalived.vrrp.fsm import (
    AddVips,
    AdvertReceived,
    AdvertRejected,
    EffectivePriorityChanged,
    EffectivePriorityUpdated,
    FaultOff,
    FaultOn,
    GarpKind,
    InitComplete,
    MasterWanted,
    Notify,
    NotifyMasterRxLowerPri,
    RemoveVips,
    SendAdvert,
    SendGratuitous,
    Shutdown,
    SourceAddressChanged,
    Startup,
    State,
    StateChanged,
    VrrpMachine,
)
from pykeepalived.vrrp.garp import GarpSender
from pykeepalived.vrrp.mapping import InstancePlan
from pykeepalived.vrrp.packet import (
    Advertisement,
    ChecksumCompat,
    Family,
    InstanceExpectations,
    ReceivedAdvert,
    encode_ipv4,
    encode_vrrp,
    needs_old_unicast_checksum,
    validate,
)
from pykeepalived.vrrp.sockets import VrrpSocket
from pykeepalived.vrrp.stats import DropReason, VrrpStats
from pykeepalived.vrrp.strict import NftFirewall, VipEntry
from pykeepalived.vrrp.timerfd import DeadlineClient, DeadlineTimer
from pykeepalived.vrrp.tracking import InstanceTracking, TrackingResult, TrackKind, Value

__all__ = [
    "NO_PEER_FAULT",
    "GroupReport",
    "InstanceRuntime",
    "InstanceServices",
    "link_fault_reason",
]

log = logging.getLogger(__name__)

IPAddress = IPv4Address | IPv6Address

STOP_SCRIPT_TIMEOUT_S = 1.0
"""How long stop notifies may run at shutdown before they are killed."""
DRAIN_TIMEOUT_S = 5.0
"""How long the ordered queue (VIP removal, notifies) may take at shutdown."""
_MAX_QUEUE = 1024


NO_PEER_FAULT = "unicast_fault_no_peer: no unicast peers"


def link_fault_reason(interface: str) -> str:
    """The fault name used for "interface down" (the same for the primary and tracked ones)."""
    return f"interface {interface} down"


@dataclass(frozen=True)
class GroupReport:
    """What a sync-group member tells its group after handling an event."""

    transitions: tuple[StateChanged, ...]
    master_wanted: bool
    lower_prio_heard: bool
    own_fault: bool


@dataclass
class InstanceServices:
    """What instances share, owned by the VRRP service."""

    loop: asyncio.AbstractEventLoop
    netlink: NetlinkSession
    garp: GarpSender | None
    launcher: ScriptLauncher
    fifos: Sequence[NotifyFifo]
    link_cache: dict[str, LinkInfo]
    garp_interval_s: float = 0.0
    gna_interval_s: float = 0.0
    release_vips_on_exit: bool = True
    firewall: NftFirewall | None = None
    timer: DeadlineTimer | None = None
    """The worker's shared timerfd; None: each instance makes its own (tests)."""
    addr_sender: AddressSender | None = None
    """Synchronous rtnetlink VIP add/remove (the fast path); None: through ``netlink``."""
    garp_next_s: dict[tuple[str, int], float] = dataclasses.field(default_factory=dict)
    """Per (interface, IP version): when the next spaced GARP/NA may leave."""


@dataclass(frozen=True)
class _Op:
    """One entry of the ordered queue: a coroutine factory and a name for logs."""

    name: str
    run: Callable[[], Any]


@dataclass(frozen=True, slots=True)
class _Accepted:
    """An advert :func:`validate` accepted, what it was checked against, and its event."""

    rx: ReceivedAdvert
    expectations: InstanceExpectations
    master: IPAddress | None
    event: AdvertReceived


class InstanceRuntime:
    """The run-time side of one ``vrrp_instance`` (see the module docstring)."""

    def __init__(
        self,
        plan: InstancePlan,
        services: InstanceServices,
        sock: VrrpSocket,
        interface: str,
        *,
        stats: VrrpStats | None = None,
    ) -> None:
        self.plan = plan
        self.interface = interface
        self.services = services
        self.sock = sock
        self.machine = VrrpMachine(plan.machine)
        self.stats = stats if stats is not None else VrrpStats()
        self.expectations = plan.expectations
        self.source: IPAddress | None = plan.src_ip
        self.link: LinkInfo | None = None
        self._loop = services.loop
        if services.timer is None:
            services.timer = DeadlineTimer(services.loop)
        self._deadlines = services.timer
        self._deadline_client = DeadlineClient(self._on_timer, self.machine.next_deadline)
        self._busy = False
        self._advert_cache: dict[int, Advertisement] = {}
        self._vip_index: dict[str, int] = {}
        self._garp_pending: dict[tuple[str, IPAddress], LinkInfo] = {}
        self._garp_drain: asyncio.Task[None] | None = None
        self._ip_id = 0
        self._ah_seq = 0
        self._ah_last_seq_rx = 0
        self._queue: asyncio.Queue[_Op] = asyncio.Queue(maxsize=_MAX_QUEUE)
        self._worker: asyncio.Task[None] | None = None
        self._garp_tasks: set[asyncio.Task[None]] = set()
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._warned_no_source = False
        self._stop_tasks: list[asyncio.Task[Any]] = []
        self._logged_drops: set[tuple[DropReason, IPAddress]] = set()
        self._last_event_s = -math.inf
        """The time of the last advert or timer handed to the machine (times never go back)."""
        self._accepted: _Accepted | None = None
        """The last advert accepted, to accept the same one again without checking it again."""
        self.queue_drops = 0
        self.last_transition_wall: float | None = None
        self.last_reason: str | None = None
        self.started = False
        self.stopped = False
        self.base_interface = plan.interface or interface
        """Where the source address and link state come from (the VMAC's parent)."""
        self.tracking = InstanceTracking(plan.machine.priority, plan.tracks)
        self._tracked: TrackingResult | None = None
        self.group_hook: Callable[[InstanceRuntime, GroupReport], None] | None = None
        self.group_fault_reason: str | None = None
        self._report_transitions: list[StateChanged] = []
        self._report_master_wanted = False
        self._report_lower_prio = False
        self._firewall_set: tuple[VipEntry, ...] = ()
        self._extra_garp: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        """The instance name."""
        return self.plan.name

    @property
    def state(self) -> State:
        """The machine's state."""
        return self.machine.state

    # ---- life cycle ----------------------------------------------------------------------

    async def start(
        self,
        values: dict[tuple[TrackKind, str], Value] | None = None,
        *,
        reload_master: bool = False,
    ) -> None:
        """Resolve the source address and tracked values, then run the machine's start-up.

        ``values`` holds the current values of tracked scripts/files/processes (interfaces are
        read here); ``reload_master`` keeps a master that a reload replaced in MASTER.
        """
        self._worker = self._loop.create_task(self._work(), name=f"vrrp-{self.name}")
        await self._refresh_link()
        for ref in self.plan.tracks:
            if ref.kind is TrackKind.INTERFACE:
                tracked = await self._get_link(ref.name)
                self.tracking.set(ref.kind, ref.name, tracked is not None and tracked.running)
        if values:
            self.tracking.update(values)
        now = self._loop.time()
        if self.plan.unicast_fault_no_peer:
            log.warning("(%s) no unicast peers configured - FAULT", self.name)
            self._feed(FaultOn(NO_PEER_FAULT), now)
        result = self._apply_tracking(now, startup=True)
        if self.source is None:
            log.warning("(%s) no source address on %s yet", self.name, self.base_interface)
        self._feed(Startup(init_pending=result.init_pending, reload_master=reload_master), now)
        self.started = True

    # ---- tracking ------------------------------------------------------------------------

    def on_track(self, kind: TrackKind, name: str, value: Value) -> None:
        """A tracked object changed value (script status, file value, quorum, link)."""
        if self.stopped or not self.tracking.set(kind, name, value):
            return
        if self.started:
            self._apply_tracking(self._loop.time())

    def _apply_tracking(self, now: float, *, startup: bool = False) -> TrackingResult:
        """Feed the machine what changed in the tracking result."""
        result = self.tracking.result()
        old = self._tracked
        self._tracked = result
        old_faults = old.faults if old is not None else frozenset()
        for reason in sorted(old_faults - result.faults):
            self._feed(FaultOff(reason), now)
        if old is None or old.total_priority != result.total_priority:
            self._feed(EffectivePriorityChanged(result.total_priority), now)
        for reason in sorted(result.faults - old_faults):
            self._feed(FaultOn(reason), now)
        if not startup and old is not None and old.init_pending and not result.init_pending:
            self._feed(InitComplete(), now)
        return result

    def feed(self, event: fsm.Event) -> None:
        """Feed an event from outside (the sync-group coordinator)."""
        if not self.stopped:
            self._feed(event, self._loop.time())

    async def stop(self, *, release: bool = True) -> None:
        """Leave: priority-0 advert and VIPs removed when master (if ``release``), STOP notify."""
        if self.stopped:
            return
        self.stopped = True
        self._feed(Shutdown(release=release), self._loop.time())
        self._cancel_timer()
        self._stop_extra_garp()
        for task in list(self._side_tasks):
            task.cancel()
        await self._drain(DRAIN_TIMEOUT_S)
        self._cancel_garps()
        if self._stop_tasks:
            _done, pending = await asyncio.wait(self._stop_tasks, timeout=STOP_SCRIPT_TIMEOUT_S)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    async def abandon(self) -> None:
        """Stop without any protocol action (kept VIPs, no advert, no notify): for handover."""
        self.stopped = True
        self._cancel_timer()
        self._stop_extra_garp()
        await self._drain(DRAIN_TIMEOUT_S)
        self._cancel_garps()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    async def _drain(self, timeout_s: float) -> None:
        if self._worker is None or self._worker.done():
            return
        try:
            await asyncio.wait_for(self._queue.join(), timeout_s)
        except TimeoutError:
            log.warning("(%s) pending address/notify work not finished at stop", self.name)

    # ---- events in -----------------------------------------------------------------------

    def on_advert(self, rx: ReceivedAdvert, received_at_s: float | None = None) -> None:
        """A decoded advert for our VRID arrived on our socket (at ``received_at_s`` on the
        loop's clock: the down timer runs from then; None: now)."""
        if self.stopped or self.machine.state in (State.INIT, State.FAULT):
            return  # keepalived ignores adverts for instances in FAULT or INIT
        master = self.machine.master_address
        accepted = self._accepted
        if (
            accepted is not None
            and accepted.rx is rx
            and accepted.expectations is self.expectations
            and (accepted.master is master or accepted.master == master)
        ):
            # The very advert object accepted last time (the socket hands the same object back
            # for the same bytes), checked against the same expectations and master: validate()
            # is a function of those alone (AH adverts, which also depend on the sequence
            # counter, are never remembered), so it would accept it again.
            self.stats.record_received(None, rx.advert.priority)
            self._feed(accepted.event, self._received(received_at_s))
            return
        exp = self.expectations
        if needs_old_unicast_checksum(rx, exp):
            log.info("(%s) Setting unicast VRRPv3 checksum to old version", self.name)
            self.expectations = exp = dataclasses.replace(
                exp, unicast_checksum_compat=ChecksumCompat.AUTO
            )
        reason = validate(
            rx,
            exp,
            current_master=master,
            ah_last_seq=self._ah_last_seq_rx,
        )
        self.stats.record_received(reason, rx.advert.priority)
        now = self._received(received_at_s)
        if reason is not None:
            self._log_drop(reason, rx)
            self._feed(AdvertRejected(reason.name.lower()), now)
            return
        self._logged_drops.clear()
        if rx.ah is not None:
            self._ah_last_seq_rx = rx.ah.seq_number
        try:
            event = AdvertReceived(
                priority=rx.advert.priority,
                adver_int_cs=rx.advert.adver_int_cs,
                source=rx.src,
            )
        except ValueError as exc:
            log.info("(%s) advert from %s refused: %s", self.name, rx.src, exc)
            return
        self._accepted = None if rx.ah is not None else _Accepted(rx, exp, master, event)
        self._feed(event, now)

    def _received(self, received_at_s: float | None) -> float:
        """The time an advert counts from: when it was received, never before the last event
        the machine handled (a timer that ran while it waited to be read)."""
        now = self._loop.time() if received_at_s is None else received_at_s
        now = max(now, self._last_event_s)
        self._last_event_s = now
        return now

    def _log_drop(self, reason: DropReason, rx: ReceivedAdvert) -> None:
        key = (reason, rx.src)
        if key in self._logged_drops:
            return
        self._logged_drops.add(key)
        log.info(
            "(%s) advert from %s refused: %s (vrid %d, prio %d)",
            self.name,
            rx.src,
            reason.name.lower(),
            rx.advert.vrid,
            rx.advert.priority,
        )

    def on_link(self, interface: str, up: bool) -> None:
        """The primary or a tracked interface went up or down."""
        self._vip_index.clear()  # an interface may have been re-created with another ifindex
        if self.stopped or not self.tracking.tracks(TrackKind.INTERFACE, interface):
            return
        if up:
            log.info("(%s) interface %s is up", self.name, interface)
            task = self._loop.create_task(self._refresh_then(interface))
            self._side_tasks.add(task)
            task.add_done_callback(self._side_tasks.discard)
        else:
            log.info("(%s) interface %s is down", self.name, interface)
            self.on_track(TrackKind.INTERFACE, interface, False)

    async def _refresh_then(self, interface: str) -> None:
        if interface == self.base_interface:
            await self._refresh_link()
        if not self.stopped:
            self.on_track(TrackKind.INTERFACE, interface, True)

    async def _get_link(self, name: str) -> LinkInfo | None:
        try:
            link = await get_link(self.services.netlink, name, exclude_ipv4=self._vip_ipv4())
        except NetError as exc:
            log.warning("(%s) cannot read interface %s: %s", self.name, name, exc)
            return None
        self.services.link_cache[name] = link
        return link

    def _vip_ipv4(self) -> tuple[IPv4Address, ...]:
        return tuple(
            v.ip for v in (*self.plan.vips, *self.plan.evips) if isinstance(v.ip, IPv4Address)
        )

    async def _refresh_link(self) -> LinkInfo | None:
        """Re-read the interface; update the source address the machine compares with."""
        link = await self._get_link(self.base_interface)
        self.link = link
        if link is None or self.plan.src_ip is not None:
            return link
        source: IPAddress | None
        if self.plan.family is Family.IPV4:
            source = link.ipv4_primary.ip if link.ipv4_primary is not None else None
        else:
            source = link.ipv6_link_local
        if source != self.source:
            self.source = source
            self._feed(SourceAddressChanged(source), self._loop.time())
        return link

    # ---- the machine ---------------------------------------------------------------------

    def _feed(self, event: fsm.Event, now: float) -> None:
        try:
            actions = self.machine.handle(event, now)
        except ValueError as exc:  # an event the machine refuses (bad values): never fatal
            log.error("(%s) event %r refused: %s", self.name, event, exc)
            return
        for action in actions:
            self._execute(action)
        self._reschedule()
        self._report_group()

    def _on_timer(self, armed_s: float) -> None:
        """The deadline armed for ``armed_s`` came (or is at most the coalescing window away)."""
        if self.stopped:
            return
        now = max(self._loop.time(), armed_s)
        deadline = self.machine.next_deadline()
        if deadline is None:
            return
        if deadline <= now and self.machine.state is State.BACKUP:
            # Adverts already waiting on the socket (reading paused, or the loop serves the
            # timer first) came before the down timer expired: read them first, they move it.
            self.sock.flush()
            deadline = self.machine.next_deadline()
            if self.stopped or deadline is None:
                return
        if deadline > now:  # the deadline moved later since it was armed (a backup's down timer)
            self._deadlines.arm(self._deadline_client, deadline)
            return
        self._last_event_s = max(self._last_event_s, now)
        actions = self.machine.on_timer(now)
        for action in actions:
            self._execute(action)
        self._reschedule()
        self._report_group()

    def own_fault(self) -> bool:
        """A fault other than the sync group's (what makes the group go FAULT)."""
        faults = set(self.machine.describe().faults)
        faults.discard(self.group_fault_reason or "")
        return bool(faults)

    def _report_group(self) -> None:
        hook = self.group_hook
        if hook is None:
            return
        report = GroupReport(
            transitions=tuple(self._report_transitions),
            master_wanted=self._report_master_wanted,
            lower_prio_heard=self._report_lower_prio,
            own_fault=self.own_fault(),
        )
        self._report_transitions.clear()
        self._report_master_wanted = False
        self._report_lower_prio = False
        hook(self, report)

    def _reschedule(self) -> None:
        """Arm the machine's next deadline; a later one than the armed one waits for it."""
        if self.stopped:
            return
        deadline = self.machine.next_deadline()
        if deadline is None:
            return
        armed = self._deadline_client.armed_at
        if armed is None or deadline < armed:  # (a later one: the common case, nothing to do)
            self._deadlines.arm(self._deadline_client, deadline)

    def _cancel_timer(self) -> None:
        self._deadlines.disarm(self._deadline_client)

    def _execute(self, action: fsm.Action) -> None:
        match action:
            case SendAdvert(priority=priority):
                self.send_advert(priority)
            case StateChanged():
                self._on_state_changed(action)
            case AddVips():
                if self._idle() and not self._firewall_pending() and self._vips_now(add=True):
                    pass  # the VIPs are in place already (see _vips_now)
                else:
                    self._enqueue("add firewall", self._add_firewall)
                    self._enqueue("add VIPs", self._add_vips)
                if self.plan.virtual_routes or self.plan.virtual_rules:
                    self._enqueue("add routes", self._add_routes)
                self._start_extra_garp()
            case RemoveVips():
                self._cancel_garps()
                self._stop_extra_garp()
                routes = bool(self.plan.virtual_routes or self.plan.virtual_rules)
                if routes or not self._idle() or not self._vips_now(add=False):
                    if routes:
                        self._enqueue("remove routes", self._remove_routes)
                    self._enqueue("remove VIPs", self._remove_vips)
                self._enqueue("remove firewall", self._remove_firewall)
            case SendGratuitous(kind=kind, repeat=repeat):
                if not (self._idle() and self._garps_now(kind, repeat)):
                    self._enqueue(f"GARP {kind.value}", lambda: self._start_garps(kind, repeat))
            case Notify(state=state, priority=priority):
                self._enqueue(f"notify {state.name}", lambda: self._notify(state, priority))
            case NotifyMasterRxLowerPri():
                self._report_lower_prio = True
                self._enqueue("notify master_rx_lower_pri", self._notify_lower_pri)
            case EffectivePriorityUpdated():
                log.debug("(%s) effective priority %d -> %d", self.name, action.old, action.new)
                if self.plan.notify_priority_changes:
                    self._notify_priority(action)
            case MasterWanted():
                log.debug("(%s) wants MASTER - waiting for its sync group", self.name)
                self._report_master_wanted = True

    def _on_state_changed(self, action: StateChanged) -> None:
        self._report_transitions.append(action)
        self.last_transition_wall = time.time()
        self.last_reason = action.reason.value
        if action.new is State.MASTER:
            self.stats.become_master += 1
        elif action.old is State.MASTER:
            self.stats.release_master += 1
        log.debug(
            "(%s) %s -> %s (%s)", self.name, action.old.name, action.new.name, action.reason.value
        )

    # ---- adverts out ---------------------------------------------------------------------

    def _next_ip_id(self) -> int:
        self._ip_id = self._ip_id % 0xFFFF + 1  # 1..65535: 0 would be filled in by the kernel
        return self._ip_id

    def send_advert(self, priority: int) -> None:
        """Encode and send one advert (to the group, or to every unicast peer)."""
        plan = self.plan
        if self.sock.closed:
            return
        advert = self._advert_cache.get(priority)
        if advert is None:
            advert = Advertisement(
                version=plan.version,
                vrid=plan.vrid,
                priority=priority,
                adver_int_cs=plan.machine.adver_int_cs,
                addresses=plan.advert_addresses,
                family=plan.family,
                auth_type=plan.auth_type,
                auth_data=plan.auth_data if plan.auth_type is AuthType.PASS else b"",
            )
            self._advert_cache[priority] = advert
        destinations: tuple[IPAddress, ...] = plan.unicast_peers or (plan.mcast_group,)
        sent = False
        if plan.family is Family.IPV4:
            src = self.source
            if not isinstance(src, IPv4Address):
                if not self._warned_no_source:
                    self._warned_no_source = True
                    log.warning("(%s) no IPv4 source address: adverts not sent", self.name)
                return
            self._warned_no_source = False
            if plan.auth_type is AuthType.AH:
                self._ah_seq += 1
            old_csum = self.expectations.unicast_checksum_compat.uses_group_in_pseudo_header
            ip_id = self._next_ip_id()
            for dst in destinations:
                assert isinstance(dst, IPv4Address)
                packet = encode_ipv4(
                    advert,
                    src=src,
                    dst=dst,
                    ip_id=ip_id,
                    ttl=plan.ttl,
                    pseudo_header_dst=self.expectations.mcast_group4 if old_csum else None,
                    ah_key=plan.auth_data if plan.auth_type is AuthType.AH else None,
                    ah_seq=self._ah_seq,
                    unicast=plan.unicast,
                )
                sent = self.sock.send_ipv4(packet, dst) or sent
        else:
            message = encode_vrrp(advert)
            src6 = self.source if isinstance(self.source, IPv6Address) else None
            for dst in destinations:
                assert isinstance(dst, IPv6Address)
                sent = (
                    self.sock.send_ipv6(message, dst, src6, hop_limit=plan.unicast_hop_limit)
                    or sent
                )
        if sent:
            self.stats.advert_sent += 1
            if priority == 0:
                self.stats.pri_zero_sent += 1
                log.info("(%s) sent 0 priority", self.name)

    # ---- the ordered queue ---------------------------------------------------------------

    def _enqueue(self, name: str, run: Callable[[], Any]) -> None:
        try:
            self._queue.put_nowait(_Op(name, run))
        except asyncio.QueueFull:
            self.queue_drops += 1
            log.error("(%s) work queue full: %s dropped", self.name, name)

    async def _work(self) -> None:
        while True:
            op = await self._queue.get()
            self._busy = True
            try:
                result = op.run()
                if asyncio.iscoroutine(result):
                    await result
            except asyncio.CancelledError:
                self._busy = False
                self._queue.task_done()
                raise
            except Exception:
                log.exception("(%s) %s failed", self.name, op.name)
            self._busy = False
            self._queue.task_done()

    def _idle(self) -> bool:
        """Nothing queued or running: work may be done at once without breaking the order."""
        return not self._busy and self._queue.empty()

    def _firewall_pending(self) -> bool:
        fw = self.services.firewall
        return fw is not None and bool(self.firewall_entries()) and not self._firewall_set

    def _vips_now(self, *, add: bool) -> bool:
        """Add or remove every VIP synchronously (the takeover fast path).

        Needs the service's :class:`AddressSender` and every VIP's ifindex (resolved with
        ``if_nametoindex`` once, forgotten on link events); False (nothing done) otherwise,
        and the ordered queue does the work.
        """
        sender = self.services.addr_sender
        plan = self.plan
        if sender is None:
            return False
        vips = (*plan.vips, *plan.evips)
        if not vips:
            return True
        indexes: list[int] = []
        for vip in vips:
            index = self._vip_index.get(vip.dev)
            if index is None:
                try:
                    index = socket.if_nametoindex(vip.dev)
                except OSError:
                    return False
                self._vip_index[vip.dev] = index
            indexes.append(index)
        log.info("(%s) %s VIPs.", self.name, "setting" if add else "removing")
        for vip, index in zip(vips, indexes, strict=True):
            self._vip_op(sender, vip, index, add=add)
        return True

    def _vip_op(self, sender: AddressSender, vip: VirtualAddress, index: int, *, add: bool) -> None:
        try:
            if add:
                sender.add(vip, index)
            else:
                sender.remove(vip, index)
        except NetError as exc:
            self._vip_index.pop(vip.dev, None)
            verb = "add" if add else "remove"
            log.error("(%s) cannot %s %s dev %s: %s", self.name, verb, vip.address, vip.dev, exc)

    async def _add_vips(self) -> None:
        plan = self.plan
        if not plan.vips and not plan.evips:
            return
        log.info("(%s) setting VIPs.", self.name)
        for vip in (*plan.vips, *plan.evips):
            try:
                await add_address(self.services.netlink, vip)
            except NetError as exc:
                log.error("(%s) cannot add %s dev %s: %s", self.name, vip.address, vip.dev, exc)

    async def _remove_vips(self) -> None:
        plan = self.plan
        if not plan.vips and not plan.evips:
            return
        log.info("(%s) removing VIPs.", self.name)
        for vip in (*plan.vips, *plan.evips):
            try:
                await remove_address(self.services.netlink, vip)
            except NetError as exc:
                log.error("(%s) cannot remove %s dev %s: %s", self.name, vip.address, vip.dev, exc)

    async def _add_routes(self) -> None:
        nl = self.services.netlink
        for route in self.plan.virtual_routes:
            try:
                await add_route(nl, route)
            except NetError as exc:
                log.error("(%s) cannot add route: %s", self.name, exc)
        for rule in self.plan.virtual_rules:
            try:
                await add_rule(nl, rule)
            except NetError as exc:
                log.error("(%s) cannot add rule: %s", self.name, exc)

    async def _remove_routes(self) -> None:
        nl = self.services.netlink
        for rule in self.plan.virtual_rules:
            try:
                await remove_rule(nl, rule)
            except NetError as exc:
                log.error("(%s) cannot remove rule: %s", self.name, exc)
        for route in self.plan.virtual_routes:
            try:
                await remove_route(nl, route)
            except NetError as exc:
                log.error("(%s) cannot remove route: %s", self.name, exc)

    def firewall_entries(self) -> tuple[VipEntry, ...]:
        """The VIPs a no_accept master drops traffic for."""
        if self.plan.accept:
            return ()
        return tuple(VipEntry(v.ip, v.dev) for v in (*self.plan.vips, *self.plan.evips))

    async def _add_firewall(self) -> None:
        fw = self.services.firewall
        entries = self.firewall_entries()
        if fw is None or not entries or self._firewall_set:
            return
        self._firewall_set = entries
        await fw.add(entries)

    async def _remove_firewall(self) -> None:
        fw = self.services.firewall
        entries, self._firewall_set = self._firewall_set, ()
        if fw is not None and entries:
            await fw.remove(entries)

    def _start_extra_garp(self) -> None:
        """``garp_extra_if``: one GARP/NA per VIP every N s on the other interfaces."""
        if self.plan.garp_extra_if_s <= 0 or self._extra_garp is not None:
            return
        self._extra_garp = self._loop.create_task(self._extra_garp_loop())

    def _stop_extra_garp(self) -> None:
        if self._extra_garp is not None:
            self._extra_garp.cancel()
            self._extra_garp = None

    async def _extra_garp_loop(self) -> None:
        while True:
            await asyncio.sleep(self.plan.garp_extra_if_s)
            targets = [
                (v.dev, v.ip)
                for v in (*self.plan.vips, *self.plan.evips)
                if self.plan.garp_extra_if_all or v.dev != self.interface
            ]
            if self.plan.vmac is not None and self.plan.vmac.kind == "macvlan":
                targets += [(self.plan.vmac.parent, v.ip) for v in self.plan.vips]
            for dev, ip in targets:
                link = self.services.link_cache.get(dev) or await self._get_link(dev)
                if link is not None and not link.noarp and link.mac:
                    self._send_one(dev, ip, link)

    # ---- gratuitous ARP / NA -------------------------------------------------------------

    def _cancel_garps(self) -> None:
        for task in list(self._garp_tasks):
            task.cancel()
        self._garp_tasks.clear()
        self._garp_pending.clear()
        self._garp_drain = None

    def _garp_targets(self, kind: GarpKind, repeat: int) -> tuple[list[tuple[str, IPAddress]], int]:
        if kind is GarpKind.SOURCE_ADDRESS:
            targets = [(self.interface, self.source)] if self.source is not None else []
            return targets, 1
        return [(v.dev, v.ip) for v in (*self.plan.vips, *self.plan.evips)], repeat

    def _garps_now(self, kind: GarpKind, repeat: int) -> bool:
        """Send (or queue, when spaced) the burst at once if every interface is known."""
        if self.services.garp is None or repeat <= 0:
            return True
        targets, repeat = self._garp_targets(kind, repeat)
        cache = self.services.link_cache
        links: dict[str, LinkInfo] = {}
        for dev, _ip in targets:
            link = cache.get(dev)
            if link is None:
                return False
            links[dev] = link
        self._garps_with(targets, links, repeat)
        return True

    async def _start_garps(self, kind: GarpKind, repeat: int) -> None:
        if self.services.garp is None or repeat <= 0:
            return
        targets, repeat = self._garp_targets(kind, repeat)
        links: dict[str, LinkInfo] = {}
        for dev in {dev for dev, _ in targets}:
            link = self.services.link_cache.get(dev) or await self._get_link(dev)
            if link is not None:
                links[dev] = link
        self._garps_with(targets, links, repeat)

    def _garps_with(
        self, targets: list[tuple[str, IPAddress]], links: dict[str, LinkInfo], repeat: int
    ) -> None:
        usable = {dev: link for dev, link in links.items() if not link.noarp and link.mac}
        targets = [(dev, ip) for dev, ip in targets if dev in usable]
        if not targets:
            return
        for dev in sorted({dev for dev, _ in targets}):
            log.info(
                "(%s) Sending/queueing gratuitous ARPs on %s for %s",
                self.name,
                dev,
                ", ".join(str(ip) for d, ip in targets if d == dev),
            )
        spaced = self.services.garp_interval_s > 0 or self.services.gna_interval_s > 0
        if not spaced:
            self._send_burst(targets, usable, repeat)
            return
        for _ in range(repeat):
            for dev, ip in targets:
                self._spaced_one(dev, ip, usable[dev])

    def _send_one(self, dev: str, ip: IPAddress, link: LinkInfo) -> None:
        garp = self.services.garp
        if garp is not None:
            garp.send_for(dev, ip, link.mac, router=bool(link.ipv6_forwarding))

    def _send_burst(
        self, targets: list[tuple[str, IPAddress]], links: dict[str, LinkInfo], repeat: int
    ) -> None:
        for _ in range(repeat):
            for dev, ip in targets:
                self._send_one(dev, ip, links[dev])

    def _gap_s(self, ip: IPAddress) -> float:
        if isinstance(ip, IPv4Address):
            return self.services.garp_interval_s
        return self.services.gna_interval_s

    def _spaced_one(self, dev: str, ip: IPAddress, link: LinkInfo) -> None:
        """keepalived's ``queue_garp()``: send now if the interface allows, else mark pending.

        A VIP already pending is not queued twice, so a burst of ``repeat`` x VIPs collapses
        to 1 + VIPs packets spaced by ``vrrp_garp_interval`` / ``vrrp_gna_interval``.
        """
        if (dev, ip) in self._garp_pending:
            return
        key = (dev, ip.version)
        now = self._loop.time()
        if now >= self.services.garp_next_s.get(key, 0.0):
            self._send_one(dev, ip, link)
            self.services.garp_next_s[key] = now + self._gap_s(ip)
            return
        self._garp_pending[(dev, ip)] = link
        if self._garp_drain is None:
            task = self._loop.create_task(self._drain_garps())
            self._garp_drain = task
            self._garp_tasks.add(task)
            task.add_done_callback(self._garp_tasks.discard)

    async def _drain_garps(self) -> None:
        """Send the pending GARP/NAs as their interfaces' spacing allows."""
        try:
            pending = self._garp_pending
            next_s = self.services.garp_next_s
            while pending:
                now = self._loop.time()
                due = min(next_s.get((dev, ip.version), 0.0) for dev, ip in pending)
                if due > now:
                    await asyncio.sleep(due - now)
                    continue
                for (dev, ip), link in list(pending.items()):
                    key = (dev, ip.version)
                    now = self._loop.time()
                    if now >= next_s.get(key, 0.0):
                        del pending[(dev, ip)]
                        self._send_one(dev, ip, link)
                        next_s[key] = now + self._gap_s(ip)
        finally:
            if self._garp_drain is asyncio.current_task():
                self._garp_drain = None

    # ---- notifies ------------------------------------------------------------------------

    def _launch(self, spec: ScriptSpec, extra: Sequence[str] = (), *, stop: bool = False) -> None:
        task = self.services.launcher.launch(spec, extra_args=extra)
        if task is not None and stop:
            self._stop_tasks.append(task)

    def _write_fifos(self, line: bytes) -> None:
        for fifo in self.services.fifos:
            fifo.write(line)

    def _notify(self, state: State, priority: int) -> None:
        name = state.name
        stop = state is State.STOP
        script = self.plan.notify.for_state(state)
        if script is not None:
            self._launch(script, stop=stop)
        if self.plan.notify.generic is not None:
            self._launch(
                self.plan.notify.generic, instance_notify_args(self.name, name, priority), stop=stop
            )
        self._write_fifos(instance_line(self.name, name, priority))

    def _notify_priority(self, action: EffectivePriorityUpdated) -> None:
        """``notify_priority_changes``: MASTER_PRIORITY / BACKUP_PRIORITY FIFO lines."""
        if action.state is State.MASTER:
            event = "MASTER_PRIORITY"
        elif action.state is State.BACKUP:
            event = "BACKUP_PRIORITY"
        else:
            return
        self._write_fifos(instance_line(self.name, event, action.new))

    def _notify_lower_pri(self) -> None:
        script = self.plan.notify.master_rx_lower_pri
        if script is not None:
            self._launch(script)
        self._write_fifos(
            instance_line(self.name, "MASTER_RX_LOWER_PRI", self.machine.effective_priority)
        )

    # ---- status --------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """A JSON-able snapshot of the instance."""
        st = self.machine.describe()
        return {
            "name": self.name,
            "interface": self.interface,
            "family": f"IPv{int(self.plan.family)}",
            "version": int(self.plan.version),
            "vrid": self.plan.vrid,
            "state": st.state.name,
            "want_state": st.want_state.name,
            "priority": st.base_priority,
            "effective_priority": st.effective_priority,
            "advert_int_cs": st.adver_int_cs,
            "master_adver_int_cs": st.master_adver_int_cs,
            "source_address": str(self.source) if self.source is not None else None,
            "master_address": str(st.master_address) if st.master_address else None,
            "master_priority": st.master_priority,
            "unicast_peers": [str(p) for p in self.plan.unicast_peers],
            "vips": [str(v.address) for v in self.plan.vips],
            "evips": [str(v.address) for v in self.plan.evips],
            "vips_set": st.vips_set,
            "faults": list(st.faults),
            "sync_group": self.plan.sync_group,
            "vmac": self.plan.vmac.name if self.plan.vmac is not None else None,
            "tracking": {
                f"{r.kind.value}:{r.name}": _json_value(self.tracking.value(r.kind, r.name))
                for r in self.plan.tracks
            },
            "last_transition": self.last_transition_wall,
            "last_transition_reason": self.last_reason,
            "next_master_reason": st.next_master_reason.value,
            "stats": self.stats.as_dict(),
        }


def _json_value(value: Value | None) -> bool | int | str | None:
    if value is None or isinstance(value, bool | int):
        return value
    return value.value
