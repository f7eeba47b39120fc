"""IPVS inside the VM: lvs_sync_daemon and lvs_timeouts as keepalived 2.2.7 sets them, adoption
of a service left in the kernel, and the whole daemon following quorum with hysteresis with
real traffic through IPVS (the netns lab of tests/netns/lvs, loaded by path)."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from pykeepalived.checkers.events import EventLog
from pykeepalived.checkers.realserver import RecordingEffects, VirtualServerPool
from pykeepalived.config.loader import load_text
from pykeepalived.lvs.ipvs import IpvsBackend
from pykeepalived.lvs.model import LvsState
from pykeepalived.lvs.reconcile import DataPlaneAdapter, Reconciler
from pykeepalived.lvs.select import kernel_dataplane
from pykeepalived.lvs.syncd import SyncDaemonFollower

pytestmark = pytest.mark.vm

SYNC_IF = "pksync0"


def _load_lab() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "netns" / "lvs" / "lvs_lab.py"
    spec = importlib.util.spec_from_file_location("pyka_lvs_lab", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


LAB = _load_lab()
lab = LAB.lab  # the fixture


def ipvsadm(*args: str) -> str:
    return subprocess.run(
        ["ipvsadm", *args], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def _daemon_lines() -> list[str]:
    return sorted(line.strip() for line in ipvsadm("-L", "--daemon").splitlines() if line.strip())


@pytest.fixture
def sync_if() -> Iterator[str]:
    subprocess.run(["ip", "link", "add", SYNC_IF, "type", "dummy"], check=False)
    subprocess.run(["ip", "link", "set", SYNC_IF, "multicast", "on", "up"], check=True)
    subprocess.run(["ip", "addr", "add", "10.99.0.1/24", "dev", SYNC_IF], check=False)
    try:
        yield SYNC_IF
    finally:
        for state in ("master", "backup"):
            subprocess.run(["ipvsadm", "--stop-daemon", state], capture_output=True, check=False)
        subprocess.run(["ip", "link", "del", SYNC_IF], check=False)


def _keepalived(conf: Path, tmp: Path, *flags: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            "keepalived", "-n", "-l", "--no-syslog", *flags, "-f", str(conf),
            "-p", str(tmp / "k.pid"), "-c", str(tmp / "c.pid"), "-r", str(tmp / "v.pid"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _until(probe: Callable[[], Any], timeout_s: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.5)
    return probe()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)


GLOBALS = """
global_defs {
  router_id vmglob
  lvs_sync_daemon IFACE id 7 maxlen 1400 port 8850 ttl 2 group 224.0.0.99
  lvs_timeouts tcp 7200 tcpfin 60 udp 90
}
virtual_server 10.0.0.1 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 10.0.1.1 80 {
    weight 1
  }
}
""".replace("IFACE", SYNC_IF)


def test_sync_daemon_without_instance_and_timeouts_like_keepalived(
    ipvs: IpvsBackend, sync_if: str
) -> None:
    ipvsadm("--set", "900", "120", "300")
    with tempfile.TemporaryDirectory(dir=os.environ.get("PYKA_VM_TMP", "/tmp")) as d:
        tmp = Path(d)
        conf = tmp / "keepalived.conf"
        conf.write_text(GLOBALS)
        proc = _keepalived(conf, tmp, "-C")
        try:
            theirs_daemons = _until(lambda: len(_daemon_lines()) >= 2 and _daemon_lines())
            theirs_timeouts = ipvsadm("-L", "--timeout")
        finally:
            _stop(proc)
    assert theirs_daemons, "keepalived started no sync daemon"
    assert _daemon_lines() == [], "keepalived left a sync daemon running"
    ipvsadm("--set", "900", "120", "300")
    config = load_text(GLOBALS, filename="g.conf").config
    dataplane = kernel_dataplane(config, "ipvs")
    try:
        assert _daemon_lines() == theirs_daemons
        assert ipvsadm("-L", "--timeout") == theirs_timeouts
        assert "7200" in theirs_timeouts
    finally:
        dataplane.close(release=True)
    assert _daemon_lines() == []


INSTANCE = """
global_defs {
  router_id vminst
  lvs_sync_daemon IFACE inst VI_1 maxlen 1200
}
vrrp_instance VI_1 {
  interface IFACE
  virtual_router_id 42
  priority 100
  advert_int 1
  virtual_ipaddress {
    10.99.0.100/24
  }
}
""".replace("IFACE", SYNC_IF)


class _Status:
    def __init__(self, state: str) -> None:
        self.state = state

    def status(self) -> dict[str, Any]:
        return {"instances": [{"name": "VI_1", "state": self.state}]}


def test_sync_daemon_following_an_instance_like_keepalived(ipvs: IpvsBackend, sync_if: str) -> None:
    with tempfile.TemporaryDirectory(dir=os.environ.get("PYKA_VM_TMP", "/tmp")) as d:
        tmp = Path(d)
        conf = tmp / "keepalived.conf"
        conf.write_text(INSTANCE)
        proc = _keepalived(conf, tmp, "-P")
        try:
            master = _until(lambda: any("master" in x for x in _daemon_lines()) and _daemon_lines())
        finally:
            _stop(proc)
    assert master, "keepalived's instance never became master"
    assert _daemon_lines() == [], "keepalived left its sync daemon running"
    config = load_text(INSTANCE, filename="i.conf").config
    source = _Status("BACKUP")

    async def ours() -> tuple[list[str], list[str], list[str]]:
        import asyncio  # noqa: PLC0415

        follower = SyncDaemonFollower(config, source, poll_s=0.05)
        await follower.start()
        as_backup = _daemon_lines()
        source.state = "MASTER"
        await asyncio.sleep(0.3)
        as_master = _daemon_lines()
        await follower.stop()
        return as_backup, as_master, _daemon_lines()

    import asyncio  # noqa: PLC0415

    as_backup, as_master, after = asyncio.run(ours())
    assert as_master == master
    assert len(as_backup) == 1 and "backup sync daemon" in as_backup[0]
    assert "syncid=42" in as_backup[0]
    assert after == []


ADOPT = """
virtual_server 10.0.0.1 80 {
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  real_server 10.0.1.1 80 {
    weight 3
  }
  real_server 10.0.1.2 80 {
    weight 1
  }
}
"""


def test_adoption_keeps_configured_and_foreign_destinations(ipvs: IpvsBackend) -> None:
    ipvsadm("-A", "-t", "10.0.0.1:80", "-s", "rr")
    ipvsadm("-a", "-t", "10.0.0.1:80", "-r", "10.0.1.1:80", "-m", "-w", "7")
    ipvsadm("-a", "-t", "10.0.0.1:80", "-r", "10.0.9.9:80", "-m", "-w", "5")
    config = load_text(ADOPT, filename="a.conf").config.lvs
    rec = Reconciler(ipvs)
    rec.start(LvsState())
    adapter = DataPlaneAdapter(rec, config)
    vs = config.virtual_servers[0]
    pool = VirtualServerPool(vs, adapter, RecordingEffects(), EventLog(), lambda: 0.0)
    pool.start()
    adapter.settle()
    ops = [type(op).__name__ for r in adapter.results for op in r.ops]
    assert "DelDest" not in ops and "AddService" not in ops, ops
    table = ipvsadm("-Sn")
    assert "-A -t 10.0.0.1:80 -s wrr" in table
    assert "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 3" in table
    assert "-a -t 10.0.0.1:80 -r 10.0.1.2:80 -m -w 1" in table
    assert "-a -t 10.0.0.1:80 -r 10.0.9.9:80 -m -w 5" in table
    pool.stop()
    rec.stop()  # (closing the adapter would close the fixture's backend)
    assert ipvsadm("-Sn").strip().splitlines() == [
        "-A -t 10.0.0.1:80 -s wrr",
        "-a -t 10.0.0.1:80 -r 10.0.9.9:80 -m -w 5",
    ]


@pytest.mark.slow
def test_daemon_sorry_server_and_hysteresis_through_ipvs(ipvs: IpvsBackend, lab: Any) -> None:
    for module in ("ip_vs", "ip_vs_rr"):
        subprocess.run(["modprobe", module], check=False)
    # the emulated VM is slow to start Python processes
    LAB.quorum_scenario(lab, "ipvs", start_timeout_s=240, step_timeout_s=60)
    assert ipvsadm("-Sn").strip() == ""  # host namespace untouched
