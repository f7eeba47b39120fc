"""keepalived's own VRRP-only sample configs run under ``pykeepalived -n -l -P`` and settle.

Each sample runs alone in a fresh namespace holding the interfaces it names (veth pairs
``eth0``..``eth3`` and ``eth0.1``: this kernel has no 802.1Q, so "the VLAN" is a veth with that
name). "Stable" means: the daemon keeps running, it logs no
traceback, every instance it runs has entered a state, none has made more than the two
start-up transitions (BACKUP, then MASTER for a lone node), and nothing changes during a
further observation window.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.netns, pytest.mark.slow]

SAMPLES = Path("/work/shared/keepalived-samples")
PYKEEPALIVED = str(Path(sys.executable).with_name("pykeepalived"))
LVS_WORDS = ("virtual_server", "real_server")
ADDRESSES = {
    "eth0": "192.0.2.1/25",
    "eth1": "198.51.100.1/24",
    "eth2": "203.0.113.1/25",
    "eth3": "192.0.2.129/25",
    "eth0.1": "203.0.113.129/25",
}
ENTERING = re.compile(r"\((\S+)\) Entering (MASTER|BACKUP|FAULT) STATE")
SETTLE_S = 5.0
"""After start-up: more than a Master_Down_Interval at advert_int 1 (3.6 s)."""
WINDOW_S = 3.0


def vrrp_only_samples() -> list[Path]:
    if not SAMPLES.is_dir():
        return []
    found = []
    for path in sorted(SAMPLES.glob("keepalived.conf*")):
        text = path.read_text(errors="replace")
        if "vrrp_instance" in text and not any(w in text for w in LVS_WORDS):
            found.append(path)
    return found


def _ip(ns: str, *args: str) -> None:
    subprocess.run(["ip", "-n", ns, *args], check=True, capture_output=True, timeout=10)


@pytest.fixture
def sample_ns() -> Iterator[str]:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    ns = f"pkv4s-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", ns], check=True, timeout=10)
    try:
        _ip(ns, "link", "set", "lo", "up")
        for i, (name, addr) in enumerate(ADDRESSES.items()):
            _ip(ns, "link", "add", name, "type", "veth", "peer", "name", f"peer{i}")
            _ip(ns, "link", "set", f"peer{i}", "up")
            _ip(ns, "link", "set", name, "up")
            _ip(ns, "addr", "add", addr, "dev", name)
        yield ns
    finally:
        pids = subprocess.run(
            ["ip", "netns", "pids", ns], capture_output=True, text=True, check=False
        ).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), 9)
        subprocess.run(["ip", "netns", "del", ns], check=False, timeout=10)


def transitions(log: str) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {}
    for name, state in ENTERING.findall(log):
        seen.setdefault(name, []).append(state)
    return seen


@pytest.mark.parametrize("sample", vrrp_only_samples(), ids=lambda p: p.name)
def test_v4_sample_starts_and_settles(sample: Path, sample_ns: str, tmp_path: Path) -> None:
    log_path = tmp_path / "daemon.log"
    argv = [
        "ip", "netns", "exec", sample_ns,
        PYKEEPALIVED, "-n", "-l", "-P", "-f", str(sample),
        "-p", str(tmp_path / "main.pid"), "-r", str(tmp_path / "vrrp.pid"), "--no-syslog",
    ]  # fmt: skip
    env = dict(os.environ, PYKEEPALIVED_CONTROL_SOCKET="none")
    with log_path.open("w") as fh:
        proc = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + 20
            while "Startup complete" not in log_path.read_text():
                assert proc.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.1)
            time.sleep(SETTLE_S)
            assert proc.poll() is None, log_path.read_text()
            before = transitions(log_path.read_text())
            time.sleep(WINDOW_S)
            assert proc.poll() is None, log_path.read_text()
            log = log_path.read_text()
            after = transitions(log)
            assert after, f"no instance entered a state:\n{log}"
            assert after == before, f"state changes during the window:\n{log}"
            for name, states in after.items():
                assert len(states) <= 2, f"{name} flapped: {states}\n{log}"
                assert states[0] in ("BACKUP", "FAULT", "MASTER")
            assert "Traceback" not in log, log
            proc.terminate()
            assert proc.wait(15) == 0, log_path.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    print(log_path.read_text())
