"""`CheckerService`: the health-checker side of the daemon (keepalived's checker process).

Built from ``config.lvs``: one `VirtualServerPool` per virtual server, one `CheckerRunner` per
scheduled checker, a poller for FILE_CHECKs. Verdicts drive the `DataPlane` it is given
(IPVS / nftables backends, or `FakeDataPlane`), run notify/quorum scripts without a shell and
write keepalived's FIFO lines. A reload keeps unchanged virtual servers untouched and carries
the state of unchanged real servers and checkers over to changed ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pykeepalived.checkers.base import Probe
from pykeepalived.checkers.dataplane import DataPlane, FakeDataPlane
from pykeepalived.checkers.dns import DnsProbe
from pykeepalived.checkers.events import EventLog
from pykeepalived.checkers.file import FileWatch
from pykeepalived.checkers.http import HttpProbe
from pykeepalived.checkers.local_addrs import IPAddress, is_suspended, read_local_addresses
from pykeepalived.checkers.misc import MiscProbe
from pykeepalived.checkers.ping import PingProbe
from pykeepalived.checkers.realserver import CheckerSlot, VirtualServerPool
from pykeepalived.checkers.rise_fall import Timing
from pykeepalived.checkers.scheduler import CheckerRunner, Flavour, Scheduler
from pykeepalived.checkers.smtp import SmtpProbe
from pykeepalived.checkers.tcp import TcpProbe
from pykeepalived.checkers.udp import UdpProbe
from pykeepalived.config.model import Config
from pykeepalived.config.model.checkers import (
    BfdCheck,
    Checker,
    CheckerCommon,
    DnsCheck,
    FileCheck,
    HttpCheckBase,
    MiscCheck,
    PingCheck,
    SmtpCheck,
    TcpCheck,
    UdpCheck,
)
from pykeepalived.config.model.common import Script
from pykeepalived.config.model.lvs import LvsConfig, VirtualServer
from pykeepalived.daemon.service import RunOptions
from pykeepalived.notify.fifo import NotifyFifo
from pykeepalived.notify.scripts import ScriptLauncher, ScriptSpec, resolve_user

log = logging.getLogger(__name__)

STOP_SCRIPT_TIMEOUT_S = 1.0  # keepalived runs stop-time scripts with a 1 s timeout
FILE_POLL_S = 0.5
HA_SUSPEND_POLL_S = 0.5
BFD_IGNORED = "BFD_CHECK not supported by pykeepalived - checker ignored"


class ServiceEffects:
    """Runs scripts through a `ScriptLauncher` and writes FIFO lines to every open FIFO."""

    def __init__(
        self, launcher: ScriptLauncher, fifos: Sequence[NotifyFifo], default_user: str | None
    ) -> None:
        self.launcher = launcher
        self.fifos = list(fifos)
        self.default_user = default_user
        self.script_errors = 0

    def run_script(self, script: Script, *, stopping: bool = False) -> None:
        user = script.user if script.user is not None else self.default_user
        group = script.group if script.user is not None else None
        try:
            uid, gid = resolve_user(user, group)
        except KeyError:
            self.script_errors += 1
            log.error("unknown user/group %s/%s for %s", user, group, script.cmd_str())
            return
        self.launcher.launch(
            ScriptSpec(script.argv, uid, gid),
            timeout_s=STOP_SCRIPT_TIMEOUT_S if stopping else None,
        )

    def fifo_line(self, line: bytes) -> None:
        for f in self.fifos:
            f.write(line)


@dataclass
class _FileRunner:
    pool: VirtualServerPool
    rs_index: int
    slot: CheckerSlot
    watch: FileWatch
    contribution: int | None = None


@dataclass
class _VsRuntime:
    vs: VirtualServer
    pool: VirtualServerPool
    runners: list[CheckerRunner] = field(default_factory=list)
    files: list[_FileRunner] = field(default_factory=list)


def checker_name(vs: VirtualServer, rs_label: str, index: int, checker: Checker) -> str:
    return f"{rs_label}#{index}:{checker.kind.value}"


def make_probe(checker: Checker, lvs: LvsConfig, default_user: str | None) -> tuple[Probe, Flavour]:
    if isinstance(checker, TcpCheck):
        return TcpProbe(checker), Flavour.SIMPLE
    if isinstance(checker, HttpCheckBase):
        return HttpProbe(checker, lvs.ssl), Flavour.HTTP
    if isinstance(checker, MiscCheck):
        return MiscProbe(checker, default_user=default_user), Flavour.MISC
    if isinstance(checker, SmtpCheck):
        return SmtpProbe(checker), Flavour.SIMPLE
    if isinstance(checker, DnsCheck):
        return DnsProbe(checker), Flavour.SIMPLE
    if isinstance(checker, UdpCheck):
        return UdpProbe(checker), Flavour.SIMPLE
    if isinstance(checker, PingCheck):
        return PingProbe(checker), Flavour.SIMPLE
    raise TypeError(f"not a scheduled checker: {checker.kind}")


class CheckerService:
    """The checker subsystem as a daemon `Service`."""

    name = "checkers"

    def __init__(
        self,
        config: Config,
        options: RunOptions | None = None,
        *,
        dataplane: DataPlane | None = None,
        fifo_paths: Sequence[str] = (),
        default_script_user: str | None = None,
        max_concurrency: int = 512,
        bootstrap_s: float | None = None,
        jitter_fraction: float = 0.01,
        local_addresses: Callable[[], frozenset[IPAddress]] = read_local_addresses,
        ha_poll_s: float = HA_SUSPEND_POLL_S,
    ) -> None:
        self.config = config
        self._local_addresses = local_addresses
        self._ha_poll_s = ha_poll_s
        self._ha_task: asyncio.Task[None] | None = None
        self.ignored_checkers: list[str] = []  # BFD_CHECKs, by name
        self.options = options or RunOptions()
        self.dataplane: DataPlane = dataplane if dataplane is not None else FakeDataPlane()
        self.events = EventLog()
        self.launcher = ScriptLauncher()
        self._fifo_paths = list(fifo_paths)
        self._fifos: list[NotifyFifo] = []
        self.default_user = default_script_user or getattr(config.global_defs, "script_user", None)
        self.effects = ServiceEffects(self.launcher, self._fifos, self.default_user)
        self._max_concurrency = max_concurrency
        self._bootstrap_s = bootstrap_s
        self._jitter_fraction = jitter_fraction
        self.scheduler: Scheduler | None = None
        self.runtimes: dict[str, _VsRuntime] = {}
        self._file_task: asyncio.Task[None] | None = None

    # ---- building -----------------------------------------------------------------------
    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _build(self, vs: VirtualServer, config: Config) -> _VsRuntime:
        pool = VirtualServerPool(vs, self.dataplane, self.effects, self.events, self._now)
        rt = _VsRuntime(vs, pool)
        track_files = {t.name: t for t in config.vrrp.track_files}
        for rs_index, rs in enumerate(vs.real_servers):
            label = pool.real_servers[rs_index].label
            for index, checker in enumerate(rs.checkers):
                name = checker_name(vs, label, index, checker)
                if isinstance(checker, BfdCheck):
                    log.warning("%s: %s", name, BFD_IGNORED)
                    self.ignored_checkers.append(name)
                    continue
                if isinstance(checker, FileCheck):
                    track = track_files.get(checker.track_file)
                    if track is None:
                        log.error("%s: track_file %s not found", name, checker.track_file)
                        continue
                    watch = FileWatch(checker, track)
                    watch.changed()
                    contribution = watch.current()
                    if contribution is None:
                        slot = pool.add_failed_file_checker(rs_index, name)
                    else:
                        slot = pool.add_checker(rs_index, name, alpha=False, retry=0)
                        slot.status.has_run = True
                        slot.file_weight = contribution
                    rt.files.append(_FileRunner(pool, rs_index, slot, watch, contribution))
                    continue
                assert isinstance(checker, CheckerCommon)
                probe, flavour = make_probe(checker, config.lvs, self.default_user)
                slot = pool.add_checker(rs_index, name, alpha=checker.alpha, retry=checker.retry)
                rt.runners.append(
                    CheckerRunner(
                        name=name,
                        probe=probe,
                        flavour=flavour,
                        timing=Timing(
                            checker.retry, checker.delay_loop_s, checker.delay_before_retry_s
                        ),
                        pool=pool,
                        rs_index=rs_index,
                        slot=slot,
                        warmup_s=checker.warmup_s,
                        n_urls=len(checker.urls) if isinstance(checker, HttpCheckBase) else 1,
                        fast_recovery=isinstance(checker, HttpCheckBase) and checker.fast_recovery,
                    )
                )
        return rt

    # ---- life cycle -----------------------------------------------------------------------
    async def start(self) -> None:
        for path in self._fifo_paths:
            fifo = NotifyFifo(path)
            try:
                fifo.open()
            except OSError as exc:
                log.error("cannot open notify FIFO %s: %s", path, exc)
                continue
            self._fifos.append(fifo)
        self.effects.fifos = self._fifos
        kwargs: dict[str, Any] = {
            "max_concurrency": self._max_concurrency,
            "jitter_fraction": self._jitter_fraction,
        }
        if self._bootstrap_s is not None:
            kwargs["bootstrap_s"] = self._bootstrap_s
        self.scheduler = Scheduler(**kwargs)
        for vs in self.config.lvs.virtual_servers:
            self._start_runtime(self._build(vs, self.config))
        loop = asyncio.get_running_loop()
        self._file_task = loop.create_task(self._poll_files())
        self._ha_task = loop.create_task(self._poll_ha_suspend())

    def _start_runtime(self, rt: _VsRuntime, *, fresh: bool = True) -> None:
        assert self.scheduler is not None
        self._apply_suspension(rt, None)
        if fresh:
            rt.pool.start()
        self.runtimes[rt.pool.key.text] = rt
        for runner in rt.runners:
            self.scheduler.start(runner)

    async def _stop_runtime(self, rt: _VsRuntime, *, remove: bool) -> None:
        assert self.scheduler is not None
        for runner in rt.runners:
            await self.scheduler.stop(runner)
        if remove:
            rt.pool.stop()

    async def stop(self) -> None:
        for task in (self._file_task, self._ha_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.scheduler is not None:
            await self.scheduler.stop_all()
        if self.options.release_ipvs_on_exit:
            for rt in self.runtimes.values():
                rt.pool.stop()
        self.dataplane.close(release=self.options.release_ipvs_on_exit)
        await self.launcher.wait_all(timeout_s=STOP_SCRIPT_TIMEOUT_S + 0.5)
        await self.launcher.close()
        for fifo in self._fifos:
            fifo.close()

    async def reload(self, config: Config) -> None:
        """Keep unchanged virtual servers; rebuild changed ones carrying state over."""
        assert self.scheduler is not None
        old = dict(self.runtimes)
        self.config = config
        new_vss = {
            VirtualServerPool(vs, self.dataplane, self.effects, self.events, self._now).key.text: vs
            for vs in config.lvs.virtual_servers
        }
        for key, rt in old.items():
            if key not in new_vss:
                await self._stop_runtime(rt, remove=True)
                del self.runtimes[key]
        for key, vs in new_vss.items():
            previous = old.get(key)
            if previous is not None and previous.vs == vs:
                continue
            rt = self._build(vs, config)
            if previous is None:
                self._start_runtime(rt)
                continue
            await self._stop_runtime(previous, remove=False)
            self._migrate(previous, rt)
            self._start_runtime(rt, fresh=False)

    def _migrate(self, old: _VsRuntime, new: _VsRuntime) -> None:
        """Carry alive/in-dataplane state and checker verdicts of surviving real servers."""
        old_pool, pool = old.pool, new.pool
        pool.quorum_up = old_pool.quorum_up
        pool.started = True
        if (
            pool.sorry is not None
            and old_pool.sorry is not None
            and (pool.sorry.dest == old_pool.sorry.dest)
        ):
            pool.sorry.alive, pool.sorry.set = old_pool.sorry.alive, old_pool.sorry.set
        elif old_pool.sorry is not None and old_pool.sorry.set:
            self.dataplane.remove_destination(old_pool.key, old_pool.sorry.dest)
        old_by_dest = {
            (rs.dest.address, rs.dest.port): (i, rs) for i, rs in enumerate(old_pool.real_servers)
        }
        kept: set[int] = set()
        for index, rs in enumerate(pool.real_servers):
            found = old_by_dest.get((rs.dest.address, rs.dest.port))
            if found is None:
                if rs.num_failed == 0:
                    pool._dp_add(rs)
                    rs.alive = True
                elif rs.inhibit:
                    pool._dp_add(rs, 0)
                continue
            old_index, old_rs = found
            kept.add(old_index)
            rs.alive, rs.set = old_rs.alive, old_rs.set
            old_checkers = list(
                zip(old.vs.real_servers[old_index].checkers, old_rs.checkers, strict=False)
            )
            rs.num_failed = 0
            for model, slot in zip(new.vs.real_servers[index].checkers, rs.checkers, strict=False):
                for old_model, old_slot in old_checkers:
                    if old_model == model and old_slot.status.has_run:
                        slot.status.is_up = old_slot.status.is_up
                        slot.status.has_run = True
                        slot.file_weight = old_slot.file_weight
                        break
                if not slot.status.is_up:
                    rs.num_failed += 1
            if rs.set and rs.alive and rs.weight != old_rs.weight:
                self.dataplane.set_weight(pool.key, rs.dest, rs.weight)
            if rs.num_failed == 0 and not rs.alive:
                pool._perform_svr_state(rs, True, "reload")
            elif rs.num_failed and rs.alive:
                pool._perform_svr_state(rs, False, "reload")
        for old_index, old_rs in enumerate(old_pool.real_servers):
            if old_index not in kept and old_rs.set:
                self.dataplane.remove_destination(old_pool.key, old_rs.dest)
        pool._update_quorum(init=False)

    # ---- ha_suspend ---------------------------------------------------------------------------
    def _apply_suspension(self, rt: _VsRuntime, local: frozenset[IPAddress] | None) -> None:
        """Suspend or resume ``rt``'s checkers (``local``: None reads the addresses now)."""
        if not rt.vs.ha_suspend:
            return
        if local is None:
            local = self._local_addresses()
        suspended = is_suspended(rt.vs, local)
        if rt.runners and rt.runners[0].suspended != suspended:
            log.info(
                "%s: checkers %s (ha_suspend)",
                rt.pool.key.text,
                "suspended" if suspended else "resumed",
            )
        for runner in rt.runners:
            runner.suspended = suspended

    def poll_ha_suspend_once(self) -> None:
        suspendable = [rt for rt in self.runtimes.values() if rt.vs.ha_suspend]
        if not suspendable:
            return
        local = self._local_addresses()
        for rt in suspendable:
            self._apply_suspension(rt, local)

    async def _poll_ha_suspend(self) -> None:
        while True:
            await asyncio.sleep(self._ha_poll_s)
            self.poll_ha_suspend_once()

    async def _poll_files(self) -> None:
        while True:
            await asyncio.sleep(FILE_POLL_S)
            self.poll_files_once()

    def poll_files_once(self) -> None:
        for rt in self.runtimes.values():
            for fr in rt.files:
                if not fr.watch.changed():
                    continue
                new = fr.watch.current()
                if new != fr.contribution:
                    previous, fr.contribution = fr.contribution, new
                    fr.pool.file_status(fr.rs_index, fr.slot, previous, new)

    # ---- status -----------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        sched = self.scheduler
        return {
            "virtual_servers": [rt.pool.status() for rt in self.runtimes.values()],
            "events": [e.to_json() for e in self.events.events()[-100:]],
            "stats": {
                "checkers": sum(len(rt.runners) for rt in self.runtimes.values()),
                "events_total": self.events.total,
                "scripts_running": self.launcher.running,
                "scripts_dropped": self.launcher.dropped,
                "probes_run": sched.sharer.probed if sched else 0,
                "probes_shared": sched.sharer.shared if sched else 0,
                "probe_errors": sched.errors if sched else 0,
                "checks_suspended": sched.suspended_skips if sched else 0,
                "checkers_ignored": list(self.ignored_checkers),
                "lateness_p99_s": sched.lateness_percentile(0.99) if sched else 0.0,
            },
        }
