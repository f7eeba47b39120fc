"""HTTP_GET and SSL_GET: the request keepalived sends and how it judges the answer.

The request is byte-identical to keepalived 2.2.7's (checked against Debian's ``genhash``)::

    GET <path> HTTP/1.<0|1>\\r\\n
    User-Agent: KeepAliveClient\\r\\n
    [Connection: close\\r\\n]            (http_protocol 1.0C and 1.1)
    Host: <virtualhost | ip:port | [ip6]:port>\\r\\n
    \\r\\n

A URL passes when a response arrives, its status is in ``status_code`` (default 200-299), the
MD5 of the **body** equals ``digest`` (when set) and ``regex`` matches (or, with
``regex_no_match``, does not). The body is cut at ``Content-Length`` when the server sends one.
Regexes use Python's ``re`` (keepalived uses PCRE2; the common options are mapped).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import socket
import ssl
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from pykeepalived.checkers.base import (
    Cancel,
    CheckResult,
    ProbeDone,
    Reason,
    begin_via_task,
    internal_error,
    no_op,
)
from pykeepalived.checkers.reactor import EPOLLIN, EPOLLOUT, Reactor, TimerEntry
from pykeepalived.checkers.tcp import SockAddr, conn_key, open_connection, sockaddr, start_connect
from pykeepalived.config.model.checkers import (
    HttpCheckBase,
    HttpProtocol,
    HttpUrl,
    IPAddress,
    SslGetCheck,
)
from pykeepalived.config.model.lvs import SslConfig

log = logging.getLogger(__name__)

USER_AGENT = "KeepAliveClient"
MAX_REGEX_BODY = 1 << 20
READ_CHUNK = 65536

_REGEX_FLAGS = {
    "caseless": re.IGNORECASE,
    "multiline": re.MULTILINE,
    "dotall": re.DOTALL,
    "extended": re.VERBOSE,
}


def host_header(virtualhost: str | None, address: IPAddress, port: int) -> str:
    """The ``Host:`` value: the virtual host as is, else ``ip:port`` (IPv6 in brackets)."""
    if virtualhost:
        return virtualhost
    if address.version == 6:
        return f"[{address}]:{port}"
    return f"{address}:{port}"


def build_request(path: str, host: str, protocol: HttpProtocol) -> bytes:
    minor = 1 if protocol is HttpProtocol.HTTP_1_1 else 0
    close = "" if protocol is HttpProtocol.HTTP_1_0 else "Connection: close\r\n"
    return (
        f"GET {path} HTTP/1.{minor}\r\nUser-Agent: {USER_AGENT}\r\n{close}Host: {host}\r\n\r\n"
    ).encode("latin-1")


_DIGITS = re.compile(rb"\d+")


def parse_status_code(head: bytes) -> int:
    """The status code of a status line (``HTTP/1.x NNN ...``), 0 if there is none."""
    line = head.split(b"\r\n", 1)[0].split(b"\n", 1)[0]
    if not line.startswith(b"HTTP/"):
        return 0
    parts = line.split(None, 2)
    if len(parts) < 2:
        return 0
    digits = _DIGITS.match(parts[1])
    return int(digits.group()) if digits else 0


def parse_content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, sep, value = line.partition(b":")
        if sep and name.strip().lower() == b"content-length":
            try:
                return int(value.strip())
            except ValueError:
                return None
    return None


@dataclass
class HttpResponse:
    """An HTTP response read incrementally: header, status, body digest (and body for regex).

    ``complete`` becomes true when ``Content-Length`` body octets have been received.
    """

    keep_body: int = 0
    raw_head: bytes = b""
    status_code: int = 0
    content_length: int | None = None
    body_received: int = 0
    body: bytearray = field(default_factory=bytearray)
    received: int = 0
    _buffer: bytearray = field(default_factory=bytearray)
    _md5: hashlib._Hash = field(default_factory=hashlib.md5)
    _in_body: bool = False

    def feed(self, data: bytes) -> None:
        self.received += len(data)
        if not self._in_body:
            self._buffer += data
            end = self._buffer.find(b"\r\n\r\n")
            sep = 4
            if end < 0:
                end = self._buffer.find(b"\n\n")
                sep = 2
            if end < 0:
                return
            self.raw_head = bytes(self._buffer[:end])
            self.status_code = parse_status_code(self.raw_head)
            self.content_length = parse_content_length(self.raw_head)
            data = bytes(self._buffer[end + sep :])
            self._buffer.clear()
            self._in_body = True
        if self.content_length is not None:
            data = data[: max(0, self.content_length - self.body_received)]
        self.body_received += len(data)
        self._md5.update(data)
        if len(self.body) < self.keep_body:
            self.body += data[: self.keep_body - len(self.body)]

    def finish(self) -> None:
        """End of stream: a response without a header end is all header."""
        if not self._in_body and self._buffer:
            self.raw_head = bytes(self._buffer)
            self.status_code = parse_status_code(self.raw_head)

    @property
    def complete(self) -> bool:
        return (
            self._in_body
            and self.content_length is not None
            and self.body_received >= self.content_length
        )

    @property
    def digest(self) -> str:
        return self._md5.hexdigest()


def compile_regex(url: HttpUrl) -> re.Pattern[bytes] | None:
    if url.regex is None:
        return None
    flags = 0
    for option in url.regex_options:
        flags |= _REGEX_FLAGS.get(option, 0)
    return re.compile(url.regex.encode(), flags)


def regex_matches(pattern: re.Pattern[bytes], url: HttpUrl, body: bytes) -> bool:
    """A match starting at or after ``regex_min_offset`` and before ``regex_max_offset``."""
    match = pattern.search(body, url.regex_min_offset)
    if match is None:
        return False
    return url.regex_max_offset is None or match.start() < url.regex_max_offset


def keep_body_for(url: HttpUrl, pattern: re.Pattern[bytes] | None) -> int:
    """How much of the body a URL's regex needs to see."""
    if pattern is None:
        return 0
    return MAX_REGEX_BODY if url.regex_max_offset is None else url.regex_max_offset + 4096


def judge(
    url: HttpUrl, response: HttpResponse, pattern: re.Pattern[bytes] | None, url_index: int = 0
) -> CheckResult:
    """keepalived's ``http_handle_response()`` order: data, status, digest, regex."""
    if response.received == 0:
        return CheckResult.fail(Reason.NO_DATA, "no data received", url_index=url_index)
    if not url.accepts(response.status_code):
        return CheckResult.fail(
            Reason.STATUS_CODE, f"HTTP status code {response.status_code}", url_index=url_index
        )
    if url.digest is not None and response.digest != url.digest.lower():
        return CheckResult.fail(
            Reason.DIGEST_MISMATCH,
            f"MD5 digest {response.digest} != {url.digest}",
            url_index=url_index,
        )
    if pattern is not None and regex_matches(pattern, url, bytes(response.body)) == (
        url.regex_no_match
    ):
        return CheckResult.fail(Reason.REGEX, "regex match failed", url_index=url_index)
    return CheckResult.ok(f"HTTP status code {response.status_code}", url_index=url_index)


def make_ssl_context(config: SslConfig | None) -> ssl.SSLContext:
    """Like keepalived: certificates are not verified; the SSL block's files are loaded."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if config is not None:
        if config.ca:
            ctx.load_verify_locations(cafile=config.ca)
        if config.certificate:
            ctx.load_cert_chain(
                config.certificate, keyfile=config.key, password=config.password or None
            )
    return ctx


async def fetch(
    check: HttpCheckBase,
    url: HttpUrl,
    *,
    ssl_context: ssl.SSLContext | None,
    keep_body: int = 0,
) -> HttpResponse | CheckResult:
    """Connect, send the GET, read the response (each step within ``connect_timeout``)."""
    conn = check.conn
    sock = await open_connection(conn)
    if isinstance(sock, CheckResult):
        return sock
    vhost = url.virtualhost or check.virtualhost
    timeout_s = conn.connect_timeout_s
    server_hostname: str | None = None
    if ssl_context is not None:
        server_hostname = vhost if (check.enable_sni and vhost) else ""
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(
                sock=sock,
                ssl=ssl_context,
                server_hostname=server_hostname,
                ssl_handshake_timeout=timeout_s if ssl_context is not None else None,
            )
    except (ssl.SSLError, OSError, TimeoutError) as exc:
        sock.close()
        return CheckResult.fail(Reason.TLS_ERROR, f"SSL handshake failed: {exc!r}")
    except BaseException:
        sock.close()
        raise
    try:
        return await _exchange(check, url, reader, writer, keep_body=keep_body, vhost=vhost)
    finally:
        writer.transport.abort()


async def _exchange(
    check: HttpCheckBase,
    url: HttpUrl,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    keep_body: int,
    vhost: str | None,
) -> HttpResponse | CheckResult:
    conn = check.conn
    timeout_s = conn.connect_timeout_s
    host = host_header(vhost, conn.connect_ip, conn.connect_port)
    request = build_request(url.path, host, check.http_protocol)
    response = HttpResponse(keep_body=keep_body)
    try:
        writer.write(request)
        async with asyncio.timeout(timeout_s):
            await writer.drain()
    except TimeoutError:
        return CheckResult.fail(Reason.WRITE_ERROR, "Timeout WEB write")
    except OSError as exc:
        return CheckResult.fail(Reason.WRITE_ERROR, f"Cannot send get request: {exc}")
    while not response.complete:
        try:
            async with asyncio.timeout(timeout_s):
                data = await reader.read(READ_CHUNK)
        except TimeoutError:
            if response.received:
                break  # judge what we have, as keepalived does after a read timeout
            return CheckResult.fail(Reason.TIMEOUT, "Timeout HTTP read")
        except (OSError, ssl.SSLError) as exc:
            if response.received:
                break
            return CheckResult.fail(Reason.READ_ERROR, f"Read error: {exc!r}")
        if not data:
            break
        response.feed(data)
    response.finish()
    return response


class _HttpExchange:
    """One plain-HTTP attempt driven by `Reactor` callbacks: connect, send the GET, read the
    response; each step within ``connect_timeout`` (one lazily re-armed timer)."""

    __slots__ = (
        "cancel_connect",
        "deadline_s",
        "done",
        "fd",
        "pattern",
        "probe",
        "reactor",
        "reading",
        "request",
        "response",
        "sock",
        "timer",
        "url",
        "url_index",
    )

    def __init__(self, probe: HttpProbe, url_index: int, done: ProbeDone) -> None:
        self.reactor = Reactor.current()
        self.probe = probe
        self.url_index = url_index
        self.url = probe.check.urls[url_index]
        self.pattern = probe.patterns[url_index]
        self.done = done
        self.sock: socket.socket | None = None
        self.fd = -1
        self.timer: TimerEntry | None = None
        self.deadline_s = 0.0
        self.reading = False
        self.request = probe.requests[url_index]
        self.response = HttpResponse(keep_body=probe.keep_body[url_index])
        self.cancel_connect: Cancel = no_op
        self.cancel_connect = start_connect(probe.check.conn, self._connected, probe.addr)

    # -- steps ---------------------------------------------------------------------------------
    def _connected(self, result: socket.socket | CheckResult) -> None:
        self.cancel_connect = no_op  # the connect is over: the socket (if any) is ours now
        if isinstance(result, CheckResult):
            self.done(CheckResult(False, result.reason, result.detail, None, self.url_index))
            return
        self.sock = result
        self.fd = result.fileno()
        self.deadline_s = self.reactor.time() + self.probe.timeout_s
        self.timer = self.reactor.call_at(self.deadline_s, self._timer_fired, None)
        self._guard(self._send)

    def _send(self) -> None:
        assert self.sock is not None
        try:
            sent = self.sock.send(self.request)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            self._finish(self._fail(Reason.WRITE_ERROR, f"Cannot send get request: {exc}"))
            return
        self.request = self.request[sent:]
        if self.request:  # rare: wait until the rest can go (``_writable`` un-watches first)
            self.reactor.watch(self.fd, EPOLLOUT, self._writable)
            return
        self.reading = True
        self.deadline_s = self.reactor.time() + self.probe.timeout_s
        self.reactor.watch(self.fd, EPOLLIN, self._readable)

    def _writable(self, mask: int) -> None:
        self.reactor.forget(self.fd)
        self._guard(self._send)

    def _readable(self, mask: int) -> None:
        self._guard(self._read)

    def _read(self) -> None:
        assert self.sock is not None
        response = self.response
        try:
            data = self.sock.recv(READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            if response.received:
                self._finish(self._judge())
            else:
                self._finish(self._fail(Reason.READ_ERROR, f"Read error: {exc!r}"))
            return
        if not data:
            self._finish(self._judge())
            return
        response.feed(data)
        if response.complete:
            self._finish(self._judge())
        else:
            self.deadline_s = self.reactor.time() + self.probe.timeout_s

    def _timer_fired(self, _: object) -> None:
        self.timer = None
        if self.sock is None:
            return
        if self.reactor.time() < self.deadline_s:  # progress was made: wait for the new deadline
            self.timer = self.reactor.call_at(self.deadline_s, self._timer_fired, None)
            return
        if not self.reading:
            self._finish(self._fail(Reason.WRITE_ERROR, "Timeout WEB write"))
        elif self.response.received:
            self._finish(self._judge())  # judge what we have, as keepalived does
        else:
            self._finish(self._fail(Reason.TIMEOUT, "Timeout HTTP read"))

    # -- endings -------------------------------------------------------------------------------
    def _fail(self, reason: Reason, detail: str) -> CheckResult:
        return CheckResult.fail(reason, detail, url_index=self.url_index)

    def _judge(self) -> CheckResult:
        self.response.finish()
        return judge(self.url, self.response, self.pattern, self.url_index)

    def _guard(self, step: Callable[[], None]) -> None:
        try:
            step()
        except Exception as exc:  # a bug here must not leave the checker waiting forever
            log.exception("HTTP check of %s failed", self.probe.check.conn.connect_ip)
            self._finish(internal_error(exc, self.url_index))

    def _close(self) -> None:
        if self.timer is not None:
            self.reactor.cancel(self.timer)
            self.timer = None
        sock, self.sock = self.sock, None
        if sock is not None:
            self.reactor.forget(self.fd)
            with contextlib.suppress(OSError):
                sock.close()

    def _finish(self, result: CheckResult) -> None:
        if self.sock is None:
            return  # already finished
        self._close()
        self.done(result)

    def cancel(self) -> None:
        self.cancel_connect()
        self._close()


class HttpProbe:
    """One GET of one of the checker's URLs per attempt."""

    def __init__(self, check: HttpCheckBase, ssl_config: SslConfig | None = None) -> None:
        self.check = check
        self.ssl_context = make_ssl_context(ssl_config) if isinstance(check, SslGetCheck) else None
        self.patterns = [compile_regex(url) for url in check.urls]
        conn = check.conn
        self.timeout_s = conn.connect_timeout_s
        self.addr: SockAddr | None = None if conn.bind_if else sockaddr(conn)
        self.keep_body = [
            keep_body_for(url, pattern)
            for url, pattern in zip(check.urls, self.patterns, strict=True)
        ]
        self.requests = [
            build_request(
                url.path,
                host_header(
                    url.virtualhost or check.virtualhost, conn.connect_ip, conn.connect_port
                ),
                check.http_protocol,
            )
            for url in check.urls
        ]

    @property
    def key(self) -> Hashable:
        c = self.check
        return (
            type(c).__name__,
            conn_key(c.conn),
            c.urls,
            c.http_protocol,
            c.virtualhost,
            c.enable_sni,
        )

    def begin(self, url_index: int, done: ProbeDone) -> Cancel:
        """Plain HTTP runs on loop callbacks; SSL_GET goes through asyncio's TLS streams."""
        if self.ssl_context is not None:
            return begin_via_task(self.run, url_index, done)
        return _HttpExchange(self, url_index, done).cancel

    async def run(self, url_index: int = 0) -> CheckResult:
        url = self.check.urls[url_index]
        pattern = self.patterns[url_index]
        keep = self.keep_body[url_index]
        response = await fetch(self.check, url, ssl_context=self.ssl_context, keep_body=keep)
        if isinstance(response, CheckResult):
            return CheckResult(False, response.reason, response.detail, None, url_index)
        return judge(url, response, pattern, url_index)
