"""The nftables data plane with real traffic between namespaces.

client (192.0.2.50) --lan0-- director (192.0.2.1, VIP 192.0.2.100; 198.51.100.1) --lan1--
rs1 .. rs3 (198.51.100.11-13, default route via the director). Each real server answers a
TCP connection with its own name; the client counts who answered.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from pykeepalived.config.loader import load_text
from pykeepalived.lab.topology import DEFAULT_SEGMENTS, HostSpec, Topology, TopologySpec, run_in
from pykeepalived.lvs.backend import UnsupportedError
from pykeepalived.lvs.model import HealthView, RsHealth, desired_state
from pykeepalived.lvs.nft import NftBackend
from pykeepalived.lvs.reconcile import Reconciler

pytestmark = pytest.mark.netns

TopologyFactory = Callable[..., Topology]
VIP = "192.0.2.100"
RS_PORT = 8080
CHI2_DF2_P001 = 13.82  # chi-square critical value, 2 degrees of freedom, p = 0.001

SERVER = r"""
import socket, sys
name = sys.argv[1].encode()
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[2])))
s.listen(512)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    try:
        c.sendall(name)
    finally:
        c.close()
"""

CLIENT = r"""
import json, socket, sys
vip, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sources = sys.argv[4].split(",") if len(sys.argv) > 4 else [""]
out = {}
for src in sources:
    counts = {}
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(3)
        if src:
            s.bind((src, 0))
        try:
            s.connect((vip, port))
            name = s.recv(64).decode() or "empty"
        except OSError as exc:
            name = "error:" + type(exc).__name__
        finally:
            s.close()
        counts[name] = counts.get(name, 0) + 1
    out[src or "default"] = counts
print(json.dumps(out))
"""


def _conf(algo: str, weights: dict[str, int], extra: str = "") -> str:
    rs = "".join(
        f"  real_server 198.51.100.{11 + i} {RS_PORT} {{\n    weight {w}\n  }}\n"
        for i, w in enumerate(weights.values())
    )
    return (
        f"virtual_server {VIP} 80 {{\n  lb_algo {algo}\n  lb_kind NAT\n  protocol TCP\n"
        f"{extra}{rs}}}\n"
    )


@dataclass
class Lab:
    topo: Topology
    servers: list[subprocess.Popen[str]]

    @property
    def director(self) -> str:
        return self.topo.host("dir").netns

    def connect(self, n: int, sources: list[str] | None = None) -> dict[str, Counter[str]]:
        argv = [sys.executable, "-c", CLIENT, VIP, "80", str(n)]
        if sources:
            argv.append(",".join(sources))
        out = self.topo.run("client", argv, timeout_s=120).stdout
        return {k: Counter(v) for k, v in json.loads(out).items()}


@pytest.fixture
def lab(topology: TopologyFactory) -> Iterator[Lab]:
    lan0, lan1 = DEFAULT_SEGMENTS[0], DEFAULT_SEGMENTS[1]
    spec = TopologySpec(
        hosts=(
            HostSpec("client", ("lan0",), 50),
            HostSpec("dir", ("lan0", "lan1"), 1),
            HostSpec("rs1", ("lan1",), 11),
            HostSpec("rs2", ("lan1",), 12),
            HostSpec("rs3", ("lan1",), 13),
        ),
        segments=(lan0, lan1),
    )
    topo = topology(spec=spec)
    run_in(topo.host("dir").netns, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
    topo.run("dir", ["ip", "addr", "add", f"{VIP}/32", "dev", "eth0"])
    for i in range(50, 58):
        if i != 50:
            topo.run("client", ["ip", "addr", "add", f"192.0.2.{i}/24", "dev", "eth0"])
    servers: list[subprocess.Popen[str]] = []
    try:
        for name in ("rs1", "rs2", "rs3"):
            topo.run(name, ["ip", "route", "add", "default", "via", "198.51.100.1"])
            proc = topo.popen(
                name,
                [sys.executable, "-c", SERVER, name, str(RS_PORT)],
                stdout=subprocess.PIPE,
                text=True,
            )
            servers.append(proc)
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
        yield Lab(topo, servers)
    finally:
        for proc in servers:
            proc.kill()
            proc.wait(timeout=10)
            if proc.stdout is not None:
                proc.stdout.close()


def _chi2(observed: Counter[str], weights: dict[str, int]) -> float:
    total = sum(observed.values())
    wsum = sum(weights.values())
    return sum(
        (observed.get(name, 0) - total * w / wsum) ** 2 / (total * w / wsum)
        for name, w in weights.items()
        if w > 0
    )


def _reconciler(lab: Lab) -> Reconciler:
    return Reconciler(NftBackend(netns=lab.director, table="pkatest"), flush_at_start=True)


def test_wrr_spreads_connections_in_proportion_to_weights(lab: Lab) -> None:
    weights = {"rs1": 3, "rs2": 2, "rs3": 1}
    config = load_text(_conf("wrr", weights), filename="wrr.conf").config.lvs
    rec = _reconciler(lab)
    try:
        result = rec.start(desired_state(config))
        assert result.kernel_ops == 1
        counts = lab.connect(600)["default"]
        assert sum(counts.values()) == 600, counts
        assert set(counts) == set(weights), counts
        assert _chi2(counts, weights) < CHI2_DF2_P001, counts

        # a real server fails: one transaction, and it gets no new connections
        key = f"[{VIP}]:tcp:80"
        down = HealthView({(key, ipaddress.ip_address("198.51.100.12"), RS_PORT): RsHealth(False)})
        result = rec.sync(desired_state(config, down))
        assert result.kernel_ops == 1
        assert len(result.ops) == 1
        counts = lab.connect(300)["default"]
        assert "rs2" not in counts, counts
        assert _chi2(counts, {"rs1": 3, "rs3": 1}) < 10.83, counts  # df 1, p 0.001
    finally:
        rec.stop()
        rec.backend.close()
    listed = run_in(lab.director, ["nft", "list", "tables"]).stdout
    assert "pkatest" not in listed


def test_rr_ignores_weights_but_skips_weight_zero(lab: Lab) -> None:
    weights = {"rs1": 5, "rs2": 1, "rs3": 0}
    config = load_text(_conf("rr", weights), filename="rr.conf").config.lvs
    rec = _reconciler(lab)
    try:
        rec.start(desired_state(config))
        counts = lab.connect(400)["default"]
        assert "rs3" not in counts, counts
        assert _chi2(counts, {"rs1": 1, "rs2": 1}) < 10.83, counts
    finally:
        rec.stop()
        rec.backend.close()


def test_sh_and_persistence_keep_a_client_on_one_server(lab: Lab) -> None:
    sources = [f"192.0.2.{i}" for i in range(50, 58)]
    for algo, extra in (("sh", ""), ("wrr", "  persistence_timeout 60\n")):
        weights = {"rs1": 1, "rs2": 1, "rs3": 1}
        config = load_text(_conf(algo, weights, extra), filename="p.conf").config.lvs
        rec = _reconciler(lab)
        try:
            rec.start(desired_state(config))
            per_client = lab.connect(20, sources)
            chosen = set()
            for src, counts in per_client.items():
                assert len(counts) == 1 and sum(counts.values()) == 20, (algo, src, counts)
                chosen |= set(counts)
            assert chosen <= set(weights)
            assert len(chosen) >= 2, (algo, per_client)  # 8 clients do not all hash alike
        finally:
            rec.stop()
            rec.backend.close()


def test_unsupported_scheduler_is_a_config_error_at_the_virtual_server_line(lab: Lab) -> None:
    config = load_text(_conf("wlc", {"rs1": 1}), filename="/etc/k/wlc.conf").config.lvs
    rec = _reconciler(lab)
    with pytest.raises(UnsupportedError) as info:
        rec.start(desired_state(config))
    message = str(info.value)
    assert "/etc/k/wlc.conf: Line 1" in message
    assert "lb_algo wlc" in message
    listed = run_in(lab.director, ["nft", "list", "tables"]).stdout
    assert "pkatest" not in listed


def test_reload_changing_one_server_is_one_transaction(lab: Lab) -> None:
    weights = {"rs1": 1, "rs2": 1, "rs3": 1}
    rec = _reconciler(lab)
    try:
        rec.start(desired_state(load_text(_conf("wrr", weights)).config.lvs))
        before = rec.backend.kernel_ops  # type: ignore[attr-defined]
        t0 = time.monotonic()
        new = desired_state(load_text(_conf("wrr", {"rs1": 1, "rs2": 1, "rs3": 6})).config.lvs)
        result = rec.sync(new)
        assert time.monotonic() - t0 < 5
        assert [type(op).__name__ for op in result.ops] == ["EditDest"]
        assert rec.backend.kernel_ops == before + 1  # type: ignore[attr-defined]
        counts = lab.connect(400)["default"]
        assert _chi2(counts, {"rs1": 1, "rs2": 1, "rs3": 6}) < CHI2_DF2_P001, counts
    finally:
        rec.stop()
        rec.backend.close()
