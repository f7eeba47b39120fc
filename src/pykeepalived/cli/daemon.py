"""``pykeepalived``: the daemon, with keepalived's own command line (keepalived/core/main.c).

``pykeepalived -t -f FILE`` checks a config and exits with keepalived 2.2.7's codes;
otherwise the daemon starts (VRRP with ``-P``, checkers with ``-C``, both by default).
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence

from pykeepalived import KEEPALIVED_COMPAT_VERSION, __version__
from pykeepalived.config.loader import DEFAULT_CONFIG_FILE, load_file, system_interface_exists

SIGNAL_NAMES = {
    "STOP": signal.SIGTERM,
    "RELOAD": signal.SIGHUP,
    "DATA": signal.SIGUSR1,
    "STATS": signal.SIGUSR2,
    "STATS_CLEAR": signal.SIGRTMAX - 1,
    "JSON": signal.SIGRTMIN + 2,
    "TDUMP": signal.SIGRTMAX,
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pykeepalived",
        description="keepalived-compatible VRRP and LVS health-checking daemon",
    )
    a = p.add_argument
    a("-f", "--use-file", default=DEFAULT_CONFIG_FILE, metavar="FILE", help="config file")
    a("-P", "--vrrp", action="store_true", help="only run the VRRP subsystem")
    a("-C", "--check", action="store_true", help="only run the checker subsystem")
    a("-B", "--no_bfd", action="store_true", help="do not run the BFD subsystem")
    a("--all", action="store_true", help="run all subsystems even without configuration")
    a("-l", "--log-console", action="store_true", help="log to the console")
    a("-D", "--log-detail", action="store_true", help="detailed log messages")
    a("-S", "--log-facility", default="daemon", metavar="FACILITY", help="syslog facility")
    a("-g", "--log-file", nargs="?", const="/tmp/keepalived.log", metavar="FILE")
    a("--flush-log-file", action="store_true", help="flush the log file after each write")
    a("-G", "--no-syslog", action="store_true", help="do not log via syslog")
    a("--log-json", action="store_true", help="log JSON lines on the console (pykeepalived)")
    a("-X", "--release-vips", action="store_true", help="release VIPs on reload transitions")
    a("-V", "--dont-release-vrrp", action="store_true", help="leave VIPs and routes at exit")
    a("-I", "--dont-release-ipvs", action="store_true", help="leave IPVS config at exit")
    a("-R", "--dont-respawn", action="store_true", help="do not respawn dead children")
    a("-n", "--dont-fork", action="store_true", help="stay in the foreground")
    a("-d", "--dump-conf", action="store_true", help="dump the parsed configuration")
    a("-p", "--pid", default=None, metavar="FILE", help="parent pid file")
    a("-r", "--vrrp_pid", default=None, metavar="FILE", help="VRRP child pid file")
    a("-c", "--checkers_pid", default=None, metavar="FILE", help="checker child pid file")
    a("-b", "--bfd_pid", default=None, metavar="FILE", help="BFD child pid file")
    a("-a", "--address-monitoring", action="store_true", help="log address changes")
    a("-s", "--namespace", default=None, metavar="NAME", help="run in network namespace NAME")
    a("-e", "--all-config", action="store_true", help="fail if a config file is missing")
    a("-i", "--config-id", default=None, metavar="ID", help="config id for @ conditionals")
    a("-u", "--umask", default=None, metavar="NUMBER", help="umask for created files")
    a("-m", "--core-dump", action="store_true", help="produce core dumps on crash")
    a("-M", "--core-dump-pattern", nargs="?", const="core", metavar="PATTERN")
    a("--signum", default=None, metavar="SIGFUNC", help="print a signal number and exit")
    a(
        "-t",
        "--config-test",
        nargs="?",
        const="",
        default=None,
        metavar="FILE",
        help="check the configuration and exit (optionally logging to FILE)",
    )
    a(
        "--lvs-backend",
        default="auto",
        choices=("auto", "ipvs", "nftables", "none"),
        help="data plane for virtual servers: IPVS if the kernel has it, else nftables (auto)",
    )
    a(
        "--lvs-nft-masquerade",
        action="store_true",
        help="nftables data plane: masquerade (SNAT) connections to a virtual address, so that "
        "NAT replies come back through the director when clients and real servers share a "
        "segment (no effect on IPVS)",
    )
    a(
        "--control-socket",
        default=None,
        metavar="PATH",
        help="unix socket of the JSON status API ('none' disables; default beside the -p pid "
        "file, else /run/pykeepalived/control.sock)",
    )
    a(
        "--http-listen",
        default=None,
        metavar="HOST:PORT",
        help="also serve the status API and /metrics over HTTP on this address",
    )
    a("-v", "--version", action="store_true", help="print the version and exit")
    return p


def config_test(options: argparse.Namespace) -> int:
    """``-t``: read the config, print keepalived-style messages, exit with its code."""
    result = load_file(
        options.use_file,
        config_id=options.config_id,
        interface_exists=system_interface_exists,
    )
    lines = [d.format() for d in result.diagnostics]
    if options.config_test:
        with open(options.config_test, "a", encoding="utf-8") as log:
            log.writelines(line + "\n" for line in lines)
    for line in lines:
        print(line, file=sys.stderr)
    return result.diagnostics.exit_code()


def main(argv: Sequence[str] | None = None) -> int:
    options = build_parser().parse_args(argv)
    if options.version:
        print(f"pykeepalived v{__version__} (keepalived {KEEPALIVED_COMPAT_VERSION} compatible)")
        return 0
    if options.signum is not None:
        sig = SIGNAL_NAMES.get(options.signum.upper())
        if sig is None:
            print(f"Unknown sigfunc {options.signum}", file=sys.stderr)
            return 1
        print(int(sig))
        return 0
    if options.config_test is not None:
        return config_test(options)
    from pykeepalived.daemon.main import run  # noqa: PLC0415  (heavy imports only when running)

    return run(options)


if __name__ == "__main__":
    sys.exit(main())
