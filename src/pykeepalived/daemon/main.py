"""The daemon's entry point: ``run(options)`` loads the config and runs the supervisor.

The supervisor (`daemon.supervisor`) runs the VRRP engine and the checkers in worker processes
(`daemon.workers`), forwards keepalived's signals, reloads on SIGHUP (refusing a config with
fatal errors, which keeps the old one running and shows ``config_stale``), and serves the
status API. `build_services` is what a worker runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
from collections.abc import Collection
from pathlib import Path

from pykeepalived.config.errors import Severity
from pykeepalived.config.loader import LoadResult, load_file, system_interface_exists
from pykeepalived.config.model import Config
from pykeepalived.control import api
from pykeepalived.daemon import pidfile
from pykeepalived.daemon.logsetup import setup_logging
from pykeepalived.daemon.service import RunOptions, Service
from pykeepalived.daemon.supervisor import Supervisor, worker_specs

log = logging.getLogger(__name__)


def load(options: argparse.Namespace) -> LoadResult:
    result = load_file(
        options.use_file, config_id=options.config_id, interface_exists=system_interface_exists
    )
    for diag in result.diagnostics:
        level = logging.WARNING if diag.severity <= Severity.WARNING else logging.ERROR
        log.log(level, "%s", diag.format())
    return result


def run_options(options: argparse.Namespace) -> RunOptions:
    return RunOptions(
        release_vips_on_exit=not options.dont_release_vrrp,
        release_ipvs_on_exit=not options.dont_release_ipvs,
        release_vips_on_reload=options.release_vips,
        log_detail=options.log_detail,
    )


def build_services(
    config: Config, options: argparse.Namespace, *, kinds: Collection[str] = ("vrrp", "checkers")
) -> list[Service]:
    """The services of ``kinds`` that ``options`` and ``config`` call for."""
    opts = run_options(options)
    services: list[Service] = []
    want_vrrp = options.vrrp or not options.check
    if "vrrp" in kinds and want_vrrp and (config.vrrp.instances or options.all):
        from pykeepalived.lvs.syncd import SyncDaemonFollower, resolve  # noqa: PLC0415
        from pykeepalived.vrrp.service import VrrpService  # noqa: PLC0415

        vrrp_service = VrrpService(config, opts)
        services.append(vrrp_service)
        syncd = resolve(config)
        if syncd is not None and syncd.instance is not None:
            # keepalived runs 'lvs_sync_daemon IF inst VI' from its VRRP process: the IPVS
            # sync daemon is master while VI is MASTER, backup otherwise
            services.append(SyncDaemonFollower(config, vrrp_service))
    want_checkers = options.check or not options.vrrp
    if "checkers" in kinds and want_checkers and (config.lvs.virtual_servers or options.all):
        from pykeepalived.checkers.service import CheckerService  # noqa: PLC0415
        from pykeepalived.lvs.select import kernel_dataplane  # noqa: PLC0415

        defs = config.global_defs
        fifos = [f.path for f in (defs.notify_fifo, defs.lvs_notify_fifo) if f.path]
        dataplane = kernel_dataplane(
            config,
            getattr(options, "lvs_backend", "auto"),
            nft_masquerade=bool(getattr(options, "lvs_nft_masquerade", False)),
        )
        services.append(
            CheckerService(
                config,
                opts,
                dataplane=dataplane,
                fifo_paths=fifos,
                default_script_user=defs.script_user,
            )
        )
    return services


def control_socket(options: argparse.Namespace) -> str | None:
    """Where the control API listens.

    ``--control-socket PATH`` (``none`` disables), else $PYKEEPALIVED_CONTROL_SOCKET; else,
    when ``-p`` names a pid file, a socket beside it (``/x/lab1.pid`` -> ``/x/lab1.sock``) so
    that several daemons (e.g. one per network namespace) never share a socket; else
    /run/pykeepalived/control.sock.
    """
    value = getattr(options, "control_socket", None) or os.environ.get(api.SOCKET_ENV)
    if value is None:
        pid = getattr(options, "pid", None)
        return str(Path(pid).with_suffix(".sock")) if pid else api.DEFAULT_SOCKET
    return None if value.lower() in ("", "none") else value


def http_listen(options: argparse.Namespace) -> tuple[str, int] | None:
    """``--http-listen HOST:PORT`` or $PYKEEPALIVED_HTTP_LISTEN; None: no TCP listener."""
    value = getattr(options, "http_listen", None) or os.environ.get(api.HTTP_LISTEN_ENV)
    return api.parse_listen(value) if value else None


def daemonize() -> None:
    """Classic double fork; the parent returns only in the grandchild."""
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    os.chdir("/")
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)


def run(options: argparse.Namespace) -> int:
    """The daemon: load the config, become the supervisor of the worker processes."""
    if not options.dont_fork:
        daemonize()
    setup_logging(
        ident="Keepalived",
        console=options.log_console,
        detail=options.log_detail,
        syslog=not options.no_syslog,
        facility=options.log_facility,
        json_lines=options.log_json,
        log_file=options.log_file,
    )
    log.info("Starting pykeepalived (keepalived-compatible), config %s", options.use_file)
    result = load(options)
    if not result.runnable:
        log.error("configuration has fatal errors - exiting")
        return 1
    try:
        listen = http_listen(options)
    except ValueError as exc:
        log.error("%s", exc)
        return 1
    main_pid = options.pid or pidfile.DEFAULT_MAIN
    try:
        written = pidfile.write_pidfile(main_pid)
    except pidfile.PidFileInUseError as exc:
        log.error("%s", exc)
        return 1
    supervisor = Supervisor(
        options,
        result.config,
        worker_specs(result.config, options),
        loader=load,
        control_socket=control_socket(options),
        http_listen=listen,
    )
    try:
        return asyncio.run(supervisor.run())
    finally:
        with contextlib.suppress(OSError):
            pidfile.remove_pidfile(written)
