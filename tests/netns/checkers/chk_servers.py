"""Tiny controllable servers for the live checker tests (asyncio, loopback or a namespace)."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast


@dataclass
class HttpState:
    status: int = 200
    body: bytes = b"hello checker\n"
    delay_s: float = 0.0
    requests: list[bytes] = field(default_factory=list)

    @property
    def digest(self) -> str:
        return hashlib.md5(self.body).hexdigest()


async def start_http(state: HttpState, host: str = "127.0.0.1", *,
                     tls: ssl.SSLContext | None = None) -> asyncio.Server:  # fmt: skip
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await reader.readuntil(b"\r\n\r\n")
            state.requests.append(request)
            if state.delay_s:
                await asyncio.sleep(state.delay_s)
            writer.write(
                f"HTTP/1.0 {state.status} X\r\nContent-Length: {len(state.body)}\r\n\r\n".encode()
                + state.body
            )
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, 0, ssl=tls)


def port_of(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])


def self_signed(tmp: Path, cn: str = "rs.example") -> ssl.SSLContext:
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "2", "-subj", f"/CN={cn}"],
        check=True, capture_output=True,
    )  # fmt: skip
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


class UdpResponder(asyncio.DatagramProtocol):
    """Answers every datagram with ``reply`` (or does not answer when ``reply`` is None)."""

    def __init__(self, reply: bytes | None) -> None:
        self.reply = reply
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.reply is not None and self.transport is not None:
            self.transport.sendto(self.reply, addr)


class DnsResponder(asyncio.DatagramProtocol):
    """Echoes the query id with QR set and the given RCODE (or a wrong id)."""

    def __init__(self) -> None:
        self.rcode = 0
        self.wrong_id = False
        self.queries: list[bytes] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.queries.append(data)
        qid, flags = struct.unpack_from("!HH", data)
        if self.wrong_id:
            qid ^= 0xFFFF
        header = struct.pack("!HHHHHH", qid, 0x8180 | self.rcode | (flags & 0x0100), 1, 0, 0, 0)
        assert self.transport is not None
        self.transport.sendto(header + data[12:], addr)


async def start_smtp(state: dict[str, bytes], host: str = "127.0.0.1") -> asyncio.Server:
    """Greets with ``state['banner']``, answers HELO with ``state['helo']``."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(state["banner"])
            await writer.drain()
            while line := await reader.readline():
                if line.upper().startswith(b"HELO"):
                    state["seen_helo"] = line
                    writer.write(state["helo"])
                elif line.upper().startswith(b"QUIT"):
                    writer.write(b"221 bye\r\n")
                    await writer.drain()
                    break
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, 0)
