"""Tracked objects and groups: vrrp_script, track_file, vrrp_track_process, bfd_instance,
track_* blocks, vrrp_sync_group, track_group, garp_group, linkbeat_interfaces,
interface_up_down_delays, static_*. Expected messages captured from keepalived 2.2.7 -t."""

from __future__ import annotations

import ipaddress
import os
import stat
from pathlib import Path

import pytest

from pykeepalived.config.errors import EXIT_CONFIG, EXIT_FATAL, EXIT_SECURITY, Severity
from pykeepalived.config.model.vrrp import LinkbeatType, ParamMatch, Tracked

from .vrrp_helpers import instance, load, messages, vrrp_instance

pytestmark = pytest.mark.unit

ETH0 = ("lo", "eth0")


def test_vrrp_script_defaults_and_values() -> None:
    text = (
        "vrrp_script chk {\n"
        '  script "/usr/local/bin/check \\"x y\\" --fast"\n'
        "  interval 2\n  timeout 3\n  weight -20 reverse\n  rise 2\n  fall 4\n"
        "  user nobody nogroup\n  init_fail\n}\n"
        "vrrp_script plain {\n  script /bin/true ignored words\n}\n"
    )
    r = load(text)
    assert messages(r) == []
    chk, plain = r.config.vrrp.scripts
    assert chk.script.argv == ("/usr/local/bin/check", "x y", "--fast")
    assert (chk.script.user, chk.script.group) == ("nobody", "nogroup")
    assert (chk.interval_s, chk.timeout_s, chk.effective_timeout_s) == (2.0, 3.0, 3.0)
    assert (chk.weight, chk.weight_reverse, chk.rise, chk.fall, chk.init_fail) == (
        -20,
        True,
        2,
        4,
        True,
    )
    # keepalived uses only the first word after "script" (split again): extra words are lost
    assert plain.script.argv == ("/bin/true",)
    assert (plain.interval_s, plain.timeout_s, plain.effective_timeout_s) == (1.0, None, 1.0)
    assert (plain.weight, plain.rise, plain.fall) == (0, 1, 1)


SCRIPT_ERRORS = """\
vrrp_script chk4 {
}
vrrp_script chk5 {
  script /bin/true a b
  interval 0
  timeout x
  weight 300
  rise 0
  fall -1
}
"""


def test_vrrp_script_bad_values() -> None:
    r = load(SCRIPT_ERRORS)
    # keepalived 2.2.7 (t_order.conf; its "Unable to set default user" lines depend on the
    # machine's users and are not reproduced)
    assert messages(r) == [
        "(t.conf: Line 2) No script set for vrrp_script chk4 - removing",
        "(t.conf: Line 5) (chk5): vrrp script interval must be greater than 0, setting to 1",
        "(t.conf: Line 6) invalid number 'x'",
        "(t.conf: Line 6) (chk5): vrrp script timeout 'x' invalid - ignoring",
        "(t.conf: Line 7) number '300' outside range [-253, 253]",
        "(t.conf: Line 7) vrrp_script chk5 weight 300 must be in [-253, 253]",
        "(t.conf: Line 8) number '0' outside range [1, 2147483647]",
        "(t.conf: Line 8) (chk5): vrrp script rise value '0' invalid, defaulting to 1",
        "(t.conf: Line 9) negative number '-1'",
        "(t.conf: Line 9) (chk5): vrrp script fall value '-1' invalid, defaulting to 1",
    ]
    assert [s.name for s in r.config.vrrp.scripts] == ["chk5"]


def test_track_script_must_be_defined_first() -> None:
    text = vrrp_instance("track_script {\n chk\n}") + 'vrrp_script chk {\n script "/bin/true"\n}\n'
    r = load(text)
    assert messages(r) == ["(t.conf: Line 5) (VI_1) track script chk not found, ignoring..."]
    assert instance(r).track_scripts == ()


TRACKING = """\
vrrp_script chk {
  script "/bin/true"
  weight 10
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 5
  virtual_ipaddress {
    192.0.2.9
  }
  track_interface {
    eth0
    eth0
  }
  track_script {
    chk
    chk weight 5
    nochk
    chk2 foo
  }
}
"""


def test_track_lists_messages() -> None:
    r = load(TRACKING, ETH0)
    # keepalived 2.2.7 (t_trk2.conf, VI_1 part)
    assert messages(r) == [
        "(t.conf: Line 13) (VI_1) duplicate track_interface eth0 - ignoring",
        "(t.conf: Line 17) (VI_1) duplicate track_script chk - ignoring",
        "(t.conf: Line 18) (VI_1) track script nochk not found, ignoring...",
        "(t.conf: Line 19) (VI_1) track script chk2 not found, ignoring...",
        "SECURITY VIOLATION - scripts are being executed but script_security not enabled.",
        "(VI_1) Ignoring track_interface eth0 since own interface",
    ]
    assert r.diagnostics.exit_code() == EXIT_SECURITY
    i = instance(r)
    assert i.track_interfaces == ()
    assert i.track_scripts == (Tracked("chk", 10, False),)  # the script's own weight


def test_track_weights_and_reverse() -> None:
    text = (
        'vrrp_script a {\n script "/bin/true"\n weight 4 reverse\n}\n'
        'vrrp_script b {\n script "/bin/true"\n}\n'
        + vrrp_instance(
            "track_interface {\n eth1 weight -30 reverse\n eth2 weight 254\n}\n"
            "track_script {\n a weight 7 noreverse\n b weight -254\n}"
        )
    )
    r = load(text)
    assert messages(r) == [
        "(t.conf: Line 13) (VI_1) weight for eth2 cannot be +/-254. Setting to +/-253",
        "(t.conf: Line 17) (VI_1) weight for b cannot be +/-254. Setting to +/-253",
    ]
    i = instance(r)
    assert [(t.name, t.weight, t.reverse) for t in i.track_interfaces] == [
        ("eth1", -30, True),
        ("eth2", 253, False),
    ]
    assert [(t.name, t.weight, t.reverse) for t in i.track_scripts] == [
        ("a", 7, False),
        ("b", -253, False),
    ]


def test_tracked_interface_missing() -> None:
    r = load(vrrp_instance("track_interface {\n eth7\n}"), ETH0)
    assert messages(r) == [
        "(t.conf: Line 5) (VI_1) tracked interface eth7 doesn't exist",
        "Non-existent interface specified in configuration",
    ]


TRACK_OBJECTS = """\
track_file tf {
  file /tmp/orc/tf.val
  weight 300
  weight 2
}
track_file tf2 {
  weight 4
}
vrrp_track_file tf3 {
  file /tmp/orc/tf3.val
  weight 3 reverse
  init_file 7 overwrite bogus
}
vrrp_track_process tp {
  process sshd -D
  weight 5 reverse
  quorum 2
  quorum_max 1
  delay 0
}
vrrp_track_process tp2 {
  weight 1
}
"""


def test_track_file_and_process() -> None:
    r = load(TRACK_OBJECTS)
    # keepalived 2.2.7 (t_trk.conf; it prints the track_file lines once more, from its
    # checker process, before everything else)
    assert messages(r) == [
        "(t.conf: Line 3) number '300' outside range [-254, 254]",
        "(t.conf: Line 3) Weight (300) for track_file tf must be between [-254..254] inclusive."
        " Ignoring...",
        "(t.conf: Line 8) No file set for track_file tf2 - ignoring",
        "(t.conf: Line 12) Unknown track file init option bogus",
        "(t.conf: Line 18) quorum_max is less than quorum - ignoring",
        "(t.conf: Line 19) number '0' outside range [0.000001, 3600.000000]",
        "(t.conf: Line 19) delay (0) for vrrp_track_process tp must be between"
        " [0.000001..3600] inclusive. Ignoring...",
        "(t.conf: Line 23) track process 'tp2' process name not specified",
    ]
    tf, tf3 = r.config.vrrp.track_files
    assert (tf.name, tf.path, tf.weight) == ("tf", "/tmp/orc/tf.val", 2)
    assert (tf3.weight, tf3.weight_reverse, tf3.init_file, tf3.init_value) == (3, True, True, 7)
    assert tf3.init_overwrite
    (tp,) = r.config.vrrp.track_processes
    assert (tp.process, tp.params, tp.param_match) == ("sshd", ("-D",), ParamMatch.EXACT)
    assert (tp.weight, tp.weight_reverse, tp.quorum, tp.quorum_max) == (5, True, 2, None)
    assert tp.full_command
    assert any("deprecated" in d.message for d in r.diagnostics if d.severity == Severity.INFO)


BFD = """\
bfd_instance b1 {
  neighbor_ip 192.0.2.50
  min_rx 0
  min_tx 5000000
  idle_tx 1
  multiplier 0
}
bfd_instance b2 {
  neighbour_ip 192.0.2.51
  min_rx 4294968
  multiplier 256
  idle_tx x
  max_hops 5
  hoplimit 3
  weight 5 sideways
}
bfd_instance b3 {
  neighbor_ip bogus
  min_rx 5
}
bfd_instance b4 {
  neighbor_ip 192.0.2.51
}
bfd_instance b5 {
  passive
}
"""


def test_bfd_instances() -> None:
    r = load(BFD)
    # keepalived 2.2.7 -t (t_bfd.conf): the VRRP process's line first, then the BFD process's
    assert messages(r) == [
        "(t.conf: Line 15) Configuration error: BFD instance b2 unknown weight option sideways",
        "(t.conf: Line 3) number '0' outside range [1.000, 4294967.000]",
        "(t.conf: Line 3) Configuration error: BFD instance b1 min_rx value 0 is not valid"
        " (must be in range [1-4294967]), ignoring",
        "(t.conf: Line 4) number '5000000' outside range [1.000, 4294967.000]",
        "(t.conf: Line 4) Configuration error: BFD instance b1 min_tx value 5000000 is not"
        " valid (must be in range [1-4294967]), ignoring",
        "(t.conf: Line 5) number '1' outside range [1000.000, 4294967.000]",
        "(t.conf: Line 5) Configuration error: BFD instance b1 idle_tx value 1 is not valid"
        " (must be in range [1000-4294967]), ignoring",
        "(t.conf: Line 6) number '0' outside range [1, 255]",
        "(t.conf: Line 6) Configuration error: BFD instance b1 multiplier value 0 not valid"
        " (must be in range [1-255]), ignoring",
        "(t.conf: Line 10) number '4294968' outside range [1.000, 4294967.000]",
        "(t.conf: Line 10) Configuration error: BFD instance b2 min_rx value 4294968 is not"
        " valid (must be in range [1-4294967]), ignoring",
        "(t.conf: Line 11) number '256' outside range [1, 255]",
        "(t.conf: Line 11) Configuration error: BFD instance b2 multiplier value 256 not valid"
        " (must be in range [1-255]), ignoring",
        "(t.conf: Line 12) invalid number 'x'",
        "(t.conf: Line 12) Configuration error: BFD instance b2 idle_tx value x is not valid"
        " (must be in range [1000-4294967]), ignoring",
        "(t.conf: Line 16) BFD instance b2: max_hops exceeds ttl/hoplimit - setting to"
        " ttl/hoplimit",
        "(t.conf: Line 18) Configuration error: BFD instance b3 has malformed neighbor address"
        " bogus, ignoring instance",
        "(t.conf: Line 23) Configuration error: BFD instance b4 has duplicate neighbor address"
        " 192.0.2.51, ignoring instance",
        "(t.conf: Line 26) Configuration error: BFD instance b5 has no neighbor address set,"
        " disabling instance",
    ]
    b1, b2 = r.config.vrrp.bfd_instances
    assert (b1.min_rx_us, b1.min_tx_us, b1.idle_tx_us, b1.multiplier, b1.ttl) == (
        10_000,
        10_000,
        1_000_000,
        5,
        255,
    )
    assert (b2.neighbor_ip, b2.ttl, b2.max_hops, b2.weight) == (
        ipaddress.ip_address("192.0.2.51"),
        3,
        3,
        5,
    )
    assert b1.vrrp and b1.checker


def test_bfd_decimal_ms_and_ipv6_hoplimit() -> None:
    r = load("bfd_instance b {\n neighbor_ip 2001:db8::2\n min_rx 2.5\n vrrp\n}\n")
    (b,) = r.config.vrrp.bfd_instances
    assert (b.min_rx_us, b.ttl, b.vrrp, b.checker) == (2500, 64, True, False)


SYNC = """\
vrrp_script chk {
  script "/bin/true"
  weight 10
}
track_file tf {
  file /tmp/x
  weight 2
}
vrrp_sync_group G {
  group {
    VI_1
    VI_2
  }
  track_script {
    chk weight 3
  }
  track_file {
    tf
  }
  notify_master "/bin/true master"
  notify_priority_changes
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 5
  virtual_ipaddress {
    192.0.2.9
  }
  track_script {
    chk
  }
}
vrrp_instance VI_2 {
  interface eth0
  priority 255
  virtual_router_id 6
  virtual_ipaddress {
    192.0.2.10
  }
  track_script {
    chk
  }
}
"""


def test_sync_group_weights_cleared() -> None:
    r = load(SYNC)
    # keepalived 2.2.7 (t_trk2.conf, same situation)
    assert messages(r) == [
        "(VI_1) ignoring tracked script chk with weights due to SYNC group",
        "(VI_2) ignoring tracked script chk with weights due to SYNC group",
        "(G) Cannot have weighted track script 'chk' with member having priority 255 - clearing"
        " weight",
        "(G) Cannot have weighted track file 'tf' with member having priority 255 - setting"
        " weight 0",
    ]
    (g,) = r.config.vrrp.sync_groups
    assert g.members == ("VI_1", "VI_2")
    assert g.track_scripts[0].weight == 0 and g.track_files[0].weight == 0
    assert g.notify_master is not None and g.notify_master.argv == ("/bin/true", "master")
    one = instance(r, "VI_1")
    assert one.sync_group == "G"
    assert one.track_scripts == ()
    assert one.notify_priority_changes is True  # from the sync group


def test_sync_group_tracking_weight_keeps_weights() -> None:
    text = SYNC.replace("  notify_priority_changes\n", "  sync_group_tracking_weight\n")
    text = text.replace("  priority 255\n", "  priority 200\n")
    r = load(text)
    assert messages(r) == []
    assert instance(r, "VI_1").track_scripts[0].weight == 10


def test_sync_group_member_checks() -> None:
    text = (
        "vrrp_sync_group G {\n group {\n  VI_1\n  VI_9\n }\n}\n"
        "vrrp_sync_group H {\n group {\n  VI_1\n }\n}\n"
        "vrrp_sync_group E {\n}\n" + vrrp_instance("")
    )
    r = load(text)
    assert messages(r) == [
        "Virtual router VI_9 specified in sync group G doesn't exist - ignoring",
        "Sync group G has only 1 virtual router(s) - this probably isn't what you want",
        "Virtual router VI_1 cannot exist in more than one sync group; ignoring H",
        "Sync group H, no matching virtual router found in group declaration - removing",
        "Sync group E has no virtual router(s). removing",
    ]
    assert [g.name for g in r.config.vrrp.sync_groups] == ["G"]


def test_track_group_and_static() -> None:
    text = (
        "static_ipaddress {\n 192.0.2.50/24 dev eth0 track_group TG\n}\n"
        "track_group TG {\n group {\n  VI_1\n  VI_X\n }\n}\n"
        "static_ipaddress {\n 192.0.2.51/24 dev eth0 track_group TG\n}\n"
        "static_routes {\n 198.51.100.0/24 via 192.0.2.1 dev eth0\n}\n" + vrrp_instance("")
    )
    r = load(text, ETH0)
    # keepalived 2.2.7 (t_tg.conf): the unknown member is only logged
    assert messages(r) == ["(t.conf: Line 2) track_group TG not found"]
    v = r.config.vrrp
    assert [a.track_group for a in v.static_ipaddresses] == [None, "TG"]
    assert [(g.name, g.members) for g in v.track_groups] == [("TG", ("VI_1",))]
    assert len(v.static_routes) == 1


def test_garp_group() -> None:
    text = (
        "garp_group {\n garp_interval 0.5\n gna_interval 0.25\n interfaces {\n  eth0\n  eth1\n"
        " }\n}\ngarp_group {\n interface eth0\n}\n"
    )
    r = load(text)
    assert messages(r) == [
        "(t.conf: Line 10) garp_group already specified for eth0 - ignoring",
        "(t.conf: Line 11) garp group 0 does not have any delay set - removing",
    ]
    (g,) = r.config.vrrp.garp_groups
    assert (g.interfaces, g.garp_interval_s, g.gna_interval_s) == (("eth0", "eth1"), 0.5, 0.25)


def test_linkbeat_and_up_down_delays() -> None:
    text = (
        "linkbeat_interfaces {\n eth0 MII\n eth1\n}\n"
        "interface_up_down_delays {\n eth0 1.5 2\n eth1 3\n eth1\n}\n"
    )
    r = load(text)
    assert messages(r) == []
    v = r.config.vrrp
    assert [(e.name, e.type) for e in v.linkbeat_interfaces] == [
        ("eth0", LinkbeatType.MII),
        ("eth1", LinkbeatType.DEFAULT),
    ]
    assert [(e.name, e.down_delay_s, e.up_delay_s) for e in v.interface_up_down_delays] == [
        ("eth0", 1.5, 2.0),
        ("eth1", 3.0, 0.0),
    ]
    r = load("interface_up_down_delays {\n    eth9 1\n    eth0\n}\n", ETH0)
    # keepalived 2.2.7 (t_updown.conf): fatal, exit 4
    assert messages(r) == ["(t.conf: Line 2) unknown interface eth9 specified for up/down delay"]
    assert r.diagnostics.exit_code() == EXIT_FATAL


def _script_file(path: Path, mode: int) -> Path:
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(mode)
    return path


def test_script_security(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("the insecure-script check is about scripts run as root")
    tmp_path.chmod(0o755)
    good = _script_file(tmp_path / "good.sh", 0o755)
    bad = _script_file(tmp_path / "bad.sh", 0o777)
    assert bad.stat().st_mode & stat.S_IWOTH
    text = (
        f'vrrp_script s1 {{\n script "{tmp_path}/missing.sh"\n}}\n'
        f'vrrp_script s2 {{\n script "{bad}"\n}}\n'
        f'vrrp_script s3 {{\n script "{good}"\n}}\n'
        + vrrp_instance("track_script {\n s1\n s2\n s3\n}")
    )
    r = load(text, ETH0)
    # keepalived 2.2.7 (t_sec.conf)
    assert messages(r) == [
        "Disabling track script s1 since not found/accessible",
        "SECURITY VIOLATION - scripts are being executed but script_security not enabled."
        " There are insecure scripts.",
    ]
    assert [t.name for t in instance(r).track_scripts] == ["s2", "s3"]
    r = load("global_defs {\n enable_script_security\n}\n" + text, ETH0)
    assert messages(r) == [
        "Disabling track script s1 since not found/accessible",
        "Disabling track script s2 due to insecure",
    ]
    assert [t.name for t in instance(r).track_scripts] == ["s3"]
    assert r.diagnostics.exit_code() == EXIT_CONFIG
