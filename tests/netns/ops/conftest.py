"""Fixtures of the operations tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .mailsink import MailSink, free_port


@pytest.fixture
def smtp_server() -> Iterator[tuple[MailSink, int]]:
    """An aiosmtpd server on 127.0.0.1 (this namespace's loopback)."""
    from aiosmtpd.controller import Controller  # noqa: PLC0415

    sink = MailSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()
