"""A stand-in `Service` for supervisor tests: one fake VRRP instance per configured instance.

Importable by worker processes (the tests put this directory on PYTHONPATH) as
``fake_service:make``. It records reloads, and its instances report BACKUP then MASTER so
that alert and status code sees transitions.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from pykeepalived.config.model import Config


class FakeVrrpService:
    name = "vrrp"

    def __init__(self, config: Config) -> None:
        self.config = config
        self.reloads = 0
        self.started = False
        self.states: dict[str, str] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.started = True
        self.states = {i.name: "BACKUP" for i in self.config.vrrp.instances}
        self._task = asyncio.get_running_loop().create_task(self._promote())

    async def _promote(self) -> None:
        await asyncio.sleep(0.3)
        for inst in self.config.vrrp.instances:
            if inst.state.value == "MASTER":
                self.states[inst.name] = "MASTER"

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self.started = False

    async def reload(self, config: Config) -> None:
        self.config = config
        self.reloads += 1
        self.states = {i.name: self.states.get(i.name, "BACKUP") for i in config.vrrp.instances}

    def status(self) -> dict[str, Any]:
        return {
            "instances": [
                {
                    "name": i.name,
                    "state": self.states.get(i.name, "INIT"),
                    "priority": i.priority,
                    "effective_priority": i.priority,
                    "interface": i.interface,
                    "vrid": i.virtual_router_id,
                    "family": f"IPv{i.family}",
                    "vips": [str(v.address.ip) for v in i.virtual_ipaddresses],
                    "last_transition_reason": "fake",
                    "stats": {"advert_sent": 1, "become_master": 0},
                }
                for i in self.config.vrrp.instances
            ],
            "reloads": self.reloads,
        }


def make(config: Config, options: argparse.Namespace) -> list[Any]:
    return [FakeVrrpService(config)]
