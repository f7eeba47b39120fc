"""Choosing the data plane the checkers drive.

keepalived only knows IPVS. pykeepalived uses IPVS when the kernel has it and falls back to
its nftables data plane otherwise (``--lvs-backend auto``); ``ipvs`` or ``nftables`` force one,
``none`` programs nothing (health checks and notifications only). ``nft_masquerade``
(``--lvs-nft-masquerade``) makes the nftables data plane SNAT the connections it DNATs, for
one-segment NAT setups where the real servers' replies would otherwise bypass the director.

With IPVS, the data plane's start also sets ``lvs_timeouts`` and starts the sync daemon of
``lvs_sync_daemon`` without a VRRP instance (master and backup); the instance form belongs to
the VRRP worker (`lvs.syncd`). The data plane stops that sync daemon when it closes.
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
from pykeepalived.lvs.syncd import BOTH, SyncDaemonManager, resolve, timeouts

log = logging.getLogger(__name__)

BACKEND_CHOICES = ("auto", "ipvs", "nftables", "none")


def open_backend(choice: str, *, nft_masquerade: bool = False) -> Backend | None:
    """The backend for ``choice``; None for ``none``. Raises BackendError if unavailable.

    ``nft_masquerade`` is passed to the nftables backend (IPVS ignores it)."""
    if choice == "none":
        return None
    if choice == "ipvs":
        return IpvsBackend()
    if choice == "nftables":
        return NftBackend(masquerade=nft_masquerade)
    if choice != "auto":
        raise BackendError(f"unknown LVS backend {choice!r} (choose from {BACKEND_CHOICES})")
    try:
        return IpvsBackend()
    except BackendError as exc:
        log.warning("IPVS is not available (%s); using the nftables data plane", exc)
        return NftBackend(masquerade=nft_masquerade)


def kernel_dataplane(config: Config, choice: str, *, nft_masquerade: bool = False) -> DataPlane:
    """The data plane for the checker service; a recording fake when nothing is programmed."""
    try:
        backend = open_backend(choice, nft_masquerade=nft_masquerade)
    except BackendError as exc:
        log.error("no LVS data plane: %s; virtual servers are checked but not programmed", exc)
        return FakeDataPlane()
    if backend is None:
        return FakeDataPlane()
    defs = config.global_defs
    syncd = start_ipvs_globals(config, backend)
    reconciler = Reconciler(
        backend, flush_at_start=defs.lvs_flush, flush_on_stop=defs.lvs_flush_on_stop
    )
    reconciler.start(LvsState())
    log.info("LVS data plane: %s", getattr(backend, "name", type(backend).__name__))
    return DataPlaneAdapter(reconciler, config.lvs, syncd=syncd)


def start_ipvs_globals(config: Config, backend: Backend) -> SyncDaemonManager | None:
    """keepalived's checker start-up: ``lvs_timeouts``, then the sync daemon that runs as
    master and backup (``lvs_sync_daemon`` without an instance). Returns that daemon's
    manager (to stop it at the end), None when there is none."""
    wanted_timeouts = timeouts(config)
    settings = resolve(config)
    instance_less = settings is not None and settings.instance is None
    if not isinstance(backend, IpvsBackend):
        if wanted_timeouts is not None or instance_less:
            log.warning("lvs_timeouts and lvs_sync_daemon need IPVS; ignored by %s", backend.name)
        return None
    if wanted_timeouts is not None:
        try:
            backend.set_timeouts(*wanted_timeouts)
        except BackendError as exc:
            log.error("%s", exc)
    if settings is None or not instance_less:
        return None
    manager = SyncDaemonManager(backend, settings)
    manager.start(BOTH)
    return manager
