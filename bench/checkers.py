"""Checker load: N real servers on loopback with TCP_CHECK or HTTP_GET at delay_loop 1.

For each (checker, N) row it prints, for the checker process: checks per second, CPU seconds
per second (user + system, from getrusage or /proc/PID/stat), CPU microseconds per check, RSS,
and two lateness measures:

- ``p99 late`` (pykeepalived only): start time minus due time of every attempt, from the
  scheduler itself;
- ``p99 gap``: seen from the servers, the p99 of (interval between two checks of the same port
  minus delay_loop). This one is measured the same way for keepalived and pykeepalived.

The listeners are plain ``epoll`` accept loops in ``--listener-procs`` forked processes, their
CPU reported separately (``lsnr CPU``). Measured here they cost about 40 us of CPU per
connection, against roughly 90 us for the asyncio ``start_server`` listener used before: at
10,000 checks/s that one alone needs most of a core, on a 2-core box shared with the checker.
``busy`` is the whole machine's CPU use during the row (the box may
be shared: a busy machine starves the checker and shows up as lateness).

Usage::

    python bench/checkers.py [--sizes 1000 10000] [--kinds tcp http] [--seconds 15]
    python bench/checkers.py --impl keepalived ...   # needs IPVS: inside the VM (--vm)
    python bench/checkers.py --vm --sizes 1000       # boots Debian's kernel (see tests/vm)
                                                     # and runs both implementations there
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import resource
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from pykeepalived.checkers.dataplane import FakeDataPlane
from pykeepalived.checkers.service import CheckerService
from pykeepalived.config.loader import load_text

BASE_PORT = 20000  # below the ephemeral range (32768-60999)
RESPONSE = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"
DELAY_LOOP_S = 1.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
REPO = Path(__file__).resolve().parent.parent
VM_CACHE = Path(os.environ.get("PYKA_VM_CACHE", "/opt/pykeepalived-vm"))


def raise_nofile(want: int) -> int:
    """Raise the soft RLIMIT_NOFILE towards ``want`` (up to the hard limit); returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(max(soft, want), hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


# --------------------------------------------------------------------------------------------
# Listeners


def _listener(ports: range, ctl: Connection) -> None:
    """Accept (and answer GETs) on ``ports``; records per-port gaps between checks.

    Commands on ``ctl``: ``"reset"`` clears the statistics, ``"stats"`` answers
    ``(connections, gaps_s, cpu_s)``.
    """
    raise_nofile(len(ports) + 4096)
    ep = select.epoll()
    listeners: dict[int, tuple[socket.socket, int]] = {}
    for port in ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(128)
        listeners[s.fileno()] = (s, port)
        ep.register(s.fileno(), select.EPOLLIN)
    ep.register(ctl.fileno(), select.EPOLLIN)
    conns: dict[int, socket.socket] = {}
    last: dict[int, float] = {}
    gaps: list[float] = []
    count = 0
    ctl.send("ready")
    while True:
        for fd, _ in ep.poll():
            entry = listeners.get(fd)
            if entry is not None:
                lsock, port = entry
                while True:
                    try:
                        c, _addr = lsock.accept()
                    except BlockingIOError:
                        break
                    now = time.monotonic()
                    count += 1
                    prev = last.get(port)
                    last[port] = now
                    if prev is not None:
                        gaps.append(now - prev - DELAY_LOOP_S)
                    c.setblocking(False)
                    conns[c.fileno()] = c
                    ep.register(c.fileno(), select.EPOLLIN)
            elif fd == ctl.fileno():
                cmd = ctl.recv()
                if cmd == "reset":
                    gaps.clear()
                    count = 0
                elif cmd == "stats":
                    ru = resource.getrusage(resource.RUSAGE_SELF)
                    ctl.send((count, gaps, ru.ru_utime + ru.ru_stime))
                else:
                    return
            else:
                c = conns.pop(fd)
                with contextlib.suppress(OSError):
                    if c.recv(4096).startswith(b"GET"):
                        c.send(RESPONSE)
                ep.unregister(fd)
                c.close()


class Listeners:
    """``procs`` forked epoll listeners sharing the ports round-robin."""

    def __init__(self, n: int, procs: int) -> None:
        ctx = multiprocessing.get_context("fork")
        self.pipes: list[Connection] = []
        self.procs: list[Any] = []
        for w in range(procs):
            parent, child = ctx.Pipe()
            p = ctx.Process(
                target=_listener, args=(range(BASE_PORT + w, BASE_PORT + n, procs), child)
            )
            p.daemon = True
            p.start()
            self.pipes.append(parent)
            self.procs.append(p)
        for pipe in self.pipes:
            if not pipe.poll(300) or pipe.recv() != "ready":
                raise SystemExit("listeners did not start")

    def reset(self) -> None:
        for pipe in self.pipes:
            pipe.send("reset")

    def stats(self) -> tuple[int, list[float], float]:
        count, gaps, cpu = 0, [], 0.0
        for pipe in self.pipes:
            pipe.send("stats")
            c, g, u = pipe.recv()
            count, cpu = count + c, cpu + u
            gaps.extend(g)
        return count, gaps, cpu

    def close(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send("quit")
        for p in self.procs:
            p.join(5)
            if p.is_alive():
                p.kill()


# --------------------------------------------------------------------------------------------
# Configuration and measures


def config_text(n: int, kind: str) -> str:
    check = (
        "TCP_CHECK {\n connect_timeout 3\n}"
        if kind == "tcp"
        else "HTTP_GET {\n url {\n path /\n status_code 200\n }\n connect_timeout 3\n}"
    )
    servers = "\n".join(f"real_server 127.0.0.1 {BASE_PORT + i} {{\n{check}\n}}" for i in range(n))
    return (
        f"virtual_server 192.0.2.1 80 {{\nprotocol TCP\nlb_kind NAT\n"
        f"delay_loop {DELAY_LOOP_S:g}\n{servers}\n}}\n"
    )


def rss_mib(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def machine_busy() -> tuple[float, float]:
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    idle = cpu[3] + cpu[4]
    return float(sum(cpu) - idle), float(sum(cpu))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Row:
    impl: str
    kind: str
    n: int
    checks_per_s: float
    cpu_s_per_s: float
    rss_mib: float
    p99_late_ms: float  # scheduler's own (nan for keepalived)
    p50_gap_ms: float
    p99_gap_ms: float
    alive: int
    listener_cpu: float
    busy: float

    @property
    def us_per_check(self) -> float:
        return 1e6 * self.cpu_s_per_s / self.checks_per_s if self.checks_per_s else float("nan")


class Window:
    """One measurement window: listener counters, machine CPU and wall time."""

    def __init__(self, listeners: Listeners) -> None:
        self.listeners = listeners
        listeners.reset()
        self.l_cpu0 = listeners.stats()[2]
        self.busy0 = machine_busy()
        self.t0 = time.monotonic()

    def close(self) -> tuple[float, int, list[float], float, float]:
        elapsed = time.monotonic() - self.t0
        count, gaps, l_cpu = self.listeners.stats()
        b1 = machine_busy()
        busy = (b1[0] - self.busy0[0]) / max(1.0, b1[1] - self.busy0[1])
        return elapsed, count, gaps, (l_cpu - self.l_cpu0) / elapsed, busy


async def measure_ours(
    n: int, kind: str, seconds: float, listeners: Listeners, settle_s: float
) -> Row:
    config = load_text(config_text(n, kind)).config
    dp = FakeDataPlane()
    service = CheckerService(config, dataplane=dp, bootstrap_s=0.0, max_concurrency=2048)
    await service.start()
    await asyncio.sleep(settle_s)
    scheduler = service.scheduler
    assert scheduler is not None
    scheduler.lateness_s.clear()
    window = Window(listeners)
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    await asyncio.sleep(seconds)
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    elapsed, count, gaps, l_cpu, busy = window.close()
    cpu = (ru1.ru_utime - ru0.ru_utime + ru1.ru_stime - ru0.ru_stime) / elapsed
    row = Row(
        "pykeepalived",
        kind,
        n,
        count / elapsed,
        cpu,
        rss_mib(),
        scheduler.lateness_percentile(0.99) * 1000,
        percentile(gaps, 0.5) * 1000,
        percentile(gaps, 0.99) * 1000,
        sum(1 for w in dp.table.get("[192.0.2.1]:tcp:80", {}).values() if w),
        l_cpu,
        busy,
    )
    await service.stop()
    return row


def measure_keepalived(
    n: int, kind: str, seconds: float, listeners: Listeners, settle_s: float
) -> Row:
    """keepalived's checker process (``-C``): needs IPVS, so only inside the VM."""
    with tempfile.TemporaryDirectory(prefix="pyka-kabench-") as tmp:
        conf = Path(tmp) / "keepalived.conf"
        conf.write_text(config_text(n, kind))
        pid_main, pid_chk = Path(tmp) / "main.pid", Path(tmp) / "chk.pid"
        cmd = [
            "keepalived", "-n", "-l", "-C", "--no-syslog", "-f", str(conf),
            "-p", str(pid_main), "-c", str(pid_chk),
        ]  # fmt: skip
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while not (pid_chk.exists() and pid_chk.read_text().strip()):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"keepalived checker did not start (exit {proc.poll()})")
                time.sleep(0.2)
            chk = int(pid_chk.read_text())
            time.sleep(settle_s)
            window = Window(listeners)
            c0 = proc_cpu_s(chk)
            time.sleep(seconds)
            c1 = proc_cpu_s(chk)
            elapsed, count, gaps, l_cpu, busy = window.close()
            alive = ipvs_weighted_dests()
            return Row(
                "keepalived",
                kind,
                n,
                count / elapsed,
                (c1 - c0) / elapsed,
                rss_mib(chk),
                float("nan"),
                percentile(gaps, 0.5) * 1000,
                percentile(gaps, 0.99) * 1000,
                alive,
                l_cpu,
                busy,
            )
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def ipvs_weighted_dests() -> int:
    """Real servers with a non-zero weight in IPVS (``ipvsadm -Ln``); -1 without ipvsadm."""
    if shutil.which("ipvsadm") is None:
        return -1
    out = subprocess.run(["ipvsadm", "-Ln"], capture_output=True, text=True, check=False).stdout
    return sum(
        1
        for line in out.splitlines()
        if line.strip().startswith("->") and line.split()[3] != "0" and line.split()[3].isdigit()
    )


# --------------------------------------------------------------------------------------------
# Output


def print_table(rows: list[Row]) -> None:
    header = (
        f"{'impl':<13}{'check':<6}{'RS':>7}{'checks/s':>10}{'CPU s/s':>9}{'us/check':>10}"
        f"{'RSS MiB':>9}{'p99 late ms':>13}{'p50 gap ms':>12}{'p99 gap ms':>12}{'alive':>7}"
        f"{'lsnr CPU':>10}{'busy':>6}"
    )
    print(header)
    for r in rows:
        print(
            f"{r.impl:<13}{r.kind:<6}{r.n:>7}{r.checks_per_s:>10.0f}{r.cpu_s_per_s:>9.2f}"
            f"{r.us_per_check:>10.0f}{r.rss_mib:>9.0f}{r.p99_late_ms:>13.1f}"
            f"{r.p50_gap_ms:>12.1f}{r.p99_gap_ms:>12.1f}{r.alive:>7}{r.listener_cpu:>10.2f}"
            f"{r.busy:>6.0%}"
        )
    sys.stdout.flush()


def run_vm(argv: list[str], timeout_s: int) -> int:
    """Boot Debian's kernel (prepared by tests/vm/run_vm.sh) and run this bench inside."""
    kdirs = sorted(VM_CACHE.glob("kdir-*"))
    vng = Path(sys.executable).with_name("vng")
    if not kdirs or not vng.exists():
        print("no VM kernel: run `bash tests/vm/run_vm.sh` once to prepare it", file=sys.stderr)
        return 2
    kdir = kdirs[-1]
    ver = kdir.name.removeprefix("kdir-")
    with tempfile.TemporaryDirectory(prefix="pyka-vmbench-") as out:
        guest = (
            f"set +e; mkdir -p /lib/modules && ln -sfn {kdir}/lib/modules/{ver} /lib/modules/{ver};"
            f" modprobe ip_vs; ulimit -n 65536; cd {REPO};"
            f" PYTHONDONTWRITEBYTECODE=1 {sys.executable} {Path(__file__).resolve()} "
            + " ".join(argv)
            + f" > {out}/log 2>&1"
        )
        cmd = [
            str(vng), "--run", str(kdir / "boot" / f"vmlinuz-{ver}"), "--disable-kvm",
            "--user", "root", "--memory", "2G", "--cpus", "2", "--rwdir", out, "--exec", guest,
        ]  # fmt: skip
        env = dict(os.environ, PATH=f"{vng.parent}:{os.environ.get('PATH', '')}")
        try:
            rc = subprocess.run(cmd, env=env, timeout=timeout_s, check=False).returncode
        except subprocess.TimeoutExpired:
            rc = 124
        log = Path(out) / "log"
        print(log.read_text() if log.exists() else "(no output from the guest)")
        return rc


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--kinds", nargs="+", default=["tcp", "http"])
    parser.add_argument("--impl", nargs="+", default=["pykeepalived"])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--settle", type=float, default=5.0, help="seconds before measuring")
    parser.add_argument("--listener-procs", type=int, default=2)
    parser.add_argument("--vm", action="store_true", help="run inside Debian's kernel (IPVS)")
    parser.add_argument("--vm-timeout", type=int, default=1800)
    args = parser.parse_args()
    if args.vm:
        argv = [a for a in sys.argv[1:] if a != "--vm"]
        if "--impl" not in argv:
            argv += ["--impl", "keepalived", "pykeepalived"]
        raise SystemExit(run_vm(argv, args.vm_timeout))
    rows: list[Row] = []
    for n in args.sizes:
        raise_nofile(2 * n + 4096)
        listeners = Listeners(n, args.listener_procs)
        try:
            for kind in args.kinds:
                for impl in args.impl:
                    if impl == "keepalived":
                        row = measure_keepalived(n, kind, args.seconds, listeners, args.settle)
                    else:
                        row = asyncio.run(
                            measure_ours(n, kind, args.seconds, listeners, args.settle)
                        )
                    rows.append(row)
                    print_table([row])
        finally:
            listeners.close()
    print()
    print_table(rows)


if __name__ == "__main__":
    main()
