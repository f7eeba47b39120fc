"""``virtual_rules`` lines -> pyroute2 rule requests (pure)."""

from __future__ import annotations

import socket
from ipaddress import IPv4Interface

import pytest

from pykeepalived.config.model.net import RuleAction, RuleSpec
from pykeepalived.net.routes import rule_request

pytestmark = pytest.mark.unit


def test_optional_selectors_are_passed_only_when_set() -> None:
    bare = rule_request(RuleSpec(from_addr=IPv4Interface("192.0.2.0/24"), table=100))
    assert bare == {
        "family": socket.AF_INET,
        "action": int(RuleAction.TO_TBL),
        "table": 100,
        "src": "192.0.2.0",
        "src_len": 24,
    }
    full = rule_request(
        RuleSpec(
            table=100,
            fwmark=7,
            fwmask=0xFF,
            iif="eth0",
            oif="eth1",
            suppress_prefixlen=0,
            suppress_group=3,
            protocol=4,
            ip_proto=6,
            sport=(1000, 2000),
        )
    )
    assert {k: full[k] for k in full if k not in bare or k == "table"} == {
        "table": 100,
        "fwmark": 7,
        "fwmask": 0xFF,
        "iifname": "eth0",
        "oifname": "eth1",
        "suppress_prefixlen": 0,
        "suppress_ifgroup": 3,
        "protocol": 4,
        "ip_proto": 6,
        "sport_range": {"start": 1000, "end": 2000},
    }
