"""The desired LVS state built from a config and the real servers' health."""

from __future__ import annotations

import ipaddress

import pytest

from pykeepalived.config.loader import load_text
from pykeepalived.config.model.lvs import AddressFamily, LbKind, LvsConfig, Protocol, ServiceFlag
from pykeepalived.lvs.model import (
    DestId,
    HealthView,
    LvsState,
    RsHealth,
    ServiceId,
    desired_state,
)

pytestmark = pytest.mark.unit

CONF = """
virtual_server_group G1 {
  192.0.2.10-12 80
  fwmark 7
}
virtual_server 192.0.2.100 80 {
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  persistence_timeout 300
  persistence_granularity 255.255.255.0
  real_server 198.51.100.11 8080 {
    weight 3
  }
  real_server 198.51.100.12 8080 {
    weight 1
    inhibit_on_failure
  }
  real_server 198.51.100.13 {
    weight 2
    uthreshold 100
    lthreshold 10
  }
}
virtual_server group G1 {
  lb_algo sh
  sh-port
  lb_kind DR
  protocol UDP
  quorum 3
  sorry_server 198.51.100.99 80
  real_server 198.51.100.21 80 {
    weight 2
  }
  real_server 198.51.100.22 80 {
    weight 2
  }
}
virtual_server fwmark 9 {
  lb_algo mh
  lb_kind TUN
  ip_family inet6
  real_server 2001:db8::5 {
    weight 1
  }
}
"""

IP = ipaddress.ip_address
VS1 = ServiceId.for_address(IP("192.0.2.100"), 80, Protocol.TCP)


def _config(text: str = CONF) -> LvsConfig:
    result = load_text(text, filename="lvs.conf")
    assert result.runnable, [d.format() for d in result.diagnostics.items]
    return result.config.lvs


def _weights(state: LvsState, sid: ServiceId) -> dict[str, int]:
    return {str(d.id): d.weight for d in state.service_map()[sid].dests}


def test_all_alive_gives_every_service_and_destination() -> None:
    state = desired_state(_config())
    ids = [str(s.id) for s in state]
    assert ids == [
        "TCP [192.0.2.100]:80",
        "UDP [192.0.2.10]:80",
        "UDP [192.0.2.11]:80",
        "UDP [192.0.2.12]:80",
        "FWM 7",
        "FWM 9 IPv6",
    ]
    svc = state.service_map()[VS1]
    assert svc.attrs.scheduler == "wrr"
    assert svc.attrs.timeout_s == 300
    assert svc.attrs.flags & ServiceFlag.PERSISTENT
    assert svc.attrs.netmask == int(IP("255.255.255.0"))
    assert svc.location.file == "lvs.conf"
    assert svc.location.line == 6
    assert _weights(state, VS1) == {
        "[198.51.100.11]:8080": 3,
        "[198.51.100.12]:8080": 1,
        "[198.51.100.13]:80": 2,  # NAT real server without a port takes the VS port
    }
    d13 = svc.dest_map()[DestId(IP("198.51.100.13"), 80)]
    assert (d13.u_threshold, d13.l_threshold) == (100, 10)
    fwm7 = state.service_map()[ServiceId.for_fwmark(7)]
    assert fwm7.attrs.scheduler == "sh"
    assert fwm7.attrs.flags == int(ServiceFlag.SH_PORT)
    assert {d.id.port for d in fwm7.dests} == {0}
    assert {d.forwarding.method for d in fwm7.dests} == {LbKind.DR}
    fwm9 = state.service_map()[ServiceId.for_fwmark(9, AddressFamily.INET6)]
    assert fwm9.attrs.netmask == 128
    assert fwm9.dests[0].forwarding.method is LbKind.TUN


def test_dead_server_is_removed_and_inhibited_one_gets_weight_zero() -> None:
    key = "[192.0.2.100]:tcp:80"
    health = HealthView(
        {
            (key, IP("198.51.100.11"), 8080): RsHealth(alive=False),
            (key, IP("198.51.100.12"), 8080): RsHealth(alive=False),
            (key, IP("198.51.100.13"), 80): RsHealth(alive=True, weight=7),
        }
    )
    state = desired_state(_config(), health)
    assert _weights(state, VS1) == {"[198.51.100.12]:8080": 0, "[198.51.100.13]:80": 7}


def test_lost_quorum_brings_in_the_sorry_server_on_every_group_member() -> None:
    key = "G1"
    health = HealthView({(key, IP("198.51.100.21"), 80): RsHealth(alive=False)})
    state = desired_state(_config(), health)  # live weight 2 < quorum 3
    for sid in (
        ServiceId.for_address(IP("192.0.2.11"), 80, Protocol.UDP),
        ServiceId.for_fwmark(7),
    ):
        svc = state.service_map()[sid]
        assert [str(d.id.address) for d in svc.dests] == ["198.51.100.99"]
        assert svc.dests[0].weight == 1
    # the checker runtime's quorum state (hysteresis) wins over the computed one
    state = desired_state(_config(), HealthView(health.real_servers, {key: True}))
    fwm7 = state.service_map()[ServiceId.for_fwmark(7)]
    assert [str(d.id.address) for d in fwm7.dests] == ["198.51.100.22"]


def test_alpha_servers_start_down() -> None:
    text = """
virtual_server 192.0.2.1 80 {
  protocol TCP
  lb_algo rr
  alpha
  real_server 198.51.100.1 80 {
    weight 1
  }
}
"""
    state = desired_state(_config(text))
    assert state.services[0].dests == ()
    up = HealthView({("[192.0.2.1]:tcp:80", IP("198.51.100.1"), 80): RsHealth(alive=True)})
    assert len(desired_state(_config(text), up).services[0].dests) == 1


def test_ipv6_service_and_default_protocol_is_udp() -> None:
    text = """
virtual_server 2001:db8::100 53 {
  lb_algo rr
  persistence_timeout
  persistence_granularity 64
  real_server 2001:db8::1 53 {
  }
}
"""
    state = desired_state(_config(text))
    svc = state.services[0]
    assert svc.id.family is AddressFamily.INET6
    assert svc.id.protocol == Protocol.UDP
    assert svc.attrs.timeout_s == 360
    assert svc.attrs.netmask == 64
    assert svc.dests[0].weight == 1
