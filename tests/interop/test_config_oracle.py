"""keepalived 2.2.7 is the oracle for config acceptance.

Each config (keepalived's samples, the seed, and hand-written broken configs) is checked by
``keepalived -t`` and ``pykeepalived -t`` inside one network namespace that has the interfaces
the samples name (eth0-eth3, eth0.1), so the interface checks see the same machine.
Both must exit with the same code, and every line keepalived reports about must be reported
by pykeepalived too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
SAMPLES = SHARED / "keepalived-samples"
CASES = Path(__file__).parent / "oracle_cases"
INTERFACES = ("eth0", "eth1", "eth2", "eth3", "eth0.1")
CONFIG_ID = "oracle"
PYKEEPALIVED = Path(sys.executable).parent / "pykeepalived"

# keepalived prints "(FILE: Line N) msg", or "(Line N) msg" for the main file in its first pass.
LINE_RE = re.compile(r"^\((?:(?P<file>[^()]*?): )?Line (?P<line>\d+)(?::\d+)?\)")


def config_files() -> list[Path]:
    files = sorted(SAMPLES.glob("keepalived.conf.*"))
    files += [
        SAMPLES / "etc_keepalived" / "keepalived.conf",
        SAMPLES / "docker" / "keepalived.conf",
    ]
    files += [ROOT / "src" / "pykeepalived" / "lab" / "seed.conf"]
    files += sorted(CASES.glob("*.conf"))
    return [f for f in files if f.is_file()]


@pytest.fixture(scope="module")
def oracle_ns() -> Iterator[str]:
    if os.geteuid() != 0:
        pytest.skip("needs root for a network namespace")
    if shutil.which("keepalived") is None:
        pytest.fail("Debian's keepalived is not installed (scripts/setup.sh installs it)")
    ns = f"pkor-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        for i, name in enumerate(INTERFACES):
            subprocess.run(
                ["ip", "-n", ns, "link", "add", name, "type", "veth", "peer", "name", f"p{i}"],
                check=True,
            )
            subprocess.run(["ip", "-n", ns, "link", "set", name, "up"], check=True)
        yield ns
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def run_test(ns: str, argv: list[str], conf: Path) -> tuple[int, str]:
    proc = subprocess.run(
        ["ip", "netns", "exec", ns, *argv, "-t", "-f", str(conf), "-i", CONFIG_ID],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=conf.parent,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


def reported_lines(output: str, conf: Path) -> set[tuple[str, int]]:
    """(file basename, line) of every message that names a line."""
    found: set[tuple[str, int]] = set()
    for text in output.splitlines():
        m = LINE_RE.match(text.strip())
        if m:
            name = Path(m.group("file")).name if m.group("file") else conf.name
            found.add((name, int(m.group("line"))))
    return found


@pytest.mark.parametrize(
    "conf",
    config_files(),
    ids=lambda p: (
        p.name
        if p.parent.name in {"keepalived-samples", "oracle_cases", "lab"}
        else f"{p.parent.name}/{p.name}"
    ),
)
def test_same_verdict_as_keepalived(oracle_ns: str, conf: Path) -> None:
    ka_rc, ka_out = run_test(oracle_ns, ["keepalived"], conf)
    py_rc, py_out = run_test(oracle_ns, [str(PYKEEPALIVED)], conf)
    detail = (
        f"\n--- keepalived (exit {ka_rc}):\n{ka_out}\n--- pykeepalived (exit {py_rc}):\n{py_out}"
    )
    assert py_rc == ka_rc, f"exit codes differ{detail}"
    missing = reported_lines(ka_out, conf) - reported_lines(py_out, conf)
    assert not missing, (
        f"lines keepalived reports but pykeepalived does not: {sorted(missing)}{detail}"
    )
