"""Parse a generated 50,000-line keepalived.conf: pykeepalived vs keepalived -t, side by side.

The config has 1,000 virtual servers x 10 real servers (TCP_CHECK) and 200 VRRP instances.
Each tool is run as a fresh process ``-t -f FILE`` several times; the table shows the median
wall time, the best time and the peak RSS of the process. pykeepalived's in-process parse time
(no interpreter start-up) is shown too.

Usage: .venv/bin/python bench/parse_config.py [--runs 5] [--keep FILE]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VIRTUAL_SERVERS = 1000
REAL_SERVERS = 10
VRRP_INSTANCES = 200
GNU_TIME = "/usr/bin/time"  # Debian package "time", installed by scripts/setup.sh


def generate(path: Path, interface: str) -> int:
    """Write the benchmark config; returns its line count."""
    lines: list[str] = ["global_defs {", "    router_id bench", "}"]
    for i in range(VRRP_INSTANCES):
        lines += [
            f"vrrp_instance VI_{i} {{",
            "    state BACKUP",
            f"    interface {interface}",
            f"    virtual_router_id {i % 255 + 1}",
            f"    priority {100 + i % 50}",
            "    advert_int 1",
            "    virtual_ipaddress {",
            f"        192.0.2.{i % 250 + 1}/32 dev {interface} label {interface}:{i}",
            "    }",
            "}",
        ]
    for v in range(VIRTUAL_SERVERS):
        vip = f"203.0.113.{v % 250 + 1}"
        lines += [
            f"virtual_server {vip} {8000 + v // 250} {{",
            "    delay_loop 6",
            "    lb_algo wrr",
            "    lb_kind NAT",
            "    persistence_timeout 50",
            "    protocol TCP",
        ]
        for r in range(REAL_SERVERS):
            lines += [
                f"    real_server 198.51.100.{r + 1} {10000 + v} {{",
                f"        weight {r + 1}",
                "        TCP_CHECK { connect_timeout 3 }",
                "    }",
            ]
        lines += ["    quorum 1", "}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def time_process(argv: list[str], runs: int) -> tuple[list[float], int, int]:
    """Wall times of ``runs`` executions, the peak RSS (KiB) of the largest run, and the exit code.

    The peak RSS comes from GNU time: Linux keeps a process's RSS high-water mark across
    exec, so a child forked straight from this (large) Python process would report our RSS.
    """
    times: list[float] = []
    code = 0
    peak_kib = 0
    for _ in range(runs):
        with tempfile.NamedTemporaryFile("r") as report:
            start = time.perf_counter()
            proc = subprocess.run(
                [GNU_TIME, "-f", "%M", "-o", report.name, *argv],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
            times.append(time.perf_counter() - start)
            code = proc.returncode
            peak_kib = max(peak_kib, int(report.read().strip().splitlines()[-1]))
    return times, peak_kib, code


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument(
        "--interface", default="lo" if not Path("/sys/class/net/eth0").exists() else "eth0"
    )
    ap.add_argument("--keep", type=Path, default=None, help="also write the config here")
    args = ap.parse_args()

    from pykeepalived.config.loader import load_file  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        conf = Path(tmp) / "bench.conf"
        n_lines = generate(conf, args.interface)
        if args.keep:
            shutil.copy(conf, args.keep)
        rows: list[tuple[str, list[float], int | None, int | None]] = []

        in_proc: list[float] = []
        for _ in range(args.runs):
            start = time.perf_counter()
            result = load_file(conf, config_id="bench")
            in_proc.append(time.perf_counter() - start)
        n_vs = len(result.config.lvs.virtual_servers)
        n_vi = len(result.config.vrrp.instances)
        rows.append(("pykeepalived (in-process load_file)", in_proc, None, None))

        pyk = Path(sys.executable).parent / "pykeepalived"
        times, rss, code = time_process([str(pyk), "-t", "-f", str(conf)], args.runs)
        rows.append(("pykeepalived -t (process)", times, rss, code))
        keepalived = shutil.which("keepalived")
        if keepalived:
            times, rss, code = time_process([keepalived, "-t", "-f", str(conf)], args.runs)
            rows.append(("keepalived 2.2.7 -t (process)", times, rss, code))

    print(
        f"config: {n_lines} lines, {n_vs} virtual servers x {REAL_SERVERS} real servers, "
        f"{n_vi} VRRP instances; {args.runs} runs each"
    )
    print(f"{'tool':40} {'median s':>9} {'best s':>8} {'peak RSS MiB':>13} {'exit':>5}")
    for name, samples, rss_kib, exit_code in rows:
        rss_txt = f"{rss_kib / 1024:.1f}" if rss_kib is not None else "-"
        code_txt = str(exit_code) if exit_code is not None else "-"
        print(
            f"{name:40} {statistics.median(samples):9.3f} {min(samples):8.3f} "
            f"{rss_txt:>13} {code_txt:>5}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
