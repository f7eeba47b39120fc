"""Raw VRRP sockets, opened and used as keepalived opens them (``vrrp.c``, ``vrrp_if.c``).

One :class:`VrrpSocket` serves every instance that shares its :class:`SocketKey`: an interface,
an address family, an IP protocol (112, or 51 for VRRPv2 ``auth_type AH``) and what the socket
is bound to (the multicast group, or the instance's ``unicast_src_ip``). keepalived binds
multicast sockets to the group, so they never see unicast adverts, and unicast sockets to the
source address (with ``IP_FREEBIND``, so that they open before the address exists).

IPv4 (``open_vrrp_send_socket()`` / ``open_vrrp_read_socket()``):

* ``IP_HDRINCL``: the caller builds the whole IPv4 packet (TOS 0xc0, TTL 255, see
  :func:`pykeepalived.vrrp.packet.encode_ipv4`); a read returns the packet with its IP header;
* ``SO_BINDTODEVICE``, ``IP_MULTICAST_IF`` and ``IP_ADD_MEMBERSHIP`` (``ip_mreqn``) on the
  interface, ``IP_MULTICAST_LOOP`` and ``IP_MULTICAST_ALL`` off;
* multicast goes out with ``MSG_DONTROUTE``, unicast with no flags.

IPv6:

* the kernel builds the IPv6 header and computes and checks the VRRP checksum
  (``IPV6_CHECKSUM`` offset 6); traffic class 0xc0; hop limit 255 for multicast
  (``IPV6_MULTICAST_HOPS``); for unicast the kernel default unless ``unicast_ttl`` is given
  (then an ``IPV6_HOPLIMIT`` cmsg), as keepalived;
* the source address (link-local of the interface, or ``unicast_src_ip``) goes in an
  ``IPV6_PKTINFO`` cmsg; reads ask for ``IPV6_HOPLIMIT`` and ``IPV6_PKTINFO`` to learn the hop
  limit and the destination.

asyncio's datagram endpoints refuse raw sockets, so :meth:`VrrpSocket.attach` registers the
file descriptor with ``loop.add_reader``. Each wake-up reads at most ``max_reads_per_wakeup``
packets, all that are waiting with one ``recvmmsg`` (:mod:`pykeepalived.vrrp.batch_recv`); each
one is decoded and handed to the callback as a
:class:`~pykeepalived.vrrp.packet.ReceivedAdvert` or, when it cannot be an advert, as a
:class:`~pykeepalived.vrrp.packet.PacketError` (a counted drop): nothing received can raise out
of the reader.

A master sends the same advert again and again, so a socket remembers what it decoded by the
packet's bytes (up to ``DECODE_MEMO_LIMIT`` of them) and hands the same
:class:`~pykeepalived.vrrp.packet.ReceivedAdvert` object back for the same bytes: the checksum
is verified and the fields are unpacked once per distinct advert, not 100 times a second. For
IPv4 the key leaves out the IP identification and header checksum, which change with every
packet; such adverts therefore carry no ``ip_id``/``ip_header`` (nothing checks them). AH
packets (a new sequence number and ICV each time, and an ICV over the IP header) are decoded
every time.

Reading pauses when packets come densely: a wake-up that finds packets less than
``read_pause_s`` (2 ms) after the previous read takes the fd out of the loop and reads again
from a timer ``read_pause_s`` later, and again every ``read_pause_s`` while packets keep coming;
the first read that finds nothing puts the fd back in the loop. A backup of 200 instances at
10 ms then reads ~30 adverts per wake-up instead of waking up for nearly every one of its
20,000 adverts a second; a lone advert (one instance, even at 10 ms) is read the moment it
comes. Each packet is handed over with the time the kernel received it (``SO_TIMESTAMPNS``,
moved to the loop's clock), so timers run from its arrival however late it is read; what a
pause can delay is only the reaction itself (at most ~``read_pause_s`` plus the loop's
millisecond rounding). Before a backup's down timer acts, :meth:`VrrpSocket.flush` reads
everything waiting, so neither a pause nor the order in which the loop serves the timer and the
socket (or a busy start-up) makes it miss an advert that arrived in time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import logging
import math
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from ipaddress import IPv4Address, IPv6Address, ip_address

from pykeepalived.vrrp.batch_recv import (
    SCM_TIMESTAMPNS,
    TIMESTAMP_CMSG_SPACE,
    BatchReceiver,
    batch_receiver_for,
    parse_cmsgs,
)
from pykeepalived.vrrp.checksum import IpProto
from pykeepalived.vrrp.packet import (
    IPTOS_PREC_INTERNETCONTROL,
    IPV4_HEADER_LEN,
    VRRP_TTL,
    Family,
    PacketError,
    ReceivedAdvert,
    decode_ipv4,
    decode_ipv6,
)
from pykeepalived.vrrp.stats import DropReason

__all__ = [
    "DEFAULT_MAX_READS_PER_WAKEUP",
    "RECV_BUFFER_LEN",
    "SocketKey",
    "SocketOpt",
    "SocketStats",
    "VrrpSocket",
    "VrrpSocketError",
    "open_vrrp_socket",
]

log = logging.getLogger(__name__)

IPAddress = IPv4Address | IPv6Address

RECV_BUFFER_LEN = 2048
"""Bytes read per packet: an advert with 255 IPv6 addresses and an AH header fits easily."""
DEFAULT_MAX_READS_PER_WAKEUP = 64
"""Packets read per ``add_reader`` wake-up before yielding to the loop (timers must run)."""
DEFAULT_READ_PAUSE_S = 0.002
"""How long reading pauses when packets come faster than this apart (0: never pause)."""
FLUSH_MAX_READS = 4096
"""Most packets one :meth:`VrrpSocket.flush` reads (a flood must not hold the loop)."""
MAX_PACKET_AGE_S = 1.0
"""The oldest a packet's kernel timestamp may date it (older: a clock problem)."""
CLOCK_STEP_S = 0.001
"""A change of the wall-clock offset larger than this between two batches is a clock step."""
BATCH_CAPACITY = 64
"""Most datagrams one ``recvmmsg`` reads."""
DECODE_MEMO_LIMIT = 1024
"""Decoded adverts a socket remembers by their bytes before it starts afresh."""
_CMSG_LEN = socket.CMSG_SPACE(4) + socket.CMSG_SPACE(20) + 64
_MSG_CUT = socket.MSG_TRUNC | socket.MSG_CTRUNC
_SOCKADDR_IN6_LEN = 24
"""Bytes of a ``sockaddr_in6`` up to the end of the address."""


class SocketOpt(IntEnum):
    """Linux socket options that Python's :mod:`socket` does not name (``linux/in.h``,
    ``linux/in6.h``)."""

    IP_FREEBIND = 15
    IP_MULTICAST_ALL = 49
    IPV6_MULTICAST_ALL = 29
    IPV6_FREEBIND = 78


class VrrpSocketError(Exception):
    """A VRRP socket could not be opened or configured (``op`` says which step failed)."""

    def __init__(self, op: str, exc: OSError) -> None:
        self.op = op
        self.errno = exc.errno
        super().__init__(f"{op}: {exc.strerror or exc}")


@dataclass(frozen=True, slots=True)
class SocketKey:
    """What a VRRP socket is shared by (keepalived's socket pool entry).

    ``bind_address`` is the multicast group for a multicast socket, the ``unicast_src_ip`` for a
    unicast one; ``unicast`` says which. ``proto`` is 112 (VRRP) or 51 (AH, VRRPv2 IPv4 only).
    """

    interface: str
    family: Family
    unicast: bool
    bind_address: IPAddress
    proto: int = IpProto.VRRP
    _hash: int = field(init=False, repr=False, compare=False)
    """Computed once: every packet read looks its socket's instances up by this key."""

    def __hash__(self) -> int:
        return self._hash

    def __post_init__(self) -> None:
        if self.bind_address.version != int(self.family):
            raise ValueError(f"{self.bind_address} is not an IPv{int(self.family)} address")
        if not self.unicast and not self.bind_address.is_multicast:
            raise ValueError(f"multicast socket bound to non-multicast {self.bind_address}")
        if self.proto not in (IpProto.VRRP, IpProto.AH):
            raise ValueError(f"protocol must be 112 (VRRP) or 51 (AH), not {self.proto}")
        if self.proto == IpProto.AH and self.family is not Family.IPV4:
            raise ValueError("AH is for IPv4 only")
        fields = (self.interface, self.family, self.unicast, self.bind_address, self.proto)
        object.__setattr__(self, "_hash", hash(fields))

    def describe(self) -> str:
        """A short text for logs: ``eth0/IPv4/224.0.0.18``."""
        kind = "" if self.proto == IpProto.VRRP else "/AH"
        return f"{self.interface}/IPv{int(self.family)}{kind}/{self.bind_address}"


@dataclass(slots=True)
class SocketStats:
    """Counters of one socket: packets read/sent, read and send errors, drops by reason."""

    received: int = 0
    sent: int = 0
    send_errors: int = 0
    read_errors: int = 0
    wakeups: int = 0
    reads_capped: int = 0
    """Wake-ups that stopped at ``max_reads_per_wakeup`` with data possibly left."""
    pauses: int = 0
    """Read pauses of ``read_pause_s`` (packets came closer than that apart)."""
    flushes: int = 0
    """Reads of everything waiting before a deadline acted (:meth:`VrrpSocket.flush`)."""
    drops: dict[str, int] = field(default_factory=dict)

    def count_drop(self, reason: DropReason) -> None:
        """Count one packet refused while decoding."""
        name = reason.name.lower()
        self.drops[name] = self.drops.get(name, 0) + 1

    def as_dict(self) -> dict[str, object]:
        """JSON-able view."""
        return {
            "received": self.received,
            "sent": self.sent,
            "send_errors": self.send_errors,
            "read_errors": self.read_errors,
            "wakeups": self.wakeups,
            "reads_capped": self.reads_capped,
            "pauses": self.pauses,
            "flushes": self.flushes,
            "drops": dict(self.drops),
        }


Datagram = ReceivedAdvert | PacketError
"""What a read yields: a decoded advert, or why the packet is not one."""
DatagramHandler = Callable[["VrrpSocket", Datagram, float], None]
"""``handler(socket, datagram, received_at_s)``: ``received_at_s`` is when the kernel received
the packet, on the loop's clock (``loop.time()``), or when it was read where that is unknown."""


def _ip_mreqn(group: IPv4Address, ifindex: int) -> bytes:
    # struct ip_mreqn { in_addr imr_multiaddr; in_addr imr_address; int imr_ifindex; }
    return group.packed + bytes(4) + struct.pack("@i", ifindex)


def _ipv6_mreq(group: IPv6Address, ifindex: int) -> bytes:
    # struct ipv6_mreq { in6_addr ipv6mr_multiaddr; unsigned int ipv6mr_interface; }
    return group.packed + struct.pack("@I", ifindex)


def _in6_pktinfo(src: IPv6Address, ifindex: int) -> bytes:
    # struct in6_pktinfo { in6_addr ipi6_addr; unsigned int ipi6_ifindex; }
    return src.packed + struct.pack("@I", ifindex)


def _raw_socket(family: int, proto: int, netns: str | None) -> socket.socket:
    if netns is None:
        return socket.socket(family, socket.SOCK_RAW, proto)
    from pyroute2.netns import create_socket  # noqa: PLC0415  (tests only)

    sock: socket.socket = create_socket(netns, family, socket.SOCK_RAW, proto, flags=0)
    return sock


class VrrpSocket:
    """One raw VRRP socket; see the module docstring. Build it with :func:`open_vrrp_socket`."""

    def __init__(
        self,
        sock: socket.socket,
        key: SocketKey,
        ifindex: int,
        *,
        max_reads_per_wakeup: int = DEFAULT_MAX_READS_PER_WAKEUP,
        read_pause_s: float = DEFAULT_READ_PAUSE_S,
    ) -> None:
        self._sock = sock
        self.key = key
        self.ifindex = ifindex
        self.max_reads_per_wakeup = max_reads_per_wakeup
        self.stats = SocketStats()
        self._handler: DatagramHandler | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._ipv4_targets: dict[IPAddress, tuple[int, tuple[str, int]]] = {}
        """Per destination: the sendto flags and socket address (computed once)."""
        self._ipv4 = key.family is Family.IPV4
        self._stamped = _enable_timestamps(sock)
        """The kernel stamps each packet with its receive time (``SO_TIMESTAMPNS``)."""
        stamp_len = TIMESTAMP_CMSG_SPACE if self._stamped else 0
        self._batch = batch_receiver_for(
            sock,
            capacity=min(max(1, max_reads_per_wakeup), BATCH_CAPACITY),
            buffer_len=RECV_BUFFER_LEN,
            control_len=stamp_len if self._ipv4 else stamp_len + _CMSG_LEN,
            with_source=not self._ipv4,
        )
        """Reads with one ``recvmmsg`` per wake-up (None: one ``recv`` per packet)."""
        self._clock_offset_s: float | None = None
        """CLOCK_REALTIME minus the loop's clock at the last batch (to date packets)."""
        self._memo: dict[bytes, ReceivedAdvert] = {}
        """Decoded adverts by their bytes (see the module docstring)."""
        self.read_pause_s = read_pause_s
        self._stamp_len = stamp_len
        self._resume_handle: asyncio.TimerHandle | None = None
        self._last_read_s = -math.inf

    # ---- life cycle ----------------------------------------------------------------------

    def fileno(self) -> int:
        """The socket's file descriptor."""
        return self._sock.fileno()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._closed

    def attach(self, loop: asyncio.AbstractEventLoop, handler: DatagramHandler) -> None:
        """Start reading: ``handler(self, datagram)`` is called for every packet read."""
        if self._loop is not None:
            raise RuntimeError(f"socket {self.key.describe()} is already attached")
        self._handler = handler
        loop.add_reader(self._sock.fileno(), self.on_readable)
        self._loop = loop
        self._last_read_s = -math.inf

    @property
    def paused(self) -> bool:
        """True while reading pauses (see the module docstring); :meth:`flush` reads anyway."""
        return self._resume_handle is not None

    def flush(self) -> None:
        """Read everything waiting now, paused or not, with no cap (before a deadline acts)."""
        if self._loop is None or self._closed:
            return
        self.stats.flushes += 1
        for _ in range(FLUSH_MAX_READS // max(1, self.max_reads_per_wakeup)):
            if self._read(count_cap=False) < self.max_reads_per_wakeup or self._closed:
                return

    def set_rx_buf_size(self, size: int) -> None:
        """``SO_RCVBUF`` (``vrrp_rx_bufs_policy``, ``kernel_rx_buf_size``); a refusal is logged."""
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
        except OSError as exc:
            log.info("vrrp set receive socket buffer size error %s", exc.errno)

    def set_handler(self, handler: DatagramHandler | None) -> None:
        """Replace the callback without touching the loop registration."""
        self._handler = handler

    def detach(self) -> None:
        """Stop reading (the socket stays open)."""
        loop = self._loop
        if self._resume_handle is not None:
            self._resume_handle.cancel()
            self._resume_handle = None
        elif loop is not None and not self._closed:
            loop.remove_reader(self._sock.fileno())
        self._loop = None
        self._handler = None

    def close(self) -> None:
        """Stop reading and close the socket (leaves the multicast group)."""
        if self._closed:
            return
        self.detach()
        self._closed = True
        self._sock.close()

    # ---- receiving -----------------------------------------------------------------------

    def on_readable(self) -> None:
        """Read up to ``max_reads_per_wakeup`` packets and pass each to the handler.

        When packets come again within ``read_pause_s`` of the last read, reading pauses (see
        the module docstring).
        """
        self.stats.wakeups += 1
        read = self._read()
        loop = self._loop
        if not read or loop is None or self._closed:
            return
        now = loop.time()
        dense = now - self._last_read_s < self.read_pause_s
        self._last_read_s = now
        if dense and self._resume_handle is None:
            loop.remove_reader(self._sock.fileno())
            self._pause(loop)

    def _pause(self, loop: asyncio.AbstractEventLoop) -> None:
        self._resume_handle = loop.call_later(self.read_pause_s, self._resume)
        self.stats.pauses += 1

    def _resume(self) -> None:
        """The pause is over: read what came meanwhile; pause again if anything did, else wait
        for the fd again."""
        self._resume_handle = None
        if self._loop is None or self._closed:
            return
        self.stats.wakeups += 1
        read = self._read()
        loop = self._loop
        if loop is None or self._closed:
            return  # the handler detached or closed the socket
        if read:
            self._last_read_s = loop.time()
            self._pause(loop)
        else:
            loop.add_reader(self._sock.fileno(), self.on_readable)

    def _read(self, *, count_cap: bool = True) -> int:
        """Read up to ``max_reads_per_wakeup`` packets; return how many were read."""
        batch = self._batch
        read = self._read_singly() if batch is None else self._read_batches(batch)
        if count_cap and read >= self.max_reads_per_wakeup:
            self.stats.reads_capped += 1
        return read

    def _read_batches(self, batch: BatchReceiver) -> int:
        """Read with ``recvmmsg`` until the queue is empty or the cap is reached; return how
        many packets were read."""
        read = 0
        cap = self.max_reads_per_wakeup
        while read < cap:
            wanted = min(cap - read, batch.capacity)
            try:
                count = batch.receive(wanted)
            except OSError as exc:
                self.stats.read_errors += 1
                log.warning("%s: read error: %s", self.key.describe(), exc)
                return read
            self.stats.received += count
            read += count
            if self._ipv4:
                datagrams = [self._decode_ipv4_memo(data) for data in batch.payloads(count)]
            else:
                datagrams = [self._decode_batched_ipv6(batch, i) for i in range(count)]
            for datagram, received_at_s in zip(
                datagrams, self._arrivals(batch, count), strict=True
            ):
                handler = self._handler
                if handler is not None:
                    handler(self, datagram, received_at_s)
                if self._closed or self._handler is None:
                    return read  # closed or detached by the handler: leave the rest unread
            if count < wanted:
                return read  # the queue is empty: recvmmsg returned fewer than it could
        return read

    def _read_singly(self) -> int:
        """:meth:`_read_batches` without ``recvmmsg``: one system call per packet."""
        for read in range(self.max_reads_per_wakeup):
            datagram = self.read_one()
            if datagram is None:
                return read
            handler = self._handler
            if handler is not None:
                handler(self, datagram, self._now())
            if self._closed or self._handler is None:
                return read + 1
        return self.max_reads_per_wakeup

    def read_one(self) -> Datagram | None:
        """Read and decode one packet; None when nothing is waiting (or on a read error)."""
        try:
            if self._ipv4:
                data = self._sock.recv(RECV_BUFFER_LEN, socket.MSG_DONTWAIT)
                self.stats.received += 1
                return self._decode_ipv4(data)
            data, ancdata, msg_flags, addr = self._sock.recvmsg(
                RECV_BUFFER_LEN, _CMSG_LEN, socket.MSG_DONTWAIT
            )
        except (BlockingIOError, InterruptedError):
            return None
        except OSError as exc:
            self.stats.read_errors += 1
            log.warning("%s: read error: %s", self.key.describe(), exc)
            return None
        self.stats.received += 1
        src = addr[0] if isinstance(addr, tuple) and addr else None
        return self._decode_ipv6(data, ancdata, msg_flags, src)

    def _now(self) -> float:
        loop = self._loop
        return loop.time() if loop is not None else time.monotonic()

    def _arrivals(self, batch: BatchReceiver, count: int) -> list[float]:
        """When the kernel received each packet of the batch, on the loop's clock.

        The timestamps are CLOCK_REALTIME; the offset to the loop's clock is measured now. A
        packet is dated no later than now and no earlier than ``MAX_PACKET_AGE_S`` ago; and
        when the offset moved by more than ``CLOCK_STEP_S`` since the last batch (the wall
        clock was set), the batch is dated now, as it is without timestamps.
        """
        now = self._now()
        if not self._stamped:
            return [now] * count
        offset = time.time() - now
        last, self._clock_offset_s = self._clock_offset_s, offset
        if last is not None and abs(offset - last) > CLOCK_STEP_S:
            return [now] * count
        oldest = now - MAX_PACKET_AGE_S
        return [
            now if stamp is None else min(now, max(oldest, stamp - offset))
            for stamp in batch.timestamps(count)
        ]

    def _decode_ipv4_memo(self, data: bytes) -> Datagram:
        if len(data) < IPV4_HEADER_LEN or data[9] != IpProto.VRRP:
            return self._decode_ipv4(data)  # too short, or AH: its ICV covers the IP header
        # The identification and the header checksum change with every packet (the kernel
        # verified the checksum); the rest of a steady master's advert does not.
        key = data[:4] + data[6:10] + data[12:]
        known = self._memo.get(key)
        if known is not None:
            return known
        datagram = self._decode_ipv4(data)
        if isinstance(datagram, ReceivedAdvert):
            datagram = dataclasses.replace(datagram, ip_id=None, ip_header=b"")
            self._remember(key, datagram)
        return datagram

    def _decode_batched_ipv6(self, batch: BatchReceiver, i: int) -> Datagram:
        data, name, control = batch.payload(i), batch.source(i), batch.control(i)
        flags = batch.flags(i)
        if self._stamp_len and batch.timestamp(i) is not None:
            control = control[self._stamp_len :]  # the receive time: not part of the advert
        key = name + control + data
        known = self._memo.get(key) if not flags & _MSG_CUT else None
        if known is not None:
            return known
        src = IPv6Address(name[8:24]) if len(name) >= _SOCKADDR_IN6_LEN else None
        datagram = self._decode_ipv6(data, parse_cmsgs(control), flags, src)
        if isinstance(datagram, ReceivedAdvert) and not flags & _MSG_CUT:
            self._remember(key, datagram)
        return datagram

    def _remember(self, key: bytes, rx: ReceivedAdvert) -> None:
        memo = self._memo
        if len(memo) >= DECODE_MEMO_LIMIT:
            memo.clear()  # senders of ever-new packets gain nothing, but cost no more memory
        memo[key] = rx

    def _decode_ipv4(self, data: bytes) -> Datagram:
        try:
            return decode_ipv4(data)
        except PacketError as exc:
            self.stats.count_drop(exc.reason)
            return exc

    def _decode_ipv6(
        self,
        data: bytes,
        ancdata: list[tuple[int, int, bytes]],
        msg_flags: int,
        src: object,
    ) -> Datagram:
        try:
            if msg_flags & socket.MSG_TRUNC:
                raise PacketError(DropReason.PACKET_LEN_ERR, "truncated read")
            hop_limit: int | None = None
            dst: IPv6Address | None = None
            for level, ctype, cdata in ancdata:
                if level != socket.IPPROTO_IPV6:
                    continue
                if ctype == socket.IPV6_HOPLIMIT and len(cdata) >= 4:
                    hop_limit = struct.unpack("@i", cdata[:4])[0]
                elif ctype == socket.IPV6_PKTINFO and len(cdata) >= 16:
                    dst = IPv6Address(cdata[:16])
            if src is None:
                raise PacketError(DropReason.IP_HDR_ERR, "no source address")
            if not isinstance(src, IPv6Address):
                src = ip_address(str(src).split("%", 1)[0])
            if not isinstance(src, IPv6Address):
                raise PacketError(DropReason.IP_HDR_ERR, f"source {src} is not IPv6")
            if dst is None:
                raise PacketError(DropReason.IP_HDR_ERR, "no IPV6_PKTINFO destination")
            return decode_ipv6(data, src=src, dst=dst, hop_limit=hop_limit)
        except PacketError as exc:
            self.stats.count_drop(exc.reason)
            return exc
        except ValueError as exc:
            err = PacketError(DropReason.IP_HDR_ERR, str(exc))
            self.stats.count_drop(err.reason)
            return err

    # ---- sending -------------------------------------------------------------------------

    def send_ipv4(self, packet: bytes, dst: IPv4Address) -> bool:
        """Send a whole IPv4 packet (built with ``encode_ipv4``) to ``dst``.

        Multicast goes with ``MSG_DONTROUTE``, unicast without (keepalived's
        ``vrrp_send_pkt()``). False (counted, logged) if the kernel refused it.
        """
        target = self._ipv4_targets.get(dst)
        if target is None:
            flags = socket.MSG_DONTROUTE if dst.is_multicast else 0
            target = self._ipv4_targets[dst] = (flags, (str(dst), 0))
        if self._closed:
            self.stats.send_errors += 1
            return False
        try:  # the hot path of a master: no closure, no per-packet address formatting
            self._sock.sendto(packet, target[0], target[1])
        except OSError as exc:
            self._send_failed(exc, dst)
            return False
        self.stats.sent += 1
        return True

    def send_ipv6(
        self,
        message: bytes,
        dst: IPv6Address,
        src: IPv6Address | None,
        *,
        hop_limit: int | None = None,
    ) -> bool:
        """Send a VRRP message over IPv6; the kernel adds the header and the checksum.

        ``src`` goes in an ``IPV6_PKTINFO`` cmsg (None: let the kernel choose); ``hop_limit``
        in an ``IPV6_HOPLIMIT`` cmsg (None: the socket's hop limits apply).
        """
        cmsgs: list[tuple[int, int, bytes]] = []
        if src is not None:
            cmsgs.append(
                (socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, _in6_pktinfo(src, self.ifindex))
            )
        if hop_limit is not None:
            cmsgs.append((socket.IPPROTO_IPV6, socket.IPV6_HOPLIMIT, struct.pack("@i", hop_limit)))
        scope = self.ifindex if dst.is_link_local or dst.is_multicast else 0
        address = (str(dst), 0, 0, scope)
        return self._send(lambda: self._sock.sendmsg([message], cmsgs, 0, address), dst)

    def _send(self, op: Callable[[], int], dst: IPAddress) -> bool:
        if self._closed:
            self.stats.send_errors += 1
            return False
        try:
            op()
        except OSError as exc:
            self._send_failed(exc, dst)
            return False
        self.stats.sent += 1
        return True

    def _send_failed(self, exc: OSError, dst: IPAddress) -> None:
        self.stats.send_errors += 1
        name = errno.errorcode.get(exc.errno or 0, str(exc.errno))
        log.warning("%s: cannot send to %s: %s (%s)", self.key.describe(), dst, name, exc)


def _enable_timestamps(sock: socket.socket) -> bool:
    """Ask the kernel to stamp each received packet (``SO_TIMESTAMPNS``); False if refused."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SCM_TIMESTAMPNS, 1)
    except OSError as exc:
        log.debug("SO_TIMESTAMPNS refused: %s", exc)
        return False
    return True


def _setsockopt(sock: socket.socket, level: int, opt: int, value: int | bytes, what: str) -> None:
    try:
        sock.setsockopt(level, opt, value)
    except OSError as exc:
        raise VrrpSocketError(what, exc) from exc


def open_vrrp_socket(
    key: SocketKey,
    ifindex: int,
    *,
    unicast_hop_limit: int | None = None,
    netns: str | None = None,
    max_reads_per_wakeup: int = DEFAULT_MAX_READS_PER_WAKEUP,
    read_pause_s: float = DEFAULT_READ_PAUSE_S,
    rx_buf_size: int = 0,
) -> VrrpSocket:
    """Open, configure and bind the raw socket for ``key`` on interface index ``ifindex``.

    ``rx_buf_size`` > 0 sets ``SO_RCVBUF`` (the kernel doubles it, up to ``rmem_max``).

    ``netns`` opens it in a named network namespace (tests); the daemon runs inside its
    namespace and leaves it None. Raises :class:`VrrpSocketError`.
    """
    af = socket.AF_INET if key.family is Family.IPV4 else socket.AF_INET6
    try:
        sock = _raw_socket(af, key.proto, netns)
    except OSError as exc:
        raise VrrpSocketError(f"socket({key.describe()})", exc) from exc
    try:
        sock.setblocking(False)
        _setsockopt(
            sock,
            socket.SOL_SOCKET,
            socket.SO_BINDTODEVICE,
            key.interface.encode() + b"\0",
            f"SO_BINDTODEVICE {key.interface}",
        )
        if key.family is Family.IPV4:
            _configure_ipv4(sock, key, ifindex)
        else:
            _configure_ipv6(sock, key, ifindex, unicast_hop_limit)
    except BaseException:
        sock.close()
        raise
    log.debug("opened VRRP socket %s (ifindex %d)", key.describe(), ifindex)
    vrrp_socket = VrrpSocket(
        sock,
        key,
        ifindex,
        max_reads_per_wakeup=max_reads_per_wakeup,
        read_pause_s=read_pause_s,
    )
    if rx_buf_size > 0:
        vrrp_socket.set_rx_buf_size(rx_buf_size)
    return vrrp_socket


def _configure_ipv4(sock: socket.socket, key: SocketKey, ifindex: int) -> None:
    ip = socket.IPPROTO_IP
    _setsockopt(sock, ip, socket.IP_HDRINCL, 1, "IP_HDRINCL")
    _setsockopt(sock, ip, socket.IP_TOS, IPTOS_PREC_INTERNETCONTROL, "IP_TOS")
    _setsockopt(sock, ip, SocketOpt.IP_MULTICAST_ALL, 0, "IP_MULTICAST_ALL")
    _setsockopt(sock, ip, socket.IP_MULTICAST_LOOP, 0, "IP_MULTICAST_LOOP")
    _setsockopt(sock, ip, socket.IP_MULTICAST_TTL, VRRP_TTL, "IP_MULTICAST_TTL")
    mreqn = _ip_mreqn(IPv4Address("0.0.0.0"), ifindex)
    _setsockopt(sock, ip, socket.IP_MULTICAST_IF, mreqn, "IP_MULTICAST_IF")
    bind_address = key.bind_address
    assert isinstance(bind_address, IPv4Address)
    if key.unicast:
        _setsockopt(sock, ip, SocketOpt.IP_FREEBIND, 1, "IP_FREEBIND")
    else:
        _setsockopt(
            sock,
            ip,
            socket.IP_ADD_MEMBERSHIP,
            _ip_mreqn(bind_address, ifindex),
            f"IP_ADD_MEMBERSHIP {bind_address}",
        )
    try:
        sock.bind((str(bind_address), 0))
    except OSError as exc:
        raise VrrpSocketError(f"bind {bind_address}", exc) from exc


def _configure_ipv6(
    sock: socket.socket, key: SocketKey, ifindex: int, unicast_hop_limit: int | None
) -> None:
    ip6 = socket.IPPROTO_IPV6
    _setsockopt(sock, ip6, socket.IPV6_CHECKSUM, 6, "IPV6_CHECKSUM")
    _setsockopt(sock, ip6, socket.IPV6_TCLASS, IPTOS_PREC_INTERNETCONTROL, "IPV6_TCLASS")
    _setsockopt(sock, ip6, socket.IPV6_RECVHOPLIMIT, 1, "IPV6_RECVHOPLIMIT")
    _setsockopt(sock, ip6, socket.IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO")
    _setsockopt(sock, ip6, socket.IPV6_MULTICAST_LOOP, 0, "IPV6_MULTICAST_LOOP")
    _setsockopt(sock, ip6, socket.IPV6_MULTICAST_HOPS, VRRP_TTL, "IPV6_MULTICAST_HOPS")
    _setsockopt(sock, ip6, socket.IPV6_MULTICAST_IF, ifindex, "IPV6_MULTICAST_IF")
    if unicast_hop_limit is not None:
        _setsockopt(sock, ip6, socket.IPV6_UNICAST_HOPS, unicast_hop_limit, "IPV6_UNICAST_HOPS")
    bind_address = key.bind_address
    assert isinstance(bind_address, IPv6Address)
    scope = ifindex if bind_address.is_link_local or bind_address.is_multicast else 0
    if key.unicast:
        _setsockopt(sock, ip6, SocketOpt.IPV6_FREEBIND, 1, "IPV6_FREEBIND")
    else:
        try:
            sock.setsockopt(ip6, SocketOpt.IPV6_MULTICAST_ALL, 0)
        except OSError as exc:  # Linux < 4.20: the bind to the group still filters
            log.debug("IPV6_MULTICAST_ALL not supported: %s", exc)
        _setsockopt(
            sock,
            ip6,
            socket.IPV6_JOIN_GROUP,
            _ipv6_mreq(bind_address, ifindex),
            f"IPV6_JOIN_GROUP {bind_address}",
        )
    try:
        sock.bind((str(bind_address), 0, 0, scope))
    except OSError as exc:
        raise VrrpSocketError(f"bind {bind_address}", exc) from exc
