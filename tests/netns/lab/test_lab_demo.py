"""The lab demo (README's main job) runs to the end and shows both failovers."""

from __future__ import annotations

import io
import ipaddress
import re

import pytest

from pykeepalived.config.loader import load_file
from pykeepalived.config.model.vrrp import VrrpState
from pykeepalived.lab import demo

pytestmark = [pytest.mark.netns, pytest.mark.slow]


def test_seed_config_moves_to_the_documentation_range() -> None:
    configs = demo.director_configs(load_file(demo.SEED_CONFIG, config_id="lab").config)
    dir1, dir2 = configs["dir1"].vrrp.instances[0], configs["dir2"].vrrp.instances[0]
    assert dir1.virtual_ipaddresses[0].address.ip == ipaddress.IPv4Address("192.0.2.222")
    assert (dir1.state, dir1.priority) == (VrrpState.MASTER, 100)
    assert (dir2.state, dir2.priority) == (VrrpState.BACKUP, 90)
    real = [str(rs.address) for rs in configs["dir1"].lvs.virtual_servers[0].real_servers]
    assert real == ["192.0.2.225", "192.0.2.226"]


def test_lab_runs_to_the_end_and_the_vip_moves() -> None:
    out = io.StringIO()
    code = demo.run_lab(demo.SEED_CONFIG, out)
    text = out.getvalue()
    assert code == 0, text
    assert "dir1 is MASTER and holds 192.0.2.222" in text
    moved = re.findall(r"dir2 holds the VIP ([0-9.]+) s after the event", text)
    assert len(moved) == 2, text  # after the hang and after the clean stop
    assert "dir1 holds 192.0.2.222 again" in text
    assert "dir1 exited with 0" in text
