"""Two pykeepalived daemons on one segment: election, failover, preemption, clean stop.

Each daemon runs as keepalived would be run (``pykeepalived -n -l -P -f CONF -p PID -r VPID
--no-syslog``) inside its own host namespace. Assertions are about ordering and presence (who
holds the VIP, what the logs say), with generous timeouts; the only timing claim is that a
clean stop hands over well before a Master_Down_Interval would have run out.
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pykeepalived.lab.topology import Topology
from pykeepalived.vrrp.auth import AuthType
from pykeepalived.vrrp.packet import (
    VRRP_MCAST_GROUP4,
    Advertisement,
    Family,
    VrrpVersion,
    encode_ipv4,
)
from pykeepalived.vrrp.sockets import SocketKey, open_vrrp_socket

if TYPE_CHECKING:
    from daemonlab import KEEPALIVED, Lab, stays, wait_for
else:
    if "daemonlab" not in sys.modules:  # loaded by path: the tests are not packages
        _path = Path(__file__).with_name("daemonlab.py")
        _spec = importlib.util.spec_from_file_location("daemonlab", _path)
        assert _spec is not None and _spec.loader is not None
        sys.modules["daemonlab"] = importlib.util.module_from_spec(_spec)
        _spec.loader.exec_module(sys.modules["daemonlab"])
    _dl = sys.modules["daemonlab"]
    KEEPALIVED, Lab, stays, wait_for = _dl.KEEPALIVED, _dl.Lab, _dl.stays, _dl.wait_for

pytestmark = pytest.mark.netns

TopologyFactory = Callable[..., Topology]

VIP4 = "192.0.2.100"
VIP6 = "2001:db8:0:1::100"


@dataclass(frozen=True)
class Mode:
    """One protocol variant: version, family, unicast or not, authentication."""

    id: str
    version: int
    family: int
    unicast: bool = False
    auth: str | None = None  # "PASS" or "AH" (v2 IPv4 only)
    advert_int: str = "1"

    @property
    def vip(self) -> str:
        return VIP6 if self.family == 6 else VIP4

    @property
    def advert_int_s(self) -> float:
        return float(self.advert_int)

    def master_down_s(self, priority: int) -> float:
        """Master_Down_Interval of a backup of ``priority`` (v2 skew ignores the interval)."""
        skew = (256 - priority) / 256 * (self.advert_int_s if self.version == 3 else 1.0)
        return 3 * self.advert_int_s + skew


MODES = [
    Mode("v2-pass-ipv4-mcast", 2, 4, auth="PASS"),
    Mode("v2-ah-ipv4-mcast", 2, 4, auth="AH"),
    Mode("v3-ipv4-mcast", 3, 4, advert_int="0.5"),
    Mode("v3-ipv6-mcast", 3, 6, advert_int="0.5"),
    Mode("v2-ipv4-unicast", 2, 4, unicast=True),
    Mode("v3-ipv4-unicast", 3, 4, unicast=True, advert_int="0.5"),
    Mode("v3-ipv6-unicast", 3, 6, unicast=True, advert_int="0.5"),
]


def instance_conf(
    mode: Mode,
    *,
    priority: int,
    me: str,
    peer: str,
    nopreempt: bool = False,
    extra: str = "",
) -> str:
    lines = [
        "vrrp_instance VI_1 {",
        "    state BACKUP",
        "    interface eth0",
        "    virtual_router_id 51",
        f"    priority {priority}",
        f"    advert_int {mode.advert_int}",
        f"    version {mode.version}",
    ]
    if nopreempt:
        lines.append("    nopreempt")
    if mode.auth is not None:
        lines += [
            "    authentication {",
            f"        auth_type {mode.auth}",
            "        auth_pass s3cret",
            "    }",
        ]
    if mode.unicast:
        lines += [f"    unicast_src_ip {me}", "    unicast_peer {", f"        {peer}", "    }"]
    prefix = "/64" if mode.family == 6 else "/24"
    lines += ["    virtual_ipaddress {", f"        {mode.vip}{prefix}", "    }"]
    if extra:
        lines.append(extra)
    lines.append("}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def lab(topology: TopologyFactory, tmp_path: Path) -> Iterator[Lab]:
    the_lab = Lab(topology(hosts=2), tmp_path)
    try:
        yield the_lab
    finally:
        the_lab.shutdown()


def pair(lab: Lab, mode: Mode, *, nopreempt: bool = False, extra: str = "") -> None:
    """Write the configs of h1 (priority 100) and h2 (priority 90) for ``mode``."""
    a1, a2 = lab.address("h1", mode.family), lab.address("h2", mode.family)
    lab.write(
        "h1", instance_conf(mode, priority=100, me=a1, peer=a2, nopreempt=nopreempt, extra=extra)
    )
    lab.write(
        "h2", instance_conf(mode, priority=90, me=a2, peer=a1, nopreempt=nopreempt, extra=extra)
    )


@pytest.mark.parametrize("mode", MODES, ids=[m.id for m in MODES])
def test_election_failover_preemption_and_clean_stop(lab: Lab, mode: Mode) -> None:
    pair(lab, mode)
    lab.start("h1")
    lab.start("h2")
    failover_cycle(lab, mode)


def failover_cycle(lab: Lab, mode: Mode) -> None:
    """h1 (priority 100) and h2 (90) are running: check election, failover, preemption, stop."""
    vip = mode.vip
    mdi2 = mode.master_down_s(90)
    # one master: the higher priority, and only it holds the VIP
    wait_for(lambda: lab.holders(vip) == ["h1"], mode.master_down_s(100) + 10, "h1 master")
    stays(lambda: lab.holders(vip) == ["h1"], 2 * mode.advert_int_s, "single master h1")

    # the master hangs: the backup takes over once Master_Down_Interval has passed
    lab.signal("h1", signal.SIGSTOP)
    took = wait_for(lambda: lab.has_vip("h2", vip), mdi2 + 5, "h2 takeover after SIGSTOP")
    print(f"{mode.id}: takeover after SIGSTOP in {took:.3f} s (MDI {mdi2:.3f} s)")

    # it comes back: the higher priority preempts, the backup lets go of the VIP
    lab.signal("h1", signal.SIGCONT)
    wait_for(lambda: lab.holders(vip) == ["h1"], mdi2 + 10, "h1 preempts back")
    stays(lambda: lab.holders(vip) == ["h1"], 2 * mode.advert_int_s, "h1 master again")

    # clean stop: priority-0 advert, so the backup takes over after its skew time only
    lab.terminate("h1")
    took = wait_for(lambda: lab.has_vip("h2", vip), mdi2 + 5, "h2 takeover after SIGTERM")
    print(f"{mode.id}: takeover after SIGTERM in {took:.3f} s")
    assert took < mdi2, "a priority-0 advert should hand over before Master_Down_Interval"
    assert lab.wait_exit("h1") == 0
    assert not lab.has_vip("h1", vip)

    log1, log2 = lab.log("h1"), lab.log("h2")
    assert "(VI_1) Entering MASTER STATE" in log1
    assert "(VI_1) Entering BACKUP STATE" in log2
    assert "(VI_1) Entering MASTER STATE" in log2
    assert log2.index("(VI_1) Entering BACKUP STATE") < log2.index("(VI_1) Entering MASTER STATE")
    assert lab.stop("h2") == 0
    assert lab.holders(vip) == []


@pytest.mark.parametrize("mode", [MODES[0], MODES[3]], ids=[MODES[0].id, MODES[3].id])
def test_nopreempt_keeps_the_running_master(lab: Lab, mode: Mode) -> None:
    pair(lab, mode, nopreempt=True)
    nopreempt_check(lab, mode)


def nopreempt_check(
    lab: Lab, mode: Mode, impl1: str = "pykeepalived", impl2: str = "pykeepalived"
) -> None:
    """h2 (90) starts alone and becomes master; h1 (100, nopreempt) joins and must not preempt."""
    lab.start("h2", impl2)
    wait_for(lambda: lab.holders(mode.vip) == ["h2"], mode.master_down_s(90) + 10, "h2 alone")
    lab.start("h1", impl1)
    # well past h1's Master_Down_Interval: the higher priority h1 still does not preempt
    stays(lambda: lab.holders(mode.vip) == ["h2"], mode.master_down_s(100) + 2, "h2 master")
    assert "Entering MASTER STATE" not in lab.log("h1")
    # when h2 stops, h1 takes over at once (priority 0)
    assert lab.stop("h2") == 0
    wait_for(lambda: lab.holders(mode.vip) == ["h1"], mode.master_down_s(100), "h1 after stop")


def test_stale_vip_removed_at_start_and_interface_down_is_fault(lab: Lab) -> None:
    mode = MODES[0]
    pair(lab, mode)
    # a crashed run left the VIP on h2
    lab.topo.run("h2", ["ip", "addr", "add", f"{VIP4}/24", "dev", "eth0"])
    lab.start("h1")
    lab.start("h2")
    wait_for(lambda: lab.holders(VIP4) == ["h1"], 15, "h1 the only holder")

    # h1 loses its link: FAULT, VIP released; h2 takes over
    lab.topo.run("h1", ["ip", "link", "set", "eth0", "down"])
    wait_for(lambda: lab.has_vip("h2", VIP4), 15, "h2 takeover on h1 link down")
    wait_for(lambda: "(VI_1) Entering FAULT STATE" in lab.log("h1"), 5, "h1 FAULT log")
    # link back: h1 leaves FAULT and, having the higher priority, preempts
    lab.topo.run("h1", ["ip", "link", "set", "eth0", "up"])
    wait_for(lambda: lab.holders(VIP4) == ["h1"], 20, "h1 back as master")


def test_notify_scripts_and_fifo(lab: Lab, tmp_path: Path) -> None:
    mode = MODES[2]
    out = tmp_path / "notify.out"
    script = tmp_path / "notify.sh"
    script.write_text(f'#!/bin/sh\necho "$*" >> {out}\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    fifo = tmp_path / "vrrp.fifo"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    extra = (
        f'    notify "{script}"\n'
        f'    notify_master "{script} became-master"\n'
        f'    notify_stop "{script} stopping"'
    )
    a1 = lab.address("h1", 4)
    lab.write(
        "h1",
        f'global_defs {{\n    vrrp_notify_fifo "{fifo}"\n}}\n'
        + instance_conf(mode, priority=100, me=a1, peer=a1, extra=extra),
    )
    try:
        lab.start("h1")

        def lines() -> list[str]:
            return out.read_text().splitlines() if out.exists() else []

        wait_for(lambda: "INSTANCE VI_1 MASTER 100" in lines(), 15, "generic notify MASTER")
        wait_for(lambda: "became-master" in lines(), 5, "notify_master")
        assert lines().index("INSTANCE VI_1 BACKUP 100") < lines().index("INSTANCE VI_1 MASTER 100")
        assert lab.stop("h1") == 0
        wait_for(lambda: "stopping" in lines(), 5, "notify_stop")
        wait_for(lambda: "INSTANCE VI_1 STOP 100" in lines(), 5, "generic notify STOP")
        data = os.read(fd, 4096).decode()
        assert 'INSTANCE "VI_1" BACKUP 100\n' in data
        assert 'INSTANCE "VI_1" MASTER 100\n' in data
        assert 'INSTANCE "VI_1" STOP 100\n' in data
    finally:
        os.close(fd)


def test_reload_keeps_unchanged_instance_and_starts_new_one(lab: Lab) -> None:
    mode = MODES[2]
    a1 = lab.address("h1", 4)
    first = instance_conf(mode, priority=100, me=a1, peer=a1)
    lab.write("h1", first)
    lab.start("h1")
    wait_for(lambda: lab.has_vip("h1", VIP4), 15, "VI_1 master")
    second = (
        first.replace("VI_1", "VI_2")
        .replace("virtual_router_id 51", "virtual_router_id 52")
        .replace(VIP4, "192.0.2.101")
    )
    lab.write("h1", first + second)
    before = lab.log("h1").count("(VI_1) Entering")
    lab.signal("h1", signal.SIGHUP)
    wait_for(lambda: lab.has_vip("h1", "192.0.2.101"), 15, "VI_2 master after reload")
    stays(lambda: lab.has_vip("h1", VIP4), 1.0, "VI_1 VIP kept")
    assert lab.log("h1").count("(VI_1) Entering") == before, "VI_1 must not change state"
    # VI_2 removed again: its VIP goes, VI_1 stays untouched
    lab.write("h1", first)
    lab.signal("h1", signal.SIGHUP)
    wait_for(lambda: not lab.has_vip("h1", "192.0.2.101"), 15, "VI_2 VIP removed")
    assert lab.has_vip("h1", VIP4)
    assert lab.log("h1").count("(VI_1) Entering") == before


def test_status_dump_counts_unknown_vrids_bad_auth_and_garbage(lab: Lab, tmp_path: Path) -> None:
    mode = MODES[0]
    a1 = lab.address("h1", 4)
    lab.write(
        "h1",
        "global_defs {\n    log_unknown_vrids\n}\n"
        + instance_conf(mode, priority=100, me=a1, peer=a1),
    )
    dump_dir = tmp_path / "dump"
    dump_dir.mkdir()
    lab.start("h1", env={"TMPDIR": str(dump_dir)})
    wait_for(lambda: lab.has_vip("h1", VIP4), 15, "h1 master")

    key = SocketKey("eth0", Family.IPV4, False, VRRP_MCAST_GROUP4)
    ifindex = int(lab.topo.ip_json("h2", ["link", "show", "dev", "eth0"])[0]["ifindex"])
    sock = open_vrrp_socket(key, ifindex, netns=lab.topo.host("h2").netns)
    src = lab.topo.host("h2").ipv4()
    vip = (IPv4Address(VIP4),)
    try:
        unknown = Advertisement(VrrpVersion.V2, 99, 100, 100, vip)
        bad_auth = Advertisement(
            VrrpVersion.V2, 51, 200, 100, vip, auth_type=AuthType.PASS, auth_data=b"wrong\0\0\0"
        )
        for n, advert in enumerate((unknown, bad_auth), start=1):
            sock.send_ipv4(encode_ipv4(advert, src=src, dst=VRRP_MCAST_GROUP4, ip_id=n), src)
            sock.send_ipv4(
                encode_ipv4(advert, src=src, dst=VRRP_MCAST_GROUP4, ip_id=n), VRRP_MCAST_GROUP4
            )
        garbage = encode_ipv4(unknown, src=src, dst=VRRP_MCAST_GROUP4, ip_id=9)[:24]
        assert sock.send_ipv4(garbage, VRRP_MCAST_GROUP4)
    finally:
        sock.close()

    def dump() -> dict[str, Any]:
        path = dump_dir / "keepalived.data"
        path.unlink(missing_ok=True)
        lab.signal("h1", signal.SIGUSR1)
        wait_for(path.exists, 5, "data dump")
        text = path.read_text()  # a keepalived-style header, then the services' JSON
        services: dict[str, Any] = json.loads(text[text.index("\n{") + 1 :])
        vrrp: dict[str, Any] = services["vrrp"]
        return vrrp

    wait_for(lambda: dump()["unknown_vrids"] >= 1, 10, "unknown VRID counted")
    status = dump()
    assert status["undecodable"] >= 1
    (inst,) = status["instances"]
    assert inst["name"] == "VI_1" and inst["state"] == "MASTER"
    assert inst["vips"] == [f"{VIP4}/24"] and inst["effective_priority"] == 100
    assert inst["stats"]["auth_failure"] == 1 and inst["stats"]["advert_sent"] > 0
    assert inst["last_transition_reason"] == "master down timer expired"
    # the refused higher-priority advert did not make h1 give up
    assert lab.has_vip("h1", VIP4)
    assert "Unknown VRID 99" in lab.log("h1")


SYS_PIDFD_GETFD = 438


def _vrrp_rcvbuf(lab: Lab, host: str) -> int:
    """SO_RCVBUF of the daemon's multicast VRRP socket, read from a copy of its descriptor
    (``pidfd_getfd``; ``ss`` names the process and descriptor)."""
    out = subprocess.run(
        ["ip", "netns", "exec", lab.topo.host(host).netns, "ss", "-w", "-n", "-a", "-p"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.search(r"224\.0\.0\.18:112\s.*pid=(\d+),fd=(\d+)", out)
    assert found, out
    pidfd = os.pidfd_open(int(found.group(1)))
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.syscall(SYS_PIDFD_GETFD, pidfd, int(found.group(2)), 0)
        assert fd >= 0, os.strerror(ctypes.get_errno())
    finally:
        os.close(pidfd)
    with socket.socket(fileno=fd) as sock:
        return int(sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))


def test_vrrp_rx_bufs_policy_sizes_the_socket_receive_buffer(lab: Lab) -> None:
    mode = MODES[2]
    a1 = lab.address("h1", 4)
    conf = instance_conf(mode, priority=100, me=a1, peer=a1)
    lab.write("h1", conf)
    lab.start("h1")
    wait_for(lambda: lab.has_vip("h1", VIP4), 15, "VI_1 master")
    default = _vrrp_rcvbuf(lab, "h1")
    lab.stop("h1")
    # one instance x 50 MTUs of 1500: 75,000 bytes, doubled by the kernel
    policy = "global_defs {\n  vrrp_rx_bufs_policy MTU\n  vrrp_rx_bufs_multiplier 50\n}\n"
    lab.write("h1", policy + conf)
    lab.start("h1")
    wait_for(lambda: lab.has_vip("h1", VIP4), 15, "VI_1 master")
    assert _vrrp_rcvbuf(lab, "h1") == 2 * 75_000 != default
