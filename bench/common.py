"""Shared helpers of the VRRP benches: a namespace lab, daemons, event watchers, CPU, stats.

The benches run pykeepalived and Debian's keepalived 2.2.7 on the same topology, one after the
other, inside network namespaces built with :mod:`pykeepalived.lab.topology` (routers ``r1``,
``r2`` and a ``client`` on one bridged segment, 192.0.2.0/24). Everything they start is
stopped and every namespace deleted when the :class:`BenchLab` context exits, also on errors.

Both daemons are started the way keepalived is run for VRRP only::

    <binary> -n -l -P [-D] -f CONF -p PIDFILE -r VRRP_PIDFILE --no-syslog

so for both the VRRP process (keepalived's VRRP child, pykeepalived's VRRP worker) is the pid in
the ``-r`` file and the parent (keepalived's parent, pykeepalived's supervisor) the ``-p`` one.

This file is also a small program used inside the namespaces (``python common.py echo-server``
/ ``echo-client``): a UDP echo that tells which router answered, so a bench sees the first
client packet answered by the new master (the hung master's kernel still answers until the
client's ARP entry moves).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import re
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from pykeepalived.lab.topology import Topology, cleanup_stale, simple_spec

IMPLS = ("pykeepalived", "keepalived")
KEEPALIVED = "keepalived"
ECHO_PORT = 7777
_SILENCE_S = 0.05
CLK_TCK = os.sysconf("SC_CLK_TCK")
OUT_DIR = Path(__file__).resolve().parent / "out"


def pykeepalived_binary() -> str:
    """The ``pykeepalived`` entry point next to the running interpreter (the venv's)."""
    exe = Path(sys.executable).with_name("pykeepalived")
    found = str(exe) if exe.exists() else shutil.which("pykeepalived")
    if found is None:
        raise SystemExit("pykeepalived is not installed in this environment")
    return found


def require_root_and_tools(*tools: str) -> None:
    """Exit with a message unless we are root and ``tools`` are on PATH."""
    if os.geteuid() != 0:
        raise SystemExit("this bench needs root (network namespaces)")
    missing = [t for t in ("ip", KEEPALIVED, *tools) if shutil.which(t) is None]
    if missing:
        raise SystemExit(f"missing tools: {', '.join(missing)} (apt-get install ...)")


# --------------------------------------------------------------------------------------------
# Configuration text


def mdi_s(version: int, advert_int_s: float, priority: int) -> float:
    """Master_Down_Interval of a backup of ``priority``: 3 x interval + skew.

    The v2 skew is (256 - prio)/256 s whatever the interval (RFC 3768); v3 scales it by the
    interval (RFC 5798).
    """
    skew_s = (256 - priority) / 256 * (advert_int_s if version == 3 else 1.0)
    return 3 * advert_int_s + skew_s


def instance_block(
    name: str,
    *,
    vrid: int,
    priority: int,
    advert_int: str,
    version: int,
    vips: Sequence[str],
    interface: str = "eth0",
    extra: Sequence[str] = (),
) -> str:
    """One ``vrrp_instance`` block (state BACKUP, preempting, multicast)."""
    lines = [
        f"vrrp_instance {name} {{",
        "    state BACKUP",
        f"    interface {interface}",
        f"    virtual_router_id {vrid}",
        f"    priority {priority}",
        f"    advert_int {advert_int}",
        f"    version {version}",
        *(f"    {line}" for line in extra),
        "    virtual_ipaddress {",
        *(f"        {vip}" for vip in vips),
        "    }",
        "}",
    ]
    return "\n".join(lines) + "\n"


def global_block(lines: Sequence[str]) -> str:
    """A ``global_defs`` block (empty string if no lines)."""
    if not lines:
        return ""
    return "global_defs {\n" + "".join(f"    {line}\n" for line in lines) + "}\n"


# --------------------------------------------------------------------------------------------
# /proc


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` in seconds (from /proc/PID/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rpartition(")")[2].split()
    # fields[0] is the state (field 3); utime/stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc/PID/task/*/children)."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            out += [int(x) for x in (task / "children").read_text().split()]
    return out


# --------------------------------------------------------------------------------------------
# Daemons


@dataclass
class Daemon:
    """pykeepalived or keepalived in one host namespace, with its files."""

    host: str
    impl: str
    workdir: Path
    proc: subprocess.Popen[Any] | None = None
    _log_fh: IO[str] | None = field(default=None, repr=False)

    @property
    def conf(self) -> Path:
        return self.workdir / "keepalived.conf"

    @property
    def log(self) -> Path:
        return self.workdir / "daemon.log"

    @property
    def pidfile(self) -> Path:
        return self.workdir / "main.pid"

    @property
    def vrrp_pidfile(self) -> Path:
        return self.workdir / "vrrp.pid"

    def _read_pid(self, path: Path) -> int:
        return int(path.read_text().split()[0])

    def vrrp_pid(self) -> int:
        """The VRRP process: keepalived's VRRP child, pykeepalived's VRRP worker."""
        return self._read_pid(self.vrrp_pidfile)

    def main_pid(self) -> int:
        """keepalived's parent / pykeepalived's supervisor."""
        return self._read_pid(self.pidfile)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds so far of the VRRP process and of the parent."""
        return {"vrrp": cpu_seconds(self.vrrp_pid()), "parent": cpu_seconds(self.main_pid())}


class BenchLab:
    """Routers ``r1``, ``r2`` and a ``client`` on one segment; a context manager.

    Exiting stops every daemon and helper process it started and deletes the namespaces.
    """

    def __init__(self, workdir: Path, hosts: Sequence[str] = ("r1", "r2", "client")) -> None:
        cleanup_stale()
        self.workdir = workdir
        self.topo = Topology(simple_spec(list(hosts)))
        self.daemons: list[Daemon] = []
        self.helpers: list[subprocess.Popen[Any]] = []
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> Self:
        self.topo.build()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            for d in self.daemons:
                self.stop_daemon(d, timeout_s=5.0)
            for proc in self.helpers:
                if proc.poll() is None:
                    proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(5)
        finally:
            self.topo.teardown()

    def netns(self, host: str) -> str:
        return self.topo.host(host).netns

    def ipv4(self, host: str) -> str:
        return str(self.topo.host(host).ipv4())

    def popen(self, host: str, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """A helper process in ``host``, killed when the lab closes."""
        proc = self.topo.popen(host, argv, **kwargs)
        self.helpers.append(proc)
        return proc

    def start_daemon(self, host: str, impl: str, config: str, tag: str = "") -> Daemon:
        """Write ``config`` and run ``impl`` on ``host``; returns once the VRRP pid is known."""
        workdir = self.workdir / f"{host}-{impl}{tag}"
        workdir.mkdir(parents=True, exist_ok=True)
        d = Daemon(host, impl, workdir)
        d.conf.write_text(config)
        for path in (d.pidfile, d.vrrp_pidfile):
            path.unlink(missing_ok=True)
        binary = pykeepalived_binary() if impl == "pykeepalived" else KEEPALIVED
        argv = [binary, "-n", "-l", "-P", "-f", str(d.conf)]
        if impl == "keepalived":
            argv.append("-D")
        argv += ["-p", str(d.pidfile), "-r", str(d.vrrp_pidfile), "--no-syslog"]
        d._log_fh = d.log.open("w")
        d.proc = self.topo.popen(host, argv, stdout=d._log_fh, stderr=subprocess.STDOUT)
        self.daemons.append(d)
        wait_until(lambda: d.vrrp_pidfile.exists() and d.pidfile.exists(), 20, f"{impl} on {host}")
        # the pid files are written before they are complete: make sure they parse
        wait_until(lambda: _pid_ok(d.vrrp_pidfile) and _pid_ok(d.pidfile), 5, "pid files")
        return d

    def stop_daemon(self, d: Daemon, timeout_s: float = 10.0) -> None:
        """SIGCONT (in case it is stopped), SIGTERM, wait; SIGKILL if it does not exit."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            os.kill(d.vrrp_pid(), signal.SIGCONT)
        proc = d.proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        d.proc = None
        if d._log_fh is not None:
            d._log_fh.close()
            d._log_fh = None

    def has_address(self, host: str, address: str) -> bool:
        out = subprocess.run(
            ["ip", "-n", self.netns(host), "-o", "addr", "show", "dev", "eth0"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return f" {address}/" in out


@contextlib.contextmanager
def workdir(keep: Path | None, prefix: str) -> Iterator[str]:
    """``keep`` (created) if given, else a temporary directory removed afterwards."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield str(keep)
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield tmp


def _pid_ok(path: Path) -> bool:
    try:
        return int(path.read_text().split()[0]) > 0
    except (OSError, ValueError, IndexError):
        return False


def wait_until(
    cond: Callable[[], bool], timeout_s: float, what: str, step_s: float = 0.01
) -> float:
    """Poll ``cond`` until true and return the time it took; RuntimeError on timeout."""
    start = time.monotonic()
    while not cond():
        if time.monotonic() - start > timeout_s:
            raise RuntimeError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(step_s)
    return time.monotonic() - start


# --------------------------------------------------------------------------------------------
# Event watchers (reader threads that timestamp lines with time.monotonic())


class LineWatcher:
    """Reads a helper's stdout in a thread; keeps (monotonic time, line) pairs."""

    def __init__(self, proc: subprocess.Popen[str], parse: Callable[[str], Any | None]) -> None:
        self.proc = proc
        self._parse = parse
        self.events: list[tuple[float, Any]] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            now = time.monotonic()
            value = self._parse(line)
            if value is None:
                continue
            with self._cond:
                self.events.append((now, value))
                self._cond.notify_all()

    def last(self) -> Any | None:
        """The latest event's value (None before the first)."""
        with self._cond:
            return self.events[-1][1] if self.events else None

    def last_matching(self, pred: Callable[[Any], bool]) -> Any | None:
        """The latest event value matching ``pred`` (None if none)."""
        with self._cond:
            return next((v for _, v in reversed(self.events) if pred(v)), None)

    def first_after(
        self, t0: float, pred: Callable[[Any], bool], timeout_s: float
    ) -> tuple[float, Any] | None:
        """The first event after ``t0`` matching ``pred`` (waits up to ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                for t, v in self.events:
                    if t >= t0 and pred(v):
                        return t, v
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)


_ADDR_RE = re.compile(
    r"^\[(?P<ts>[0-9T:.-]+)\] (?P<deleted>Deleted )?\d+: \S+\s+inet6? (?P<addr>[0-9a-fA-F:.]+)/"
)


def address_monitor(lab: BenchLab, host: str) -> LineWatcher:
    """``ip -ts monitor address`` in ``host``, event-driven: events ("add"|"del", address,
    time). The time is ``ip``'s own timestamp of the netlink message (wall clock, converted to
    this process's monotonic clock), so a late reader thread does not skew it."""
    offset_s = time.time() - time.monotonic()

    def parse(line: str) -> tuple[str, str, float] | None:
        m = _ADDR_RE.match(line)
        if m is None:
            return None
        wall = datetime.datetime.strptime(m["ts"], "%Y-%m-%dT%H:%M:%S.%f").timestamp()
        return ("del" if m["deleted"] else "add", m["addr"], wall - offset_s)

    proc = lab.popen(
        host, ["ip", "-ts", "monitor", "address"], stdout=subprocess.PIPE, text=True, bufsize=1
    )
    watcher = LineWatcher(proc, parse)
    time.sleep(0.1)  # let it subscribe before anything happens
    return watcher


def echo_client(lab: BenchLab, host: str, dst: str, interval_s: float) -> LineWatcher:
    """A UDP echo client in ``host``: events are the name of the router that answered,
    reported each time it changes (timestamps are the client's own monotonic clock)."""

    def parse(line: str) -> tuple[float, str] | None:
        parts = line.split()
        if len(parts) != 2:
            return None
        return float(parts[0]), parts[1]

    argv = [sys.executable, __file__, "echo-client", dst, str(ECHO_PORT), str(interval_s)]
    proc = lab.popen(host, argv, stdout=subprocess.PIPE, text=True, bufsize=1)
    return LineWatcher(proc, parse)


def advert_listener(lab: BenchLab, host: str, ifname: str = "eth0") -> LineWatcher:
    """Every IPv4 VRRP advert seen in ``host``: events (arrival time, src, vrid, prio)."""

    def parse(line: str) -> tuple[float, str, int, int] | None:
        parts = line.split()
        if len(parts) != 4:
            return None
        return float(parts[0]), parts[1], int(parts[2]), int(parts[3])

    argv = [sys.executable, __file__, "vrrp-listen", "224.0.0.18", ifname]
    proc = lab.popen(host, argv, stdout=subprocess.PIPE, text=True, bufsize=1)
    return LineWatcher(proc, parse)


def start_echo_server(lab: BenchLab, host: str, bind: str) -> None:
    """A UDP echo server bound (IP_FREEBIND) to ``bind`` in ``host``, answering its name."""
    argv = [sys.executable, __file__, "echo-server", bind, str(ECHO_PORT), host]
    lab.popen(host, argv, stdout=subprocess.DEVNULL)


# --------------------------------------------------------------------------------------------
# Statistics and tables


@dataclass(frozen=True)
class Summary:
    """Order statistics of a sample (seconds)."""

    n: int
    median: float
    p10: float
    p90: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        if not values:
            nan = float("nan")
            return cls(0, nan, nan, nan, nan)
        v = sorted(values)
        return cls(len(v), statistics.median(v), quantile(v, 0.10), quantile(v, 0.90), v[-1])


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile of already sorted values."""
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = q * (len(sorted_values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table, columns right-aligned except the first."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def fmt(row: Sequence[str]) -> str:
        cells = [str(c).ljust(widths[0]) if i == 0 else str(c).rjust(widths[i]) for i, c in
                 enumerate(row)]  # fmt: skip
        return "  ".join(cells)

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(header), sep, *(fmt(r) for r in rows)])


# --------------------------------------------------------------------------------------------
# The UDP echo helper (runs inside a namespace)


def _echo_server(bind: str, port: int, name: str) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_IP, 15, 1)  # IP_FREEBIND: bind before the VIP exists
    sock.bind((bind, port))
    tag = b" " + name.encode()
    while True:
        data, addr = sock.recvfrom(2048)
        with contextlib.suppress(OSError):  # the VIP may be gone by now
            sock.sendto(data + tag, addr)


def _vrrp_listen(group: str, ifname: str) -> None:
    """Print ``TIME SRC VRID PRIO`` for every IPv4 VRRP packet seen on ``ifname``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
    mreq = socket.inet_aton(group) + bytes(4) + struct.pack("@i", socket.if_nametoindex(ifname))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    out = sys.stdout
    while True:
        data = sock.recv(2048)
        t = time.monotonic()
        ihl = (data[0] & 0x0F) * 4
        src = socket.inet_ntoa(data[12:16])
        out.write(f"{t:.6f} {src} {data[ihl + 1]} {data[ihl + 2]}\n")
        out.flush()


def _echo_client(dst: str, port: int, interval_s: float) -> None:
    """Send a numbered datagram every ``interval_s``; print ``TIME NAME`` whenever the router
    answering changes, and ``TIME none`` once nothing has answered for ``_SILENCE_S``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    seq = 0
    last = b""
    last_reply = time.monotonic()
    next_send = time.monotonic()
    out = sys.stdout

    def report(t: float, name: bytes) -> None:
        nonlocal last
        if name != last:
            last = name
            out.write(f"{t:.6f} {name.decode(errors='replace')}\n")
            out.flush()

    while True:
        now = time.monotonic()
        if now >= next_send:
            seq += 1
            with contextlib.suppress(OSError):
                sock.sendto(seq.to_bytes(8, "big"), (dst, port))
            next_send += interval_s
            if next_send < now:
                next_send = now + interval_s
        if now - last_reply > _SILENCE_S:
            report(now, b"none")
        ready, _, _ = select.select([sock], [], [], max(0.0, next_send - time.monotonic()))
        if not ready:
            continue
        while True:
            try:
                data = sock.recv(2048)
            except BlockingIOError:
                break
            last_reply = time.monotonic()
            report(last_reply, data[9:])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("echo-server")
    s.add_argument("bind")
    s.add_argument("port", type=int)
    s.add_argument("name")
    v = sub.add_parser("vrrp-listen")
    v.add_argument("group")
    v.add_argument("ifname")
    c = sub.add_parser("echo-client")
    c.add_argument("dst")
    c.add_argument("port", type=int)
    c.add_argument("interval_s", type=float)
    args = p.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        if args.cmd == "echo-server":
            _echo_server(args.bind, args.port, args.name)
        elif args.cmd == "vrrp-listen":
            _vrrp_listen(args.group, args.ifname)
        else:
            _echo_client(args.dst, args.port, args.interval_s)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
