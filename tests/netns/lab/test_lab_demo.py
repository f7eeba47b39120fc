"""The full lab (README's main job) runs to the end and shows what issue 7 asks for.

The directors run the seed's whole config (VRRP, virtual server, TCP_CHECKs) on the nftables
data plane; the lab balances client traffic across web1/web2, kills web1 and brings it back,
then hangs and stops the master. It must leave no namespace and no process behind, also when
it is interrupted.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pykeepalived.lab import demo
from pykeepalived.lab.topology import list_netns

pytestmark = [pytest.mark.netns, pytest.mark.slow]

LAB_MAX_S = 120.0
#: scheduling slack on a loaded 2-core CI machine, beside the protocol's own times
SLACK_S = 2.0


def _lab_processes() -> list[str]:
    """Command lines of processes still running lab parts (daemons, web servers, probes)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "pykeepalived-lab-" in cmd or "pykeepalived.lab." in cmd:
            found.append(f"{entry.name}: {cmd}")
    return found


def test_the_full_lab_runs_to_the_end() -> None:
    out = io.StringIO()
    started = time.monotonic()
    report = demo.run_lab_report(demo.SEED_CONFIG, out)
    took_s = time.monotonic() - started
    text = out.getvalue()
    assert report.ok, text
    assert took_s < LAB_MAX_S, text

    # the seed's DR service runs as NAT on the nftables data plane, and the lab says so
    assert "lb_kind DR -> NAT" in text
    assert re.search(r"dir1 is MASTER and holds 192\.0\.2\.222", text)
    assert text.count("pykeepalivedctl status --socket") >= 4, text  # start, failure, failover

    # one client address: persistence keeps it on one server
    assert report.persistence is not None
    assert report.persistence.failed == 0
    assert len(report.persistence.totals) == 1, report.persistence
    # 200 requests from 40 addresses, all answered, by both servers
    balance = report.balance
    assert balance is not None
    assert balance.answered == 200 and balance.failed == 0, balance
    assert balance.totals.get("web1", 0) > 0 and balance.totals.get("web2", 0) > 0, balance
    assert not balance.mixed, "persistence broken: an address was answered by both servers"

    # web1 killed: inhibited within TCP_CHECK's bounds, then everything goes to web2
    outage = report.outage
    assert outage is not None and outage.moved_s is not None, text
    assert outage.moved_s <= outage.expected_max_s + SLACK_S, text
    assert report.after_failure is not None
    assert report.after_failure.totals == {"web2": 200}, report.after_failure
    assert "rs_down" in text and "192.0.2.225" in text
    # ... and back within one delay_loop; new clients reach it again
    assert outage.back_s is not None and outage.back_s <= outage.back_max_s + SLACK_S, text
    restored = report.restored
    assert restored is not None and restored.failed == 0, restored
    assert restored.totals.get("web1", 0) > 0, restored

    # the master hung, then stopped: VIP and service move to dir2 in protocol time
    hung, stopped = report.failovers
    assert hung.scenario == "master hung" and stopped.scenario == "master stopped"
    for move in (hung, stopped):
        assert move.takeover_s is not None and move.takeover_s <= move.limit_s + SLACK_S, text
        assert move.service_s is not None and move.service_s <= move.limit_s + SLACK_S, text
    assert "dir1 holds 192.0.2.222 and serves again" in text
    assert report.dir1_exit == 0, text
    assert "lab finished: everything shown" in text

    prefix = f"pk{os.getpid():x}-"
    assert not [n for n in list_netns() if n.startswith(prefix)]
    assert not _lab_processes()


def test_an_interrupted_lab_leaves_nothing_behind(tmp_path: Path) -> None:
    ctl = Path(sys.executable).parent / "pykeepalivedctl"
    out_path = tmp_path / "lab.out"
    with out_path.open("wb") as out:
        proc = subprocess.Popen([str(ctl), "lab"], stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "dir1 is MASTER" not in out_path.read_text(errors="replace"):
            assert proc.poll() is None, out_path.read_text()
            assert time.monotonic() < deadline, out_path.read_text()
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130, out_path.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    prefix = f"pk{proc.pid:x}-"
    assert not [n for n in list_netns() if n.startswith(prefix)], out_path.read_text()
    assert not _lab_processes(), out_path.read_text()
