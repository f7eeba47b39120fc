"""A worker process: keepalived's VRRP child or checker child.

The supervisor starts ``python -m pykeepalived.daemon.workers --name vrrp --factory MOD:FN
--channel-fd N --options-json {...}``. The worker reads the config itself (as keepalived's
children do), builds its services with the factory (``vrrp_services`` / ``checker_services``
below, or any ``module:function`` taking ``(config, options)``), starts them and then:

- answers ``status`` requests on the channel (`daemon.channel`) with its snapshot;
- SIGHUP: re-reads the config; a config with fatal errors is refused (the running one stays,
  ``config_stale`` becomes true and the error is kept for the status); otherwise every
  service's ``reload(config)`` is called. The outcome is reported as a ``reloaded`` event;
- SIGTERM/SIGINT, or the channel closing (the supervisor is gone): stops its services and exits;
- SIGUSR1 writes its data dump, SIGUSR2 the stats dump, SIGRTMAX-1 the stats dump then clears
  the counters, SIGRTMIN+2 the JSON dump (keepalived's file names, `daemon.dumps`).

It asks the kernel for SIGTERM if its parent dies (PR_SET_PDEATHSIG), as keepalived does.
Exit codes: 0 after a clean stop, 1 fatal error, 2 config error (the supervisor then does not
respawn it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib
import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pykeepalived.config.errors import Severity
from pykeepalived.config.loader import LoadResult
from pykeepalived.config.model import Config
from pykeepalived.control.status import normalize_instance
from pykeepalived.daemon import dumps
from pykeepalived.daemon.alerts import CheckerEventWatcher, VrrpStateWatcher, rs_alive_from_status
from pykeepalived.daemon.channel import STREAM_LIMIT, Channel
from pykeepalived.daemon.logsetup import setup_logging
from pykeepalived.daemon.service import Service
from pykeepalived.libc import LIBC
from pykeepalived.notify.smtp import MailSettings, SmtpAlerter

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FATAL = 1
EXIT_CONFIG = 2

PR_SET_PDEATHSIG = 1
SHUTDOWN_MAIL_DRAIN_S = 1.0

ServiceFactory = Callable[[Config, argparse.Namespace], list[Service]]

LOG_IDENTS = {"vrrp": "Keepalived_vrrp", "checkers": "Keepalived_healthcheckers"}


def vrrp_services(config: Config, options: argparse.Namespace) -> list[Service]:
    from pykeepalived.daemon.main import build_services  # noqa: PLC0415

    return build_services(config, options, kinds=("vrrp",))


def checker_services(config: Config, options: argparse.Namespace) -> list[Service]:
    from pykeepalived.daemon.main import build_services  # noqa: PLC0415

    return build_services(config, options, kinds=("checkers",))


def resolve_factory(spec: str) -> ServiceFactory:
    """``module:function`` -> the function."""
    module_name, _, attr = spec.partition(":")
    factory: ServiceFactory = getattr(importlib.import_module(module_name), attr)
    return factory


def first_error(result: LoadResult) -> str:
    fatal = [d for d in result.diagnostics if d.severity >= Severity.FATAL]
    return fatal[0].format() if fatal else "configuration has fatal errors"


class ServiceHost:
    """Runs a worker's services in this process (see the module docstring)."""

    def __init__(
        self,
        name: str,
        options: argparse.Namespace,
        config: Config,
        factory: ServiceFactory,
        *,
        loader: Callable[[argparse.Namespace], LoadResult] | None = None,
    ) -> None:
        self.name = name
        self.options = options
        self.config = config
        self.services = factory(config, options)
        self._loader = loader
        self.config_stale = False
        self.config_error: str | None = None
        self.loaded_at = time.time()
        self.reloads = 0
        self._stop = asyncio.Event()
        self._reload_lock = asyncio.Lock()
        self.channel: Channel | None = None
        settings = MailSettings.from_global_defs(config.global_defs)
        self.alerter = SmtpAlerter(settings)
        self.vrrp_watcher: VrrpStateWatcher | None = None
        self.checker_watcher: CheckerEventWatcher | None = None
        self._wire_alerts(settings)

    # ---- alerts ---------------------------------------------------------------------------

    def _wire_alerts(self, settings: MailSettings | None) -> None:
        for service in self.services:
            if service.name == "vrrp" and settings is not None:
                self.vrrp_watcher = VrrpStateWatcher(service, self.alerter, self.config, settings)
            events = getattr(service, "events", None)
            if events is not None and hasattr(events, "subscribe"):
                svc = service

                def lookup(vs: str, rs: str, svc: Service = svc) -> bool | None:
                    return rs_alive_from_status(svc.status(), vs, rs)

                self.checker_watcher = CheckerEventWatcher(
                    self.alerter, self.config, settings, lookup
                )
                events.subscribe(self.checker_watcher.on_event)

    # ---- life cycle -----------------------------------------------------------------------

    async def start(self) -> None:
        if self.name == "vrrp":
            # The full collection runs now, before any VRRP timer does: a 100 ms pause once
            # the backups' 36 ms down timers run makes every instance take over at once.
            tune_for_timing()
        self.alerter.start()
        for service in self.services:
            await service.start()
        if self.vrrp_watcher is not None:
            self.vrrp_watcher.start()
        if self.name == "vrrp":
            gc.freeze()  # what the services built at start-up: never walked again (no pause)
        log.info(
            "%s worker started: %s", self.name, ", ".join(s.name for s in self.services) or "idle"
        )

    async def stop(self) -> None:
        if self.name == "vrrp" and GC_PAUSES in gc.callbacks:
            log.info("%s worker %s", self.name, GC_PAUSES.summary())
        if self.vrrp_watcher is not None:
            await self.vrrp_watcher.stop()
            self.vrrp_watcher.poll()
        for service in reversed(self.services):
            try:
                await service.stop()
            except Exception:
                log.exception("stopping %s failed", service.name)
        if self.vrrp_watcher is not None:
            self.vrrp_watcher.shutdown_mails()
        await self.alerter.stop(drain_timeout_s=SHUTDOWN_MAIL_DRAIN_S)

    def request_stop(self) -> None:
        self._stop.set()

    async def reload(self) -> tuple[bool, str | None]:
        """Re-read the config and apply it; False (and config_stale) if it was refused."""
        async with self._reload_lock:
            log.info("Reloading configuration")
            loader = self._loader
            if loader is None:
                from pykeepalived.daemon.main import load  # noqa: PLC0415

                loader = load
            result = await asyncio.to_thread(loader, self.options)
            if not result.runnable:
                self.config_stale = True
                self.config_error = first_error(result)
                log.error(
                    "new configuration refused (%s); the running configuration stays",
                    self.config_error,
                )
                return False, self.config_error
            config = result.config
            for service in self.services:
                try:
                    await service.reload(config)
                except Exception:
                    log.exception("reload of %s failed", service.name)
            self.config = config
            self.config_stale = False
            self.config_error = None
            self.loaded_at = time.time()
            self.reloads += 1
            self.alerter.settings = MailSettings.from_global_defs(config.global_defs)
            if self.vrrp_watcher is not None:
                self.vrrp_watcher.set_config(config)
            if self.checker_watcher is not None:
                self.checker_watcher.set_config(config)
            return True, None

    async def _reload_and_report(self) -> None:
        ok, error = await self.reload()
        if self.channel is not None:
            self.channel.send({"event": "reloaded", "ok": ok, "error": error})

    # ---- status and dumps -----------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        services: dict[str, Any] = {}
        for service in self.services:
            try:
                services[service.name] = service.status()
            except Exception as exc:
                log.exception("status of %s failed", service.name)
                services[service.name] = {"error": str(exc)}
        snap: dict[str, Any] = {
            "worker": self.name,
            "pid": os.getpid(),
            "config_file": self.options.use_file,
            "config_stale": self.config_stale,
            "config_error": self.config_error,
            "loaded_at": self.loaded_at,
            "reloads": self.reloads,
            "services": services,
            "alerts": self.alerter.stats(),
        }
        if self.checker_watcher is not None:
            snap["checker_events"] = self.checker_watcher.counters()
        return snap

    def _instances(self) -> list[dict[str, Any]]:
        vrrp = self.snapshot()["services"].get("vrrp", {})
        return [normalize_instance(i) for i in vrrp.get("instances", ())]

    def _state_dump_file(self) -> str | None:
        value = getattr(self.config.global_defs, "state_dump_file", None)
        return value if isinstance(value, str) else None

    def dump_data(self) -> None:
        path = dumps.data_dump_path(self.name, state_dump_file=self._state_dump_file())
        title = "VRRP Topology" if self.name == "vrrp" else f"{self.name} data"
        if dumps.write_atomic(path, dumps.render_data(title, self.snapshot())):
            log.info("data dump written to %s", path)

    def dump_stats(self, *, clear: bool = False) -> None:
        if not any(s.name == "vrrp" for s in self.services):
            return
        dumps.write_atomic(dumps.stats_dump_path(), dumps.render_stats(self._instances()))
        if clear:
            for service in self.services:
                clearer = getattr(service, "clear_stats", None)
                if callable(clearer):
                    clearer()

    def dump_json(self) -> None:
        if any(s.name == "vrrp" for s in self.services):
            dumps.write_atomic(dumps.json_dump_path(), dumps.render_json(self._instances()))

    # ---- the process ----------------------------------------------------------------------

    def install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
        loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(self._reload_and_report()))
        loop.add_signal_handler(signal.SIGUSR1, self.dump_data)
        loop.add_signal_handler(signal.SIGUSR2, self.dump_stats)
        loop.add_signal_handler(signal.SIGRTMAX - 1, lambda: self.dump_stats(clear=True))
        loop.add_signal_handler(signal.SIGRTMIN + 2, self.dump_json)

    async def _on_request(self, op: str) -> Any:
        if op == "status":
            return self.snapshot()
        if op == "ping":
            return "pong"
        raise ValueError(f"unknown request {op!r}")

    async def run(self, channel: Channel | None = None) -> int:
        self.channel = channel
        self.install_signals()
        serve_task: asyncio.Task[None] | None = None
        if channel is not None:
            serve_task = asyncio.get_running_loop().create_task(
                channel.serve(self._on_request, None), name="channel"
            )
        try:
            await self.start()
        except Exception:
            log.exception("%s worker failed to start", self.name)
            await self.stop()
            return EXIT_FATAL
        if channel is not None:
            channel.send({"event": "ready", "pid": os.getpid()})
            closed_task = asyncio.get_running_loop().create_task(channel.closed.wait())
            stop_task = asyncio.get_running_loop().create_task(self._stop.wait())
            done, _ = await asyncio.wait(
                {closed_task, stop_task}, return_when=asyncio.FIRST_COMPLETED
            )
            for task in (closed_task, stop_task):
                task.cancel()
            if closed_task in done and not self._stop.is_set():
                log.warning("supervisor is gone - stopping")
        else:
            await self._stop.wait()
        log.info("Stopping %s worker", self.name)
        if channel is not None:
            channel.send({"event": "stopping"})
        await self.stop()
        if serve_task is not None:
            serve_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serve_task
        if channel is not None:
            await channel.close()
        return EXIT_OK


VRRP_GC_THRESHOLDS = (10_000, 10, 10)
"""gc thresholds of the VRRP worker (CPython's default: 700, 10, 10).

Full collections walked the whole start-up heap (config model, pyroute2, asyncio: 35-40k
objects, 80-95 ms) and let the backups' 26 ms takeover slack expire. That heap is frozen
(``gc.freeze``), so collections only walk what was made since; a young collection every 10,000
net allocations costs about 0.2 ms, and the ratios keep the older generations as small."""
VRRP_TIMER_SLACK_NS = 1
"""Timer slack of the VRRP worker (the kernel's default is 50 us, 0.1 % of a poll timeout)."""


class GcPauses:
    """Counts the garbage collections of this process and their longest pause (gc.callbacks)."""

    def __init__(self) -> None:
        self.collections = [0, 0, 0]
        self.longest_s = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        self.collections[info["generation"]] += 1
        self.longest_s = max(self.longest_s, time.perf_counter() - self._started)

    def summary(self) -> str:
        """One line for the log."""
        young, middle, old = self.collections
        return (
            f"gc: {young}/{middle}/{old} collections (gen 0/1/2), "
            f"longest pause {self.longest_s * 1000:.1f} ms"
        )


GC_PAUSES = GcPauses()


def tune_for_timing() -> None:
    """The VRRP worker's process tuning, before its services start: gc and timer slack."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*VRRP_GC_THRESHOLDS)
    if GC_PAUSES not in gc.callbacks:
        gc.callbacks.append(GC_PAUSES)
    from pykeepalived.vrrp.timerfd import set_timer_slack_ns  # noqa: PLC0415

    if not set_timer_slack_ns(VRRP_TIMER_SLACK_NS):
        log.debug("cannot set the timer slack")


def set_parent_death_signal(sig: int = signal.SIGTERM) -> None:
    """prctl(PR_SET_PDEATHSIG): the kernel signals us when the parent exits."""
    if LIBC is None or LIBC.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        log.debug("prctl(PR_SET_PDEATHSIG) unavailable")


def _suffixed(path: str, suffix: str) -> str:
    p = Path(path)
    return str(p.with_name(f"{p.stem}_{suffix}{p.suffix}"))


async def _amain(args: argparse.Namespace) -> int:
    options = argparse.Namespace(**json.loads(args.options_json))
    from pykeepalived.daemon.main import load  # noqa: PLC0415

    result = await asyncio.to_thread(load, options)
    if not result.runnable:
        log.error("configuration has fatal errors - %s worker exiting", args.name)
        return EXIT_CONFIG
    factory = resolve_factory(args.factory)
    host = ServiceHost(args.name, options, result.config, factory)
    channel: Channel | None = None
    if args.channel_fd is not None:
        sock = socket.socket(fileno=args.channel_fd)
        reader, writer = await asyncio.open_unix_connection(sock=sock, limit=STREAM_LIMIT)
        channel = Channel(reader, writer)
    return await host.run(channel)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="pykeepalived-worker")
    p.add_argument("--name", required=True)
    p.add_argument("--factory", required=True)
    p.add_argument("--channel-fd", type=int, default=None)
    p.add_argument("--parent-pid", type=int, default=None)
    p.add_argument("--options-json", required=True)
    args = p.parse_args(argv)
    set_parent_death_signal()
    if args.parent_pid is not None and os.getppid() != args.parent_pid:
        return EXIT_FATAL  # the parent died before we could ask for PDEATHSIG
    opts = json.loads(args.options_json)
    log_file = opts.get("log_file")
    suffix = {"vrrp": "vrrp", "checkers": "healthcheckers"}.get(args.name, args.name)
    setup_logging(
        ident=LOG_IDENTS.get(args.name, f"Keepalived_{args.name}"),
        console=bool(opts.get("log_console")),
        detail=bool(opts.get("log_detail")),
        syslog=not opts.get("no_syslog"),
        facility=str(opts.get("log_facility") or "daemon"),
        json_lines=bool(opts.get("log_json")),
        log_file=_suffixed(log_file, suffix) if log_file else None,
    )
    try:
        return asyncio.run(_amain(args))
    except KeyboardInterrupt:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
