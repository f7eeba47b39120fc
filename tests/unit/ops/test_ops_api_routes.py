"""The control API's routing, request parsing and systemd notify address (pure)."""

from __future__ import annotations

import asyncio
import json
from http import HTTPStatus
from typing import Any

import pytest

from pykeepalived.control.api import Response, parse_listen, parse_request_line, route
from pykeepalived.daemon.sdnotify import notify_address

pytestmark = pytest.mark.unit


async def provider() -> dict[str, Any]:
    return {"config_stale": True, "vrrp": {"instances": []}, "virtual_servers": []}


def run(method: str, path: str) -> Response:
    return asyncio.run(route(method, path, provider))


def test_status_route_is_json() -> None:
    resp = run("GET", "/status?pretty=1")
    assert resp.status is HTTPStatus.OK
    assert resp.content_type == "application/json"
    assert json.loads(resp.body)["config_stale"] is True


def test_metrics_and_health_and_errors() -> None:
    metrics = run("GET", "/metrics")
    assert metrics.content_type.startswith("text/plain; version=0.0.4")
    assert b"pykeepalived_config_stale 1\n" in metrics.body
    assert run("GET", "/healthz").body == b"stale\n"
    assert run("POST", "/status").status is HTTPStatus.METHOD_NOT_ALLOWED
    assert run("GET", "/nope").status is HTTPStatus.NOT_FOUND


def test_response_encoding() -> None:
    raw = Response(HTTPStatus.OK, b"ok\n").encode()
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Content-Length: 3\r\n" in raw and raw.endswith(b"\r\n\r\nok\n")
    assert Response(HTTPStatus.OK, b"ok\n").encode(head_only=True).endswith(b"\r\n\r\n")


def test_request_line_and_listen_parsing() -> None:
    assert parse_request_line(b"GET /metrics HTTP/1.1\r\n") == ("GET", "/metrics")
    assert parse_request_line(b"garbage") is None
    assert parse_listen("127.0.0.1:9650") == ("127.0.0.1", 9650)
    assert parse_listen("[::1]:9650") == ("::1", 9650)
    with pytest.raises(ValueError):
        parse_listen("nope")


def test_notify_address() -> None:
    assert notify_address({}) is None
    assert notify_address({"NOTIFY_SOCKET": "/run/systemd/notify"}) == "/run/systemd/notify"
    assert notify_address({"NOTIFY_SOCKET": "@sd"}) == "\0sd"
    assert notify_address({"NOTIFY_SOCKET": "relative"}) is None
