"""TCP_CHECK, and the connection helper every TCP-based checker uses.

`open_connection` makes a non-blocking socket with the checker's ``bindto`` / ``bind_port`` /
``bind_if`` / ``fwmark`` options and connects it within ``connect_timeout``; it returns the
socket or a `CheckResult` telling why it could not (refused, timeout, unreachable ...).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
from collections.abc import Hashable

from pykeepalived.checkers.base import CheckResult, Reason
from pykeepalived.config.model.checkers import ConnOpts, TcpCheck

SO_MARK = getattr(socket, "SO_MARK", 36)
SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)

_UNREACHABLE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL}


def sockaddr(conn: ConnOpts) -> tuple[str, int] | tuple[str, int, int, int]:
    """The destination as a socket address (link-local IPv6 gets the interface scope)."""
    if conn.connect_ip.version == 6:
        scope = socket.if_nametoindex(conn.bind_if) if conn.bind_if else 0
        return (str(conn.connect_ip), conn.connect_port, 0, scope)
    return (str(conn.connect_ip), conn.connect_port)


def make_socket(conn: ConnOpts, kind: socket.SocketKind, proto: int = 0) -> socket.socket:
    """A non-blocking socket of the right family with the bind/mark options applied."""
    family = socket.AF_INET6 if conn.connect_ip.version == 6 else socket.AF_INET
    sock = socket.socket(family, kind | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC, proto)
    try:
        if conn.fwmark:
            sock.setsockopt(socket.SOL_SOCKET, SO_MARK, conn.fwmark)
        if conn.bind_if:
            sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, conn.bind_if.encode())
        if conn.bindto is not None or conn.bind_port:
            if kind == socket.SOCK_STREAM and conn.bind_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            host = str(conn.bindto) if conn.bindto is not None else ""
            sock.bind((host, conn.bind_port or 0))
    except OSError:
        sock.close()
        raise
    return sock


def classify_error(exc: OSError) -> Reason:
    if exc.errno == errno.ECONNREFUSED:
        return Reason.CONNECT_REFUSED
    if exc.errno in _UNREACHABLE:
        return Reason.NETWORK_UNREACHABLE
    if exc.errno == errno.ETIMEDOUT:
        return Reason.CONNECT_TIMEOUT
    return Reason.CONNECT_ERROR


async def open_connection(conn: ConnOpts) -> socket.socket | CheckResult:
    """Connect within the connect timeout; the socket, or why not."""
    try:
        sock = make_socket(conn, socket.SOCK_STREAM)
    except OSError as exc:
        return CheckResult.fail(Reason.SOCKET_ERROR, f"socket: {exc}")
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(conn.connect_timeout_s):
            await loop.sock_connect(sock, sockaddr(conn))
    except TimeoutError:
        sock.close()
        return CheckResult.fail(Reason.CONNECT_TIMEOUT, "TCP connection timed out")
    except OSError as exc:
        sock.close()
        return CheckResult.fail(classify_error(exc), f"TCP connection failed: {exc.strerror}")
    except BaseException:
        sock.close()
        raise
    return sock


def conn_key(conn: ConnOpts) -> tuple[object, ...]:
    return (
        conn.connect_ip,
        conn.connect_port,
        conn.bindto,
        conn.bind_port,
        conn.bind_if,
        conn.fwmark,
        conn.connect_timeout_s,
    )


class TcpProbe:
    """Up when a TCP connection completes within ``connect_timeout``."""

    def __init__(self, check: TcpCheck) -> None:
        self.check = check

    @property
    def key(self) -> Hashable:
        return ("tcp", conn_key(self.check.conn))

    async def run(self, url_index: int = 0) -> CheckResult:
        result = await open_connection(self.check.conn)
        if isinstance(result, CheckResult):
            return result
        with contextlib.suppress(OSError):
            result.close()
        return CheckResult.ok("TCP connection succeeded")
