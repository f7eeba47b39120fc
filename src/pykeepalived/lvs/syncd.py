"""The IPVS connection sync daemon (``lvs_sync_daemon``) and the timeouts (``lvs_timeouts``).

keepalived 2.2.7 splits the sync daemon between its two children, and so does pykeepalived:

- ``lvs_sync_daemon IF [id N] ...`` (no VRRP instance): the *checker* worker runs the kernel's
  sync daemon as master and backup at once, from start to stop (syncid 0 by default). It is
  started from `lvs.select.kernel_dataplane` and stopped when the data plane closes.
- ``lvs_sync_daemon IF [inst] VI ...``: the daemon follows that VRRP instance, so the *VRRP*
  worker runs it (as keepalived's VRRP child does; the instance's state never has to cross a
  process boundary): master while the instance is MASTER, backup in every other state (BACKUP,
  FAULT, INIT), stopped at shutdown. `SyncDaemonFollower` is that worker's service: it reads
  the instance state from the VRRP service's status (every `POLL_S`, like the SMTP watcher).
  The syncid defaults to the instance's virtual_router_id. An unknown instance clears the
  setting, with keepalived's log line.

In both forms a start first stops any sync daemon left running by an earlier run (errors
ignored), as keepalived does. Switching role stops the old role before starting the new one
(keepalived's ``ipvs_syncd_master``/``ipvs_syncd_backup``).

``lvs_timeouts`` (``ipvsadm --set``) is set by the checker worker at start when any value is
given. Both need IPVS: with the nftables data plane they are ignored with a warning.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from pykeepalived.config.model import Config
from pykeepalived.lvs.backend import BackendError
from pykeepalived.lvs.ipvs import SyncDaemon, SyncState

log = logging.getLogger(__name__)

__all__ = [
    "POLL_S",
    "SyncCommand",
    "SyncDaemonFollower",
    "SyncDaemonManager",
    "SyncdSettings",
    "plan",
    "resolve",
    "role_for",
    "timeouts",
]

POLL_S = 0.1
BOTH = frozenset({SyncState.MASTER, SyncState.BACKUP})


@dataclass(frozen=True)
class SyncdSettings:
    """The resolved ``lvs_sync_daemon``: every default filled in.

    ``instance`` is the VRRP instance it follows (None: master and backup together).
    ``maxlen``, ``port``, ``ttl`` and ``group`` are None when not configured (the kernel's
    defaults then apply: port 8848, group 224.0.0.81, ttl 1).
    """

    interface: str
    syncid: int
    instance: str | None = None
    maxlen: int | None = None
    port: int | None = None
    ttl: int | None = None
    group: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None

    def daemon(self, state: SyncState) -> SyncDaemon:
        return SyncDaemon(
            state, self.interface, self.syncid, self.maxlen, self.port, self.ttl, self.group
        )


def resolve(config: Config) -> SyncdSettings | None:
    """The sync daemon the config asks for, or None (none asked, or its instance is unknown)."""
    sd = config.global_defs.lvs_sync_daemon
    if sd is None:
        return None
    syncid = sd.syncid
    if sd.vrrp_instance is not None:
        inst = next((i for i in config.vrrp.instances if i.name == sd.vrrp_instance), None)
        if inst is None:
            log.info(
                "Unable to find vrrp instance %s for lvs_syncd - clearing lvs_syncd config",
                sd.vrrp_instance,
            )
            return None
        if syncid is None:
            syncid = inst.virtual_router_id
    return SyncdSettings(
        sd.interface,
        syncid if syncid is not None else 0,
        sd.vrrp_instance,
        sd.maxlen,
        sd.port,
        sd.ttl,
        sd.group,
    )


def role_for(vrrp_state: str) -> SyncState:
    """The sync daemon role for a VRRP instance state: master only while MASTER."""
    return SyncState.MASTER if vrrp_state == "MASTER" else SyncState.BACKUP


@dataclass(frozen=True)
class SyncCommand:
    """Start or stop the sync daemon of one role."""

    start: bool
    state: SyncState


def plan(running: Iterable[SyncState], wanted: Iterable[SyncState]) -> list[SyncCommand]:
    """The commands taking the running roles to the wanted ones: stops first, then starts."""
    have, want = set(running), set(wanted)
    order = (SyncState.MASTER, SyncState.BACKUP)
    return [SyncCommand(False, s) for s in order if s in have - want] + [
        SyncCommand(True, s) for s in order if s in want - have
    ]


def timeouts(config: Config) -> tuple[int, int, int] | None:
    """``lvs_timeouts`` as (tcp, tcpfin, udp) seconds, 0 = unchanged; None when none is set."""
    t = config.global_defs.lvs_timeouts
    values = (t.tcp_s or 0, t.tcpfin_s or 0, t.udp_s or 0)
    return values if any(values) else None


class SyncControl(Protocol):
    """What drives the kernel's sync daemons (`lvs.ipvs.IpvsBackend` does)."""

    def start_sync_daemon(self, daemon: SyncDaemon) -> None: ...

    def stop_sync_daemon(self, state: SyncState) -> None: ...


class SyncDaemonManager:
    """Keeps the kernel's sync daemons in the wanted roles (errors are logged, not raised)."""

    def __init__(self, control: SyncControl, settings: SyncdSettings) -> None:
        self.control = control
        self.settings = settings
        self.running: set[SyncState] = set()
        self.errors = 0

    def start(self, wanted: Iterable[SyncState]) -> None:
        """Stop whatever an earlier run left, then start ``wanted``."""
        for state in (SyncState.MASTER, SyncState.BACKUP):
            with contextlib.suppress(BackendError):
                self.control.stop_sync_daemon(state)
        self.running.clear()
        self.follow(wanted)

    def follow(self, wanted: Iterable[SyncState]) -> None:
        for cmd in plan(self.running, wanted):
            try:
                if cmd.start:
                    self.control.start_sync_daemon(self.settings.daemon(cmd.state))
                    self.running.add(cmd.state)
                    log.info(
                        "IPVS sync daemon started: %s on %s syncid %d",
                        cmd.state.name.lower(),
                        self.settings.interface,
                        self.settings.syncid,
                    )
                else:
                    self.control.stop_sync_daemon(cmd.state)
                    self.running.discard(cmd.state)
                    log.info("IPVS sync daemon stopped: %s", cmd.state.name.lower())
            except BackendError as exc:
                self.errors += 1
                log.error("%s", exc)

    def stop(self) -> None:
        self.follow(())

    def reconfigure(self, settings: SyncdSettings, wanted: Iterable[SyncState]) -> None:
        """A reload: restart the daemons only when the settings changed."""
        if settings == self.settings:
            self.follow(wanted)
            return
        self.stop()
        self.settings = settings
        self.follow(wanted)

    def status(self) -> dict[str, Any]:
        s = self.settings
        return {
            "interface": s.interface,
            "syncid": s.syncid,
            "instance": s.instance,
            "running": sorted(r.name.lower() for r in self.running),
            "errors": self.errors,
        }


class StatusSource(Protocol):
    def status(self) -> dict[str, Any]: ...


def instance_state(source: StatusSource, name: str) -> str:
    """The state of VRRP instance ``name`` in the VRRP service's status ("INIT" if absent)."""
    for inst in source.status().get("instances", ()):
        if inst.get("name") == name:
            return str(inst.get("state", "INIT"))
    return "INIT"


def _open_ipvs() -> SyncControl:
    from pykeepalived.lvs.ipvs import IpvsBackend  # noqa: PLC0415

    return IpvsBackend()


class SyncDaemonFollower:
    """The VRRP worker's service for ``lvs_sync_daemon ... inst VI``: the sync daemon follows
    the instance's state (see the module docstring). Idle for the form without an instance,
    which the checker worker runs."""

    name = "lvs_syncd"

    def __init__(
        self,
        config: Config,
        source: StatusSource,
        *,
        open_control: Callable[[], SyncControl] = _open_ipvs,
        poll_s: float = POLL_S,
    ) -> None:
        self.config = config
        self.source = source
        self._open = open_control
        self.poll_s = poll_s
        self.manager: SyncDaemonManager | None = None
        self._control: SyncControl | None = None
        self._task: asyncio.Task[None] | None = None

    def _settings(self, config: Config) -> SyncdSettings | None:
        settings = resolve(config)
        return settings if settings is not None and settings.instance is not None else None

    def _wanted(self) -> set[SyncState]:
        assert self.manager is not None and self.manager.settings.instance is not None
        return {role_for(instance_state(self.source, self.manager.settings.instance))}

    def _ensure_control(self) -> SyncControl | None:
        if self._control is None:
            try:
                self._control = self._open()
            except BackendError as exc:
                log.error("lvs_sync_daemon needs IPVS: %s", exc)
                return None
        return self._control

    async def start(self) -> None:
        settings = self._settings(self.config)
        if settings is None:
            return
        control = self._ensure_control()
        if control is None:
            return
        self.manager = SyncDaemonManager(control, settings)
        self.manager.start(self._wanted())
        self._task = asyncio.get_running_loop().create_task(self._run(), name="lvs-syncd")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            if self.manager is not None:
                self.manager.follow(self._wanted())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.manager is not None:
            self.manager.stop()
            self.manager = None
        closer = getattr(self._control, "close", None)
        if callable(closer):
            closer()
        self._control = None

    async def reload(self, config: Config) -> None:
        self.config = config
        settings = self._settings(config)
        if settings is None:
            await self.stop()
            return
        if self.manager is None:
            await self.start()
            return
        self.manager.reconfigure(
            settings, {role_for(instance_state(self.source, settings.instance or ""))}
        )

    def status(self) -> dict[str, Any]:
        return {} if self.manager is None else self.manager.status()
