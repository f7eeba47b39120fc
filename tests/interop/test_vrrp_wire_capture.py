"""What two running daemons put on the wire, captured by a third host and read by tshark.

Three host namespaces share one bridged segment: h1 (priority 100) and h2 (90) run the daemons,
h3 only captures (tcpdump, promiscuous; the bridge floods multicast). Wireshark's dissectors are
an implementation independent of ours:

* every advert pykeepalived sends during an election, a failover on SIGSTOP, a preemption back
  and two clean stops (priority 0) has a good VRRP checksum (and IPv4 header checksum), TTL/hop
  limit 255, the configured version/VRID/interval/addresses/authentication, and nothing tshark
  calls malformed or an error (v2 PASS, v2 AH, v3 IPv4, v3 IPv6); the gratuitous ARPs and
  unsolicited NAs are well-formed and announce the VIP with the sender's MAC;
* after a takeover (the master hung with SIGSTOP), the gratuitous ARPs / NAs that
  pykeepalived sends come in the same numbers and bursts as keepalived 2.2.7's on the same
  topology and config (``vrrp_garp_master_repeat``, ``vrrp_garp_master_delay`` second burst,
  ``vrrp_garp_interval`` / ``vrrp_gna_interval`` spacing), with short delays to stay fast.
"""

from __future__ import annotations

import importlib.util
import itertools
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from ipaddress import IPv6Address, ip_address
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from pykeepalived.lab.topology import Topology

pytestmark = [pytest.mark.interop, pytest.mark.slow]

TopologyFactory = Callable[..., Topology]


def _load_scenarios() -> ModuleType:
    path = Path(__file__).parents[1] / "netns" / "test_vrrp_daemon.py"
    spec = importlib.util.spec_from_file_location("_vrrp_daemon_scenarios_wire", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


S = _load_scenarios()
MODES = {m.id: m for m in S.MODES}
DISSECT_MODES = [
    MODES[i] for i in ("v2-pass-ipv4-mcast", "v2-ah-ipv4-mcast", "v3-ipv4-mcast", "v3-ipv6-mcast")
]
CAPTURE_FILTER = "ip proto 112 or ip proto 51 or ip6 proto 112 or arp or icmp6"

ADVERT_FIELDS = [
    "frame.time_epoch",
    "eth.src",
    "ip.src",
    "ipv6.src",
    "ip.dst",
    "ipv6.dst",
    "ip.ttl",
    "ipv6.hlim",
    "ip.checksum.status",
    "ip.dsfield",
    "ipv6.tclass",
    "vrrp.version",
    "vrrp.type",
    "vrrp.virt_rtr_id",
    "vrrp.prio",
    "vrrp.addr_count",
    "vrrp.checksum.status",
    "vrrp.ip_addr",
    "vrrp.ipv6_addr",
    "vrrp.auth_type",
    "vrrp.adver_int",
    "vrrp.short_adver_int",
    "vrrp.auth_string",
    "ah.spi",
    "ah.sequence",
    "_ws.malformed",
    "_ws.expert.severity",
]
GARP_FIELDS = [
    "frame.time_epoch",
    "eth.src",
    "eth.dst",
    "arp.opcode",
    "arp.isgratuitous",
    "arp.src.hw_mac",
    "arp.src.proto_ipv4",
    "arp.dst.hw_mac",
    "arp.dst.proto_ipv4",
    "_ws.malformed",
]
NA_FIELDS = [
    "frame.time_epoch",
    "eth.src",
    "eth.dst",
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
    "_ws.malformed",
]


# --------------------------------------------------------------------------------------------
# capture and dissection helpers


class Capture:
    """tcpdump writing a pcap in one host namespace.

    ``--immediate-mode``: without it the kernel hands packets over in blocks (up to a second
    late), and those still in the ring when tcpdump is stopped are lost; ``-U``: every packet is
    written out at once.
    """

    def __init__(self, topo: Topology, host: str, pcap: Path) -> None:
        if shutil.which("tcpdump") is None:
            pytest.fail("tcpdump is not installed (apt-get install tcpdump)")
        self.pcap = pcap
        self.proc: subprocess.Popen[bytes] | None = topo.popen(
            host,
            [
                "tcpdump",
                "-i",
                "eth0",
                "-n",
                "-U",
                "--immediate-mode",
                "-w",
                str(pcap),
                CAPTURE_FILTER,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not (pcap.exists() and pcap.stat().st_size >= 24):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                pytest.fail("tcpdump did not start")
            time.sleep(0.05)
        time.sleep(0.2)  # the header is written just before the capture loop starts

    def stop(self) -> Path:
        proc = self.proc
        if proc is not None and proc.poll() is None:
            time.sleep(0.2)  # let the last packets in
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        self.proc = None
        return self.pcap


def tshark(pcap: Path, display_filter: str, fields: list[str]) -> list[dict[str, str]]:
    """Rows of ``fields`` for the packets matching ``display_filter``."""
    exe = shutil.which("tshark")
    if exe is None:
        pytest.fail("tshark is not installed (apt-get install tshark)")
    cmd = [exe, "-n", "-r", str(pcap), "-o", "ip.check_checksum:TRUE", "-Y", display_filter]
    cmd += ["-T", "fields", "-E", "separator=\t", "-E", "aggregator=,", "-E", "occurrence=a"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    return [dict(zip(fields, line.split("\t"), strict=True)) for line in out.splitlines()]


def tshark_verbose(pcap: Path, display_filter: str) -> str:
    """``tshark -V`` text of the matching packets."""
    exe = shutil.which("tshark")
    assert exe is not None
    cmd = [exe, "-n", "-r", str(pcap), "-o", "ip.check_checksum:TRUE", "-V", "-Y", display_filter]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout


@dataclass(frozen=True)
class Burst:
    """Gratuitous ARPs/NAs sent close together: when the burst started and how many."""

    start_s: float
    count: int
    min_gap_s: float


def bursts(times: list[float], split_s: float) -> list[Burst]:
    """Group sorted ``times`` into bursts separated by more than ``split_s``."""
    out: list[list[float]] = []
    for t in sorted(times):
        if out and t - out[-1][-1] <= split_s:
            out[-1].append(t)
        else:
            out.append([t])
    result = []
    for group in out:
        gaps = [b - a for a, b in itertools.pairwise(group)]
        result.append(Burst(group[0], len(group), min(gaps) if gaps else 0.0))
    return result


# --------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture
def lab3(topology: TopologyFactory, tmp_path: Path) -> Iterator[Any]:
    """h1 and h2 for the daemons, h3 for the capture; everything stopped afterwards."""
    the_lab = S.Lab(topology(hosts=3), tmp_path)
    try:
        yield the_lab
    finally:
        the_lab.kill_all()
        for host in the_lab.nodes:
            print(f"----- {host} log -----\n{the_lab.log(host)}")


@pytest.fixture
def capture(lab3: Any, tmp_path: Path) -> Iterator[Callable[[str], Capture]]:
    started: list[Capture] = []

    def start(name: str) -> Capture:
        cap = Capture(lab3.topo, "h3", tmp_path / f"{name}.pcap")
        started.append(cap)
        return cap

    try:
        yield start
    finally:
        for cap in started:
            cap.stop()


# --------------------------------------------------------------------------------------------
# 1. pykeepalived's adverts, GARPs and NAs dissect clean


def _mac(lab: Any, host: str) -> str:
    return str(lab.topo.host(host).iface("eth0").mac).lower()


@pytest.mark.parametrize("mode", DISSECT_MODES, ids=[m.id for m in DISSECT_MODES])
def test_pykeepalived_wire_dissects_clean(
    lab3: Any, capture: Callable[[str], Capture], mode: Any
) -> None:
    S.pair(lab3, mode)
    cap = capture(mode.id)
    lab3.start("h1")
    lab3.start("h2")
    vip = mode.vip
    S.wait_for(lambda: lab3.holders(vip) == ["h1"], mode.master_down_s(100) + 10, "h1 master")
    S.stays(lambda: lab3.holders(vip) == ["h1"], 3 * mode.advert_int_s, "h1 master")
    lab3.signal("h1", signal.SIGSTOP)
    S.wait_for(lambda: lab3.has_vip("h2", vip), mode.master_down_s(90) + 5, "h2 takeover")
    time.sleep(2.5 * mode.advert_int_s)  # a few adverts from h2 as master
    lab3.signal("h1", signal.SIGCONT)
    S.wait_for(lambda: lab3.holders(vip) == ["h1"], mode.master_down_s(90) + 10, "h1 back")
    assert lab3.stop("h1") == 0  # priority 0 from h1
    S.wait_for(lambda: lab3.has_vip("h2", vip), mode.master_down_s(90), "h2 after stop")
    assert lab3.stop("h2") == 0  # and from h2
    pcap = cap.stop()

    by_mac = {_mac(lab3, h): h for h in ("h1", "h2")}
    proto = "ah" if mode.auth == "AH" else "vrrp"
    rows = tshark(pcap, proto, ADVERT_FIELDS)
    assert len(rows) >= 8, f"only {len(rows)} adverts captured"
    text = tshark_verbose(pcap, f"{proto} or arp or icmpv6.type == 136")
    assert "Malformed" not in text
    assert "[Expert Info (Error" not in text, "tshark flags an error"

    prios: dict[str, set[int]] = {"h1": set(), "h2": set()}
    ah_seq: dict[str, int] = {}
    for row in rows:
        assert row["_ws.malformed"] == "", row
        assert "error" not in row["_ws.expert.severity"].lower(), row
        host = by_mac[row["eth.src"].lower()]
        src = ip_address(row["ip.src"] or row["ipv6.src"])
        if mode.family == 4:
            assert str(src) == lab3.address(host, 4)
        else:  # IPv6 adverts come from the link-local address
            assert src.is_link_local, src
        prios[host].add(int(row["vrrp.prio"]))
        assert row["vrrp.version"] == str(mode.version)
        assert row["vrrp.type"] == "1"
        assert row["vrrp.virt_rtr_id"] == "51"
        assert row["vrrp.addr_count"] == "1"
        assert row["vrrp.checksum.status"] == "1", f"bad VRRP checksum: {row}"
        if mode.family == 4:
            assert row["ip.dst"] == "224.0.0.18"
            assert row["ip.ttl"] == "255"
            assert row["ip.checksum.status"] == "1", row
            assert int(row["ip.dsfield"], 16) == 0xC0
            assert row["vrrp.ip_addr"] == mode.vip
        else:
            assert row["ipv6.dst"] == "ff02::12"
            assert row["ipv6.hlim"] == "255"
            assert int(row["ipv6.tclass"], 16) == 0xC0
            assert IPv6Address(row["vrrp.ipv6_addr"]) == IPv6Address(mode.vip)
        if mode.version == 2:
            assert row["vrrp.adver_int"] == str(int(mode.advert_int_s))
            assert row["vrrp.auth_type"] == {None: "0", "PASS": "1", "AH": "2"}[mode.auth]
        else:
            assert row["vrrp.short_adver_int"] == str(round(mode.advert_int_s * 100))
        if mode.auth == "PASS":
            assert row["vrrp.auth_string"] == "s3cret"
        if mode.auth == "AH":
            assert int(row["ah.spi"], 0) == int(src)
            seq = int(row["ah.sequence"])
            assert seq > ah_seq.get(host, 0), "AH sequence numbers must increase"
            ah_seq[host] = seq
    # h1 sent at 100 and resigned with 0; h2 sent at 90 (as master) and resigned with 0
    assert {100, 0} <= prios["h1"], prios
    assert {90, 0} <= prios["h2"], prios

    if mode.family == 4:
        garps = tshark(pcap, f"arp.src.proto_ipv4 == {vip}", GARP_FIELDS)
        assert garps, "no gratuitous ARP for the VIP"
        for row in garps:
            assert row["_ws.malformed"] == ""
            assert row["eth.dst"] == "ff:ff:ff:ff:ff:ff"
            assert row["arp.opcode"] == "1"  # a request, as keepalived sends
            assert row["arp.isgratuitous"] in ("1", "True")
            assert row["arp.dst.proto_ipv4"] == vip
            assert row["arp.dst.hw_mac"] == "ff:ff:ff:ff:ff:ff"
            assert row["arp.src.hw_mac"] == row["eth.src"]
            assert row["eth.src"] in (_mac(lab3, "h1"), _mac(lab3, "h2"))
    else:
        nas = tshark(pcap, f"icmpv6.type == 136 && ipv6.src == {vip}", NA_FIELDS)
        assert nas, "no unsolicited NA for the VIP"
        for row in nas:
            assert row["_ws.malformed"] == ""
            assert row["eth.dst"] == "33:33:00:00:00:01"
            assert row["ipv6.dst"] == "ff02::1"
            assert row["ipv6.hlim"] == "255"
            assert row["icmpv6.code"] == "0"
            assert row["icmpv6.checksum.status"] == "1", row
            assert row["icmpv6.nd.na.flag.o"] in ("1", "True")
            assert row["icmpv6.nd.na.flag.s"] in ("0", "False")
            assert IPv6Address(row["icmpv6.nd.na.target_address"]) == IPv6Address(vip)
            assert row["icmpv6.opt.linkaddr"].lower() == row["eth.src"].lower()
            assert row["eth.src"] in (_mac(lab3, "h1"), _mac(lab3, "h2"))


# --------------------------------------------------------------------------------------------
# 2. GARP / NA counts after a takeover: pykeepalived as keepalived

GARP_REPEAT = 3
GARP_DELAY_S = 1
GARP_INTERVAL_S = 0.02
VIPS = {
    4: ("192.0.2.100/24", "192.0.2.101/24"),
    6: ("2001:db8:0:1::100/64", "2001:db8:0:1::101/64"),
}


def garp_config(family: int, priority: int, interval_s: float) -> str:
    spacing = (
        f"    vrrp_garp_interval {interval_s}\n    vrrp_gna_interval {interval_s}\n"
        if interval_s
        else ""
    )
    return (
        "global_defs {\n"
        f"    vrrp_garp_master_repeat {GARP_REPEAT}\n"
        f"    vrrp_garp_master_delay {GARP_DELAY_S}\n" + spacing + "}\n"
        "vrrp_instance VI_1 {\n"
        "    state BACKUP\n"
        "    interface eth0\n"
        "    virtual_router_id 51\n"
        f"    priority {priority}\n"
        "    advert_int 0.1\n"
        "    version 3\n"
        "    virtual_ipaddress {\n" + "".join(f"        {v}\n" for v in VIPS[family]) + "    }\n"
        "}\n"
    )


def takeover_announcements(
    lab: Any, capture: Callable[[str], Capture], impl: str, family: int, interval_s: float
) -> list[Burst]:
    """Run ``impl`` on h1/h2, hang h1, and return h2's GARP/NA bursts for the VIPs."""
    lab.write("h1", garp_config(family, 100, interval_s))
    lab.write("h2", garp_config(family, 90, interval_s))
    for host in ("h1", "h2"):  # a previous run's pid files must not be taken for this one's
        lab.nodes[host].pidfile.unlink(missing_ok=True)
        lab.nodes[host].vrrp_pidfile.unlink(missing_ok=True)
    vip = VIPS[family][0].split("/")[0]
    lab.start("h1", impl)
    lab.start("h2", impl)
    S.wait_for(lambda: lab.holders(vip) == ["h1"], 20, f"{impl}: h1 master")
    time.sleep(GARP_DELAY_S + 0.5)  # h1's own second burst is over
    cap = capture(f"garp-{impl}-{family}-{interval_s}")
    lab.signal("h1", signal.SIGSTOP)
    try:
        S.wait_for(lambda: lab.has_vip("h2", vip), 5, f"{impl}: h2 takeover")
        time.sleep(GARP_DELAY_S + 1.0)  # the second burst, and some margin
    finally:
        lab.signal("h1", signal.SIGCONT)
    pcap = cap.stop()
    for host in ("h1", "h2"):
        lab.stop(host)
        node = lab.nodes[host]
        if node._log_fh is not None:  # the next start opens the log again
            node._log_fh.close()
            node._log_fh = None
    mac = _mac(lab, "h2")
    vips = [v.split("/")[0] for v in VIPS[family]]
    if family == 4:
        flt = " || ".join(f"arp.src.proto_ipv4 == {v}" for v in vips)
    else:
        flt = "icmpv6.type == 136 && (" + " || ".join(f"ipv6.src == {v}" for v in vips) + ")"
    rows = tshark(pcap, f"eth.src == {mac} && ({flt})", ["frame.time_epoch"])
    return bursts([float(r["frame.time_epoch"]) for r in rows], split_s=GARP_DELAY_S / 2)


@pytest.mark.parametrize(
    "interval_s",
    [0, GARP_INTERVAL_S],
    ids=["burst", "spaced"],
)
@pytest.mark.parametrize("family", [4, 6], ids=["garp-ipv4", "na-ipv6"])
def test_takeover_announcements_match_keepalived(
    lab3: Any, capture: Callable[[str], Capture], family: int, interval_s: float
) -> None:
    if shutil.which(S.KEEPALIVED) is None:
        pytest.skip("keepalived is not installed (apt-get install keepalived)")
    ka = takeover_announcements(lab3, capture, "keepalived", family, interval_s)
    py = takeover_announcements(lab3, capture, "pykeepalived", family, interval_s)
    print(f"keepalived: {ka}\npykeepalived: {py}")
    # keepalived itself: two bursts, the second garp_master_delay after the first
    assert len(ka) == 2, ka
    assert ka[0].count >= GARP_REPEAT, ka
    # pykeepalived: the same counts, the same delay
    assert [b.count for b in py] == [b.count for b in ka], (py, ka)
    ka_delay, py_delay = ka[1].start_s - ka[0].start_s, py[1].start_s - py[0].start_s
    assert abs(py_delay - ka_delay) < 0.25, (py_delay, ka_delay)
    assert py_delay == pytest.approx(GARP_DELAY_S, abs=0.25)
    if interval_s:
        # vrrp_garp_interval / vrrp_gna_interval: no two packets closer than the interval
        for b_py, b_ka in zip(py, ka, strict=True):
            assert b_ka.min_gap_s >= interval_s * 0.8, b_ka
            assert b_py.min_gap_s >= interval_s * 0.8, b_py
