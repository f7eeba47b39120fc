"""The namespace lab topology: wiring, addressing, teardown (also on failure), stale cleanup."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pykeepalived.lab.topology import (
    STALE_PATTERN,
    CommandError,
    HostSpec,
    SegmentSpec,
    Topology,
    TopologyError,
    TopologySpec,
    cleanup_stale,
    list_netns,
    run_cmd,
    run_in,
    simple_spec,
)

TopologyFactory = Callable[..., Topology]

pytestmark = pytest.mark.netns


def _ping(topo: Topology, host: str, addr: str) -> None:
    proc = topo.run(host, ["ping", "-c", "1", "-W", "2", addr], check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hosts_ping_each_other_v4_v6_and_link_local(topology: TopologyFactory) -> None:
    topo = topology(hosts=3)
    h1, h3 = topo.host("h1"), topo.host("h3")
    assert str(h3.ipv4()) == "192.0.2.3"
    _ping(topo, "h1", str(h3.ipv4()))
    _ping(topo, "h3", str(h1.ipv6()))
    infos = topo.ip_json("h3", ["-6", "addr", "show", "dev", "eth0"])[0]["addr_info"]
    ll = [a["local"] for a in infos if a.get("scope") == "link"]
    assert len(ll) == 1
    _ping(topo, "h1", f"{ll[0]}%eth0")


def test_interfaces_macs_lo_and_bridge_settings(topology: TopologyFactory) -> None:
    topo = topology(hosts=2, segments=2)
    links = {link["ifname"]: link for link in topo.ip_json("h2", ["link", "show"])}
    assert set(links) == {"lo", "eth0", "eth1"}
    assert "UP" in links["lo"]["flags"]
    for itf in topo.host("h2").interfaces:
        assert links[itf.name]["address"] == itf.mac
        assert links[itf.name]["operstate"] == "UP"
    assert str(topo.host("h2").ipv4("eth1")) == "198.51.100.2"

    out = run_cmd(["ip", "-n", topo.switch_ns, "-d", "-j", "link", "show", "type", "bridge"]).stdout
    bridges = {b["ifname"]: b["linkinfo"]["info_data"] for b in json.loads(out)}
    assert set(bridges) == {"lan0", "lan1"}
    for data in bridges.values():
        assert data["mcast_snooping"] == 0
        assert data["stp_state"] == 0
    # eth1 is on the second bridge: h1 reaches h2 over it, and the ports are where we said
    _ping(topo, "h1", "198.51.100.2")
    ports = run_cmd(["ip", "-n", topo.switch_ns, "-j", "link", "show", "master", "lan1"]).stdout
    assert {p["ifname"] for p in json.loads(ports)} == {"h1-eth1", "h2-eth1"}


def test_ipv6_dad_enabled_waits_until_addresses_are_usable(topology: TopologyFactory) -> None:
    topo = topology(hosts=2, ipv6_dad=True)
    addrs = topo.ip_json("h1", ["-6", "addr", "show", "dev", "eth0"])[0]["addr_info"]
    assert addrs, "expected IPv6 addresses"
    assert not any(a.get("tentative") for a in addrs)
    dad = run_in(topo.host("h1").netns, ["sysctl", "-n", "net.ipv6.conf.eth0.accept_dad"]).stdout
    assert dad.strip() == "1"
    _ping(topo, "h1", str(topo.host("h2").ipv6()))


def test_context_manager_removes_everything() -> None:
    with Topology.simple(2) as topo:
        names = topo.namespaces
        assert len(names) == 3
        assert set(names) <= set(list_netns())
    assert not set(names) & set(list_netns())
    assert topo.hosts == {}


def test_teardown_when_body_raises_and_processes_inside_are_killed() -> None:
    topo = Topology.simple(2)
    sleeper: subprocess.Popen[bytes] | None = None
    with pytest.raises(RuntimeError, match="boom"), topo:
        names = topo.namespaces
        sleeper = topo.popen("h1", ["sleep", "60"])
        raise RuntimeError("boom")
    assert sleeper is not None
    assert sleeper.wait(timeout=5) == -9
    assert not set(names) & set(list_netns())


def test_failed_build_cleans_up() -> None:
    # the kernel rejects '/' in an interface name, so creating the second bridge fails
    spec = TopologySpec(
        hosts=(HostSpec("h1", ("lan0",)),),
        segments=(SegmentSpec("lan0", None, None), SegmentSpec("bad/name", None, None)),
    )
    topo = Topology(spec)
    with pytest.raises(CommandError, match="bad/name"):
        topo.build()
    assert not [n for n in list_netns() if n.startswith(topo.prefix)]


def test_cleanup_stale_removes_dead_runs_and_keeps_live_ones(topology: TopologyFactory) -> None:
    live = topology(hosts=1)
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    dead_prefix = f"pk{pid_max + 1:x}-1-"  # no process can have this pid
    assert re.match(STALE_PATTERN, dead_prefix)
    stale = f"{dead_prefix}h1"
    run_cmd(["ip", "netns", "add", stale])
    try:
        removed = cleanup_stale()
        assert stale in removed
        assert stale not in list_netns()
        assert set(live.namespaces) <= set(list_netns())
        assert not set(live.namespaces) & set(removed)
    finally:
        if stale in list_netns():
            run_cmd(["ip", "netns", "delete", stale])


def test_cleanup_stale_pattern_without_pid_group_removes_matches() -> None:
    topo = Topology.simple(1).build()
    try:
        removed = cleanup_stale(re.escape(topo.prefix))
        assert sorted(removed) == sorted(topo.namespaces)
        assert not set(removed) & set(list_netns())
    finally:
        topo.teardown()


def test_run_in_reports_failures_with_stderr(topology: TopologyFactory) -> None:
    topo = topology(hosts=1)
    ns = topo.host("h1").netns
    with pytest.raises(CommandError) as info:
        run_in(ns, ["ip", "link", "show", "nosuch0"])
    assert info.value.returncode != 0
    assert "nosuch0" in info.value.stderr
    assert run_in(ns, ["false"], check=False).returncode == 1
    proc = topo.popen("h1", ["cat", "/proc/self/net/dev"], stdout=subprocess.PIPE, text=True)
    out, _ = proc.communicate(timeout=5)
    assert "eth0" in out


def test_two_topologies_coexist_without_collisions() -> None:
    with Topology.simple(1) as a, Topology.simple(1) as b:
        assert a.prefix != b.prefix
        assert a.prefix.startswith(f"pk{os.getpid():x}-")
        assert not set(a.namespaces) & set(b.namespaces)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (TopologySpec(hosts=(HostSpec("h1"), HostSpec("h1"))), "duplicate host"),
        (TopologySpec(hosts=(HostSpec("Bad_Name"),)), "bad host name"),
        (TopologySpec(hosts=(HostSpec("sw"),)), "bad host name"),
        (TopologySpec(hosts=(HostSpec("h1", ("lan9",)),)), "unknown segments"),
        (TopologySpec(hosts=(HostSpec("h1", host_id=255),)), "host_id"),
    ],
)
def test_invalid_specs_are_rejected_before_anything_is_built(
    spec: TopologySpec, message: str
) -> None:
    before = set(list_netns())
    with pytest.raises(TopologyError, match=message):
        Topology(spec)
    assert set(list_netns()) == before


def test_simple_spec_shape() -> None:
    spec = simple_spec(["a", "b"], segments=2)
    assert [h.name for h in spec.hosts] == ["a", "b"]
    assert all(h.segments == ("lan0", "lan1") for h in spec.hosts)
    with pytest.raises(TopologyError):
        simple_spec(2, segments=0)


def test_atexit_hook_tears_down_what_a_process_forgot(tmp_path: Path) -> None:
    script = tmp_path / "forget.py"
    script.write_text(
        "from pykeepalived.lab.topology import Topology\n"
        "topo = Topology.simple(2).build()\n"
        "print(topo.prefix, flush=True)\n"
        "raise SystemExit(3)  # no teardown: the atexit hook must clean up\n"
    )
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 3, proc.stderr
    prefix = proc.stdout.strip()
    assert prefix.startswith("pk")
    assert not [n for n in list_netns() if n.startswith(prefix)]


def test_persistent_lab_outlives_its_process_until_cleaned_up(tmp_path: Path) -> None:
    prefix = f"pklab{os.getpid():x}t-"  # 'l' is not hex: never taken for a crashed test run
    assert not re.match(STALE_PATTERN, prefix)
    script = tmp_path / "lab.py"
    script.write_text(
        "import sys\n"
        "from pykeepalived.lab.topology import Topology, simple_spec\n"
        "Topology(simple_spec(2), prefix=sys.argv[1], teardown_at_exit=False).build()\n"
    )
    try:
        proc = subprocess.run(
            [sys.executable, str(script), prefix],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        left = [n for n in list_netns() if n.startswith(prefix)]
        assert sorted(left) == sorted(f"{prefix}{n}" for n in ("sw", "h1", "h2"))
    finally:
        removed = cleanup_stale(re.escape(prefix))
    assert sorted(removed) == sorted(left)
    assert not [n for n in list_netns() if n.startswith(prefix)]
