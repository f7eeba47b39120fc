"""The nftables data plane with real traffic between namespaces.

client (192.0.2.50) --lan0-- director (192.0.2.1, VIP 192.0.2.100; 198.51.100.1) --lan1--
rs1 .. rs3 (198.51.100.11-13, default route via the director). Each real server answers a
TCP connection with its own name; the client counts who answered.
"""

from __future__ import annotations

import ipaddress
import time
from collections import Counter

import pytest

from pykeepalived.config.loader import load_text
from pykeepalived.lab.topology import run_in
from pykeepalived.lvs.backend import UnsupportedError
from pykeepalived.lvs.model import HealthView, RsHealth, desired_state
from pykeepalived.lvs.nft import NftBackend
from pykeepalived.lvs.reconcile import Reconciler

from .lvs_lab import CHI2_DF2_P001, RS_PORT, VIP, Lab, _conf

pytestmark = pytest.mark.netns


def _chi2(observed: Counter[str], weights: dict[str, int]) -> float:
    total = sum(observed.values())
    wsum = sum(weights.values())
    return sum(
        (observed.get(name, 0) - total * w / wsum) ** 2 / (total * w / wsum)
        for name, w in weights.items()
        if w > 0
    )


def _reconciler(lab: Lab) -> Reconciler:
    return Reconciler(NftBackend(netns=lab.director, table="pkatest"), flush_at_start=True)


def test_wrr_spreads_connections_in_proportion_to_weights(lab: Lab) -> None:
    weights = {"rs1": 3, "rs2": 2, "rs3": 1}
    config = load_text(_conf("wrr", weights), filename="wrr.conf").config.lvs
    rec = _reconciler(lab)
    try:
        result = rec.start(desired_state(config))
        assert result.kernel_ops == 1
        counts = lab.connect(600)["default"]
        assert sum(counts.values()) == 600, counts
        assert set(counts) == set(weights), counts
        assert _chi2(counts, weights) < CHI2_DF2_P001, counts

        # a real server fails: one transaction, and it gets no new connections
        key = f"[{VIP}]:tcp:80"
        down = HealthView({(key, ipaddress.ip_address("198.51.100.12"), RS_PORT): RsHealth(False)})
        result = rec.sync(desired_state(config, down))
        assert result.kernel_ops == 1
        assert len(result.ops) == 1
        counts = lab.connect(300)["default"]
        assert "rs2" not in counts, counts
        assert _chi2(counts, {"rs1": 3, "rs3": 1}) < 10.83, counts  # df 1, p 0.001
    finally:
        rec.stop()
        rec.backend.close()
    listed = run_in(lab.director, ["nft", "list", "tables"]).stdout
    assert "pkatest" not in listed


def test_rr_ignores_weights_but_skips_weight_zero(lab: Lab) -> None:
    weights = {"rs1": 5, "rs2": 1, "rs3": 0}
    config = load_text(_conf("rr", weights), filename="rr.conf").config.lvs
    rec = _reconciler(lab)
    try:
        rec.start(desired_state(config))
        counts = lab.connect(400)["default"]
        assert "rs3" not in counts, counts
        assert _chi2(counts, {"rs1": 1, "rs2": 1}) < 10.83, counts
    finally:
        rec.stop()
        rec.backend.close()


def test_sh_and_persistence_keep_a_client_on_one_server(lab: Lab) -> None:
    sources = [f"192.0.2.{i}" for i in range(50, 58)]
    for algo, extra in (("sh", ""), ("wrr", "  persistence_timeout 60\n")):
        weights = {"rs1": 1, "rs2": 1, "rs3": 1}
        config = load_text(_conf(algo, weights, extra), filename="p.conf").config.lvs
        rec = _reconciler(lab)
        try:
            rec.start(desired_state(config))
            per_client = lab.connect(20, sources)
            chosen = set()
            for src, counts in per_client.items():
                assert len(counts) == 1 and sum(counts.values()) == 20, (algo, src, counts)
                chosen |= set(counts)
            assert chosen <= set(weights)
            assert len(chosen) >= 2, (algo, per_client)  # 8 clients do not all hash alike
        finally:
            rec.stop()
            rec.backend.close()


def test_unsupported_scheduler_is_a_config_error_at_the_virtual_server_line(lab: Lab) -> None:
    config = load_text(_conf("wlc", {"rs1": 1}), filename="/etc/k/wlc.conf").config.lvs
    rec = _reconciler(lab)
    with pytest.raises(UnsupportedError) as info:
        rec.start(desired_state(config))
    message = str(info.value)
    assert "/etc/k/wlc.conf: Line 1" in message
    assert "lb_algo wlc" in message
    listed = run_in(lab.director, ["nft", "list", "tables"]).stdout
    assert "pkatest" not in listed


def test_reload_changing_one_server_is_one_transaction(lab: Lab) -> None:
    weights = {"rs1": 1, "rs2": 1, "rs3": 1}
    rec = _reconciler(lab)
    try:
        rec.start(desired_state(load_text(_conf("wrr", weights)).config.lvs))
        before = rec.backend.kernel_ops  # type: ignore[attr-defined]
        t0 = time.monotonic()
        new = desired_state(load_text(_conf("wrr", {"rs1": 1, "rs2": 1, "rs3": 6})).config.lvs)
        result = rec.sync(new)
        assert time.monotonic() - t0 < 5
        assert [type(op).__name__ for op in result.ops] == ["EditDest"]
        assert rec.backend.kernel_ops == before + 1  # type: ignore[attr-defined]
        counts = lab.connect(400)["default"]
        assert _chi2(counts, {"rs1": 1, "rs2": 1, "rs3": 6}) < CHI2_DF2_P001, counts
    finally:
        rec.stop()
        rec.backend.close()
