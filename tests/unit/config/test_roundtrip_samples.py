"""parse(render(model)) == model for every sample config, the seed and the oracle cases.

The rendered text is also stable: rendering the re-read model gives the same text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pykeepalived.config.jsonview import MASK, SECRET_FIELDS, mask_secrets, to_jsonable
from pykeepalived.config.loader import load_file, load_text, render_config

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
SAMPLES = ROOT.parent / "shared" / "keepalived-samples"
CONFIGS = [
    *sorted(SAMPLES.glob("keepalived.conf.*")),
    SAMPLES / "etc_keepalived" / "keepalived.conf",
    SAMPLES / "docker" / "keepalived.conf",
    ROOT / "src" / "pykeepalived" / "lab" / "seed.conf",
    *sorted((ROOT / "tests" / "interop" / "oracle_cases").glob("*.conf")),
]


@pytest.mark.parametrize("path", [p for p in CONFIGS if p.is_file()], ids=lambda p: p.name)
def test_render_then_parse_gives_the_same_model(path: Path) -> None:
    first = load_file(path, config_id="oracle")
    text = render_config(first.config)
    second = load_text(text, filename="rendered.conf", config_id="oracle")
    assert second.config == first.config, text
    assert render_config(second.config) == text
    # the canonical text itself is clean: nothing to warn about beyond what the
    # original config already lost
    worse = [
        d
        for d in second.diagnostics
        if d.severity > max((x.severity for x in first.diagnostics), default=0)
    ]
    assert not worse, [d.format() for d in worse]


def _secret_values(data: Any) -> list[Any]:
    if isinstance(data, dict):
        found = [v for k, v in data.items() if k in SECRET_FIELDS]
        return found + [x for v in data.values() for x in _secret_values(v)]
    if isinstance(data, list):
        return [x for v in data for x in _secret_values(v)]
    return []


@pytest.mark.parametrize("path", [p for p in CONFIGS if p.is_file()], ids=lambda p: p.name)
def test_json_view_is_serialisable_and_masks_secrets(path: Path) -> None:
    config = load_file(path, config_id="oracle").config
    data = to_jsonable(config)
    json.dumps(data)
    assert all(v in ("", None, MASK) for v in _secret_values(data))
    masked = render_config(mask_secrets(config))
    for instance in config.vrrp.instances:
        if instance.auth_pass:
            assert f"auth_pass {instance.auth_pass}" not in masked
            assert f"auth_pass {MASK}" in masked
