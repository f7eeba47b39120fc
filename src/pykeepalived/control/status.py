"""The one status document: built here, served by the API, printed by ``pykeepalivedctl
status``, rendered as metrics and written by the dumps, with the same fields everywhere.

Input: what the supervisor knows (`DaemonInfo`) and the snapshot each worker sent
(``{"worker", "pid", "config_stale", "config_error", "services": {name: Service.status()}}``).
Output (``SCHEMA_VERSION`` 1)::

    {"schema": 1, "pid", "version", "config_file", "config_stale", "config_error",
     "started_at", "last_reload": {"at", "ok", "error"} | None,
     "workers": [{"name", "pid", "alive", "responding", "restarts", "config_stale"}],
     "vrrp": {"instances": [INSTANCE...], "unknown_vrids", "undecodable"},
     "virtual_servers": [VS...], "checkers": {...}, "alerts": {"sent", "failed", ...}}

    INSTANCE = {"name", "state", "want_state", "priority", "effective_priority", "why",
                "interface", "vrid", "family", "version", "vips", "vips_set",
                "master_address", "master_priority", "last_transition", "faults", "stats"}
    VS = {"service", "quorum_up", "quorum", "live_weight", "sorry_server",
          "real_servers": [{"address", "health", "weight", "lvs_weight", "in_dataplane",
                            "failed_checkers", "checkers": [{"name", "up", "has_run"}]}]}

Pure functions only; services may leave fields out (fakes, older workers) and get defaults.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 1

KEEPALIVED_STATE_NUMBERS = {"INIT": 0, "BACKUP": 1, "MASTER": 2, "FAULT": 3}
"""keepalived's numbering of VRRP states in its JSON dump and SNMP (vrrp.h)."""


@dataclass(frozen=True)
class WorkerInfo:
    """What the supervisor knows of one worker process."""

    name: str
    pid: int | None
    alive: bool
    restarts: int = 0
    responding: bool = True


@dataclass(frozen=True)
class DaemonInfo:
    """What the supervisor itself knows."""

    pid: int
    version: str
    config_file: str
    started_at: float
    config_stale: bool = False
    config_error: str | None = None
    last_reload_at: float | None = None
    last_reload_ok: bool | None = None
    reloads_ok: int = 0
    reloads_refused: int = 0
    workers: tuple[WorkerInfo, ...] = field(default=())


def _int(value: Any, default: int = 0) -> int:
    return (
        int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default
    )


def normalize_instance(raw: Mapping[str, Any]) -> dict[str, Any]:
    """One VRRP instance with every documented field present."""
    stats = raw.get("stats")
    return {
        "name": str(raw.get("name", "")),
        "state": str(raw.get("state", "INIT")),
        "want_state": raw.get("want_state"),
        "priority": _int(raw.get("priority")),
        "effective_priority": _int(raw.get("effective_priority", raw.get("priority"))),
        "why": raw.get("why", raw.get("last_transition_reason")),
        "interface": raw.get("interface"),
        "vrid": _int(raw.get("vrid")),
        "family": raw.get("family"),
        "version": _int(raw.get("version"), 2),
        "vips": [str(v) for v in raw.get("vips", ())],
        "vips_set": bool(raw.get("vips_set", False)),
        "master_address": raw.get("master_address"),
        "master_priority": raw.get("master_priority"),
        "last_transition": raw.get("last_transition"),
        "faults": list(raw.get("faults", ())),
        "stats": {str(k): _int(v) for k, v in stats.items()} if isinstance(stats, dict) else {},
    }


def _weight_text(rs: Mapping[str, Any]) -> str:
    """The weight in the data plane, with the configured one when they differ (inhibited)."""
    lvs = rs.get("lvs_weight")
    if lvs is None:
        return f"- ({rs['weight']})"
    return str(lvs) if lvs == rs["weight"] else f"{lvs} ({rs['weight']})"


def normalize_virtual_server(raw: Mapping[str, Any]) -> dict[str, Any]:
    """One virtual server with its real servers' health (``up``/``down``) and weights."""
    real_servers = []
    for rs in raw.get("real_servers", ()):
        alive = bool(rs.get("alive", rs.get("health") == "up"))
        real_servers.append(
            {
                "address": str(rs.get("dest", rs.get("address", ""))),
                "health": "up" if alive else "down",
                "weight": _int(rs.get("weight")),
                "lvs_weight": None if rs.get("lvs_weight") is None else _int(rs["lvs_weight"]),
                "in_dataplane": bool(rs.get("in_dataplane", False)),
                "failed_checkers": _int(rs.get("failed_checkers")),
                "checkers": [
                    {
                        "name": str(c.get("name", "")),
                        "up": bool(c.get("up", False)),
                        "has_run": bool(c.get("has_run", False)),
                    }
                    for c in rs.get("checkers", ())
                ],
            }
        )
    return {
        "service": str(raw.get("service", "")),
        "quorum_up": bool(raw.get("quorum_up", True)),
        "quorum": _int(raw.get("quorum"), 1),
        "live_weight": _int(raw.get("live_weight")),
        "sorry_server": raw.get("sorry_server"),
        "real_servers": real_servers,
    }


def _sum_dicts(dicts: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for d in dicts:
        for key, value in d.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                total[key] = total.get(key, 0) + int(value)
    return total


def build_status(
    daemon: DaemonInfo, snapshots: Mapping[str, Mapping[str, Any] | None]
) -> dict[str, Any]:
    """Merge the workers' snapshots (None: the worker did not answer) into the document."""
    instances: list[dict[str, Any]] = []
    virtual_servers: list[dict[str, Any]] = []
    unknown_vrids = 0
    undecodable = 0
    checker_stats: list[Mapping[str, Any]] = []
    checker_events: list[Mapping[str, Any]] = []
    alerts: list[Mapping[str, Any]] = []
    stale_workers: dict[str, bool] = {}
    errors: list[str] = []
    for worker, snap in snapshots.items():
        if snap is None:
            continue
        stale_workers[worker] = bool(snap.get("config_stale", False))
        if snap.get("config_error"):
            errors.append(str(snap["config_error"]))
        services = snap.get("services", {})
        vrrp = services.get("vrrp")
        if isinstance(vrrp, Mapping):
            instances += [normalize_instance(i) for i in vrrp.get("instances", ())]
            unknown_vrids += _int(vrrp.get("unknown_vrids"))
            undecodable += _int(vrrp.get("undecodable"))
        checkers = services.get("checkers")
        if isinstance(checkers, Mapping):
            virtual_servers += [
                normalize_virtual_server(v) for v in checkers.get("virtual_servers", ())
            ]
            if isinstance(checkers.get("stats"), Mapping):
                checker_stats.append(checkers["stats"])
        if isinstance(snap.get("checker_events"), Mapping):
            checker_events.append(snap["checker_events"])
        if isinstance(snap.get("alerts"), Mapping):
            alerts.append(snap["alerts"])
    config_stale = daemon.config_stale or any(stale_workers.values())
    config_error = daemon.config_error or (errors[0] if errors else None)
    last_reload = None
    if daemon.last_reload_at is not None:
        last_reload = {
            "at": daemon.last_reload_at,
            "ok": daemon.last_reload_ok,
            "error": daemon.config_error,
        }
    return {
        "schema": SCHEMA_VERSION,
        "pid": daemon.pid,
        "version": daemon.version,
        "config_file": daemon.config_file,
        "config_stale": config_stale,
        "config_error": config_error,
        "started_at": daemon.started_at,
        "last_reload": last_reload,
        "reloads": {"ok": daemon.reloads_ok, "refused": daemon.reloads_refused},
        "workers": [
            {
                "name": w.name,
                "pid": w.pid,
                "alive": w.alive,
                "responding": w.responding and snapshots.get(w.name) is not None,
                "restarts": w.restarts,
                "config_stale": stale_workers.get(w.name, False),
            }
            for w in daemon.workers
        ],
        "vrrp": {
            "instances": instances,
            "unknown_vrids": unknown_vrids,
            "undecodable": undecodable,
        },
        "virtual_servers": virtual_servers,
        "checkers": {
            "stats": _sum_dicts(checker_stats),
            "transitions": _sum_dicts(checker_events),
        },
        "alerts": _sum_dicts(alerts),
    }


# ---- the readable table -------------------------------------------------------------------


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*headers).rstrip()] + [fmt.format(*r).rstrip() for r in rows]


def render_table(status: Mapping[str, Any]) -> str:
    """The document for people: daemon line, instances, virtual/real servers."""
    lines: list[str] = []
    stale = " CONFIG STALE (last reload refused)" if status.get("config_stale") else ""
    lines.append(f"pykeepalived pid {status.get('pid')} config {status.get('config_file')}{stale}")
    if status.get("config_error"):
        lines.append(f"  error: {status['config_error']}")
    workers = status.get("workers", [])
    if workers:
        lines.append(
            "workers: "
            + ", ".join(
                f"{w['name']} pid {w['pid']}"
                + ("" if w.get("alive") else " DEAD")
                + ("" if w.get("responding", True) else " not responding")
                + (f" restarts {w['restarts']}" if w.get("restarts") else "")
                for w in workers
            )
        )
    instances = status.get("vrrp", {}).get("instances", [])
    if instances:
        lines.append("")
        rows = [
            [
                i["name"],
                i["state"],
                str(i["vrid"]),
                str(i.get("interface") or "-"),
                f"{i['effective_priority']}/{i['priority']}",
                ",".join(i["vips"]) or "-",
                str(i.get("why") or "-"),
            ]
            for i in instances
        ]
        lines += _table(["INSTANCE", "STATE", "VRID", "IF", "PRIO", "VIPS", "WHY"], rows)
    for vs in status.get("virtual_servers", []):
        lines.append("")
        quorum = "quorum up" if vs["quorum_up"] else "QUORUM DOWN"
        lines.append(f"virtual server {vs['service']}  {quorum}  live weight {vs['live_weight']}")
        rows = [
            [
                rs["address"],
                rs["health"].upper(),
                _weight_text(rs),
                "yes" if rs["in_dataplane"] else "no",
                ", ".join(f"{c['name']}={'up' if c['up'] else 'down'}" for c in rs["checkers"])
                or "-",
            ]
            for rs in vs["real_servers"]
        ]
        if rows:
            lines += [
                "  " + line
                for line in _table(["REAL SERVER", "HEALTH", "WEIGHT", "IN LVS", "CHECKERS"], rows)
            ]
    if not instances and not status.get("virtual_servers"):
        lines.append("(no VRRP instance and no virtual server running)")
    return "\n".join(lines) + "\n"
