"""The lab's pure parts: config preparation, answer parsing, counting and settling."""

from __future__ import annotations

import ipaddress
import json

import pytest

from pykeepalived.config.loader import load_file, load_text
from pykeepalived.config.model.lvs import LbKind
from pykeepalived.config.model.vrrp import VrrpState
from pykeepalived.lab import demo, labconfig, probe, traffic, web

pytestmark = pytest.mark.unit


def _seed_plan() -> labconfig.LabPlan:
    return labconfig.lab_plan(load_file(demo.SEED_CONFIG, config_id="lab").config)


def test_seed_config_moves_to_the_documentation_range_as_nat() -> None:
    plan = _seed_plan()
    dir1, dir2 = plan.configs["dir1"], plan.configs["dir2"]
    inst1, inst2 = dir1.vrrp.instances[0], dir2.vrrp.instances[0]
    assert plan.vip == ipaddress.IPv4Address("192.0.2.222")
    assert (inst1.state, inst1.priority) == (VrrpState.MASTER, 100)
    assert (inst2.state, inst2.priority) == (VrrpState.BACKUP, 90)
    vs = dir1.lvs.virtual_servers[0]
    assert [str(rs.address) for rs in vs.real_servers] == ["192.0.2.225", "192.0.2.226"]
    assert vs.forwarding is not None and vs.forwarding.method is LbKind.NAT
    assert all(rs.forwarding.method is LbKind.NAT for rs in vs.real_servers)
    assert plan.notes == (
        "virtual_server 192.0.2.222 80 (seed.conf:30): lb_kind DR -> NAT "
        "(the nftables data plane forwards by NAT only)",
    )


def test_seed_plan_hosts_and_checker_timing() -> None:
    plan = _seed_plan()
    assert [(h.name, h.host_id) for h in plan.hosts] == [
        ("dir1", 1),
        ("dir2", 2),
        ("client", 100),
        ("web1", 225),
        ("web2", 226),
    ]
    web1 = plan.webs[0]
    # TCP_CHECK has no nb_get_retry (keepalived agrees): retry is TCP_CHECK's default 1
    assert (web1.port, web1.weight, web1.retry) == (80, 10, 1)
    assert (web1.detect_min_s, web1.detect_max_s, web1.recover_max_s) == (3.0, 9.0, 6.0)
    old, new = set(plan.client_sources), set(plan.fresh_sources)
    assert len(old) == len(new) == 40 and not old & new
    assert plan.vip not in old | new
    assert plan.director_of("192.0.2.2") == "dir2" and plan.director_of("192.0.2.225") is None


def test_nat_config_needs_no_change_and_vrrp_only_config_has_no_webs() -> None:
    conf = """vrrp_instance V { interface eth0
      virtual_router_id 7
      priority 150
      virtual_ipaddress { 192.0.2.50 } }
    """
    plan = labconfig.lab_plan(load_text(conf).config)
    assert plan.webs == () and plan.notes == () and plan.virtual_server is None
    assert plan.backup.priority == 140


def test_config_without_vrrp_is_refused() -> None:
    with pytest.raises(labconfig.LabConfigError):
        labconfig.lab_plan(load_text("global_defs { router_id x }\n").config)


def test_web_answer_parses_back() -> None:
    assert probe.parse_answer(web.response("web2", "192.0.2.1")) == ("web2", "192.0.2.1")
    assert probe.parse_answer(b"HTTP/1.0 503 Busy\r\n\r\nweb1\n") is None
    assert probe.parse_answer(b"garbage") is None
    assert probe.parse_answer(b"HTTP/1.0 200 OK\r\n\r\n\n") is None


def test_split_counts_per_server_and_finds_homes() -> None:
    result = traffic.split(
        {
            "a": {"web1": 5},
            "b": {"web2": 4, "error:refused": 1},
            "c": {"web1": 2, "web2": 3},
        }
    )
    assert result.totals == {"web1": 7, "web2": 7, "error:refused": 1}
    assert (result.answered, result.failed) == (14, 1)
    assert result.home == {"a": "web1", "b": "web2", "c": "web2"}
    assert result.mixed == ("c",)
    assert result.sources_of("web1") == ["a"]
    lines = traffic.format_split(result, {"web1": 10, "web2": 30})
    assert lines[0].split()[:2] == ["web1", "7"] and "(25.0 %)" in lines[0]
    assert "(75.0 %)" in lines[1] and lines[2].startswith("error:refused")


def _attempt(t: float, src: str, server: str | None, via: str | None = None) -> traffic.Attempt:
    return traffic.Attempt(t, src, server, via, None if server else "refused")


def test_settled_needs_an_unbroken_run_to_the_end() -> None:
    seq = [
        _attempt(1.0, "a", "web1"),
        _attempt(2.0, "a", None),
        _attempt(3.0, "b", "web2"),
        _attempt(4.0, "a", None),
        _attempt(5.0, "a", "web2"),
        _attempt(6.0, "b", "web2"),
    ]

    def on_web2(a: traffic.Attempt) -> bool:
        return a.server == "web2"

    assert traffic.settled_at(seq, 1.5, on_web2, confirm=2) == 5.0
    assert traffic.settled_at(seq, 1.5, on_web2, confirm=3) is None
    assert traffic.first_at(seq, 1.5, on_web2) == 3.0
    assert traffic.first_done(seq, 1.5, on_web2) == 3.0  # no end time: the start
    late = [traffic.Attempt(2.0, "a", "web2", None, None, done=2.75)]
    assert traffic.first_done(late, 1.0, on_web2) == 2.75
    assert traffic.outcomes(seq, 1.5, 5.0) == {"error:refused": 2, "web2": 1}


def test_server_changes_compares_last_before_with_first_after() -> None:
    seq = [
        _attempt(1.0, "a", "web1"),
        _attempt(1.1, "b", "web2"),
        _attempt(1.2, "c", "web2"),
        _attempt(2.5, "a", "web2"),
        _attempt(3.0, "a", "web1"),
        _attempt(3.1, "b", "web2"),
        _attempt(3.2, "d", "web1"),
    ]
    assert traffic.server_changes(seq, 2.0, 2.5) == (1, 2)


def test_watch_lines_round_trip() -> None:
    line = json.dumps(
        {"t": 12.5, "done": 12.6, "src": "a", "server": "web1", "via": "192.0.2.1", "error": None}
    )
    want = traffic.Attempt(12.5, "a", "web1", "192.0.2.1", None, 12.6)
    assert traffic.parse_watch_line(line) == want
    assert traffic.parse_watch_line("not json") is None
    assert traffic.parse_watch_line('{"src": "a"}') is None


def test_service_chains_of_an_nft_listing() -> None:
    listing = """table inet pykeepalived {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ct status dnat ct original ip daddr @vip4 masquerade
	}

	chain s1 {
		ip saddr @s1p2 goto s1d2
		numgen random mod 1 vmap { 0 : goto s1d2 }
	}

	chain s1d2 {
		update @s1p2 { ip saddr timeout 50s }
		meta l4proto tcp dnat ip to 192.0.2.226:80
	}
}
"""
    assert demo.service_chains(listing) == [
        ("s1", ["ip saddr @s1p2 goto s1d2", "numgen random mod 1 vmap { 0 : goto s1d2 }"]),
        (
            "s1d2",
            ["update @s1p2 { ip saddr timeout 50s }", "meta l4proto tcp dnat ip to 192.0.2.226:80"],
        ),
    ]
