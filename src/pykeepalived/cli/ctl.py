"""``pykeepalivedctl``: operator commands (check, dump-config, ...)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from pykeepalived.config.errors import Severity
from pykeepalived.config.jsonview import mask_secrets, to_jsonable
from pykeepalived.config.loader import (
    DEFAULT_CONFIG_FILE,
    load_file,
    render_config,
    system_interface_exists,
)


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
    return p


def main(argv: Sequence[str] | None = None) -> int:
    options = build_parser().parse_args(argv)
    code: int = options.func(options)
    return code


if __name__ == "__main__":
    sys.exit(main())
