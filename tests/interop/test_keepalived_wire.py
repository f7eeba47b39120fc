"""Real keepalived's adverts, decoded, validated and re-encoded byte for byte by our codec.

Debian's keepalived 2.2.7 runs in a network namespace created for the test (veth0 =
192.0.2.1/24), with one instance per flavour: v2 PASS, v2 AH multicast, v2 AH unicast, v3 IPv4,
v3 IPv6, v3 unicast, v3 unicast with ``old_unicast_checksum``. tcpdump captures on the peer end
of the veth pair, in a second namespace (192.0.2.2/24). Once every instance has sent two adverts,
keepalived is stopped (so each master also sends its priority-0 advert). Both namespaces and
both processes are always removed.
"""

from __future__ import annotations

import os
import shutil
import signal
import struct
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv6Address

import pytest

from pykeepalived.vrrp.auth import auth_data_from_password
from pykeepalived.vrrp.packet import (
    VRRP_MCAST_GROUP4,
    VRRP_MCAST_GROUP6,
    AuthType,
    ChecksumCompat,
    Family,
    InstanceExpectations,
    ReceivedAdvert,
    UnicastPeer,
    VrrpVersion,
    decode_ipv4,
    decode_ipv6,
    encode_ipv4,
    encode_vrrp,
    needs_old_unicast_checksum,
    validate,
)
from pykeepalived.vrrp.stats import VrrpStats

pytestmark = [pytest.mark.interop, pytest.mark.slow]

LOCAL = IPv4Address("192.0.2.1")
PEER = IPv4Address("192.0.2.2")
CAPTURE_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Instance:
    """One vrrp_instance: the config we give keepalived and what we expect to see."""

    name: str
    vrid: int
    version: VrrpVersion
    priority: int
    advert_int: str
    vips: tuple[IPv4Address | IPv6Address, ...]
    auth: tuple[AuthType, str] | None = None
    unicast: bool = False
    old_checksum: bool = False
    extra: list[str] = field(default_factory=list)

    @property
    def family(self) -> Family:
        return Family.IPV6 if isinstance(self.vips[0], IPv6Address) else Family.IPV4

    @property
    def adver_int_cs(self) -> int:
        return round(float(self.advert_int) * 100)

    def config(self) -> str:
        lines = [
            f"vrrp_instance {self.name} {{",
            f"  version {int(self.version)}",
            "  state MASTER",
            "  interface veth0",
            f"  virtual_router_id {self.vrid}",
            f"  priority {self.priority}",
            f"  advert_int {self.advert_int}",
        ]
        if self.unicast:
            lines += [f"  unicast_src_ip {LOCAL}", f"  unicast_peer {{\n    {PEER}\n  }}"]
        if self.old_checksum:
            lines.append("  old_unicast_checksum")
        if self.auth is not None:
            kind, password = self.auth
            lines.append(
                f"  authentication {{\n    auth_type {kind.name}\n    auth_pass {password}\n  }}"
            )
        prefix = 128 if self.family is Family.IPV6 else 32
        lines.append("  virtual_ipaddress {")
        lines += [f"    {vip}/{prefix}" for vip in self.vips]
        lines += ["  }", "}"]
        return "\n".join(lines)

    def expectations(self) -> InstanceExpectations:
        auth_type, auth_data = AuthType.NONE, bytes(8)
        if self.auth is not None:
            auth_type, auth_data = self.auth[0], auth_data_from_password(self.auth[1])
        return InstanceExpectations(
            version=self.version,
            vrid=self.vrid,
            family=self.family,
            adver_int_cs=self.adver_int_cs,
            vips=self.vips,
            auth_type=auth_type,
            auth_data=auth_data,
            # From the receiver's point of view (192.0.2.2), 192.0.2.1 is the peer.
            unicast_peers=(UnicastPeer(LOCAL),) if self.unicast else (),
            check_unicast_src=self.unicast,
            unicast_checksum_compat=ChecksumCompat.CONFIG
            if self.old_checksum
            else ChecksumCompat.NONE,
        )


V4 = IPv4Address
INSTANCES = [
    Instance(
        "V2PASS", 11, VrrpVersion.V2, 150, "1", (V4("192.0.2.100"), V4("192.0.2.101")),
        auth=(AuthType.PASS, "secret12"),
    ),
    Instance(
        "V2AH", 12, VrrpVersion.V2, 150, "1", (V4("192.0.2.110"),), auth=(AuthType.AH, "ahkey")
    ),
    Instance(
        "V2AHU", 13, VrrpVersion.V2, 150, "1", (V4("192.0.2.120"),),
        auth=(AuthType.AH, "uni"), unicast=True,
    ),
    Instance(
        "V3V4", 14, VrrpVersion.V3, 200, "0.5",
        (V4("192.0.2.130"), V4("192.0.2.131"), V4("192.0.2.132")),
    ),
    Instance(
        "V3V6", 15, VrrpVersion.V3, 200, "1", (IPv6Address("fe80::15"), IPv6Address("2001:db8::15"))
    ),
    Instance("V3U", 16, VrrpVersion.V3, 100, "1", (V4("192.0.2.140"),), unicast=True),
    Instance(
        "V3UOLD", 17, VrrpVersion.V3, 100, "1", (V4("192.0.2.150"),),
        unicast=True, old_checksum=True,
    ),
]  # fmt: skip
BY_VRID = {i.vrid: i for i in INSTANCES}


@dataclass(frozen=True)
class Captured:
    """One captured advert: the bytes our decoders take and the decoded result."""

    raw: bytes
    """IPv4: the whole IP packet; IPv6: the payload."""
    rx: ReceivedAdvert


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=30)


def parse_pcap(data: bytes) -> list[Captured]:
    """Parse the complete Ethernet records of a (possibly still growing) pcap file."""
    if len(data) < 24:
        return []
    out: list[Captured] = []
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack_from("<I", data, off + 8)[0]
        if off + 16 + incl > len(data):
            break
        frame = data[off + 16 : off + 16 + incl]
        off += 16 + incl
        ethertype = struct.unpack_from("!H", frame, 12)[0]
        pkt = frame[14:]
        if ethertype == 0x0800 and pkt[9] in (51, 112):
            raw = pkt[: struct.unpack_from("!H", pkt, 2)[0]]  # drop Ethernet padding
            out.append(Captured(raw, decode_ipv4(raw)))
        elif ethertype == 0x86DD and pkt[6] == 112:
            payload = pkt[40 : 40 + struct.unpack_from("!H", pkt, 4)[0]]
            rx = decode_ipv6(
                payload,
                src=IPv6Address(pkt[8:24]),
                dst=IPv6Address(pkt[24:40]),
                hop_limit=pkt[7],
            )
            out.append(Captured(payload, rx))
    return out


def _enough(adverts: list[Captured]) -> bool:
    counts = {vrid: 0 for vrid in BY_VRID}
    for c in adverts:
        if c.rx.advert.priority:
            counts[c.rx.advert.vrid] = counts.get(c.rx.advert.vrid, 0) + 1
    return all(n >= 2 for n in counts.values())


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Captured]]:
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces")
    for tool in ("keepalived", "tcpdump"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed (apt-get install {tool})")
    tmp = tmp_path_factory.mktemp("kawire")
    conf = tmp / "keepalived.conf"
    conf.write_text(
        "global_defs {\n  router_id pyka_wire\n}\n" + "\n".join(i.config() for i in INSTANCES)
    )
    pcap = tmp / "capture.pcap"
    prefix = f"pkw{uuid.uuid4().hex[:8]}"
    ns_ka, ns_cap = f"{prefix}-ka", f"{prefix}-cap"
    keepalived: subprocess.Popen[bytes] | None = None
    tcpdump: subprocess.Popen[bytes] | None = None
    created: list[str] = []
    try:
        for ns in (ns_ka, ns_cap):
            _run("ip", "netns", "add", ns)
            created.append(ns)
            _run("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0")
            _run("ip", "-n", ns, "link", "set", "lo", "up")
        _run(
            "ip", "link", "add", "veth0", "netns", ns_ka, "type", "veth",
            "peer", "name", "veth1", "netns", ns_cap,
        )  # fmt: skip
        for ns, dev, addr in ((ns_ka, "veth0", LOCAL), (ns_cap, "veth1", PEER)):
            _run("ip", "netns", "exec", ns, "sysctl", "-qw", f"net.ipv6.conf.{dev}.accept_dad=0")
            _run("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
            _run("ip", "-n", ns, "link", "set", dev, "up")
        tcpdump = subprocess.Popen(
            [
                "ip", "netns", "exec", ns_cap, "tcpdump", "-i", "veth1", "-n", "-U",
                "-w", str(pcap), "ip proto 112 or ip proto 51 or (ip6 and ip6 proto 112)",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not (pcap.exists() and pcap.stat().st_size >= 24):
            if time.monotonic() > deadline or tcpdump.poll() is not None:
                pytest.fail("tcpdump did not start")
            time.sleep(0.05)
        keepalived = subprocess.Popen(
            [
                "ip", "netns", "exec", ns_ka, "keepalived", "-n", "-l", "-P", "--no-syslog",
                "-f", str(conf), "-p", str(tmp / "ka.pid"), "-r", str(tmp / "vrrp.pid"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + CAPTURE_TIMEOUT_S
        while not _enough(parse_pcap(pcap.read_bytes())):
            if time.monotonic() > deadline:
                pytest.fail("keepalived did not send 2 adverts per instance in time")
            if keepalived.poll() is not None:
                pytest.fail(f"keepalived exited with {keepalived.returncode}")
            time.sleep(0.2)
        _stop(keepalived)  # masters send priority 0 on the way out
        time.sleep(0.5)
        _stop(tcpdump)
        yield parse_pcap(pcap.read_bytes())
    finally:
        _stop(keepalived)
        _stop(tcpdump)
        for ns in created:
            subprocess.run(["ip", "netns", "del", ns], check=False, timeout=30)


def by_vrid(adverts: list[Captured]) -> dict[int, list[Captured]]:
    out: dict[int, list[Captured]] = {vrid: [] for vrid in BY_VRID}
    for c in adverts:
        out[c.rx.advert.vrid].append(c)
    return out


def test_decoded_fields_match_the_config(captured: list[Captured]) -> None:
    for vrid, adverts in by_vrid(captured).items():
        inst = BY_VRID[vrid]
        assert len(adverts) >= 3, inst.name  # 2 while master, then priority 0
        for c in adverts:
            a = c.rx.advert
            assert a.version is inst.version
            assert a.family is inst.family
            assert a.priority in (inst.priority, 0)
            assert a.adver_int_cs == inst.adver_int_cs
            assert a.addresses == inst.vips
            assert a.auth_type is (inst.auth[0] if inst.auth else AuthType.NONE)
            assert c.rx.ttl == 255
            group = VRRP_MCAST_GROUP6 if inst.family is Family.IPV6 else VRRP_MCAST_GROUP4
            assert c.rx.dst == (PEER if inst.unicast else group)
            if inst.auth and inst.auth[0] is AuthType.PASS:
                assert a.auth_data == auth_data_from_password(inst.auth[1])
            if inst.family is Family.IPV4:
                assert c.rx.tos == 0xC0
                assert c.rx.src == LOCAL


def test_validate_accepts_every_advert(captured: list[Captured]) -> None:
    for vrid, adverts in by_vrid(captured).items():
        inst = BY_VRID[vrid]
        exp = inst.expectations()
        stats = VrrpStats()
        last_seq = 0
        for c in adverts:
            reason = validate(c.rx, exp, ah_last_seq=last_seq)
            assert reason is None, (inst.name, reason)
            stats.record_received(reason, c.rx.advert.priority)
            if c.rx.ah is not None:
                last_seq = c.rx.ah.seq_number
            # Replaying the same AH advert is refused.
            if c.rx.ah is not None:
                assert validate(c.rx, exp, ah_last_seq=last_seq) is not None
        assert stats.advert_rcvd == len(adverts)
        assert stats.pri_zero_rcvd == 1


def test_old_unicast_checksum_is_detected(captured: list[Captured]) -> None:
    old = by_vrid(captured)[17]
    exp_default = replace(BY_VRID[17].expectations(), unicast_checksum_compat=ChecksumCompat.NONE)
    exp_never = replace(exp_default, unicast_checksum_compat=ChecksumCompat.NEVER)
    for c in old:
        assert validate(c.rx, exp_default) is None
        assert needs_old_unicast_checksum(c.rx, exp_default)
        assert validate(c.rx, exp_never) is not None
    for c in by_vrid(captured)[16]:
        assert not needs_old_unicast_checksum(c.rx, BY_VRID[16].expectations())


def test_reencoding_gives_keepalived_bytes(captured: list[Captured]) -> None:
    for c in captured:
        inst = BY_VRID[c.rx.advert.vrid]
        if inst.family is Family.IPV6:
            assert isinstance(c.rx.src, IPv6Address) and isinstance(c.rx.dst, IPv6Address)
            assert encode_vrrp(c.rx.advert, src=c.rx.src, dst=c.rx.dst) == c.raw
            continue
        assert isinstance(c.rx.dst, IPv4Address) and c.rx.ip_id is not None
        again = encode_ipv4(
            c.rx.advert,
            src=LOCAL,
            dst=c.rx.dst,
            ip_id=c.rx.ip_id,
            pseudo_header_dst=VRRP_MCAST_GROUP4 if inst.old_checksum else None,
            ah_key=auth_data_from_password(inst.auth[1]) if inst.auth else None,
            ah_seq=c.rx.ah.seq_number if c.rx.ah else 0,
            unicast=inst.unicast,
        )
        assert again == c.raw, inst.name


def test_ip_id_and_ah_sequence_count_up(captured: list[Captured]) -> None:
    for vrid, adverts in by_vrid(captured).items():
        inst = BY_VRID[vrid]
        if inst.family is not Family.IPV4:
            continue
        ids = [c.rx.ip_id for c in adverts]
        assert ids == list(range(1, len(ids) + 1)), inst.name
        seqs = [c.rx.ah.seq_number for c in adverts if c.rx.ah is not None]
        if inst.auth is not None and inst.auth[0] is AuthType.AH:
            assert seqs == list(range(1, len(seqs) + 1))
        else:
            assert seqs == []


def test_priority_zero_last(captured: list[Captured]) -> None:
    for adverts in by_vrid(captured).values():
        priorities = [c.rx.advert.priority for c in adverts]
        assert priorities[-1] == 0
        assert 0 not in priorities[:-1]
