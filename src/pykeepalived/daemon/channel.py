"""The supervisor <-> worker channel: JSON lines over an inherited unix socket pair.

Requests (supervisor -> worker) are ``{"id": N, "op": "status"}``; replies carry the same id:
``{"id": N, "ok": true, "result": ...}`` or ``{"id": N, "ok": false, "error": "..."}``.
Events (worker -> supervisor, no id) are ``{"event": "ready"}``, ``{"event": "reloaded",
"ok": bool, "error": str | None}`` and ``{"event": "stopping"}``.

End of file on the channel means the other side is gone: a worker then stops, the supervisor
treats the worker as dead (its exit is noticed by waiting on the process).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

STREAM_LIMIT = 64 * 1024 * 1024
"""Largest message (a status of many thousands of real servers is a few MB)."""


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), default=str).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any] | None:
    """One message, or None if the line is not a JSON object."""
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class Channel:
    """One end of the channel: send events/requests, receive replies/events/requests."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.closed = asyncio.Event()

    def send(self, message: dict[str, Any]) -> None:
        if self.writer.is_closing():
            return
        try:
            self.writer.write(encode(message))
        except (OSError, RuntimeError) as exc:
            log.debug("channel write failed: %s", exc)

    async def request(self, op: str, timeout_s: float) -> Any:
        """Ask the other side; raises TimeoutError, or RuntimeError for an error reply."""
        if self.closed.is_set():
            raise ConnectionError("channel closed")
        ident = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        try:
            self.send({"id": ident, "op": op})
            reply = await asyncio.wait_for(future, timeout_s)
        finally:
            self._pending.pop(ident, None)
        if not reply.get("ok"):
            raise RuntimeError(str(reply.get("error")))
        return reply.get("result")

    async def serve(
        self,
        on_request: Callable[[str], Awaitable[Any]] | None,
        on_event: Callable[[dict[str, Any]], None] | None,
    ) -> None:
        """Read until end of file, dispatching requests, replies and events."""
        try:
            while True:
                try:
                    line = await self.reader.readline()
                except (ValueError, asyncio.LimitOverrunError, OSError) as exc:
                    log.error("channel read failed: %s", exc)
                    break
                if not line:
                    break
                message = decode(line)
                if message is None:
                    continue
                if "op" in message and on_request is not None:
                    asyncio.get_running_loop().create_task(self._answer(message, on_request))
                elif "id" in message:
                    future = self._pending.get(int(message["id"]))
                    if future is not None and not future.done():
                        future.set_result(message)
                elif "event" in message and on_event is not None:
                    on_event(message)
        finally:
            self.closed.set()
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("channel closed"))

    async def _answer(
        self, message: dict[str, Any], on_request: Callable[[str], Awaitable[Any]]
    ) -> None:
        ident = message.get("id")
        try:
            result = await on_request(str(message["op"]))
        except Exception as exc:
            log.exception("channel request %s failed", message.get("op"))
            self.send({"id": ident, "ok": False, "error": str(exc)})
            return
        self.send({"id": ident, "ok": True, "result": result})

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(self.writer.wait_closed(), 1.0)
