"""global_defs and the root-level global keywords, against keepalived 2.2.7.

Expected messages were captured from Debian's keepalived 2.2.7 (``keepalived -t -f FILE`` with a
one-keyword ``global_defs`` block) and pasted here; defaults come from its ``-d`` config dump.
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.config.errors import Location, Severity
from pykeepalived.config.keywords import global_defs as g
from pykeepalived.config.keywords.base import ParseContext
from pykeepalived.config.loader import load_text, render_config
from pykeepalived.config.model import Config
from pykeepalived.config.model.common import Script
from pykeepalived.config.model.global_defs import (
    GlobalDefs,
    LvsSyncDaemon,
    LvsTimeouts,
    NotifyFifo,
    SmtpServer,
    resolve_email_from,
    resolve_router_id,
)
from pykeepalived.config.tree import Node

pytestmark = pytest.mark.unit


def parse_line(line: str) -> tuple[GlobalDefs, list[tuple[Severity, str]]]:
    """One line inside ``global_defs { }``, through a hand-built tree."""
    words = line.split()
    child = Node(words[0], tuple(words[1:]), Location("t.conf", 2))
    root = Node("global_defs", (), Location("t.conf", 1), children=(child,))
    ctx = ParseContext()
    g.ROOT_KEYWORDS.dispatch_one(root, ctx.fields_of("global"), ctx)
    return g.finish(ctx.fields_of("global"), ctx), [(d.severity, d.message) for d in ctx.diags]


def errors(line: str) -> list[str]:
    return [m for s, m in parse_line(line)[1] if s > Severity.INFO]


def load(text: str) -> tuple[GlobalDefs, list[str]]:
    result = load_text(text)
    return result.config.global_defs, [d.message for d in result.diagnostics]


# --------------------------------------------------------------------------- defaults


def test_defaults_match_keepalived_dump() -> None:
    d = GlobalDefs()
    # values printed by keepalived 2.2.7 -d for an empty global_defs
    assert (d.smtp_connect_timeout_s, d.default_interface, d.umask) == (30, "eth0", 0o177)
    assert (d.vrrp_mcast_group4, d.vrrp_mcast_group6) == (
        ipaddress.IPv4Address("224.0.0.18"),
        ipaddress.IPv6Address("ff02::12"),
    )
    assert (d.vrrp_garp_master_delay, d.vrrp_garp_master_repeat) == (5, 5)
    assert (d.vrrp_garp_master_refresh, d.vrrp_garp_master_refresh_repeat) == (0, 1)
    assert (d.garp_lower_prio_delay_s, d.garp_lower_prio_repeat) == (5, 5)
    assert (d.vrrp_down_timer_adverts, d.vrrp_version, d.vrrp_rx_bufs_multiplier) == (3, 2, 3)
    assert (d.vrrp_garp_interval, d.vrrp_gna_interval) == (0.0, 0.0)
    assert (d.max_auto_priority, d.min_auto_priority_delay_us) == (0, 1_000_000)
    assert d.vrrp_rlimit_rttime_us == d.checker_rlimit_rttime_us == d.bfd_rlimit_rttime_us == 10000
    assert d.router_id is None and d.notification_email_from is None
    assert d.child_wait_time_s == 5


def test_lower_prio_defaults_follow_master() -> None:
    defs, _ = load("global_defs {\n vrrp_garp_master_delay 7\n vrrp_garp_master_repeat 8\n}\n")
    # keepalived's dump showed "lower priority delay = 7, repeat = 8" for this config
    assert (defs.garp_lower_prio_delay_s, defs.garp_lower_prio_repeat) == (7, 8)


def test_machine_dependent_defaults_resolve_at_run_time() -> None:
    defs = GlobalDefs()
    assert resolve_router_id(defs, hostname="node1") == "node1"
    assert resolve_email_from(defs, user="root", hostname="node1") == "root@node1"
    named = GlobalDefs(router_id="r", notification_email_from="a@b")
    assert resolve_router_id(named, hostname="x") == "r"
    assert resolve_email_from(named, user="u", hostname="x") == "a@b"


# --------------------------------------------------------------------------- every keyword

# keyword line -> (model field, expected value)
KEYWORD_CASES: dict[str, tuple[str, object]] = {
    "tmp_config_directory /tmp/k": ("tmp_config_directory", "/tmp/k"),
    "config_save_dir /tmp/s": ("config_save_dir", "/tmp/s"),
    "process_names": ("vrrp_process_name", "keepalived_vrrp"),
    "process_name kp": ("process_name", "kp"),
    "vrrp_process_name kv": ("vrrp_process_name", "kv"),
    "checker_process_name kc": ("checker_process_name", "kc"),
    "lvs_process_name kl": ("checker_process_name", "kl"),
    "bfd_process_name kb": ("bfd_process_name", "kb"),
    "startup_script /bin/true": ("startup_script", Script(("/bin/true",))),
    "startup_script_timeout 7": ("startup_script_timeout_s", 7),
    "shutdown_script /bin/false": ("shutdown_script", Script(("/bin/false",))),
    "shutdown_script_timeout 8": ("shutdown_script_timeout_s", 8),
    "umask 022": ("umask", 0o22),
    "random_seed 42": ("random_seed", 42),
    "max_auto_priority": ("max_auto_priority", 99),
    "min_auto_priority_delay 500": ("min_auto_priority_delay_us", 500),
    "vrrp_priority -5": ("vrrp_process_priority", -5),
    "checker_priority 3": ("checker_process_priority", 3),
    "bfd_priority 19": ("bfd_process_priority", 19),
    "vrrp_no_swap": ("vrrp_no_swap", True),
    "checker_no_swap": ("checker_no_swap", True),
    "bfd_no_swap": ("bfd_no_swap", True),
    "vrrp_rt_priority 50": ("vrrp_realtime_priority", 50),
    "checker_rt_priority 51": ("checker_realtime_priority", 51),
    "bfd_rt_priority 52": ("bfd_realtime_priority", 52),
    "vrrp_cpu_affinity 0": ("vrrp_cpu_affinity", (0,)),
    "checker_cpu_affinity 0": ("checker_cpu_affinity", (0,)),
    "bfd_cpu_affinity 0": ("bfd_cpu_affinity", (0,)),
    "vrrp_rlimit_rttime 20000": ("vrrp_rlimit_rttime_us", 20000),
    "checker_rlimit_rttime 1": ("checker_rlimit_rttime_us", 2),
    "bfd_rlimit_rttime 30000": ("bfd_rlimit_rttime_us", 30000),
    "vrrp_rlimit_rtime 40000": ("vrrp_rlimit_rttime_us", 40000),
    "checker_rlimit_rtime 40001": ("checker_rlimit_rttime_us", 40001),
    "bfd_rlimit_rtime 40002": ("bfd_rlimit_rttime_us", 40002),
    "reload_check_config": ("reload_check_config", "/dev/null"),
    "reload_time_file /run/t": ("reload_time_file", "/run/t"),
    "reload_repeat": ("reload_repeat", True),
    "reload_file": ("reload_file", ""),
    "include_check match -brace_match": ("include_check", ("match", "-brace_match")),
    "data_use_instance": ("data_use_instance", True),
    "dynamic_interfaces allow_if_changes": ("dynamic_interfaces_allow_if_changes", True),
    "default_interface eth1": ("default_interface", "eth1"),
    "router_id r1": ("router_id", "r1"),
    "notification_email_from a@b.c": ("notification_email_from", "a@b.c"),
    "smtp_server 192.0.2.1 26": ("smtp_server", SmtpServer("192.0.2.1", 26)),
    "smtp_helo_name helo": ("smtp_helo_name", "helo"),
    "smtp_connect_timeout 9": ("smtp_connect_timeout_s", 9),
    "smtp_alert": ("smtp_alert", True),
    "smtp_alert_vrrp off": ("smtp_alert_vrrp", False),
    "smtp_alert_checker yes": ("smtp_alert_checker", True),
    "no_email_faults": ("no_email_faults", True),
    "no_checker_emails": ("no_checker_emails", True),
    "checker_log_all_failures": ("checker_log_all_failures", True),
    "vrrp_mcast_group4 224.0.0.19": ("vrrp_mcast_group4", ipaddress.IPv4Address("224.0.0.19")),
    "vrrp_mcast_group6 ff02::13": ("vrrp_mcast_group6", ipaddress.IPv6Address("ff02::13")),
    "vrrp_version 3": ("vrrp_version", 3),
    "vrrp_garp_master_delay 1": ("vrrp_garp_master_delay", 1),
    "vrrp_garp_master_repeat 2": ("vrrp_garp_master_repeat", 2),
    "vrrp_garp_master_refresh 3": ("vrrp_garp_master_refresh", 3),
    "vrrp_garp_master_refresh_repeat 4": ("vrrp_garp_master_refresh_repeat", 4),
    "vrrp_garp_lower_prio_delay 6": ("vrrp_garp_lower_prio_delay", 6),
    "vrrp_garp_lower_prio_repeat 0": ("vrrp_garp_lower_prio_repeat", 0),
    "vrrp_garp_interval 0.001": ("vrrp_garp_interval", 0.001),
    "vrrp_gna_interval 1.5": ("vrrp_gna_interval", 1.5),
    "vrrp_min_garp": ("vrrp_garp_master_repeat", 1),
    "vrrp_garp_extra_if all 5": ("vrrp_garp_extra_if_all", True),
    "vrrp_vmac_garp_intvl 6": ("vrrp_garp_extra_if", 6),
    "vrrp_down_timer_adverts 10": ("vrrp_down_timer_adverts", 10),
    "vrrp_lower_prio_no_advert false": ("vrrp_lower_prio_no_advert", False),
    "vrrp_higher_prio_send_advert": ("vrrp_higher_prio_send_advert", True),
    "vrrp_strict": ("vrrp_strict", True),
    "vrrp_check_unicast_src": ("vrrp_check_unicast_src", True),
    "vrrp_skip_check_adv_addr": ("vrrp_skip_check_adv_addr", True),
    "vrrp_notify_priority_changes on": ("vrrp_notify_priority_changes", True),
    "vrrp_startup_delay 2.5": ("vrrp_startup_delay", 2.5),
    "log_unknown_vrids": ("log_unknown_vrids", True),
    "vmac_prefix kv": ("vmac_prefix", "kv"),
    "vmac_addr_prefix ka": ("vmac_addr_prefix", "ka"),
    "vrrp_rx_bufs_policy MTU": ("vrrp_rx_bufs_policy", "MTU"),
    "vrrp_rx_bufs_multiplier 4": ("vrrp_rx_bufs_multiplier", 4),
    "vrrp_netlink_cmd_rcv_bufs 1000": ("vrrp_netlink_cmd_rcv_bufs", 1000),
    "vrrp_netlink_cmd_rcv_bufs_force": ("vrrp_netlink_cmd_rcv_bufs_force", True),
    "vrrp_netlink_monitor_rcv_bufs 1001": ("vrrp_netlink_monitor_rcv_bufs", 1001),
    "vrrp_netlink_monitor_rcv_bufs_force": ("vrrp_netlink_monitor_rcv_bufs_force", True),
    "lvs_netlink_cmd_rcv_bufs 1002": ("lvs_netlink_cmd_rcv_bufs", 1002),
    "lvs_netlink_cmd_rcv_bufs_force": ("lvs_netlink_cmd_rcv_bufs_force", True),
    "lvs_netlink_monitor_rcv_bufs 1003": ("lvs_netlink_monitor_rcv_bufs", 1003),
    "lvs_netlink_monitor_rcv_bufs_force": ("lvs_netlink_monitor_rcv_bufs_force", True),
    "process_monitor_rcv_bufs 1004": ("process_monitor_rcv_bufs", 1004),
    "process_monitor_rcv_bufs_force": ("process_monitor_rcv_bufs_force", True),
    "disable_local_igmp": ("disable_local_igmp", True),
    "fifo_write_vrrp_states_on_reload": ("fifo_write_vrrp_states_on_reload", True),
    "nftables": ("nftables", "keepalived"),
    "nftables_priority -100": ("nftables_priority", -100),
    "nftables_counters": ("nftables_counters", True),
    "nftables_ifindex": ("nftables_ifindex", True),
    "nftables_ipvs kipvs": ("nftables_ipvs", "kipvs"),
    "nftables_ipvs_priority 5": ("nftables_ipvs_priority", 5),
    "nftables_ipvs_start_fwmark 2000": ("nftables_ipvs_start_fwmark", 2000),
    "vrrp_iptables": ("nftables", "keepalived"),
    "lvs_sync_daemon eth0 inst VI_1 id 5 maxlen 100 port 99 ttl 3 group 239.1.1.1": (
        "lvs_sync_daemon",
        LvsSyncDaemon("eth0", "VI_1", 5, 100, 99, 3, ipaddress.IPv4Address("239.1.1.1")),
    ),
    "lvs_timeouts tcp 10 udp 5": ("lvs_timeouts", LvsTimeouts(10, None, 5)),
    "lvs_flush": ("lvs_flush", True),
    "lvs_flush_on_stop VS": ("lvs_flush_on_stop", "VS"),
    "lvs_flush_onstop": ("lvs_flush_on_stop", "full"),
    "rs_init_notifies": ("rs_init_notifies", True),
    "script_user nobody nogroup": ("script_group", "nogroup"),
    "enable_script_security": ("enable_script_security", True),
    "notify_fifo /run/f root": ("notify_fifo", NotifyFifo("/run/f", "root")),
    "notify_fifo_script /bin/s": ("notify_fifo", NotifyFifo(script=Script(("/bin/s",)))),
    "vrrp_notify_fifo /run/v": ("vrrp_notify_fifo", NotifyFifo("/run/v")),
    "vrrp_notify_fifo_script /bin/v": ("vrrp_notify_fifo", NotifyFifo(script=Script(("/bin/v",)))),
    "lvs_notify_fifo /run/l": ("lvs_notify_fifo", NotifyFifo("/run/l")),
    "lvs_notify_fifo_script /bin/l": ("lvs_notify_fifo", NotifyFifo(script=Script(("/bin/l",)))),
    "snmp_socket udp:1.2.3.4:705": ("snmp_socket", "udp:1.2.3.4:705"),
    "enable_snmp_vrrp": ("enable_snmp_vrrp", True),
    "enable_snmp_keepalived": ("enable_snmp_vrrp", True),
    "enable_snmp_checker": ("enable_snmp_checker", True),
    "enable_snmp_rfc": ("enable_snmp_rfcv3", True),
    "enable_snmp_rfcv2": ("enable_snmp_rfcv2", True),
    "enable_snmp_rfcv3": ("enable_snmp_rfcv3", True),
    "enable_traps": ("enable_traps", True),
    "enable_dbus": ("enable_dbus", True),
    "dbus_service_name org.x": ("dbus_service_name", "org.x"),
}


def test_every_table_keyword_has_a_case() -> None:
    tested = {line.split()[0] for line in KEYWORD_CASES}
    assert tested == set(g.GLOBAL_DEFS_KEYWORDS.names) - {"notification_email"}


@pytest.mark.parametrize(("line", "expected"), KEYWORD_CASES.items())
def test_keyword_sets_its_field(line: str, expected: tuple[str, object]) -> None:
    defs, diags = parse_line(line)
    name, value = expected
    assert getattr(defs, name) == value
    assert getattr(defs, name) != getattr(GlobalDefs(), name)
    if line.split(maxsplit=1)[0] not in ("vrrp_iptables", "vrrp_vmac_garp_intvl"):
        assert all(sev <= Severity.WARNING for sev, _ in diags)


def test_notification_email_block() -> None:
    defs, msgs = load('global_defs {\n notification_email {\n  a@b.c\n  "Joe <j@x.y>"\n }\n}\n')
    assert defs.notification_email == ("a@b.c", "Joe <j@x.y>")
    assert msgs == []
    _, msgs = load("global_defs {\n notification_email {\n }\n}\n")
    assert msgs == ["Warning - empty notification_email block"]


# --------------------------------------------------------------------------- oracle messages

# (line, keepalived 2.2.7's messages)
ERROR_CASES = [
    ("tmp_config_directory", ["tmp_config_directory missing directory name"]),
    ("startup_script", ["startup script missing"]),
    ("startup_script_timeout x",
     ["invalid number 'x'", "startup_script_timeout 'x' must be in [1, 1000] - ignoring"]),
    ("shutdown_script_timeout 0",
     ["number '0' outside range [1, 1000]",
      "shutdown_script_timeout '0' must be in [1, 1000] - ignoring"]),
    ("umask x", ["Unknown umask bit x"]),
    ("umask 99999999999", ["invalid umask value 99999999999"]),
    ("umask 1 2 3", ["Extra parameter(s) to umask option"]),
    ("random_seed -1", ["negative number '-1'", "random_seed -1 invalid"]),
    ("max_auto_priority 99999999999",
     ["number '99999999999' outside integer range",
      "max_auto_priority '99999999999' must be in [0, 99] (or -1 to disable) - ignoring"]),
    ("min_auto_priority_delay -1",
     ["number '-1' outside range [1, 10000000]",
      "min_auto_priority_delay '-1' must be in [1, 10000000] - ignoring"]),
    ("vrrp_priority", ["No vrrp process priority specified"]),
    ("checker_priority 1.5",
     ["invalid number '1.5'", "Invalid checker process priority specified"]),
    ("bfd_rt_priority 0",
     ["bfd process real-time priority 0 less than minimum 1 - setting to minimum"]),
    ("vrrp_rt_priority x", ["invalid number 'x'", "vrrp process real-time priority 'x' invalid"]),
    ("vrrp_cpu_affinity x", ["invalid number 'x'", "Invalid cpu_id:0 specified for vrrp process"]),
    ("checker_rlimit_rttime 0",
     ["number '0' outside range [1, 4294967295]", "Invalid checker real-time limit - 0"]),
    ("reload_time_file", ["reload_time_file invalid"]),
    ("include_check 1 2 3",
     ["Unknown include_check type '1' - ignoring",
      "Duplicate include_check '2' specified - ignoring",
      "Duplicate include_check '3' specified - ignoring"]),
    ("include_check readable", ["Unknown include_check type 'readable' - ignoring"]),
    ("data_use_instance 0", ["Invalid value '0' for global date_use_instance specified"]),
    ("dynamic_interfaces x", ["Unknown dynamic_interfaces option 'x'"]),
    ("default_interface", ["default_interface requires interface name"]),
    ("router_id", ["routerid name missing - ignoring"]),
    ("notification_email_from", ["emailfrom missing - ignoring"]),
    ("smtp_server 192.0.2.1 0",
     ["number '0' outside range [1, 65535]", "number '0' outside range [1, 65535]",
      "Invalid smtp server 192.0.2.1 0"]),
    ("smtp_connect_timeout 0", ["smtp_conect_timeout must be greater than 0, setting to 1"]),
    ("smtp_connect_timeout -1",
     ["negative number '-1'", "smtp_connect_timeout '-1' must be in [0, 4294] - ignoring"]),
    ("smtp_alert x", ["Invalid value 'x' for global smtp_alert specified"]),
    ("checker_log_all_failures 1", ["Invalid value for checker_log_all_failures specified"]),
    ("vrrp_mcast_group4 x", ["Can't parse vrrp_mcast_group4 [x]. Skipping"]),
    ("vrrp_version 1",
     ["number '1' outside range [2, 3]", "VRRP Error: Version must be either 2 or 3"]),
    ("vrrp_garp_master_delay 1.5",
     ["invalid number '1.5'", "vrrp_garp_master_delay '1.5' invalid - ignoring"]),
    ("vrrp_garp_master_repeat 0", ["vrrp_garp_master_repeat must be greater than 0, setting to 1"]),
    ("vrrp_garp_master_refresh x",
     ["invalid number 'x'", "Invalid vrrp_garp_master_refresh 'x' - ignoring"]),
    ("vrrp_garp_lower_prio_repeat 99999999999",
     ["number '99999999999' outside unsigned integer range",
      "Invalid vrrp_garp_lower_prio_repeat '99999999999'"]),
    ("vrrp_garp_interval 0",
     ["number '0' outside range [0.000001, 4294.967295]", "vrrp_garp_interval '0' is invalid"]),
    ("vrrp_gna_interval -1", ["negative number '-1'", "vrrp_gna_interval '-1' is invalid"]),
    ("vrrp_garp_interval 1.1234567", ["number '1.1234567' has too many decimal places"]),
    ("vrrp_startup_delay 0",
     ["number '0' outside range [0.001000, 4294.967295]", "vrrp_startup_delay '0' is invalid"]),
    ("vrrp_min_garp 0", ["Invalid value for vrrp_min_garp specified"]),
    ("vrrp_garp_extra_if", ["vrrp_garp_extra_if specified without time - ignoring"]),
    ("vrrp_garp_extra_if 0",
     ["number '0' outside range [1, 86400]", "vrrp_garp_extra_if '0' invalid - ignoring"]),
    ("vrrp_down_timer_adverts 0",
     ["number '0' outside range [1, 100]", "Invalid vrrp_down_timer_adverts [1:100] '0'"]),
    ("vrrp_lower_prio_no_advert x", ["Invalid value for vrrp_lower_prio_no_advert specified"]),
    ("vrrp_rx_bufs_policy", ["vrrp_rx_bufs_policy missing"]),
    ("vrrp_rx_bufs_policy x", ["invalid number 'x'", "Invalid vrrp_rx_bufs_policy x"]),
    ("vrrp_rx_bufs_multiplier 1 2 3", ["Invalid vrrp_rx_bufs_multiplier"]),
    ("vrrp_netlink_cmd_rcv_bufs", ["vrrp_netlink_cmd_rcv_bufs size missing"]),
    ("lvs_netlink_monitor_rcv_bufs 1.5",
     ["invalid number '1.5'", "lvs_netlink_monitor_rcv_bufs size (1.5) invalid"]),
    ("process_monitor_rcv_bufs_force x",
     ["Invalid value 'x' for global process_monitor_rcv_bufs_force specified"]),
    ("nftables_priority x", ["invalid number 'x'", "invalid nftables chain priority 'x'"]),
    ("nftables_ipvs_start_fwmark 0",
     ["number '0' outside range [1, 4294967295]",
      "invalid ipvs nftables start_fwmark priority '0'"]),
    ("vrrp_iptables",
     ["iptables not supported, using nftables instead. Please replace 'vrrp_iptables and "
      "'vrrp_ipsets' with 'nftables' config option"]),
    ("lvs_sync_daemon", ["lvs_sync_daemon requires interface"]),
    ("lvs_sync_daemon 1 2 3", ['Please use keyword "id" before lvs_sync_daemon SYNCID']),
    ("lvs_timeouts x", ["lvs_timeouts requires at least one option"]),
    ("lvs_timeouts 1 2 3",
     ["Unknown option 1 specified for lvs_timeouts", "Unknown option 2 specified for lvs_timeouts",
      "Unknown option 3 specified for lvs_timeouts"]),
    ("lvs_flush_on_stop x", ["Unknown lvs_flush_on_stop type x"]),
    ("rs_init_notifies 1", ["Invalid value '1' for global rs_init_notifies specified"]),
    ("script_user", ["No script username specified"]),
    ("notify_fifo", ["No notify_fifo name specified"]),
    ("vrrp_notify_fifo_script", ["No vrrp_notify_fifo_script specified"]),
    ("snmp_socket", ["SNMP error : snmp socket name missing"]),
    ("snmp_socket 1 2 3", ["Too many parameters specified for snmp_socket - ignoring"]),
    ("dbus_service_name", ["dbus_service_name missing - ignoring"]),
]  # fmt: skip


@pytest.mark.parametrize(("line", "expected"), ERROR_CASES)
def test_errors_match_keepalived(line: str, expected: list[str]) -> None:
    assert errors(line) == expected


@pytest.mark.parametrize(
    "keyword",
    ["config_save_dir", "process_name", "umask", "random_seed", "vrrp_rlimit_rttime",
     "smtp_server", "smtp_connect_timeout", "vrrp_mcast_group6", "vrrp_version",
     "vrrp_garp_master_delay", "vrrp_garp_interval", "vrrp_startup_delay", "vmac_prefix",
     "nftables_priority", "nftables_ipvs_start_fwmark"],
)  # fmt: skip
def test_missing_parameter_aborts(keyword: str) -> None:
    _, diags = parse_line(keyword)
    # keepalived 2.2.7 stops reading (exit 2) with this message
    assert diags == [
        (
            Severity.ABORT,
            f"*** Configuration line starting `{keyword}` is missing a parameter after keyword "
            f"`{keyword}` at word position 2",
        )
    ]


def test_deprecated_aliases() -> None:
    defs, diags = parse_line("vrrp_vmac_garp_intvl 6")
    assert defs.vrrp_garp_extra_if == 6
    # keepalived 2.2.7 reports this one as a config error
    assert diags == [
        (
            Severity.ERROR,
            'Keyword "vrrp_vmac_garp_intvl" is deprecated - please use "vrrp_garp_extra_if"',
        )
    ]
    # these are only logged (no -t output): kept as INFO
    for line, message in [
        ("lvs_process_name x",
         "'lvs_process_name' is deprecated - please use 'checker_process_name'"),
        ("vrrp_rlimit_rtime 5",
         "Keyword 'vrrp_rlimit_rtime' is deprecated - please use 'vrrp_rlimit_rttime'"),
        ("lvs_flush_onstop",
         "Keyword 'lvs_flush_onstop' is deprecated - please use 'lvs_flush_on_stop'"),
    ]:  # fmt: skip
        assert parse_line(line)[1] == [(Severity.INFO, message)]


def test_unknown_keywords_of_later_versions() -> None:
    # added after 2.2.7: keepalived 2.2.7 answers "Unknown keyword"
    for keyword in ("state_dump_file", "json_version", "vrrp_owner_ignore_adverts"):
        assert errors(f"{keyword} 1") == [f"Unknown keyword '{keyword}'"]


def test_vrrp_min_garp_only_changes_defaults() -> None:
    defs, _ = load(
        "global_defs {\n vrrp_garp_master_delay 7\n vrrp_garp_master_repeat 8\n vrrp_min_garp\n}\n"
    )
    # keepalived's dump: delay 7, repeat 8, refresh repeat 0
    assert (defs.vrrp_garp_master_delay, defs.vrrp_garp_master_repeat) == (7, 8)
    assert defs.vrrp_garp_master_refresh_repeat == 0
    defs, _ = load("global_defs {\n vrrp_min_garp\n}\n")
    assert (defs.vrrp_garp_master_delay, defs.vrrp_garp_master_repeat) == (0, 1)


def test_decimal_rounding() -> None:
    defs, _ = parse_line("vrrp_garp_interval 1.1234567")
    assert defs.vrrp_garp_interval == 1.123457  # keepalived's dump shows 1.123457


# --------------------------------------------------------------------------- root keywords


def test_root_keywords() -> None:
    defs, msgs = load(
        "net_namespace blue\nnet_namespace_ipvs\nnamespace_with_ipsets\ninstance i1\n"
        "linkbeat_use_polling\nchild_wait_time 9\n"
    )
    assert msgs == []
    assert (defs.net_namespace, defs.net_namespace_ipvs, defs.instance) == ("blue", "", "i1")
    assert defs.use_pid_dir and defs.namespace_with_ipsets and defs.linkbeat_use_polling
    assert defs.child_wait_time_s == 9
    _, msgs = load("net_namespace\ninstance\nnet_namespace a\nnet_namespace b\n")
    assert msgs == [
        "net_namespace name missing - ignoring",
        "instance name missing - ignoring",
        "Duplicate net_namespace definition b - ignoring",
    ]
    result = load_text("child_wait_time\n")
    assert [(d.severity, d.message) for d in result.diagnostics] == [
        (
            Severity.ABORT,
            "*** Configuration line starting `child_wait_time` is missing a parameter after "
            "keyword `child_wait_time` at word position 2",
        )
    ]


# --------------------------------------------------------------------------- render


RICH = "\n".join(
    [
        "net_namespace blue",
        "instance one",
        "global_defs {",
        *(f"    {line}" for line in KEYWORD_CASES if not line.startswith(("vrrp_iptables",))),
        "    notification_email {",
        '        "Joe <j@x.y>"',
        "    }",
        "}",
        "",
    ]
)


def test_render_round_trip_of_every_keyword() -> None:
    first = load_text(RICH).config
    text = render_config(first)
    again = load_text(text)
    assert again.config.global_defs == first.global_defs
    assert render_config(again.config) == text


def test_render_default_is_empty() -> None:
    assert g.render(GlobalDefs()) == []


def test_render_only_changed_values() -> None:
    lines = g.render(GlobalDefs(router_id="r1", vrrp_garp_master_delay=1))
    assert lines == ["global_defs {", "    router_id r1", "    vrrp_garp_master_delay 1", "}"]


word = st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,8}", fullmatch=True)
host = st.from_regex(r"[a-z][a-z0-9]{0,8}(\.[a-z][a-z0-9]{0,8})?", fullmatch=True)


@settings(max_examples=150)
@given(
    st.builds(
        GlobalDefs,
        router_id=st.none() | word,
        notification_email=st.lists(word, max_size=3).map(tuple),
        vrrp_garp_master_delay=st.integers(0, 4294),
        vrrp_garp_master_repeat=st.integers(1, 2**32 - 1),
        vrrp_garp_lower_prio_repeat=st.none() | st.integers(0, 2**31 - 1),
        vrrp_garp_interval=st.integers(0, 4294967295).map(lambda us: us / 1_000_000),
        vrrp_down_timer_adverts=st.integers(1, 100),
        vrrp_lower_prio_no_advert=st.none() | st.booleans(),
        vrrp_strict=st.booleans(),
        vrrp_version=st.sampled_from([2, 3]),
        smtp_server=st.none() | st.builds(SmtpServer, host, st.integers(1, 65535)),
        lvs_timeouts=st.builds(
            LvsTimeouts, *[st.none() | st.integers(0, 86400 * 31) for _ in range(3)]
        ),
        umask=st.integers(0, 0o777),
        nftables=st.none() | word,
        nftables_priority=st.integers(-(2**31), 2**31 - 1),
        net_namespace=st.none() | word,
        child_wait_time_s=st.integers(0, 2**32 - 1),
    )
)
def test_render_parse_property(defs: GlobalDefs) -> None:
    if defs.nftables is None:
        defs = GlobalDefs(**{**defs.__dict__, "nftables_priority": -1})
    if defs.vrrp_garp_interval == 0.0:
        defs = GlobalDefs(**{**defs.__dict__, "vrrp_garp_interval": 0.0})
    if defs.net_namespace is not None:
        defs = GlobalDefs(**{**defs.__dict__, "use_pid_dir": True})
    text = render_config(Config(global_defs=defs))
    result = load_text(text)
    assert result.config.global_defs == defs, text
