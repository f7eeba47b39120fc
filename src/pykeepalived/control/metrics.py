"""Prometheus text exposition (format 0.0.4) of the status document, served at ``/metrics``.

Names follow keepalived's counters (``vrrp_stats``, shown by SIGUSR2 and its JSON dump) and the
RFC 8347 VRRP YANG statistics; labels identify the instance (``instance``), virtual server
(``vs``) and real server (``rs``):

- ``pykeepalived_vrrp_state{instance,interface,vrid,family}``: keepalived's numbers
  (0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT); ``pykeepalived_vrrp_priority`` and
  ``pykeepalived_vrrp_effective_priority``;
- ``pykeepalived_vrrp_master_transitions_total`` (RFC 8347 master-transitions = keepalived
  ``become_master``), ``pykeepalived_vrrp_release_master_total`` and
  ``pykeepalived_vrrp_transitions_total`` (into and out of MASTER);
- ``pykeepalived_vrrp_adverts_received_total`` / ``_sent_total``,
  ``pykeepalived_vrrp_priority_zero_received_total`` / ``_sent_total``;
- ``pykeepalived_vrrp_drops_total{instance,reason}`` with keepalived's counter names as
  reasons (``ip_ttl_err``, ``auth_failure``, ``packet_len_err``, ...);
- ``pykeepalived_vs_quorum_up``, ``pykeepalived_vs_live_weight``, ``pykeepalived_rs_up``,
  ``pykeepalived_rs_weight``, ``pykeepalived_rs_in_dataplane``, ``pykeepalived_checker_up``;
- ``pykeepalived_checker_transitions_total{kind}`` (checker_up, checker_down, rs_up, rs_down,
  quorum_up, quorum_down, ...), checker probe counters, SMTP alert counters, daemon health
  (``pykeepalived_config_stale``, ``pykeepalived_worker_up``, ``..._worker_restarts_total``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pykeepalived.control.status import KEEPALIVED_STATE_NUMBERS

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

DROP_COUNTERS = (
    "packet_len_err",
    "advert_interval_err",
    "ip_ttl_err",
    "invalid_type_rcvd",
    "addr_list_err",
    "invalid_authtype",
    "authtype_mismatch",
    "auth_failure",
    "chk_err",
    "vers_err",
    "vrid_err",
)
"""keepalived's per-instance error counters, exported as ``reason`` of the drops counter."""


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _fmt_value(value: float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


@dataclass
class Family:
    """One metric family: name, type, help and samples (labels, value)."""

    name: str
    kind: str
    help: str
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)

    def add(self, value: float, **labels: object) -> None:
        self.samples.append(({k: str(v) for k, v in labels.items() if v is not None}, value))

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]
        for labels, value in self.samples:
            label_text = ",".join(f'{k}="{escape_label(v)}"' for k, v in labels.items())
            name = f"{self.name}{{{label_text}}}" if label_text else self.name
            lines.append(f"{name} {_fmt_value(value)}")
        return lines


def _stat(stats: Mapping[str, Any], key: str) -> int:
    value = stats.get(key, 0)
    return int(value) if isinstance(value, (int, float)) else 0


def _vrrp_families(instances: Iterable[Mapping[str, Any]]) -> list[Family]:
    state = Family(
        "pykeepalived_vrrp_state",
        "gauge",
        "VRRP instance state (0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT as keepalived numbers them)",
    )
    prio = Family("pykeepalived_vrrp_priority", "gauge", "Configured priority")
    eprio = Family(
        "pykeepalived_vrrp_effective_priority", "gauge", "Priority after tracking weights"
    )
    master_tr = Family(
        "pykeepalived_vrrp_master_transitions_total",
        "counter",
        "Transitions to MASTER (RFC 8347 master-transitions, keepalived become_master)",
    )
    release = Family(
        "pykeepalived_vrrp_release_master_total",
        "counter",
        "Transitions out of MASTER (keepalived release_master)",
    )
    trans = Family(
        "pykeepalived_vrrp_transitions_total", "counter", "Transitions into or out of MASTER"
    )
    rcvd = Family("pykeepalived_vrrp_adverts_received_total", "counter", "Advertisements received")
    sent = Family("pykeepalived_vrrp_adverts_sent_total", "counter", "Advertisements sent")
    pz_rcvd = Family(
        "pykeepalived_vrrp_priority_zero_received_total",
        "counter",
        "Priority 0 advertisements received",
    )
    pz_sent = Family(
        "pykeepalived_vrrp_priority_zero_sent_total", "counter", "Priority 0 advertisements sent"
    )
    drops = Family(
        "pykeepalived_vrrp_drops_total",
        "counter",
        "Received packets refused, by keepalived counter name",
    )
    vips = Family("pykeepalived_vrrp_vips_installed", "gauge", "1 while the VIPs are installed")
    for inst in instances:
        name = inst["name"]
        stats = inst.get("stats", {})
        state.add(
            KEEPALIVED_STATE_NUMBERS.get(inst["state"], 0),
            instance=name,
            interface=inst.get("interface") or "",
            vrid=inst.get("vrid"),
            family=inst.get("family") or "",
        )
        prio.add(inst["priority"], instance=name)
        eprio.add(inst["effective_priority"], instance=name)
        become, released = _stat(stats, "become_master"), _stat(stats, "release_master")
        master_tr.add(become, instance=name)
        release.add(released, instance=name)
        trans.add(become + released, instance=name)
        rcvd.add(_stat(stats, "advert_rcvd"), instance=name)
        sent.add(_stat(stats, "advert_sent"), instance=name)
        pz_rcvd.add(_stat(stats, "pri_zero_rcvd"), instance=name)
        pz_sent.add(_stat(stats, "pri_zero_sent"), instance=name)
        for reason in DROP_COUNTERS:
            drops.add(_stat(stats, reason), instance=name, reason=reason)
        vips.add(bool(inst.get("vips_set")), instance=name)
    return [
        state,
        prio,
        eprio,
        master_tr,
        release,
        trans,
        rcvd,
        sent,
        pz_rcvd,
        pz_sent,
        drops,
        vips,
    ]


def _lvs_families(virtual_servers: Iterable[Mapping[str, Any]]) -> list[Family]:
    quorum = Family("pykeepalived_vs_quorum_up", "gauge", "1 while the virtual server has quorum")
    live = Family("pykeepalived_vs_live_weight", "gauge", "Sum of the alive real servers' weights")
    rs_up = Family("pykeepalived_rs_up", "gauge", "1 while the real server is healthy")
    rs_w = Family("pykeepalived_rs_weight", "gauge", "Current weight of the real server")
    rs_dp = Family(
        "pykeepalived_rs_in_dataplane", "gauge", "1 while the real server is in IPVS/nftables"
    )
    chk = Family("pykeepalived_checker_up", "gauge", "1 while the checker reports success")
    for vs in virtual_servers:
        svc = vs["service"]
        quorum.add(bool(vs["quorum_up"]), vs=svc)
        live.add(vs["live_weight"], vs=svc)
        for rs in vs["real_servers"]:
            addr = rs["address"]
            rs_up.add(rs["health"] == "up", vs=svc, rs=addr)
            rs_w.add(rs["weight"], vs=svc, rs=addr)
            rs_dp.add(bool(rs["in_dataplane"]), vs=svc, rs=addr)
            for c in rs["checkers"]:
                chk.add(bool(c["up"]), vs=svc, rs=addr, checker=c["name"])
    return [quorum, live, rs_up, rs_w, rs_dp, chk]


def render_metrics(status: Mapping[str, Any]) -> str:
    """The exposition text for one status document (see `control.status.build_status`)."""
    families: list[Family] = []
    up = Family("pykeepalived_up", "gauge", "1 while the daemon answers")
    up.add(1)
    stale = Family(
        "pykeepalived_config_stale", "gauge", "1 when the last reload was refused (old config runs)"
    )
    stale.add(bool(status.get("config_stale")))
    reloads = Family("pykeepalived_config_reloads_total", "counter", "Reload requests by result")
    for result, count in status.get("reloads", {}).items():
        reloads.add(count, result=result)
    w_up = Family("pykeepalived_worker_up", "gauge", "1 while the worker process runs")
    w_restarts = Family(
        "pykeepalived_worker_restarts_total", "counter", "Times the worker was restarted"
    )
    for w in status.get("workers", []):
        w_up.add(bool(w.get("alive")), worker=w["name"])
        w_restarts.add(w.get("restarts", 0), worker=w["name"])
    families += [up, stale, reloads, w_up, w_restarts]

    vrrp = status.get("vrrp", {})
    families += _vrrp_families(vrrp.get("instances", []))
    unknown = Family(
        "pykeepalived_vrrp_unknown_vrid_total", "counter", "Adverts for a VRID nobody runs"
    )
    unknown.add(vrrp.get("unknown_vrids", 0))
    undecodable = Family(
        "pykeepalived_vrrp_undecodable_total", "counter", "Packets that did not decode as VRRP"
    )
    undecodable.add(vrrp.get("undecodable", 0))
    families += [unknown, undecodable]

    families += _lvs_families(status.get("virtual_servers", []))
    checkers = status.get("checkers", {})
    transitions = Family(
        "pykeepalived_checker_transitions_total",
        "counter",
        "Checker, real server and quorum transitions by kind",
    )
    for kind, count in sorted(checkers.get("transitions", {}).items()):
        transitions.add(count, kind=kind)
    probes = Family("pykeepalived_checker_probes_total", "counter", "Health check probes run")
    probes.add(checkers.get("stats", {}).get("probes_run", 0))
    probe_errors = Family(
        "pykeepalived_checker_probe_errors_total", "counter", "Probes that raised an error"
    )
    probe_errors.add(checkers.get("stats", {}).get("probe_errors", 0))
    families += [transitions, probes, probe_errors]

    alerts = status.get("alerts", {})
    smtp = Family("pykeepalived_smtp_alerts_total", "counter", "SMTP alerts by result")
    for result in ("sent", "failed", "dropped"):
        smtp.add(alerts.get(result, 0), result=result)
    families.append(smtp)

    lines: list[str] = []
    for fam in families:
        lines += fam.render()
    return "\n".join(lines) + "\n"
