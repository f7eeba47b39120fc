"""ServiceHost (a worker's services in-process): reload refusal keeps the running config and
marks config_stale; a good config is handed to the services; the channel framing."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import pytest

from pykeepalived.config.loader import LoadResult, load_text
from pykeepalived.config.model import Config
from pykeepalived.daemon.channel import decode, encode
from pykeepalived.daemon.workers import ServiceHost

pytestmark = pytest.mark.unit

GOOD = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 120\n}\n"
BROKEN = "vrrp_instance VI_1 {\n interface\n}\n"


class Recorder:
    name = "vrrp"

    def __init__(self, config: Config) -> None:
        self.config = config
        self.calls: list[str] = []

    async def start(self) -> None:
        self.calls.append("start")

    async def stop(self) -> None:
        self.calls.append("stop")

    async def reload(self, config: Config) -> None:
        self.calls.append("reload")
        self.config = config

    def status(self) -> dict[str, Any]:
        return {
            "instances": [
                {"name": i.name, "state": "BACKUP", "priority": i.priority}
                for i in self.config.vrrp.instances
            ]
        }


def test_refused_reload_keeps_config_and_marks_stale() -> None:
    texts = [BROKEN, GOOD.replace("120", "130")]

    def loader(options: argparse.Namespace) -> LoadResult:
        return load_text(texts.pop(0), filename="k.conf")

    config = load_text(GOOD).config
    recorders: list[Recorder] = []

    def factory(cfg: Config, options: argparse.Namespace) -> list[Any]:
        recorders.append(Recorder(cfg))
        return list(recorders)

    async def scenario() -> None:
        host = ServiceHost(
            "vrrp", argparse.Namespace(use_file="k.conf"), config, factory, loader=loader
        )
        await host.start()
        ok, error = await host.reload()
        assert not ok and error is not None and "missing a parameter" in error
        snap = host.snapshot()
        assert snap["config_stale"] is True and snap["config_error"] == error
        assert snap["services"]["vrrp"]["instances"][0]["priority"] == 120
        assert host.config is config
        ok, error = await host.reload()
        assert ok and error is None
        snap = host.snapshot()
        assert snap["config_stale"] is False and snap["config_error"] is None
        assert snap["services"]["vrrp"]["instances"][0]["priority"] == 130
        await host.stop()

    asyncio.run(scenario())
    assert recorders[0].calls == ["start", "reload", "stop"]


def test_channel_framing() -> None:
    line = encode({"id": 3, "op": "status"})
    assert line.endswith(b"\n") and b"\n" not in line[:-1]
    assert decode(line) == {"id": 3, "op": "status"}
    assert decode(b"[1, 2]\n") is None
    assert decode(b"not json\n") is None
