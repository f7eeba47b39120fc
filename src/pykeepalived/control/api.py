"""The control API: a small HTTP/1.1 server on a unix socket (and optionally TCP).

Routes (GET or HEAD; one request per connection, answered with ``Connection: close``):

- ``/status``  the status document (`control.status`) as JSON;
- ``/metrics`` Prometheus text exposition (`control.metrics`);
- ``/healthz`` ``ok`` (200) while the supervisor runs, ``stale`` (200) when the last reload
  was refused.

The unix socket (default `DEFAULT_SOCKET`, mode 0660) is the default, because it needs no
port and file permissions protect it; TCP is opt-in (``--http-listen HOST:PORT`` or
``PYKEEPALIVED_HTTP_LISTEN``). No framework: the server reads at most `MAX_HEAD_BYTES` of request
head within `READ_TIMEOUT_S`, which is all a read-only status endpoint needs.

`get` is the matching blocking client used by ``pykeepalivedctl``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import stat
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

from pykeepalived.control.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from pykeepalived.control.metrics import render_metrics

log = logging.getLogger(__name__)

DEFAULT_SOCKET = "/run/pykeepalived/control.sock"
SOCKET_ENV = "PYKEEPALIVED_CONTROL_SOCKET"
HTTP_LISTEN_ENV = "PYKEEPALIVED_HTTP_LISTEN"
MAX_HEAD_BYTES = 16384
READ_TIMEOUT_S = 5.0
STATUS_TIMEOUT_S = 5.0

StatusProvider = Callable[[], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Response:
    status: HTTPStatus
    body: bytes
    content_type: str = "text/plain; charset=utf-8"

    def encode(self, *, head_only: bool = False) -> bytes:
        head = (
            f"HTTP/1.1 {self.status.value} {self.status.phrase}\r\n"
            f"Content-Type: {self.content_type}\r\n"
            f"Content-Length: {len(self.body)}\r\n"
            "Connection: close\r\n"
            "\r\n"
        ).encode("ascii")
        return head if head_only else head + self.body


def parse_request_line(line: bytes) -> tuple[str, str] | None:
    """``(method, path without query)`` of ``GET /status HTTP/1.1``; None if malformed."""
    parts = line.decode("latin-1").strip().split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        return None
    path = parts[1].split("?", 1)[0]
    return parts[0], path


async def route(method: str, path: str, provider: StatusProvider) -> Response:
    """The response for one request (pure apart from asking ``provider`` for the status)."""
    if method not in ("GET", "HEAD"):
        return Response(HTTPStatus.METHOD_NOT_ALLOWED, b"only GET and HEAD\n")
    path = path.split("?", 1)[0]
    if path in ("/status", "/status/"):
        doc = await asyncio.wait_for(provider(), STATUS_TIMEOUT_S)
        body = json.dumps(doc, indent=2, default=str).encode() + b"\n"
        return Response(HTTPStatus.OK, body, "application/json")
    if path == "/metrics":
        doc = await asyncio.wait_for(provider(), STATUS_TIMEOUT_S)
        return Response(HTTPStatus.OK, render_metrics(doc).encode(), METRICS_CONTENT_TYPE)
    if path == "/healthz":
        doc = await asyncio.wait_for(provider(), STATUS_TIMEOUT_S)
        return Response(HTTPStatus.OK, b"stale\n" if doc.get("config_stale") else b"ok\n")
    if path == "/":
        index = {"endpoints": ["/status", "/metrics", "/healthz"]}
        return Response(HTTPStatus.OK, json.dumps(index).encode() + b"\n", "application/json")
    return Response(HTTPStatus.NOT_FOUND, b"not found\n")


class ControlServer:
    """Serves `route` on a unix socket and optionally a TCP address."""

    def __init__(
        self,
        provider: StatusProvider,
        *,
        socket_path: str | None = DEFAULT_SOCKET,
        tcp: tuple[str, int] | None = None,
    ) -> None:
        self.provider = provider
        self.socket_path = socket_path
        self.tcp = tcp
        self._servers: list[asyncio.Server] = []
        self.requests = 0

    async def start(self) -> None:
        if self.socket_path:
            path = Path(self.socket_path)
            path.parent.mkdir(parents=True, exist_ok=True)
            _remove_stale_socket(path)
            server = await asyncio.start_unix_server(self._handle, path=str(path))
            os.chmod(path, 0o660)
            self._servers.append(server)
            log.info("control API on unix socket %s", path)
        if self.tcp is not None:
            host, port = self.tcp
            server = await asyncio.start_server(self._handle, host, port)
            self._servers.append(server)
            log.info("control API on http://%s:%d/", host, port)

    @property
    def tcp_port(self) -> int | None:
        """The bound TCP port (useful with port 0)."""
        for server in self._servers:
            for sock in server.sockets:
                if sock.family in (socket.AF_INET, socket.AF_INET6):
                    port: int = sock.getsockname()[1]
                    return port
        return None

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 2.0)
        self._servers.clear()
        if self.socket_path:
            with contextlib.suppress(FileNotFoundError):
                Path(self.socket_path).unlink()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.requests += 1
        try:
            response, head_only = await self._respond(reader)
            writer.write(response.encode(head_only=head_only))
            await asyncio.wait_for(writer.drain(), READ_TIMEOUT_S)
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            log.debug("control API connection dropped: %s", exc)
        finally:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _respond(self, reader: asyncio.StreamReader) -> tuple[Response, bool]:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT_S)
        except asyncio.LimitOverrunError:
            return Response(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, b"too large\n"), False
        if len(head) > MAX_HEAD_BYTES:
            return Response(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, b"too large\n"), False
        parsed = parse_request_line(head.split(b"\r\n", 1)[0])
        if parsed is None:
            return Response(HTTPStatus.BAD_REQUEST, b"bad request\n"), False
        method, path = parsed
        try:
            return await route(method, path, self.provider), method == "HEAD"
        except TimeoutError:
            return Response(HTTPStatus.SERVICE_UNAVAILABLE, b"status timed out\n"), False
        except Exception:
            log.exception("control API error on %s %s", method, path)
            return Response(HTTPStatus.INTERNAL_SERVER_ERROR, b"internal error\n"), False


def _remove_stale_socket(path: Path) -> None:
    """Remove a socket file nobody listens on (a crashed run); refuse if one is live."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise OSError(f"{path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(0.5)
        probe.connect(str(path))
    except OSError:
        path.unlink()
        return
    finally:
        probe.close()
    raise OSError(f"another daemon is listening on {path}")


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[V6]:PORT`` -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


class ApiError(Exception):
    """The control API could not be reached or answered with an error."""


def get(
    path: str,
    *,
    socket_path: str | None = DEFAULT_SOCKET,
    tcp: tuple[str, int] | None = None,
    timeout_s: float = 10.0,
) -> tuple[int, str, bytes]:
    """Blocking GET: ``(status code, content type, body)``."""
    try:
        if tcp is not None:
            sock = socket.create_connection(tcp, timeout=timeout_s)
        else:
            assert socket_path is not None
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(timeout_s)
                sock.connect(socket_path)
            except OSError:
                sock.close()
                raise
    except OSError as exc:
        where = f"{tcp[0]}:{tcp[1]}" if tcp else socket_path
        raise ApiError(f"cannot reach the daemon's control API at {where}: {exc}") from exc
    with sock:
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
        )
        chunks: list[bytes] = []
        while True:
            try:
                data = sock.recv(65536)
            except OSError as exc:
                raise ApiError(f"control API read failed: {exc}") from exc
            if not data:
                break
            chunks.append(data)
    raw = b"".join(chunks)
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise ApiError("truncated answer from the control API")
    lines = head.decode("latin-1").split("\r\n")
    try:
        code = int(lines[0].split(" ")[1])
    except (IndexError, ValueError) as exc:
        raise ApiError(f"bad status line {lines[0]!r}") from exc
    ctype = ""
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-type":
            ctype = value.strip()
    return code, ctype, body


def get_status(
    *, socket_path: str | None = DEFAULT_SOCKET, tcp: tuple[str, int] | None = None
) -> dict[str, Any]:
    code, _, body = get("/status", socket_path=socket_path, tcp=tcp)
    if code != HTTPStatus.OK:
        raise ApiError(f"control API answered {code}: {body.decode(errors='replace').strip()}")
    doc: dict[str, Any] = json.loads(body)
    return doc
