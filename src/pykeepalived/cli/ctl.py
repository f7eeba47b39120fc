"""``pykeepalivedctl``: operator commands.

- ``check``, ``dump-config``: read a config file (no daemon needed);
- ``status [--json]``: the running daemon's status, from its control API (unix socket);
- ``diff -f NEWFILE [--current FILE]``: what a reload to NEWFILE would change, compared with the
  running daemon's config file (or FILE); changes nothing;
- ``reload [-p PIDFILE]``: SIGHUP to the daemon of the pid file;
- ``genhash ...``: keepalived's genhash (MD5 of an HTTP body).
- ``lab [-f CONFIG]``: the lab demo in network namespaces (needs root).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from pykeepalived.config.diff import diff_configs, format_diff
from pykeepalived.config.errors import Severity
from pykeepalived.config.jsonview import mask_secrets, to_jsonable
from pykeepalived.config.loader import (
    DEFAULT_CONFIG_FILE,
    LoadResult,
    load_file,
    render_config,
    system_interface_exists,
)
from pykeepalived.control import api
from pykeepalived.control.status import render_table
from pykeepalived.daemon import pidfile


def _add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--use-file", default=DEFAULT_CONFIG_FILE, metavar="FILE")
    p.add_argument("-i", "--config-id", default=None, metavar="ID")
    p.add_argument(
        "--no-interface-check",
        action="store_true",
        help="do not check that named interfaces exist on this machine",
    )


def cmd_check(options: argparse.Namespace) -> int:
    result = load_file(
        options.use_file,
        config_id=options.config_id,
        interface_exists=None if options.no_interface_check else system_interface_exists,
    )
    counts = dict.fromkeys(Severity, 0)
    for d in result.diagnostics:
        counts[d.severity] += 1
        where = f"{d.location}: " if d.location else ""
        print(f"{where}{d.severity.name.lower()}: {d.message}")
    summary = ", ".join(f"{n} {s.name.lower()}" for s, n in counts.items() if n)
    code = result.diagnostics.exit_code()
    print(f"{options.use_file}: {summary or 'no problems'} (exit {code})")
    return code


def cmd_dump_config(options: argparse.Namespace) -> int:
    result = load_file(
        options.use_file,
        config_id=options.config_id,
        interface_exists=None if options.no_interface_check else system_interface_exists,
    )
    for d in result.diagnostics:
        print(d.format(), file=sys.stderr)
    config = result.config if options.show_secrets else mask_secrets(result.config)
    if options.json:
        data = to_jsonable(config, show_secrets=options.show_secrets)
        print(json.dumps(data, indent=2))
    else:
        sys.stdout.write(render_config(config))
    return result.diagnostics.exit_code()


def _add_api_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--socket",
        default=os.environ.get(api.SOCKET_ENV, api.DEFAULT_SOCKET),
        metavar="PATH",
        help="the daemon's control socket",
    )
    p.add_argument("--http", default=None, metavar="HOST:PORT", help="use the TCP listener")


def _fetch_status(options: argparse.Namespace) -> dict[str, object]:
    tcp = api.parse_listen(options.http) if options.http else None
    return api.get_status(socket_path=options.socket, tcp=tcp)


def cmd_status(options: argparse.Namespace) -> int:
    try:
        doc = _fetch_status(options)
    except (api.ApiError, ValueError) as exc:
        print(f"pykeepalivedctl: {exc}", file=sys.stderr)
        return 1
    if options.json:
        print(json.dumps(doc, indent=2))
    else:
        sys.stdout.write(render_table(doc))
    return 3 if doc.get("config_stale") else 0


def _load(path: str, options: argparse.Namespace) -> LoadResult:
    return load_file(
        path,
        config_id=options.config_id,
        interface_exists=None if options.no_interface_check else system_interface_exists,
    )


def cmd_diff(options: argparse.Namespace) -> int:
    current = options.current
    if current is None:
        try:
            current = str(_fetch_status(options)["config_file"])
        except (api.ApiError, ValueError, KeyError) as exc:
            print(f"pykeepalivedctl: {exc} (give --current FILE)", file=sys.stderr)
            return 1
    old = _load(current, options)
    new = _load(options.use_file, options)
    for d in new.diagnostics:
        print(d.format(), file=sys.stderr)
    if not new.runnable:
        print(f"{options.use_file}: fatal errors - a reload would be refused", file=sys.stderr)
        return new.diagnostics.exit_code()
    diff = diff_configs(old.config, new.config)
    if options.json:
        print(json.dumps({"current": current, "new": options.use_file, **diff.to_json()}, indent=2))
    else:
        print(f"--- {current} (running)")
        print(f"+++ {options.use_file}")
        for line in format_diff(diff):
            print(line)
    return 0 if diff.empty else 10


def cmd_reload(options: argparse.Namespace) -> int:
    pid = pidfile.read_pid(Path(options.pid))
    if pid is None or not pidfile.pid_alive(pid):
        print(f"pykeepalivedctl: no running daemon in {options.pid}", file=sys.stderr)
        return 1
    try:
        os.kill(pid, signal.SIGHUP)
    except OSError as exc:
        print(f"pykeepalivedctl: cannot signal pid {pid}: {exc}", file=sys.stderr)
        return 1
    print(f"reload requested (SIGHUP to pid {pid})")
    return 0


def cmd_genhash(options: argparse.Namespace) -> int:
    from pykeepalived.cli import genhash  # noqa: PLC0415

    return genhash.main(options.args)


def cmd_lab(options: argparse.Namespace) -> int:
    from pykeepalived.lab import demo  # noqa: PLC0415  (starts namespaces: only on demand)

    return demo.main(options.args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pykeepalivedctl", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="check a config file and list every problem")
    _add_config_args(check)
    check.set_defaults(func=cmd_check)
    dump = sub.add_parser("dump-config", help="print the parsed config (canonical text or JSON)")
    _add_config_args(dump)
    dump.add_argument("--json", action="store_true", help="print JSON instead of text")
    dump.add_argument("--show-secrets", action="store_true", help="do not mask auth_pass etc.")
    dump.set_defaults(func=cmd_dump_config)
    status = sub.add_parser("status", help="the running daemon's status")
    _add_api_args(status)
    status.add_argument("--json", action="store_true", help="print the JSON status document")
    status.set_defaults(func=cmd_status)
    diff = sub.add_parser("diff", help="what a reload to a new config file would change")
    _add_config_args(diff)
    _add_api_args(diff)
    diff.add_argument("--current", default=None, metavar="FILE", help="compare with FILE")
    diff.add_argument("--json", action="store_true", help="print JSON")
    diff.set_defaults(func=cmd_diff)
    reload = sub.add_parser("reload", help="ask the daemon to reload its config (SIGHUP)")
    reload.add_argument("-p", "--pid", default=pidfile.DEFAULT_MAIN, metavar="FILE")
    reload.set_defaults(func=cmd_reload)
    genhash = sub.add_parser("genhash", help="MD5 digest of an HTTP body (keepalived genhash)")
    genhash.add_argument("args", nargs=argparse.REMAINDER)
    genhash.set_defaults(func=cmd_genhash)
    lab = sub.add_parser("lab", help="the lab demo: the seed config on two directors (root)")
    lab.add_argument("args", nargs=argparse.REMAINDER)
    lab.set_defaults(func=cmd_lab)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    # everything after these is the sub-tool's own command line
    if args[:1] == ["genhash"]:
        return cmd_genhash(argparse.Namespace(args=args[1:]))
    if args[:1] == ["lab"]:
        return cmd_lab(argparse.Namespace(args=args[1:]))
    options = build_parser().parse_args(args)
    code: int = options.func(options)
    return code


if __name__ == "__main__":
    sys.exit(main())
