"""The lab's real servers: a tiny HTTP server that answers every request with its own name.

``python -m pykeepalived.lab.web --name web1 [--port 80] [--address 0.0.0.0]`` runs inside a
real-server namespace. Every request (any method, any path) gets ``200 OK``, ``Connection:
close`` and the body ``<name>\\nclient <address>\\n``, where the address is the one the
connection came from (with a masquerading NAT director: the director's). A connection that
sends nothing (keepalived's TCP_CHECK only connects) is simply closed. Once listening it prints
one line ``listening <address>:<port>`` on stdout, so whoever started it knows it is ready.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 2.0
MAX_HEAD_BYTES = 8192
READY_LINE = "listening"


def response(name: str, peer: str) -> bytes:
    """The whole HTTP answer of server ``name`` to a connection from ``peer``."""
    body = f"{name}\nclient {peer}\n".encode()
    head = (
        "HTTP/1.0 200 OK\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Server: pykeepalived-lab {name}\r\n"
        "Connection: close\r\n"
        "\r\n"
    ).encode("ascii")
    return head + body


async def _serve_one(name: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT_S)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, OSError):
        head = b""  # a health check that only connects, or a client that gave up
    try:
        if head:
            peer = writer.get_extra_info("peername")
            writer.write(response(name, str(peer[0]) if peer else "?"))
            await asyncio.wait_for(writer.drain(), READ_TIMEOUT_S)
    except (OSError, TimeoutError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), READ_TIMEOUT_S)


async def serve(name: str, address: str, port: int) -> None:
    """Serve until SIGTERM/SIGINT."""
    server = await asyncio.start_server(
        lambda r, w: _serve_one(name, r, w), address, port, limit=MAX_HEAD_BYTES, reuse_address=True
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"{READY_LINE} {address}:{port}", flush=True)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pykeepalived.lab.web", description=__doc__)
    ap.add_argument("--name", required=True, help="the name every answer carries")
    ap.add_argument("--address", default="0.0.0.0", help="address to listen on")
    ap.add_argument("--port", type=int, default=80, help="TCP port to listen on")
    args = ap.parse_args(argv)
    asyncio.run(serve(args.name, args.address, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
