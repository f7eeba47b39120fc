"""PING_CHECK: one ICMP / ICMPv6 echo; up when the matching echo reply arrives in time.

An unprivileged datagram ICMP socket is used when ``net.ipv4.ping_group_range`` allows our
group (the kernel then owns the identifier); otherwise a raw socket (root). Replies are
matched on type, identifier (raw sockets only), sequence and source address.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import struct
from collections.abc import Hashable

from pykeepalived.checkers.base import CheckResult, Reason
from pykeepalived.checkers.tcp import classify_error, conn_key, sockaddr
from pykeepalived.config.model.checkers import PingCheck

ICMP_ECHO_REQUEST = 8
ICMP_ECHO_REPLY = 0
ICMP6_ECHO_REQUEST = 128
ICMP6_ECHO_REPLY = 129
ECHO = struct.Struct("!BBHHH")
PAYLOAD = b"keepalived-check"

_sequence = itertools.count(1)


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return int(~total & 0xFFFF)


def encode_echo(ident: int, seq: int, *, v6: bool, payload: bytes = PAYLOAD) -> bytes:
    kind = ICMP6_ECHO_REQUEST if v6 else ICMP_ECHO_REQUEST
    raw = ECHO.pack(kind, 0, 0, ident, seq) + payload
    if v6:
        return raw  # the kernel fills in the ICMPv6 checksum
    return ECHO.pack(kind, 0, checksum(raw), ident, seq) + payload


def parse_echo_reply(packet: bytes, *, v6: bool, raw: bool) -> tuple[int, int] | None:
    """(identifier, sequence) of an echo reply, skipping the IPv4 header of raw sockets."""
    if raw and not v6:
        if len(packet) < 20:
            return None
        packet = packet[(packet[0] & 0x0F) * 4 :]
    if len(packet) < ECHO.size:
        return None
    kind, _code, _sum, ident, seq = ECHO.unpack_from(packet)
    if kind != (ICMP6_ECHO_REPLY if v6 else ICMP_ECHO_REPLY):
        return None
    return ident, seq


def ping_socket_allowed() -> bool:
    try:
        with open("/proc/sys/net/ipv4/ping_group_range") as f:
            low, high = (int(x) for x in f.read().split())
    except (OSError, ValueError):
        return False
    return any(low <= g <= high for g in (os.getegid(), *os.getgroups()))


def open_icmp_socket(v6: bool) -> tuple[socket.socket, bool]:
    """A non-blocking ICMP socket and whether it is raw."""
    family = socket.AF_INET6 if v6 else socket.AF_INET
    proto = socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP
    if ping_socket_allowed():
        try:
            sock = socket.socket(family, socket.SOCK_DGRAM, proto)
            sock.setblocking(False)
            return sock, False
        except OSError:
            pass
    sock = socket.socket(family, socket.SOCK_RAW, proto)
    sock.setblocking(False)
    return sock, True


class PingProbe:
    def __init__(self, check: PingCheck) -> None:
        self.check = check
        self._ident = (os.getpid() ^ id(self)) & 0xFFFF

    @property
    def key(self) -> Hashable:
        return ("ping", conn_key(self.check.conn))

    async def run(self, url_index: int = 0) -> CheckResult:
        conn = self.check.conn
        v6 = conn.connect_ip.version == 6
        try:
            sock, raw = open_icmp_socket(v6)
        except OSError as exc:
            return CheckResult.fail(Reason.SOCKET_ERROR, f"ICMP socket: {exc}")
        loop = asyncio.get_running_loop()
        seq = next(_sequence) & 0xFFFF
        target = str(conn.connect_ip)
        try:
            if conn.bind_if:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, conn.bind_if.encode())
            if conn.bindto is not None:
                sock.bind((str(conn.bindto), 0))
            address = sockaddr(conn)
            address = (address[0], 0, *address[2:])
            async with asyncio.timeout(conn.connect_timeout_s):
                await loop.sock_sendto(sock, encode_echo(self._ident, seq, v6=v6), address)
                while True:
                    packet, source = await loop.sock_recvfrom(sock, 2048)
                    if source[0].split("%")[0] != target:
                        continue
                    parsed = parse_echo_reply(packet, v6=v6, raw=raw)
                    if parsed is None:
                        continue
                    ident, got_seq = parsed
                    if got_seq == seq and (not raw or ident == self._ident):
                        return CheckResult.ok("echo reply")
        except TimeoutError:
            return CheckResult.fail(Reason.TIMEOUT, "ICMP echo timed out")
        except OSError as exc:
            return CheckResult.fail(classify_error(exc), f"ICMP failed: {exc.strerror}")
        finally:
            sock.close()
