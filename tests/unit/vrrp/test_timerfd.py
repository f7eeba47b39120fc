"""The timerfd-backed deadline heap of the VRRP worker."""

from __future__ import annotations

import asyncio
import socket
from ipaddress import IPv4Address

import pytest

from pykeepalived.net.addresses import VirtualAddress, address_message
from pykeepalived.vrrp.timerfd import DeadlineClient, DeadlineTimer

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("use_timerfd", [True, False], ids=["timerfd", "call_at"])
def test_deadlines_fire_in_order_and_later_arms_wait_for_the_earlier(use_timerfd: bool) -> None:
    async def scenario() -> list[tuple[str, float]]:
        loop = asyncio.get_running_loop()
        timer = DeadlineTimer(loop, use_timerfd=use_timerfd, coalesce_s=0.0)
        assert timer.uses_timerfd is use_timerfd
        fired: list[tuple[str, float]] = []
        a = DeadlineClient(lambda _at: fired.append(("a", loop.time())))
        b = DeadlineClient(lambda _at: fired.append(("b", loop.time())))
        c = DeadlineClient(lambda _at: fired.append(("c", loop.time())))
        t0 = loop.time()
        timer.arm(a, t0 + 0.03)
        timer.arm(b, t0 + 0.01)
        timer.arm(b, t0 + 0.05)  # later than armed: b still fires at +0.01
        timer.arm(c, t0 + 0.02)
        timer.disarm(c)  # never fires
        await asyncio.sleep(0.08)
        timer.close()
        return [(name, at - t0) for name, at in fired]

    fired = asyncio.run(scenario())
    assert [name for name, _ in fired] == ["b", "a"]
    assert fired[0][1] == pytest.approx(0.01, abs=0.008)
    assert fired[1][1] == pytest.approx(0.03, abs=0.008)
    assert fired[0][1] >= 0.01 and fired[1][1] >= 0.03


def test_timerfd_wakes_up_close_to_the_deadline() -> None:
    async def lateness() -> float:
        loop = asyncio.get_running_loop()
        timer = DeadlineTimer(loop, coalesce_s=0.0)
        done = loop.create_future()
        client = DeadlineClient(lambda _at: done.set_result(loop.time()))
        at = loop.time() + 0.05
        timer.arm(client, at)
        fired: float = await asyncio.wait_for(done, 1.0)
        timer.close()
        return fired - at

    late_s = asyncio.run(lateness())
    assert 0 <= late_s < 0.005


def test_address_message_is_an_rtm_newaddr_with_local_and_label() -> None:
    vip = VirtualAddress.of(
        "192.0.2.10/24", "eth0", label="eth0:1", broadcast=IPv4Address("192.0.2.255")
    )
    msg = address_message(vip, 7, add=True, seq=42)
    length = int.from_bytes(msg[0:4], "little")
    assert length == len(msg) and length % 4 == 0
    assert int.from_bytes(msg[4:6], "little") == 20  # RTM_NEWADDR
    assert int.from_bytes(msg[6:8], "little") == 0x1 | 0x4 | 0x200 | 0x400
    assert int.from_bytes(msg[8:12], "little") == 42
    family, prefixlen, _flags, scope = msg[16:20]
    assert (family, prefixlen, scope) == (socket.AF_INET, 24, 0)
    assert int.from_bytes(msg[20:24], "little") == 7
    assert IPv4Address("192.0.2.10").packed in msg and b"eth0:1\0" in msg
    assert IPv4Address("192.0.2.255").packed in msg
    delete = address_message(vip, 7, add=False, seq=43)
    assert int.from_bytes(delete[4:6], "little") == 21  # RTM_DELADDR
    assert b"eth0:1" not in delete


def test_close_deadlines_run_in_one_wake_up_with_their_own_deadline() -> None:
    async def scenario() -> tuple[list[float], list[float], float]:
        loop = asyncio.get_running_loop()
        timer = DeadlineTimer(loop, coalesce_s=0.005)
        armed: list[float] = []
        woke: list[float] = []

        def record(at_s: float) -> None:
            armed.append(at_s)
            woke.append(loop.time())

        first, second = DeadlineClient(record), DeadlineClient(record)
        t0 = loop.time()
        timer.arm(first, t0 + 0.02)
        timer.arm(second, t0 + 0.022)  # inside the window: runs in the first wake-up
        await asyncio.sleep(0.05)
        timer.close()
        return armed, woke, t0

    armed, woke, t0 = asyncio.run(scenario())
    assert [round(a - t0, 4) for a in armed] == [0.02, 0.022]
    assert woke[1] - woke[0] < 0.001  # the same wake-up, before the second deadline
    assert woke[1] < t0 + 0.022
