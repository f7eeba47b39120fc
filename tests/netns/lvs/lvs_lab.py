"""The lab of the LVS traffic tests, shared by the netns tier (nftables) and the vm tier (IPVS,
loaded by path from tests/vm): namespaces, real servers that answer with their name, a
client that counts who answered, and the daemon scenario for quorum with hysteresis.

client (192.0.2.50-57) --lan0-- director (192.0.2.1, VIP 192.0.2.100; 198.51.100.1) --lan1--
rs1 .. rs3 (198.51.100.11-13:8080, default route via the director).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pykeepalived.lab.topology import DEFAULT_SEGMENTS, HostSpec, Topology, TopologySpec, run_in

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


SORRY_PORT = 8081

QUORUM_CONF = """
global_defs {
  router_id nftq
}
virtual_server 192.0.2.100 80 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
  quorum 2
  hysteresis 1
  sorry_server 198.51.100.13 8081
%s}
"""
RS_BLOCK = """  real_server 198.51.100.%d 8080 {
    weight 1
    TCP_CHECK {
      connect_timeout 1
      retry 0
    }
  }
"""


class Servers:
    """The three real servers of the lab, which the test stops and starts again."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab

    def stop(self, index: int) -> None:
        proc = self.lab.servers[index]
        proc.kill()
        proc.wait(timeout=10)

    def start(self, index: int) -> None:
        name = f"rs{index + 1}"
        proc = self.lab.topo.popen(
            name, [sys.executable, "-c", SERVER, name, str(RS_PORT)], stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        old = self.lab.servers[index]
        if old.stdout is not None:
            old.stdout.close()
        self.lab.servers[index] = proc


def _wait_for(lab: Lab, want: set[str], timeout_s: float = 15.0) -> Counter[str]:
    """Connect until only ``want`` answer (all of them), then once more to be sure."""
    deadline = time.monotonic() + timeout_s
    counts: Counter[str] = Counter()
    while time.monotonic() < deadline:
        counts = lab.connect(12)["default"]
        if set(counts) == want:
            counts = lab.connect(30)["default"]
            if set(counts) == want:
                return counts
        time.sleep(0.3)
    raise AssertionError(f"wanted {sorted(want)}, got {counts}")


def _stays(lab: Lab, want: set[str], hold_s: float = 3.5) -> None:
    """After ``hold_s`` (more than a check period and its time-out) still only ``want``."""
    time.sleep(hold_s)
    counts = lab.connect(30)["default"]
    assert set(counts) == want, counts


def quorum_scenario(
    lab: Lab, backend: str, *, start_timeout_s: float = 30.0, step_timeout_s: float = 15.0
) -> None:
    """Run the daemon (checkers only, ``--lvs-backend backend``) in the director with TCP_CHECKs
    on the three real servers (quorum 2, hysteresis 1, a sorry server), stop and start the
    servers, and check who answers the client at every step."""
    sorry = lab.topo.popen(
        "rs3", [sys.executable, "-c", SERVER, "sorry", str(SORRY_PORT)], stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert sorry.stdout is not None and sorry.stdout.readline().strip() == "ready"
    servers = Servers(lab)
    all_rs = {"rs1", "rs2", "rs3"}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        conf = tmp / "keepalived.conf"
        conf.write_text(QUORUM_CONF % "".join(RS_BLOCK % i for i in (11, 12, 13)))
        log = (tmp / "daemon.log").open("w")
        daemon = lab.topo.popen(
            "dir",
            [
                str(Path(sys.executable).with_name("pykeepalived")), "-n", "-l", "-G", "-C",
                "-f", str(conf), "-p", str(tmp / "k.pid"), "--control-socket", "none",
                "--lvs-backend", backend,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            try:
                _wait_for(lab, all_rs, timeout_s=start_timeout_s)
                servers.stop(0)
                servers.stop(1)
                _wait_for(lab, {"rs3"}, step_timeout_s)  # live weight 1 >= 2-1: the quorum holds
                _stays(lab, {"rs3"})
                servers.stop(2)
                # 0: quorum lost, the sorry server gets everything
                _wait_for(lab, {"sorry"}, step_timeout_s)
                servers.start(2)
                servers.start(1)
                _stays(lab, {"sorry"})  # 2 < 2+1: not regained (no hysteresis would be)
                servers.start(0)
                _wait_for(lab, all_rs, step_timeout_s)  # 3: regained, the sorry server is out
            except AssertionError as exc:
                log.flush()
                tail = (tmp / "daemon.log").read_text()[-4000:]
                raise AssertionError(f"{exc}\n--- daemon log ---\n{tail}") from None
        finally:
            os.killpg(daemon.pid, signal.SIGTERM)
            try:
                daemon.wait(timeout=30)
            finally:
                log.close()
                sorry.kill()
                sorry.wait(timeout=10)
                if sorry.stdout is not None:
                    sorry.stdout.close()
        text = (tmp / "daemon.log").read_text()
        assert "Lost quorum 2-1=1 > 0" in text, text[-3000:]
        assert "Gained quorum 2+1=3 <= 3" in text, text[-3000:]
