"""render: canonical keepalived.conf text for the VRRP blocks; reading it back gives an equal
model (hand-written configs and the VRRP parts of keepalived's sample configs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pykeepalived.config.keywords import vrrp
from pykeepalived.config.model.vrrp import AuthType, VrrpConfig

from .vrrp_helpers import load, messages, round_trip

pytestmark = pytest.mark.unit

SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "keepalived-samples"

FULL = """\
global_defs {
  vrrp_garp_master_delay 7
}
linkbeat_interfaces {
  eth0 ETHTOOL
}
interface_up_down_delays {
  eth1 0.5 1
}
garp_group {
  garp_interval 0.002
  interface eth1
}
vrrp_script chk_http {
  script "/usr/local/bin/check http --port 80"
  interval 2
  timeout 1
  weight -10
  rise 3
  fall 2
  user nobody
}
track_file tf {
  file /var/run/ka.tf
  weight 2 reverse
  init_file 0 overwrite
}
vrrp_track_process sshd {
  process /usr/sbin/sshd -D
  param_match partial
  weight 3
  quorum 1
  quorum_max 4
  fork_delay 0.5
}
bfd_instance bfd1 {
  neighbor_ip 192.0.2.100
  source_ip 192.0.2.1
  min_rx 50
  min_tx 50.5
  multiplier 3
  weight 20 reverse
}
track_group TG {
  group {
    VI_1
  }
}
static_ipaddress {
  198.51.100.1/24 dev eth1 track_group TG
}
static_routes {
  203.0.113.0/24 via 198.51.100.254 dev eth1
}
static_rules {
  from 198.51.100.0/24 table 100 priority 200
}
vrrp_sync_group SG {
  group {
    VI_1
    VI_6
  }
  track_interface {
    eth2 weight 5
  }
  notify_master "/usr/local/bin/sg master" root
  notify "/usr/local/bin/sg-any"
  smtp_alert
  sync_group_tracking_weight
}
vrrp_instance VI_1 {
  state MASTER
  interface eth0
  virtual_router_id 51
  priority 150
  preempt
  advert_int 2
  authentication {
    auth_type PASS
    auth_pass s3cr3t
  }
  mcast_src_ip 192.0.2.1
  track_src_ip
  dont_track_primary
  track_interface {
    eth1 weight -20
    eth2
  }
  track_script {
    chk_http
  }
  track_file {
    tf weight 1
  }
  track_process {
    sshd
  }
  track_bfd {
    bfd1
  }
  virtual_ipaddress {
    192.0.2.10/24 dev eth0 label eth0:vip
    192.0.2.11
  }
  virtual_ipaddress_excluded {
    2001:db8::10/64
  }
  virtual_routes {
    198.51.100.0/24 via 192.0.2.254 dev eth0
  }
  virtual_rules {
    from 192.0.2.10 table 10 priority 300
  }
  use_vmac vrrp51
  vmac_xmit_base
  garp_master_repeat 3
  garp_master_refresh 60
  garp_lower_prio_delay 2
  notify_master "/usr/local/bin/notify master"
  notify_backup '/usr/local/bin/notify "back up"' nobody nogroup
  notify_fault /usr/local/bin/fault
  notify_stop /usr/local/bin/stop
  notify_deleted
  notify_master_rx_lower_pri /usr/local/bin/lower
  smtp_alert
  kernel_rx_buf_size 65536
  debug 2
}
vrrp_instance VI_6 {
  interface eth0
  virtual_router_id 61
  version 3
  advert_int 0.05
  preempt_delay 1.5
  unicast_src_ip fe80::1
  unicast_peer {
    fe80::2 min_ttl 250
    fe80::3
  }
  unicast_ttl 64
  old_unicast_checksum never
  virtual_ipaddress {
    fe80::10
    2001:db8::1/64
  }
  accept
  higher_prio_send_advert
  garp_extra_if all 30
  use_vmac_addr
  notify_priority_changes
}
"""


def test_full_config_round_trip() -> None:
    first = load(FULL)
    assert messages(first) == []
    config = first.config.vrrp
    again, msgs = round_trip(config)
    assert msgs == []
    assert again == config


def test_render_is_canonical_and_idempotent() -> None:
    config = load(FULL).config.vrrp
    text = "\n".join(vrrp.render(config))
    assert "\n    interface eth0\n" in text
    assert "auth_pass s3cr3t" in text  # configuration, so it is rendered
    again = load(text + "\n").config.vrrp
    assert "\n".join(vrrp.render(again)) == text


def test_resolved_defaults_survive_other_globals() -> None:
    """Rendered values are explicit: the same text read under other global_defs is the same."""
    config = load(FULL).config.vrrp
    text = "\n".join(vrrp.render(config)) + "\n"
    other = "global_defs {\n vrrp_garp_master_delay 1\n vrrp_garp_master_repeat 9\n}\n"
    assert load(other + text).config.vrrp == config


def test_auth_pass_hidden_from_repr_only() -> None:
    config = load(FULL).config.vrrp
    inst = config.instance("VI_1")
    assert inst is not None
    assert inst.auth_type is AuthType.PASS and inst.auth_pass == "s3cr3t"
    assert "s3cr3t" not in repr(config)


def test_empty_config_renders_nothing() -> None:
    assert vrrp.render(VrrpConfig()) == []


def test_fixed_up_instance_round_trip() -> None:
    text = """\
global_defs {
  vrrp_strict
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 5
  advert_int 1.4
  authentication {
    auth_type AH
    auth_pass x
  }
  unicast_src_ip 192.0.2.1
  virtual_ipaddress {
    192.0.2.9
  }
}
"""
    first = load(text)
    assert messages(first)  # strict mode fix-ups were reported
    again, msgs = round_trip(first.config.vrrp)
    assert again == first.config.vrrp
    # the rendered text is already fixed up: only the deliberate unicast warning remains
    assert all("unicast keyword" in m for m in msgs)


def _sample_files() -> list[Path]:
    if not SAMPLES.is_dir():
        return []
    files = sorted(SAMPLES.glob("keepalived.conf.*"))
    files += [
        SAMPLES / "etc_keepalived" / "keepalived.conf",
        SAMPLES / "docker" / "keepalived.conf",
    ]
    return [f for f in files if f.is_file()]


@pytest.mark.parametrize("path", _sample_files(), ids=lambda p: p.name)
def test_samples_round_trip(path: Path) -> None:
    first = load(path.read_text())
    config = first.config.vrrp
    again, _ = round_trip(config)
    assert again == config
