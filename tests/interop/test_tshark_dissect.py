"""Wireshark's VRRP dissector, an independent implementation, reads what our encoder writes.

The adverts are written to a pcap (LINKTYPE_RAW: each record is a bare IPv4 or IPv6 packet) and
dissected by ``tshark``. For every packet we check the fields tshark extracts, that the VRRP
checksum (and the IPv4 header checksum) are "Good", and that nothing is flagged malformed. A packet
with a deliberately broken checksum shows that the check can fail.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import pytest

from pykeepalived.vrrp.auth import auth_data_from_password
from pykeepalived.vrrp.packet import (
    VRRP_MCAST_GROUP4,
    VRRP_MCAST_GROUP6,
    Advertisement,
    AuthType,
    Family,
    VrrpVersion,
    encode_ipv4,
    encode_vrrp,
)

pytestmark = pytest.mark.interop

LINKTYPE_RAW = 101
SRC4 = IPv4Address("192.0.2.1")
PEER4 = IPv4Address("192.0.2.2")
SRC6 = IPv6Address("fe80::1")

FIELDS = [
    "vrrp.version",
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
    "ip.checksum.status",
    "ip.ttl",
    "ip.dsfield",
    "ipv6.hlim",
    "ah.spi",
    "ah.sequence",
    "_ws.malformed",
]


def write_pcap(path: Path, packets: list[bytes]) -> None:
    """Write ``packets`` (bare IP packets) as a classic pcap with LINKTYPE_RAW."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_RAW)]
    for i, pkt in enumerate(packets):
        out.append(struct.pack("<IIII", 1_700_000_000 + i, 0, len(pkt), len(pkt)))
        out.append(pkt)
    path.write_bytes(b"".join(out))


def ipv6_packet(payload: bytes, src: IPv6Address, dst: IPv6Address, hop_limit: int = 255) -> bytes:
    """An IPv6 header as the kernel builds it for keepalived (traffic class 0xc0, NH 112)."""
    first = (6 << 28) | (0xC0 << 20)
    header = struct.pack("!IHBB", first, len(payload), 112, hop_limit) + src.packed + dst.packed
    return header + payload


@dataclass(frozen=True)
class Case:
    """One packet and what tshark must report for it."""

    packet: bytes
    advert: Advertisement
    checksum_good: bool = True


def cases() -> list[Case]:
    key = auth_data_from_password("ahkey")
    v2_pass = Advertisement(
        version=VrrpVersion.V2,
        vrid=11,
        priority=150,
        adver_int_cs=100,
        addresses=(IPv4Address("192.0.2.100"), IPv4Address("192.0.2.101")),
        auth_type=AuthType.PASS,
        auth_data=auth_data_from_password("secret12"),
    )
    v2_ah = Advertisement(
        version=VrrpVersion.V2,
        vrid=12,
        priority=100,
        adver_int_cs=300,
        addresses=(IPv4Address("192.0.2.110"),),
        auth_type=AuthType.AH,
    )
    v2_none_prio0 = Advertisement(
        version=VrrpVersion.V2, vrid=13, priority=0, adver_int_cs=100, addresses=()
    )
    v3_v4 = Advertisement(
        version=VrrpVersion.V3,
        vrid=14,
        priority=200,
        adver_int_cs=50,
        addresses=tuple(IPv4Address(f"198.51.100.{i}") for i in range(1, 11)),
    )
    v3_unicast = Advertisement(
        version=VrrpVersion.V3,
        vrid=16,
        priority=255,
        adver_int_cs=4095,
        addresses=(IPv4Address("203.0.113.7"),),
    )
    v3_v6 = Advertisement(
        version=VrrpVersion.V3,
        vrid=15,
        priority=200,
        adver_int_cs=100,
        family=Family.IPV6,
        addresses=(
            IPv6Address("fe80::15"),
            IPv6Address("2001:db8::15"),
            IPv6Address("2001:db8::16"),
        ),
    )
    bad = bytearray(encode_ipv4(v3_v4, src=SRC4, dst=VRRP_MCAST_GROUP4, ip_id=9))
    bad[26] ^= 0x55  # corrupt the VRRP checksum
    return [
        Case(encode_ipv4(v2_pass, src=SRC4, dst=VRRP_MCAST_GROUP4, ip_id=1), v2_pass),
        Case(
            encode_ipv4(v2_ah, src=SRC4, dst=VRRP_MCAST_GROUP4, ip_id=2, ah_key=key, ah_seq=7),
            v2_ah,
        ),
        Case(encode_ipv4(v2_none_prio0, src=SRC4, dst=VRRP_MCAST_GROUP4, ip_id=3), v2_none_prio0),
        Case(encode_ipv4(v3_v4, src=SRC4, dst=VRRP_MCAST_GROUP4, ip_id=4), v3_v4),
        Case(encode_ipv4(v3_unicast, src=SRC4, dst=PEER4, ip_id=5), v3_unicast),
        Case(
            ipv6_packet(
                encode_vrrp(v3_v6, src=SRC6, dst=VRRP_MCAST_GROUP6), SRC6, VRRP_MCAST_GROUP6
            ),
            v3_v6,
        ),
        Case(bytes(bad), v3_v4, checksum_good=False),
    ]


def run_tshark(pcap: Path, *prefs: str) -> list[dict[str, str]]:
    tshark = shutil.which("tshark")
    if tshark is None:
        pytest.fail("tshark is not installed (apt-get install tshark)")
    cmd = [tshark, "-n", "-r", str(pcap), "-o", "ip.check_checksum:TRUE"]
    for pref in prefs:
        cmd += ["-o", pref]
    cmd += ["-T", "fields", "-E", "separator=\t", "-E", "aggregator=,", "-E", "occurrence=a"]
    for f in FIELDS:
        cmd += ["-e", f]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True)
    rows = []
    for line in proc.stdout.splitlines():
        values = line.split("\t")
        rows.append(dict(zip(FIELDS, values, strict=True)))
    return rows


def test_tshark_dissects_our_adverts(tmp_path: Path) -> None:
    all_cases = cases()
    pcap = tmp_path / "adverts.pcap"
    write_pcap(pcap, [c.packet for c in all_cases])
    rows = run_tshark(pcap)
    assert len(rows) == len(all_cases)
    for case, row in zip(all_cases, rows, strict=True):
        a = case.advert
        assert row["_ws.malformed"] == "", row
        assert row["vrrp.version"] == str(int(a.version))
        assert row["vrrp.virt_rtr_id"] == str(a.vrid)
        assert row["vrrp.prio"] == str(a.priority)
        assert row["vrrp.addr_count"] == str(a.naddr)
        # 1 = Good, 0 = Bad (wireshark's PROTO_CHECKSUM_E_GOOD / _BAD).
        assert row["vrrp.checksum.status"] == ("1" if case.checksum_good else "0"), row
        if a.family is Family.IPV4:
            assert row["vrrp.ip_addr"] == ",".join(str(x) for x in a.addresses)
            assert row["ip.checksum.status"] == "1"
            assert row["ip.ttl"] == "255"
            assert int(row["ip.dsfield"], 16) == 0xC0
        else:
            assert [IPv6Address(x) for x in row["vrrp.ipv6_addr"].split(",")] == list(a.addresses)
            assert row["ipv6.hlim"] == "255"
        if a.version is VrrpVersion.V2:
            assert row["vrrp.auth_type"] == str(int(a.auth_type))
            assert row["vrrp.adver_int"] == str(a.adver_int_raw)
        else:
            assert row["vrrp.short_adver_int"] == str(a.adver_int_cs)
        if a.auth_type is AuthType.PASS:
            assert row["vrrp.auth_string"] == a.auth_data.rstrip(b"\x00").decode()
        if a.auth_type is AuthType.AH:
            assert int(row["ah.spi"], 0) == int(SRC4)
            assert row["ah.sequence"] == "7"


def test_tshark_v3_checksum_as_v2(tmp_path: Path) -> None:
    """With the ``vrrp.v3_checksum_as_in_v2`` preference tshark accepts our RFC 9568 checksums
    and refuses the pseudo-header ones, and the other way round without it."""
    advert = Advertisement(
        version=VrrpVersion.V3,
        vrid=20,
        priority=100,
        adver_int_cs=100,
        addresses=(IPv4Address("192.0.2.200"),),
    )
    plain = encode_ipv4(advert, src=SRC4, dst=VRRP_MCAST_GROUP4, ip_id=1, v3_checksum_as_v2=True)
    pseudo = encode_ipv4(advert, src=SRC4, dst=VRRP_MCAST_GROUP4, ip_id=2)
    pcap = tmp_path / "v3v2.pcap"
    write_pcap(pcap, [plain, pseudo])
    as_v2 = run_tshark(pcap, "vrrp.v3_checksum_as_in_v2:TRUE")
    assert [r["vrrp.checksum.status"] for r in as_v2] == ["1", "0"]
    default = run_tshark(pcap)
    assert [r["vrrp.checksum.status"] for r in default] == ["0", "1"]
