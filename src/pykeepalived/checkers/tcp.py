"""TCP_CHECK, and the connection helper every TCP-based checker uses.

`start_connect` makes a non-blocking socket with the checker's ``bindto`` / ``bind_port`` /
``bind_if`` / ``fwmark`` options and connects it within ``connect_timeout`` using only
callbacks of the checkers' `Reactor` (no task, no future); it hands over the connected
socket or a `CheckResult` telling why it could not (refused, timeout, unreachable ...).
`open_connection` is the awaitable form of the same thing.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
from collections.abc import Callable, Hashable

from pykeepalived.checkers.base import (
    Cancel,
    CheckResult,
    ProbeDone,
    Reason,
    no_op,
)
from pykeepalived.checkers.reactor import EPOLLOUT, Reactor
from pykeepalived.config.model.checkers import ConnOpts, TcpCheck

SO_MARK = getattr(socket, "SO_MARK", 36)
SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)

_UNREACHABLE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL}

SockAddr = tuple[str, int] | tuple[str, int, int, int]
ConnectDone = Callable[[socket.socket | CheckResult], None]


def sockaddr(conn: ConnOpts) -> SockAddr:
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


def connect_failure(code: int) -> CheckResult:
    """The result of a connect that failed with ``errno`` ``code``."""
    reason = classify_error(OSError(code, ""))
    return CheckResult.fail(reason, f"TCP connection failed: {os.strerror(code)}")


class _Connect:
    """One non-blocking connect in flight: watched on the reactor's epoll, with a timeout."""

    __slots__ = ("done", "fd", "reactor", "sock", "timer")

    def __init__(
        self,
        reactor: Reactor,
        sock: socket.socket,
        done: ConnectDone,
        timeout_s: float,
    ) -> None:
        self.reactor = reactor
        self.sock = sock
        self.fd = sock.fileno()
        self.done = done
        self.timer = reactor.call_at(reactor.time() + timeout_s, self._timed_out, None)
        reactor.watch(self.fd, EPOLLOUT, self._writable)

    def _release(self) -> None:
        self.reactor.forget(self.fd)
        self.reactor.cancel(self.timer)
        self.fd = -1  # over: a late cancel() must not touch a reused descriptor

    def _writable(self, mask: int) -> None:
        self._release()
        try:
            err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        except OSError as exc:
            err = exc.errno or errno.EIO
        if err:
            self.sock.close()
            self.done(connect_failure(err))
        else:
            self.done(self.sock)

    def _timed_out(self, _: object) -> None:
        if self.fd < 0:
            return
        self._release()
        self.sock.close()
        self.done(CheckResult.fail(Reason.CONNECT_TIMEOUT, "TCP connection timed out"))

    def cancel(self) -> None:
        if self.fd < 0:
            return
        self._release()
        self.sock.close()


def start_connect(conn: ConnOpts, done: ConnectDone, addr: SockAddr | None = None) -> Cancel:
    """Start connecting; ``done`` gets the connected socket (the caller owns it) or why not.

    ``done`` may be called before this returns (immediate refusal, socket errors). ``addr``
    is the precomputed `sockaddr` of ``conn``. The returned `Cancel` closes the socket of a
    connect still in flight.
    """
    reactor = Reactor.current()
    try:
        sock = make_socket(conn, socket.SOCK_STREAM)
    except OSError as exc:
        done(CheckResult.fail(Reason.SOCKET_ERROR, f"socket: {exc}"))
        return no_op
    try:
        err = sock.connect_ex(addr if addr is not None else sockaddr(conn))
    except OSError as exc:  # e.g. an unknown bind_if for a link-local scope
        sock.close()
        done(CheckResult.fail(Reason.SOCKET_ERROR, f"connect: {exc}"))
        return no_op
    if err == 0:
        done(sock)
        return no_op
    if err not in (errno.EINPROGRESS, errno.EAGAIN):
        sock.close()
        done(connect_failure(err))
        return no_op
    return _Connect(reactor, sock, done, conn.connect_timeout_s).cancel


async def open_connection(conn: ConnOpts) -> socket.socket | CheckResult:
    """Connect within the connect timeout; the socket, or why not."""
    fut: asyncio.Future[socket.socket | CheckResult] = asyncio.get_running_loop().create_future()

    def done(result: socket.socket | CheckResult) -> None:
        if fut.cancelled():
            if isinstance(result, socket.socket):
                result.close()
            return
        fut.set_result(result)

    cancel = start_connect(conn, done)
    try:
        return await fut
    except BaseException:
        if not fut.done():
            cancel()
        elif not fut.cancelled():
            result = fut.result()
            if isinstance(result, socket.socket):
                result.close()
        raise


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


_TCP_OK = CheckResult.ok("TCP connection succeeded")


class TcpProbe:
    """Up when a TCP connection completes within ``connect_timeout``."""

    def __init__(self, check: TcpCheck) -> None:
        self.check = check
        conn = check.conn
        # a link-local scope is looked up per attempt (the interface may come and go)
        self._addr: SockAddr | None = None if conn.bind_if else sockaddr(conn)

    @property
    def key(self) -> Hashable:
        return ("tcp", conn_key(self.check.conn))

    def begin(self, url_index: int, done: ProbeDone) -> Cancel:
        def connected(result: socket.socket | CheckResult) -> None:
            if isinstance(result, CheckResult):
                done(result)
                return
            with contextlib.suppress(OSError):
                result.close()
            done(_TCP_OK)

        return start_connect(self.check.conn, connected, self._addr)

    async def run(self, url_index: int = 0) -> CheckResult:
        result = await open_connection(self.check.conn)
        if isinstance(result, CheckResult):
            return result
        with contextlib.suppress(OSError):
            result.close()
        return _TCP_OK
