"""UDP_CHECK: send a payload on a connected UDP socket.

Without ``require_reply`` the check passes unless an ICMP unreachable comes back within
``connect_timeout`` (the kernel reports it on the connected socket as ECONNREFUSED /
EHOSTUNREACH). With ``require_reply`` a reply is needed, of ``min_reply_length`` ..
``max_reply_length`` octets, whose first octets match ``reply_data`` outside the ``reply_mask``
bits (``x`` nibbles in the config).
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Hashable

from pykeepalived.checkers.base import CheckResult, Reason
from pykeepalived.checkers.tcp import classify_error, conn_key, make_socket, sockaddr
from pykeepalived.config.model.checkers import UdpCheck

DEFAULT_PAYLOAD_LEN = 16


def reply_matches(reply: bytes, data: bytes | None, mask: bytes | None) -> bool:
    if data is None:
        return True
    if len(reply) < len(data):
        return False
    mask = mask or bytes(len(data))
    return all((r & ~m) == (d & ~m) for r, d, m in zip(reply, data, mask, strict=False))


def judge_reply(check: UdpCheck, reply: bytes) -> CheckResult:
    if not check.min_reply_length <= len(reply) <= check.max_reply_length:
        return CheckResult.fail(Reason.BAD_REPLY, f"reply length {len(reply)}")
    if not reply_matches(reply, check.reply_data, check.reply_mask):
        return CheckResult.fail(Reason.BAD_REPLY, "reply does not match")
    return CheckResult.ok(f"{len(reply)} octet reply")


class UdpProbe:
    def __init__(self, check: UdpCheck) -> None:
        self.check = check

    @property
    def key(self) -> Hashable:
        c = self.check
        return (
            "udp",
            conn_key(c.conn),
            c.payload,
            c.require_reply,
            c.reply_data,
            c.reply_mask,
            c.min_reply_length,
            c.max_reply_length,
        )

    async def run(self, url_index: int = 0) -> CheckResult:
        conn = self.check.conn
        payload = self.check.payload
        if payload is None:
            payload = os.urandom(DEFAULT_PAYLOAD_LEN)
        loop = asyncio.get_running_loop()
        try:
            sock = make_socket(conn, socket.SOCK_DGRAM)
        except OSError as exc:
            return CheckResult.fail(Reason.SOCKET_ERROR, str(exc))
        try:
            async with asyncio.timeout(conn.connect_timeout_s):
                await loop.sock_connect(sock, sockaddr(conn))
                await loop.sock_sendall(sock, payload)
                reply = await loop.sock_recv(sock, 65535)
        except TimeoutError:
            if self.check.require_reply:
                return CheckResult.fail(Reason.TIMEOUT, "no reply")
            return CheckResult.ok("no ICMP error")
        except OSError as exc:
            reason = classify_error(exc)
            if reason is Reason.CONNECT_REFUSED:
                reason = Reason.ICMP_UNREACHABLE
            return CheckResult.fail(reason, f"UDP check failed: {exc.strerror}")
        finally:
            sock.close()
        if not self.check.require_reply:
            return CheckResult.ok("reply received")
        return judge_reply(self.check, reply)
