"""vrrp_instance: keywords, keepalived 2.2.7's defaults and the fix-ups of
vrrp_complete_instance(). Expected messages were captured from Debian's keepalived 2.2.7
(``keepalived -t -f t.conf -l``, interfaces lo and eth0) and pasted here."""

from __future__ import annotations

import ipaddress

import pytest

from pykeepalived.config.errors import EXIT_CONFIG, EXIT_FATAL, EXIT_OK, Severity
from pykeepalived.config.model.vrrp import (
    AuthType,
    IpvlanMode,
    UnicastChecksumCompat,
    VrrpConfig,
    VrrpState,
)

from .vrrp_helpers import instance, load, messages, vrrp_instance

pytestmark = pytest.mark.unit

ETH0 = ("lo", "eth0")


def test_model_default_is_empty() -> None:
    assert VrrpConfig() == VrrpConfig(instances=(), scripts=())


def test_minimal_instance_defaults() -> None:
    r = load(vrrp_instance(""))
    assert messages(r) == []
    i = instance(r)
    assert i.interface == "eth0"
    assert i.virtual_router_id == 51
    assert i.state is VrrpState.BACKUP
    assert i.priority == 100
    assert i.version == 2
    assert i.family == 4
    assert i.advert_int_cs == 100
    assert i.accept is True
    assert i.strict_mode is False
    assert i.nopreempt is False
    assert i.down_timer_adverts == 3
    assert (i.garp_master_delay_s, i.garp_master_repeat) == (5, 5)
    assert (i.garp_master_refresh_s, i.garp_master_refresh_repeat) == (0, 1)
    assert (i.garp_lower_prio_delay_s, i.garp_lower_prio_repeat) == (5, 5)
    assert i.auth_type is AuthType.NONE
    assert i.smtp_alert is False
    assert [str(a.address) for a in i.virtual_ipaddresses] == ["192.0.2.10/24"]


def test_state_master_without_priority_is_owner() -> None:
    i = instance(load(vrrp_instance("state MASTER")))
    assert (i.state, i.priority) == (VrrpState.MASTER, 255)


def test_state_master_with_priority_keeps_priority() -> None:
    i = instance(load(vrrp_instance("state MASTER\npriority 150")))
    assert (i.state, i.priority) == (VrrpState.MASTER, 150)


def test_priority_255_without_state_is_master() -> None:
    i = instance(load(vrrp_instance("priority 255")))
    assert i.state is VrrpState.MASTER


def test_bad_values_messages_match_keepalived() -> None:
    text = vrrp_instance(
        "  state MASTER\n  virtual_router_id 300\n  priority 256\n", vrid=None
    ) + vrrp_instance("  advert_int 300\n", name="VI_2", vrid=6)
    r = load(text)
    # keepalived 2.2.7: (t_prio.conf), same lines
    assert messages(r) == [
        "(t.conf: Line 4) number '300' outside range [1, 255]",
        "(t.conf: Line 4) (VI_1): VRID '300' not valid - must be between 1 & 255",
        "(t.conf: Line 5) number '256' outside range [1, 255]",
        "(t.conf: Line 5) (VI_1) Priority not valid! must be between 1 & 255. Using default 100",
        "(t.conf: Line 14) number '300' outside range [0.010000, 255.000000]",
        "(t.conf: Line 14) (VI_2) Advert interval (300) not valid! Must be > 0 - ignoring",
        "(VI_1) the virtual router id must be set",
    ]
    assert r.diagnostics.exit_code() == EXIT_CONFIG
    # the instance without VRID cannot run; the other one is still resolved
    assert r.config.vrrp.instance("VI_1") is None
    assert instance(r, "VI_2").advert_int_cs == 100


MISC_TEXT = """\
vrrp_instance VI_1 {
  interface eth0
  state FOO
  virtual_router_id 5
  version 3
  advert_int 0.015
  preempt_delay 2000
  garp_master_delay -1
  garp_master_repeat 0
  garp_master_refresh x
  garp_lower_prio_repeat -2
  down_timer_adverts 101
  unicast_ttl 300
  debug 5
  kernel_rx_buf_size x
  skip_check_adv_addr maybe
  smtp_alert maybe
  mcast_dst_ip 192.0.2.1
  mcast_src_ip 2001:db8::1
  authentication {
    auth_type FOO
    auth_pass 123456789
  }
  unicast_peer {
    192.0.2.2 min_ttl 5 max_ttl 3
    192.0.2.3 foo 1
    192.0.2.4 min_ttl
    2001:db8::5
    bogus
  }
  virtual_ipaddress {
    192.0.2.9
  }
}
"""

# keepalived 2.2.7 -t output for MISC_TEXT (exit 5)
MISC_EXPECTED = [
    "(t.conf: Line 3) (VI_1) unknown state 'FOO', defaulting to BACKUP",
    "(t.conf: Line 7) number '2000' outside range [0.000000, 1000.000000]",
    "(t.conf: Line 7) (VI_1) Preempt_delay not valid! must be between 0-1000",
    "(t.conf: Line 8) negative number '-1'",
    "(t.conf: Line 8) (VI_1): garp_master_delay '-1' invalid - ignoring",
    "(t.conf: Line 9) (VI_1): garp_master_repeat must be greater than 0, setting to 1",
    "(t.conf: Line 10) invalid number 'x'",
    "(t.conf: Line 10) (VI_1): Invalid garp_master_refresh 'x' - ignoring",
    "(t.conf: Line 11) negative number '-2'",
    "(t.conf: Line 11) (VI_1): Invalid garp_lower_prio_repeat '-2'",
    "(t.conf: Line 12) number '101' outside range [1, 100]",
    "(t.conf: Line 12) (VI_1): Invalid down_timer_adverts [1:100] '101'",
    "(t.conf: Line 13) number '300' outside range [0, 255]",
    "(t.conf: Line 13) (VI_1): TTL '300' not valid - must be between 0 & 255",
    "(t.conf: Line 14) number '5' outside range [0, 4]",
    "(t.conf: Line 14) (VI_1) Debug value '5' not valid; must be between 0-4",
    "(t.conf: Line 15) invalid number 'x'",
    "(t.conf: Line 15) (VI_1) invalid kernel_rx_buf_size specified",
    "(t.conf: Line 16) (VI_1) invalid skip_check_adv_addr maybe specified",
    "(t.conf: Line 17) Invalid vrrp_instance smtp_alert parameter maybe",
    "(t.conf: Line 18) (VI_1) mcast_dst_ip 192.0.2.1 not multicast. Skipping...",
    "(t.conf: Line 19) Configuration error: VRRP instance[VI_1] and src address[2001:db8::1]"
    " MUST be of the same family !!! Skipping...",
    "(t.conf: Line 21) (VI_1) unknown authentication type 'FOO'",
    "(t.conf: Line 22) Truncating auth_pass to 8 characters",
    "(t.conf: Line 25) (VI_1) min_ttl 5 > max_ttl 3 - all packets will be discarded",
    "(t.conf: Line 26) (VI_1) unknown unicast_peer option foo",
    "(t.conf: Line 27) (VI_1) min_ttl is missing a value",
    "(t.conf: Line 28) Configuration error: VRRP instance[VI_1] and unicast peer"
    " address[2001:db8::5] MUST be of the same family !!! Skipping...",
    "(t.conf: Line 29) Configuration error: VRRP instance[VI_1] malformed unicast peer"
    " address[bogus]. Skipping...",
    "(VI_1) VRRPv3 advertisement interval 0.015000s must be in units of 10ms - rounding",
]


def test_many_bad_values_in_one_instance() -> None:
    r = load(MISC_TEXT, ETH0)
    assert messages(r) == MISC_EXPECTED
    assert r.diagnostics.exit_code() == EXIT_CONFIG
    i = instance(r)
    assert i.advert_int_cs == 2  # 0.015 s rounded to 0.02 s
    assert i.version == 3
    assert i.garp_master_repeat == 1
    assert i.auth_pass == "12345678"
    assert [str(p.address) for p in i.unicast_peers] == ["192.0.2.2", "192.0.2.3", "192.0.2.4"]
    assert (i.unicast_peers[0].min_ttl, i.unicast_peers[0].max_ttl) == (5, 3)
    assert i.check_unicast_src is True  # min/max_ttl turn it on


def test_advert_int_v2_rounds_to_whole_seconds() -> None:
    r = load(vrrp_instance("advert_int 1.5"))
    # keepalived 2.2.7 (t_strict.conf, VI_2)
    assert messages(r) == [
        "(VI_1) VRRPv2 advertisement interval 1.500000s must be an integer. rounding"
    ]
    assert instance(r).advert_int_cs == 200


def test_advert_int_v3_out_of_range() -> None:
    r = load(vrrp_instance("version 3\nadvert_int 41"))
    assert messages(r) == [
        "(VI_1) VRRPv3 advertisement interval 41.00s is out of range. Must be less than"
        " 40.96s. Setting to 40.95s"
    ]
    assert instance(r).advert_int_cs == 4095


def test_advert_int_v3_centiseconds_kept() -> None:
    i = instance(load(vrrp_instance("version 3\nadvert_int 0.25")))
    assert (i.advert_int_cs, i.advert_int_s) == (25, 0.25)


def test_ipv6_instance_is_version_3() -> None:
    r = load(vrrp_instance("virtual_ipaddress {\n fe80::1\n 2001:db8::1\n}"))
    i = instance(r)
    assert (i.family, i.version) == (6, 3)
    assert messages(r) == []


def test_ipv6_first_vip_not_link_local_is_info_unless_strict() -> None:
    r = load(vrrp_instance("virtual_ipaddress {\n 2001:db8::1\n}"))
    assert messages(r) == []  # keepalived logs it, -t does not print it
    assert any("should be link local" in d.message for d in r.diagnostics)
    r = load(vrrp_instance("strict_mode\nvirtual_ipaddress {\n 2001:db8::1\n}"))
    assert messages(r) == ["(VI_1) the first IPv6 VIP address must be link local"]


def test_version_conflicts_with_ipv6() -> None:
    r = load(vrrp_instance("native_ipv6\nversion 2\nvirtual_ipaddress {\n fe80::1\n}"))
    assert messages(r) == [
        "(t.conf: Line 5) (VI_1) vrrp_version 2 conflicts with configured or deduced version 3;"
        " ignoring."
    ]


def test_native_ipv6_after_ipv4_address() -> None:
    r = load(vrrp_instance("virtual_ipaddress {\n 192.0.2.1\n}\nnative_ipv6"))
    assert "(t.conf: Line 7) (VI_1) Cannot specify native_ipv6 with IPv4 addresses" in messages(r)


def test_vip_family_mismatch_dropped() -> None:
    r = load(vrrp_instance("virtual_ipaddress {\n 192.0.2.1\n 2001:db8::1\n}"))
    assert messages(r) == [
        "(t.conf: Line 6) (VI_1): address family must match VRRP instance [2001:db8::1] - ignoring"
    ]
    assert len(instance(r).virtual_ipaddresses) == 1


def test_excluded_addresses_may_mix_families() -> None:
    r = load(vrrp_instance("virtual_ipaddress_excluded {\n 2001:db8::1\n}"))
    assert messages(r) == []
    assert instance(r).excluded_ipaddresses[0].family == 6


def test_no_vip_v2_is_reported_twice() -> None:
    text = "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 5\n}\n"
    r = load(text)
    # keepalived 2.2.7 prints it from both checks of vrrp_complete_instance (exit 5)
    assert messages(r) == ["(VI_1) No VIP specified; at least one is sensible"] * 2
    assert r.diagnostics.exit_code() == EXIT_CONFIG
    assert instance(r).virtual_ipaddresses == ()


def test_no_vip_v3_is_required() -> None:
    r = load("vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 5\n version 3\n}\n")
    assert messages(r) == ["(VI_1) No VIP specified; at least one is required"]
    assert r.config.vrrp.instances == ()


def test_nopreempt_with_owner_and_master() -> None:
    r = load(vrrp_instance("priority 255\nnopreempt"))
    assert messages(r) == [
        "(VI_1) nopreempt is incompatible with priority 255. resetting nopreempt"
    ]
    assert instance(r).nopreempt is False
    r = load(vrrp_instance("state MASTER\npriority 100\nnopreempt\npreempt_delay 3"))
    assert messages(r) == [
        "(VI_1) Warning - nopreempt will not work with initial state MASTER - clearing",
        "(VI_1) Warning - preempt delay will not work with initial state MASTER - clearing",
    ]


def test_preempt_delay_with_nopreempt() -> None:
    r = load(vrrp_instance("nopreempt\npreempt_delay 2.5"))
    assert messages(r) == ["(VI_1) preempt_delay is incompatible with nopreempt mode - resetting"]
    assert instance(r).preempt_delay_s == 0
    i = instance(load(vrrp_instance("preempt_delay 2.5")))
    assert i.preempt_delay_s == 2.5


def test_preempt_clears_nopreempt() -> None:
    assert instance(load(vrrp_instance("nopreempt\npreempt"))).nopreempt is False


STRICT_TEXT = """\
global_defs {
  vrrp_strict
}
vrrp_instance VI_1 {
  interface eth0
  state MASTER
  virtual_router_id 5
  down_timer_adverts 5
  use_vmac vk1 02:11:22:33:44:55
  vmac_xmit_base
  preempt_delay 5
  authentication {
    auth_type PASS
    auth_pass secret
  }
  virtual_ipaddress {
    192.0.2.9
  }
}
vrrp_instance VI_2 {
  interface eth0
  priority 255
  virtual_router_id 6
  garp_lower_prio_repeat 3
  higher_prio_send_advert
  lower_prio_no_advert false
  advert_int 1.5
  virtual_ipaddress {
    192.0.2.10
  }
}
"""


def test_strict_mode_fixups() -> None:
    r = load(STRICT_TEXT, ETH0)
    # keepalived 2.2.7 -t (t_strict.conf, without the script/sync-group parts)
    assert messages(r) == [
        "(VI_1) Strict mode does not support authentication. Ignoring.",
        "(VI_1): cannot specify MAC address with strict mode - clearing",
        "(VI_1) Warning - preempt delay will not work with initial state MASTER - clearing",
        "(VI_1) down_timer_adverts is incompatible with strict mode - resetting",
        "(VI_1) xmit_base is incompatible with strict mode - resetting",
        "(VI_2) Strict mode requires no repeat garps. resetting",
        "(VI_2) Strict mode requires no lower priority advert. resetting",
        "(VI_2) strict mode requires higher_prio_send_advert to be clear. resetting",
        "(VI_2) VRRPv2 advertisement interval 1.500000s must be an integer. rounding",
    ]
    one, two = instance(r, "VI_1"), instance(r, "VI_2")
    assert one.strict_mode and two.strict_mode
    assert (one.auth_type, one.auth_pass) == (AuthType.NONE, "")
    assert one.vmac_mac is None and one.vmac_ifname == "vk1"
    assert one.down_timer_adverts == 3
    assert one.vmac_xmit_base is False
    assert one.accept is True  # owner (MASTER without priority -> 255)
    assert (two.garp_lower_prio_repeat, two.garp_lower_prio_delay_s) == (0, 0)
    assert two.lower_prio_no_advert is True
    assert two.higher_prio_send_advert is False


def test_strict_defaults_for_non_owner() -> None:
    r = load(vrrp_instance("strict_mode on"))
    i = instance(r)
    assert messages(r) == []
    assert i.accept is False  # strict: accept only for the address owner
    assert (i.garp_lower_prio_repeat, i.garp_lower_prio_delay_s) == (0, 0)
    assert i.lower_prio_no_advert is True


def test_strict_accept_v2_reset() -> None:
    r = load(vrrp_instance("strict_mode\naccept"))
    assert messages(r) == [
        "(VI_1) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting"
    ]
    assert instance(r).accept is False


def test_strict_state_must_match_owner() -> None:
    r = load(vrrp_instance("strict_mode\nstate MASTER\npriority 100"))
    assert messages(r) == ["(VI_1) State MASTER must match being address owner"]
    assert instance(r).state is VrrpState.BACKUP


def test_strict_unicast_peers_refused() -> None:
    r = load(vrrp_instance("strict_mode\nunicast_peer {\n 192.0.2.2\n}"))
    assert messages(r) == ["(VI_1) Unicast peers are not supported in strict mode"]
    assert r.config.vrrp.instances == ()


def test_strict_ipv6_v2_set_to_v3() -> None:
    r = load(vrrp_instance("strict_mode\nversion 2\nvirtual_ipaddress {\n fe80::1\n}"))
    assert messages(r) == ["(VI_1) cannot use IPv6 with VRRP version 2; setting version 3"]
    assert instance(r).version == 3


def test_authentication_pass_and_ah() -> None:
    i = instance(load(vrrp_instance("authentication {\n auth_type PASS\n auth_pass s3cret\n}")))
    assert (i.auth_type, i.auth_pass) == (AuthType.PASS, "s3cret")
    assert "s3cret" not in repr(i)
    r = load(vrrp_instance("version 3\nauthentication {\n auth_type AH\n auth_pass x\n}"))
    assert messages(r) == ["(VI_1) VRRP version 3 does not support authentication. Ignoring."]
    r = load(vrrp_instance("authentication {\n auth_type PASS\n}"))
    assert messages(r) == ["(VI_1) Authentication specified but no password given. Ignoring"]
    r = load(
        vrrp_instance(
            "state MASTER\npriority 100\nauthentication {\n auth_type AH\n auth_pass x\n}"
        )
    )
    assert messages(r) == [
        "(VI_1) Initial state master is incompatible with AH authentication - clearing"
    ]
    assert instance(r).state is VrrpState.BACKUP


def test_interface_missing_stops_vrrp_checks() -> None:
    text = vrrp_instance("", name="VI_1").replace("eth0", "eth9")
    r = load(text + vrrp_instance("version 3", name="VI_2", vrid=52), ETH0)
    # keepalived 2.2.7 (oracle_cases/missing_interface.conf): exit 5, nothing else checked
    assert messages(r) == [
        "(t.conf: Line 2) WARNING - interface eth9 for vrrp_instance VI_1 doesn't exist",
        "Non-existent interface specified in configuration",
    ]
    assert r.diagnostics.exit_code() == EXIT_CONFIG


def test_dynamic_interfaces_anywhere_in_file() -> None:
    text = vrrp_instance("").replace("eth0", "eth9") + "global_defs {\n dynamic_interfaces\n}\n"
    r = load(text, ETH0)
    # keepalived reads global_defs first: the later dynamic_interfaces applies (exit 0)
    assert messages(r) == []
    assert instance(r).interface == "eth9"


def test_loopback_refused() -> None:
    r = load(vrrp_instance("").replace("eth0", "lo"), ETH0)
    assert messages(r) == [
        "(t.conf: Line 2) (VI_1) cannot use a loopback interface (lo) for vrrp - ignoring",
        "(VI_1) Unknown interface!",
    ]


def test_unicast_without_interface_is_unknown_interface() -> None:
    text = (
        "vrrp_instance VI_1 {\n unicast_src_ip 192.0.2.1\n virtual_router_id 5\n"
        " unicast_peer {\n  192.0.2.2\n }\n virtual_ipaddress {\n  192.0.2.9\n }\n}\n"
    )
    # keepalived 2.2.7 (t_uni.conf): an interface is always required
    assert messages(load(text, ETH0)) == ["(VI_1) Unknown interface!"]


def test_duplicate_vrid_on_interface() -> None:
    text = "".join(vrrp_instance("", name=f"VI_{n}", vrid=5) for n in (1, 2, 3))
    r = load(text, ETH0)
    # keepalived 2.2.7 (t_dup.conf)
    assert messages(r) == [
        "VI_1 and VI_2 both use VRID 5 with IPv4 on interface eth0",
        "VI_1 and VI_3 both use VRID 5 with IPv4 on interface eth0",
        "VI_2 and VI_3 both use VRID 5 with IPv4 on interface eth0",
    ]


def test_same_vrid_different_family_is_fine() -> None:
    text = vrrp_instance("", vrid=5) + vrrp_instance(
        "virtual_ipaddress {\n fe80::1\n}", name="VI_2", vrid=5
    )
    assert messages(load(text)) == []


def test_unicast_keyword_without_peers() -> None:
    r = load(vrrp_instance("check_unicast_src"))
    assert messages(r) == [
        "(VI_1) A unicast keyword has been specified without any unicast peers. Defaulting to"
        " multicast. This usage is deprecated - please update your configuration."
    ]
    assert instance(r).unicast_configured


def test_unknown_keyword_and_oracle_keywords_absent_in_227() -> None:
    r = load(vrrp_instance("no_virtual_ipaddress\nv3_checksum_as_v2\nowner_ignore_adverts"))
    # these came after 2.2.7; keepalived 2.2.7 says (a.conf)
    assert messages(r) == [
        "(t.conf: Line 4) Unknown keyword 'no_virtual_ipaddress'",
        "(t.conf: Line 5) Unknown keyword 'v3_checksum_as_v2'",
        "(t.conf: Line 6) Unknown keyword 'owner_ignore_adverts'",
    ]


def test_unicast_peers_and_ttl() -> None:
    r = load(
        vrrp_instance(
            "unicast_src_ip 192.0.2.1\nunicast_ttl 10\nunicast_peer {\n"
            " 192.0.2.2 max_ttl 200\n 192.0.2.3\n}"
        )
    )
    i = instance(r)
    assert messages(r) == []
    assert i.src_ip == ipaddress.ip_address("192.0.2.1")
    assert i.unicast_ttl == 10
    assert i.unicast_peers[0].max_ttl == 200 and i.unicast_peers[0].has_ttl_limits
    assert not i.unicast_peers[1].has_ttl_limits


def test_unicast_ttl_without_peers_reset() -> None:
    r = load(vrrp_instance("unicast_ttl 10"))
    assert messages(r) == [
        "(t.conf: Line 8) (VI_1): Cannot use unicast_ttl without unicast peers - resetting"
    ]
    assert instance(r).unicast_ttl is None


def test_mcast_dst_ip() -> None:
    i = instance(load(vrrp_instance("mcast_dst_ip 224.0.0.19")))
    assert i.mcast_dst_ip == ipaddress.ip_address("224.0.0.19")
    r = load(vrrp_instance("mcast_dst_ip ff05::12\nvirtual_ipaddress {\n fe80::1\n}"))
    assert messages(r) == [
        "(t.conf: Line 4) (VI_1) mcast_dst_ip ff05::12 not link-local multicast. Skipping..."
    ]


def test_old_unicast_checksum() -> None:
    i = instance(load(vrrp_instance("old_unicast_checksum never\nunicast_peer {\n 192.0.2.2\n}")))
    assert i.unicast_checksum_compat is UnicastChecksumCompat.NEVER


def test_vmac_and_ipvlan_options() -> None:
    i = instance(load(vrrp_instance("use_vmac vrrp.51 02:aa:bb:cc:dd:ee\nvmac_xmit_base")))
    assert (i.use_vmac, i.vmac_ifname, i.vmac_mac, i.vmac_xmit_base) == (
        True,
        "vrrp.51",
        "02:aa:bb:cc:dd:ee",
        True,
    )
    r = load(vrrp_instance("use_vmac 00:00:5e:00:01:05"))
    assert messages(r) == [
        "(t.conf: Line 4) VMAC MAC address not allowed to be RFC5798 address"
        " (00:00:5e:00:01:05) - ignoring"
    ]
    i = instance(load(vrrp_instance("use_ipvlan name ipv1 192.0.2.5/24 private")))
    assert (i.ipvlan_ifname, str(i.ipvlan_address), i.ipvlan_mode) == (
        "ipv1",
        "192.0.2.5/24",
        IpvlanMode.PRIVATE,
    )
    r = load(vrrp_instance("vmac_xmit_base"))
    assert messages(r) == ["(VI_1) vmac_xmit_base is only valid with a vmac"]


def test_vmac_with_promote_secondaries() -> None:
    r = load(vrrp_instance("use_vmac\npromote_secondaries"))
    assert messages(r) == ["(VI_1) promote_secondaries is automatically set for vmacs - ignoring"]


def test_notify_scripts_split_like_keepalived() -> None:
    body = (
        'notify_master "/usr/bin/notify.sh master \\"a b\\"" root wheel\n'
        "notify /bin/echo\n"
        "notify_deleted\n"
        "smtp_alert\n"
        "notify_priority_changes false\n"
    )
    i = instance(load(vrrp_instance(body)))
    assert i.notify_master is not None
    assert i.notify_master.argv == ("/usr/bin/notify.sh", "master", "a b")
    assert (i.notify_master.user, i.notify_master.group) == ("root", "wheel")
    assert i.notify is not None and i.notify.argv == ("/bin/echo",)
    assert i.notify_deleted and i.notify_deleted_script is None
    assert i.smtp_alert is True and i.notify_priority_changes is False


def test_notify_script_twice() -> None:
    r = load(vrrp_instance('notify_fault "/bin/a"\nnotify_fault "/bin/b"'))
    assert messages(r) == [
        "(t.conf: Line 5) (VI_1) notify_fault script already specified - ignoring /bin/b"
    ]


def test_globals_copied_into_instance() -> None:
    text = vrrp_instance("") + (
        "global_defs {\n vrrp_garp_master_delay 17\n vrrp_skip_check_adv_addr\n"
        " vrrp_version 3\n smtp_alert\n vrrp_garp_master_repeat 2\n}\n"
    )
    i = instance(load(text))
    # checked with keepalived's data dump (SIGUSR1): "Gratuitous ARP delay = 17"
    assert i.garp_master_delay_s == 17
    assert i.skip_check_adv_addr is True
    assert i.version == 3
    assert i.smtp_alert is True
    assert i.garp_master_repeat == 2
    assert i.garp_lower_prio_repeat == 2  # defaults to the master repeat


def test_lvs_sync_daemon_interface_deprecated() -> None:
    r = load(vrrp_instance("lvs_sync_daemon_interface eth0"))
    assert messages(r) == [
        "(t.conf: Line 4) (VI_1) Specifying lvs_sync_daemon_interface against a vrrp is"
        " deprecated.",
        "(t.conf: Line 4)         Please use global lvs_sync_daemon",
    ]
    assert instance(r).lvs_sync_daemon_interface == "eth0"


def test_linkbeat_fatal_exit_code() -> None:
    r = load("linkbeat_interfaces {\n    eth9\n}\n", ETH0)
    # keepalived 2.2.7 (t_linkbeat.conf): exit 4
    assert messages(r) == [
        "(t.conf: Line 2) unknown interface eth9 specified for linkbeat interface"
    ]
    assert r.diagnostics.worst == Severity.FATAL
    assert r.diagnostics.exit_code() == EXIT_FATAL


def test_clean_sample_like_config_exit_ok() -> None:
    r = load(vrrp_instance("priority 150\nadvert_int 2\nnopreempt"), ETH0)
    assert r.diagnostics.exit_code() == EXIT_OK
