"""Fixtures of the VM tier: an empty IPVS table before and after every test.

These tests run only inside the VM that ``tests/vm/run_vm.sh`` boots (the host kernel has no
IPVS); elsewhere they skip. A host run with ``-m "unit or netns or interop"`` deselects them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pykeepalived.lvs.ipvs import IpvsBackend, ensure_module


def _why_no_ipvs() -> str | None:
    if os.geteuid() != 0:
        return "needs root"
    if not Path("/proc/net/ip_vs").exists() and not ensure_module("ip_vs"):
        return "no IPVS in this kernel (run tests/vm/run_vm.sh)"
    if not Path("/proc/net/ip_vs").exists():
        return "no IPVS in this kernel (run tests/vm/run_vm.sh)"
    return None


@pytest.fixture
def ipvs() -> Iterator[IpvsBackend]:
    """An IPVS backend on an empty table (flushed again afterwards)."""
    reason = _why_no_ipvs()
    if reason is not None:
        pytest.skip(reason)
    backend = IpvsBackend()
    backend.flush()
    try:
        yield backend
    finally:
        backend.flush()
        backend.close()
