"""A small daemon lab: pykeepalived or Debian's keepalived in the hosts of a topology.

Write a host's config, start, signal and stop its daemon, read its log, see which hosts hold
an address. Loaded by path (tests run with ``--import-mode=importlib``, there are no test
packages) as module ``daemonlab`` from ``tests/netns/test_vrrp_daemon.py``,
``tests/netns/vrrp4/conftest.py`` and ``tests/interop/test_v4_interop.py``.
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


def wait_for(cond: Callable[[], bool], timeout_s: float, what: str, step_s: float = 0.02) -> float:
    """Poll ``cond`` until true; return the time it took. Fails with ``what`` on timeout."""
    start = time.monotonic()
    deadline = start + timeout_s
    while True:
        if cond():
            return time.monotonic() - start
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(step_s)


def stays(cond: Callable[[], bool], duration_s: float, what: str) -> None:
    """Assert ``cond`` holds continuously for ``duration_s``."""
    deadline = time.monotonic() + duration_s
    while time.monotonic() < deadline:
        assert cond(), f"{what} stopped holding"
        time.sleep(0.05)


@dataclass
class Node:
    """A daemon in a host namespace: its files and its process (None when not running)."""

    host: str
    conf: Path
    log: Path
    pidfile: Path
    vrrp_pidfile: Path
    proc: subprocess.Popen[Any] | None = None
    _log_fh: IO[str] | None = field(default=None, repr=False)

    def close_log(self) -> None:
        """Close the log handle of the last start (a later start opens it again)."""
        if self._log_fh is not None:
            self._log_fh.close()
            self._log_fh = None


class Lab:
    """The hosts of a topology, each able to run one daemon.

    ``env`` holds variables added to the environment of every daemon this lab starts.
    """

    def __init__(self, topo: Topology, tmp: Path, env: dict[str, str] | None = None) -> None:
        self.topo = topo
        self.tmp = tmp
        self.env = dict(env or {})
        self.nodes: dict[str, Node] = {}

    def address(self, host: str, family: int) -> str:
        """The host's own address on its first segment (``family`` 4 or 6)."""
        h = self.topo.host(host)
        return str(h.ipv6() if family == 6 else h.ipv4())

    def write(self, host: str, text: str) -> Node:
        d = self.tmp / host
        d.mkdir(exist_ok=True)
        node = self.nodes.get(host) or Node(
            host, d / "keepalived.conf", d / "daemon.log", d / "main.pid", d / "vrrp.pid"
        )
        node.conf.write_text(text)
        self.nodes[host] = node
        return node

    def start(
        self,
        host: str,
        impl: str = "pykeepalived",
        *,
        wait: bool = True,
        env: dict[str, str] | None = None,
    ) -> Node:
        """Run ``impl`` ("pykeepalived", or "keepalived" for Debian's) on ``host``, with ``env``
        added to its environment; ``wait`` for its VRRP pid file."""
        node = self.nodes[host]
        node._log_fh = node.log.open("a")
        binary = PYKEEPALIVED if impl == "pykeepalived" else KEEPALIVED
        argv = [binary, "-n", "-l", "-P", "-f", str(node.conf)]
        if impl != "pykeepalived":
            argv.append("-D")
        argv += ["-p", str(node.pidfile), "-r", str(node.vrrp_pidfile), "--no-syslog"]
        full_env = {**os.environ, **self.env, **(env or {})}
        node.proc = self.topo.popen(
            host, argv, stdout=node._log_fh, stderr=subprocess.STDOUT, env=full_env
        )
        if wait:
            wait_for(node.vrrp_pidfile.exists, 15, f"{impl} on {host} to write its VRRP pid file")
        return node

    def signal(self, host: str, sig: int) -> None:
        """Signal the VRRP process (keepalived's VRRP child, or pykeepalived itself)."""
        node = self.nodes[host]
        pid = int(node.vrrp_pidfile.read_text().split()[0])
        os.kill(pid, sig)

    def terminate(self, host: str) -> None:
        """SIGTERM the daemon (keepalived's parent forwards it to its VRRP child)."""
        proc = self.nodes[host].proc
        assert proc is not None
        proc.send_signal(signal.SIGTERM)

    def wait_exit(self, host: str, timeout_s: float = 15.0) -> int:
        """Wait for the daemon's exit status; close its log handle."""
        node = self.nodes[host]
        assert node.proc is not None
        rc = node.proc.wait(timeout_s)
        node.proc = None
        node.close_log()
        return rc

    def stop(self, host: str, timeout_s: float = 15.0) -> int:
        """SIGTERM the daemon and wait for its exit status."""
        self.terminate(host)
        return self.wait_exit(host, timeout_s)

    def running(self, host: str) -> bool:
        proc = self.nodes[host].proc
        return proc is not None and proc.poll() is None

    def kill_all(self) -> None:
        """Stop every daemon still running (resumed first if stopped), SIGKILL if need be."""
        for node in self.nodes.values():
            with contextlib.suppress(OSError, ValueError, IndexError):
                os.kill(int(node.vrrp_pidfile.read_text().split()[0]), signal.SIGCONT)
            proc = node.proc
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
            node.proc = None
            node.close_log()

    def shutdown(self) -> None:
        """:meth:`kill_all`, then print every daemon's log (pytest shows it for a failure)."""
        self.kill_all()
        for host in self.nodes:
            print(f"----- {host} log -----\n{self.log(host)}")

    def log(self, host: str) -> str:
        path = self.nodes[host].log
        return path.read_text() if path.exists() else ""

    def run(self, host: str, argv: list[str], check: bool = True) -> str:
        """Run ``argv`` in ``host``; its stdout."""
        return self.topo.run(host, argv, check=check).stdout

    def addrs(self, host: str, dev: str | None = None) -> list[str]:
        """The addresses of ``dev`` (of every interface if None); [] if they cannot be read."""
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
        """The hosts that hold ``vip``, in topology order."""
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
