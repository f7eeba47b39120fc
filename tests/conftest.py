"""Shared fixtures: the namespace ``topology`` factory and the root guard for netns/interop."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator, Sequence

import pytest

from pykeepalived.lab.topology import Topology, TopologySpec, cleanup_stale, simple_spec

_ROOT_MARKERS = ("netns", "interop")


def _why_no_netns() -> str | None:
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    if shutil.which("ip") is None:
        return "needs the ip command (iproute2)"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip tests marked netns/interop when not root (with a clear reason)."""
    if any(item.get_closest_marker(m) for m in _ROOT_MARKERS):
        reason = _why_no_netns()
        if reason is not None:
            pytest.skip(reason)


@pytest.fixture(scope="session")
def _stale_netns_swept() -> None:
    """Delete namespaces left by crashed earlier runs (those of live runs are kept)."""
    if _why_no_netns() is None:
        cleanup_stale()


TopologyFactory = Callable[..., Topology]


@pytest.fixture
def topology(_stale_netns_swept: None) -> Iterator[TopologyFactory]:
    """Factory building namespace topologies, all torn down after the test (even if it fails).

    ``topology(hosts=2, segments=1, ipv6_dad=False)`` or ``topology(spec=TopologySpec(...))``.
    """
    reason = _why_no_netns()
    if reason is not None:
        pytest.skip(reason)
    built: list[Topology] = []

    def make(
        hosts: int | Sequence[str] = 2,
        segments: int = 1,
        *,
        ipv6_dad: bool = False,
        spec: TopologySpec | None = None,
    ) -> Topology:
        topo = Topology(
            spec if spec is not None else simple_spec(hosts, segments, ipv6_dad=ipv6_dad)
        )
        built.append(topo)
        return topo.build()

    try:
        yield make
    finally:
        for topo in reversed(built):
            topo.teardown()
