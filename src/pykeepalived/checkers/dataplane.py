"""The sink the checkers drive: add, remove or re-weight a destination of a service.

The IPVS and nftables backends implement `DataPlane`; `FakeDataPlane` records the calls (and
the resulting table) for tests. Services and destinations are named by small frozen keys so a
backend can map them to its own objects.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol

from pykeepalived.config.model.lvs import (
    AddressService,
    Forwarding,
    FwmarkService,
    GroupService,
    IPAddress,
    VirtualServer,
)
from pykeepalived.config.model.lvs import (
    Protocol as L4Protocol,
)


@dataclass(frozen=True)
class ServiceKey:
    """A virtual service as keepalived prints it (``[192.0.2.1]:tcp:80``, ``FWM 5``, group)."""

    text: str

    @classmethod
    def of(cls, vs: VirtualServer) -> ServiceKey:
        return cls(format_vs(vs))


@dataclass(frozen=True)
class Destination:
    """A real server (or sorry server) of a service: address, port, forwarding method."""

    address: IPAddress
    port: int
    forwarding: Forwarding = field(default_factory=Forwarding, compare=False)

    @property
    def text(self) -> str:
        return f"[{self.address}]:{self.port}"


def protocol_text(protocol: L4Protocol | None) -> str:
    return protocol.name.lower() if protocol is not None else "tcp"


def format_vs(vs: VirtualServer) -> str:
    """keepalived's FMT_VS: ``[addr]:proto:port``, ``FWM n``, or ``group NAME``."""
    svc = vs.service
    if isinstance(svc, AddressService):
        return f"[{svc.address}]:{protocol_text(vs.protocol)}:{svc.port}"
    if isinstance(svc, FwmarkService):
        return f"FWM {svc.fwmark}"
    assert isinstance(svc, GroupService)
    return f"{svc.name}"


def format_rs(address: IPAddress, port: int, vs: VirtualServer) -> str:
    """keepalived's FMT_RS: ``[addr]:proto:port``."""
    return f"[{address}]:{protocol_text(vs.protocol)}:{port}"


class DataPlane(Protocol):
    """What the checkers need from a load-balancing backend."""

    def add_service(self, service: ServiceKey, vs: VirtualServer) -> None: ...

    def remove_service(self, service: ServiceKey) -> None: ...

    def add_destination(self, service: ServiceKey, dest: Destination, weight: int) -> None: ...

    def remove_destination(self, service: ServiceKey, dest: Destination) -> None: ...

    def set_weight(self, service: ServiceKey, dest: Destination, weight: int) -> None: ...

    def close(self, *, release: bool) -> None:
        """The service is stopping; with ``release`` remove what was programmed."""
        ...


class Op(enum.StrEnum):
    ADD_SERVICE = "add_service"
    REMOVE_SERVICE = "remove_service"
    ADD = "add"
    REMOVE = "remove"
    WEIGHT = "weight"


@dataclass(frozen=True)
class Call:
    """One recorded data-plane call."""

    op: Op
    service: str
    dest: str = ""
    weight: int | None = None


class FakeDataPlane:
    """Records every call and keeps the table it would produce (service -> dest -> weight)."""

    def __init__(self) -> None:
        self.closed = False
        self.released = False
        self.calls: list[Call] = []
        self.table: dict[str, dict[str, int]] = {}

    def close(self, *, release: bool) -> None:
        self.closed = True
        self.released = release

    def add_service(self, service: ServiceKey, vs: VirtualServer) -> None:
        self.calls.append(Call(Op.ADD_SERVICE, service.text))
        self.table.setdefault(service.text, {})

    def remove_service(self, service: ServiceKey) -> None:
        self.calls.append(Call(Op.REMOVE_SERVICE, service.text))
        self.table.pop(service.text, None)

    def add_destination(self, service: ServiceKey, dest: Destination, weight: int) -> None:
        self.calls.append(Call(Op.ADD, service.text, dest.text, weight))
        self.table.setdefault(service.text, {})[dest.text] = weight

    def remove_destination(self, service: ServiceKey, dest: Destination) -> None:
        self.calls.append(Call(Op.REMOVE, service.text, dest.text))
        self.table.get(service.text, {}).pop(dest.text, None)

    def set_weight(self, service: ServiceKey, dest: Destination, weight: int) -> None:
        self.calls.append(Call(Op.WEIGHT, service.text, dest.text, weight))
        self.table.setdefault(service.text, {})[dest.text] = weight

    def ops(self) -> list[tuple[str, str, int | None]]:
        """Calls as (op, dest, weight) tuples, service creation left out."""
        return [
            (c.op.value, c.dest, c.weight)
            for c in self.calls
            if c.op not in (Op.ADD_SERVICE, Op.REMOVE_SERVICE)
        ]
