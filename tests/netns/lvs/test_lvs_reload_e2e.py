"""A reload that changes one real server's weight: zero VRRP transitions, zero changes to the
other destinations (issue 7). The whole daemon (VRRP + checkers + nftables data plane) runs in
the director of the LVS lab; the test reads its status API and the kernel's nft table.

client (192.0.2.50-57) -- director (VIP 192.0.2.100; VRRP VIP 192.0.2.200) -- rs1..rs3.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pykeepalived.lab.topology import run_in

from .lvs_lab import Lab

pytestmark = pytest.mark.netns

CONF = """
global_defs {
  router_id reload-e2e
}
vrrp_instance VI_R {
  state MASTER
  interface eth0
  virtual_router_id 77
  priority 150
  advert_int 1
  virtual_ipaddress {
    192.0.2.200/32
  }
}
virtual_server 192.0.2.100 80 {
  delay_loop 1
  lb_algo wrr
  lb_kind NAT
  protocol TCP
%s}
"""
RS = """  real_server 198.51.100.%d 8080 {
    weight %d
    TCP_CHECK {
      connect_timeout 1
    }
  }
"""


def _conf(weights: dict[int, int]) -> str:
    return CONF % "".join(RS % (host, w) for host, w in weights.items())


def _status(lab: Lab, sock: Path) -> dict[str, Any]:
    ctl = str(Path(sys.executable).with_name("pykeepalivedctl"))
    out = run_in(lab.director, [ctl, "status", "--json", "--socket", str(sock)], check=False)
    try:
        value: dict[str, Any] = json.loads(out.stdout)
    except json.JSONDecodeError:
        return {}
    return value


def _wait(what: str, probe: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


METRICS_PORT = 9661
SCRAPE = (
    "import sys, urllib.request; "
    "sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())"
)


def _metrics(lab: Lab) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """/metrics of the daemon (over --http-listen), parsed with prometheus_client's parser."""
    url = f"http://127.0.0.1:{METRICS_PORT}/metrics"
    text = run_in(lab.director, [sys.executable, "-c", SCRAPE, url]).stdout
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _instance(status: dict[str, Any]) -> dict[str, Any]:
    instances = status.get("vrrp", {}).get("instances", [])
    return instances[0] if instances else {}


def _weights(status: dict[str, Any]) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for vs in status.get("virtual_servers", []):
        for rs in vs["real_servers"]:
            out[rs["address"]] = rs["lvs_weight"]
    return out


def _slots(lab: Lab) -> dict[str, int]:
    """How many slots of the service's weighted nft map point at each real server."""
    text = run_in(lab.director, ["nft", "list", "table", "inet", "pykeepalived"]).stdout
    slots: dict[str, int] = {}
    for lo, hi, target in re.findall(r"(\d+)(?:-(\d+))? : (198\.51\.100\.\d+) \. 8080", text):
        slots[target] = slots.get(target, 0) + int(hi or lo) - int(lo) + 1
    return dict(sorted(slots.items()))


def test_reload_changing_one_weight_touches_nothing_else(lab: Lab) -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        conf, sock = tmp / "keepalived.conf", tmp / "k.sock"
        conf.write_text(_conf({11: 1, 12: 1, 13: 1}))
        log_path = tmp / "daemon.log"
        log = log_path.open("w")
        daemon = lab.topo.popen(
            "dir",
            [
                str(Path(sys.executable).with_name("pykeepalived")), "-n", "-l", "-G", "-D",
                "-f", str(conf), "-p", str(tmp / "k.pid"), "--control-socket", str(sock),
                "--lvs-backend", "nftables", "--http-listen", f"127.0.0.1:{METRICS_PORT}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            _wait(
                "VI_R MASTER and three live real servers",
                lambda: (
                    _instance(s := _status(lab, sock)).get("state") == "MASTER"
                    and list(_weights(s).values()) == [1, 1, 1]
                ),
            )
            before = _status(lab, sock)
            metrics_before = _metrics(lab)
            slots_before = _slots(lab)
            log.flush()
            log_mark = log_path.stat().st_size

            conf.write_text(_conf({11: 3, 12: 1, 13: 1}))
            os.kill(daemon.pid, signal.SIGHUP)
            _wait(
                "the new weight in the data plane",
                lambda: _weights(_status(lab, sock)).get("[198.51.100.11]:tcp:8080") == 3,
            )
            time.sleep(2.5)  # two more adverts and checks: room for any late side effect
            after = _status(lab, sock)
            metrics_after = _metrics(lab)
            slots_after = _slots(lab)
            log.flush()
            tail = log_path.read_text()[log_mark:]
        finally:
            os.killpg(daemon.pid, signal.SIGTERM)
            try:
                daemon.wait(timeout=30)
            finally:
                log.close()

    inst_before, inst_after = _instance(before), _instance(after)
    # VRRP: still MASTER, no transition, same last transition, no "Entering" line
    assert inst_after["state"] == "MASTER"
    assert inst_after["stats"]["become_master"] == inst_before["stats"]["become_master"]
    assert inst_after["last_transition"] == inst_before["last_transition"]
    assert "Entering" not in tail, tail
    assert after["reloads"]["ok"] == before["reloads"]["ok"] + 1
    # the data plane: the one weight changed, the other destinations are what they were
    assert _weights(after) == {
        "[198.51.100.11]:tcp:8080": 3,
        "[198.51.100.12]:tcp:8080": 1,
        "[198.51.100.13]:tcp:8080": 1,
    }
    assert slots_before == {"198.51.100.11": 1, "198.51.100.12": 1, "198.51.100.13": 1}
    assert slots_after == {"198.51.100.11": 3, "198.51.100.12": 1, "198.51.100.13": 1}
    reconciled = re.findall(r"reconciled (\d+) ops", tail)
    assert reconciled == ["1"], tail[-3000:]

    # /metrics follows the real events: the reload counted, adverts sent, no new transition
    vi = (("instance", "VI_R"),)
    ok = (("result", "ok"),)
    reloads = "pykeepalived_config_reloads_total"
    assert metrics_after[(reloads, ok)] == metrics_before[(reloads, ok)] + 1
    sent = "pykeepalived_vrrp_adverts_sent_total"
    assert metrics_after[(sent, vi)] > metrics_before[(sent, vi)]
    master = "pykeepalived_vrrp_master_transitions_total"
    assert metrics_after[(master, vi)] == metrics_before[(master, vi)] == 1
    rs1 = (("rs", "[198.51.100.11]:tcp:8080"), ("vs", "[192.0.2.100]:tcp:80"))
    assert metrics_after[("pykeepalived_rs_weight", rs1)] == 3
