"""The status shows the weight the data plane holds, not only the configured one."""

from __future__ import annotations

import pytest

from pykeepalived.control.status import normalize_virtual_server, render_table

pytestmark = pytest.mark.unit


def _vs(alive: bool, in_dataplane: bool, lvs_weight: int | None) -> dict[str, object]:
    return {
        "service": "[192.0.2.222]:tcp:80",
        "live_weight": 10 if alive else 0,
        "real_servers": [
            {
                "dest": "[192.0.2.225]:tcp:80",
                "alive": alive,
                "in_dataplane": in_dataplane,
                "weight": 10,
                "lvs_weight": lvs_weight,
                "checkers": [{"name": "TCP_CHECK", "up": alive, "has_run": True}],
            }
        ],
    }


def test_inhibited_real_server_shows_weight_zero_of_its_configured_weight() -> None:
    vs = normalize_virtual_server(_vs(alive=False, in_dataplane=True, lvs_weight=0))
    rs = vs["real_servers"][0]
    assert (rs["health"], rs["weight"], rs["lvs_weight"]) == ("down", 10, 0)
    assert rs["checkers"][0]["has_run"] is True
    text = render_table({"instances": [], "virtual_servers": [vs]})
    assert "0 (10)" in text


def test_live_and_removed_real_servers() -> None:
    live = normalize_virtual_server(_vs(alive=True, in_dataplane=True, lvs_weight=10))
    gone = normalize_virtual_server(_vs(alive=False, in_dataplane=False, lvs_weight=None))
    live_text = render_table({"instances": [], "virtual_servers": [live]})
    gone_text = render_table({"instances": [], "virtual_servers": [gone]})
    assert " 10 " in live_text and "(10)" not in live_text
    assert "- (10)" in gone_text
