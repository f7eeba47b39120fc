"""DNS_CHECK: one UDP query (RD set, random id); up when the reply has our id, QR=1, RCODE 0.

The codec is tiny and written here (no dependency): `encode_query` / `decode_header`.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
from collections.abc import Hashable
from dataclasses import dataclass

from pykeepalived.checkers.base import CheckResult, Reason
from pykeepalived.checkers.tcp import classify_error, conn_key, make_socket, sockaddr
from pykeepalived.config.model.checkers import DnsCheck

FLAG_QR = 0x8000
FLAG_RD = 0x0100
CLASS_IN = 1
HEADER = struct.Struct("!HHHHHH")


class DnsCodecError(ValueError):
    """A name that cannot be encoded or a reply too short to decode."""


def encode_name(name: str) -> bytes:
    """Labels of ``name`` (``.`` = the root) in wire format."""
    out = bytearray()
    for label in name.rstrip(".").split(".") if name not in ("", ".") else []:
        raw = label.encode("ascii")
        if not raw or len(raw) > 63:
            raise DnsCodecError(f"bad label {label!r} in {name!r}")
        out.append(len(raw))
        out += raw
    out.append(0)
    if len(out) > 255:
        raise DnsCodecError(f"name too long: {name!r}")
    return bytes(out)


def encode_query(query_id: int, name: str, qtype: int) -> bytes:
    return (
        HEADER.pack(query_id, FLAG_RD, 1, 0, 0, 0)
        + encode_name(name)
        + struct.pack("!HH", qtype, CLASS_IN)
    )


@dataclass(frozen=True)
class DnsHeader:
    query_id: int
    flags: int
    qdcount: int
    ancount: int
    nscount: int
    arcount: int

    @property
    def is_response(self) -> bool:
        return bool(self.flags & FLAG_QR)

    @property
    def rcode(self) -> int:
        return self.flags & 0x000F


def decode_header(data: bytes) -> DnsHeader:
    if len(data) < HEADER.size:
        raise DnsCodecError(f"reply of {len(data)} octets")
    return DnsHeader(*HEADER.unpack_from(data))


def judge_reply(query_id: int, data: bytes) -> CheckResult:
    try:
        header = decode_header(data)
    except DnsCodecError as exc:
        return CheckResult.fail(Reason.BAD_REPLY, str(exc))
    if header.query_id != query_id:
        return CheckResult.fail(Reason.DNS_ID_MISMATCH, "ID does not match")
    if not header.is_response:
        return CheckResult.fail(Reason.DNS_NOT_RESPONSE, "not a response")
    if header.rcode != 0:
        return CheckResult.fail(Reason.DNS_RCODE, f"RCODE {header.rcode}")
    return CheckResult.ok(f"{header.ancount} answers")


class DnsProbe:
    def __init__(self, check: DnsCheck, *, rng: random.Random | None = None) -> None:
        self.check = check
        self._rng = rng or random.Random()

    @property
    def key(self) -> Hashable:
        return ("dns", conn_key(self.check.conn), self.check.type, self.check.name)

    async def run(self, url_index: int = 0) -> CheckResult:
        conn = self.check.conn
        query_id = self._rng.randrange(0, 0x10000)
        loop = asyncio.get_running_loop()
        try:
            sock = make_socket(conn, socket.SOCK_DGRAM)
        except OSError as exc:
            return CheckResult.fail(Reason.SOCKET_ERROR, str(exc))
        try:
            async with asyncio.timeout(conn.connect_timeout_s):
                await loop.sock_connect(sock, sockaddr(conn))
                await loop.sock_sendall(
                    sock, encode_query(query_id, self.check.name, int(self.check.type))
                )
                data = await loop.sock_recv(sock, 4096)
        except TimeoutError:
            return CheckResult.fail(Reason.TIMEOUT, "DNS query timed out")
        except OSError as exc:
            return CheckResult.fail(classify_error(exc), f"DNS query failed: {exc.strerror}")
        finally:
            sock.close()
        return judge_reply(query_id, data)
