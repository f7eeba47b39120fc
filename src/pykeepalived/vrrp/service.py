"""The VRRP service of the daemon: every ``vrrp_instance`` of the config, run together.

:class:`VrrpService` (a :class:`pykeepalived.daemon.service.Service`) owns what instances
share: the raw sockets (one per :class:`~pykeepalived.vrrp.sockets.SocketKey`), the netlink
session, the GARP sender, the notify FIFOs and the script launcher. It

* removes, at start, the VIPs of the configured instances that a crashed run left behind;
* demultiplexes received adverts to instances by (socket, VRID) (for unicast instances sharing
  a VRID, by the sender among their peers); adverts for unknown VRIDs are counted (and logged
  with ``log_unknown_vrids``);
* watches the interfaces (flags read every ``LINK_POLL_INTERVAL_S``; IFF_UP and IFF_RUNNING, as
  keepalived's ``IF_ISUP``) and tells the instances when one goes down or comes back;
* on stop, lets every instance leave (priority-0 advert and VIP removal for masters unless
  ``--dont-release-vrrp``, STOP notifies given one second);
* on reload, matches instances as keepalived's ``vrrp_exist()`` does; an unchanged instance
  keeps running untouched (no transition, no notify), its counters kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import logging
import socket
import struct
from collections.abc import Iterable
from typing import Any

from pykeepalived.config.model import Config
from pykeepalived.daemon.service import RunOptions
from pykeepalived.net.addresses import remove_stale
from pykeepalived.net.links import IfFlag, LinkInfo, NetError, NetlinkSession, link_index
from pykeepalived.notify.fifo import NotifyFifo
from pykeepalived.notify.scripts import ScriptLauncher
from pykeepalived.vrrp.garp import GarpSender
from pykeepalived.vrrp.instance import InstanceRuntime, InstanceServices
from pykeepalived.vrrp.mapping import (
    GlobalSettings,
    InstanceIdentity,
    InstancePlan,
    global_settings,
    plan_instance,
)
from pykeepalived.vrrp.packet import PacketError, ReceivedAdvert
from pykeepalived.vrrp.sockets import (
    Datagram,
    SocketKey,
    VrrpSocket,
    VrrpSocketError,
    open_vrrp_socket,
)
from pykeepalived.vrrp.stats import VrrpStats

__all__ = ["LINK_POLL_INTERVAL_S", "VrrpService", "interface_flags"]

log = logging.getLogger(__name__)

LINK_POLL_INTERVAL_S = 0.1
"""How often interface flags are read to notice a link going down or up."""
_SIOCGIFFLAGS = 0x8913


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
        self._link_task: asyncio.Task[None] | None = None
        self._start_task: asyncio.Task[None] | None = None
        self._link_up: dict[str, bool] = {}
        self.unknown_vrids = 0
        self._logged_vrids: set[tuple[SocketKey, int]] = set()
        self.undecodable = 0

    # ---- Service protocol ----------------------------------------------------------------

    async def start(self) -> None:
        """Open what instances share, clean leftovers, start every instance."""
        loop = asyncio.get_running_loop()
        await self._netlink.open()
        try:
            self._garp = GarpSender()
        except OSError as exc:
            log.error("cannot open the gratuitous ARP socket: %s", exc)
        self._open_fifos()
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
        )
        plans = self._plans(self.config)
        await self._remove_leftovers(plans)
        runtimes = [rt for plan in plans if (rt := await self._create(plan)) is not None]
        self._link_task = loop.create_task(self._watch_links(), name="vrrp-links")
        delay = self.settings.startup_delay_s
        if delay > 0:
            log.info("Delaying VRRP startup for %g seconds", delay)
            self._start_task = loop.create_task(self._start_later(runtimes, delay))
        else:
            for rt in runtimes:
                await rt.start()

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
        release = self.run_options.release_vips_on_exit
        runtimes = list(self.instances.values())
        await asyncio.gather(*(rt.stop(release=release) for rt in runtimes))
        self.instances.clear()
        for sock in self._sockets.values():
            sock.close()
        self._sockets.clear()
        self._by_vrid.clear()
        await self._launcher.close()
        for fifo in self._fifos:
            fifo.close()
        self._fifos.clear()
        if self._garp is not None:
            self._garp.close()
            self._garp = None
        self._netlink.close()

    async def reload(self, config: Config) -> None:
        """Apply ``config``: unchanged instances keep running, others are replaced."""
        self.config = config
        self.settings = global_settings(config.global_defs)
        if self._services is not None:
            self._services.garp_interval_s = self.settings.garp_interval_s
            self._services.gna_interval_s = self.settings.gna_interval_s
        new_plans = self._plans(config)
        old_by_identity: dict[InstanceIdentity, InstanceRuntime] = {
            rt.plan.identity: rt for rt in self.instances.values()
        }
        kept: dict[str, InstanceRuntime] = {}
        to_start: list[InstanceRuntime] = []
        stats_for: dict[str, VrrpStats] = {}
        for plan in new_plans:
            old = old_by_identity.pop(plan.identity, None)
            if old is not None and old.plan == plan:
                kept[plan.name] = old
                continue
            if old is not None:
                log.info("(%s) configuration changed - restarting the instance", plan.name)
                stats_for[plan.name] = old.stats
                await self._retire(old, release=True)
        for old in old_by_identity.values():
            log.info("(%s) removed from the configuration", old.name)
            await self._retire(old, release=True)
        self.instances = kept
        for plan in new_plans:
            if plan.name in kept:
                continue
            rt = await self._create(plan, stats=stats_for.get(plan.name))
            if rt is not None:
                to_start.append(rt)
        for rt in to_start:
            await rt.start()
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
        }

    def clear_stats(self) -> None:
        """Zero every instance's counters (keepalived's SIGRTMAX-1 / ``STATS_CLEAR``)."""
        for rt in self.instances.values():
            for f in dataclasses.fields(rt.stats):
                setattr(rt.stats, f.name, 0)
        self.unknown_vrids = 0
        self.undecodable = 0

    # ---- building instances --------------------------------------------------------------

    def _plans(self, config: Config) -> list[InstancePlan]:
        plans: list[InstancePlan] = []
        for inst in config.vrrp.instances:
            try:
                plans.append(plan_instance(inst, self.settings))
            except ValueError as exc:
                log.error("(%s) cannot run this instance: %s", inst.name, exc)
        return plans

    async def _remove_leftovers(self, plans: Iterable[InstancePlan]) -> None:
        vips = [v for p in plans for v in (*p.vips, *p.evips)]
        if not vips:
            return
        try:
            await remove_stale(self._netlink, vips)
        except NetError as exc:
            log.warning("cannot remove left-over VIPs: %s", exc)

    async def _create(
        self, plan: InstancePlan, *, stats: VrrpStats | None = None
    ) -> InstanceRuntime | None:
        services = self._services
        assert services is not None
        interface = plan.interface
        if interface is None:
            log.error("(%s) no interface configured - instance not started", plan.name)
            return None
        try:
            key = plan.socket_key(interface)
        except ValueError as exc:
            log.error("%s - instance not started", exc)
            return None
        sock = self._sockets.get(key)
        if sock is None:
            try:
                ifindex = await link_index(self._netlink, interface)
                sock = open_vrrp_socket(key, ifindex, unicast_hop_limit=plan.unicast_hop_limit)
            except (NetError, VrrpSocketError) as exc:
                log.error("(%s) cannot open VRRP socket on %s: %s", plan.name, interface, exc)
                return None
            sock.attach(services.loop, self._on_datagram)
            self._sockets[key] = sock
        rt = InstanceRuntime(plan, services, sock, interface, stats=stats)
        self.instances[plan.name] = rt
        self._by_vrid.setdefault(key, {}).setdefault(plan.vrid, []).append(rt)
        for name in (interface, *plan.track_interfaces):
            self._link_up.setdefault(name, _is_up(interface_flags(name)))
        return rt

    async def _retire(self, rt: InstanceRuntime, *, release: bool) -> None:
        await rt.stop(release=release)
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

    async def _start_later(self, runtimes: list[InstanceRuntime], delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        for rt in runtimes:
            if not rt.stopped:
                await rt.start()

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
                from pykeepalived.notify.scripts import ScriptSpec  # noqa: PLC0415

                self._launcher.launch(ScriptSpec(tuple(script.argv)), extra_args=(path,))

    # ---- receive demultiplexing ----------------------------------------------------------

    def _on_datagram(self, sock: VrrpSocket, datagram: Datagram) -> None:
        if isinstance(datagram, PacketError):
            self.undecodable += 1
            log.debug("%s: packet dropped: %s", sock.key.describe(), datagram)
            return
        self._dispatch(sock.key, datagram)

    def _dispatch(self, key: SocketKey, rx: ReceivedAdvert) -> None:
        vrid = rx.advert.vrid
        candidates = self._by_vrid.get(key, {}).get(vrid)
        if not candidates:
            self.unknown_vrids += 1
            if self.settings.log_unknown_vrids and (key, vrid) not in self._logged_vrids:
                self._logged_vrids.add((key, vrid))
                log.info("(%s) Unknown VRID %d received from %s", key.interface, vrid, rx.src)
            return
        target = candidates[0]
        if len(candidates) > 1:
            target = next((rt for rt in candidates if rx.src in rt.plan.unicast_peers), target)
        try:
            target.on_advert(rx)
        except Exception:  # one bad advert must never stop the reader
            log.exception("(%s) error handling advert from %s", target.name, rx.src)

    # ---- link watching -------------------------------------------------------------------

    async def _watch_links(self) -> None:
        while True:
            await asyncio.sleep(LINK_POLL_INTERVAL_S)
            for name, was_up in list(self._link_up.items()):
                up = _is_up(interface_flags(name))
                if up == was_up:
                    continue
                self._link_up[name] = up
                log.info("Netlink reports %s %s", name, "up" if up else "down")
                if self._services is not None:
                    self._services.link_cache.pop(name, None)
                for rt in list(self.instances.values()):
                    if rt.started:
                        rt.on_link(name, up)

    def link_info(self, name: str) -> LinkInfo | None:
        """The last interface information read for ``name`` (None if never read)."""
        if self._services is None:
            return None
        return self._services.link_cache.get(name)
