"""Many fast instances: CPU cost and stability, pykeepalived and keepalived in one run.

Two routers in network namespaces run N instances (default 200, VRIDs 1..N, one /32 VIP each)
at VRRPv3 advert_int 0.01 s: r1 with priority 100 (master of all), r2 with 90 (backup). That is
N x 100 adverts per second on the segment (20,000/s by default). Once every VIP sits on r1 and
none on r2, and after a short settling time, we measure for ``--duration`` seconds:

* CPU seconds per second (utime + stime from /proc/PID/stat) of the VRRP process (keepalived's
  VRRP child, pykeepalived's VRRP worker: the pid in the ``-r`` file) and of the parent
  (keepalived's parent, pykeepalived's supervisor), on the master and on the backup;
* adverts per second actually arriving at each router (eth0 receive counter), to show the master
  keeps up the rate;
* spurious transitions: "Entering ... STATE" log lines during the window (target 0), and whether
  r1 still holds every VIP at the end.

The tools run one after the other on the same topology (never at once: the machine has few
cores). Usage: ``python bench/scale.py [--instances 200] [--duration 60] [--impls ...]`` (root).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    IMPLS,
    OUT_DIR,
    BenchLab,
    Daemon,
    format_table,
    instance_block,
    require_root_and_tools,
    wait_until,
    workdir,
)

ADVERT_INT = "0.01"
SETTLE_S = 5.0
CONVERGE_TIMEOUT_S = 60.0
KEEPALIVED_REFERENCE = {"master": 0.53, "backup": 0.07}
"""ENVIRONMENT.md's earlier measurement of keepalived (CPU-s/s), for comparison."""


def vip(i: int) -> str:
    """The VIP of instance ``i`` (1-based): 198.51.100.i, then 203.0.113.(i - 254)."""
    return f"198.51.100.{i}" if i <= 254 else f"203.0.113.{i - 254}"


def config(instances: int, priority: int) -> str:
    # one GARP per VIP on becoming master: 200 x 5 would only add start-up noise
    text = "global_defs {\n    vrrp_garp_master_repeat 1\n    vrrp_garp_master_delay 0\n}\n"
    for i in range(1, instances + 1):
        text += instance_block(
            f"VI_{i}",
            vrid=i,
            priority=priority,
            advert_int=ADVERT_INT,
            version=3,
            vips=[f"{vip(i)}/32"],
        )
    return text


@dataclass
class NodeResult:
    """One router's numbers over the measuring window."""

    impl: str
    host: str
    role: str
    vrrp_cpu_per_s: float
    parent_cpu_per_s: float
    rx_adverts_per_s: float
    tx_adverts_per_s: float
    transitions: int
    vips_at_end: int

    @property
    def total_cpu_per_s(self) -> float:
        return self.vrrp_cpu_per_s + self.parent_cpu_per_s


def vip_count(lab: BenchLab, host: str, instances: int) -> int:
    out = subprocess.run(
        ["ip", "-n", lab.netns(host), "-o", "-4", "addr", "show", "dev", "eth0"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    wanted = {vip(i) for i in range(1, instances + 1)}
    return sum(1 for line in out.splitlines() if line.split()[3].split("/")[0] in wanted)


def link_packets(lab: BenchLab, host: str) -> tuple[int, int]:
    """(rx, tx) packet counters of eth0 in ``host``."""
    out = subprocess.run(
        ["ip", "-n", lab.netns(host), "-s", "-j", "link", "show", "dev", "eth0"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    st = json.loads(out)[0]["stats64"]
    return int(st["rx"]["packets"]), int(st["tx"]["packets"])


def transitions(d: Daemon, offset: int) -> int:
    return d.log_text()[offset:].count("Entering ")


def run_impl(lab: BenchLab, impl: str, instances: int, duration_s: float) -> list[NodeResult]:
    # r1 first, alone, until it is master of everything; then r2 joins as the backup. (Both
    # at once makes either tool flap while 2 x N instances start on 2 cores: start-up is not
    # what this bench measures.)
    r1 = lab.start_daemon("r1", impl, config(instances, 100))
    daemons = [r1]
    try:
        wait_until(
            lambda: vip_count(lab, "r1", instances) == instances,
            60,
            f"{impl}: r1 master of all {instances} instances",
            step_s=0.2,
        )
        r2 = lab.start_daemon("r2", impl, config(instances, 90))
        daemons.append(r2)
        try:
            wait_until(
                lambda: (
                    vip_count(lab, "r1", instances) == instances
                    and vip_count(lab, "r2", instances) == 0
                    and r2.log_text().count("Entering BACKUP") >= instances
                ),
                CONVERGE_TIMEOUT_S,
                f"{impl}: r2 backup of all {instances} instances",
                step_s=0.2,
            )
        except RuntimeError as exc:  # measure anyway: the transitions column shows the flapping
            print(f"  {impl}: NOT CONVERGED ({exc}); measuring anyway", flush=True)
        time.sleep(SETTLE_S)
        offsets = {d.host: len(d.log_text()) for d in (r1, r2)}
        cpu0 = {d.host: d.cpu_seconds() for d in (r1, r2)}
        pk0 = {d.host: link_packets(lab, d.host) for d in (r1, r2)}
        t0 = time.monotonic()
        time.sleep(duration_s)
        elapsed = time.monotonic() - t0
        cpu1 = {d.host: d.cpu_seconds() for d in (r1, r2)}
        pk1 = {d.host: link_packets(lab, d.host) for d in (r1, r2)}
        results = []
        for d, role in ((r1, "master"), (r2, "backup")):
            h = d.host
            results.append(
                NodeResult(
                    impl=impl,
                    host=h,
                    role=role,
                    vrrp_cpu_per_s=(cpu1[h]["vrrp"] - cpu0[h]["vrrp"]) / elapsed,
                    parent_cpu_per_s=(cpu1[h]["parent"] - cpu0[h]["parent"]) / elapsed,
                    rx_adverts_per_s=(pk1[h][0] - pk0[h][0]) / elapsed,
                    tx_adverts_per_s=(pk1[h][1] - pk0[h][1]) / elapsed,
                    transitions=transitions(d, offsets[h]),
                    vips_at_end=vip_count(lab, h, instances),
                )
            )
        return results
    finally:
        for d in daemons:
            lab.stop_daemon(d, timeout_s=30)
            lab.daemons.remove(d)


def table(results: list[NodeResult]) -> str:
    header = [
        "tool",
        "node",
        "VRRP CPU-s/s",
        "parent CPU-s/s",
        "total",
        "rx pkt/s",
        "tx pkt/s",
        "transitions",
        "VIPs at end",
    ]
    rows = [
        [
            r.impl,
            f"{r.host} ({r.role})",
            f"{r.vrrp_cpu_per_s:.3f}",
            f"{r.parent_cpu_per_s:.3f}",
            f"{r.total_cpu_per_s:.3f}",
            f"{r.rx_adverts_per_s:.0f}",
            f"{r.tx_adverts_per_s:.0f}",
            str(r.transitions),
            str(r.vips_at_end),
        ]
        for r in results
    ]
    return format_table(header, rows)


def verdict(results: list[NodeResult]) -> list[str]:
    by = {(r.impl, r.role): r for r in results}
    lines = []
    for role in ("master", "backup"):
        py, ka = by.get(("pykeepalived", role)), by.get(("keepalived", role))
        if py is None:
            continue
        line = f"{role}: pykeepalived {py.total_cpu_per_s:.3f} CPU-s/s"
        if ka is not None:
            ok = py.total_cpu_per_s <= ka.total_cpu_per_s
            line += (
                f" vs keepalived {ka.total_cpu_per_s:.3f}: {'OK' if ok else 'MISS'} "
                "(no more than keepalived)"
            )
        line += f"; spurious transitions {py.transitions} (target 0)"
        lines.append(line)
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--instances", type=int, default=200)
    p.add_argument("--duration", type=float, default=60.0, help="measuring window, seconds")
    p.add_argument("--impls", nargs="+", default=list(IMPLS), choices=IMPLS)
    p.add_argument("--out", type=Path, default=OUT_DIR)
    p.add_argument("--workdir", type=Path, default=None, help="keep configs and daemon logs here")
    args = p.parse_args(argv)
    if not 1 <= args.instances <= 255:
        p.error("--instances must be 1..255 (one VRID each)")
    require_root_and_tools()
    results: list[NodeResult] = []
    with (
        workdir(args.workdir, "pk-scale-") as tmp,
        BenchLab(Path(tmp), hosts=("r1", "r2")) as lab,
    ):
        for impl in args.impls:
            print(
                f"{impl}: {args.instances} instances at v3 advert_int {ADVERT_INT}, "
                f"{args.duration:g} s",
                flush=True,
            )
            try:
                results += run_impl(lab, impl, args.instances, args.duration)
            except RuntimeError as exc:
                print(f"  {impl}: failed: {exc}")
    print()
    print(table(results))
    print()
    for line in verdict(results):
        print(line)
    print(
        f"(ENVIRONMENT.md measured keepalived earlier at {KEEPALIVED_REFERENCE['master']} "
        f"CPU-s/s master, {KEEPALIVED_REFERENCE['backup']} backup)"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scale.json").write_text(
        json.dumps([{**asdict(r), "total_cpu_per_s": r.total_cpu_per_s} for r in results], indent=1)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
