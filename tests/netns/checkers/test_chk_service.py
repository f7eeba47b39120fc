"""CheckerService end to end on loopback: one probe for identical checks behind several virtual
servers, reload by diff (unchanged virtual servers untouched, state carried, one data-plane
call for one changed weight), ha_suspend, alpha/omega, and the BFD_CHECK warning."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from ipaddress import IPv4Address

import pytest

from pykeepalived.checkers.dataplane import Call, FakeDataPlane, Op
from pykeepalived.checkers.local_addrs import IPAddress
from pykeepalived.checkers.realserver import RecordingEffects
from pykeepalived.checkers.service import BFD_IGNORED, CheckerService
from pykeepalived.config.loader import load_text
from pykeepalived.config.model import Config
from pykeepalived.daemon.service import RunOptions

pytestmark = pytest.mark.netns

TCP = """TCP_CHECK {
            connect_timeout 1
            retry 0
            delay_before_retry 0.1
        }"""


def load(text: str) -> Config:
    result = load_text(text)
    assert result.runnable, [d.format() for d in result.diagnostics]
    return result.config


def vs(addr: str, *servers: tuple[int, int], extra: str = "", check: str = TCP) -> str:
    rs = "\n".join(
        f"""    real_server 127.0.0.1 {port} {{
        weight {weight}
        {check}
    }}"""
        for port, weight in servers
    )
    return f"""
virtual_server {addr} 80 {{
    protocol TCP
    delay_loop 0.1
    {extra}
{rs}
}}
"""


class Counter:
    """A loopback TCP server counting the connections it accepts."""

    def __init__(self) -> None:
        self.accepted = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.accepted += 1
            writer.close()

        self.server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def wait_for(cond: Callable[[], bool], timeout_s: float = 8.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not cond():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


def attempts(service: CheckerService) -> int:
    return sum(r.attempts for rt in service.runtimes.values() for r in rt.runners)


def test_identical_checks_behind_three_virtual_servers_share_one_probe() -> None:
    async def scenario() -> None:
        counter = Counter()
        port = await counter.start()
        text = "".join(vs(a, (port, 1)) for a in ("192.0.2.1", "192.0.2.2", "192.0.2.3"))
        service = CheckerService(load(text), dataplane=FakeDataPlane(), bootstrap_s=0.0)
        await service.start()
        try:
            await wait_for(lambda: attempts(service) >= 30)
        finally:
            await service.stop()
            await counter.close()
        sched = service.scheduler
        assert sched is not None
        total = sched.sharer.probed + sched.sharer.shared
        # three checkers, one connection per round (a round may be cut by the stop)
        assert sched.sharer.probed <= total / 3 + 1
        assert counter.accepted <= sched.sharer.probed
        assert counter.accepted >= sched.sharer.probed - 1

    asyncio.run(scenario())


def test_different_checks_of_the_same_real_server_are_not_shared() -> None:
    async def scenario() -> None:
        counter = Counter()
        port = await counter.start()
        other_timeout = TCP.replace("connect_timeout 1", "connect_timeout 2")
        text = vs("192.0.2.1", (port, 1)) + vs("192.0.2.2", (port, 1), check=other_timeout)
        service = CheckerService(load(text), dataplane=FakeDataPlane(), bootstrap_s=0.0)
        await service.start()
        try:
            await wait_for(lambda: attempts(service) >= 10)
        finally:
            await service.stop()
        await counter.close()
        assert service.scheduler is not None
        assert service.scheduler.sharer.shared == 0

    asyncio.run(scenario())


def test_reload_changes_one_weight_with_one_set_weight_call() -> None:
    async def scenario() -> None:
        a, b, c = Counter(), Counter(), Counter()
        pa, pb, pc = await a.start(), await b.start(), await c.start()
        before = vs("192.0.2.1", (pa, 1), (pb, 2)) + vs("192.0.2.2", (pc, 3))
        after = vs("192.0.2.1", (pa, 1), (pb, 7)) + vs("192.0.2.2", (pc, 3))
        dp = FakeDataPlane()
        service = CheckerService(load(before), dataplane=dp, bootstrap_s=0.0)
        await service.start()
        try:
            await wait_for(lambda: attempts(service) >= 9)
            untouched = service.runtimes["[192.0.2.2]:tcp:80"]
            untouched_runner = untouched.runners[0]
            attempts_before = untouched_runner.attempts
            table_before = {k: dict(v) for k, v in dp.table.items()}
            mark = len(dp.calls)
            await service.reload(load(after))
            reload_calls = dp.calls[mark:]
            # the unchanged virtual server keeps its runtime and its running checker
            assert service.runtimes["[192.0.2.2]:tcp:80"] is untouched
            await wait_for(lambda: untouched_runner.attempts > attempts_before)
            changed = service.runtimes["[192.0.2.1]:tcp:80"].pool
            assert [rs.alive for rs in changed.real_servers] == [True, True]
            assert all(c.status.has_run for rs in changed.real_servers for c in rs.checkers)
            await wait_for(lambda: attempts(service) >= 20)
            later_calls = dp.calls[mark + len(reload_calls) :]
        finally:
            await service.stop()
            for s in (a, b, c):
                await s.close()
        assert reload_calls == [Call(Op.WEIGHT, "[192.0.2.1]:tcp:80", f"[127.0.0.1]:{pb}", 7)]
        assert table_before["[192.0.2.1]:tcp:80"][f"[127.0.0.1]:{pb}"] == 2
        # and no data-plane call after the reload either: the checks stayed up
        assert later_calls == []

    asyncio.run(scenario())


def test_reload_removing_a_real_server_removes_only_it() -> None:
    async def scenario() -> None:
        a, b = Counter(), Counter()
        pa, pb = await a.start(), await b.start()
        dp = FakeDataPlane()
        service = CheckerService(
            load(vs("192.0.2.1", (pa, 1), (pb, 1))), dataplane=dp, bootstrap_s=0.0
        )
        await service.start()
        try:
            await wait_for(lambda: attempts(service) >= 4)
            mark = len(dp.calls)
            await service.reload(load(vs("192.0.2.1", (pa, 1))))
            calls = dp.calls[mark:]
        finally:
            await service.stop()
            await a.close()
            await b.close()
        assert calls == [Call(Op.REMOVE, "[192.0.2.1]:tcp:80", f"[127.0.0.1]:{pb}")]

    asyncio.run(scenario())


def test_ha_suspend_stops_checks_while_the_vip_is_absent() -> None:
    async def scenario() -> None:
        counter = Counter()
        port = await counter.start()
        local: set[IPAddress] = set()

        def addresses() -> frozenset[IPAddress]:
            return frozenset(local)

        text = vs("198.51.100.10", (port, 1), extra="ha_suspend") + vs("198.51.100.11", (port, 1))
        dp = FakeDataPlane()
        service = CheckerService(
            load(text),
            dataplane=dp,
            bootstrap_s=0.0,
            local_addresses=addresses,
            ha_poll_s=0.05,
        )
        await service.start()
        suspended_vs = service.runtimes["[198.51.100.10]:tcp:80"]
        other_vs = service.runtimes["[198.51.100.11]:tcp:80"]
        try:
            await wait_for(lambda: other_vs.runners[0].attempts >= 5)
            assert suspended_vs.runners[0].attempts == 0
            assert service.status()["stats"]["checks_suspended"] > 0
            # the suspended VS's real server keeps its (initial, up) state
            assert dp.table["[198.51.100.10]:tcp:80"] == {f"[127.0.0.1]:{port}": 1}
            local.add(IPv4Address("198.51.100.10"))  # the VIP arrives: checks resume
            await wait_for(lambda: suspended_vs.runners[0].attempts >= 3)
            local.clear()  # and leaves again
            await asyncio.sleep(0.2)
            frozen = suspended_vs.runners[0].attempts
            await asyncio.sleep(0.3)
            assert suspended_vs.runners[0].attempts == frozen
        finally:
            await service.stop()
            await counter.close()

    asyncio.run(scenario())


def test_alpha_real_server_enters_only_after_a_success() -> None:
    async def scenario() -> None:
        counter = Counter()
        port = await counter.start()
        dp = FakeDataPlane()
        text = vs("192.0.2.1", (port, 1), (1, 1), extra="alpha")  # port 1: refused
        service = CheckerService(load(text), dataplane=dp, bootstrap_s=0.2)
        await service.start()
        try:
            # alpha: nothing in the data plane before the first check
            assert dp.table == {"[192.0.2.1]:tcp:80": {}}
            await wait_for(lambda: f"[127.0.0.1]:{port}" in dp.table["[192.0.2.1]:tcp:80"])
            await wait_for(lambda: attempts(service) >= 6)
            assert "[127.0.0.1]:1" not in dp.table["[192.0.2.1]:tcp:80"]
        finally:
            await service.stop()
            await counter.close()

    asyncio.run(scenario())


def test_without_alpha_a_dead_real_server_is_in_until_its_first_failure() -> None:
    async def scenario() -> None:
        dp = FakeDataPlane()
        service = CheckerService(load(vs("192.0.2.1", (1, 1))), dataplane=dp, bootstrap_s=0.2)
        await service.start()
        try:
            assert dp.table == {"[192.0.2.1]:tcp:80": {"[127.0.0.1]:1": 1}}
            await wait_for(lambda: dp.table["[192.0.2.1]:tcp:80"] == {})
        finally:
            await service.stop()

    asyncio.run(scenario())


@pytest.mark.parametrize("omega", [True, False])
def test_omega_runs_down_notifies_at_stop(omega: bool) -> None:
    async def scenario() -> list[bytes]:
        counter = Counter()
        port = await counter.start()
        text = vs("192.0.2.1", (port, 1), extra="omega" if omega else "")
        service = CheckerService(
            load(text),
            RunOptions(release_ipvs_on_exit=True),
            dataplane=FakeDataPlane(),
            bootstrap_s=0.0,
        )
        recorder = RecordingEffects()
        service.effects = recorder  # type: ignore[assignment]
        await service.start()
        for rt in service.runtimes.values():
            rt.pool.effects = recorder
        try:
            await wait_for(lambda: attempts(service) >= 2)
        finally:
            await service.stop()
            await counter.close()
        return recorder.lines

    lines = asyncio.run(scenario())
    down = [line for line in lines if b"DOWN" in line]
    if omega:
        assert down, lines
    else:
        assert down == []


def test_bfd_check_is_ignored_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    text = """
bfd_instance bfd1 {
    neighbor_ip 127.0.0.1
}
virtual_server 192.0.2.1 80 {
    protocol TCP
    real_server 127.0.0.1 8080 {
        BFD_CHECK {
            name bfd1
        }
    }
}
"""

    async def scenario() -> CheckerService:
        service = CheckerService(load(text), dataplane=FakeDataPlane(), bootstrap_s=0.0)
        await service.start()
        await service.stop()
        return service

    with caplog.at_level(logging.WARNING, logger="pykeepalived.checkers.service"):
        service = asyncio.run(scenario())
    assert any(BFD_IGNORED in r.getMessage() for r in caplog.records)
    assert service.ignored_checkers == ["[127.0.0.1]:tcp:8080#0:BFD_CHECK"]
