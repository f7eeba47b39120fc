"""A VRRP worker killed with SIGKILL is respawned and the VIP stays where it was (issue 7).

Two routers run pykeepalived (priorities 100/90). The master's VRRP worker is SIGKILLed: no
priority-0 advert, its VIP stays in the kernel. The supervisor respawns the worker, which finds
its VIP still installed and resumes as MASTER at once, before the backup's Master_Down_Interval
(3.6 s) runs out: the backup never takes the VIP.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pykeepalived.lab.topology import Topology

pytestmark = pytest.mark.netns

PYKEEPALIVED = str(Path(sys.executable).with_name("pykeepalived"))
VIP = "192.0.2.99"
CONF = """vrrp_instance VI_1 {
    state %s
    interface eth0
    virtual_router_id 62
    priority %d
    advert_int 1
    virtual_ipaddress {
        %s/32
    }
}
"""


def _wait(what: str, cond: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_sigkilled_vrrp_worker_is_respawned_and_the_vip_stays(
    topology: Callable[..., Topology], tmp_path: Path
) -> None:
    topo = topology(hosts=2)

    def has_vip(host: str) -> bool:
        out = topo.run(host, ["ip", "-4", "-o", "addr", "show", "dev", "eth0"]).stdout
        return f" {VIP}/32 " in out

    daemons: list[subprocess.Popen[bytes]] = []
    logs = []
    for host, state, prio in (("h1", "MASTER", 100), ("h2", "BACKUP", 90)):
        conf = tmp_path / f"{host}.conf"
        conf.write_text(CONF % (state, prio, VIP))
        log = (tmp_path / f"{host}.log").open("wb")
        logs.append(log)
        daemons.append(
            topo.popen(
                host,
                [
                    PYKEEPALIVED, "-n", "-l", "-G", "-P", "-f", str(conf),
                    "-p", str(tmp_path / f"{host}.pid"), "-r", str(tmp_path / f"{host}-vrrp.pid"),
                    "--control-socket", "none",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )  # fmt: skip
    stop_watch = threading.Event()
    backup_had_vip: list[float] = []

    def watch_backup() -> None:
        while not stop_watch.is_set():
            if has_vip("h2"):
                backup_had_vip.append(time.monotonic())
            time.sleep(0.02)

    watcher = threading.Thread(target=watch_backup, daemon=True)
    try:
        _wait("h1 MASTER with the VIP", lambda: has_vip("h1"), 30)
        _wait("h2 settled as BACKUP", lambda: not has_vip("h2"), 10)
        time.sleep(1.5)
        vrrp_pid_file = tmp_path / "h1-vrrp.pid"
        old_worker = int(vrrp_pid_file.read_text())
        watcher.start()
        os.kill(old_worker, signal.SIGKILL)

        def respawned() -> bool:
            try:
                pid = int(vrrp_pid_file.read_text())
            except (FileNotFoundError, ValueError):
                return False
            return pid != old_worker

        _wait("the VRRP worker respawned", respawned, 15)
        time.sleep(6.0)  # well past the backup's Master_Down_Interval (3.648 s)
    finally:
        stop_watch.set()
        if watcher.is_alive():
            watcher.join(timeout=5)
        for proc in daemons:
            proc.terminate()
        for proc in daemons:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in logs:
            log.close()
    text = (tmp_path / "h1.log").read_text(errors="replace")
    assert "resuming as MASTER" in text, text[-3000:]
    assert has_vip_after_respawn(text)
    assert not backup_had_vip, (
        f"the backup took the VIP after the respawn\n{(tmp_path / 'h2.log').read_text()[-2000:]}"
    )


def has_vip_after_respawn(log_text: str) -> bool:
    """The respawned worker did not remove its VIPs ("removing VIPs" only after the kill)."""
    after = log_text.split("resuming as MASTER", 1)[1]
    return "removing VIPs" not in after.split("Stopping", 1)[0]
