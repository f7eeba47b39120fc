"""The lab's client: HTTP requests to the virtual service, from chosen source addresses.

Runs inside the client namespace (``python -m pykeepalived.lab.probe ...``) and reports on
stdout as JSON, so the lab (in the root namespace) can read it:

- ``count --target IP:PORT --source A [--source B ...] --per-source N``: N requests from each
  source address, one JSON object at the end: ``{"by_source": {A: {"web1": 7, ...}}}``
  (failures are counted under ``"error:<reason>"``);
- ``watch --target IP:PORT --source A [...] --interval-s S``: one request every S seconds,
  cycling through the sources, until SIGTERM; one JSON line per attempt:
  ``{"t": <time.monotonic()>, "done": <its end>, "src": A, "server": "web2" | null,
  "via": "192.0.2.1" | null, "error": null | "refused"}`` (``via``: the address the real
  server saw, see `lab.web`).
  ``time.monotonic()`` is the system-wide CLOCK_MONOTONIC, so the lab compares it with its own.

Each request is a new TCP connection bound to its source address: the data plane decides per
connection (and, with persistence, per client address) which real server answers.
"""

from __future__ import annotations

import argparse
import errno
import json
import signal
import socket
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

DEFAULT_TIMEOUT_S = 1.0
MAX_ANSWER_BYTES = 4096


@dataclass(frozen=True)
class Answer:
    """One request: who answered (the body's first line) and the address it saw the connection
    come from (``via``: a masquerading director's), or why nobody answered."""

    source: str
    server: str | None
    error: str | None = None
    via: str | None = None

    @property
    def key(self) -> str:
        """The tally key: the server's name or ``error:<reason>``."""
        return self.server if self.server is not None else f"error:{self.error}"


def parse_answer(data: bytes) -> tuple[str, str | None] | None:
    """(server name, client address it saw) of a lab web server's HTTP answer; None if the
    data is not one."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep or not head.startswith(b"HTTP/1.") or b" 200 " not in head.split(b"\r\n", 1)[0]:
        return None
    lines = body.decode("utf-8", "replace").strip().splitlines()
    if not lines or not lines[0].strip():
        return None
    via = None
    for line in lines[1:]:
        key, _, value = line.partition(" ")
        if key == "client" and value.strip():
            via = value.strip()
    return lines[0].strip(), via


def error_reason(exc: OSError) -> str:
    """A short name for why a request failed (``refused``, ``timeout``, ``EHOSTUNREACH``...)."""
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ConnectionResetError):
        return "reset"
    if isinstance(exc, TimeoutError):
        return "timeout"
    return errno.errorcode.get(exc.errno or 0, type(exc).__name__)


def fetch(target: tuple[str, int], source: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> Answer:
    """One HTTP request to ``target`` over a new connection from ``source``."""
    try:
        with socket.create_connection(target, timeout=timeout_s, source_address=(source, 0)) as s:
            s.sendall(f"GET / HTTP/1.0\r\nHost: {target[0]}\r\n\r\n".encode("ascii"))
            chunks: list[bytes] = []
            size = 0
            while size < MAX_ANSWER_BYTES:
                chunk = s.recv(MAX_ANSWER_BYTES)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
    except OSError as exc:
        return Answer(source, None, error_reason(exc))
    parsed = parse_answer(b"".join(chunks))
    if parsed is None:
        return Answer(source, None, "bad-answer")
    return Answer(source, parsed[0], None, parsed[1])


def tally(answers: Iterable[Answer]) -> dict[str, dict[str, int]]:
    """Answers counted per source address and per server (or error)."""
    out: dict[str, dict[str, int]] = {}
    for a in answers:
        per = out.setdefault(a.source, {})
        per[a.key] = per.get(a.key, 0) + 1
    return out


def _round_robin(sources: Sequence[str]) -> Iterator[str]:
    while True:
        yield from sources


def parse_target(text: str) -> tuple[str, int]:
    """``IP:PORT`` -> (ip, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise argparse.ArgumentTypeError(f"want IP:PORT, got {text!r}")
    return host, int(port)


def _count(args: argparse.Namespace) -> int:
    answers = [
        fetch(args.target, src, timeout_s=args.timeout_s)
        for src in args.source
        for _ in range(args.per_source)
    ]
    print(json.dumps({"by_source": tally(answers)}), flush=True)
    return 0


def _watch(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM ends the loop
    try:
        for src in _round_robin(args.source):
            started = time.monotonic()
            answer = fetch(args.target, src, timeout_s=args.timeout_s)
            line = {
                "t": started,
                "done": time.monotonic(),
                "src": src,
                "server": answer.server,
                "via": answer.via,
                "error": answer.error,
            }
            print(json.dumps(line), flush=True)
            time.sleep(max(0.0, args.interval_s - (time.monotonic() - started)))
    except (BrokenPipeError, KeyboardInterrupt):
        pass
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pykeepalived.lab.probe", description=__doc__)
    sub = ap.add_subparsers(dest="mode", required=True)
    for mode in ("count", "watch"):
        p = sub.add_parser(mode)
        p.add_argument("--target", type=parse_target, required=True, metavar="IP:PORT")
        p.add_argument("--source", action="append", required=True, metavar="IP")
        p.add_argument("--timeout-s", type=float, default=DEFAULT_TIMEOUT_S)
        if mode == "count":
            p.add_argument("--per-source", type=int, default=10)
        else:
            p.add_argument("--interval-s", type=float, default=0.05)
    args = ap.parse_args(argv)
    return _count(args) if args.mode == "count" else _watch(args)


if __name__ == "__main__":
    sys.exit(main())
