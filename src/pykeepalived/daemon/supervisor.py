"""The supervisor: keepalived's parent process.

It runs the VRRP engine and the checkers in separate worker processes (`daemon.workers`), so
that checker load never delays a VRRP advert, and:

- restarts a worker that dies (unless ``-R``/``--dont-respawn``, in which case the whole daemon
  stops, as keepalived's parent does); a worker exiting with the config-error code is not
  respawned either. Quick repeated crashes back off (`RESPAWN_DELAYS_S`);
- writes the pid files: ``-p`` (itself), ``-r`` (VRRP worker), ``-c`` (checker worker), with
  keepalived's default names;
- SIGHUP: reads the config first; a config with fatal errors is refused (logged, old config
  kept, ``config_stale`` in the status) and not forwarded; otherwise SIGHUP goes to the workers,
  which apply the new config themselves and report back;
- SIGTERM/SIGINT: forwards SIGTERM, waits ``child_wait_time`` (+ margin) for clean exits, then
  SIGKILLs what is left;
- SIGUSR1 goes to every worker (each writes its data dump) and the parent writes
  ``keepalived_parent.data``; SIGUSR2, SIGRTMAX-1 and SIGRTMIN+2 go to the VRRP worker;
- serves the control API (`control.api`): on each request it asks every worker for its
  snapshot over the worker's channel (pull, with a timeout; a worker that does not answer, for
  instance one stopped with SIGSTOP, is shown as not responding with no data) and merges them
  with `control.status.build_status`;
- tells systemd READY=1 / RELOADING=1 / STOPPING=1 (`daemon.sdnotify`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pykeepalived import __version__
from pykeepalived.config.loader import LoadResult
from pykeepalived.config.model import Config
from pykeepalived.control.api import ControlServer
from pykeepalived.control.status import DaemonInfo, WorkerInfo, build_status
from pykeepalived.daemon import dumps, pidfile, sdnotify
from pykeepalived.daemon.channel import STREAM_LIMIT, Channel
from pykeepalived.daemon.service import RESPAWN_ENV
from pykeepalived.daemon.workers import EXIT_CONFIG, first_error

log = logging.getLogger(__name__)

STATUS_TIMEOUT_S = 2.0
READY_TIMEOUT_S = 30.0
RELOAD_TIMEOUT_S = 30.0
STOP_MARGIN_S = 5.0
RESPAWN_DELAYS_S = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
STABLE_AFTER_S = 30.0
"""A worker that ran this long before dying is respawned at once again."""

FORWARDED_TO_VRRP: tuple[int, ...] = (
    signal.SIGUSR2,
    signal.SIGRTMAX - 1,
    signal.SIGRTMIN + 2,
)


@dataclass(frozen=True)
class WorkerSpec:
    """A worker to run: its name, the ``module:function`` building its services, its pid
    file (None: none)."""

    name: str
    factory: str
    pid_file: str | None = None


def worker_specs(config: Config, options: argparse.Namespace) -> list[WorkerSpec]:
    """The workers ``options`` and ``config`` call for (keepalived's -P/-C/--all rules)."""
    specs: list[WorkerSpec] = []
    want_vrrp = options.vrrp or not options.check
    want_checkers = options.check or not options.vrrp
    if want_vrrp and (config.vrrp.instances or options.all):
        specs.append(
            WorkerSpec(
                "vrrp",
                "pykeepalived.daemon.workers:vrrp_services",
                options.vrrp_pid or pidfile.DEFAULT_VRRP,
            )
        )
    if want_checkers and (config.lvs.virtual_servers or options.all):
        specs.append(
            WorkerSpec(
                "checkers",
                "pykeepalived.daemon.workers:checker_services",
                options.checkers_pid or pidfile.DEFAULT_CHECKERS,
            )
        )
    return specs


@dataclass
class Worker:
    """Run-time state of one worker process."""

    spec: WorkerSpec
    proc: asyncio.subprocess.Process | None = None
    channel: Channel | None = None
    restarts: int = 0
    crashes_in_a_row: int = 0
    started_at: float = 0.0
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    reloaded: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    responding: bool = True
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None


class Supervisor:
    """keepalived's parent (see the module docstring)."""

    def __init__(
        self,
        options: argparse.Namespace,
        config: Config,
        specs: Sequence[WorkerSpec],
        *,
        loader: Callable[[argparse.Namespace], LoadResult],
        control_socket: str | None,
        http_listen: tuple[str, int] | None = None,
        worker_env: dict[str, str] | None = None,
    ) -> None:
        self.options = options
        self.config = config
        self.loader = loader
        self.workers: dict[str, Worker] = {s.name: Worker(s) for s in specs}
        self.api = ControlServer(self.status, socket_path=control_socket, tcp=http_listen)
        self.worker_env = worker_env
        self.started_at = time.time()
        self.config_stale = False
        self.config_error: str | None = None
        self.last_reload_at: float | None = None
        self.last_reload_ok: bool | None = None
        self.reloads_ok = 0
        self.reloads_refused = 0
        self.stopping = False
        self.exit_code = 0
        self._stop = asyncio.Event()
        self._reload_lock = asyncio.Lock()
        self._written_pids: set[Path] = set()

    # ---- workers --------------------------------------------------------------------------

    def _worker_argv(self, spec: WorkerSpec, fd: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "pykeepalived.daemon.workers",
            "--name",
            spec.name,
            "--factory",
            spec.factory,
            "--channel-fd",
            str(fd),
            "--parent-pid",
            str(os.getpid()),
            "--options-json",
            json.dumps(vars(self.options), default=str),
        ]

    async def _spawn(self, worker: Worker) -> None:
        parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        env = dict(os.environ if self.worker_env is None else self.worker_env)
        env.pop(sdnotify.ENV, None)
        if worker.restarts:
            # the worker died and is started again: the VRRP service keeps the masters whose
            # VIPs are still installed (VrrpService._masters_before_crash)
            env[RESPAWN_ENV] = "1"
        else:
            env.pop(RESPAWN_ENV, None)
        try:
            worker.proc = await asyncio.create_subprocess_exec(
                *self._worker_argv(worker.spec, child_sock.fileno()),
                pass_fds=(child_sock.fileno(),),
                stdin=asyncio.subprocess.DEVNULL,
                env=env,
                process_group=0,
            )
        finally:
            child_sock.close()
        worker.started_at = time.monotonic()
        worker.ready = asyncio.Event()
        worker.responding = True
        reader, writer = await asyncio.open_unix_connection(sock=parent_sock, limit=STREAM_LIMIT)
        worker.channel = Channel(reader, writer)
        log.info("Starting %s child process, pid=%d", worker.spec.name, worker.proc.pid)
        if worker.spec.pid_file:
            try:
                self._written_pids.add(pidfile.write_pidfile(worker.spec.pid_file, worker.proc.pid))
            except (OSError, pidfile.PidFileInUseError) as exc:
                log.error("cannot write %s: %s", worker.spec.pid_file, exc)
        loop = asyncio.get_running_loop()
        channel = worker.channel
        worker.tasks = [
            loop.create_task(channel.serve(None, functools.partial(self._on_event, worker))),
            loop.create_task(self._watch(worker)),
        ]

    def _on_event(self, worker: Worker, message: dict[str, Any]) -> None:
        event = message.get("event")
        if event == "ready":
            worker.ready.set()
        elif event == "reloaded":
            worker.reloaded.put_nowait(message)

    async def _watch(self, worker: Worker) -> None:
        proc = worker.proc
        assert proc is not None
        code = await proc.wait()
        ran_s = time.monotonic() - worker.started_at
        if worker.channel is not None:
            await worker.channel.close()
        if self.stopping:
            log.info("%s child process (pid %d) exited with %d", worker.spec.name, proc.pid, code)
            return
        how = f"signal {-code}" if code < 0 else f"status {code}"
        if self.options.dont_respawn or code == EXIT_CONFIG:
            log.error(
                "%s child process (pid %d) died (%s) - not respawning, exiting",
                worker.spec.name,
                proc.pid,
                how,
            )
            self.exit_code = 1
            self._stop.set()
            return
        worker.crashes_in_a_row = 0 if ran_s >= STABLE_AFTER_S else worker.crashes_in_a_row + 1
        delay = RESPAWN_DELAYS_S[
            min(max(worker.crashes_in_a_row - 1, 0), len(RESPAWN_DELAYS_S) - 1)
        ]
        log.error(
            "%s child process (pid %d) died (%s): respawning in %.1f s",
            worker.spec.name,
            proc.pid,
            how,
            delay,
        )
        if delay:
            await asyncio.sleep(delay)
        if self.stopping:
            return
        worker.restarts += 1
        try:
            await self._spawn(worker)
        except OSError as exc:
            log.error("cannot respawn %s: %s", worker.spec.name, exc)
            self.exit_code = 1
            self._stop.set()

    def _signal_workers(self, sig: int, names: Sequence[str] | None = None) -> None:
        for worker in self.workers.values():
            if names is not None and worker.spec.name not in names:
                continue
            if worker.alive and worker.proc is not None:
                with contextlib.suppress(ProcessLookupError):
                    worker.proc.send_signal(sig)

    # ---- reload ---------------------------------------------------------------------------

    async def reload(self) -> bool:
        """SIGHUP: check the new config, then have the workers apply it."""
        async with self._reload_lock:
            sdnotify.reloading()
            log.info("Reloading")
            self.last_reload_at = time.time()
            try:
                result = await asyncio.to_thread(self.loader, self.options)
                if not result.runnable:
                    self.config_stale = True
                    self.config_error = first_error(result)
                    self.last_reload_ok = False
                    self.reloads_refused += 1
                    log.error(
                        "new configuration refused (%s); the running configuration stays",
                        self.config_error,
                    )
                    return False
                for worker in self.workers.values():
                    while not worker.reloaded.empty():
                        worker.reloaded.get_nowait()
                targets = [w for w in self.workers.values() if w.alive]
                self._signal_workers(signal.SIGHUP)
                outcomes = await asyncio.gather(
                    *(self._await_reloaded(w) for w in targets), return_exceptions=True
                )
                errors = [o for o in outcomes if isinstance(o, str)]
                errors += [
                    f"{w.spec.name}: {o}"
                    for w, o in zip(targets, outcomes, strict=True)
                    if isinstance(o, BaseException)
                ]
                self.config = result.config
                await self._start_missing_workers(result.config)
                self.config_stale = bool(errors)
                self.config_error = errors[0] if errors else None
                self.last_reload_ok = not errors
                if errors:
                    self.reloads_refused += 1
                else:
                    self.reloads_ok += 1
                return not errors
            finally:
                sdnotify.ready()

    async def _await_reloaded(self, worker: Worker) -> str | None:
        message = await asyncio.wait_for(worker.reloaded.get(), RELOAD_TIMEOUT_S)
        if message.get("ok"):
            return None
        return f"{worker.spec.name}: {message.get('error')}"

    async def _start_missing_workers(self, config: Config) -> None:
        for spec in worker_specs(config, self.options):
            if spec.name not in self.workers:
                worker = Worker(spec)
                self.workers[spec.name] = worker
                await self._spawn(worker)

    # ---- status ---------------------------------------------------------------------------

    async def _snapshot(self, worker: Worker) -> dict[str, Any] | None:
        if not worker.alive or worker.channel is None:
            return None
        try:
            result = await worker.channel.request("status", STATUS_TIMEOUT_S)
        except (TimeoutError, ConnectionError, RuntimeError) as exc:
            worker.responding = False
            log.debug("no status from %s: %s", worker.spec.name, exc)
            return None
        worker.responding = True
        return result if isinstance(result, dict) else None

    def daemon_info(self) -> DaemonInfo:
        return DaemonInfo(
            pid=os.getpid(),
            version=__version__,
            config_file=str(self.options.use_file),
            started_at=self.started_at,
            config_stale=self.config_stale,
            config_error=self.config_error,
            last_reload_at=self.last_reload_at,
            last_reload_ok=self.last_reload_ok,
            reloads_ok=self.reloads_ok,
            reloads_refused=self.reloads_refused,
            workers=tuple(
                WorkerInfo(w.spec.name, w.pid, w.alive, w.restarts, w.responding)
                for w in self.workers.values()
            ),
        )

    async def status(self) -> dict[str, Any]:
        workers = list(self.workers.values())
        snaps = await asyncio.gather(*(self._snapshot(w) for w in workers))
        by_name = {w.spec.name: s for w, s in zip(workers, snaps, strict=True)}
        return build_status(self.daemon_info(), by_name)

    async def _dump_parent(self) -> None:
        doc = await self.status()
        path = dumps.data_dump_path("parent", state_dump_file=_state_dump_file(self.config))
        parent = {k: v for k, v in doc.items() if k not in ("vrrp", "virtual_servers")}
        dumps.write_atomic(path, dumps.render_data("Parent", {"services": parent}))

    # ---- run ------------------------------------------------------------------------------

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for stop_sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(stop_sig, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(self.reload()))
        loop.add_signal_handler(signal.SIGUSR1, lambda: self._forward(signal.SIGUSR1, None))
        for sig in FORWARDED_TO_VRRP:
            loop.add_signal_handler(sig, self._forward, sig, ("vrrp",))

    def _forward(self, sig: int, names: Sequence[str] | None) -> None:
        self._signal_workers(sig, names)
        if sig == signal.SIGUSR1:
            asyncio.get_running_loop().create_task(self._dump_parent())

    async def run(self) -> int:
        self._install_signals()
        try:
            await self.api.start()
        except OSError as exc:
            log.error("control API not available: %s", exc)
        for worker in list(self.workers.values()):
            await self._spawn(worker)
        waiting = [w.ready.wait() for w in self.workers.values()]
        if waiting:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*waiting), READY_TIMEOUT_S)
        sdnotify.ready()
        log.info("Startup complete: %s", ", ".join(self.workers) or "no subsystem to run")
        await self._stop.wait()
        await self.shutdown()
        return self.exit_code

    async def shutdown(self) -> None:
        self.stopping = True
        sdnotify.stopping()
        log.info("Stopping")
        self._signal_workers(signal.SIGTERM)
        wait_s = float(self.config.global_defs.child_wait_time_s) + STOP_MARGIN_S
        procs = [w.proc for w in self.workers.values() if w.proc is not None]
        if procs:
            _done, pending = await asyncio.wait(
                [asyncio.ensure_future(p.wait()) for p in procs], timeout=wait_s
            )
            for task in pending:
                task.cancel()
        for worker in self.workers.values():
            if worker.alive and worker.proc is not None:
                log.warning("%s child did not stop in time - killing it", worker.spec.name)
                with contextlib.suppress(ProcessLookupError):
                    worker.proc.kill()
                await worker.proc.wait()
            for task in worker.tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.api.stop()
        for path in self._written_pids:
            with contextlib.suppress(OSError):
                path.unlink()
        log.info("Stopped")


def _state_dump_file(config: Config) -> str | None:
    value = getattr(config.global_defs, "state_dump_file", None)
    return value if isinstance(value, str) else None
