"""Config model -> InstancePlan: machine config, codec expectations, sockets, addresses."""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface
from types import SimpleNamespace

import pytest

from pykeepalived.config.model.common import Script
from pykeepalived.config.model.net import IpAddressSpec
from pykeepalived.config.model.vrrp import (
    AuthType as ModelAuthType,
)
from pykeepalived.config.model.vrrp import (
    TrackedInterface,
    UnicastChecksumCompat,
    UnicastPeer,
    VrrpInstance,
    VrrpState,
)
from pykeepalived.vrrp.auth import AuthType, auth_data_from_password
from pykeepalived.vrrp.fsm import State
from pykeepalived.vrrp.mapping import (
    GlobalSettings,
    advert_len,
    global_settings,
    instance_identity,
    plan_instance,
    rx_buf_size,
)
from pykeepalived.vrrp.packet import ChecksumCompat, Family, VrrpVersion

pytestmark = pytest.mark.unit


def _vip(text: str, **kw: object) -> IpAddressSpec:
    iface = IPv6Interface(text) if ":" in text else IPv4Interface(text)
    return IpAddressSpec(address=iface, **kw)  # type: ignore[arg-type]


def _inst(**kw: object) -> VrrpInstance:
    base: dict[str, object] = {
        "name": "VI_1",
        "virtual_router_id": 51,
        "interface": "eth0",
        "virtual_ipaddresses": (_vip("192.0.2.100/24"),),
    }
    base.update(kw)
    return VrrpInstance(**base)  # type: ignore[arg-type]


def test_v2_pass_multicast_defaults() -> None:
    plan = plan_instance(_inst(priority=150, auth_type=ModelAuthType.PASS, auth_pass="secret12345"))
    assert plan.family is Family.IPV4 and plan.version is VrrpVersion.V2
    assert plan.auth_type is AuthType.PASS
    assert plan.auth_data == auth_data_from_password("secret12")
    assert plan.expectations.auth_data == plan.auth_data
    assert plan.mcast_group == IPv4Address("224.0.0.18")
    assert not plan.unicast and plan.ttl == 255
    m = plan.machine
    assert (m.vrid, m.priority, m.adver_int_cs, m.version) == (51, 150, 100, 2)
    assert m.family == socket.AF_INET and m.initial_state is State.BACKUP and m.name == "VI_1"
    assert plan.advert_addresses == (IPv4Address("192.0.2.100"),)
    assert [str(v.address) for v in plan.vips] == ["192.0.2.100/24"]
    assert plan.vips[0].dev == "eth0"
    key = plan.socket_key("eth0")
    assert key.bind_address == IPv4Address("224.0.0.18") and key.proto == 112
    assert not key.unicast


def test_ah_uses_protocol_51_and_v3_drops_auth() -> None:
    ah = plan_instance(_inst(auth_type=ModelAuthType.AH, auth_pass="k"))
    assert ah.proto == 51 and ah.socket_key("eth0").proto == 51
    v3 = plan_instance(_inst(version=3, auth_type=ModelAuthType.PASS, auth_pass="x"))
    assert v3.auth_type is AuthType.NONE and v3.proto == 112
    assert v3.expectations.auth_type is AuthType.NONE


def test_unicast_peers_source_ttl_and_checks() -> None:
    plan = plan_instance(
        _inst(
            version=3,
            src_ip=IPv4Address("192.0.2.1"),
            unicast_peers=(
                UnicastPeer(IPv4Address("192.0.2.2")),
                UnicastPeer(IPv4Address("192.0.2.3"), min_ttl=10),
            ),
            unicast_ttl=64,
            unicast_checksum_compat=UnicastChecksumCompat.NEVER,
        )
    )
    assert plan.unicast and plan.ttl == 64
    assert plan.unicast_peers == (IPv4Address("192.0.2.2"), IPv4Address("192.0.2.3"))
    assert plan.machine.unicast and plan.machine.source_address == IPv4Address("192.0.2.1")
    assert plan.expectations.check_unicast_src  # min_ttl turns it on
    assert plan.expectations.unicast_checksum_compat is ChecksumCompat.NEVER
    key = plan.socket_key("eth0")
    assert key.unicast and key.bind_address == IPv4Address("192.0.2.1")


def test_unicast_without_source_cannot_have_a_socket() -> None:
    plan = plan_instance(_inst(unicast_peers=(UnicastPeer(IPv4Address("192.0.2.2")),)))
    with pytest.raises(ValueError):
        plan.socket_key("eth0")


def test_ipv6_instance_other_family_vips_become_evips() -> None:
    plan = plan_instance(
        _inst(
            family=6,
            version=3,
            virtual_ipaddresses=(_vip("fe80::100/64"), _vip("2001:db8::100"), _vip("192.0.2.9")),
            excluded_ipaddresses=(_vip("2001:db8::200/64", dev="eth1"),),
        )
    )
    assert plan.family is Family.IPV6
    assert plan.mcast_group == IPv6Address("ff02::12")
    assert plan.advert_addresses == (IPv6Address("fe80::100"), IPv6Address("2001:db8::100"))
    assert [str(v.address) for v in plan.evips] == ["192.0.2.9/32", "2001:db8::200/64"]
    assert plan.evips[1].dev == "eth1"
    assert plan.machine.family == socket.AF_INET6


def test_nopreempt_kept_for_backup_cleared_for_master_or_owner() -> None:
    assert plan_instance(_inst(nopreempt=True)).machine.nopreempt
    assert not plan_instance(_inst(nopreempt=True, state=VrrpState.MASTER)).machine.nopreempt
    assert not plan_instance(_inst(nopreempt=True, priority=255)).machine.nopreempt
    assert plan_instance(_inst(state=VrrpState.MASTER)).machine.initial_state is State.MASTER


def test_garp_timers_and_tracking_copied() -> None:
    plan = plan_instance(
        _inst(
            garp_master_delay_s=0,
            garp_master_repeat=2,
            garp_master_refresh_s=30,
            dont_track_primary=True,
            track_interfaces=(TrackedInterface("eth1"), TrackedInterface("eth2", weight=10)),
            preempt_delay_s=4.0,
            down_timer_adverts=5,
        )
    )
    m = plan.machine
    assert (m.garp_master_delay_s, m.garp_master_repeat, m.garp_master_refresh_s) == (0, 2, 30)
    assert m.preempt_delay_s == 4.0 and m.down_timer_adverts == 5
    assert plan.dont_track_primary
    assert plan.track_interfaces == ("eth1",)  # weighted ones change priority, no fault


def test_notify_scripts_become_specs() -> None:
    plan = plan_instance(
        _inst(
            notify_master=Script(("/bin/true", "m")),
            notify=Script(("/bin/echo",)),
            notify_stop=Script(("/bin/true",), user="root"),
        )
    )
    assert plan.notify.master is not None and plan.notify.master.argv == ("/bin/true", "m")
    assert plan.notify.for_state(State.MASTER) == plan.notify.master
    assert plan.notify.generic is not None and plan.notify.generic.argv == ("/bin/echo",)
    assert plan.notify.stop is not None and plan.notify.stop.uid == 0
    assert plan.notify.backup is None and plan.notify.for_state(State.BACKUP) is None


def test_unknown_script_user_drops_the_script() -> None:
    plan = plan_instance(_inst(notify_master=Script(("/bin/true",), user="no-such-user-xyz")))
    assert plan.notify.master is None


def test_identity_ignores_name_and_priority_but_not_interface_or_mode() -> None:
    settings = GlobalSettings()
    a = instance_identity(_inst(), settings)
    assert a == instance_identity(_inst(name="OTHER", priority=20), settings)
    assert a != instance_identity(_inst(interface="eth1"), settings)
    assert a != instance_identity(_inst(virtual_router_id=52), settings)
    uni = _inst(
        src_ip=IPv4Address("192.0.2.1"), unicast_peers=(UnicastPeer(IPv4Address("192.0.2.2")),)
    )
    assert a != instance_identity(uni, settings)
    assert plan_instance(_inst()) == plan_instance(_inst())


def test_global_settings_read_from_model_like_objects() -> None:
    gd = SimpleNamespace(
        vrrp_mcast_group4=IPv4Address("224.0.0.100"),
        vrrp_garp_interval=0.5,
        log_unknown_vrids=True,
        vrrp_notify_fifo="/run/vrrp.fifo",
        script_user="root",
    )
    s = global_settings(gd)
    assert s.mcast_group4 == IPv4Address("224.0.0.100")
    assert s.mcast_group6 == IPv6Address("ff02::12")
    assert s.garp_interval_s == 0.5 and s.gna_interval_s == 0.0
    assert s.log_unknown_vrids and s.vrrp_notify_fifo == "/run/vrrp.fifo"
    assert s.script_user == "root" and s.notify_fifo is None
    plan = plan_instance(_inst(), s)
    assert plan.mcast_group == IPv4Address("224.0.0.100")
    assert plan.expectations.mcast_group4 == IPv4Address("224.0.0.100")
    assert global_settings(object()) == GlobalSettings()


def test_receive_buffer_is_the_sum_of_each_instances_share_as_keepalived_sizes_it() -> None:
    v2 = plan_instance(_inst())  # v2 IPv4, one VIP: 8 + 4 + 8 bytes of auth data
    v3 = plan_instance(_inst(name="VI_2", virtual_router_id=52, version=3))  # 8 + 4
    own = plan_instance(_inst(name="VI_3", virtual_router_id=53, kernel_rx_buf_size=5000))
    assert (advert_len(v2), advert_len(v3)) == (20, 12)
    mtu = {"eth0": 1500}.__getitem__
    assert rx_buf_size([v2, v3], GlobalSettings(), mtu) == 0  # system default
    advert = GlobalSettings(rx_bufs_policy="ADVERT", rx_bufs_multiplier=4)
    assert rx_buf_size([v2, v3], advert, mtu) == 4 * 20 + 4 * 12
    assert rx_buf_size([v2, own], GlobalSettings(rx_bufs_policy="MTU"), mtu) == 3 * 1500 + 5000
    assert rx_buf_size([v2, v3, own], GlobalSettings(rx_bufs_size=100_000), mtu) == 205_000
    gd = SimpleNamespace(vrrp_rx_bufs_policy="MTU", vrrp_rx_bufs_multiplier=10)
    assert global_settings(gd).rx_bufs_policy == "MTU"
    assert global_settings(gd).rx_bufs_multiplier == 10


def test_vips_go_on_a_vmac_but_stay_on_the_parent_with_ipvlan() -> None:
    vmac = plan_instance(_inst(use_vmac=True))
    assert vmac.vmac is not None and vmac.vmac.kind == "macvlan"
    assert [v.dev for v in vmac.vips] == [vmac.vmac.name]
    ipvlan = plan_instance(_inst(use_ipvlan=True, ipvlan_address=IPv4Interface("192.0.2.51/24")))
    assert ipvlan.vmac is not None and ipvlan.vmac.kind == "ipvlan"
    assert [v.dev for v in ipvlan.vips] == ["eth0"]  # as keepalived 2.2.7: on the parent
