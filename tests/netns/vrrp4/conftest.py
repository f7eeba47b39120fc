"""Fixture ``v4lab``: a factory of :class:`V4Lab` over the ``topology`` fixture."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

_spec = importlib.util.spec_from_file_location("v4lab", Path(__file__).with_name("v4lab.py"))
assert _spec is not None and _spec.loader is not None
v4lab_mod = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("v4lab", v4lab_mod)
_spec.loader.exec_module(v4lab_mod)


@pytest.fixture
def v4lab(topology: Callable[..., Any], tmp_path: Path) -> Iterator[Callable[..., Any]]:
    labs: list[Any] = []

    def make(hosts: int = 2, segments: int = 1) -> Any:
        lab = v4lab_mod.V4Lab(topology(hosts=hosts, segments=segments), tmp_path)
        labs.append(lab)
        return lab

    try:
        yield make
    finally:
        for lab in labs:
            lab.kill_all()
            for host in lab.nodes:
                print(f"----- {host} log -----\n{lab.log(host)}")
