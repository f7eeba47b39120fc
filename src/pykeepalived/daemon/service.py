"""What the daemon runs: services (VRRP, checkers) with one life cycle.

The daemon owns processes, signals and config loading; a service owns its protocol work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from pykeepalived.config.model import Config

RESPAWN_ENV = "PYKEEPALIVED_RESPAWNED"
"""Set by the supervisor in the environment of a worker that replaces one that died."""


@dataclass(frozen=True)
class RunOptions:
    """The command-line choices services care about (keepalived's flags)."""

    release_vips_on_exit: bool = True  # -V turns this off (and the priority-0 advert)
    release_ipvs_on_exit: bool = True  # -I turns this off
    release_vips_on_reload: bool = False  # -X
    log_detail: bool = False  # -D


class Service(Protocol):
    name: str

    async def start(self) -> None:
        """Bring the service up from the config it was built with."""

    async def stop(self) -> None:
        """Leave cleanly (priority-0 adverts, VIPs removed, ...) unless told to keep state."""

    async def reload(self, config: Config) -> None:
        """Apply a new config, touching only what changed."""

    def status(self) -> dict[str, Any]:
        """A JSON-able snapshot for the status API and dumps."""
