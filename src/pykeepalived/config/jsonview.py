"""The model as plain JSON-able data, for `dump-config --json`, the status API and diffs.

Secrets (``auth_pass``, SSL ``password``) are masked as keepalived masks them in its JSON dump.
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
from typing import Any

from pykeepalived.config.errors import Location
from pykeepalived.config.model.common import map_values

SECRET_FIELDS = frozenset({"auth_pass", "password"})
MASK = "********"


def to_jsonable(obj: Any, *, show_secrets: bool = False, locations: bool = False) -> Any:
    """Dataclasses become dicts (field order kept), enums their names, addresses strings."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if isinstance(value, Location) or (f.name == "location" and value is None):
                if locations and value is not None:
                    out[f.name] = str(value)
                continue
            if not f.compare and not locations:
                continue
            if f.name in SECRET_FIELDS and value and not show_secrets:
                out[f.name] = MASK
                continue
            out[f.name] = to_jsonable(value, show_secrets=show_secrets, locations=locations)
        return out
    if isinstance(obj, enum.Enum):
        return obj.name
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if isinstance(
        obj,
        (
            ipaddress.IPv4Address,
            ipaddress.IPv6Address,
            ipaddress.IPv4Interface,
            ipaddress.IPv6Interface,
            ipaddress.IPv4Network,
            ipaddress.IPv6Network,
        ),
    ):
        return str(obj)
    if isinstance(obj, dict):
        return {
            str(k): to_jsonable(v, show_secrets=show_secrets, locations=locations)
            for k, v in obj.items()
        }
    if isinstance(obj, (list, tuple, frozenset, set)):
        items = [to_jsonable(v, show_secrets=show_secrets, locations=locations) for v in obj]
        return sorted(items, key=repr) if isinstance(obj, (set, frozenset)) else items
    return str(obj)


def mask_secrets(obj: Any) -> Any:
    """A copy of a model object with every secret field replaced by the mask."""

    def leaf(name: str | None, value: Any) -> Any:
        return MASK if name in SECRET_FIELDS and isinstance(value, str) and value else value

    return map_values(obj, leaf)
