"""LVS config: SSL, virtual_server_group, virtual_server, real_server, sorry_server.

Expected messages marked "oracle" were captured from Debian's keepalived 2.2.7
(``keepalived -t -f FILE``), with the file name replaced by ``F``.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest

from pykeepalived.config.errors import Severity
from pykeepalived.config.loader import load_text, render_config
from pykeepalived.config.model.checkers import FileCheck
from pykeepalived.config.model.common import Script
from pykeepalived.config.model.lvs import (
    AddressFamily,
    AddressService,
    Forwarding,
    FwmarkService,
    GroupService,
    LbAlgo,
    LbKind,
    LvsConfig,
    Protocol,
    RealServer,
    ServiceFlag,
    SorryServer,
    SslConfig,
    TunnelChecksum,
    TunnelType,
    VirtualServer,
    VsgAddressRange,
    VsgFwmark,
)

from .lvs_tree import load_lvs, messages, render_text

pytestmark = pytest.mark.unit

IP = ipaddress.ip_address
SAMPLES = Path("/work/shared/keepalived-samples")
SEED = Path("/work/shared/seed/keepalived-usage-explained.md")


def one_vs(text: str) -> VirtualServer:
    config, _ = load_lvs(text)
    assert len(config.virtual_servers) == 1
    return config.virtual_servers[0]


def roundtrip(config: LvsConfig) -> LvsConfig:
    again, _ = load_lvs(render_text(config))
    assert again == config
    return again


# --------------------------------------------------------------------------- defaults, fix-ups


MINIMAL = """
virtual_server 192.0.2.1 80 {
    real_server 192.0.2.10 80 {
        TCP_CHECK {
        }
    }
}
"""


def test_minimal_virtual_server_gets_keepalived_defaults_and_messages() -> None:
    config, diags = load_lvs(MINIMAL)
    # oracle: keepalived 2.2.7 -t, exit 5
    assert messages(diags) == [
        "Virtual server [192.0.2.1]:none:80: no protocol set - defaulting to UDP",
        "Virtual server [192.0.2.1]:udp:80: no scheduler set, setting default 'wlc'",
        "Virtual server [192.0.2.1]:udp:80: no forwarding method set, setting default NAT",
    ]
    assert diags.exit_code() == 5
    vs = config.virtual_servers[0]
    assert vs.service == AddressService(IP("192.0.2.1"), 80)
    assert vs.family is AddressFamily.INET
    assert vs.protocol is Protocol.UDP
    assert vs.lb_algo is LbAlgo.WLC
    assert vs.forwarding == Forwarding(LbKind.NAT)
    assert (vs.delay_loop_s, vs.connect_timeout_s) == (60.0, 5.0)
    assert (vs.quorum, vs.hysteresis, vs.weight) == (1, 0, 1)
    assert vs.retry is None and vs.delay_before_retry_s is None and vs.warmup_s is None
    assert vs.smtp_alert is False and vs.smtp_alert_configured is None
    rs = vs.real_servers[0]
    assert rs.forwarding == Forwarding(LbKind.NAT)
    assert (rs.weight, rs.delay_loop_s, rs.connect_timeout_s) == (1, 60.0, 5.0)
    # real servers mail by default, for backwards compatibility (check_data.c)
    assert rs.smtp_alert is True and rs.smtp_alert_configured is None


def test_clean_virtual_server_has_no_messages() -> None:
    _, diags = load_lvs(
        """
virtual_server 192.0.2.1 80 {
    protocol TCP
    lb_algo rr
    lb_kind DR
    real_server 192.0.2.10 80 {
    }
}
"""
    )
    assert messages(diags) == []
    assert diags.exit_code() == 0


def test_global_smtp_alert_sets_real_and_virtual_server_defaults() -> None:
    config, _ = load_lvs(MINIMAL, global_fields={"smtp_alert": False})
    vs = config.virtual_servers[0]
    assert vs.smtp_alert is False and vs.real_servers[0].smtp_alert is False
    config, _ = load_lvs(MINIMAL, global_fields={"smtp_alert": True, "smtp_alert_checker": False})
    assert config.virtual_servers[0].real_servers[0].smtp_alert is False
    config, _ = load_lvs(MINIMAL, global_fields={"smtp_alert": True})
    assert config.virtual_servers[0].smtp_alert is True


def test_real_server_inherits_from_virtual_server() -> None:
    vs = one_vs(
        """
virtual_server 192.0.2.1 80 {
    protocol TCP
    lb_algo wrr
    lb_kind NAT
    delay_loop 7
    connect_timeout 2.5
    retry 4
    delay_before_retry 1.25
    warmup 3
    inhibit_on_failure
    alpha
    weight 5
    virtualhost www.example.com
    real_server 192.0.2.10 {
    }
    real_server 192.0.2.11 8080 {
        weight 0
        inhibit_on_failure off
        alpha no
        retry 2
        delay_loop 9
        virtualhost other
        smtp_alert false
    }
}
"""
    )
    a, b = vs.real_servers
    assert a == RealServer(
        address=IP("192.0.2.10"),
        port=80,  # NAT: a missing port is the virtual server's
        weight=5,
        forwarding=Forwarding(LbKind.NAT),
        inhibit_on_failure=True,
        alpha=True,
        connect_timeout_s=2.5,
        delay_loop_s=7.0,
        retry=4,
        delay_before_retry_s=1.25,
        warmup_s=3.0,
        virtualhost="www.example.com",
        smtp_alert=True,
    )
    assert (b.port, b.weight, b.inhibit_on_failure, b.alpha) == (8080, 0, False, False)
    assert (b.retry, b.delay_loop_s, b.virtualhost) == (2, 9.0, "other")
    assert b.smtp_alert is False and b.smtp_alert_configured is False
    roundtrip(LvsConfig(virtual_servers=(vs,)))


def test_dr_port_reset_and_fwmark_ports_cleared() -> None:
    config, diags = load_lvs(
        """
virtual_server 192.0.2.1 80 {
    protocol TCP
    lb_algo rr
    lb_kind DR
    real_server 192.0.2.10 8080 {
    }
    real_server 192.0.2.11 {
    }
}
virtual_server fwmark 7 {
    lb_algo rr
    lb_kind DR
    real_server 192.0.2.10 8080 {
    }
    real_server 192.0.2.12 8080 {
        lvs_method NAT
    }
}
"""
    )
    # oracle
    assert messages(diags) == [
        "WARNING - virtual server [192.0.2.1]:tcp:80 and real server [192.0.2.10]:tcp:8080 "
        "ports don't match - resetting",
        "WARNING - fwmark virtual server FWM 7, real server [192.0.2.10]:none:8080 has port "
        "specified - clearing",
    ]
    dr, fwm = config.virtual_servers
    assert [rs.port for rs in dr.real_servers] == [80, 80]
    assert fwm.service == FwmarkService(7)
    assert fwm.protocol is None and fwm.family is AddressFamily.INET
    assert [rs.port for rs in fwm.real_servers] == [0, 8080]  # NAT keeps its port
    roundtrip(config)


def test_fixups_of_validate_check_config_oracle() -> None:
    config, diags = load_lvs(
        """
virtual_server fwmark 1 {
    protocol UDP
    lb_kind DR
    ha_suspend
    real_server 192.0.2.10 8080 {
    }
    real_server 2001:db8::10 8080 {
    }
    sorry_server 192.0.2.50 99
    sorry_server_inhibit
    sorry_server_lvs_method TUN type gue port 99 remcsum
}
virtual_server 192.0.2.1 0 {
    protocol SCTP
    persistence_granularity 255.255.255.0
    real_server 192.0.2.10 {
        inhibit_on_failure
    }
    sorry_server 192.0.2.10
}
virtual_server 192.0.2.1 80 {
    protocol tcp
    lb_algo rr
    ops
    real_server 192.0.2.10 80 {
        weight 2
    }
    real_server 192.0.2.10 80 {
    }
    quorum 10
    hysteresis 20
}
virtual_server 192.0.2.2 80 {
}
"""
    )
    # oracle (keepalived 2.2.7 -t)
    assert messages(diags) == [
        "(F: Line 9) Address family of virtual server and real server 2001:db8::10 don't match"
        " - skipping real server.",
        "Virtual server FWM 1: cannot use ha_suspend with fwmarks - clearing ha_suspend",
        "Warning: Virtual server FWM 1: protocol specified for fwmark - protocol will be ignored",
        "Virtual server FWM 1: no scheduler set, setting default 'wlc'",
        "WARNING - fwmark virtual server FWM 1, real server [192.0.2.10]:none:8080 has port "
        "specified - clearing",
        "WARNING - virtual server FWM 1, sorry server has port specified - clearing",
        "Virtual server [192.0.2.1]:sctp:0: no scheduler set, setting default 'wlc'",
        "Virtual server [192.0.2.1]:sctp:0: no forwarding method set, setting default NAT",
        "Virtual server [192.0.2.1]:sctp:0: real server [192.0.2.10]:sctp:0 matches sorry "
        "server, but inhibit setting differs, setting on sorry server",
        "Virtual server [192.0.2.1]:tcp:80: one packet scheduling requires UDP - resetting",
        "Virtual server [192.0.2.1]:tcp:80: no forwarding method set, setting default NAT",
        "VS [192.0.2.1]:tcp:80: real server [192.0.2.10]:tcp:80 is duplicated - removing second rs",
        "Warning - quorum 10 for [192.0.2.1]:tcp:80 exceeds total weight of real servers 2, "
        "reducing quorum to 2",
        "Virtual server [192.0.2.1]:tcp:80: hysteresis 20 >= quorum 2; setting hysteresis to 1",
        "Virtual server [192.0.2.2]:none:80 has no real servers - ignoring",
    ]
    fwm, zero, tcp = config.virtual_servers
    assert not fwm.ha_suspend and fwm.protocol is None
    assert fwm.sorry_server == SorryServer(
        IP("192.0.2.50"),
        0,
        inhibit=True,
        forwarding=Forwarding(LbKind.TUN, TunnelType.GUE, 99, TunnelChecksum.REMCSUM),
    )
    assert zero.persistence_timeout_s == 360
    assert zero.persistence_granularity == ipaddress.IPv4Address("255.255.255.0")
    assert zero.sorry_server is not None and zero.sorry_server.inhibit is True
    assert zero.sorry_server.port == 0  # a NAT sorry server keeps no port
    assert tcp.flags == ServiceFlag.NONE
    assert (tcp.quorum, tcp.hysteresis, len(tcp.real_servers)) == (2, 1, 1)
    roundtrip(config)


def test_zero_port_without_persistence_sets_persistence() -> None:
    config, diags = load_lvs(
        """
virtual_server 192.0.2.1 0 {
    protocol TCP
    lb_algo rr
    lb_kind DR
    real_server 192.0.2.10 {
    }
}
"""
    )
    assert messages(diags) == [
        "Virtual server [192.0.2.1]:tcp:0: zero port only valid for persistent services - setting"
    ]
    vs = config.virtual_servers[0]
    assert vs.service == AddressService(IP("192.0.2.1"), 0)
    assert vs.persistence_timeout_s == 360
    assert vs.real_servers[0].port == 0
    roundtrip(config)


@pytest.mark.parametrize(
    ("line", "timeout"),
    [("persistence_timeout", 360), ("persistence_timeout 50", 50), ("", 0)],
)
def test_persistence_timeout(line: str, timeout: int) -> None:
    vs = one_vs(
        f"""
virtual_server 192.0.2.1 80 {{
    protocol TCP
    {line}
    real_server 192.0.2.10 80 {{
    }}
}}
"""
    )
    assert vs.persistence_timeout_s == timeout


def test_quorum_zero_weight_sum_wraps_hysteresis_like_keepalived() -> None:
    config, diags = load_lvs(
        """
virtual_server 192.0.2.1 80 {
    protocol TCP
    lb_algo rr
    lb_kind NAT
    real_server 192.0.2.10 80 {
        weight 0
    }
}
"""
    )
    vs = config.virtual_servers[0]
    assert (vs.quorum, vs.hysteresis) == (0, 4294967295)
    assert messages(diags)[-1] == (
        "Virtual server [192.0.2.1]:tcp:80: hysteresis 0 >= quorum 0; setting hysteresis to "
        "4294967295"
    )
    roundtrip(config)


# --------------------------------------------------------------------------- keywords & messages


def test_virtual_server_keyword_errors_oracle() -> None:
    _, diags = load_lvs(
        """
virtual_server 192.0.2.1 80 {
    protocol tcp
    lb_algo foo
    hashed
    sh-port
    persistence_timeout
    retry 0
    delay_loop 0
    quorum 0
    hysteresis -1
    weight 0
    ops
    lb_kind TUN type gue port 5555 csum
    real_server 192.0.2.10 {
        weight 70000000000
        lvs_method TUN type ipip csum
        uthreshold -1
    }
}
"""
    )
    # oracle
    assert messages(diags) == [
        "(F: Line 4) Invalid lvs_scheduler 'foo' - ignoring",
        "(F: Line 5) hashed only applies to sh scheduler - ignoring",
        "(F: Line 6) sh-port only applies to sh scheduler - ignoring",
        "(F: Line 8) number '0' outside range [1, 4294967295]",
        "(F: Line 8) retry value invalid - 0",
        "(F: Line 9) number '0' outside range [0.000001, 18446744073709.551614]",
        "(F: Line 9) virtual server delay loop '0' invalid - ignoring",
        "(F: Line 10) number '0' outside range [1, 4294967295]",
        "(F: Line 10) Quorum 0 must be in [1, 4294967295]. Setting to 1.",
        "(F: Line 11) negative number '-1'",
        "(F: Line 11) Hysteresis -1 must be in [0, 4294967295] - ignoring",
        "(F: Line 12) number '0' outside range [1, 2147483647]",
        "(F: Line 12) Virtual server weight 0 is outside range 1-2147483647",
        "(F: Line 16) number '70000000000' outside unsigned integer range",
        "(F: Line 16) Real server weight 70000000000 is outside range 0-2147483647",
        "(F: Line 17) ipip tunnels do not support checksum option.",
        "(F: Line 18) negative number '-1'",
        "(F: Line 18) Invalid real_server uthreshold '-1' - ignoring",
        "Virtual server [192.0.2.1]:tcp:80: one packet scheduling requires UDP - resetting",
        "Virtual server [192.0.2.1]:tcp:80: no scheduler set, setting default 'wlc'",
    ]
    assert all(d.severity is Severity.ERROR for d in diags)


def test_number_and_timer_messages_oracle() -> None:
    config, diags = load_lvs(
        """
virtual_server 192.0.2.1 80 {
    protocol TCP
    retry abc
    retry 12abc
    retry 1.5
    retry +3
    retry 0x10
    delay_loop abc
    delay_loop -1
    delay_loop 1.1234567
    delay_loop 1e3
    connect_timeout 0
    quorum 99999999999
    warmup x
    delay_before_retry -1
    connect_timeout x
    delay_loop 1.5.2
    delay_loop 5x
    real_server 192.0.2.10 80 {
        warmup -1
        delay_loop 0
        connect_timeout 0
        retry 0
        weight -1
        lthreshold x
        inhibit_on_failure maybe
        alpha maybe
        smtp_alert maybe
        virtualhost
        lvs_method FOO
    }
}
"""
    )
    # oracle
    assert messages(diags) == [
        "(F: Line 4) invalid number 'abc'",
        "(F: Line 4) retry value invalid - abc",
        "(F: Line 5) invalid number '12abc'",
        "(F: Line 5) retry value invalid - 12abc",
        "(F: Line 6) invalid number '1.5'",
        "(F: Line 6) retry value invalid - 1.5",
        "(F: Line 8) invalid number '0x10'",
        "(F: Line 8) retry value invalid - 0x10",
        "(F: Line 9) invalid number 'abc'",
        "(F: Line 9) virtual server delay loop 'abc' invalid - ignoring",
        "(F: Line 10) negative number '-1'",
        "(F: Line 10) virtual server delay loop '-1' invalid - ignoring",
        "(F: Line 11) number '1.1234567' has too many decimal places",
        "(F: Line 12) invalid number '1e3'",
        "(F: Line 13) number '0' outside range [0.000001, 4294.967295]",
        "(F: Line 13) virtual server connect_timeout 0 invalid - ignoring",
        "(F: Line 14) number '99999999999' outside unsigned integer range",
        "(F: Line 14) Quorum 99999999999 must be in [1, 4294967295]. Setting to 1.",
        "(F: Line 15) invalid number 'x'",
        "(F: Line 16) negative number '-1'",
        "(F: Line 16) virtual server delay before retry '-1' invalid - ignoring",
        "(F: Line 17) invalid number 'x'",
        "(F: Line 17) virtual server connect_timeout x invalid - ignoring",
        "(F: Line 18) invalid number '1.5.2'",
        "(F: Line 19) invalid number '5x'",
        "(F: Line 21) negative number '-1'",
        "(F: Line 21) real server warmup '-1' invalid - ignoring",
        "(F: Line 22) number '0' outside range [0.000001, 18446744073709.551614]",
        "(F: Line 22) real server delay_loop '0' invalid - ignoring",
        "(F: Line 23) number '0' outside range [0.000001, 4294.967295]",
        "(F: Line 23) real server connect_timeout 0 invalid - ignoring",
        "(F: Line 24) number '0' outside range [1, 4294967295]",
        "(F: Line 24) retry value invalid - 0",
        "(F: Line 25) negative number '-1'",
        "(F: Line 25) Real server weight -1 is outside range 0-2147483647",
        "(F: Line 26) invalid number 'x'",
        "(F: Line 26) Invalid real_server lthreshold 'x' - ignoring",
        "(F: Line 27) Invalid inhibit_on_failure parameter maybe",
        "(F: Line 28) Invalid alpha parameter maybe",
        "(F: Line 29) Invalid real_server smtp_alert parameter maybe",
        "(F: Line 30) real server virtualhost missing",
        "(F: Line 31) PARSER : unknown [FOO] routing method for real server.",
        "Virtual server [192.0.2.1]:tcp:80: no scheduler set, setting default 'wlc'",
        "Virtual server [192.0.2.1]:tcp:80: no forwarding method set, setting default NAT",
    ]
    vs = config.virtual_servers[0]
    # "+3" is a valid retry; "5x" still reads as 5 s; "x" as a warmup reads as 0 s
    assert (vs.retry, vs.delay_loop_s, vs.warmup_s) == (3, 5.0, 0.0)


@pytest.mark.parametrize(
    "keyword", ["lb_algo", "retry", "quorum", "protocol", "sorry_server", "lb_kind", "ip_family"]
)
def test_missing_parameter_aborts_oracle(keyword: str) -> None:
    _, diags = load_lvs(
        f"""
virtual_server 192.0.2.1 80 {{
    protocol TCP
    {keyword}
    real_server 192.0.2.10 80 {{
    }}
}}
"""
    )
    # oracle: exit 2
    assert messages(diags)[0] == (
        f"(F: Line 4) *** Configuration line starting `{keyword}` is missing a parameter "
        f"after keyword `{keyword}` at word position 2"
    )
    assert diags.exit_code() == 2


def test_bad_addresses_and_ports_oracle() -> None:
    _, diags = load_lvs(
        """
virtual_server 192.0.2.1 99999 {
}
virtual_server 192.0.2.1 abc {
}
virtual_server fwmark x {
}
virtual_server 192.0.2.1 80 {
    protocol TCP
    lb_algo rr
    lb_kind NAT
    sorry_server 192.0.2.9 abc
    sorry_server 192.0.2.9 99999
    sorry_server_inhibit
    real_server 192.0.2.10 abc {
    }
    real_server 192.0.2.10 99999 {
        this_is_skipped
    }
    real_server 192.0.2.10 {
    }
}
"""
    )
    # oracle (the skipped blocks' contents are not read)
    assert messages(diags) == [
        "(F: Line 2) number '99999' outside range [1, 65535]",
        "(F: Line 2) Invalid virtual server IP address/port 192.0.2.1/99999 - skipping",
        "(F: Line 4) invalid number 'abc'",
        "(F: Line 4) Invalid virtual server IP address/port 192.0.2.1/abc - skipping",
        "(F: Line 6) invalid number 'x'",
        "(F: Line 6) virtual server fwmark 'x' must be in [0, 4294967295] - ignoring",
        "(F: Line 12) invalid number 'abc'",
        "(F: Line 12) Invalid sorry server IP address 192.0.2.9 - skipping",
        "(F: Line 13) number '99999' outside range [1, 65535]",
        "(F: Line 13) Invalid sorry server IP address 192.0.2.9 - skipping",
        "(F: Line 14) Ignoring sorry_server inhibit used before or without sorry_server",
        "(F: Line 15) invalid number 'abc'",
        "(F: Line 15) Invalid real server ip address/port 192.0.2.10/abc - skipping",
        "(F: Line 17) number '99999' outside range [1, 65535]",
        "(F: Line 17) Invalid real server ip address/port 192.0.2.10/99999 - skipping",
    ]


def test_unknown_keyword_in_virtual_server() -> None:
    _, diags = load_lvs(
        """
virtual_server 192.0.2.1 80 {
    protocol TCP
    lb_algo rr
    lb_kind NAT
    nat_mask 255.255.255.0
    real_server 192.0.2.10 80 {
        nb_get_retry 3
    }
}
"""
    )
    assert messages(diags) == [
        "(F: Line 6) Unknown keyword 'nat_mask'",
        "(F: Line 8) Unknown keyword 'nb_get_retry'",
    ]


def test_scheduler_aliases_and_flags() -> None:
    vs = one_vs(
        """
virtual_server 192.0.2.1 80 {
    protocol UDP
    lvs_sched sh
    sh-port
    sh-fallback
    mh-port
    flag-3
    ops
    lvs_method DR
    real_server 192.0.2.10 80 {
    }
}
"""
    )
    assert vs.lb_algo is LbAlgo.SH
    assert vs.forwarding == Forwarding(LbKind.DR)
    # mh-port under sh is silently ignored, as in keepalived
    assert vs.flags == (
        ServiceFlag.SH_PORT | ServiceFlag.SH_FALLBACK | ServiceFlag.SCHED3 | ServiceFlag.ONEPACKET
    )
    text = render_text(LvsConfig(virtual_servers=(vs,)))
    assert "    ops\n    sh-fallback\n    sh-port\n    flag-3\n" in text
    roundtrip(LvsConfig(virtual_servers=(vs,)))


def test_every_scheduler_name_is_accepted() -> None:
    for algo in LbAlgo:
        vs = one_vs(
            f"virtual_server 192.0.2.1 80 {{\n protocol TCP\n lb_algo {algo.value}\n"
            " real_server 192.0.2.10 80 {\n }\n}\n"
        )
        assert vs.lb_algo is algo


@pytest.mark.parametrize(
    ("line", "forwarding", "message"),
    [
        ("lb_kind TUN", Forwarding(LbKind.TUN), None),
        (
            "lb_kind TUN type gre csum",
            Forwarding(LbKind.TUN, TunnelType.GRE, 0, TunnelChecksum.CSUM),
            None,
        ),
        (
            "lb_kind TUN type gue port 6080 nocsum",
            Forwarding(LbKind.TUN, TunnelType.GUE, 6080, TunnelChecksum.NOCSUM),
            None,
        ),
        (
            "lb_kind TUN type gue",
            Forwarding(LbKind.TUN),
            "gue tunnels require port, otherwise cannot have port.",
        ),
        (
            "lb_kind TUN type gre remcsum",
            Forwarding(LbKind.TUN),
            "gre tunnels do not support remote checksum option.",
        ),
        (
            "lb_kind TUN type foo",
            Forwarding(LbKind.TUN),
            "Unknown tunnel type foo for virtual server.",
        ),
        ("lb_kind TUN type", Forwarding(LbKind.TUN), "Missing tunnel type for virtual server."),
        ("lb_kind TUN port", Forwarding(LbKind.TUN), "Missing port for virtual server gue tunnel."),
        (
            "lb_kind TUN bogus",
            Forwarding(LbKind.TUN),
            "Invalid tunnel option bogus for virtual server.",
        ),
        ("lb_kind NAT", Forwarding(LbKind.NAT), None),
    ],
)
def test_forwarding_and_tunnel_options(
    line: str, forwarding: Forwarding, message: str | None
) -> None:
    config, diags = load_lvs(
        f"virtual_server 192.0.2.1 80 {{\n protocol TCP\n lb_algo rr\n {line}\n"
        " real_server 192.0.2.10 80 {\n }\n}\n"
    )
    vs = config.virtual_servers[0]
    assert vs.forwarding == forwarding
    assert vs.real_servers[0].forwarding == forwarding
    got = [d.message for d in diags]
    assert got == ([message] if message else [])
    roundtrip(config)


def test_real_server_forwarding_and_sorry_server_forwarding_render() -> None:
    config, _ = load_lvs(
        """
virtual_server 192.0.2.1 80 {
    protocol TCP
    lb_algo rr
    real_server 192.0.2.10 80 {
        lvs_method DR
    }
    real_server 2001:db8::10 80 {
        lvs_method TUN type gue port 6080
    }
}
"""
    )
    vs = config.virtual_servers[0]
    assert vs.forwarding is None  # every real server has its own method: no NAT default
    assert [rs.forwarding.method for rs in vs.real_servers] == [LbKind.DR, LbKind.TUN]
    text = render_text(config)
    assert "lb_kind" not in text
    assert "lvs_method TUN type gue port 6080" in text
    roundtrip(config)


def test_ip_family_and_mixed_tunnelled_fwmark() -> None:
    config, diags = load_lvs(
        """
virtual_server fwmark 3 {
    lb_algo rr
    lb_kind TUN
    real_server 2001:db8::1 {
    }
    real_server 192.0.2.1 {
    }
}
virtual_server fwmark 4 {
    ip_family inet6
    ip_family inet
    ip_family bogus
    lb_algo rr
    lb_kind TUN
    real_server 2001:db8::1 {
    }
}
"""
    )
    assert messages(diags) == [
        "(F: Line 12) Virtual server specified family inet conflicts with server family",
        "(F: Line 13) unknown address family bogus",
    ]
    mixed, v6 = config.virtual_servers
    assert mixed.family is AddressFamily.INET  # mixed tunnelled families default to IPv4
    assert v6.family is AddressFamily.INET6
    roundtrip(config)


def test_scripts_are_split_like_keepalived() -> None:
    vs = one_vs(
        """
virtual_server 192.0.2.1 80 {
    protocol TCP
    quorum_up "/usr/local/bin/up.sh 'a b' c\\\\d" nobody nogroup
    quorum_down /bin/down.sh extra
    quorum_down /bin/ignored.sh
    real_server 192.0.2.10 80 {
        notify_up "/bin/rs up"
        notify_down /bin/rs_down
    }
}
"""
    )
    # the line is unescaped twice (line, then command), so "c\\\\d" ends up as "cd"
    assert vs.quorum_up == Script(("/usr/local/bin/up.sh", "a b", "cd"), "nobody", "nogroup")
    # keepalived takes the second word as the user, not as an argument
    assert vs.quorum_down == Script(("/bin/down.sh",), "extra")
    rs = vs.real_servers[0]
    assert rs.notify_up == Script(("/bin/rs", "up"))
    assert rs.notify_down == Script(("/bin/rs_down",))
    roundtrip(LvsConfig(virtual_servers=(vs,)))


def test_duplicate_quorum_script_message_oracle_format() -> None:
    _, diags = load_lvs(
        """
virtual_server 192.0.2.1 80 {
    protocol TCP
    quorum_up /bin/a
    quorum_up /bin/b
    real_server 192.0.2.10 80 {
        notify_up /bin/a
        notify_up /bin/b
    }
}
"""
    )
    msgs = messages(diags)
    assert "(F: Line 5) ((null)) quorum_up script already specified - ignoring /bin/b" in msgs
    assert "(F: Line 8) ((null)) notify_up script already specified - ignoring /bin/b" in msgs


def test_ssl_block() -> None:
    config, diags = load_lvs(
        """
SSL {
    password secret
    ca /etc/ca.pem
    certificate /etc/cert.pem
    key /etc/key.pem
    key /etc/key2.pem
    ca
}
"""
    )
    assert config.ssl == SslConfig("secret", "/etc/ca.pem", "/etc/cert.pem", "/etc/key2.pem")
    assert messages(diags) == [
        "(F: Line 7) SSL keyfile already specified - replacing",
        "(F: Line 8) SSL cafile missing",
    ]
    roundtrip(config)
    config, diags = load_lvs("SSL {\n}\nSSL {\n password x\n}\n")
    assert config.ssl == SslConfig(password="x")
    assert messages(diags) == ["(F: Line 3) SSL context already specified - replacing"]


def test_persistence_engine_and_granularity() -> None:
    config, diags = load_lvs(
        """
virtual_server 2001:db8::1 5060 {
    protocol UDP
    lb_algo rr
    lb_kind NAT
    persistence_engine sip_with_a_very_long_name
    persistence_granularity 64
    real_server 2001:db8::10 5060 {
    }
}
"""
    )
    vs = config.virtual_servers[0]
    assert vs.persistence_engine == "sip_with_a_very"
    assert vs.persistence_granularity == 64
    assert vs.persistence_timeout_s == 360
    assert messages(diags) == [
        "(F: Line 6) persistence_name too long, truncating - sip_with_a_very_long_name"
    ]
    roundtrip(config)


def test_group_service_needs_a_configured_group() -> None:
    config, diags = load_lvs(
        """
virtual_server group nosuch {
    protocol TCP
    real_server 192.0.2.1 80 {
    }
}
"""
    )
    assert config.virtual_servers == ()
    # keepalived only logs this one (syslog): a warning, -t still exits 0
    assert [d.severity for d in diags] == [Severity.WARNING]
    assert diags.exit_code() == 0


# --------------------------------------------------------------------------- groups


def test_virtual_server_group_entries() -> None:
    config, diags = load_lvs(
        """
virtual_server_group G1 {
    192.0.2.1 80
    192.0.2.1-10 80
    192.0.2.0/30 80
    192.0.2.20-192.0.2.30 443
    192.0.2.40 0
    fwmark 5 inet
}
virtual_server_group G6 {
    2001:db8::1-ff 80
    2001:db8::/120 80
    fwmark 6 inet6
    fwmark 7
}
virtual_server group G1 {
    protocol TCP
    lb_algo rr
    lb_kind NAT
    real_server 192.0.2.100 80 {
    }
}
"""
    )
    g1, g6 = config.virtual_server_groups
    v4 = ipaddress.IPv4Address
    v6 = ipaddress.IPv6Address
    assert g1.entries == (
        VsgAddressRange(v4("192.0.2.1"), v4("192.0.2.1"), 80),
        VsgAddressRange(v4("192.0.2.1"), v4("192.0.2.10"), 80),
        VsgAddressRange(v4("192.0.2.0"), v4("192.0.2.3"), 80),
        VsgAddressRange(v4("192.0.2.20"), v4("192.0.2.30"), 443),
        VsgAddressRange(v4("192.0.2.40"), v4("192.0.2.40"), 0),
        VsgFwmark(5, AddressFamily.INET),
    )
    assert g6.entries == (
        VsgAddressRange(v6("2001:db8::1"), v6("2001:db8::ff"), 80),
        VsgAddressRange(v6("2001:db8::"), v6("2001:db8::ff"), 80),
        VsgFwmark(6, AddressFamily.INET6),
        VsgFwmark(7, None),
    )
    # a group address without a port forces persistence
    assert messages(diags) == [
        "Virtual server [G1]:0: zero port only valid for persistent services - setting"
    ]
    vs = config.virtual_servers[0]
    assert vs.service == GroupService("G1")
    assert vs.persistence_timeout_s == 360
    assert vs.real_servers[0].port == 80
    text = render_text(config)
    assert "    192.0.2.1-10 80\n    192.0.2.0/30 80\n    192.0.2.20-30 443\n" in text
    assert "    2001:db8::1-2001:db8::ff 80\n    2001:db8::/120 80\n" in text
    assert len(g1.entries[1].addresses()) == 10
    roundtrip(config)


def test_virtual_server_group_errors_oracle() -> None:
    _, diags = load_lvs(
        """
virtual_server_group G1 {
    192.0.2.1-10 80
    2001:db8::1-ff 80
    fwmark 6
    192.0.2.9-5 80
    192.0.2.1/33
    192.0.2.1/24
    fwmark 7 foo
    fwmark x
    1.2.3 80
}
virtual_server_group EMPTY {
}
virtual_server_group G {
    2001:db8::1-fffff 80
    2001:db8::5-3 80
    2001:db8::1-g 80
    192.0.2.1-0x5 80
    192.0.2.1 abc
    192.0.2.1-abc 80
    192.0.2.1-300 80
    192.0.2.1-2001:db8::1 80
    192.0.2.1 99999
    192.0.2.2-192.0.2.1 80
}
"""
    )
    # oracle
    assert messages(diags) == [
        "(F: Line 6) Address range end is not greater than address range start - 192.0.2.9-5 "
        "- skipping",
        "(F: Line 7) Invalid netmask - 192.0.2.1/33 - skipping",
        "(F: Line 8) Address mask bits not empty - 192.0.2.1/24 - skipping",
        "(F: Line 9) (G1): fwmark '7' family foo unknown - ignoring",
        "(F: Line 10) invalid number 'x'",
        "(F: Line 10) (G1): fwmark 'x' must be in [0, 4294967295] - ignoring",
        "(F: Line 11) Invalid virtual server group IP address 1.2.3 /port/80 - skipping",
        "(F: Line 12) virtual server group G1 cannot have IPv4, IPv6 and fwmark without family "
        "- removing",
        "(F: Line 14) virtual server group EMPTY has no entries - removing",
        "(F: Line 16) Virtual server group range '2001:db8::1-fffff' end 'fffff' too large",
        "(F: Line 17) Address range end is not greater than address range start - "
        "2001:db8::5-3 - skipping",
        "(F: Line 18) Virtual server group range '2001:db8::1-g' has extra characters at end 'g'",
        "(F: Line 19) Virtual server group range '192.0.2.1-0x5' has extra characters at end 'x5'",
        "(F: Line 20) invalid number 'abc'",
        "(F: Line 20) Invalid virtual server group IP address 192.0.2.1 /port/abc - skipping",
        "(F: Line 21) Virtual server group range '192.0.2.1-abc' has extra characters at end 'abc'",
        "(F: Line 22) Virtual server group range '192.0.2.1-300' end '300' too large",
        "(F: Line 23) Invalid virtual server group IP address 192.0.2.1-2001:db8::1 /port/80 - "
        "skipping",
        "(F: Line 24) number '99999' outside range [1, 65535]",
        "(F: Line 24) Invalid virtual server group IP address 192.0.2.1 /port/99999 - skipping",
        "(F: Line 25) Address range end is less than address range start - "
        "192.0.2.2-192.0.2.1 - skipping",
        "(F: Line 26) virtual server group G has no entries - removing",
    ]


def test_group_port_checks_only_warn_oracle() -> None:
    config, diags = load_lvs(
        """
virtual_server_group G2 {
  192.0.2.1 80
  fwmark 5 inet
}
virtual_server group G2 {
    protocol TCP
    lb_algo sh
    sh-port
    mh-port
    flag-3
    lb_kind DR
    quorum 10
    hysteresis 20
    ha_suspend
    real_server 192.0.2.10 8080 {
        weight 2
    }
    real_server 192.0.2.10 8080 {
    }
    sorry_server 192.0.2.50 99
}
"""
    )
    # oracle
    assert messages(diags) == [
        "Virtual server [G2]:0: cannot use ha_suspend with fwmarks - clearing ha_suspend",
        "VS [G2]:0: real server [192.0.2.10]:tcp:8080 is duplicated - removing second rs",
        "Warning - quorum 10 for [G2]:0 exceeds total weight of real servers 2, reducing quorum "
        "to 2",
        "Virtual server [G2]:0: hysteresis 20 >= quorum 2; setting hysteresis to 1",
        "WARNING - fwmark virtual server [G2]:0, real server [192.0.2.10]:tcp:8080 has port "
        "specified - port will be ignored",
        "WARNING - fwmark virtual server [G2]:0, sorry server has port specified - port will be "
        "ignored",
        "virtual server [G2]:0:[192.0.2.1,80] and real server [192.0.2.10]:tcp:8080 ports don't "
        "match",
        "WARNING - virtual server [G2]:0, sorry server has port specified - port will be ignored",
    ]
    vs = config.virtual_servers[0]
    assert vs.real_servers[0].port == 8080  # groups only warn
    assert vs.family is AddressFamily.INET
    roundtrip(config)


# --------------------------------------------------------------------------- render


CANONICAL = """\
SSL {
    ca /etc/keepalived/ca.pem
}
virtual_server_group web {
    192.0.2.1-3 80
    fwmark 9 inet
}
virtual_server 192.0.2.1 443 {
    protocol TCP
    lb_algo wrr
    lb_kind DR
    persistence_timeout 300
    delay_loop 10
    retry 2
    inhibit_on_failure
    quorum 2
    hysteresis 1
    quorum_up "/usr/bin/logger 'quorum up'"
    virtualhost www.example.com
    smtp_alert true
    sorry_server 192.0.2.99 443
    real_server 192.0.2.10 443 {
        weight 2
        notify_down "/bin/echo down" nobody
        TCP_CHECK {
            connect_timeout 3
        }
    }
    real_server 192.0.2.11 443 {
        HTTP_GET {
            url {
                path /health
                status_code 200 204
            }
        }
    }
}
"""


def test_render_is_canonical_and_stable() -> None:
    config, diags = load_lvs(CANONICAL)
    assert messages(diags) == []
    assert render_text(config) == CANONICAL
    roundtrip(config)


def test_render_writes_resolved_values_once() -> None:
    config, _ = load_lvs(MINIMAL)
    assert render_text(config) == (
        "virtual_server 192.0.2.1 80 {\n"
        "    protocol UDP\n"
        "    lb_algo wlc\n"
        "    lb_kind NAT\n"
        "    real_server 192.0.2.10 80 {\n"
        "        TCP_CHECK {\n"
        "        }\n"
        "    }\n"
        "}\n"
    )
    again, diags = load_lvs(render_text(config))
    assert again == config
    assert messages(diags) == []  # the fixed-up config is clean


def _lvs_part_sample_files() -> list[Path]:
    files = [*sorted(SAMPLES.glob("keepalived.conf.*")), SAMPLES / "etc_keepalived/keepalived.conf"]
    return [f for f in files if "virtual_server" in f.read_text()]


@pytest.mark.parametrize("path", _lvs_part_sample_files(), ids=lambda p: p.name)
def test_samples_round_trip(path: Path) -> None:
    config, diags = load_lvs(path.read_text())
    assert config.virtual_servers
    assert not [d for d in diags if d.severity >= Severity.FATAL]
    roundtrip(config)


def _seed_config() -> str:
    text = SEED.read_text()
    start = text.index("\t! Configuration File for keepalived")
    return text[start:]


def test_seed_config_round_trip() -> None:
    config, diags = load_lvs(_seed_config())
    vs = config.virtual_servers[0]
    assert vs.service == AddressService(IP("192.168.68.222"), 80)
    assert (vs.lb_algo, vs.forwarding, vs.persistence_timeout_s) == (
        LbAlgo.WRR,
        Forwarding(LbKind.DR),
        50,
    )
    assert [rs.weight for rs in vs.real_servers] == [10, 10]
    assert all(rs.inhibit_on_failure for rs in vs.real_servers)
    # 2.2.7 knows no nb_get_retry in TCP_CHECK (it is HTTP_GET/SSL_GET only)
    assert [m for m in messages(diags) if "nb_get_retry" in m] == [
        "(F: Line 62) Unknown keyword 'nb_get_retry'",
        "(F: Line 90) Unknown keyword 'nb_get_retry'",
    ]
    roundtrip(config)


def test_render_quotes_odd_words() -> None:
    vs = VirtualServer(
        service=AddressService(IP("192.0.2.1"), 80),
        family=AddressFamily.INET,
        protocol=Protocol.TCP,
        virtualhost="a b",
        quorum_up=Script(("/bin/x", "it's", 'say "hi"')),
        real_servers=(
            RealServer(
                address=IP("192.0.2.2"),
                port=80,
                weight=1,
                forwarding=Forwarding(),
                virtualhost="a b",
            ),
        ),
    )
    config = LvsConfig(virtual_servers=(vs,))
    text = render_text(config)
    assert re.search(r'virtualhost "a b"', text)
    roundtrip(config)


# --------------------------------------------------------------------------- through the loader


def test_load_text_reads_and_round_trips_lvs_samples() -> None:
    for path in _lvs_part_sample_files():
        result = load_text(path.read_text(), filename="F")
        lvs_only, _ = load_lvs(path.read_text())
        assert result.config.lvs == lvs_only, path.name
        again = load_text(render_config(result.config), filename="F")
        assert again.config.lvs == result.config.lvs, path.name


def test_load_text_global_smtp_alert_and_track_file_lookup() -> None:
    result = load_text(
        """
global_defs {
    smtp_alert_checker false
}
track_file tf1 {
    file /run/keepalived-test-tf1
    weight 5 reverse
}
virtual_server 192.0.2.1 80 {
    protocol TCP
    lb_algo rr
    lb_kind NAT
    real_server 192.0.2.10 8080 {
        FILE_CHECK {
            track_file tf1
        }
        FILE_CHECK {
            track_file nosuch
        }
    }
}
""",
        filename="F",
    )
    rs = result.config.lvs.virtual_servers[0].real_servers[0]
    assert rs.smtp_alert is False
    assert rs.checkers == (FileCheck(track_file="tf1", weight=5, reverse=True),)
    msgs = [d.message for d in result.diagnostics]
    # oracle wording
    assert "track_file nosuch not found" in msgs
    assert "FILE_CHECK has no track_file specified - ignoring" in msgs


def test_script_security_against_the_running_system() -> None:
    text = """
virtual_server 192.0.2.1 80 {
    protocol TCP
    lb_algo rr
    lb_kind NAT
    real_server 192.0.2.10 8080 {
        MISC_CHECK {
            misc_path /nonexistent/pykeepalived-check
        }
        MISC_CHECK {
            misc_path /bin/true
        }
    }
}
"""
    result = load_text(text, filename="F", interface_exists=lambda name: True)
    # oracle: keepalived 2.2.7 -t exits 6 with this line (the missing script is only logged)
    assert [d.message for d in result.diagnostics if d.severity is Severity.SECURITY] == [
        "SECURITY VIOLATION - check scripts are being executed but script_security not enabled."
    ]
    assert result.diagnostics.exit_code() == 6
    assert len(result.config.lvs.virtual_servers[0].real_servers[0].checkers) == 1
    # pure parsing does not look at the file system
    pure = load_text(text, filename="F")
    assert pure.diagnostics.exit_code() == 0
    assert len(pure.config.lvs.virtual_servers[0].real_servers[0].checkers) == 2
