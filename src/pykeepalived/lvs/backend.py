"""What a load-balancing data plane must offer, and an in-memory one for tests.

A `Backend` programs a kernel table (IPVS over generic netlink, or an nftables table) with
the operations of `lvs.diff`. It reports how many kernel operations it issued (one netlink
request for IPVS, one ``nft`` transaction for nftables) so the reconciler and the benchmark
can show that a one-server change costs one operation.

The checkers drive the data plane through `pykeepalived.checkers.dataplane.DataPlane`; the
adapter that turns those calls into reconciled operations is `lvs.reconcile.DataPlaneAdapter`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from pykeepalived.config.errors import Diagnostic, Location, Severity
from pykeepalived.lvs.diff import Op, apply
from pykeepalived.lvs.model import LvsState, Service

__all__ = ["Backend", "BackendError", "FakeBackend", "UnsupportedError", "unsupported"]


class BackendError(Exception):
    """The kernel refused an operation (the message names the operation and the reason)."""


class UnsupportedError(BackendError):
    """The configuration asks for something this backend cannot do.

    ``diagnostics`` are config-style messages carrying the ``virtual_server``'s location.
    """

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        super().__init__("; ".join(d.format() for d in self.diagnostics))


def unsupported(service: Service, message: str, location: Location | None = None) -> Diagnostic:
    """A config error about ``service`` at its ``virtual_server`` line."""
    loc = location if location is not None else service.location
    return Diagnostic(Severity.ERROR, f"virtual server {service.id}: {message}", loc)


class Backend(Protocol):
    """A kernel load-balancing table."""

    name: str

    def check(self, state: LvsState) -> list[Diagnostic]:
        """Config errors for what this backend cannot program (empty when all is fine)."""
        ...

    def read(self) -> LvsState:
        """The services the kernel holds now (for nftables: those of our own table)."""
        ...

    def apply(self, ops: Sequence[Op]) -> int:
        """Carry out ``ops`` in order; return the number of kernel operations issued."""
        ...

    def flush(self) -> None:
        """Remove every service (IPVS: the whole table; nftables: our table)."""
        ...

    def close(self) -> None: ...


@dataclass
class FakeBackend:
    """A `Backend` kept in memory: applies ops with `lvs.diff.apply` and counts them.

    ``refuse`` lists scheduler names it rejects in `check` (to test error paths).
    """

    name: str = "fake"
    state: LvsState = field(default_factory=LvsState)
    kernel_ops: int = 0
    transactions: int = 0
    refuse: tuple[str, ...] = ()
    closed: bool = False

    def check(self, state: LvsState) -> list[Diagnostic]:
        return [
            unsupported(s, f"lb_algo {s.attrs.scheduler} is not supported")
            for s in state
            if s.attrs.scheduler in self.refuse
        ]

    def read(self) -> LvsState:
        return self.state

    def apply(self, ops: Sequence[Op]) -> int:
        self.state = apply(self.state, ops)
        self.kernel_ops += len(ops)
        self.transactions += 1
        return len(ops)

    def flush(self) -> None:
        self.state = LvsState()

    def close(self) -> None:
        self.closed = True
