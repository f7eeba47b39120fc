"""pykeepalived and Debian's keepalived 2.2.7 as VRRP peers on one segment, both directions.

For every protocol variant (v2 PASS, v2 AH, v3 IPv4, v3 IPv6, multicast and unicast) one host
runs pykeepalived and the other keepalived, then the roles swap: one master at a time, failover
when the master hangs (SIGSTOP of its VRRP process) and when it stops cleanly (priority 0),
preemption back when it resumes, and ``nopreempt`` honoured.

The scenarios and the namespace lab are those of ``tests/netns/test_vrrp_daemon.py``.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from pykeepalived.lab.topology import Topology

pytestmark = [pytest.mark.interop, pytest.mark.slow]

TopologyFactory = Callable[..., Topology]


def _load_scenarios() -> ModuleType:
    path = Path(__file__).parents[1] / "netns" / "test_vrrp_daemon.py"
    spec = importlib.util.spec_from_file_location("_vrrp_daemon_scenarios", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


S = _load_scenarios()
MODES = [m for m in S.MODES if m.id != "v2-ipv4-unicast"] + [
    m for m in S.MODES if m.id == "v2-ipv4-unicast"
]
DIRECTIONS = [("pykeepalived", "keepalived"), ("keepalived", "pykeepalived")]
DIRECTION_IDS = ["py-master", "ka-master"]


@pytest.fixture
def lab(topology: TopologyFactory, tmp_path: Path) -> Iterator[object]:
    if shutil.which(S.KEEPALIVED) is None:
        pytest.skip("keepalived is not installed (apt-get install keepalived)")
    the_lab = S.Lab(topology(hosts=2), tmp_path)
    try:
        yield the_lab
    finally:
        the_lab.kill_all()
        for host in the_lab.nodes:
            print(f"----- {host} log -----\n{the_lab.log(host)}")


@pytest.mark.parametrize("impls", DIRECTIONS, ids=DIRECTION_IDS)
@pytest.mark.parametrize("mode", MODES, ids=[m.id for m in MODES])
def test_failover_with_keepalived(lab: object, mode: object, impls: tuple[str, str]) -> None:
    """h1 (priority 100) runs impls[0], h2 (90) impls[1]."""
    S.pair(lab, mode)
    lab.start("h1", impls[0])  # type: ignore[attr-defined]
    lab.start("h2", impls[1])  # type: ignore[attr-defined]
    S.failover_cycle(lab, mode)


NOPREEMPT_MODES = [m for m in S.MODES if m.id in ("v2-pass-ipv4-mcast", "v3-ipv6-mcast")]


@pytest.mark.parametrize("impls", DIRECTIONS, ids=DIRECTION_IDS)
@pytest.mark.parametrize("mode", NOPREEMPT_MODES, ids=[m.id for m in NOPREEMPT_MODES])
def test_nopreempt_with_keepalived(lab: object, mode: object, impls: tuple[str, str]) -> None:
    """The running master (h2, 90) keeps the VIP when h1 (100, nopreempt) joins."""
    S.pair(lab, mode, nopreempt=True)
    S.nopreempt_check(lab, mode, impls[0], impls[1])
