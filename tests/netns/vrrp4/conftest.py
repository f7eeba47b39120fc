"""Fixture ``v4lab``: a factory of daemon labs (``tests/netns/daemonlab.py``) over ``topology``."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

if "daemonlab" not in sys.modules:  # loaded by path: the tests are not packages
    _spec = importlib.util.spec_from_file_location(
        "daemonlab", Path(__file__).parents[1] / "daemonlab.py"
    )
    assert _spec is not None and _spec.loader is not None
    sys.modules["daemonlab"] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules["daemonlab"])
daemonlab = sys.modules["daemonlab"]
NO_CONTROL_SOCKET = {"PYKEEPALIVED_CONTROL_SOCKET": "none"}


@pytest.fixture
def v4lab(topology: Callable[..., Any], tmp_path: Path) -> Iterator[Callable[..., Any]]:
    labs: list[Any] = []

    def make(hosts: int = 2, segments: int = 1) -> Any:
        lab = daemonlab.Lab(topology(hosts=hosts, segments=segments), tmp_path, NO_CONTROL_SOCKET)
        labs.append(lab)
        return lab

    try:
        yield make
    finally:
        for lab in labs:
            lab.shutdown()
