"""Shared helpers for the test_vrrp_* modules: load a config text and list its messages the way
``keepalived -t`` prints them (``(FILE: Line N) message``, column dropped)."""

from __future__ import annotations

from collections.abc import Iterable

from pykeepalived.config.errors import Severity
from pykeepalived.config.keywords import vrrp
from pykeepalived.config.loader import LoadResult, load_text
from pykeepalived.config.model.vrrp import VrrpConfig, VrrpInstance

FILENAME = "t.conf"


def load(text: str, interfaces: Iterable[str] | None = None) -> LoadResult:
    """Read ``text``; with ``interfaces``, only those exist (keepalived -t on such a machine)."""
    names = None if interfaces is None else frozenset(interfaces)
    exists = None if names is None else names.__contains__
    return load_text(text, filename=FILENAME, interface_exists=exists)


def messages(result: LoadResult) -> list[str]:
    """Printed messages (keepalived -t does not print its LOG_INFO lines), oracle format."""
    out = []
    for d in result.diagnostics:
        if d.severity == Severity.INFO:
            continue
        if d.location is None:
            out.append(d.message)
        else:
            out.append(f"({d.location.file}: Line {d.location.line}) {d.message}")
    return out


def instance(result: LoadResult, name: str = "VI_1") -> VrrpInstance:
    inst = result.config.vrrp.instance(name)
    assert inst is not None, f"no instance {name}: {messages(result)}"
    return inst


def vrrp_instance(body: str, name: str = "VI_1", vrid: int | None = 51) -> str:
    """A vrrp_instance block with ``interface eth0``, a VRID and one VIP unless ``body`` has
    its own (``body`` lines are indented by the caller or not: indentation is free)."""
    lines = [f"vrrp_instance {name} {{", "    interface eth0"]
    if vrid is not None:
        lines.append(f"    virtual_router_id {vrid}")
    lines.append(body)
    if "virtual_ipaddress {" not in body and "native_ipv6" not in body:
        lines += ["    virtual_ipaddress {", "        192.0.2.10/24", "    }"]
    lines.append("}")
    return "\n".join(lines) + "\n"


def round_trip(config: VrrpConfig) -> tuple[VrrpConfig, list[str]]:
    """Render ``config`` and read it back: (model, messages of the second read)."""
    text = "\n".join(vrrp.render(config)) + "\n"
    again = load(text)
    return again.config.vrrp, messages(again)
