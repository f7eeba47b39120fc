"""The VRRP service of the daemon: every ``vrrp_instance`` of the config, run together.

:class:`VrrpService` (a :class:`pykeepalived.daemon.service.Service`) owns what instances
share: the raw sockets (one per :class:`~pykeepalived.vrrp.sockets.SocketKey`), the netlink
session, the GARP sender, the notify FIFOs and the script launcher. It

* removes, at start, the VIPs of the configured instances that a crashed run left behind;
* demultiplexes received adverts to instances by (socket, VRID) (for unicast instances sharing
  a VRID, by the sender among their peers); adverts for unknown VRIDs are counted (and logged
  with ``log_unknown_vrids``);
* watches the interfaces through rtnetlink link events (IFF_UP and IFF_RUNNING, as keepalived's
  ``IF_ISUP``) and tells the instances when one goes down or comes back;
* runs the tracked ``vrrp_script``s (refusing insecure ones with ``enable_script_security``),
  watches tracked files and processes, and passes their changes to the instances;
* coordinates sync groups (:mod:`pykeepalived.vrrp.sync_group`) and runs the group notifies;
* creates the VMAC/ipvlan interfaces (deleted at stop), installs ``static_routes`` /
  ``static_rules`` / ``static_ipaddress`` at start (removed at stop), and owns the nftables
  drop rules of ``no_accept`` masters (tables deleted at stop);
* applies ``vrrp_realtime_priority`` (SCHED_RR) and ``vrrp_process_priority`` (nice) to the
  process, where the kernel allows it;
* on stop, lets every instance leave (priority-0 advert and VIP removal for masters unless
  ``--dont-release-vrrp``, STOP notifies given one second);
* on reload, matches instances as keepalived's ``vrrp_exist()`` does; an unchanged instance
  keeps running untouched (no transition, no notify), its counters kept; a changed instance
  that was MASTER stays MASTER (keepalived's ``reload_master``): its VIPs are kept and only
  the removed ones are deleted.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import fcntl
import logging
import os
import socket
import struct
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pykeepalived.config.model import Config
from pykeepalived.config.model.vrrp import VrrpConfig
from pykeepalived.daemon.service import RESPAWN_ENV, RunOptions
from pykeepalived.net.addresses import (
    AddressSender,
    add_address,
    has_address,
    remove_address,
    remove_stale,
)
from pykeepalived.net.links import (
    IfFlag,
    LinkInfo,
    NetError,
    NetlinkSession,
    get_link,
    link_index,
)
from pykeepalived.net.routes import add_route, add_rule, remove_route, remove_rule
from pykeepalived.net.vmac import create_vmac, delete_link
from pykeepalived.notify.fifo import NotifyFifo, group_line
from pykeepalived.notify.scripts import (
    ScriptLauncher,
    ScriptSpec,
    find_executable,
    insecure_reason,
)
from pykeepalived.notify.vrrp_args import group_notify_args
from pykeepalived.vrrp.fsm import State
from pykeepalived.vrrp.garp import GarpSender
from pykeepalived.vrrp.instance import GroupReport, InstanceRuntime, InstanceServices
from pykeepalived.vrrp.mapping import (
    GlobalSettings,
    InstanceIdentity,
    InstancePlan,
    global_settings,
    plan_instance,
    rx_buf_size,
    script_spec,
    virtual_address,
)
from pykeepalived.vrrp.packet import PacketError
from pykeepalived.vrrp.sockets import (
    Datagram,
    SocketKey,
    VrrpSocket,
    VrrpSocketError,
    open_vrrp_socket,
)
from pykeepalived.vrrp.stats import VrrpStats
from pykeepalived.vrrp.strict import NftFirewall
from pykeepalived.vrrp.sync_group import GroupOutput, MemberView, SyncGroupCoordinator
from pykeepalived.vrrp.timerfd import DeadlineTimer
from pykeepalived.vrrp.track_io import FileWatcher, LinkMonitor, ProcessWatcher, ScriptRunner
from pykeepalived.vrrp.tracking import ScriptStatus, TrackKind, Value

__all__ = ["LINK_POLL_INTERVAL_S", "VrrpService", "interface_flags"]

log = logging.getLogger(__name__)

LINK_POLL_INTERVAL_S = 5.0
"""Safety net: interface flags are re-read this often in case netlink events were lost."""
_SIOCGIFFLAGS = 0x8913
STOP_NOTIFY_TIMEOUT_S = 1.0
"""How long group STOP notifies may run at shutdown."""


def interface_flags(ifname: str) -> IfFlag | None:
    """The IFF_* flags of ``ifname`` (SIOCGIFFLAGS), None if there is no such interface."""
    request = struct.pack("16sh14x", ifname.encode()[:15], 0)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            reply = fcntl.ioctl(sock.fileno(), _SIOCGIFFLAGS, request)
        except OSError:
            return None
    return IfFlag(struct.unpack_from("16sH", reply)[1])


def _is_up(flags: IfFlag | None) -> bool:
    return flags is not None and bool(flags & IfFlag.UP) and bool(flags & IfFlag.RUNNING)


class VrrpService:
    """All VRRP instances of one config (see the module docstring)."""

    name = "vrrp"

    def __init__(self, config: Config, run_options: RunOptions) -> None:
        self.config = config
        self.run_options = run_options
        self.settings: GlobalSettings = global_settings(config.global_defs)
        self.instances: dict[str, InstanceRuntime] = {}
        self._sockets: dict[SocketKey, VrrpSocket] = {}
        self._by_vrid: dict[SocketKey, dict[int, list[InstanceRuntime]]] = {}
        self._netlink = NetlinkSession()
        self._garp: GarpSender | None = None
        self._launcher = ScriptLauncher()
        self._fifos: list[NotifyFifo] = []
        self._services: InstanceServices | None = None
        self._timer: DeadlineTimer | None = None
        self._addr_sender: AddressSender | None = None
        self._link_task: asyncio.Task[None] | None = None
        self._start_task: asyncio.Task[None] | None = None
        self._resumed: set[str] = set()  # masters kept across a respawn (_masters_before_crash)
        self._monitor = LinkMonitor(self._on_link_event)
        self._monitor_open = False
        self._scripts: dict[str, ScriptRunner] = {}
        self._files: dict[str, FileWatcher] = {}
        self._processes: dict[str, ProcessWatcher] = {}
        self._disabled_scripts: set[str] = set()
        self._groups: dict[str, SyncGroupCoordinator] = {}
        self._group_queue: collections.deque[tuple[InstanceRuntime, GroupReport]] = (
            collections.deque()
        )
        self._group_busy = False
        self._vmacs: set[str] = set()
        self._firewall = NftFirewall(self.settings.nftables_table, self.settings.nftables_priority)
        self._static_installed: list[tuple[str, Any]] = []
        self.unknown_vrids = 0
        self._logged_vrids: set[tuple[SocketKey, int]] = set()
        self.undecodable = 0
        self._rx_buf_sizes: dict[SocketKey, int] = {}
        """``SO_RCVBUF`` per socket (``vrrp_rx_bufs_policy``; absent or 0: system default)."""

    # ---- Service protocol ----------------------------------------------------------------

    async def start(self) -> None:
        """Open what instances share, clean leftovers, start every instance."""
        loop = asyncio.get_running_loop()
        self._apply_scheduling()
        await self._netlink.open()
        try:
            self._garp = GarpSender()
        except OSError as exc:
            log.error("cannot open the gratuitous ARP socket: %s", exc)
        self._open_fifos()
        self._timer = DeadlineTimer(loop)
        self._addr_sender = None
        if self._netlink.netns is None:
            try:
                self._addr_sender = AddressSender()
            except OSError as exc:
                log.warning("cannot open the rtnetlink address socket: %s", exc)
        self._services = InstanceServices(
            loop=loop,
            netlink=self._netlink,
            garp=self._garp,
            launcher=self._launcher,
            fifos=self._fifos,
            link_cache={},
            garp_interval_s=self.settings.garp_interval_s,
            gna_interval_s=self.settings.gna_interval_s,
            release_vips_on_exit=self.run_options.release_vips_on_exit,
            firewall=self._firewall,
            timer=self._timer,
            addr_sender=self._addr_sender,
        )
        self._check_scripts(self.config.vrrp)
        plans = self._plans(self.config)
        self._resumed = await self._masters_before_crash(plans)
        await self._remove_leftovers([p for p in plans if p.name not in self._resumed])
        await self._add_static(self.config.vrrp)
        try:
            self._monitor.open(loop)
            self._monitor_open = True
        except OSError as exc:
            log.error("cannot open the netlink link monitor: %s - polling", exc)
        self._build_groups(self.config.vrrp, plans)
        await self._start_trackers(self.config.vrrp, plans)
        self._rx_buf_sizes = await self._socket_buffers(plans)
        runtimes = [rt for plan in plans if (rt := await self._create(plan)) is not None]
        self._link_task = loop.create_task(self._watch_links(), name="vrrp-links")
        delay = self.settings.startup_delay_s
        if delay > 0:
            log.info("Delaying VRRP startup for %g seconds", delay)
            self._start_task = loop.create_task(self._start_later(runtimes, delay))
        else:
            for rt in runtimes:
                await rt.start(self._values(), reload_master=rt.name in self._resumed)
            self._refresh_groups()

    async def stop(self) -> None:
        """Let every instance leave, then close everything."""
        if self._start_task is not None:
            self._start_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._start_task
        if self._link_task is not None:
            self._link_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._link_task
            self._link_task = None
        await self._stop_trackers()
        release = self.run_options.release_vips_on_exit
        runtimes = list(self.instances.values())
        await asyncio.gather(*(rt.stop(release=release) for rt in runtimes))
        self._notify_groups_stop()
        self.instances.clear()
        for sock in self._sockets.values():
            sock.close()
        self._sockets.clear()
        self._by_vrid.clear()
        await self._firewall.close()
        if release:
            await self._remove_static()
        for name in sorted(self._vmacs):
            try:
                await delete_link(self._netlink, name)
            except NetError as exc:
                log.warning("cannot remove VMAC %s: %s", name, exc)
        self._vmacs.clear()
        await self._launcher.wait_all(STOP_NOTIFY_TIMEOUT_S)
        await self._launcher.close()
        for fifo in self._fifos:
            fifo.close()
        self._fifos.clear()
        if self._garp is not None:
            self._garp.close()
            self._garp = None
        if self._monitor_open:
            self._monitor.close(asyncio.get_running_loop())
            self._monitor_open = False
        self._netlink.close()
        if self._timer is not None:
            self._timer.close()
            self._timer = None
        if self._addr_sender is not None:
            self._addr_sender.close()
            self._addr_sender = None

    async def reload(self, config: Config) -> None:
        """Apply ``config``: unchanged instances keep running, others are replaced.

        A changed instance that was MASTER is restarted as MASTER (its VIPs kept, those no
        longer configured removed), as keepalived keeps a master on reload.
        """
        self.config = config
        self.settings = global_settings(config.global_defs)
        if self._services is not None:
            self._services.garp_interval_s = self.settings.garp_interval_s
            self._services.gna_interval_s = self.settings.gna_interval_s
        self._check_scripts(config.vrrp)
        new_plans = self._plans(config)
        old_by_identity: dict[InstanceIdentity, InstanceRuntime] = {
            rt.plan.identity: rt for rt in self.instances.values()
        }
        kept: dict[str, InstanceRuntime] = {}
        to_start: list[tuple[InstanceRuntime, bool]] = []
        stats_for: dict[str, VrrpStats] = {}
        was_master: set[str] = set()
        for plan in new_plans:
            old = old_by_identity.pop(plan.identity, None)
            if old is not None and old.plan == plan:
                kept[plan.name] = old
                continue
            if old is not None:
                stats_for[plan.name] = old.stats
                if old.state is State.MASTER and old.plan.sync_group == plan.sync_group:
                    log.info("(%s) configuration changed - keeping MASTER state", plan.name)
                    was_master.add(plan.name)
                    await self._handover(old, plan)
                else:
                    log.info("(%s) configuration changed - restarting the instance", plan.name)
                    await self._retire(old, release=True)
        for old in old_by_identity.values():
            log.info("(%s) removed from the configuration", old.name)
            await self._retire(old, release=True)
        self.instances = kept
        await self._stop_trackers()
        self._rx_buf_sizes = await self._socket_buffers(new_plans)
        for key, sock in self._sockets.items():
            size = self._rx_buf_sizes.get(key, 0)
            if size > 0:
                sock.set_rx_buf_size(size)
        self._build_groups(config.vrrp, new_plans)
        await self._start_trackers(config.vrrp, new_plans)
        for kept_rt in kept.values():
            kept_rt.group_hook = self._group_hook_for(kept_rt.plan)
            kept_rt.group_fault_reason = self._group_reason(kept_rt.plan)
        for plan in new_plans:
            if plan.name in kept:
                continue
            new_rt = await self._create(plan, stats=stats_for.get(plan.name))
            if new_rt is not None:
                to_start.append((new_rt, plan.name in was_master))
        for rt, master in to_start:
            await rt.start(self._values(), reload_master=master)
        self._refresh_groups()
        log.info(
            "VRRP reload: %d kept, %d started, %d instances running",
            len(kept),
            len(to_start),
            len(self.instances),
        )

    def status(self) -> dict[str, Any]:
        """Per-instance status, socket counters and service counters."""
        return {
            "instances": [rt.status() for rt in self.instances.values()],
            "sockets": {k.describe(): s.stats.as_dict() for k, s in self._sockets.items()},
            "unknown_vrids": self.unknown_vrids,
            "undecodable": self.undecodable,
            "stats": {name: rt.stats.as_dict() for name, rt in self.instances.items()},
            "sync_groups": {
                name: {"state": g.state.name, "members": list(g.members)}
                for name, g in self._groups.items()
            },
            "track_scripts": {
                name: {"status": r.status.value, "runs": r.runs}
                for name, r in self._scripts.items()
            },
            "disabled_scripts": sorted(self._disabled_scripts),
        }

    def clear_stats(self) -> None:
        """Zero every instance's counters (keepalived's SIGRTMAX-1 / ``STATS_CLEAR``)."""
        for rt in self.instances.values():
            for f in dataclasses.fields(rt.stats):
                setattr(rt.stats, f.name, 0)
        self.unknown_vrids = 0
        self.undecodable = 0

    # ---- process scheduling ----------------------------------------------------------------

    def _apply_scheduling(self) -> None:
        """``vrrp_realtime_priority`` (SCHED_RR) and ``vrrp_process_priority`` (nice)."""
        prio = self.settings.realtime_priority
        if prio > 0:
            try:
                os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(prio))
                log.info("VRRP process set to SCHED_RR priority %d", prio)
            except (OSError, AttributeError) as exc:
                log.warning("cannot set realtime priority %d: %s", prio, exc)
        nice = self.settings.process_priority
        if nice:
            try:
                os.setpriority(os.PRIO_PROCESS, 0, nice)
            except OSError as exc:
                log.warning("cannot set process priority %d: %s", nice, exc)

    # ---- building instances --------------------------------------------------------------

    def _plans(self, config: Config) -> list[InstancePlan]:
        plans: list[InstancePlan] = []
        groups = {m: g for g in config.vrrp.sync_groups for m in g.members}
        for inst in config.vrrp.instances:
            try:
                plan = plan_instance(inst, self.settings, groups.get(inst.name))
            except ValueError as exc:
                log.error("(%s) cannot run this instance: %s", inst.name, exc)
                continue
            if self._disabled_scripts:
                plan = dataclasses.replace(
                    plan,
                    tracks=tuple(
                        r
                        for r in plan.tracks
                        if not (r.kind is TrackKind.SCRIPT and r.name in self._disabled_scripts)
                    ),
                )
            plans.append(plan)
        return plans

    async def _socket_buffers(self, plans: Iterable[InstancePlan]) -> dict[SocketKey, int]:
        """The receive buffer of each socket the plans share (keepalived's socket pool)."""
        by_key: dict[SocketKey, list[InstancePlan]] = {}
        for plan in plans:
            interface = plan.socket_interface or plan.interface
            if interface is None:
                continue
            try:
                by_key.setdefault(plan.socket_key(interface), []).append(plan)
            except ValueError:
                continue  # reported when the instance is created
        mtus: dict[str, int] = {}
        if self.settings.rx_bufs_policy == "MTU":
            for name in {p.interface for p in plans if p.interface is not None}:
                try:
                    mtus[name] = (await get_link(self._netlink, name)).mtu
                except NetError:
                    mtus[name] = 0
        return {
            key: rx_buf_size(shared, self.settings, lambda name: mtus.get(name, 0))
            for key, shared in by_key.items()
        }

    def _check_scripts(self, vrrp: VrrpConfig) -> None:
        """keepalived's script security check for the ``vrrp_script``s."""
        self._disabled_scripts = set()
        secure = self.settings.enable_script_security
        insecure_seen = False
        for script in vrrp.scripts:
            spec = script_spec(script.script, self.settings, script.name)
            path = find_executable(spec.argv[0]) if spec is not None else None
            if spec is None or path is None or not spec.argv[0]:
                log.warning("Disabling track script %s since not found/accessible", script.name)
                self._disabled_scripts.add(script.name)
                continue
            if spec.needs_shell:
                continue
            uid = spec.uid if spec.uid is not None else os.geteuid()
            reason = insecure_reason(Path(path), run_as_uid=uid)
            if reason is not None and reason.endswith(("does not exist", "is not executable")):
                log.warning("Disabling track script %s since not found/accessible", script.name)
                self._disabled_scripts.add(script.name)
            elif reason is not None and secure:
                log.warning("Disabling track script %s due to insecure (%s)", script.name, reason)
                self._disabled_scripts.add(script.name)
            elif reason is not None:
                insecure_seen = True
        if vrrp.scripts and not secure:
            log.warning(
                "SECURITY VIOLATION - scripts are being executed but script_security not "
                "enabled.%s",
                " There are insecure scripts." if insecure_seen else "",
            )

    async def _masters_before_crash(self, plans: Iterable[InstancePlan]) -> set[str]:
        """Instances that were MASTER when the previous VRRP worker died.

        Only for a worker the supervisor respawned (``RESPAWN_ENV``): an instance whose VIPs
        are all still installed was MASTER, and it resumes as MASTER at once (advertising,
        VIPs kept) instead of removing them and waiting Master_Down_Interval in BACKUP, which
        would hand the VIPs to a peer and back. A fresh start still removes leftovers.
        """
        if os.environ.get(RESPAWN_ENV) != "1":
            return set()
        resumed: set[str] = set()
        for plan in plans:
            if plan.vmac is not None or not plan.vips:
                continue
            try:
                present = [await has_address(self._netlink, vip) for vip in plan.vips]
            except NetError as exc:
                log.warning("(%s) cannot check its VIPs after a respawn: %s", plan.name, exc)
                continue
            if all(present):
                log.info("(%s) VIPs still installed after a respawn: resuming as MASTER", plan.name)
                resumed.add(plan.name)
        return resumed

    async def _remove_leftovers(self, plans: Iterable[InstancePlan]) -> None:
        vips = [v for p in plans for v in (*p.vips, *p.evips) if p.vmac is None]
        if not vips:
            return
        try:
            await remove_stale(self._netlink, vips)
        except NetError as exc:
            log.warning("cannot remove left-over VIPs: %s", exc)

    async def _add_static(self, vrrp: VrrpConfig) -> None:
        """``static_ipaddress``/``static_routes``/``static_rules``: installed at start."""
        nl = self._netlink
        for spec in vrrp.static_ipaddresses:
            va = virtual_address(spec, spec.dev or "")
            try:
                await add_address(nl, va)
                self._static_installed.append(("addr", va))
            except NetError as exc:
                log.error("cannot add static address %s: %s", spec.address, exc)
        for route in vrrp.static_routes:
            try:
                await add_route(nl, route)
                self._static_installed.append(("route", route))
            except NetError as exc:
                log.error("cannot add static route: %s", exc)
        for rule in vrrp.static_rules:
            try:
                await add_rule(nl, rule)
                self._static_installed.append(("rule", rule))
            except NetError as exc:
                log.error("cannot add static rule: %s", exc)

    async def _remove_static(self) -> None:
        nl = self._netlink
        for kind, item in reversed(self._static_installed):
            try:
                if kind == "rule":
                    await remove_rule(nl, item)
                elif kind == "route":
                    await remove_route(nl, item)
                else:
                    await remove_address(nl, item)
            except NetError as exc:
                log.warning("cannot remove static %s: %s", kind, exc)
        self._static_installed.clear()

    async def _create(
        self, plan: InstancePlan, *, stats: VrrpStats | None = None
    ) -> InstanceRuntime | None:
        services = self._services
        assert services is not None
        if plan.interface is None:
            log.error("(%s) no interface configured - instance not started", plan.name)
            return None
        if plan.vmac is not None:
            try:
                if await create_vmac(self._netlink, plan.vmac):
                    self._vmacs.add(plan.vmac.name)
            except NetError as exc:
                log.error("(%s) cannot create %s: %s", plan.name, plan.vmac.name, exc)
                return None
        interface = plan.socket_interface or plan.interface
        try:
            key = plan.socket_key(interface)
        except ValueError as exc:
            log.error("%s - instance not started", exc)
            return None
        sock = self._sockets.get(key)
        if sock is None:
            try:
                ifindex = await link_index(self._netlink, interface)
                sock = open_vrrp_socket(
                    key,
                    ifindex,
                    unicast_hop_limit=plan.unicast_hop_limit,
                    rx_buf_size=self._rx_buf_sizes.get(key, 0),
                )
            except (NetError, VrrpSocketError) as exc:
                log.error("(%s) cannot open VRRP socket on %s: %s", plan.name, interface, exc)
                return None
            sock.attach(services.loop, self._on_datagram)
            self._sockets[key] = sock
        rt = InstanceRuntime(plan, services, sock, interface, stats=stats)
        rt.group_hook = self._group_hook_for(plan)
        rt.group_fault_reason = self._group_reason(plan)
        self.instances[plan.name] = rt
        self._by_vrid.setdefault(key, {}).setdefault(plan.vrid, []).append(rt)
        for ref in plan.tracks:
            if ref.kind is TrackKind.INTERFACE:
                self._monitor.watch(ref.name, _is_up(interface_flags(ref.name)))
        return rt

    def _unregister(self, rt: InstanceRuntime) -> None:
        key = rt.sock.key
        by_vrid = self._by_vrid.get(key, {})
        group = by_vrid.get(rt.plan.vrid, [])
        if rt in group:
            group.remove(rt)
        if not group:
            by_vrid.pop(rt.plan.vrid, None)
        if not by_vrid:
            self._by_vrid.pop(key, None)
            sock = self._sockets.pop(key, None)
            if sock is not None:
                sock.close()
        if self.instances.get(rt.name) is rt:
            del self.instances[rt.name]

    async def _retire(self, rt: InstanceRuntime, *, release: bool) -> None:
        await rt.stop(release=release)
        self._unregister(rt)
        vmac = rt.plan.vmac
        if vmac is not None and vmac.name in self._vmacs:
            with contextlib.suppress(NetError):
                await delete_link(self._netlink, vmac.name)
            self._vmacs.discard(vmac.name)

    async def _handover(self, old: InstanceRuntime, plan: InstancePlan) -> None:
        """A master is replaced: keep what stays configured, remove the rest."""
        await old.abandon()
        self._unregister(old)
        nl = self._netlink
        new_vips = {(v.address, v.dev) for v in (*plan.vips, *plan.evips)}
        for vip in (*old.plan.vips, *old.plan.evips):
            if (vip.address, vip.dev) not in new_vips:
                with contextlib.suppress(NetError):
                    await remove_address(nl, vip)
        for route in old.plan.virtual_routes:
            if route not in plan.virtual_routes:
                with contextlib.suppress(NetError):
                    await remove_route(nl, route)
        for rule in old.plan.virtual_rules:
            if rule not in plan.virtual_rules:
                with contextlib.suppress(NetError):
                    await remove_rule(nl, rule)
        entries = old.firewall_entries()
        if entries:
            await self._firewall.remove(entries)

    async def _start_later(self, runtimes: list[InstanceRuntime], delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        for rt in runtimes:
            if not rt.stopped:
                await rt.start(self._values(), reload_master=rt.name in self._resumed)
        self._refresh_groups()

    def _open_fifos(self) -> None:
        for path, script in (
            (self.settings.notify_fifo, self.settings.notify_fifo_script),
            (self.settings.vrrp_notify_fifo, self.settings.vrrp_notify_fifo_script),
        ):
            if path is None:
                continue
            fifo = NotifyFifo(path)
            try:
                fifo.open()
            except OSError as exc:
                log.error("cannot open notify FIFO %s: %s", path, exc)
                continue
            self._fifos.append(fifo)
            if script is not None and script.argv:
                self._launcher.launch(ScriptSpec(tuple(script.argv)), extra_args=(path,))

    # ---- tracked scripts, files, processes -------------------------------------------------

    async def _start_trackers(self, vrrp: VrrpConfig, plans: list[InstancePlan]) -> None:
        used: dict[TrackKind, set[str]] = {k: set() for k in TrackKind}
        for plan in plans:
            for ref in plan.tracks:
                used[ref.kind].add(ref.name)
        for script in vrrp.scripts:
            if script.name not in used[TrackKind.SCRIPT] or script.name in self._disabled_scripts:
                continue
            spec = script_spec(script.script, self.settings, script.name)
            if spec is None:
                continue
            runner = ScriptRunner(script, spec, self._on_track)
            self._scripts[script.name] = runner
            runner.start()
        for tf in vrrp.track_files:
            if tf.name not in used[TrackKind.FILE]:
                continue
            watcher = FileWatcher(tf, self._on_track)
            watcher.start()
            self._files[tf.name] = watcher
        for tp in vrrp.track_processes:
            if tp.name not in used[TrackKind.PROCESS]:
                continue
            pw = ProcessWatcher(tp, self._on_track)
            pw.start()
            self._processes[tp.name] = pw

    async def _stop_trackers(self) -> None:
        for runner in self._scripts.values():
            await runner.stop()
        for watcher in self._files.values():
            await watcher.stop()
        for pw in self._processes.values():
            await pw.stop()
        self._scripts.clear()
        self._files.clear()
        self._processes.clear()

    def _values(self) -> dict[tuple[TrackKind, str], Value]:
        values: dict[tuple[TrackKind, str], Value] = {}
        for name, runner in self._scripts.items():
            values[(TrackKind.SCRIPT, name)] = runner.status
        for name, watcher in self._files.items():
            values[(TrackKind.FILE, name)] = watcher.value
        for name, pw in self._processes.items():
            values[(TrackKind.PROCESS, name)] = pw.have_quorum
        return values

    def _on_track(self, kind: TrackKind, name: str, value: bool | int | ScriptStatus) -> None:
        for rt in list(self.instances.values()):
            if rt.started:
                rt.on_track(kind, name, value)

    # ---- sync groups ---------------------------------------------------------------------

    def _build_groups(self, vrrp: VrrpConfig, plans: list[InstancePlan]) -> None:
        names = {p.name for p in plans}
        old = self._groups
        self._groups = {}
        for group in vrrp.sync_groups:
            members = tuple(m for m in group.members if m in names)
            if not members:
                continue
            coord = SyncGroupCoordinator(group.name, members)
            previous = old.get(group.name)
            if previous is not None:
                coord.state = previous.state
            self._groups[group.name] = coord

    def _group_reason(self, plan: InstancePlan) -> str | None:
        g = self._groups.get(plan.sync_group or "")
        return g.fault_reason if g is not None else None

    def _group_hook_for(
        self, plan: InstancePlan
    ) -> Callable[[InstanceRuntime, GroupReport], None] | None:
        return self._on_group_report if plan.sync_group in self._groups else None

    def _views(self, group: SyncGroupCoordinator) -> dict[str, MemberView]:
        views: dict[str, MemberView] = {}
        for m in group.members:
            rt = self.instances.get(m)
            if rt is not None and rt.started:
                views[m] = MemberView(rt.machine.state, rt.machine.want_state)
        return views

    def _on_group_report(self, rt: InstanceRuntime, report: GroupReport) -> None:
        self._group_queue.append((rt, report))
        if self._group_busy:
            return
        self._group_busy = True
        try:
            while self._group_queue:
                member, rep = self._group_queue.popleft()
                self._handle_group_report(member, rep)
        finally:
            self._group_busy = False

    def _handle_group_report(self, rt: InstanceRuntime, report: GroupReport) -> None:
        group = self._groups.get(rt.plan.sync_group or "")
        if group is None or not rt.started or rt.stopped:
            return
        outputs = [group.member_fault(rt.name, report.own_fault, self._views(group))]
        for tr in report.transitions:
            outputs.append(group.member_changed(rt.name, tr.old, tr.new, self._views(group)))
        if report.master_wanted:
            outputs.append(group.master_wanted(rt.name, self._views(group)))
        if report.lower_prio_heard:
            outputs.append(group.lower_prio_heard(rt.name, self._views(group)))
        for out in outputs:
            self._apply_group_output(group, out)

    def _apply_group_output(self, group: SyncGroupCoordinator, out: GroupOutput) -> None:
        if out.group_state is not None:
            self._notify_group(group, out.group_state)
        for member, event in out.events:
            target = self.instances.get(member)
            if target is not None and target.started:
                target.feed(event)

    def _refresh_groups(self) -> None:
        for group in self._groups.values():
            for m in group.members:
                rt = self.instances.get(m)
                if rt is not None and rt.started:
                    self._on_group_report(rt, GroupReport((), False, False, rt.own_fault()))
            self._apply_group_output(group, group.refresh(self._views(group)))

    def _notify_group(self, group: SyncGroupCoordinator, state: State) -> None:
        cfg = self.config.vrrp.sync_group(group.name)
        if cfg is None or state not in (State.MASTER, State.BACKUP, State.FAULT, State.STOP):
            return
        log.info("VRRP_Group(%s) Syncing instances to %s state", group.name, state.name)
        script = {
            State.MASTER: cfg.notify_master,
            State.BACKUP: cfg.notify_backup,
            State.FAULT: cfg.notify_fault,
            State.STOP: cfg.notify_stop,
        }[state]
        spec = script_spec(script, self.settings, group.name)
        if spec is not None:
            self._launcher.launch(spec)
        generic = script_spec(cfg.notify, self.settings, group.name)
        if generic is not None:
            self._launcher.launch(generic, extra_args=group_notify_args(group.name, state.name))
        line = group_line(group.name, state.name)
        for fifo in self._fifos:
            fifo.write(line)

    def _notify_groups_stop(self) -> None:
        for group in self._groups.values():
            self._notify_group(group, State.STOP)
            group.state = State.STOP

    # ---- receive demultiplexing ----------------------------------------------------------

    def _on_datagram(self, sock: VrrpSocket, datagram: Datagram, received_at_s: float) -> None:
        """A packet read on ``sock``: hand an advert to the instance of its VRID."""
        if isinstance(datagram, PacketError):
            self.undecodable += 1
            log.debug("%s: packet dropped: %s", sock.key.describe(), datagram)
            return
        key = sock.key
        vrid = datagram.advert.vrid
        by_vrid = self._by_vrid.get(key)
        candidates = by_vrid.get(vrid) if by_vrid is not None else None
        if not candidates:
            self.unknown_vrids += 1
            if self.settings.log_unknown_vrids and (key, vrid) not in self._logged_vrids:
                self._logged_vrids.add((key, vrid))
                log.info("(%s) Unknown VRID %d received from %s", key.interface, vrid, datagram.src)
            return
        target = candidates[0]
        if len(candidates) > 1:
            src = datagram.src
            target = next((rt for rt in candidates if src in rt.plan.unicast_peers), target)
        try:
            target.on_advert(datagram, received_at_s)
        except Exception:  # one bad advert must never stop the reader
            log.exception("(%s) error handling advert from %s", target.name, datagram.src)

    # ---- link watching -------------------------------------------------------------------

    def _on_link_event(self, name: str, up: bool) -> None:
        if self._services is not None:
            self._services.link_cache.pop(name, None)
        for rt in list(self.instances.values()):
            if rt.started:
                rt.on_link(name, up)

    async def _watch_links(self) -> None:
        """Safety net for lost netlink events (ENOBUFS): re-read the flags now and then."""
        interval = LINK_POLL_INTERVAL_S if self._monitor_open else 0.1
        while True:
            await asyncio.sleep(interval)
            for name, was_up in list(self._monitor.states.items()):
                up = _is_up(interface_flags(name))
                if up != was_up:
                    self._monitor.states[name] = up
                    log.info("Netlink reports %s %s", name, "up" if up else "down")
                    self._on_link_event(name, up)

    def link_info(self, name: str) -> LinkInfo | None:
        """The last interface information read for ``name`` (None if never read)."""
        if self._services is None:
            return None
        return self._services.link_cache.get(name)
