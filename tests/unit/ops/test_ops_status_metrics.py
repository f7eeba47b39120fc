"""The status document, its table, the metrics exposition and keepalived's dump formats."""

from __future__ import annotations

import json
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pykeepalived.control.metrics import escape_label, render_metrics
from pykeepalived.control.status import DaemonInfo, WorkerInfo, build_status, render_table
from pykeepalived.daemon import dumps

pytestmark = pytest.mark.unit


def vrrp_snapshot(*, stale: bool = False) -> dict[str, Any]:
    return {
        "worker": "vrrp",
        "config_stale": stale,
        "config_error": "(k.conf: Line 3) bad" if stale else None,
        "services": {
            "vrrp": {
                "instances": [
                    {
                        "name": "VI_1",
                        "interface": "eth0",
                        "family": "IPv4",
                        "version": 3,
                        "vrid": 51,
                        "state": "MASTER",
                        "want_state": "MASTER",
                        "priority": 150,
                        "effective_priority": 140,
                        "vips": ["192.0.2.10"],
                        "vips_set": True,
                        "last_transition_reason": "higher priority than the master",
                        "stats": {
                            "advert_rcvd": 7,
                            "advert_sent": 40,
                            "become_master": 2,
                            "release_master": 1,
                            "ip_ttl_err": 3,
                            "auth_failure": 1,
                        },
                    },
                    {"name": 'VI_"2"', "state": "BACKUP", "priority": 100, "vrid": 52},
                ],
                "unknown_vrids": 4,
                "undecodable": 1,
            }
        },
        "alerts": {"sent": 2, "failed": 1, "dropped": 0, "queued": 0},
    }


def checker_snapshot() -> dict[str, Any]:
    return {
        "worker": "checkers",
        "config_stale": False,
        "services": {
            "checkers": {
                "virtual_servers": [
                    {
                        "service": "[192.0.2.1]:tcp:80",
                        "quorum_up": True,
                        "quorum": 1,
                        "live_weight": 3,
                        "real_servers": [
                            {
                                "dest": "[10.0.0.1]:tcp:80",
                                "alive": True,
                                "in_dataplane": True,
                                "weight": 3,
                                "failed_checkers": 0,
                                "checkers": [{"name": "c0", "up": True, "has_run": True}],
                            },
                            {
                                "dest": "[10.0.0.2]:tcp:80",
                                "alive": False,
                                "in_dataplane": False,
                                "weight": 1,
                                "failed_checkers": 1,
                                "checkers": [{"name": "c1", "up": False, "has_run": True}],
                            },
                        ],
                    }
                ],
                "stats": {"probes_run": 10, "probe_errors": 2},
            }
        },
        "checker_events": {"rs_down": 1, "checker_down": 1},
    }


def daemon(**kw: Any) -> DaemonInfo:
    return DaemonInfo(
        pid=42,
        version="0.1.0",
        config_file="/etc/keepalived/keepalived.conf",
        started_at=1.0,
        workers=(WorkerInfo("vrrp", 43, True), WorkerInfo("checkers", 44, True, restarts=2)),
        reloads_ok=1,
        **kw,
    )


def test_build_status_merges_workers_with_documented_fields() -> None:
    doc = build_status(daemon(), {"vrrp": vrrp_snapshot(), "checkers": checker_snapshot()})
    assert doc["config_stale"] is False
    vi1 = doc["vrrp"]["instances"][0]
    assert vi1["name"] == "VI_1" and vi1["state"] == "MASTER"
    assert vi1["why"] == "higher priority than the master"
    assert (vi1["priority"], vi1["effective_priority"]) == (150, 140)
    vi2 = doc["vrrp"]["instances"][1]
    assert vi2["effective_priority"] == 100 and vi2["vips"] == [] and vi2["stats"] == {}
    (vs,) = doc["virtual_servers"]
    assert [(r["address"], r["health"], r["weight"]) for r in vs["real_servers"]] == [
        ("[10.0.0.1]:tcp:80", "up", 3),
        ("[10.0.0.2]:tcp:80", "down", 1),
    ]
    assert doc["workers"][1] == {
        "name": "checkers",
        "pid": 44,
        "alive": True,
        "responding": True,
        "restarts": 2,
        "config_stale": False,
    }
    json.dumps(doc)


def test_stale_worker_or_refused_reload_makes_the_document_stale() -> None:
    doc = build_status(daemon(), {"vrrp": vrrp_snapshot(stale=True), "checkers": None})
    assert doc["config_stale"] is True
    assert doc["config_error"] == "(k.conf: Line 3) bad"
    assert doc["workers"][1]["responding"] is False
    refused = build_status(
        daemon(config_stale=True, config_error="fatal", last_reload_at=5.0, last_reload_ok=False),
        {},
    )
    assert refused["config_stale"] is True
    assert refused["last_reload"] == {"at": 5.0, "ok": False, "error": "fatal"}


def test_table_lists_instances_and_real_servers() -> None:
    doc = build_status(
        daemon(config_stale=True), {"vrrp": vrrp_snapshot(), "checkers": checker_snapshot()}
    )
    text = render_table(doc)
    assert "CONFIG STALE" in text
    assert any(line.split()[:3] == ["VI_1", "MASTER", "51"] for line in text.splitlines())
    assert "[10.0.0.2]:tcp:80  DOWN" in text
    assert "restarts 2" in text


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_parse_and_carry_keepalived_counters() -> None:
    doc = build_status(daemon(), {"vrrp": vrrp_snapshot(), "checkers": checker_snapshot()})
    got = samples(render_metrics(doc))
    state_labels = (("family", "IPv4"), ("instance", "VI_1"), ("interface", "eth0"), ("vrid", "51"))
    assert got[("pykeepalived_vrrp_state", state_labels)] == 2
    assert got[("pykeepalived_vrrp_master_transitions_total", (("instance", "VI_1"),))] == 2
    assert got[("pykeepalived_vrrp_transitions_total", (("instance", "VI_1"),))] == 3
    assert got[("pykeepalived_vrrp_adverts_sent_total", (("instance", "VI_1"),))] == 40
    assert got[("pykeepalived_vrrp_adverts_received_total", (("instance", "VI_1"),))] == 7
    assert (
        got[("pykeepalived_vrrp_drops_total", (("instance", "VI_1"), ("reason", "ip_ttl_err")))]
        == 3
    )
    assert got[("pykeepalived_vrrp_effective_priority", (("instance", "VI_1"),))] == 140
    assert (
        got[
            (
                "pykeepalived_vrrp_state",
                (("family", ""), ("instance", 'VI_"2"'), ("interface", ""), ("vrid", "52")),
            )
        ]
        == 1
    )
    assert (
        got[("pykeepalived_rs_up", (("rs", "[10.0.0.2]:tcp:80"), ("vs", "[192.0.2.1]:tcp:80")))]
        == 0
    )
    assert (
        got[("pykeepalived_rs_weight", (("rs", "[10.0.0.1]:tcp:80"), ("vs", "[192.0.2.1]:tcp:80")))]
        == 3
    )
    assert got[("pykeepalived_checker_transitions_total", (("kind", "rs_down"),))] == 1
    assert got[("pykeepalived_smtp_alerts_total", (("result", "failed"),))] == 1
    assert got[("pykeepalived_worker_restarts_total", (("worker", "checkers"),))] == 2
    assert got[("pykeepalived_config_stale", ())] == 0
    assert got[("pykeepalived_vrrp_unknown_vrid_total", ())] == 4


def test_label_escaping() -> None:
    assert escape_label('a"b\\c\nd') == 'a\\"b\\\\c\\nd'


def test_keepalived_json_dump_uses_state_numbers() -> None:
    doc = build_status(daemon(), {"vrrp": vrrp_snapshot()})
    data = json.loads(dumps.render_json(doc["vrrp"]["instances"]))
    assert [d["data"]["state"] for d in data] == [2, 1]
    assert data[0]["data"]["iname"] == "VI_1"
    assert data[0]["stats"]["advert_sent"] == 40


def test_stats_dump_layout() -> None:
    doc = build_status(daemon(), {"vrrp": vrrp_snapshot()})
    text = dumps.render_stats(doc["vrrp"]["instances"][:1])
    assert text.splitlines()[:5] == [
        "VRRP Instance: VI_1",
        "  Advertisements:",
        "    Received: 7",
        "    Sent: 40",
        "  Became master: 2",
    ]
    assert "    TTL: 3" in text


def test_dump_paths() -> None:
    env = {"TMPDIR": "/var/tmp/x"}
    assert str(dumps.data_dump_path("vrrp", env=env)) == "/var/tmp/x/keepalived.data"
    assert str(dumps.data_dump_path("checkers", env={})) == "/tmp/keepalived_check.data"
    assert str(dumps.data_dump_path("parent", env={})) == "/tmp/keepalived_parent.data"
    assert (
        str(dumps.data_dump_path("checkers", state_dump_file="/run/ka/state.data"))
        == "/run/ka/state_check.data"
    )
    assert str(dumps.stats_dump_path({})) == "/tmp/keepalived.stats"
    assert str(dumps.json_dump_path(env)) == "/var/tmp/x/keepalived.json"
