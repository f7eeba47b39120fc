"""A small lab for the issue-4 VRRP tests: daemons (pykeepalived or keepalived) in namespaces.

Loaded by path (tests run with ``--import-mode=importlib``) from ``conftest.py`` here and from
``tests/interop/test_v4_interop.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

from pykeepalived.lab.topology import Topology

PYKEEPALIVED = str(Path(sys.executable).with_name("pykeepalived"))
KEEPALIVED = "keepalived"


def wait_for(cond: Callable[[], bool], timeout_s: float, what: str, step_s: float = 0.05) -> float:
    """Poll ``cond`` until true; return how long it took; fail with ``what`` on timeout."""
    start = time.monotonic()
    while True:
        if cond():
            return time.monotonic() - start
        if time.monotonic() - start > timeout_s:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(step_s)


def stays(cond: Callable[[], bool], duration_s: float, what: str) -> None:
    """``cond`` holds during the whole of ``duration_s``."""
    deadline = time.monotonic() + duration_s
    while time.monotonic() < deadline:
        assert cond(), f"{what} stopped holding"
        time.sleep(0.05)


@dataclass
class Node:
    host: str
    conf: Path
    log: Path
    pidfile: Path
    vrrp_pidfile: Path
    proc: subprocess.Popen[Any] | None = None
    fh: IO[str] | None = field(default=None, repr=False)


class V4Lab:
    """Hosts of a topology, each able to run one daemon."""

    def __init__(self, topo: Topology, tmp: Path) -> None:
        self.topo = topo
        self.tmp = tmp
        self.nodes: dict[str, Node] = {}

    def write(self, host: str, text: str) -> Node:
        d = self.tmp / host
        d.mkdir(exist_ok=True)
        node = self.nodes.get(host) or Node(
            host, d / "keepalived.conf", d / "daemon.log", d / "main.pid", d / "vrrp.pid"
        )
        node.conf.write_text(text)
        self.nodes[host] = node
        return node

    def start(self, host: str, impl: str = "pykeepalived", wait: bool = True) -> Node:
        node = self.nodes[host]
        node.fh = node.log.open("a")
        binary = PYKEEPALIVED if impl == "pykeepalived" else KEEPALIVED
        argv = [binary, "-n", "-l", "-P", "-f", str(node.conf)]
        if impl != "pykeepalived":
            argv.append("-D")
        argv += ["-p", str(node.pidfile), "-r", str(node.vrrp_pidfile), "--no-syslog"]
        env = dict(os.environ, PYKEEPALIVED_CONTROL_SOCKET="none")
        node.proc = self.topo.popen(host, argv, stdout=node.fh, stderr=subprocess.STDOUT, env=env)
        if wait:
            wait_for(node.vrrp_pidfile.exists, 15, f"{impl} on {host} to start")
        return node

    def stop(self, host: str, timeout_s: float = 15.0) -> int:
        node = self.nodes[host]
        assert node.proc is not None
        node.proc.send_signal(signal.SIGTERM)
        rc = node.proc.wait(timeout_s)
        node.proc = None
        if node.fh is not None:
            node.fh.close()
            node.fh = None
        return rc

    def running(self, host: str) -> bool:
        proc = self.nodes[host].proc
        return proc is not None and proc.poll() is None

    def kill_all(self) -> None:
        for node in self.nodes.values():
            proc = node.proc
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
            node.proc = None
            if node.fh is not None:
                node.fh.close()
                node.fh = None

    def log(self, host: str) -> str:
        path = self.nodes[host].log
        return path.read_text() if path.exists() else ""

    def run(self, host: str, argv: list[str], check: bool = True) -> str:
        return self.topo.run(host, argv, check=check).stdout

    def addrs(self, host: str, dev: str | None = None) -> list[str]:
        args = ["addr", "show"] + (["dev", dev] if dev else [])
        with contextlib.suppress(Exception):
            return [
                a["local"]
                for link in self.topo.ip_json(host, args)
                for a in link.get("addr_info", [])
            ]
        return []

    def has_vip(self, host: str, vip: str, dev: str | None = None) -> bool:
        return vip in self.addrs(host, dev)

    def holders(self, vip: str) -> list[str]:
        return [h for h in self.topo.hosts if self.has_vip(h, vip)]

    def routes(self, host: str, table: str = "main") -> list[dict[str, Any]]:
        out = self.run(host, ["ip", "-j", "route", "show", "table", table])
        return list(json.loads(out or "[]"))

    def has_route(self, host: str, dst: str, table: str = "main") -> bool:
        return any(r.get("dst") == dst for r in self.routes(host, table))

    def rules(self, host: str) -> list[dict[str, Any]]:
        return list(json.loads(self.run(host, ["ip", "-j", "rule", "show"]) or "[]"))

    def links(self, host: str) -> list[str]:
        return [link["ifname"] for link in self.topo.ip_json(host, ["link", "show"])]

    def nft(self, host: str) -> str:
        return self.run(host, ["nft", "list", "ruleset"])
