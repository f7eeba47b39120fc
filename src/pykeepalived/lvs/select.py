"""Choosing the data plane the checkers drive.

keepalived only knows IPVS. pykeepalived uses IPVS when the kernel has it and falls back to
its nftables data plane otherwise (``--lvs-backend auto``); ``ipvs`` or ``nftables`` force one,
``none`` programs nothing (health checks and notifications only).
"""

from __future__ import annotations

import logging

from pykeepalived.checkers.dataplane import DataPlane, FakeDataPlane
from pykeepalived.config.model import Config
from pykeepalived.lvs.backend import Backend, BackendError
from pykeepalived.lvs.ipvs import IpvsBackend
from pykeepalived.lvs.model import LvsState
from pykeepalived.lvs.nft import NftBackend
from pykeepalived.lvs.reconcile import DataPlaneAdapter, Reconciler

log = logging.getLogger(__name__)

BACKEND_CHOICES = ("auto", "ipvs", "nftables", "none")


def open_backend(choice: str) -> Backend | None:
    """The backend for ``choice``; None for ``none``. Raises BackendError if unavailable."""
    if choice == "none":
        return None
    if choice == "ipvs":
        return IpvsBackend()
    if choice == "nftables":
        return NftBackend()
    if choice != "auto":
        raise BackendError(f"unknown LVS backend {choice!r} (choose from {BACKEND_CHOICES})")
    try:
        return IpvsBackend()
    except BackendError as exc:
        log.warning("IPVS is not available (%s); using the nftables data plane", exc)
        return NftBackend()


def kernel_dataplane(config: Config, choice: str) -> DataPlane:
    """The data plane for the checker service; a recording fake when nothing is programmed."""
    try:
        backend = open_backend(choice)
    except BackendError as exc:
        log.error("no LVS data plane: %s; virtual servers are checked but not programmed", exc)
        return FakeDataPlane()
    if backend is None:
        return FakeDataPlane()
    defs = config.global_defs
    reconciler = Reconciler(
        backend, flush_at_start=defs.lvs_flush, flush_on_stop=defs.lvs_flush_on_stop
    )
    reconciler.start(LvsState())
    log.info("LVS data plane: %s", getattr(backend, "name", type(backend).__name__))
    return DataPlaneAdapter(reconciler, config.lvs)
