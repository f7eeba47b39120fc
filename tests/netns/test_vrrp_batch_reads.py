"""Batched reads of raw VRRP sockets between two namespaces: recvmmsg, the decode memo, pauses.

h1 sends, h2 reads. The batched path (:class:`~pykeepalived.vrrp.batch_recv.BatchReceiver`) is
compared with what :func:`decode_ipv4` gives for the packet sent and with the one-``recv``-per-
packet path (a socket opened while ``batch_receiver_for`` returns None). Read pauses are driven
through a real asyncio loop; their checks count wake-ups and pauses, never durations.
"""

from __future__ import annotations

import asyncio
import dataclasses
import select
import threading
import time
from collections.abc import Callable, Iterator
from ipaddress import IPv4Address, IPv6Address
from typing import Any

import pytest

from pykeepalived.lab.topology import Topology
from pykeepalived.vrrp import sockets as sockets_module
from pykeepalived.vrrp.auth import AuthType, auth_data_from_password
from pykeepalived.vrrp.checksum import IpProto
from pykeepalived.vrrp.packet import (
    VRRP_MCAST_GROUP4,
    VRRP_MCAST_GROUP6,
    Advertisement,
    Family,
    InstanceExpectations,
    PacketError,
    ReceivedAdvert,
    VrrpVersion,
    decode_ipv4,
    encode_ipv4,
    encode_vrrp,
    validate,
)
from pykeepalived.vrrp.sockets import (
    DECODE_MEMO_LIMIT,
    RECV_BUFFER_LEN,
    Datagram,
    SocketKey,
    VrrpSocket,
    open_vrrp_socket,
)
from pykeepalived.vrrp.stats import DropReason

pytestmark = pytest.mark.netns

TopologyFactory = Callable[..., Topology]

KEY4 = SocketKey("eth0", Family.IPV4, False, VRRP_MCAST_GROUP4)
KEY4_AH = SocketKey("eth0", Family.IPV4, False, VRRP_MCAST_GROUP4, proto=IpProto.AH)
KEY6 = SocketKey("eth0", Family.IPV6, False, VRRP_MCAST_GROUP6)
VIP4 = IPv4Address("192.0.2.100")
VIP6 = IPv6Address("fe80::1:100")
WAIT_S = 10.0
"""Upper bound of every wait for packets (the machine may be loaded): never reached when all
is well."""


def _ifindex(topo: Topology, host: str) -> int:
    return int(topo.ip_json(host, ["link", "show", "dev", "eth0"])[0]["ifindex"])


def _link_local(topo: Topology, host: str) -> IPv6Address:
    infos = topo.ip_json(host, ["-6", "addr", "show", "dev", "eth0"])[0]["addr_info"]
    return IPv6Address(next(a["local"] for a in infos if a.get("scope") == "link"))


def _open(topo: Topology, host: str, key: SocketKey, **kwargs: Any) -> VrrpSocket:
    return open_vrrp_socket(key, _ifindex(topo, host), netns=topo.host(host).netns, **kwargs)


def _open_unbatched(
    topo: Topology, host: str, key: SocketKey, monkeypatch: pytest.MonkeyPatch
) -> VrrpSocket:
    """A socket that reads one ``recv`` per packet, as where ``recvmmsg`` is missing."""
    with monkeypatch.context() as patch:
        patch.setattr(sockets_module, "batch_receiver_for", lambda *_a, **_k: None)
        return _open(topo, host, key)


class Collector:
    """A datagram handler that keeps what it is given, when it was received and when it was
    handed over (on the same clock: ``time.monotonic``, the loop's)."""

    def __init__(self) -> None:
        self.got: list[Datagram] = []
        self.received_at: list[float] = []
        self.handed_at: list[float] = []

    def __call__(self, _sock: VrrpSocket, datagram: Datagram, received_at_s: float) -> None:
        self.got.append(datagram)
        self.received_at.append(received_at_s)
        self.handed_at.append(time.monotonic())


def _collect(sock: VrrpSocket) -> Collector:
    collector = Collector()
    sock.set_handler(collector)
    return collector


def _settle(sock: VrrpSocket) -> None:
    """Wait until ``sock`` has something to read, then a little more for the rest of a burst
    (veth delivers within the sender's system call; the pause is for a loaded machine)."""
    ready, _, _ = select.select([sock.fileno()], [], [], WAIT_S)
    assert ready, f"nothing arrived on {sock.key.describe()}"
    time.sleep(0.3)


def _drain(sock: VrrpSocket, collector: Collector, count: int) -> None:
    """Call ``on_readable`` (no loop attached) until ``count`` datagrams were handed over."""
    deadline = time.monotonic() + WAIT_S
    while len(collector.got) < count:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"{len(collector.got)} of {count} datagrams read"
        select.select([sock.fileno()], [], [], remaining)
        sock.on_readable()
    assert len(collector.got) == count


def _advert4(
    vrid: int, priority: int = 100, version: VrrpVersion = VrrpVersion.V3
) -> Advertisement:
    return Advertisement(version, vrid, priority, 100, (VIP4,))


def _stripped(rx: ReceivedAdvert) -> ReceivedAdvert:
    """What the memoising IPv4 path hands over for ``rx``: no IP id, no IP header."""
    return dataclasses.replace(rx, ip_id=None, ip_header=b"")


@pytest.fixture
def two_hosts(topology: TopologyFactory) -> Iterator[Topology]:
    yield topology(hosts=2)


# ---- IPv4: one recvmmsg per burst, decode memo ---------------------------------------------


def test_ipv4_burst_is_read_in_one_wakeup_and_memoised(two_hosts: Topology) -> None:
    topo = two_hosts
    s1, s2 = _open(topo, "h1", KEY4), _open(topo, "h2", KEY4)
    src = topo.host("h1").ipv4()
    try:
        vrids, ids_per_vrid = (1, 2, 3, 7, 200, 255), 8
        sent = [
            encode_ipv4(_advert4(vrid), src=src, dst=VRRP_MCAST_GROUP4, ip_id=100 * n + vrid)
            for n in range(1, ids_per_vrid + 1)
            for vrid in vrids
        ]
        assert len(sent) == 48 <= s2.max_reads_per_wakeup
        for pkt in sent:
            assert s1.send_ipv4(pkt, VRRP_MCAST_GROUP4)
        collector = _collect(s2)
        _settle(s2)
        s2.on_readable()
        got = collector.got
        # one wake-up, one batch (48 < the batch capacity), nothing left
        assert len(got) == 48
        assert s2.stats.received == 48 and s2.stats.wakeups == 1
        assert s2.stats.reads_capped == 0 and s2.stats.drops == {}
        for pkt, rx in zip(sent, got, strict=True):
            full = decode_ipv4(pkt)
            assert full.ip_id is not None and full.ip_header == pkt[:20]
            assert rx == _stripped(full)
        # the same advert with another IP id is the very same object; other VRIDs are not
        first = {rx.advert.vrid: rx for rx in got[: len(vrids)] if isinstance(rx, ReceivedAdvert)}
        assert len(first) == len(vrids)
        for rx in got:
            assert isinstance(rx, ReceivedAdvert)
            assert rx is first[rx.advert.vrid]
        # the memo outlives the wake-up
        again = [
            encode_ipv4(_advert4(vrid), src=src, dst=VRRP_MCAST_GROUP4, ip_id=9000 + vrid)
            for vrid in vrids
        ]
        for pkt in again:
            assert s1.send_ipv4(pkt, VRRP_MCAST_GROUP4)
        _drain(s2, collector, 48 + len(vrids))
        assert [rx is first[vrid] for rx, vrid in zip(got[48:], vrids, strict=True)] == [
            True
        ] * len(vrids)
    finally:
        s1.close()
        s2.close()


def test_ipv4_memo_tells_apart_what_the_ip_id_does_not(two_hosts: Topology) -> None:
    topo = two_hosts
    s1, s2 = _open(topo, "h1", KEY4), _open(topo, "h2", KEY4)
    src = topo.host("h1").ipv4()
    try:
        base = _advert4(10)
        sent = [
            encode_ipv4(base, src=src, dst=VRRP_MCAST_GROUP4, ip_id=1),
            encode_ipv4(base, src=src, dst=VRRP_MCAST_GROUP4, ip_id=2, ttl=254),
            encode_ipv4(base, src=src, dst=VRRP_MCAST_GROUP4, ip_id=3, tos=0),
            encode_ipv4(_advert4(10, 101), src=src, dst=VRRP_MCAST_GROUP4, ip_id=4),
            encode_ipv4(base, src=src, dst=VRRP_MCAST_GROUP4, ip_id=5),
        ]
        bad_version = bytearray(sent[0])
        bad_version[20] = 0x71
        sent += [bytes(bad_version), bytes(bad_version)]
        for pkt in sent:
            assert s1.send_ipv4(pkt, VRRP_MCAST_GROUP4)
        collector = _collect(s2)
        _drain(s2, collector, len(sent))
        got = collector.got
        for pkt, rx in zip(sent[:5], got, strict=False):
            assert isinstance(rx, ReceivedAdvert)
            assert rx == _stripped(decode_ipv4(pkt))
        assert got[0] is got[4]
        assert len({id(rx) for rx in got[:4]}) == 4
        assert [rx.ttl for rx in got[:5] if isinstance(rx, ReceivedAdvert)] == [
            255,
            254,
            255,
            255,
            255,
        ]
        assert isinstance(got[2], ReceivedAdvert) and got[2].tos == 0
        # refusals are not remembered: each one is counted
        assert all(isinstance(d, PacketError) for d in got[5:])
        assert got[5] is not got[6]
        assert s2.stats.drops == {"vers_err": 2}
    finally:
        s1.close()
        s2.close()


def test_ipv4_memo_is_bounded(two_hosts: Topology) -> None:
    topo = two_hosts
    s1, s2 = _open(topo, "h1", KEY4), _open(topo, "h2", KEY4)
    src = topo.host("h1").ipv4()
    ip_ids = iter(range(1, 60000))

    def send(adverts: list[Advertisement]) -> None:
        for advert in adverts:
            pkt = encode_ipv4(advert, src=src, dst=VRRP_MCAST_GROUP4, ip_id=next(ip_ids))
            assert s1.send_ipv4(pkt, VRRP_MCAST_GROUP4)

    try:
        collector = _collect(s2)
        marker = _advert4(1, 250)
        send([marker])
        _drain(s2, collector, 1)
        remembered = collector.got[0]
        others = [_advert4(1 + i % 255, 1 + i // 255) for i in range(DECODE_MEMO_LIMIT + 10)]
        assert marker not in others and len(set(others)) == len(others)
        done = 1
        for start in range(0, len(others), 50):
            chunk = others[start : start + 50]
            send(chunk)
            done += len(chunk)
            _drain(s2, collector, done)
            if start == 0:  # still remembered after a few others
                send([marker])
                done += 1
                _drain(s2, collector, done)
                assert collector.got[-1] is remembered
        send([marker])
        _drain(s2, collector, done + 1)
        # more distinct adverts than the memo holds came in between: decoded afresh, same value
        assert collector.got[-1] is not remembered
        assert collector.got[-1] == remembered
        assert s2.stats.drops == {}
    finally:
        s1.close()
        s2.close()


def test_ah_adverts_are_decoded_every_time_and_keep_their_ip_header(
    two_hosts: Topology,
) -> None:
    topo = two_hosts
    s1, s2 = _open(topo, "h1", KEY4_AH), _open(topo, "h2", KEY4_AH)
    src = topo.host("h1").ipv4()
    key = auth_data_from_password("ahkey")
    advert = Advertisement(
        VrrpVersion.V2, 20, 150, 100, (VIP4,), auth_type=AuthType.AH, auth_data=bytes(8)
    )

    def ah_packet(ip_id: int, seq: int) -> bytes:
        return encode_ipv4(
            advert, src=src, dst=VRRP_MCAST_GROUP4, ip_id=ip_id, ah_key=key, ah_seq=seq
        )

    try:
        # the very same bytes twice, then the next sequence number
        sent = [ah_packet(1, 1), ah_packet(1, 1), ah_packet(2, 2), ah_packet(3, 3)]
        for pkt in sent:
            assert s1.send_ipv4(pkt, VRRP_MCAST_GROUP4)
        collector = _collect(s2)
        _drain(s2, collector, len(sent))
        got = collector.got
        for pkt, rx in zip(sent, got, strict=True):
            assert isinstance(rx, ReceivedAdvert)
            assert rx == decode_ipv4(pkt)  # ip_id and ip_header included
            assert rx.ah is not None and rx.ip_header == pkt[:20]
        assert got[0] is not got[1]
        assert [rx.ip_id for rx in got if isinstance(rx, ReceivedAdvert)] == [1, 1, 2, 3]
        exp = InstanceExpectations(
            VrrpVersion.V2, 20, Family.IPV4, 100, vips=(VIP4,), auth_type=AuthType.AH, auth_data=key
        )
        # the ICV covers the IP header: it checks only because the header was kept
        assert isinstance(got[3], ReceivedAdvert) and isinstance(got[1], ReceivedAdvert)
        assert validate(got[3], exp, ah_last_seq=2) is None
        assert validate(got[1], exp, ah_last_seq=1) is DropReason.AUTH_FAILURE  # replayed
    finally:
        s1.close()
        s2.close()


# ---- the one-recv-per-packet fallback gives the same ------------------------------------------


def test_ipv4_fallback_reads_the_same_datagrams(
    two_hosts: Topology, monkeypatch: pytest.MonkeyPatch
) -> None:
    topo = two_hosts
    s1 = _open(topo, "h1", KEY4)
    batched = _open(topo, "h2", KEY4)
    single = _open_unbatched(topo, "h2", KEY4, monkeypatch)
    src = topo.host("h1").ipv4()
    try:
        sent = [
            encode_ipv4(_advert4(1 + n % 5), src=src, dst=VRRP_MCAST_GROUP4, ip_id=n + 1)
            for n in range(40)
        ]
        sent.insert(7, encode_ipv4(_advert4(3), src=src, dst=VRRP_MCAST_GROUP4, ip_id=77, ttl=9))
        short = bytearray(sent[0][:20])
        short[2:4] = (24).to_bytes(2, "big")
        sent.insert(20, bytes(short) + b"\x31\x01\x64\x00")
        v2 = _advert4(9, version=VrrpVersion.V2)
        sent.append(encode_ipv4(v2, src=src, dst=VRRP_MCAST_GROUP4, ip_id=500))
        for pkt in sent:
            assert s1.send_ipv4(pkt, VRRP_MCAST_GROUP4)
        from_batch, from_single = _collect(batched), _collect(single)
        _settle(batched)
        _settle(single)
        batched.on_readable()
        single.on_readable()
        assert len(from_batch.got) == len(from_single.got) == len(sent)
        for pkt, one, many in zip(sent, from_single.got, from_batch.got, strict=True):
            if isinstance(one, PacketError):
                assert isinstance(many, PacketError) and many.reason is one.reason
                continue
            assert isinstance(many, ReceivedAdvert)
            assert one == decode_ipv4(pkt)
            assert one.ip_id == int.from_bytes(pkt[4:6], "big")  # really the unbatched path
            assert many == _stripped(one)
        assert batched.stats.as_dict() == single.stats.as_dict()
        assert single.stats.wakeups == 1 and single.stats.received == len(sent)
        assert single.stats.drops == {"packet_len_err": 1}
    finally:
        for sock in (s1, batched, single):
            sock.close()


# ---- IPv6: source, destination and hop limit from msg_name and the cmsgs ----------------------


def test_ipv6_batched_equals_single_reads(
    two_hosts: Topology, monkeypatch: pytest.MonkeyPatch
) -> None:
    topo = two_hosts
    s1 = _open(topo, "h1", KEY6)
    batched = _open(topo, "h2", KEY6)
    single = _open_unbatched(topo, "h2", KEY6, monkeypatch)
    ll1 = _link_local(topo, "h1")
    try:
        x = encode_vrrp(Advertisement(VrrpVersion.V3, 61, 200, 10, (VIP6,), family=Family.IPV6))
        y = encode_vrrp(Advertisement(VrrpVersion.V3, 62, 100, 10, (VIP6,), family=Family.IPV6))
        many = tuple(IPv6Address(f"2001:db8::{n + 1:x}") for n in range(130))
        big = encode_vrrp(Advertisement(VrrpVersion.V3, 63, 100, 10, many, family=Family.IPV6))
        assert len(big) > RECV_BUFFER_LEN
        bad_version = bytearray(x)
        bad_version[0] = 0x71
        # (message, hop limit cmsg)
        plan: list[tuple[bytes, int | None]] = [
            (x, None),
            (x, None),
            (y, None),
            (x, 64),  # a wrong hop limit
            (bytes(bad_version), None),
            (big, None),  # longer than the read buffer: a truncated read
            (x, None),
            (y, 64),
        ]
        for message, hop_limit in plan:
            assert s1.send_ipv6(message, VRRP_MCAST_GROUP6, ll1, hop_limit=hop_limit)
        from_batch, from_single = _collect(batched), _collect(single)
        _drain(batched, from_batch, len(plan))
        _drain(single, from_single, len(plan))
        exp = InstanceExpectations(VrrpVersion.V3, 61, Family.IPV6, 10, vips=(VIP6,))
        for (message, hop_limit), one, got in zip(
            plan, from_single.got, from_batch.got, strict=True
        ):
            if isinstance(one, PacketError):
                assert isinstance(got, PacketError) and got.reason is one.reason
                continue
            assert isinstance(got, ReceivedAdvert) and got == one
            assert got.src == ll1 and got.dst == VRRP_MCAST_GROUP6
            assert got.ttl == (255 if hop_limit is None else hop_limit)
            # the kernel filled in the checksum (sent as 0)
            assert got.message[:6] == message[:6] and got.message[8:] == message[8:]
            assert message[6:8] == b"\0\0" != got.message[6:8]
        b = from_batch.got
        assert isinstance(b[4], PacketError) and b[4].reason is DropReason.VERS_ERR
        assert isinstance(b[5], PacketError) and b[5].reason is DropReason.PACKET_LEN_ERR
        assert b[0] is b[1] is b[6]  # memo: same source, cmsgs and bytes
        assert b[3] is not b[0]  # another hop limit is another packet
        assert isinstance(b[0], ReceivedAdvert) and isinstance(b[3], ReceivedAdvert)
        assert validate(b[0], exp) is None
        assert validate(b[3], exp) is DropReason.IP_TTL_ERR
        assert batched.stats.as_dict() == single.stats.as_dict()
        assert batched.stats.drops == {"vers_err": 1, "packet_len_err": 1}
    finally:
        for sock in (s1, batched, single):
            sock.close()


def test_ipv6_truncated_read_between_good_ones_in_one_batch(two_hosts: Topology) -> None:
    """The truncated message in the middle of a batch must not spill into its neighbours."""
    topo = two_hosts
    s1, s2 = _open(topo, "h1", KEY6), _open(topo, "h2", KEY6)
    ll1 = _link_local(topo, "h1")
    try:
        many = tuple(IPv6Address(f"2001:db8::{n + 1:x}") for n in range(200))
        big = encode_vrrp(Advertisement(VrrpVersion.V3, 63, 100, 10, many, family=Family.IPV6))
        small = encode_vrrp(Advertisement(VrrpVersion.V3, 5, 100, 10, (), family=Family.IPV6))
        for message in (small, big, small, big, big, small):
            assert s1.send_ipv6(message, VRRP_MCAST_GROUP6, ll1)
        collector = _collect(s2)
        _settle(s2)
        s2.on_readable()
        assert s2.stats.wakeups == 1 and len(collector.got) == 6
        kinds = [
            "ok" if isinstance(d, ReceivedAdvert) else d.reason.name.lower() for d in collector.got
        ]
        assert kinds == ["ok", "packet_len_err", "ok", "packet_len_err", "packet_len_err", "ok"]
        oks = [d for d in collector.got if isinstance(d, ReceivedAdvert)]
        assert all(d.advert.vrid == 5 and d.advert.addresses == () for d in oks)
        assert oks[0] is oks[1] is oks[2]
    finally:
        s1.close()
        s2.close()


# ---- read pauses, through a real asyncio loop ------------------------------------------------


def _stream(sock: VrrpSocket, packets: list[bytes], gap_s: float) -> threading.Thread:
    def send() -> None:
        for pkt in packets:
            sock.send_ipv4(pkt, VRRP_MCAST_GROUP4)
            time.sleep(gap_s)

    thread = threading.Thread(target=send, name="vrrp-stream", daemon=True)
    thread.start()
    return thread


async def _until(what: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not what():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


async def _until_count(collector: Collector, count: int) -> None:
    await _until(lambda: len(collector.got) == count)


def _stream_adverts(src: IPv4Address, count: int) -> tuple[list[bytes], list[tuple[int, int]]]:
    """``count`` distinct adverts (by VRID and priority) and their (vrid, priority)."""
    keys = [(1 + n % 250, 1 + n // 250) for n in range(count)]
    packets = [
        encode_ipv4(_advert4(vrid, prio), src=src, dst=VRRP_MCAST_GROUP4, ip_id=n + 1)
        for n, (vrid, prio) in enumerate(keys)
    ]
    return packets, keys


def _keys(got: list[Datagram]) -> list[tuple[int, int]]:
    return [(d.advert.vrid, d.advert.priority) for d in got if isinstance(d, ReceivedAdvert)]


@pytest.mark.parametrize("batched", [True, False], ids=["recvmmsg", "recv"])
def test_dense_stream_pauses_reading_then_fd_waits_again(
    two_hosts: Topology, monkeypatch: pytest.MonkeyPatch, batched: bool
) -> None:
    topo = two_hosts
    s1 = _open(topo, "h1", KEY4)
    s2 = _open(topo, "h2", KEY4) if batched else _open_unbatched(topo, "h2", KEY4, monkeypatch)
    assert s2.read_pause_s == 0.002
    packets, keys = _stream_adverts(topo.host("h1").ipv4(), 300)
    errors: list[dict[str, Any]] = []

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx))
        collector = Collector()
        s2.attach(loop, collector)
        sender = _stream(s1, packets, 0.0002)
        await _until(lambda: len(collector.got) >= len(packets))
        sender.join(WAIT_S)
        assert not sender.is_alive()
        # every packet once, in order; far fewer wake-ups than packets, some pauses
        assert _keys(collector.got) == keys
        assert s2.stats.received == len(packets) and s2.stats.drops == {}
        assert s2.stats.pauses > 0
        assert s2.stats.wakeups < len(packets) // 2, s2.stats
        # each packet is dated when the kernel received it, before it was handed over, in
        # order; read in a pause, a packet's date is earlier than its hand-over (the down
        # timer must run from its arrival, not from the end of the pause)
        received, handed = collector.received_at, collector.handed_at
        assert all(r <= h for r, h in zip(received, handed, strict=True))
        assert received == sorted(received)
        late = [h - r for r, h in zip(received, handed, strict=True)]
        if batched:  # the kernel's timestamps (the fallback dates packets when it reads them)
            assert max(late) > s2.read_pause_s / 2, max(late)
        # the stream is over: reading goes back to waiting on the fd
        await _until(lambda: not s2.paused)
        await asyncio.sleep(0.1)
        assert not s2.paused
        wakeups, pauses = s2.stats.wakeups, s2.stats.pauses
        lone = encode_ipv4(_advert4(99), src=topo.host("h1").ipv4(), dst=VRRP_MCAST_GROUP4, ip_id=1)
        assert s1.send_ipv4(lone, VRRP_MCAST_GROUP4)
        await _until(lambda: len(collector.got) == len(packets) + 1)
        # read by the fd's own wake-up: no timer was pending, none was started
        assert s2.stats.wakeups == wakeups + 1 and s2.stats.pauses == pauses
        assert not s2.paused
        last = collector.got[-1]
        assert isinstance(last, ReceivedAdvert) and last.advert.vrid == 99
        s2.detach()

    try:
        asyncio.run(scenario())
        assert errors == []
    finally:
        s1.close()
        s2.close()


class TimerSpy:
    """Wraps ``loop.call_later`` to keep the handles of the timers ``sock`` schedules."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: VrrpSocket) -> None:
        self.handles: list[asyncio.TimerHandle] = []
        self._sock = sock
        self._call_later = loop.call_later
        loop.call_later = self  # type: ignore[method-assign,assignment]

    def __call__(self, delay: float, callback: Callable[..., object], *args: Any) -> Any:
        handle = self._call_later(delay, callback, *args)
        if getattr(callback, "__self__", None) is self._sock:
            self.handles.append(handle)
        return handle


async def _pause_with_long_timer(
    s1: VrrpSocket, s2: VrrpSocket, src: IPv4Address, collector: Collector
) -> None:
    """Two reads less than ``read_pause_s`` (long here) apart: s2 pauses."""
    for ip_id in (1, 2):
        pkt = encode_ipv4(_advert4(ip_id), src=src, dst=VRRP_MCAST_GROUP4, ip_id=ip_id)
        assert s1.send_ipv4(pkt, VRRP_MCAST_GROUP4)
        await _until_count(collector, ip_id)
    assert s2.paused and s2.stats.pauses == 1


async def _queued(sock: VrrpSocket) -> None:
    """Wait (without reading) until ``sock`` has a packet waiting, and a little more."""
    loop = asyncio.get_running_loop()
    ready = await loop.run_in_executor(
        None, lambda: select.select([sock.fileno()], [], [], WAIT_S)[0]
    )
    assert ready
    await asyncio.sleep(0.2)


@pytest.mark.parametrize("batched", [True, False], ids=["recvmmsg", "recv"])
def test_flush_reads_all_that_waits_while_paused(
    two_hosts: Topology, monkeypatch: pytest.MonkeyPatch, batched: bool
) -> None:
    topo = two_hosts
    s1 = _open(topo, "h1", KEY4)
    # a long pause (never over during the test) and a small per-wake-up cap
    options: dict[str, Any] = {"read_pause_s": 60.0, "max_reads_per_wakeup": 4}
    if not batched:
        monkeypatch.setattr(sockets_module, "batch_receiver_for", lambda *_a, **_k: None)
    s2 = _open(topo, "h2", KEY4, **options)
    src = topo.host("h1").ipv4()
    errors: list[dict[str, Any]] = []

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx))
        spy = TimerSpy(loop, s2)
        collector = Collector()
        s2.attach(loop, collector)
        await _pause_with_long_timer(s1, s2, src, collector)
        assert len(spy.handles) == 1
        waiting = list(range(3, 13))  # more than one wake-up may read
        for vrid in waiting:
            pkt = encode_ipv4(_advert4(vrid), src=src, dst=VRRP_MCAST_GROUP4, ip_id=vrid)
            assert s1.send_ipv4(pkt, VRRP_MCAST_GROUP4)
        await _queued(s2)
        assert len(collector.got) == 2  # paused: the loop does not read them
        s2.flush()
        assert _keys(collector.got) == [(vrid, 100) for vrid in (1, 2, *waiting)]
        assert s2.stats.flushes == 1 and s2.stats.pauses == 1
        # still paused, on the same timer; a flush with nothing waiting reads nothing
        assert s2.paused and len(spy.handles) == 1 and not spy.handles[0].cancelled()
        s2.flush()
        assert len(collector.got) == 12 and s2.stats.received == 12
        s2.detach()
        assert spy.handles[0].cancelled() and not s2.paused
        # detached: flush is a no-op
        pkt = encode_ipv4(_advert4(50), src=src, dst=VRRP_MCAST_GROUP4, ip_id=50)
        assert s1.send_ipv4(pkt, VRRP_MCAST_GROUP4)
        await _queued(s2)
        s2.flush()
        assert len(collector.got) == 12 and s2.stats.received == 12

    try:
        asyncio.run(scenario())
        assert errors == []
    finally:
        s1.close()
        s2.close()


def test_flush_when_not_paused_reads_too(two_hosts: Topology) -> None:
    topo = two_hosts
    s1 = _open(topo, "h1", KEY4)
    s2 = _open(topo, "h2", KEY4)
    src = topo.host("h1").ipv4()

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        collector = Collector()
        s2.attach(loop, collector)
        assert not s2.paused
        pkt = encode_ipv4(_advert4(8), src=src, dst=VRRP_MCAST_GROUP4, ip_id=8)
        assert s1.send_ipv4(pkt, VRRP_MCAST_GROUP4)
        # no await between the wait and the flush: the loop cannot read it first
        ready, _, _ = select.select([s2.fileno()], [], [], WAIT_S)
        assert ready and collector.got == []
        s2.flush()
        assert _keys(collector.got) == [(8, 100)]
        s2.detach()

    try:
        asyncio.run(scenario())
    finally:
        s1.close()
        s2.close()


@pytest.mark.parametrize("how", ["detach", "close"])
def test_detach_or_close_while_paused_leaves_no_timer(two_hosts: Topology, how: str) -> None:
    topo = two_hosts
    s1 = _open(topo, "h1", KEY4)
    s2 = _open(topo, "h2", KEY4, read_pause_s=60.0)
    src = topo.host("h1").ipv4()
    errors: list[dict[str, Any]] = []

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx))
        spy = TimerSpy(loop, s2)
        collector = Collector()
        s2.attach(loop, collector)
        await _pause_with_long_timer(s1, s2, src, collector)
        wakeups = s2.stats.wakeups
        if how == "close":
            s2.close()
            assert s2.closed
        else:
            s2.detach()
        assert not s2.paused
        assert [h.cancelled() for h in spy.handles] == [True]
        # a packet now is not read: no timer, no reader
        pkt = encode_ipv4(_advert4(3), src=src, dst=VRRP_MCAST_GROUP4, ip_id=3)
        assert s1.send_ipv4(pkt, VRRP_MCAST_GROUP4)
        await asyncio.sleep(0.3)
        assert len(collector.got) == 2 and s2.stats.wakeups == wakeups
        if how == "close":
            return
        # the packet waits in the socket; attaching again reads it through the fd
        again = Collector()
        s2.attach(loop, again)
        await _until(lambda: len(again.got) == 1)
        assert _keys(again.got) == [(3, 100)]
        assert not s2.paused and len(spy.handles) == 1
        s2.close()
        await asyncio.sleep(0.1)

    try:
        asyncio.run(scenario())
        assert errors == []
    finally:
        s1.close()
        s2.close()


def test_handler_closing_the_socket_during_a_paused_read(two_hosts: Topology) -> None:
    """A handler closes the socket in the middle of a dense stream (whether the read was the
    fd's or a pause timer's): nothing is handed over after the close, no timer stays armed."""
    topo = two_hosts
    s1 = _open(topo, "h1", KEY4)
    s2 = _open(topo, "h2", KEY4, read_pause_s=0.05)
    src = topo.host("h1").ipv4()
    errors: list[dict[str, Any]] = []
    got: list[Datagram] = []

    def close_on_third(sock: VrrpSocket, datagram: Datagram, _received_at_s: float) -> None:
        got.append(datagram)
        if len(got) == 3:
            sock.close()

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx))
        spy = TimerSpy(loop, s2)
        s2.attach(loop, close_on_third)
        packets, _ = _stream_adverts(src, 40)
        sender = _stream(s1, packets, 0.001)
        await _until(lambda: s2.closed)
        sender.join(WAIT_S)
        await asyncio.sleep(0.3)
        assert len(got) == 3 and s2.stats.received >= 3
        assert s2.stats.read_errors == 0  # no read of the closed descriptor
        assert all(h.cancelled() or h.when() <= loop.time() for h in spy.handles)
        assert not s2.paused

    try:
        asyncio.run(scenario())
        assert errors == []
    finally:
        s1.close()
        s2.close()


@pytest.mark.parametrize("batched", [True, False], ids=["recvmmsg", "recv"])
def test_handler_closing_mid_batch_stops_reading(
    two_hosts: Topology, monkeypatch: pytest.MonkeyPatch, batched: bool
) -> None:
    """More is waiting than one recvmmsg reads: after the handler closes the socket in the
    first batch, nothing more is handed over and the closed descriptor is not read again."""
    topo = two_hosts
    s1 = _open(topo, "h1", KEY4)
    if not batched:
        monkeypatch.setattr(sockets_module, "batch_receiver_for", lambda *_a, **_k: None)
    s2 = _open(topo, "h2", KEY4, max_reads_per_wakeup=200)
    packets, _ = _stream_adverts(topo.host("h1").ipv4(), 100)
    got: list[Datagram] = []

    def close_on_third(sock: VrrpSocket, datagram: Datagram, _received_at_s: float) -> None:
        got.append(datagram)
        if len(got) == 3:
            sock.close()

    async def scenario() -> None:
        for pkt in packets:
            assert s1.send_ipv4(pkt, VRRP_MCAST_GROUP4)
        _settle(s2)
        s2.attach(asyncio.get_running_loop(), close_on_third)
        await _until(lambda: s2.closed)
        await asyncio.sleep(0.1)

    try:
        asyncio.run(scenario())
        assert len(got) == 3
        assert s2.stats.read_errors == 0 and s2.stats.wakeups == 1
        assert s2.stats.received == (sockets_module.BATCH_CAPACITY if batched else 3)
    finally:
        s1.close()
        s2.close()
