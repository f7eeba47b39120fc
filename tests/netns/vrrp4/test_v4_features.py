"""Issue 4 features between two pykeepalived daemons in namespaces.

Tracking (script, interface, file, process), sync groups, VMAC, virtual routes and rules,
no_accept/strict firewall rules, reload of a master, unicast_fault_no_peer,
vrrp_startup_delay and script security. Timing claims are loose; ordering and presence are
what is checked.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.netns, pytest.mark.slow]

Factory = Callable[..., Any]
VIP = "192.0.2.100"
VIP2 = "198.51.100.100"
ADV = "0.2"


def inst(
    name: str = "VI_1",
    *,
    prio: int,
    iface: str = "eth0",
    vrid: int = 51,
    vip: str = VIP,
    extra: str = "",
) -> str:
    return f"""
vrrp_instance {name} {{
    state BACKUP
    interface {iface}
    virtual_router_id {vrid}
    priority {prio}
    version 3
    advert_int {ADV}
    virtual_ipaddress {{
        {vip}/24
    }}
{extra}
}}
"""


def pair(lab: Any, h1: str, h2: str) -> None:
    lab.write("h1", h1)
    lab.write("h2", h2)
    lab.start("h1")
    lab.start("h2")


def test_v4_failing_track_script_lowers_priority_and_backup_takes_over(
    v4lab: Factory, tmp_path: Path
) -> None:
    lab = v4lab()
    flag = tmp_path / "healthy"
    flag.write_text("ok")
    script = f"""
vrrp_script chk {{
    script "/usr/bin/test -f {flag}"
    interval 0.3
    weight -20
    fall 2
    rise 2
}}
"""
    pair(
        lab,
        script + inst(prio=100, extra="    track_script {\n        chk\n    }"),
        inst(prio=90),
    )
    wait_for = _wait(lab)
    wait_for(lambda: lab.holders(VIP) == ["h1"], 10, "h1 master")
    flag.unlink()
    wait_for(lambda: lab.holders(VIP) == ["h2"], 10, "h2 takes over after the script fails")
    assert "Changing effective priority from 100 to 80" in lab.log("h1")
    flag.write_text("ok")
    wait_for(lambda: lab.holders(VIP) == ["h1"], 10, "h1 preempts again when healthy")


def test_v4_tracked_interface_down_is_fault_and_peer_becomes_master(v4lab: Factory) -> None:
    lab = v4lab(hosts=2, segments=2)
    track = "    track_interface {\n        eth1\n    }"
    pair(lab, inst(prio=100, extra=track), inst(prio=90))
    wait_for = _wait(lab)
    wait_for(lambda: lab.holders(VIP) == ["h1"], 10, "h1 master")
    lab.run("h1", ["ip", "link", "set", "eth1", "down"])
    wait_for(lambda: lab.holders(VIP) == ["h2"], 10, "h2 master when h1's eth1 is down")
    wait_for(lambda: "(VI_1) Entering FAULT STATE" in lab.log("h1"), 5, "FAULT logged")
    lab.run("h1", ["ip", "link", "set", "eth1", "up"])
    wait_for(lambda: lab.holders(VIP) == ["h1"], 10, "h1 back")


def test_v4_weighted_interface_and_track_file(v4lab: Factory, tmp_path: Path) -> None:
    lab = v4lab(hosts=2, segments=2)
    fpath = tmp_path / "weight"
    fpath.write_text("0\n")
    h1 = f"""
track_file f1 {{
    file "{fpath}"
    weight -1
}}
""" + inst(
        prio=100,
        extra="    track_interface {\n        eth1 weight -15\n    }\n"
        "    track_file {\n        f1 weight -30\n    }",
    )
    pair(lab, h1, inst(prio=90))
    wait_for = _wait(lab)
    wait_for(lambda: lab.holders(VIP) == ["h1"], 10, "h1 master")
    lab.run("h1", ["ip", "link", "set", "eth1", "down"])  # 100 - 15 = 85 < 90
    wait_for(lambda: lab.holders(VIP) == ["h2"], 10, "h2 after weighted link loss")
    assert "(VI_1) Entering FAULT STATE" not in lab.log("h1")
    lab.run("h1", ["ip", "link", "set", "eth1", "up"])
    wait_for(lambda: lab.holders(VIP) == ["h1"], 10, "h1 back at 100")
    tmp = fpath.with_suffix(".new")
    tmp.write_text("1\n")
    tmp.rename(fpath)  # 1 * -30: 70 < 90
    wait_for(lambda: lab.holders(VIP) == ["h2"], 10, "h2 after the track file says 1")
    assert "Changing effective priority from 100 to 70" in lab.log("h1")


def test_v4_track_process_quorum(v4lab: Factory, tmp_path: Path) -> None:
    lab = v4lab()
    exe = tmp_path / "pkv4_daemon"
    shutil.copy("/bin/sleep", exe)
    h1 = f"""
vrrp_track_process proc {{
    process {exe}
    full_command
    quorum 1
}}
""" + inst(prio=100, extra="    track_process {\n        proc\n    }")
    lab.write("h1", h1)
    lab.write("h2", inst(prio=90))
    lab.start("h2")
    lab.start("h1")
    wait_for = _wait(lab)
    wait_for(lambda: lab.holders(VIP) == ["h2"], 10, "h2 master while h1 lacks quorum")
    proc = subprocess.Popen([str(exe), "60"])
    try:
        wait_for(lambda: lab.holders(VIP) == ["h1"], 10, "h1 master once the process runs")
    finally:
        proc.kill()
        proc.wait()
    wait_for(lambda: lab.holders(VIP) == ["h2"], 10, "h2 again when the process is gone")


def test_v4_sync_group_of_two_interfaces_moves_as_one(v4lab: Factory, tmp_path: Path) -> None:
    lab = v4lab(hosts=2, segments=2)
    marker = tmp_path / "group_master"

    def conf(prio: int, notify: str = "") -> str:
        return (
            "vrrp_sync_group G {\n    group {\n        VI_1\n        VI_2\n    }\n"
            f"{notify}}}\n"
            + inst("VI_1", prio=prio)
            + inst("VI_2", prio=prio, iface="eth1", vrid=52, vip=VIP2)
        )

    notify = f'    notify_master "/usr/bin/touch {marker}"\n'
    pair(lab, conf(100, notify), conf(90))
    wait_for = _wait(lab)
    both_h1 = lambda: lab.holders(VIP) == ["h1"] and lab.holders(VIP2) == ["h1"]  # noqa: E731
    wait_for(both_h1, 10, "both VIPs on h1")
    wait_for(marker.exists, 5, "group notify_master ran")
    lab.run("h1", ["ip", "link", "set", "eth1", "down"])
    # VI_2 faults; the group takes VI_1 with it even though eth0 is fine
    wait_for(lambda: lab.holders(VIP) == ["h2"] and lab.has_vip("h2", VIP2), 10, "group moved")
    assert not lab.has_vip("h1", VIP)
    log1 = lab.log("h1")
    assert "(VI_1) Entering FAULT STATE" in log1 and "(VI_2) Entering FAULT STATE" in log1
    lab.run("h1", ["ip", "link", "set", "eth1", "up"])
    wait_for(both_h1, 15, "both VIPs back on h1")


def test_v4_vmac_answers_arp_with_the_virtual_mac(v4lab: Factory) -> None:
    lab = v4lab()
    pair(lab, inst(prio=100, extra="    use_vmac"), inst(prio=90, extra="    use_vmac"))
    wait_for = _wait(lab)
    wait_for(lambda: lab.has_vip("h1", VIP, "vrrp.51"), 10, "VIP on h1's vrrp.51")
    link = lab.topo.ip_json("h1", ["-d", "link", "show", "vrrp.51"])[0]
    assert link["address"] == "00:00:5e:00:01:33"
    assert link["linkinfo"]["info_kind"] == "macvlan"
    assert link["linkinfo"]["info_data"]["mode"] == "private"
    assert lab.run("h1", ["cat", "/proc/sys/net/ipv4/conf/eth0/arp_ignore"]).strip() == "1"
    assert lab.run("h1", ["cat", "/proc/sys/net/ipv4/conf/vrrp.51/accept_local"]).strip() == "1"
    # a third party asks who has the VIP: the answer carries the virtual MAC
    h2_ns = lab.topo.host("h2").netns
    out = subprocess.run(
        ["ip", "netns", "exec", h2_ns, "arping", "-c", "2", "-w", "5", "-I", "eth0", VIP],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert re.search(r"from 00:00:5e:00:01:33 \(192\.0\.2\.100\)", out, re.I), out
    assert lab.stop("h1") == 0
    assert "vrrp.51" not in lab.links("h1")
    wait_for(lambda: lab.has_vip("h2", VIP, "vrrp.51"), 10, "h2 took over on its VMAC")


def test_v4_virtual_routes_and_rules_follow_master(v4lab: Factory) -> None:
    lab = v4lab()
    extra = (
        "    virtual_routes {\n        203.0.113.0/24 via 192.0.2.254 dev eth0\n"
        "        198.51.100.0/24 dev eth0 table 100\n    }\n"
        "    virtual_rules {\n        from 192.0.2.100 table 100 priority 100\n    }"
    )
    static = "static_routes {\n    10.99.0.0/16 dev eth0\n}\n"
    lab.write("h1", static + inst(prio=100, extra=extra))
    lab.start("h1")
    wait_for = _wait(lab)
    wait_for(lambda: lab.has_route("h1", "203.0.113.0/24"), 10, "virtual route on master")
    assert lab.has_route("h1", "198.51.100.0/24", "100")
    assert lab.has_route("h1", "10.99.0.0/16")
    assert any(r.get("priority") == 100 and r.get("table") == "100" for r in lab.rules("h1"))
    lab.write("h2", inst(prio=200, extra=extra))
    lab.start("h2")
    wait_for(lambda: lab.has_route("h2", "203.0.113.0/24"), 10, "route moves to the new master")
    wait_for(lambda: not lab.has_route("h1", "203.0.113.0/24"), 5, "route gone from backup")
    assert not any(r.get("priority") == 100 for r in lab.rules("h1"))
    assert lab.has_route("h1", "10.99.0.0/16")  # static routes stay
    assert lab.stop("h1") == 0
    assert not lab.has_route("h1", "10.99.0.0/16")


def test_v4_no_accept_and_strict_rules_present_and_removed(v4lab: Factory) -> None:
    lab = v4lab()
    conf = "global_defs {\n    vrrp_strict\n}\n" + inst(prio=100)
    lab.write("h1", conf)
    lab.write("h2", inst(prio=50, vrid=61, vip="192.0.2.101", extra="    no_accept"))
    lab.start("h1")
    lab.start("h2")
    wait_for = _wait(lab)
    wait_for(lambda: lab.has_vip("h1", VIP), 10, "h1 master")
    wait_for(lambda: VIP in lab.nft("h1"), 5, "drop set holds the VIP")
    ruleset = lab.nft("h1")
    assert "table ip keepalived" in ruleset and "ip daddr @vips drop" in ruleset
    wait_for(lambda: "192.0.2.101" in lab.nft("h2"), 10, "no_accept drop set on h2")
    ping = ["ping", "-c", "1", "-W", "1", VIP]
    assert lab.topo.run("h2", ping, check=False).returncode != 0  # dropped on h1
    assert lab.stop("h1") == 0
    assert "keepalived" not in lab.nft("h1")
    assert lab.stop("h2") == 0
    assert "keepalived" not in lab.nft("h2")


def test_v4_reload_keeps_a_changed_master_as_master(v4lab: Factory) -> None:
    lab = v4lab()
    lab.write("h1", inst(prio=100))
    lab.start("h1")
    wait_for = _wait(lab)
    wait_for(lambda: lab.has_vip("h1", VIP), 10, "h1 master")
    lab.write("h1", inst(prio=100, vip="192.0.2.150"))
    node = lab.nodes["h1"]
    os.kill(node.proc.pid, signal.SIGHUP)
    wait_for(lambda: lab.has_vip("h1", "192.0.2.150"), 10, "new VIP added")
    wait_for(lambda: not lab.has_vip("h1", VIP), 5, "old VIP removed")
    time.sleep(1)
    log = lab.log("h1")
    assert "keeping MASTER state" in log
    assert log.count("(VI_1) Entering MASTER STATE") == 2  # start, reload (no BACKUP between)
    assert "(VI_1) Entering BACKUP STATE\n" not in log.split("keeping MASTER state")[1]


def test_v4_unicast_fault_no_peer_startup_delay_and_script_security(
    v4lab: Factory, tmp_path: Path
) -> None:
    lab = v4lab()
    unsafe_dir = tmp_path / "unsafe"
    unsafe_dir.mkdir()
    unsafe_dir.chmod(0o777)
    unsafe = unsafe_dir / "check.sh"
    unsafe.write_text("#!/bin/sh\nexit 1\n")
    unsafe.chmod(0o777 | stat.S_IXUSR)
    h1 = (
        "global_defs {\n    enable_script_security\n    script_user root\n"
        "    vrrp_startup_delay 1.5\n}\n"
        f'vrrp_script bad {{\n    script "{unsafe}"\n    interval 0.3\n}}\n'
        + inst(prio=100, extra="    track_script {\n        bad\n    }")
        + inst(
            "VI_U",
            prio=100,
            vrid=70,
            vip="192.0.2.170",
            extra="    unicast_src_ip 192.0.2.1\n    unicast_peer {\n    }\n"
            "    unicast_fault_no_peer",
        )
    )
    lab.write("h1", h1)
    t0 = time.monotonic()
    lab.start("h1")
    wait_for = _wait(lab)
    # the insecure weight-0 script is disabled, so it does not hold VI_1 in FAULT
    took = wait_for(lambda: lab.has_vip("h1", VIP), 15, "VI_1 master")
    assert time.monotonic() - t0 >= 1.5 and took > 0
    log = lab.log("h1")
    assert "Delaying VRRP startup" in log
    assert "Disabling track script bad due to insecure" in log
    assert "(VI_U) Entering FAULT STATE" in log
    assert not lab.has_vip("h1", "192.0.2.170")


def _wait(lab: Any) -> Callable[..., float]:
    """The lab module's ``wait_for`` (loaded by path in conftest)."""
    return sys.modules[type(lab).__module__].wait_for  # type: ignore[no-any-return]
