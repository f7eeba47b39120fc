"""IPVS for real (inside the VM): services, destinations, weights, checker transitions,
reloads, teardown, and the table keepalived 2.2.7 builds from the same config."""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from pykeepalived.checkers.dataplane import ServiceKey
from pykeepalived.checkers.events import EventLog
from pykeepalived.checkers.realserver import RecordingEffects, VirtualServerPool
from pykeepalived.config.loader import load_text
from pykeepalived.config.model.lvs import LvsConfig
from pykeepalived.lvs.diff import EditDest
from pykeepalived.lvs.ipvs import IpvsBackend, SyncDaemon, SyncState, ensure_module
from pykeepalived.lvs.model import HealthView, LvsState, RsHealth, desired_state
from pykeepalived.lvs.reconcile import DataPlaneAdapter, Reconciler

pytestmark = pytest.mark.vm

IP = ipaddress.ip_address

FULL = """
global_defs {
  router_id vmtest
}
virtual_server_group G1 {
  10.1.0.10-11 443
  fwmark 7
}
virtual_server 10.0.0.1 80 {
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  persistence_timeout 300
  persistence_granularity 255.255.255.0
  real_server 10.0.1.1 8080 {
    weight 3
    uthreshold 100
    lthreshold 10
  }
  real_server 10.0.1.2 8080 {
    weight 1
  }
}
virtual_server 10.0.0.2 53 {
  lb_algo sh
  sh-port
  sh-fallback
  lb_kind DR
  protocol UDP
  ops
  real_server 10.0.1.3 53 {
    weight 2
  }
}
virtual_server 10.0.0.3 9999 {
  lb_algo mh
  mh-port
  lb_kind TUN type gue port 6080 csum
  protocol SCTP
  real_server 10.0.1.4 9999 {
    weight 5
  }
  real_server 10.0.1.5 9999 {
    lvs_method TUN type gre
    weight 6
  }
}
virtual_server 2001:db8::1 80 {
  lb_algo lc
  lb_kind NAT
  protocol TCP
  persistence_timeout 100
  persistence_granularity 64
  real_server 2001:db8:1::1 80 {
    weight 2
  }
}
virtual_server fwmark 5 {
  lb_algo dh
  lb_kind DR
  real_server 10.0.2.1 {
    weight 1
  }
}
virtual_server group G1 {
  lb_algo fo
  lb_kind DR
  protocol TCP
  real_server 10.0.3.1 443 {
    weight 1
  }
  real_server 10.0.3.2 443 {
    weight 9
  }
}
virtual_server 10.0.0.4 80 {
  lb_algo lblcr
  lb_kind NAT
  protocol TCP
  real_server 10.0.4.1 80 {
    weight 1
  }
}
"""
SCHEDULERS = ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "mh", "sed", "nq", "fo"]


def ipvsadm(*args: str) -> str:
    return subprocess.run(
        ["ipvsadm", *args], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def _lvs(text: str, filename: str = "vm.conf") -> LvsConfig:
    result = load_text(text, filename=filename)
    assert result.runnable, [d.format() for d in result.diagnostics.items]
    return result.config.lvs


def _save() -> list[str]:
    return sorted(line for line in ipvsadm("-Sn").splitlines() if line.strip())


def test_full_config_programs_what_it_reads_back(ipvs: IpvsBackend) -> None:
    desired = desired_state(_lvs(FULL))
    rec = Reconciler(ipvs)
    result = rec.start(desired)
    assert result.kernel_ops == len(desired) + desired.dest_count
    assert ipvs.read() == desired
    saved = _save()
    assert "-A -t 10.0.0.1:80 -s wrr -p 300 -M 255.255.255.0" in saved
    assert "-a -t 10.0.0.1:80 -r 10.0.1.1:8080 -m -w 3" in saved
    assert "-A -u 10.0.0.2:53 -s sh -o -b sh-fallback,sh-port" in saved
    assert "-A --sctp-service 10.0.0.3:9999 -s mh -b mh-port" in saved
    assert (
        "-a --sctp-service 10.0.0.3:9999 -r 10.0.1.4:9999 -i -w 5 --tun-type gue "
        "--tun-port 6080 --tun-csum"
    ) in saved
    assert (
        "-a --sctp-service 10.0.0.3:9999 -r 10.0.1.5:9999 -i -w 6 --tun-type gre --tun-nocsum"
        in (saved)
    )
    assert "-A -f 5 -s dh" in saved
    assert "-A -f 7 -s fo" in saved
    assert "-A -t [2001:db8::1]:80 -s lc -p 100 -M 64" in saved
    thresholds = ipvsadm("-Ln", "--thresholds")
    assert any(
        "10.0.1.1:8080" in line and line.split()[2:4] == ["100", "10"]
        for line in thresholds.splitlines()
    ), thresholds
    rec.stop()
    assert ipvsadm("-Sn").strip() == ""


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_every_scheduler_keepalived_accepts(ipvs: IpvsBackend, scheduler: str) -> None:
    text = (
        f"virtual_server 10.9.0.1 80 {{\n lb_algo {scheduler}\n lb_kind NAT\n protocol TCP\n"
        " real_server 10.9.1.1 80 {\n  weight 2\n }\n}\n"
    )
    desired = desired_state(_lvs(text))
    rec = Reconciler(ipvs)
    rec.start(desired)
    assert ipvs.read() == desired
    assert f"-s {scheduler}" in ipvsadm("-Sn")
    rec.stop()


@pytest.mark.parametrize("scheduler", ["ovf", "twos"])
def test_newer_schedulers_when_the_kernel_has_them(ipvs: IpvsBackend, scheduler: str) -> None:
    if not ensure_module(f"ip_vs_{scheduler}"):
        pytest.skip(f"ip_vs_{scheduler} is not in this kernel ({os.uname().release})")
    text = (
        f"virtual_server 10.9.0.1 80 {{\n lb_algo {scheduler}\n lb_kind NAT\n protocol TCP\n"
        " real_server 10.9.1.1 80 {\n  weight 2\n }\n}\n"
    )
    desired = desired_state(_lvs(text))
    Reconciler(ipvs).start(desired)
    assert ipvs.read() == desired


def test_weight_change_is_one_netlink_request(ipvs: IpvsBackend) -> None:
    config = _lvs(FULL)
    rec = Reconciler(ipvs)
    rec.start(desired_state(config))
    key = "[10.0.0.1]:tcp:80"
    health = HealthView({(key, IP("10.0.1.2"), 8080): RsHealth(alive=True, weight=7)})
    before = ipvs.kernel_ops
    result = rec.sync(desired_state(config, health))
    assert [type(op) for op in result.ops] == [EditDest]
    assert ipvs.kernel_ops == before + 1
    assert "-a -t 10.0.0.1:80 -r 10.0.1.2:8080 -m -w 7" in _save()
    assert ipvs.read() == desired_state(config, health)


def test_checker_failure_removes_or_inhibits_through_the_dataplane(ipvs: IpvsBackend) -> None:
    text = """
virtual_server 10.0.0.1 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 10.0.1.1 80 {
    weight 1
  }
  real_server 10.0.1.2 80 {
    weight 4
    inhibit_on_failure
  }
}
"""
    config = _lvs(text)
    vs = config.virtual_servers[0]
    adapter = DataPlaneAdapter(Reconciler(ipvs), config)
    pool = VirtualServerPool(vs, adapter, RecordingEffects(), EventLog(), lambda: 0.0)
    slots = [pool.add_checker(i, f"TCP_CHECK {i}", alpha=False, retry=0) for i in range(2)]
    pool.start()
    assert ipvs.read().service_map().keys() == desired_state(config).service_map().keys()
    assert "-a -t 10.0.0.1:80 -r 10.0.1.2:80 -m -w 4" in _save()

    before = ipvs.kernel_ops
    pool.update_checker(0, slots[0], False)
    assert ipvs.kernel_ops == before + 1
    assert not any("10.0.1.1:80" in line for line in _save())

    pool.update_checker(1, slots[1], False)  # inhibit_on_failure: weight 0, still there
    assert "-a -t 10.0.0.1:80 -r 10.0.1.2:80 -m -w 0" in _save()
    pool.update_checker(1, slots[1], True)
    assert "-a -t 10.0.0.1:80 -r 10.0.1.2:80 -m -w 4" in _save()
    pool.update_checker(0, slots[0], True)
    assert "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 1" in _save()
    pool.stop()
    assert ipvsadm("-Sn").strip() == ""


def test_reload_changing_one_server_leaves_the_others_alone(ipvs: IpvsBackend) -> None:
    old = _lvs(FULL)
    new_text = FULL.replace("10.0.1.5 9999 {\n    lvs_method TUN type gre\n    weight 6", (
        "10.0.1.5 9999 {\n    lvs_method TUN type gre\n    weight 8"))  # fmt: skip
    assert new_text != FULL
    rec = Reconciler(ipvs)
    rec.start(desired_state(old))
    before_lines = set(_save())
    before_ops = ipvs.kernel_ops
    result = rec.sync(desired_state(_lvs(new_text)))
    assert len(result.ops) == 1
    assert ipvs.kernel_ops == before_ops + 1
    after_lines = set(_save())
    assert len(before_lines - after_lines) == 1
    assert len(after_lines - before_lines) == 1
    (changed,) = after_lines - before_lines
    assert "10.0.1.5:9999" in changed and "-w 8" in changed


def test_teardown_removes_only_what_we_created(ipvs: IpvsBackend) -> None:
    ipvsadm("-A", "-t", "10.7.0.1:22", "-s", "rr")
    ipvsadm("-a", "-t", "10.7.0.1:22", "-r", "10.7.1.1:22", "-m")
    foreign = set(_save())
    # a service of the config that already exists is adopted, with a foreign destination
    ipvsadm("-A", "-t", "10.0.0.4:80", "-s", "lblcr")
    ipvsadm("-a", "-t", "10.0.0.4:80", "-r", "10.0.4.1:80", "-m", "-w", "1")
    ipvsadm("-a", "-t", "10.0.0.4:80", "-r", "10.0.4.9:80", "-m", "-w", "1")
    rec = Reconciler(ipvs)
    rec.start(desired_state(_lvs(FULL)))
    assert foreign <= set(_save())
    rec.stop()
    remaining = set(_save())
    # our services are gone; the foreign one stays; the adopted one keeps only its
    # destination that the config does not name
    assert foreign <= remaining
    assert "-A -t 10.0.0.4:80 -s lblcr" in remaining
    assert "-a -t 10.0.0.4:80 -r 10.0.4.9:80 -m -w 1" in remaining
    assert not any("10.0.4.1:80" in line for line in remaining)
    assert not any("10.0.0.1:80" in line for line in remaining)


def test_lvs_flush_at_start_and_full_flush_on_stop(ipvs: IpvsBackend) -> None:
    ipvsadm("-A", "-t", "10.7.0.1:22", "-s", "rr")
    rec = Reconciler(ipvs, flush_at_start=True, flush_on_stop="full")
    rec.start(desired_state(_lvs(FULL)))
    assert not any("10.7.0.1" in line for line in _save())
    ipvsadm("-A", "-t", "10.7.0.2:22", "-s", "rr")
    rec.stop()
    assert ipvsadm("-Sn").strip() == ""


def test_sync_daemon_start_and_stop(ipvs: IpvsBackend) -> None:
    subprocess.run(["ip", "link", "add", "pksync0", "type", "dummy"], check=False)
    subprocess.run(["ip", "link", "set", "pksync0", "multicast", "on", "up"], check=True)
    try:
        ipvs.start_sync_daemon(SyncDaemon(SyncState.MASTER, "pksync0", syncid=42))
        daemons = ipvs.sync_daemons()
        assert any(d.get("IPVS_DAEMON_ATTR_SYNC_ID") == 42 for d in daemons), daemons
        assert "master sync daemon" in ipvsadm("-L", "--daemon")
        ipvs.stop_sync_daemon(SyncState.MASTER)
        assert "master" not in ipvsadm("-L", "--daemon")
    finally:
        subprocess.run(["ip", "link", "del", "pksync0"], check=False)


KEEPALIVED_CONF = """
global_defs {
  router_id vmtest
}
virtual_server_group G1 {
  10.1.0.10-11 443
}
virtual_server 10.0.0.1 80 {
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  persistence_timeout 300
  persistence_granularity 255.255.255.0
  real_server 10.0.1.1 8080 {
    weight 3
    uthreshold 100
    lthreshold 10
  }
  real_server 10.0.1.2 8080 {
    weight 1
  }
}
virtual_server 10.0.0.2 53 {
  lb_algo sh
  sh-port
  lb_kind DR
  protocol UDP
  real_server 10.0.1.3 53 {
    weight 2
  }
}
virtual_server 10.0.0.3 9999 {
  lb_algo mh
  lb_kind TUN
  protocol TCP
  real_server 10.0.1.4 9999 {
    weight 5
  }
}
virtual_server 2001:db8::1 80 {
  lb_algo lc
  lb_kind NAT
  protocol TCP
  persistence_timeout 100
  real_server 2001:db8:1::1 80 {
    weight 2
  }
}
virtual_server fwmark 5 {
  lb_algo dh
  lb_kind DR
  real_server 10.0.2.1 {
    weight 1
  }
}
virtual_server group G1 {
  lb_algo rr
  lb_kind DR
  protocol TCP
  real_server 10.0.3.1 443 {
    weight 1
  }
  real_server 10.0.3.2 443 {
    weight 9
    inhibit_on_failure
  }
}
"""


def _keepalived_table(conf: Path, tmp: Path) -> list[str]:
    """Run keepalived 2.2.7's checker process on ``conf``; its IPVS table once it is stable."""
    proc = subprocess.Popen(
        [
            "keepalived", "-n", "-l", "-C", "--no-syslog", "-f", str(conf),
            "-p", str(tmp / "k.pid"), "-c", str(tmp / "c.pid"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        previous: list[str] = []
        while time.monotonic() < deadline:
            time.sleep(1.0)
            table = _save()
            if table and table == previous:
                return table
            previous = table
        return previous
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def test_same_table_as_keepalived_2_2_7(ipvs: IpvsBackend) -> None:
    with tempfile.TemporaryDirectory(dir=os.environ.get("PYKA_VM_TMP", "/tmp")) as d:
        tmp = Path(d)
        conf = tmp / "keepalived.conf"
        conf.write_text(KEEPALIVED_CONF)
        theirs = _keepalived_table(conf, tmp)
    assert theirs, "keepalived programmed nothing"
    assert ipvsadm("-Sn").strip() == "", "keepalived left services behind at stop"
    rec = Reconciler(ipvs)
    rec.start(desired_state(_lvs(KEEPALIVED_CONF)))
    ours = _save()
    rec.stop()
    assert ours == theirs
    assert LvsState() == ipvs.read()


def test_dataplane_adapter_service_keys_match_the_checkers(ipvs: IpvsBackend) -> None:
    config = _lvs(FULL)
    adapter = DataPlaneAdapter(Reconciler(ipvs), config)
    for vs in config.virtual_servers:
        adapter.add_service(ServiceKey.of(vs), vs)
    assert len(ipvs.read()) == len(desired_state(config))
    for vs in config.virtual_servers:
        adapter.remove_service(ServiceKey.of(vs))
    assert ipvsadm("-Sn").strip() == ""
