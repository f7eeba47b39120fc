"""A real SMTP server (aiosmtpd) that keeps what it receives, for the alert tests."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Received:
    helo: str | None
    mail_from: str
    rcpt_tos: list[str]
    data: bytes


@dataclass
class MailSink:
    """Messages received by the SMTP server, thread-safe."""

    messages: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            self.messages.append(
                Received(
                    session.host_name,
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    bytes(envelope.original_content or envelope.content),
                )
            )
        return "250 OK"

    def subjects(self) -> list[str]:
        with self.lock:
            out = []
            for m in self.messages:
                for line in m.data.split(b"\r\n"):
                    if line.startswith(b"Subject: "):
                        out.append(line[len(b"Subject: ") :].decode())
            return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
