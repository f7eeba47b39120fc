"""SMTP_CHECK: expect a 220 greeting, send ``HELO <helo_name>``, expect 250, send ``QUIT``."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Hashable

from pykeepalived.checkers.base import CheckResult, Reason
from pykeepalived.checkers.tcp import conn_key, open_connection
from pykeepalived.config.model.checkers import SmtpCheck

MAX_REPLY = 8192


def reply_code(reply: bytes) -> int:
    """The code of a (possibly multi-line) SMTP reply; 0 if malformed."""
    last = reply.rstrip(b"\r\n").split(b"\n")[-1]
    return int(last[:3]) if last[:3].isdigit() else 0


def reply_complete(buffer: bytes) -> bool:
    """A reply ends with a line ``NNN<space>...`` (or a bare ``NNN``) and CRLF."""
    if not buffer.endswith(b"\n"):
        return False
    last = buffer.rstrip(b"\r\n").split(b"\n")[-1]
    return len(last) >= 3 and last[:3].isdigit() and (len(last) == 3 or last[3:4] != b"-")


async def read_reply(sock: socket.socket, timeout_s: float) -> bytes | None:
    loop = asyncio.get_running_loop()
    buffer = b""
    async with asyncio.timeout(timeout_s):
        while not reply_complete(buffer):
            data = await loop.sock_recv(sock, 1024)
            if not data:
                return None
            buffer += data
            if len(buffer) > MAX_REPLY:
                return buffer
    return buffer


class SmtpProbe:
    def __init__(self, check: SmtpCheck) -> None:
        self.check = check

    @property
    def key(self) -> Hashable:
        return ("smtp", conn_key(self.check.conn), self.check.helo_name)

    async def run(self, url_index: int = 0) -> CheckResult:
        conn = self.check.conn
        sock = await open_connection(conn)
        if isinstance(sock, CheckResult):
            return sock
        loop = asyncio.get_running_loop()
        timeout_s = conn.connect_timeout_s
        try:
            greeting = await read_reply(sock, timeout_s)
            if greeting is None or reply_code(greeting) != 220:
                return CheckResult.fail(Reason.BAD_BANNER, f"Bad greeting banner: {greeting!r}")
            async with asyncio.timeout(timeout_s):
                await loop.sock_sendall(sock, f"HELO {self.check.helo_name}\r\n".encode())
            helo = await read_reply(sock, timeout_s)
            if helo is None or reply_code(helo) != 250:
                return CheckResult.fail(Reason.BAD_HELO_REPLY, f"Bad HELO response: {helo!r}")
            with contextlib.suppress(OSError, TimeoutError):
                async with asyncio.timeout(timeout_s):
                    await loop.sock_sendall(sock, b"QUIT\r\n")
                await read_reply(sock, timeout_s)
            return CheckResult.ok("SMTP HELO accepted")
        except TimeoutError:
            return CheckResult.fail(Reason.TIMEOUT, "Read timeout from server")
        except OSError as exc:
            return CheckResult.fail(Reason.READ_ERROR, f"Read failure from server: {exc}")
        finally:
            sock.close()
