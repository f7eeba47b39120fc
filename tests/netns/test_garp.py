"""GARP / unsolicited NA sent from one lab host, seen by another (tshark, AF_PACKET, neighbours)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any

import pytest
from pyroute2.netns import create_socket

from pykeepalived.lab.topology import Topology, run_cmd, run_in
from pykeepalived.vrrp.garp import (
    EtherType,
    GarpSender,
    build_garp,
    build_unsolicited_na,
)

pytestmark = pytest.mark.netns

TopologyFactory = Callable[..., Topology]
VIP4 = IPv4Address("192.0.2.100")
VIP6 = IPv6Address("2001:db8:0:1::100")
OLD_MAC = "02:00:00:00:00:99"
VMAC = "00:00:5e:00:01:33"
ETH_P_ALL = 0x0003
TRUE = {"1", "True"}  # tshark 4.0 prints booleans as 1, later versions as True


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"needs {tool}")


@contextlib.contextmanager
def capture(topo: Topology, host: str, pcap: Path, bpf: str, count: int) -> Iterator[None]:
    """tcpdump ``count`` frames matching ``bpf`` on host:eth0 into ``pcap`` around the block."""
    _need("tcpdump")
    argv = ["tcpdump", "-i", "eth0", "-n", "-U", "--immediate-mode", "-Z", "root"]
    proc = topo.popen(
        host, [*argv, "-c", str(count), "-w", str(pcap), bpf], stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert "listening on" in line, line
        yield
        proc.wait(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def tshark_fields(pcap: Path, *fields: str) -> list[dict[str, str]]:
    """One dict per frame of the requested tshark fields."""
    _need("tshark")
    argv = ["tshark", "-r", str(pcap), "-T", "fields", "-E", "separator=|"]
    for f in fields:
        argv += ["-e", f]
    out = run_cmd(argv).stdout
    return [dict(zip(fields, line.split("|"), strict=True)) for line in out.splitlines()]


def tshark_verbose(pcap: Path) -> str:
    _need("tshark")
    return run_cmd(["tshark", "-r", str(pcap), "-V"]).stdout


def neighbour(topo: Topology, host: str, addr: IPv4Address | IPv6Address) -> dict[str, Any]:
    family = "-6" if addr.version == 6 else "-4"
    entries = topo.ip_json(host, [family, "neigh", "show", str(addr), "dev", "eth0"])
    assert len(entries) == 1, entries
    return entries[0]


def seed_neighbour(topo: Topology, host: str, addr: IPv4Address | IPv6Address) -> None:
    """A stale entry pointing at some old MAC, as left by the previous master."""
    topo.run(host, ["ip", "neigh", "replace", str(addr), "lladdr", OLD_MAC, "dev", "eth0"])
    topo.run(host, ["ip", "neigh", "change", str(addr), "dev", "eth0", "nud", "stale"])


def test_garp_decoded_by_tshark_and_updates_neighbour(
    topology: TopologyFactory, tmp_path: Path
) -> None:
    topo = topology(hosts=2)
    sender, receiver = topo.host("h1"), topo.host("h2")
    seed_neighbour(topo, "h2", VIP4)
    pcap = tmp_path / "garp.pcap"
    with capture(topo, "h2", pcap, "arp", count=1), GarpSender(netns=sender.netns) as tx:
        assert tx.send_garp("eth0", VIP4, sender.iface().mac)
    assert (tx.sent, tx.errors) == (1, 0)

    (frame,) = tshark_fields(
        pcap,
        "eth.dst",
        "eth.src",
        "arp.opcode",
        "arp.isgratuitous",
        "arp.src.hw_mac",
        "arp.src.proto_ipv4",
        "arp.dst.hw_mac",
        "arp.dst.proto_ipv4",
    )
    assert frame["arp.isgratuitous"] in TRUE
    assert frame["arp.opcode"] == "1"
    assert frame["eth.dst"] == frame["arp.dst.hw_mac"] == "ff:ff:ff:ff:ff:ff"
    assert frame["eth.src"] == frame["arp.src.hw_mac"] == sender.iface().mac
    assert frame["arp.src.proto_ipv4"] == frame["arp.dst.proto_ipv4"] == str(VIP4)
    assert "gratuitous ARP" in tshark_verbose(pcap)

    entry = neighbour(topo, "h2", VIP4)
    assert entry["lladdr"] == sender.iface().mac
    assert receiver.iface().mac != sender.iface().mac


def test_garp_with_arp_accept_creates_entry_for_vmac(topology: TopologyFactory) -> None:
    topo = topology(hosts=2)
    run_in(topo.host("h2").netns, ["sysctl", "-q", "-w", "net.ipv4.conf.eth0.arp_accept=1"])
    assert topo.ip_json("h2", ["-4", "neigh", "show", str(VIP4), "dev", "eth0"]) == []
    with GarpSender(netns=topo.host("h1").netns) as tx:
        assert tx.send_garp("eth0", VIP4, VMAC)
    deadline = time.monotonic() + 2
    while not topo.ip_json("h2", ["-4", "neigh", "show", str(VIP4), "dev", "eth0"]):
        assert time.monotonic() < deadline, "no neighbour entry created"
        time.sleep(0.02)
    assert neighbour(topo, "h2", VIP4)["lladdr"] == VMAC


@pytest.mark.parametrize("router", [False, True])
def test_unsolicited_na_decoded_with_good_checksum_and_updates_neighbour(
    topology: TopologyFactory, tmp_path: Path, router: bool
) -> None:
    topo = topology(hosts=2)
    sender = topo.host("h1")
    seed_neighbour(topo, "h2", VIP6)
    pcap = tmp_path / "na.pcap"
    bpf = "icmp6 and ip6[40] == 136"
    with capture(topo, "h2", pcap, bpf, count=1), GarpSender(netns=sender.netns) as tx:
        assert tx.send_na("eth0", VIP6, sender.iface().mac, router=router)

    (frame,) = tshark_fields(
        pcap,
        "eth.dst",
        "eth.src",
        "ipv6.src",
        "ipv6.dst",
        "ipv6.hlim",
        "icmpv6.type",
        "icmpv6.code",
        "icmpv6.checksum.status",
        "icmpv6.nd.na.flag.r",
        "icmpv6.nd.na.flag.s",
        "icmpv6.nd.na.flag.o",
        "icmpv6.nd.na.target_address",
        "icmpv6.opt.linkaddr",
    )
    assert frame["eth.dst"] == "33:33:00:00:00:01"
    assert frame["eth.src"] == frame["icmpv6.opt.linkaddr"] == sender.iface().mac
    assert frame["ipv6.src"] == frame["icmpv6.nd.na.target_address"] == str(VIP6)
    assert frame["ipv6.dst"] == "ff02::1"
    assert frame["ipv6.hlim"] == "255"
    assert (frame["icmpv6.type"], frame["icmpv6.code"]) == ("136", "0")
    assert frame["icmpv6.checksum.status"] == "1"  # Good
    assert frame["icmpv6.nd.na.flag.o"] in TRUE
    assert frame["icmpv6.nd.na.flag.s"] not in TRUE
    assert (frame["icmpv6.nd.na.flag.r"] in TRUE) is router
    assert "[Checksum Status: Good]" in tshark_verbose(pcap)

    entry = neighbour(topo, "h2", VIP6)
    assert entry["lladdr"] == sender.iface().mac
    assert ("router" in entry) is router  # ip -j prints "router": null when the flag is set


def test_frames_arrive_byte_for_byte(topology: TopologyFactory) -> None:
    topo = topology(hosts=2)
    rx = create_socket(
        topo.host("h2").netns, socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL), flags=0
    )
    try:
        rx.bind(("eth0", ETH_P_ALL))
        rx.settimeout(2.0)
        with GarpSender(netns=topo.host("h1").netns) as tx:
            assert tx.send_garp("eth0", VIP4, VMAC)
            assert tx.send_na("eth0", VIP6, VMAC, router=False)
        wanted = {
            EtherType.ARP: build_garp(VIP4, VMAC),
            EtherType.IPV6: build_unsolicited_na(VIP6, VMAC, router=False),
        }
        seen: dict[int, bytes] = {}
        while len(seen) < len(wanted):
            frame = rx.recv(2048)
            ethertype = int.from_bytes(frame[12:14], "big")
            if frame[6:12] == bytes.fromhex(VMAC.replace(":", "")) and ethertype in wanted:
                seen[ethertype] = frame
        assert seen == wanted
    finally:
        rx.close()


def test_send_on_missing_interface_is_counted_not_raised(topology: TopologyFactory) -> None:
    topo = topology(hosts=1)
    with GarpSender(netns=topo.host("h1").netns) as tx:
        assert tx.send_garp("nosuch0", VIP4, VMAC) is False
        assert tx.send_for("eth0", VIP6, VMAC) is True
        assert tx.send_for("eth0", VIP4, VMAC) is True
    assert (tx.sent, tx.errors) == (2, 1)
