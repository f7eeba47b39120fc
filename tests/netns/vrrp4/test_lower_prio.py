"""A MASTER hearing a lower-priority advert, on the wire, as keepalived 2.2.7 handles it.

keepalived 2.2.7's ``vrrp_state_master_rx()`` (``vrrp.c``), on an advert with a lower priority
(or the same priority from a lower address):

* sends one advert of its own at once, unless ``lower_prio_no_advert``, and then restarts its
  advert timer (``vrrp_dispatcher_read()``: "If we have sent an advert, reset the timer"); with
  ``lower_prio_no_advert`` the periodic adverts keep their schedule;
* sends ``garp_lower_prio_repeat`` gratuitous ARPs per VIP and, if ``garp_lower_prio_delay`` is
  not 0, the same burst again that many seconds later (``vrrp_lower_prio_gratuitous_arp_thread``,
  only while the VIPs are still set). Both default to the global ``vrrp_garp_lower_prio_*``, which
  default to ``vrrp_garp_master_delay`` / ``vrrp_garp_master_repeat``;
* does the same GARP bursts for the other members of its sync group (with their own values);
* runs ``notify_master_rx_lower_pri`` with exactly the configured argv (``send_event_notify()``
  calls ``notify_exec()``, no INSTANCE/name/state/priority arguments are appended) and writes
  ``INSTANCE "<name>" MASTER_RX_LOWER_PRI <prio>`` to the notify FIFOs, for every such advert.

On an advert with a higher priority (or the same priority from a higher address),
``higher_prio_send_advert`` makes the master send one more advert (its own priority, not 0)
before it goes to BACKUP; without it nothing is sent. A lower-priority advert that fails the
checks (here: a different address list) is dropped, yet still restarts the advert timer.

h1 runs the daemon (pykeepalived, or keepalived 2.2.7 itself in the ``interop`` variants, which
must pass the very same assertions). h2 is the "intruder": an AF_PACKET socket in its namespace
injects crafted adverts (:func:`pykeepalived.vrrp.packet.encode_ipv4`) and records, with their
arrival times, the adverts, gratuitous ARPs and unsolicited NAs h1 sends. A priority-0 advert
from h2 at start makes h1 master one skew time later rather than after a whole down interval.
The advert interval is 2 s and the intruder sends 1 s after one of h1's periodic adverts, so
"at once", "on the old schedule" and "one interval later" are 1 s apart; every time window has
at least 0.4 s of margin.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any

import pytest
from pyroute2.netns import create_socket

from pykeepalived.vrrp.packet import Advertisement, VrrpVersion, encode_ipv4

pytestmark = [pytest.mark.netns, pytest.mark.slow]

Factory = Callable[..., Any]

IMPLS = ["pykeepalived", pytest.param("keepalived", marks=pytest.mark.interop)]

VIP = IPv4Address("192.0.2.100")
VIP2 = IPv4Address("192.0.2.101")
VRID = 51
VRID2 = 52
PRIO = 100
LOWER = 50
HIGHER = 150
ADVER_INT_S = 2
INTRUDER_OFFSET_S = 1.0
"""The intruder sends this long after one of h1's periodic adverts (half an interval)."""
MARGIN_S = 0.4
"""Slack allowed on every timing claim."""
BURST_GAP_S = 0.5
"""GARPs closer together than this belong to one burst."""

VRRP_GROUP = IPv4Address("224.0.0.18")
VRRP_GROUP_MAC = bytes.fromhex("01005e000012")
ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
IPPROTO_ICMPV6 = 58
ND_NEIGHBOR_ADVERT = 136
IPPROTO_VRRP = 112

QUIET_GARP_GLOBALS = "    vrrp_garp_master_repeat 1\n    vrrp_garp_master_delay 1\n"
"""A master's own bursts: one GARP at once and one a second later, then silence."""


# --------------------------------------------------------------------------------------------
# the intruder / observer on h2


@dataclass(frozen=True)
class SeenAdvert:
    at_s: float
    vrid: int
    priority: int


@dataclass(frozen=True)
class SeenGarp:
    """A gratuitous ARP (or an unsolicited neighbour advertisement) announcing ``vip``."""

    at_s: float
    vip: IPv4Address | IPv6Address


@dataclass(frozen=True)
class Burst:
    offset_s: float
    """Start of the burst, relative to the intruder's advert."""
    count: int


def _mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


class Wire:
    """An AF_PACKET socket on h2:eth0 recording what h1 sends, and injecting adverts."""

    def __init__(self, lab: Any) -> None:
        topo = lab.topo
        self._peer_mac = _mac_bytes(topo.host("h1").iface("eth0").mac)
        self._mac = _mac_bytes(topo.host("h2").iface("eth0").mac)
        self._src = topo.host("h2").ipv4("eth0")
        self._sock: socket.socket = create_socket(
            topo.host("h2").netns,
            socket.AF_PACKET,
            socket.SOCK_RAW,
            socket.htons(ETH_P_ALL),
            flags=0,
        )
        self._sock.bind(("eth0", ETH_P_ALL))
        self._sock.settimeout(0.1)
        self._lock = threading.Lock()
        self._adverts: list[SeenAdvert] = []
        self._garps: list[SeenGarp] = []
        self._ip_id = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._record, name="wire", daemon=True)
        self._thread.start()

    def _record(self) -> None:
        while not self._stop.is_set():
            try:
                frame = self._sock.recv(2048)
            except TimeoutError:
                continue
            except OSError:
                return
            at_s = time.monotonic()
            if frame[6:12] != self._peer_mac:
                continue
            ethertype = int.from_bytes(frame[12:14], "big")
            if ethertype == ETH_P_IP and frame[14 + 9] == IPPROTO_VRRP:
                vrrp = frame[14 + (frame[14] & 0x0F) * 4 :]
                with self._lock:
                    self._adverts.append(SeenAdvert(at_s, vrrp[1], vrrp[2]))
            elif ethertype == ETH_P_ARP and len(frame) >= 42:
                opcode = int.from_bytes(frame[20:22], "big")
                sender_ip = IPv4Address(frame[28:32])
                if opcode == 1 and sender_ip == IPv4Address(frame[38:42]):
                    with self._lock:
                        self._garps.append(SeenGarp(at_s, sender_ip))
            elif ethertype == ETH_P_IPV6 and self._is_na(frame):
                with self._lock:
                    self._garps.append(SeenGarp(at_s, IPv6Address(frame[62:78])))

    @staticmethod
    def _is_na(frame: bytes) -> bool:
        """An ICMPv6 neighbour advertisement right after the IPv6 header."""
        return len(frame) >= 78 and frame[20] == IPPROTO_ICMPV6 and frame[54] == ND_NEIGHBOR_ADVERT

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def adverts(self, since_s: float, until_s: float = float("inf")) -> list[SeenAdvert]:
        with self._lock:
            return [a for a in self._adverts if since_s <= a.at_s < until_s]

    def garps(self, since_s: float, until_s: float = float("inf")) -> list[SeenGarp]:
        with self._lock:
            return [g for g in self._garps if since_s <= g.at_s < until_s]

    def send_advert(
        self,
        priority: int,
        vrid: int = VRID,
        vips: tuple[IPv4Address, ...] = (VIP,),
        src: IPv4Address | None = None,
    ) -> float:
        """Inject one VRRPv3 advert from h2 (from ``src`` if given); return when it was sent."""
        self._ip_id += 1
        advert = Advertisement(
            version=VrrpVersion.V3,
            vrid=vrid,
            priority=priority,
            adver_int_cs=ADVER_INT_S * 100,
            addresses=vips,
        )
        packet = encode_ipv4(advert, src=src or self._src, dst=VRRP_GROUP, ip_id=self._ip_id)
        frame = VRRP_GROUP_MAC + self._mac + ETH_P_IP.to_bytes(2, "big") + packet
        at_s = time.monotonic()
        self._sock.send(frame)
        return at_s

    def send_after_periodic(
        self,
        priority: int,
        vrid: int = VRID,
        src: IPv4Address | None = None,
        vips: tuple[IPv4Address, ...] = (VIP,),
    ) -> float:
        """Wait for h1's next periodic advert, then send ``INTRUDER_OFFSET_S`` after it."""
        since = time.monotonic()

        def periodic() -> list[SeenAdvert]:
            return [a for a in self.adverts(since) if a.vrid == vrid]

        wait_for(lambda: bool(periodic()), 3 * ADVER_INT_S, "a periodic advert of h1")
        last = periodic()[0].at_s
        time.sleep(max(0.0, last + INTRUDER_OFFSET_S - time.monotonic()))
        return self.send_advert(priority, vrid, vips, src=src)

    def bursts(self, since_s: float, vip: IPv4Address | IPv6Address = VIP) -> list[Burst]:
        """The GARP bursts for ``vip`` seen from ``since_s`` on, relative to it."""
        out: list[list[float]] = []
        for g in self.garps(since_s):
            if g.vip != vip:
                continue
            if out and g.at_s - out[-1][-1] <= BURST_GAP_S:
                out[-1].append(g.at_s)
            else:
                out.append([g.at_s])
        return [Burst(b[0] - since_s, len(b)) for b in out]


def read_fifo(fd: int) -> str:
    """Whatever is waiting in a FIFO opened non-blocking ("" if nothing)."""
    with contextlib.suppress(BlockingIOError):
        return os.read(fd, 65536).decode()
    return ""


def wait_for_or_not(cond: Callable[[], bool], timeout_s: float) -> bool:
    """Poll ``cond`` for up to ``timeout_s``; return whether it came true."""
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def wait_for(cond: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll ``cond`` for up to ``timeout_s``; fail the test with ``what`` if it stays false."""
    if not wait_for_or_not(cond, timeout_s):
        pytest.fail(f"timed out after {timeout_s} s waiting for {what}")


# --------------------------------------------------------------------------------------------
# configs and the common scenario


def instance(
    name: str = "VI_1",
    *,
    vrid: int = VRID,
    vip: IPv4Address = VIP,
    extra: str = "",
) -> str:
    """One VRRPv3 instance on eth0, priority PRIO, one VIP, ``extra`` lines in its block."""
    return f"""
vrrp_instance {name} {{
    state BACKUP
    interface eth0
    virtual_router_id {vrid}
    priority {PRIO}
    version 3
    advert_int {ADVER_INT_S}
    virtual_ipaddress {{
        {vip}/24
    }}
{extra}}}
"""


def config(global_defs: str = "", instances: str | None = None, *, quiet: bool = True) -> str:
    """A config for h1: ``global_defs`` (after the quiet GARP globals) and ``instances``."""
    body = instances if instances is not None else instance()
    garp = QUIET_GARP_GLOBALS if quiet else ""
    return f"global_defs {{\n{garp}{global_defs}}}\n{body}"


@pytest.fixture
def master(v4lab: Factory) -> Iterator[Callable[[str, str], tuple[Any, Wire]]]:
    """Start ``impl`` on h1 with a config; return the lab and h2's wire once h1 is quiet."""
    wires: list[Wire] = []

    def start(impl: str, conf: str) -> tuple[Any, Wire]:
        lab = v4lab()
        wire = Wire(lab)
        wires.append(wire)
        lab.write("h1", conf)
        lab.start("h1", impl)
        # A priority-0 advert makes a backup take over after the skew time instead of the whole
        # Master_Down_Interval (7.2 s); it is repeated less often than the skew time (1.2 s)
        # in case the first one comes before the daemon listens.
        deadline = time.monotonic() + 20
        while not lab.has_vip("h1", str(VIP)):
            if time.monotonic() > deadline:
                pytest.fail(f"{impl} on h1 did not become master")
            wire.send_advert(0)
            wait_for_or_not(lambda: lab.has_vip("h1", str(VIP)), 1.5)
        # the master's own bursts (at once and 1 s later) are over after this
        time.sleep(2.0)
        return lab, wire

    try:
        yield start
    finally:
        for wire in wires:
            wire.close()


def assert_answered_at_once(wire: Wire, sent_s: float) -> None:
    """One advert of ours at once, then the advert timer restarted from there."""
    soon = wire.adverts(sent_s, sent_s + MARGIN_S)
    assert [(a.vrid, a.priority) for a in soon] == [(VRID, PRIO)]
    # the old schedule would send 1 s after the intruder; the restarted timer sends 2 s after
    new = soon[0].at_s + ADVER_INT_S
    assert wire.adverts(sent_s + MARGIN_S, new - MARGIN_S) == []
    assert len(wire.adverts(new - MARGIN_S, new + MARGIN_S)) == 1


def assert_not_answered(wire: Wire, sent_s: float) -> None:
    """No advert in answer: the next one comes on the old schedule."""
    old = sent_s + ADVER_INT_S - INTRUDER_OFFSET_S
    assert wire.adverts(sent_s, old - MARGIN_S) == []
    assert [(a.vrid, a.priority) for a in wire.adverts(old - MARGIN_S, old + MARGIN_S)] == [
        (VRID, PRIO)
    ]


def assert_bursts(bursts: list[Burst], expected: list[tuple[float, int]]) -> None:
    """``bursts`` start at the expected offsets (within MARGIN_S) with the expected counts."""
    assert [b.count for b in bursts] == [n for _, n in expected], bursts
    for burst, (offset_s, _) in zip(bursts, expected, strict=True):
        assert abs(burst.offset_s - offset_s) < MARGIN_S, bursts


def lower_prio_logged(lab: Any, *, advert: bool = True) -> Callable[[], bool]:
    """keepalived's log line for the intruder's advert is in h1's log (same text for both)."""
    tail = ", forcing new election" if advert else "\n"
    line = f"(VI_1) Received advert from 192.0.2.2 with lower priority {LOWER}, ours {PRIO}{tail}"
    return lambda: line in lab.log("h1")


# --------------------------------------------------------------------------------------------
# garp_lower_prio_repeat / garp_lower_prio_delay, and the advert sent in answer


GARP_CASES = {
    # id: (global_defs, instance extra, expected bursts (offset s, count))
    "global": (
        "    vrrp_garp_lower_prio_repeat 3\n    vrrp_garp_lower_prio_delay 2\n",
        "",
        [(0.0, 3), (2.0, 3)],
    ),
    "instance-overrides-global": (
        "    vrrp_garp_lower_prio_repeat 2\n    vrrp_garp_lower_prio_delay 1\n",
        "    garp_lower_prio_repeat 4\n    garp_lower_prio_delay 2\n",
        [(0.0, 4), (2.0, 4)],
    ),
    # unset, the global lower_prio values are the global (not the instance's) master values
    "default-is-global-garp-master": (
        "    vrrp_garp_master_repeat 2\n    vrrp_garp_master_delay 1\n",
        "",
        [(0.0, 2), (1.0, 2)],
    ),
    "instance-garp-master-not-inherited": (
        "",
        "    garp_master_repeat 3\n    garp_master_delay 1\n",
        [(0.0, 1), (1.0, 1)],
    ),
    "delay-0-one-burst": (
        "    vrrp_garp_lower_prio_repeat 3\n    vrrp_garp_lower_prio_delay 0\n",
        "",
        [(0.0, 3)],
    ),
    "repeat-0-no-garp": (
        "    vrrp_garp_lower_prio_repeat 0\n    vrrp_garp_lower_prio_delay 2\n",
        "",
        [],
    ),
}


@pytest.mark.parametrize("case", list(GARP_CASES))
@pytest.mark.parametrize("impl", IMPLS)
def test_lower_prio_advert_gets_an_advert_and_garp_bursts(
    master: Callable[[str, str], tuple[Any, Wire]], impl: str, case: str
) -> None:
    """An advert at once, the GARP bursts the keywords (or their defaults) ask for, still master."""
    global_defs, extra, expected = GARP_CASES[case]
    quiet = case != "default-is-global-garp-master"
    lab, wire = master(impl, config(global_defs, instance(extra=extra), quiet=quiet))
    sent = wire.send_after_periodic(LOWER)
    time.sleep(max([float(ADVER_INT_S), *(o for o, _ in expected)]) + 1.5)
    assert_answered_at_once(wire, sent)
    assert_bursts(wire.bursts(sent), expected)
    wait_for(lower_prio_logged(lab), 2, "the lower-priority log line")
    assert lab.has_vip("h1", str(VIP))


@pytest.mark.parametrize("impl", IMPLS)
def test_every_vip_and_excluded_vip_gets_its_bursts(
    master: Callable[[str, str], tuple[Any, Wire]], impl: str
) -> None:
    """``garp_lower_prio_repeat`` GARPs / unsolicited NAs for each VIP and eVIP, twice."""
    evip4 = IPv4Address("203.0.113.100")
    evip6 = IPv6Address("2001:db8:0:1::100")
    extra = f"    virtual_ipaddress_excluded {{\n        {evip4}/24\n        {evip6}/64\n    }}\n"
    conf = config(
        "    vrrp_garp_lower_prio_repeat 2\n    vrrp_garp_lower_prio_delay 1\n",
        instance(extra=f"    virtual_ipaddress {{\n        {VIP2}/24\n    }}\n{extra}"),
    )
    lab, wire = master(impl, conf)
    sent = wire.send_after_periodic(LOWER, vips=(VIP, VIP2))
    time.sleep(2.5)
    assert_answered_at_once(wire, sent)
    for address in (VIP, VIP2, evip4, evip6):
        assert_bursts(wire.bursts(sent, address), [(0.0, 2), (1.0, 2)])
    assert lab.has_vip("h1", str(evip6))


@pytest.mark.parametrize("where", ["global", "instance"])
@pytest.mark.parametrize("impl", IMPLS)
def test_lower_prio_no_advert_keeps_the_schedule_but_still_garps(
    master: Callable[[str, str], tuple[Any, Wire]], impl: str, where: str
) -> None:
    """No advert in answer (the periodic ones keep their schedule); the GARPs still go."""
    garp = "    vrrp_garp_lower_prio_repeat 2\n    vrrp_garp_lower_prio_delay 1\n"
    if where == "global":
        conf = config(garp + "    vrrp_lower_prio_no_advert\n")
    else:
        conf = config(garp, instance(extra="    lower_prio_no_advert true\n"))
    lab, wire = master(impl, conf)
    sent = wire.send_after_periodic(LOWER)
    time.sleep(2.5)
    assert_not_answered(wire, sent)
    assert_bursts(wire.bursts(sent), [(0.0, 2), (1.0, 2)])
    wait_for(lower_prio_logged(lab, advert=False), 2, "the lower-priority log line")
    assert lab.has_vip("h1", str(VIP))


@pytest.mark.parametrize("impl", IMPLS)
def test_lower_prio_no_advert_false_per_instance_beats_global(
    master: Callable[[str, str], tuple[Any, Wire]], impl: str
) -> None:
    """``lower_prio_no_advert false`` in the instance overrides the global keyword."""
    conf = config(
        "    vrrp_garp_lower_prio_repeat 0\n    vrrp_lower_prio_no_advert\n",
        instance(extra="    lower_prio_no_advert false\n"),
    )
    _lab, wire = master(impl, conf)
    sent = wire.send_after_periodic(LOWER)
    time.sleep(2.5)
    assert_answered_at_once(wire, sent)


# --------------------------------------------------------------------------------------------
# higher_prio_send_advert


@pytest.mark.parametrize("option", ["", "global", "instance"])
@pytest.mark.parametrize("impl", IMPLS)
def test_higher_prio_send_advert_sends_one_advert_before_yielding(
    master: Callable[[str, str], tuple[Any, Wire]], impl: str, option: str
) -> None:
    """One advert with our own priority at once, then BACKUP; nothing at all without it."""
    if option == "global":
        conf = config("    vrrp_higher_prio_send_advert\n")
    elif option == "instance":
        conf = config("", instance(extra="    higher_prio_send_advert\n"))
    else:
        conf = config()
    lab, wire = master(impl, conf)
    sent = wire.send_after_periodic(HIGHER)
    wait_for(lambda: not lab.has_vip("h1", str(VIP)), 3, "h1 to give up the VIP")
    time.sleep(ADVER_INT_S)
    expected = [(VRID, PRIO)] if option else []
    assert [(a.vrid, a.priority) for a in wire.adverts(sent)] == expected
    if option:
        assert wire.adverts(sent)[0].at_s - sent < MARGIN_S
    assert wire.garps(sent) == []


@pytest.mark.parametrize("src", ["lower-address", "higher-address"])
@pytest.mark.parametrize("impl", IMPLS)
def test_equal_priority_is_decided_by_the_address(
    master: Callable[[str, str], tuple[Any, Wire]], impl: str, src: str
) -> None:
    """Same priority: a lower sender address counts as lower priority, a higher one wins."""
    conf = config(
        "    vrrp_garp_lower_prio_repeat 2\n    vrrp_garp_lower_prio_delay 0\n"
        "    vrrp_higher_prio_send_advert\n"
    )
    lab, wire = master(impl, conf)
    # h1 is 192.0.2.1: the network address is below it, h2's own address above it
    sender = IPv4Address("192.0.2.0") if src == "lower-address" else None
    sent = wire.send_after_periodic(PRIO, src=sender)
    time.sleep(2.5)
    if src == "lower-address":
        assert_answered_at_once(wire, sent)
        assert_bursts(wire.bursts(sent), [(0.0, 2)])
        assert lab.has_vip("h1", str(VIP))
        line = f"(VI_1) Received advert from 192.0.2.0 with lower priority {PRIO}, ours {PRIO}"
        assert line in lab.log("h1")
    else:
        # higher_prio_send_advert covers the equal-priority, higher-address case too
        assert [(a.vrid, a.priority) for a in wire.adverts(sent)] == [(VRID, PRIO)]
        assert wire.bursts(sent) == []
        assert not lab.has_vip("h1", str(VIP))


@pytest.mark.parametrize("comes_back", [False, True], ids=["stays-backup", "master-again"])
@pytest.mark.parametrize("impl", IMPLS)
def test_delayed_lower_prio_burst_needs_the_vips_when_it_is_due(
    master: Callable[[str, str], tuple[Any, Wire]], impl: str, comes_back: bool
) -> None:
    """The second burst is a plain timer: it sends only if the VIPs are set when it fires.

    A higher-priority advert right after the lower-priority one sends h1 to BACKUP. If it stays
    there, the burst due 3 s later is not sent. If a priority-0 advert brings it back first (it
    takes over one skew time, 1.2 s, later and sends its own single GARP), the burst is sent.
    """
    conf = config(
        "    vrrp_garp_lower_prio_repeat 3\n    vrrp_garp_lower_prio_delay 3\n",
        instance(extra="    garp_master_delay 0\n"),
    )
    lab, wire = master(impl, conf)
    sent = wire.send_after_periodic(LOWER)
    time.sleep(0.5)
    wire.send_advert(HIGHER)
    wait_for(lambda: not lab.has_vip("h1", str(VIP)), 2, "h1 to give up the VIP")
    expected = [(0.0, 3)]
    if comes_back:
        time.sleep(max(0.0, sent + 1.0 - time.monotonic()))
        wire.send_advert(0)
        wait_for(lambda: lab.has_vip("h1", str(VIP)), 2.5, "h1 to take over again")
        expected += [(2.2, 1), (3.0, 3)]
    time.sleep(max(0.0, sent + 4.5 - time.monotonic()))
    assert_bursts(wire.bursts(sent), expected)


@pytest.mark.parametrize("impl", IMPLS)
def test_invalid_lower_prio_advert_only_restarts_the_advert_timer(
    master: Callable[[str, str], tuple[Any, Wire]], impl: str, tmp_path: Path
) -> None:
    """A lower-priority advert whose address list differs is dropped (``addr_list_err``).

    keepalived still restarts the master's advert timer after it (``vrrp_dispatcher_read()``
    does so for every advert while ``lower_prio_no_advert`` is off), so the next advert comes
    a whole interval later, and nothing else happens: no advert, no GARP, no notify.
    """
    marker = tmp_path / "rx_lower.ran"
    conf = config(
        "    vrrp_garp_lower_prio_repeat 2\n    vrrp_garp_lower_prio_delay 0\n",
        instance(extra=f'    notify_master_rx_lower_pri "/usr/bin/touch {marker}"\n'),
    )
    lab, wire = master(impl, conf)
    since = time.monotonic()
    wait_for(lambda: bool(wire.adverts(since)), 3 * ADVER_INT_S, "a periodic advert of h1")
    last = wire.adverts(since)[0].at_s
    time.sleep(max(0.0, last + INTRUDER_OFFSET_S - time.monotonic()))
    sent = wire.send_advert(LOWER, vips=(VIP2,))
    time.sleep(2.5)
    restarted = sent + ADVER_INT_S
    assert wire.adverts(sent, restarted - MARGIN_S) == []
    assert len(wire.adverts(restarted - MARGIN_S, restarted + MARGIN_S)) == 1
    assert wire.bursts(sent) == []
    assert not marker.exists()
    assert lab.has_vip("h1", str(VIP))


# --------------------------------------------------------------------------------------------
# notify_master_rx_lower_pri and the FIFO event


@pytest.mark.parametrize("impl", IMPLS)
def test_notify_master_rx_lower_pri_runs_with_its_own_argv_and_fifo_event(
    master: Callable[[str, str], tuple[Any, Wire]], impl: str, tmp_path: Path
) -> None:
    out = tmp_path / "rx_lower.out"
    script = tmp_path / "rx_lower.sh"
    script.write_text(f'#!/bin/sh\necho "$#:$*" >> {out}\n')
    script.chmod(0o755)
    fifo = tmp_path / "vrrp.fifo"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        conf = config(
            f'    vrrp_notify_fifo "{fifo}"\n    vrrp_garp_lower_prio_repeat 0\n',
            instance(extra=f'    notify_master_rx_lower_pri "{script} one two"\n'),
        )
        lab, wire = master(impl, conf)
        read_fifo(fd)  # the BACKUP/MASTER lines of the start
        assert not out.exists()
        wire.send_advert(LOWER)
        time.sleep(0.5)
        wire.send_advert(LOWER)

        def lines() -> list[str]:
            return out.read_text().splitlines() if out.exists() else []

        wait_for(lambda: len(lines()) >= 2, 5, "two notify_master_rx_lower_pri runs")
        time.sleep(0.5)
        assert lines() == ["2:one two", "2:one two"]
        lines_rx = read_fifo(fd).splitlines()
        assert lines_rx == [f'INSTANCE "VI_1" MASTER_RX_LOWER_PRI {PRIO}'] * 2
        assert lab.has_vip("h1", str(VIP))
        # a higher-priority advert runs no such notify
        wire.send_advert(HIGHER)
        wait_for(lambda: not lab.has_vip("h1", str(VIP)), 3, "h1 to give up the VIP")
        time.sleep(0.5)
        assert len(lines()) == 2
    finally:
        os.close(fd)


# --------------------------------------------------------------------------------------------
# sync groups: the other members send their lower-priority GARPs too


SYNC_CASES = {
    # id: (VI_1 extra, VI_2 extra, expected bursts for VIP, for VIP2)
    "both-garp": (
        "    garp_lower_prio_repeat 2\n    garp_lower_prio_delay 0\n",
        "    garp_lower_prio_repeat 3\n    garp_lower_prio_delay 1\n",
        [(0.0, 2)],
        [(0.0, 3), (1.0, 3)],
    ),
    "receiver-repeat-0": (
        "    garp_lower_prio_repeat 0\n",
        "    garp_lower_prio_repeat 3\n    garp_lower_prio_delay 0\n",
        [],
        [(0.0, 3)],
    ),
    "other-repeat-0": (
        "    garp_lower_prio_repeat 2\n    garp_lower_prio_delay 0\n",
        "    garp_lower_prio_repeat 0\n",
        [(0.0, 2)],
        [],
    ),
}


@pytest.mark.parametrize("case", list(SYNC_CASES))
@pytest.mark.parametrize("impl", IMPLS)
def test_sync_group_members_send_their_lower_prio_garps(
    master: Callable[[str, str], tuple[Any, Wire]], impl: str, case: str, tmp_path: Path
) -> None:
    extra1, extra2, expected1, expected2 = SYNC_CASES[case]
    instances = (
        "vrrp_sync_group G {\n    group {\n        VI_1\n        VI_2\n    }\n}\n"
        + instance("VI_1", extra=extra1)
        + instance("VI_2", vrid=VRID2, vip=VIP2, extra=extra2)
    )
    fifo = tmp_path / "vrrp.fifo"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        lab, wire = master(impl, config(f'    vrrp_notify_fifo "{fifo}"\n', instances))
        wait_for(lambda: lab.has_vip("h1", str(VIP2)), 5, "VI_2 master too")
        sent = wire.send_after_periodic(LOWER)
        time.sleep(2.5)
        events = read_fifo(fd).splitlines()
    finally:
        os.close(fd)
    # only the member that heard the advert reports it
    assert [e for e in events if "MASTER_RX_LOWER_PRI" in e] == [
        f'INSTANCE "VI_1" MASTER_RX_LOWER_PRI {PRIO}'
    ]
    assert_bursts(wire.bursts(sent, VIP), expected1)
    assert_bursts(wire.bursts(sent, VIP2), expected2)
    # VI_1 heard the intruder and answers with an advert
    soon = [a for a in wire.adverts(sent, sent + MARGIN_S) if a.vrid == VRID]
    assert [a.priority for a in soon] == [PRIO]
