"""Checkers across network namespaces: a real server host that stops answering (packets
dropped, so timeouts rather than refusals) takes PING_CHECK and TCP_CHECK down, in keepalived's
retry order, and they come back when it answers again."""

from __future__ import annotations

import asyncio
import ctypes
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from pykeepalived.checkers.dataplane import FakeDataPlane
from pykeepalived.checkers.events import EventKind
from pykeepalived.checkers.service import CheckerService
from pykeepalived.config.loader import load_text

pytestmark = pytest.mark.netns

CLONE_NEWNET = 0x40000000
T = TypeVar("T")


def run_in_netns(netns: str, main: Callable[[], Awaitable[T]]) -> T:
    """Run an event loop in a thread that has joined ``netns`` (only that thread moves)."""
    out: dict[str, Any] = {}

    def target() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                out["error"] = OSError(ctypes.get_errno(), "setns failed")
                return
        finally:
            os.close(fd)
        try:
            out["value"] = asyncio.run(main())  # type: ignore[arg-type]
        except BaseException as exc:
            out["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]
    return out["value"]  # type: ignore[no-any-return]


async def wait_for(cond: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


def test_ping_and_tcp_time_out_when_host_stops_answering(topology: Any) -> None:
    topo = topology(hosts=2)
    server_ip = topo.host("h1").ipv4()
    listener = topo.popen(
        "h1",
        [sys.executable, "-c",
         "import socket,time; s=socket.create_server(('0.0.0.0', 8080)); time.sleep(120)"],
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while ":8080" not in topo.run("h1", ["ss", "-ltnH"]).stdout:
        assert time.monotonic() < deadline, "listener did not start"
        time.sleep(0.05)
    text = f"""
virtual_server 192.0.2.200 80 {{
    protocol TCP
    delay_loop 0.3
    real_server {server_ip} 8080 {{
        PING_CHECK {{
            connect_timeout 0.4
            retry 1
            delay_before_retry 0.1
            warmup 0
        }}
        TCP_CHECK {{
            connect_timeout 0.4
            retry 2
            delay_before_retry 0.1
            warmup 0
        }}
    }}
}}
"""
    config = load_text(text).config
    dest = f"[{server_ip}]:8080"
    svc = "[192.0.2.200]:tcp:80"

    def drop(on: bool) -> None:
        if on:
            topo.run("h1", ["nft", "add", "table", "inet", "chk"])
            topo.run("h1", ["nft", "add", "chain", "inet", "chk", "in",
                            "{ type filter hook input priority 0; policy drop; }"])  # fmt: skip
        else:
            topo.run("h1", ["nft", "delete", "table", "inet", "chk"])

    async def scenario() -> list[tuple[str, str, str]]:
        dp = FakeDataPlane()
        service = CheckerService(config, dataplane=dp, bootstrap_s=0.0, jitter_fraction=0.0)
        await service.start()
        try:
            runners = next(iter(service.runtimes.values())).runners
            await wait_for(lambda: all(r.attempts >= 2 for r in runners))
            assert all(r.failures == 0 for r in runners)
            assert dest in dp.table[svc]
            await asyncio.to_thread(drop, True)
            await wait_for(lambda: dest not in dp.table[svc])
            await wait_for(lambda: all(not r.slot.status.is_up for r in runners))
            await asyncio.to_thread(drop, False)
            await wait_for(lambda: dest in dp.table[svc])
            return [(e.kind.value, e.checker.split(":")[-1], e.reason)
                    for e in service.events.events()
                    if e.kind in (EventKind.CHECKER_DOWN, EventKind.CHECKER_UP)]  # fmt: skip
        finally:
            await service.stop()

    try:
        events = run_in_netns(topo.host("h2").netns, scenario)
    finally:
        listener.kill()
        listener.wait()
    downs = {(c, r) for k, c, r in events if k == "checker_down"}
    assert downs == {("PING_CHECK", "timeout"), ("TCP_CHECK", "connect_timeout")}
    ups = [c for k, c, _ in events if k == "checker_up"]
    assert sorted(ups) == ["PING_CHECK", "TCP_CHECK"]
