"""keepalived's dump files: SIGUSR1 data, SIGUSR2 stats, SIGRTMIN+2 JSON.

File names (keepalived 2.2.7): the VRRP process writes ``keepalived.data``, ``keepalived.stats``
and ``keepalived.json``, the checker process ``keepalived_check.data``, the parent
``keepalived_parent.data``, all in ``$TMPDIR`` or ``/tmp``. ``state_dump_file`` moves the data
dumps: its directory and its name without the extension replace ``/tmp`` and ``keepalived``.

Renderings are pure functions of normalized status (`control.status`); `write_atomic` writes a
temporary file and renames it, as keepalived does for its JSON dump.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pykeepalived.control.status import KEEPALIVED_STATE_NUMBERS

log = logging.getLogger(__name__)

DATA_SUFFIX = {"vrrp": "", "checkers": "_check", "parent": "_parent"}


def dump_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("TMPDIR") or "/tmp")


def data_dump_path(
    process: str, *, state_dump_file: str | None = None, env: Mapping[str, str] | None = None
) -> Path:
    """Where ``process`` (vrrp, checkers or parent) writes its SIGUSR1 dump."""
    suffix = DATA_SUFFIX.get(process, f"_{process}")
    if state_dump_file:
        base = Path(state_dump_file)
        stem = base.stem if base.suffix else base.name
        return base.with_name(f"{stem}{suffix}{base.suffix or '.data'}")
    return dump_dir(env) / f"keepalived{suffix}.data"


def stats_dump_path(env: Mapping[str, str] | None = None) -> Path:
    return dump_dir(env) / "keepalived.stats"


def json_dump_path(env: Mapping[str, str] | None = None) -> Path:
    return dump_dir(env) / "keepalived.json"


def write_atomic(path: Path, text: str) -> bool:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text)
        tmp.replace(path)
    except OSError as exc:
        log.error("cannot write %s: %s", path, exc)
        return False
    return True


# ---- renderings ---------------------------------------------------------------------------


def render_stats(instances: Sequence[Mapping[str, Any]]) -> str:
    """SIGUSR2's text, laid out as keepalived's ``vrrp_print_stats()``."""
    out: list[str] = []
    for inst in instances:
        s = inst.get("stats", {})

        def n(key: str, stats: Mapping[str, Any] = s) -> int:
            return int(stats.get(key, 0))

        out += [
            f"VRRP Instance: {inst['name']}",
            "  Advertisements:",
            f"    Received: {n('advert_rcvd')}",
            f"    Sent: {n('advert_sent')}",
            f"  Became master: {n('become_master')}",
            f"  Released master: {n('release_master')}",
            "  Packet Errors:",
            f"    Length: {n('packet_len_err')}",
            f"    TTL: {n('ip_ttl_err')}",
            f"    Invalid Type: {n('invalid_type_rcvd')}",
            f"    Advertisement Interval: {n('advert_interval_err')}",
            f"    Address List: {n('addr_list_err')}",
            "  Authentication Errors:",
            f"    Invalid Type: {n('invalid_authtype')}",
            f"    Type Mismatch: {n('authtype_mismatch')}",
            f"    Failure: {n('auth_failure')}",
            "  Priority Zero:",
            f"    Received: {n('pri_zero_rcvd')}",
            f"    Sent: {n('pri_zero_sent')}",
        ]
    return "\n".join(out) + ("\n" if out else "")


def render_json(instances: Sequence[Mapping[str, Any]]) -> str:
    """SIGRTMIN+2's dump: keepalived's v1 JSON, an array of ``{"data", "stats"}`` with the
    state as a number (0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT)."""
    doc = []
    for inst in instances:
        data = {
            "iname": inst["name"],
            "ifp_ifname": inst.get("interface"),
            "vrid": inst.get("vrid"),
            "version": inst.get("version"),
            "base_priority": inst.get("priority"),
            "effective_priority": inst.get("effective_priority"),
            "master_priority": inst.get("master_priority"),
            "last_transition": inst.get("last_transition"),
            "state": KEEPALIVED_STATE_NUMBERS.get(inst.get("state", "INIT"), 0),
            "wantstate": KEEPALIVED_STATE_NUMBERS.get(str(inst.get("want_state")), 0),
            "vipset": bool(inst.get("vips_set")),
            "vips": list(inst.get("vips", ())),
        }
        stats = {k: int(v) for k, v in inst.get("stats", {}).items()}
        doc.append({"data": data, "stats": stats})
    return json.dumps(doc)


def render_data(title: str, snapshot: Mapping[str, Any]) -> str:
    """SIGUSR1's text: a readable dump of one process's status snapshot."""
    lines = [f"------< {title} >------", ""]
    for key in ("worker", "pid", "config_file", "config_stale", "config_error"):
        if key in snapshot:
            lines.append(f" {key} = {snapshot[key]}")
    lines.append("")
    lines.append(json.dumps(snapshot.get("services", {}), indent=2, default=str))
    return "\n".join(lines) + "\n"
