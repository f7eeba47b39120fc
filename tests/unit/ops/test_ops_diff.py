"""config.diff: instances matched as keepalived matches them across a reload, VS/RS diffs."""

from __future__ import annotations

import pytest

from pykeepalived.config.diff import Action, diff_configs, format_diff
from pykeepalived.config.loader import load_text
from pykeepalived.config.model import Config

pytestmark = pytest.mark.unit


def instance(
    name: str, vrid: int = 51, prio: int = 100, iface: str = "eth0", extra: str = ""
) -> str:
    return (
        f"vrrp_instance {name} {{\n interface {iface}\n virtual_router_id {vrid}\n"
        f" priority {prio}\n virtual_ipaddress {{ 192.0.2.{vrid}/24 }}\n{extra}}}\n"
    )


def vs(rs: str, *, quorum: int = 1) -> str:
    return (
        f"virtual_server 192.0.2.1 80 {{\n protocol TCP\n lb_kind NAT\n quorum {quorum}\n{rs}}}\n"
    )


def rs(addr: str, weight: int = 1) -> str:
    return f" real_server {addr} 80 {{\n  weight {weight}\n  TCP_CHECK {{ }}\n }}\n"


def cfg(text: str) -> Config:
    result = load_text(text)
    assert result.runnable, [d.format() for d in result.diagnostics]
    return result.config


def test_identical_configs_have_no_changes() -> None:
    text = instance("VI_1") + vs(rs("10.0.0.1"))
    diff = diff_configs(cfg(text), cfg(text))
    assert diff.empty
    assert format_diff(diff) == ["no changes"]


def test_renamed_instance_is_matched_by_vrid_and_interface() -> None:
    diff = diff_configs(cfg(instance("VI_1")), cfg(instance("VI_NEW")))
    assert [(c.name, c.action, c.old_name, c.fields) for c in diff.vrrp] == [
        ("VI_NEW", Action.CHANGED, "VI_1", ())
    ]
    assert format_diff(diff) == ["~ vrrp_instance VI_NEW (was VI_1)"]


def test_changed_priority_lists_the_field() -> None:
    diff = diff_configs(cfg(instance("VI_1")), cfg(instance("VI_1", prio=120)))
    (change,) = diff.vrrp
    assert change.action is Action.CHANGED
    assert change.fields == ("priority",)


def test_new_vrid_is_a_removal_and_an_addition() -> None:
    diff = diff_configs(cfg(instance("VI_1", vrid=51)), cfg(instance("VI_1", vrid=52)))
    assert [(c.name, c.action) for c in diff.vrrp] == [
        ("VI_1", Action.ADDED),
        ("VI_1", Action.REMOVED),
    ]


def test_unicast_and_interface_are_part_of_the_identity() -> None:
    old = cfg(instance("VI_1"))
    uni = cfg(instance("VI_1", extra=" unicast_peer { 192.0.2.99 }\n"))
    other_if = cfg(instance("VI_1", iface="eth1"))
    for new in (uni, other_if):
        assert {c.action for c in diff_configs(old, new).vrrp} == {Action.ADDED, Action.REMOVED}


def test_real_servers_added_removed_changed() -> None:
    old = cfg(vs(rs("10.0.0.1") + rs("10.0.0.2")))
    new = cfg(vs(rs("10.0.0.1", weight=5) + rs("10.0.0.3"), quorum=2))
    (change,) = diff.lvs if (diff := diff_configs(old, new)).lvs else ((),)
    assert change.kind == "virtual_server"
    assert change.name == "[192.0.2.1]:tcp:80"
    assert "quorum" in change.fields
    assert [(c.name, c.action) for c in change.children] == [
        ("[10.0.0.1]:tcp:80", Action.CHANGED),
        ("[10.0.0.3]:tcp:80", Action.ADDED),
        ("[10.0.0.2]:tcp:80", Action.REMOVED),
    ]
    assert change.children[0].fields == ("weight",)
    lines = format_diff(diff)
    assert "    + real_server [10.0.0.3]:tcp:80" in lines
    assert "    - real_server [10.0.0.2]:tcp:80" in lines


def test_virtual_server_added_and_global_change() -> None:
    old = cfg("global_defs { router_id A }\n")
    new = cfg("global_defs { router_id B }\n" + vs(rs("10.0.0.1")))
    diff = diff_configs(old, new)
    assert diff.global_fields == ("router_id",)
    assert [(c.name, c.action) for c in diff.lvs] == [("[192.0.2.1]:tcp:80", Action.ADDED)]
    data = diff.to_json()
    assert data["global_defs"] == ["router_id"]
    assert data["lvs"][0]["action"] == "added"
