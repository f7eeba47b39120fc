"""The data plane handed to the checkers: choice, refusals as config errors, release on stop."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import shutil

import pytest

from pykeepalived.checkers.dataplane import Destination, FakeDataPlane, ServiceKey
from pykeepalived.config.loader import load_text
from pykeepalived.lvs import select
from pykeepalived.lvs.backend import BackendError, FakeBackend
from pykeepalived.lvs.model import LvsState
from pykeepalived.lvs.nft import NftBackend
from pykeepalived.lvs.reconcile import DataPlaneAdapter, Reconciler

pytestmark = pytest.mark.unit

CONF = """virtual_server 192.0.2.1 80 {
  lb_algo lc
  lb_kind NAT
  protocol TCP
  real_server 198.51.100.1 80 {
    weight 2
  }
}
"""


def _adapter(refuse: tuple[str, ...] = ()) -> tuple[DataPlaneAdapter, FakeBackend]:
    backend = FakeBackend(refuse=refuse)
    reconciler = Reconciler(backend)
    reconciler.start(LvsState())
    lvs = load_text(CONF, filename="lb.conf").config.lvs
    return DataPlaneAdapter(reconciler, lvs), backend


def _program(adapter: DataPlaneAdapter) -> None:
    vs = adapter.config.virtual_servers[0]
    key = ServiceKey.of(vs)
    adapter.add_service(key, vs)
    adapter.add_destination(key, Destination(ipaddress.ip_address("198.51.100.1"), 80), 2)


def test_refused_service_is_a_logged_config_error_not_a_crash(
    caplog: pytest.LogCaptureFixture,
) -> None:
    adapter, backend = _adapter(refuse=("lc",))
    with caplog.at_level(logging.ERROR):
        _program(adapter)
    refusals = [r.getMessage() for r in caplog.records if "not programmed" in r.getMessage()]
    assert len(refusals) == 1  # reported once, not on every transition
    assert "(lb.conf: Line 1" in refusals[0] and "lb_algo lc" in refusals[0]
    assert backend.kernel_ops == 0


def test_close_releases_what_was_created_unless_told_to_keep_it() -> None:
    adapter, backend = _adapter()
    _program(adapter)
    assert len(backend.state) == 1
    adapter.close(release=True)
    assert len(backend.state) == 0 and backend.closed

    adapter, backend = _adapter()
    _program(adapter)
    adapter.close(release=False)  # -I / --dont-release-ipvs
    assert len(backend.state) == 1 and backend.closed


def test_unknown_backend_choice_is_refused() -> None:
    with pytest.raises(BackendError):
        select.open_backend("bogus")


def test_none_and_unavailable_backends_fall_back_to_recording(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = load_text(CONF).config
    assert isinstance(select.kernel_dataplane(config, "none"), FakeDataPlane)

    def unavailable(choice: str, *, nft_masquerade: bool = False) -> None:
        raise BackendError("no such netlink family")

    monkeypatch.setattr(select, "open_backend", unavailable)
    assert isinstance(select.kernel_dataplane(config, "ipvs"), FakeDataPlane)


def test_nft_masquerade_reaches_the_nftables_backend() -> None:
    if shutil.which("nft") is None:
        pytest.skip("nft (package nftables) is not installed")
    backend = select.open_backend("nftables", nft_masquerade=True)
    assert isinstance(backend, NftBackend) and backend.masquerade
    plain = select.open_backend("nftables")
    assert isinstance(plain, NftBackend) and not plain.masquerade


def test_ipvs_backend_works_from_inside_a_running_event_loop() -> None:
    """The checker worker builds and drives the data plane from its asyncio loop; pyroute2's
    synchronous sockets must not try to run their own loop on that thread."""
    from pykeepalived.lvs.ipvs import IpvsBackend  # noqa: PLC0415

    async def build() -> str:
        try:
            backend = IpvsBackend(load_module=False)
        except BackendError as exc:  # no IPVS in this kernel: a clean, catchable error
            return f"unavailable: {exc}"
        backend.read()
        backend.close()
        return "ok"

    assert asyncio.run(build()).startswith(("ok", "unavailable"))
