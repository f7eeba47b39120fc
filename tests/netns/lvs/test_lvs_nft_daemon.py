"""The nftables data plane with real traffic: persistence with real timeouts, masquerade of a
fwmark service, and the whole daemon (checkers + data plane) following quorum with hysteresis:
quorum lost -> the sorry server gets the connections; regained -> back to the real servers.

Same lab as test_lvs_nft_traffic: client (192.0.2.50-57) -- director (VIP 192.0.2.100) --
rs1..rs3 (198.51.100.11-13:8080).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter

import pytest

from pykeepalived.config.loader import load_text
from pykeepalived.lab.topology import run_in
from pykeepalived.lvs.model import desired_state
from pykeepalived.lvs.nft import NftBackend
from pykeepalived.lvs.reconcile import Reconciler

from .lvs_lab import Lab, _conf, quorum_scenario

pytestmark = pytest.mark.netns

FWM_VIP = "192.0.2.101"

PEER_SERVER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(64)
print("ready", flush=True)
while True:
    c, peer = s.accept()
    try:
        c.sendall(peer[0].encode())
    finally:
        c.close()
"""


def _nft_json(netns: str, *args: str) -> dict[str, object]:
    out = run_in(netns, ["nft", "-j", *args]).stdout
    value: dict[str, object] = json.loads(out)
    return value


def _set_elements(netns: str, table: str, name: str) -> list[object]:
    doc = _nft_json(netns, "list", "set", "inet", table, name)
    items = doc.get("nftables", [])
    assert isinstance(items, list)
    for item in items:
        if isinstance(item, dict) and "set" in item:
            elems = item["set"].get("elem", [])
            return list(elems)
    return []


def test_persistence_remembers_clients_for_the_timeout_only(lab: Lab) -> None:
    weights = {"rs1": 1, "rs2": 1, "rs3": 1}
    conf = _conf("wrr", weights, "  persistence_timeout 3\n")
    config = load_text(conf, filename="p.conf").config.lvs
    backend = NftBackend(netns=lab.director, table="pkatest")
    rec = Reconciler(backend, flush_at_start=True)
    sources = [f"192.0.2.{i}" for i in range(50, 58)]
    try:
        rec.start(desired_state(config))
        per_client = lab.connect(10, sources)
        for src, counts in per_client.items():
            assert len(counts) == 1 and sum(counts.values()) == 10, (src, counts)
        sets = [f"s1p{k}" for k in (1, 2, 3)]
        remembered = sum(len(_set_elements(lab.director, "pkatest", s)) for s in sets)
        assert remembered == len(sources)  # one entry per client, in its server's set
        time.sleep(4.5)  # > persistence_timeout with no new connection
        assert all(_set_elements(lab.director, "pkatest", s) == [] for s in sets)
        # a weight change re-renders the rules but keeps what the sets remember
        per_client = lab.connect(5, sources)
        before = {src: next(iter(c)) for src, c in per_client.items()}
        changed = desired_state(
            load_text(
                _conf("wrr", {"rs1": 1, "rs2": 1, "rs3": 5}, "  persistence_timeout 3\n")
            ).config.lvs
        )
        assert rec.sync(changed).kernel_ops == 1
        after = {src: next(iter(c)) for src, c in lab.connect(5, sources).items()}
        assert after == before
    finally:
        rec.stop()
        backend.close()


def _peer_servers(lab: Lab, port: int) -> list[subprocess.Popen[str]]:
    procs = []
    for name in ("rs1", "rs2"):
        proc = lab.topo.popen(
            name, [sys.executable, "-c", PEER_SERVER, str(port)], stdout=subprocess.PIPE, text=True
        )
        procs.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return procs


FWM_CONF = """
virtual_server fwmark 5 {
  lb_algo rr
  lb_kind NAT
  real_server 198.51.100.11 {
    weight 1
  }
  real_server 198.51.100.12 {
    weight 1
  }
}
"""


def test_fwmark_service_is_masqueraded_when_asked(lab: Lab) -> None:
    lab.topo.run("dir", ["ip", "addr", "add", f"{FWM_VIP}/32", "dev", "eth0"])
    run_in(
        lab.director,
        ["nft", "-f", "-"],
        input_text=(
            "add table inet mk\n"
            "add chain inet mk pre { type filter hook prerouting priority mangle; }\n"
            f"add rule inet mk pre ip daddr {FWM_VIP} tcp dport 80 meta mark set 5\n"
        ),
    )
    servers = _peer_servers(lab, 80)
    config = load_text(FWM_CONF, filename="f.conf").config.lvs
    try:
        for masquerade, expected in ((False, {"192.0.2.50"}), (True, {"198.51.100.1"})):
            backend = NftBackend(netns=lab.director, table="pkatest", masquerade=masquerade)
            rec = Reconciler(backend, flush_at_start=True)
            try:
                rec.start(desired_state(config))
                argv = [sys.executable, "-c", CLIENT_TO, FWM_VIP, "80", "6"]
                seen = Counter(json.loads(lab.topo.run("client", argv, timeout_s=60).stdout))
                assert set(seen) == expected, (masquerade, seen)
            finally:
                rec.stop()
                backend.close()
    finally:
        for proc in servers:
            proc.kill()
            proc.wait(timeout=10)
            if proc.stdout is not None:
                proc.stdout.close()


CLIENT_TO = r"""
import json, socket, sys
out = []
for _ in range(int(sys.argv[3])):
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
    out.append(s.recv(64).decode())
    s.close()
print(json.dumps(out))
"""


@pytest.mark.slow
def test_daemon_sorry_server_and_hysteresis_with_real_traffic(lab: Lab) -> None:
    quorum_scenario(lab, "nftables")
    assert "pykeepalived" not in run_in(lab.director, ["nft", "list", "tables"]).stdout
