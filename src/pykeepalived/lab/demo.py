"""The lab demo (README's main job): the seed's keepalived.conf, whole, on two directors.

The seed document's config (``lab/seed.conf``: VRRP instance VI_1 and ``virtual_server
192.168.68.222 80`` with two TCP-checked real servers) is moved from 192.168.68.0/24 into the
documentation range 192.0.2.0/24 (`lab.labconfig`) and run by ``pykeepalived`` -- VRRP, the
virtual server and its checkers -- on director ``dir1``; ``dir2`` runs the usual BACKUP twin.
Real servers ``web1`` (.225) and ``web2`` (.226) answer HTTP with their own name (`lab.web`); a
``client`` with 40 extra source addresses makes the requests (`lab.probe`). The lab

1. waits for dir1 to be MASTER and prints both directors' status tables;
2. sends requests to VIP:80: from one address (persistence keeps it on one server), then 200
   from 40 addresses, and prints the split next to the configured weights;
3. kills web1's server: TCP_CHECK fails, the real server is inhibited (weight 0), and the lab
   shows when all new connections went to web2, then brings web1 back;
4. hangs dir1's VRRP worker (SIGSTOP): the VIP and the service move to dir2, timed beside the
   protocol limit (Master_Down_Interval); resumes it (dir1 preempts back); stops dir1 cleanly
   (SIGTERM: a priority-0 advert, takeover after Skew_Time).

This kernel has no IPVS, so the directors use pykeepalived's nftables data plane, which forwards
by NAT only: the seed's ``lb_kind DR`` becomes NAT (printed), and as clients and real servers
share one segment the directors masquerade (``--lvs-nft-masquerade``) so replies come back
through them. Everything lives in namespaces this process creates and deletes (also on Ctrl-C
or failure); no address or packet touches the machine's own interfaces.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from pykeepalived.config.loader import load_file, render_config
from pykeepalived.control import api
from pykeepalived.control.status import render_table
from pykeepalived.lab.labconfig import (
    CLIENT,
    DIRECTORS,
    LAB_NETWORK,
    LabConfigError,
    LabPlan,
    WebHost,
    lab_plan,
    service_text,
)
from pykeepalived.lab.topology import Topology, TopologySpec, run_cmd
from pykeepalived.lab.traffic import (
    Attempt,
    Split,
    first_done,
    format_split,
    outcomes,
    server_changes,
    split,
)
from pykeepalived.lab.watch import HttpWatch, Timeline, VipWatch
from pykeepalived.lab.web import READY_LINE
from pykeepalived.vrrp import timers

log = logging.getLogger(__name__)

SEED_CONFIG = Path(__file__).with_name("seed.conf")
#: sysctls of a NAT director: forward, and do not tell clients to go around it
DIRECTOR_SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    "net.ipv4.conf.all.send_redirects": "0",
    "net.ipv4.conf.default.send_redirects": "0",
    "net.ipv4.conf.eth0.send_redirects": "0",
}
PERSISTENCE_REQUESTS = 10
BALANCE_REQUESTS_PER_SOURCE = 5
START_TIMEOUT_S = 30.0
STATUS_POLL_S = 0.25
WATCH_INTERVAL_S = 0.02
#: at least this many consecutive good answers before traffic counts as settled
CONFIRM_ATTEMPTS = 10
NFT_TABLE = "pykeepalived"
_SERVICE_CHAIN = re.compile(r"^chain (s\d+(?:d\d+)?) \{$")
_LOG_PREFIX = re.compile(r"^\w{3} \w{3} +\d+ [\d:]{8} \d{4} ")


class LabError(Exception):
    """The lab could not go on (the message says what did not happen)."""


# ------------------------------------------------------------------------- processes


@dataclass
class Director:
    """A pykeepalived daemon in a director namespace, with its files."""

    name: str
    address: ipaddress.IPv4Address
    proc: subprocess.Popen[bytes]
    log_path: Path
    vrrp_pid_path: Path
    socket_path: Path

    def vrrp_pid(self) -> int:
        """The VRRP worker's pid (keepalived's -r file), or the daemon's own pid."""
        with contextlib.suppress(FileNotFoundError, ValueError):
            return int(self.vrrp_pid_path.read_text().strip())
        return self.proc.pid

    def signal_vrrp(self, sig: signal.Signals) -> None:
        """Signal the process doing VRRP, as one would hang keepalived's VRRP child."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.vrrp_pid(), sig)

    def status(self) -> dict[str, Any]:
        """The daemon's status document (what ``pykeepalivedctl status --json`` prints)."""
        return api.get_status(socket_path=str(self.socket_path))

    def log_size(self) -> int:
        with contextlib.suppress(FileNotFoundError):
            return self.log_path.stat().st_size
        return 0

    def log_lines(self, since_byte: int = 0) -> list[str]:
        """Log lines written after byte ``since_byte``, without the date prefix."""
        try:
            with self.log_path.open("rb") as f:
                f.seek(since_byte)
                text = f.read().decode(errors="replace")
        except FileNotFoundError:
            return []
        return [_LOG_PREFIX.sub("", line) for line in text.splitlines()]


def _pykeepalived_binary() -> str:
    candidate = Path(sys.executable).parent / "pykeepalived"
    return str(candidate) if candidate.exists() else "pykeepalived"


def _start_director(topo: Topology, name: str, conf: Path, workdir: Path) -> Director:
    log_path = workdir / f"{name}.log"
    vrrp_pid = workdir / f"{name}-vrrp.pid"
    sock = workdir / f"{name}.sock"
    argv = [
        _pykeepalived_binary(), "-n", "-l", "--no-syslog", "-f", str(conf),
        "-p", str(workdir / f"{name}.pid"), "-r", str(vrrp_pid),
        "-c", str(workdir / f"{name}-checkers.pid"), "--control-socket", str(sock),
        "--lvs-backend", "nftables", "--lvs-nft-masquerade",
    ]  # fmt: skip
    with log_path.open("wb") as out:
        proc = topo.popen(name, argv, stdout=out, stderr=subprocess.STDOUT)
    return Director(name, topo.host(name).ipv4(), proc, log_path, vrrp_pid, sock)


def _stop_director(director: Director) -> None:
    if director.proc.poll() is None:
        director.signal_vrrp(signal.SIGCONT)
        with contextlib.suppress(ProcessLookupError):
            director.proc.terminate()
        try:
            director.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            director.proc.kill()
            director.proc.wait()


@dataclass
class WebServer:
    """A lab web server process (`lab.web`) in a real-server namespace."""

    host: WebHost
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self, topo: Topology, timeout_s: float = 10.0) -> None:
        argv = [
            sys.executable, "-m", "pykeepalived.lab.web",
            "--name", self.host.name, "--port", str(self.host.port),
        ]  # fmt: skip
        with self.log_path.open("wb") as out:
            self.proc = topo.popen(self.host.name, argv, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while READY_LINE not in self.log_path.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise LabError(
                    f"{self.host.name}: web server did not start: "
                    f"{self.log_path.read_text(errors='replace').strip()}"
                )
            time.sleep(0.02)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _probe_count(
    topo: Topology, target: tuple[str, int], sources: list[str], per_source: int
) -> Split:
    argv = [
        sys.executable, "-m", "pykeepalived.lab.probe", "count",
        "--target", f"{target[0]}:{target[1]}", "--per-source", str(per_source),
    ]  # fmt: skip
    for src in sources:
        argv += ["--source", src]
    out = topo.run(CLIENT, argv, timeout_s=60).stdout
    data = json.loads(out)
    return split(data["by_source"])


def _sysctl(topo: Topology, host: str, settings: Mapping[str, str]) -> None:
    topo.run(host, ["sysctl", "-q", "-w", *(f"{k}={v}" for k, v in settings.items())])


def _add_addresses(topo: Topology, host: str, addresses: list[str]) -> None:
    batch = "".join(f"addr add {a}/{LAB_NETWORK.prefixlen} dev eth0\n" for a in addresses)
    run_cmd(["ip", "-n", topo.host(host).netns, "-batch", "-"], input_text=batch)


# ------------------------------------------------------------------------- results


@dataclass
class Failover:
    """One VIP move: how long until the new master held the VIP and answered the service."""

    scenario: str
    takeover_s: float | None
    service_s: float | None
    limit_s: float
    limit_name: str
    failed: int = 0
    clients_changed: int | None = None


@dataclass
class Outage:
    """A real server killed: when its clients were all served elsewhere, what failed meanwhile."""

    server: str
    moved_s: float | None
    expected_min_s: float
    expected_max_s: float
    failed: Counter[str] = field(default_factory=Counter)
    back_s: float | None = None
    back_max_s: float = 0.0


@dataclass
class LabReport:
    """What the lab measured (also printed as it goes)."""

    ok: bool = False
    balance: Split | None = None
    persistence: Split | None = None
    after_failure: Split | None = None
    restored: Split | None = None
    outage: Outage | None = None
    failovers: list[Failover] = field(default_factory=list)
    dir1_exit: int | None = None


# ------------------------------------------------------------------------- the lab


class Lab:
    """One run of the lab; `run` builds everything, shows it, and tears everything down."""

    def __init__(self, plan: LabPlan, timeline: Timeline, workdir: Path) -> None:
        self.plan = plan
        self.t = timeline
        self.workdir = workdir
        self.report = LabReport()
        self.topo = Topology(TopologySpec(hosts=plan.hosts))
        self.directors: dict[str, Director] = {}
        self.webs: dict[str, WebServer] = {}
        self.vips: VipWatch | None = None
        self.target = (str(plan.vip), plan.port)
        self.weights = {w.name: w.weight for w in plan.webs}

    # -- plumbing ----------------------------------------------------------------------------

    def _via(self, name: str) -> Callable[[Attempt], bool]:
        address = str(self.directors[name].address)
        return lambda a: a.ok and a.via == address

    def print_status(self, name: str, why: str) -> None:
        d = self.directors[name]
        started = time.monotonic()
        try:
            table = render_table(d.status()).splitlines()
        except api.ApiError as exc:
            table = [f"(no answer: {exc})"]
        took = time.monotonic() - started
        self.t.say(f"{why}: pykeepalivedctl status --socket {d.socket_path}  ({took:.2f} s)")
        self.t.block(table)

    def wait_status(
        self,
        name: str,
        accept: Callable[[dict[str, Any]], bool],
        timeout_s: float,
        *,
        poll_s: float = STATUS_POLL_S,
    ) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout_s
        while True:
            with contextlib.suppress(api.ApiError, ValueError):
                doc = self.directors[name].status()
                if accept(doc):
                    return doc
            if time.monotonic() >= deadline:
                return None
            time.sleep(poll_s)

    def _real_servers(self, doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """The status' real servers of the lab's virtual server, by web host name."""
        names = {str(w.address): w.name for w in self.plan.webs}
        out: dict[str, dict[str, Any]] = {}
        for vs in doc.get("virtual_servers", []):
            for rs in vs.get("real_servers", []):
                addr = str(rs.get("address", "")).split("]")[0].lstrip("[")
                if addr in names:
                    out[names[addr]] = rs
        return out

    # -- steps -------------------------------------------------------------------------------

    def build(self, stack: contextlib.ExitStack) -> None:
        stack.enter_context(self.topo)
        self.t.say(
            "topology up: "
            + ", ".join(f"{h.name} {h.ipv4()}" for h in self.topo.hosts.values())
            + f" on one bridge (namespaces {self.topo.prefix}*)"
        )
        for name in DIRECTORS:
            _sysctl(self.topo, name, DIRECTOR_SYSCTLS)
        self.t.say("dir1, dir2: ip_forward=1, send_redirects=0 (NAT directors)")
        if self.plan.webs:
            sources = [str(a) for a in (*self.plan.client_sources, *self.plan.fresh_sources)]
            _add_addresses(self.topo, CLIENT, sources)
            self.t.say(f"client: {len(sources)} extra source addresses {sources[0]}..{sources[-1]}")
            for web in self.plan.webs:
                server = WebServer(web, self.workdir / f"{web.name}.log")
                self.webs[web.name] = server
                stack.callback(server.kill)
                server.start(self.topo)
            self.t.say(
                "web servers answer their own name: "
                + ", ".join(f"{w.name} http://{w.address}:{w.port}/" for w in self.plan.webs)
            )

    def start_directors(self, stack: contextlib.ExitStack) -> None:
        for note in self.plan.notes:
            self.t.say(f"config: {note}")
        for name in DIRECTORS:
            conf = self.workdir / f"{name}.conf"
            conf.write_text(render_config(self.plan.configs[name]))
            director = _start_director(self.topo, name, conf, self.workdir)
            self.directors[name] = director
            stack.callback(_stop_director, director)
            inst = self.plan.configs[name].vrrp.instances[0]
            self.t.say(
                f"{name}: pykeepalived (VRRP + checkers, nftables data plane, masquerade) "
                f"started: {inst.name} state {inst.state.name} priority {inst.priority}"
            )
        self.vips = VipWatch(self.topo, DIRECTORS, self.plan.vip)
        stack.callback(self.vips.close)
        limit = self.plan.backup
        wait_s = START_TIMEOUT_S + 3 * timers.master_down_interval_s(
            limit.version, limit.priority, limit.advert_int_cs, limit.down_timer_adverts
        )
        if not self.vips.wait_holders(["dir1"], timeout_s=wait_s):
            raise LabError(f"dir1 did not take the VIP alone; holders: {self.vips.holders()}")
        self.t.say(f"dir1 is MASTER and holds {self.plan.vip}; holders: {self.vips.holders()}")
        if self.plan.webs:
            want = {w.name for w in self.plan.webs}

            def checked_up(doc: dict[str, Any]) -> bool:
                # every checker has run once (a checker that never ran goes down at its very
                # first failure, without retries, as in keepalived)
                stats = doc.get("checkers", {}).get("stats", {})
                ran = stats.get("probes_run", 0) + stats.get("probes_shared", 0)
                rss = self._real_servers(doc)
                return (
                    ran >= stats.get("checkers", 0)
                    and set(rss) == want
                    and all(r["health"] == "up" and r["in_dataplane"] for r in rss.values())
                )

            for name in DIRECTORS:
                if self.wait_status(name, checked_up, START_TIMEOUT_S) is None:
                    raise LabError(f"{name}: the real servers are not all checked and up")
            self.t.say("both directors: every TCP_CHECK has run and every real server is up")
        self.print_status("dir1", "dir1 at the start")
        if self.plan.webs:
            self.show_dataplane("dir1")
        self.print_status("dir2", "dir2 at the start")

    def show_balance(self) -> None:
        plan = self.plan
        vs = plan.virtual_server
        assert vs is not None
        algo = f"lb_algo {vs.lb_algo}, persistence_timeout {vs.persistence_timeout_s}"
        self.t.say(f"virtual server {service_text(vs)}: {algo}")
        own = str(self.topo.host(CLIENT).ipv4())
        pers = _probe_count(self.topo, self.target, [own], PERSISTENCE_REQUESTS)
        self.report.persistence = pers
        self.t.say(
            f"client: {PERSISTENCE_REQUESTS} requests from {own} to http://{plan.vip}:{plan.port}/ "
            f"-> {_counts(pers.totals)}"
        )
        if vs.persistence_timeout_s:
            self.t.say(
                "  persistence: one client address stays on one server, so one client shows "
                "no balance at all"
            )
        sources = [str(a) for a in plan.client_sources]
        result = _probe_count(self.topo, self.target, sources, BALANCE_REQUESTS_PER_SOURCE)
        self.report.balance = result
        self.t.say(
            f"client: {len(sources) * BALANCE_REQUESTS_PER_SOURCE} requests, "
            f"{BALANCE_REQUESTS_PER_SOURCE} from each of {len(sources)} source addresses:"
        )
        self.t.block(format_split(result, self.weights))
        if vs.persistence_timeout_s:
            homes = Counter(result.home.values())
            self.t.block(
                [
                    f"persistence: {len(sources) - len(result.mixed)} of {len(sources)} addresses "
                    "kept one server for all their requests ("
                    + ", ".join(f"{n} addresses on {s}" for s, n in sorted(homes.items()))
                    + "): wrr chose a server for each address's first connection and the rest "
                    "followed it, so the split follows the weights only as closely as "
                    f"{len(sources)} draws can"
                ]
            )

    def show_dataplane(self, name: str) -> None:
        """The director's nftables service chains (where the weights really are)."""
        proc = self.topo.run(name, ["nft", "list", "table", "inet", NFT_TABLE], check=False)
        chains = service_chains(proc.stdout)
        lines = [f"{name} data plane: nft list table inet {NFT_TABLE} (service chains)"]
        for chain, rules in chains:
            lines.append(f"  chain {chain}: " + " ; ".join(rules))
        self.t.block(lines if chains else [f"{name}: no nftables service chain"])

    def real_server_failure(self) -> None:
        plan = self.plan
        victim = plan.webs[0]
        others = {w.name for w in plan.webs[1:]}
        balance = self.report.balance
        assert balance is not None
        sources = [str(a) for a in plan.client_sources]
        homed = balance.sources_of(victim.name)
        watch = HttpWatch(self.topo, CLIENT, self.target, sources, interval_s=0.01)
        try:
            if not watch.wait_started(10):
                raise LabError("the client's request loop did not start")
            time.sleep(0.3)
            log_from = self.directors["dir1"].log_size()
            killed_at = time.monotonic()
            self.webs[victim.name].kill()
            self.t.say(
                f"killing {victim.name}'s web server ({len(homed)} of the client's addresses were "
                f"served by it); TCP_CHECK should mark it down after "
                f"{victim.detect_min_s:g}-{victim.detect_max_s:g} s"
            )
            self.t.block(
                [
                    f"(next check within delay_loop, then retry {victim.retry} more attempt(s) "
                    f"delay_before_retry {victim.delay_before_retry_s:g} s apart)"
                ]
            )
            settled = watch.wait_settled(
                killed_at,
                lambda a: a.server in others,
                confirm=len(sources) + 2,
                timeout_s=victim.detect_max_s + 10,
            )
            outage = Outage(victim.name, None, victim.detect_min_s, victim.detect_max_s)
            self.report.outage = outage
            if settled is None:
                raise LabError(f"new connections did not move away from {victim.name}")
            outage.moved_s = settled - killed_at
            outage.failed = outcomes(watch.attempts(), killed_at, settled)
            failed = sum(n for k, n in outage.failed.items() if k.startswith("error:"))
            self.t.say(
                f"all new connections go to {'/'.join(sorted(others))} "
                f"{outage.moved_s:.3f} s after the kill; before that {failed} of "
                f"{sum(outage.failed.values())} requests failed ({_counts(outage.failed)})"
            )

            def down(doc: dict[str, Any]) -> bool:
                rs = self._real_servers(doc).get(victim.name)
                return rs is not None and rs["health"] == "down"

            if self.wait_status("dir1", down, 5.0) is None:
                raise LabError(f"dir1's status does not show {victim.name} down")
            for line in self.directors["dir1"].log_lines(log_from):
                if str(victim.address) in line:
                    self.t.block([f"dir1 log: {line}"])
            self.print_status("dir1", f"dir1 after {victim.name} failed")
            self.t.block(
                [
                    "(WEIGHT '0 (10)': inhibit_on_failure keeps the real server in the data "
                    "plane with weight 0, i.e. no share of new connections:)"
                ]
            )
            self.show_dataplane("dir1")
            after = _probe_count(self.topo, self.target, sources, BALANCE_REQUESTS_PER_SOURCE)
            self.report.after_failure = after
            self.t.say(f"client: {after.answered + after.failed} requests again:")
            self.t.block(format_split(after, self.weights))

        finally:
            watch.close()
        self.real_server_back(victim, sources)

    def real_server_back(self, victim: WebHost, old_sources: list[str]) -> None:
        outage = self.report.outage
        assert outage is not None
        back_from = time.monotonic()
        self.webs[victim.name].start(self.topo)
        self.t.say(
            f"{victim.name}'s web server is back; TCP_CHECK should see it within "
            f"delay_loop {victim.recover_max_s:g} s"
        )

        def up(doc: dict[str, Any]) -> bool:
            rs = self._real_servers(doc).get(victim.name)
            return rs is not None and rs["health"] == "up"

        if self.wait_status("dir1", up, victim.recover_max_s + 10, poll_s=0.05) is None:
            raise LabError(f"dir1's checker did not see {victim.name} back")
        outage.back_s = time.monotonic() - back_from
        outage.back_max_s = victim.recover_max_s
        self.t.say(f"dir1's status shows {victim.name} UP {outage.back_s:.3f} s after it came back")
        self.show_dataplane("dir1")
        fresh = [str(a) for a in self.plan.fresh_sources]
        restored = _probe_count(self.topo, self.target, fresh, BALANCE_REQUESTS_PER_SOURCE)
        self.report.restored = restored
        self.t.say(
            f"client: {restored.answered + restored.failed} requests from {len(fresh)} new "
            f"source addresses {fresh[0]}..{fresh[-1]}:"
        )
        self.t.block(format_split(restored, self.weights))
        old = _probe_count(self.topo, self.target, old_sources, 1)
        self.t.say(
            f"client: one request from each of the {len(old_sources)} earlier addresses -> "
            f"{_counts(old.totals)}"
        )
        vs = self.plan.virtual_server
        if vs is not None and vs.persistence_timeout_s:
            self.t.block(
                [
                    f"(persistence: clients moved to another server while {victim.name} was down "
                    f"stay there until they are idle for persistence_timeout "
                    f"{vs.persistence_timeout_s} s; new clients are balanced again)"
                ]
            )

    def failovers(self) -> None:
        plan = self.plan
        vips = self.vips
        assert vips is not None
        backup = plan.backup
        limit_s = timers.master_down_interval_s(
            backup.version, backup.priority, backup.advert_int_cs, backup.down_timer_adverts
        )
        skew_s = timers.skew_time_s(backup.version, backup.priority, backup.advert_int_cs)
        dir1 = self.directors["dir1"]
        watch: HttpWatch | None = None
        if plan.webs:
            sources = [str(a) for a in plan.client_sources]
            watch = HttpWatch(self.topo, CLIENT, self.target, sources, interval_s=WATCH_INTERVAL_S)
            if not watch.wait_started(10):
                raise LabError("the client's request loop did not start")
            self.t.say(
                f"client: a request to {plan.vip}:{plan.port} every {WATCH_INTERVAL_S * 1000:.0f}"
                " ms; each answer tells which director masqueraded it"
            )
        try:
            # every source makes a request through dir1 first (to compare servers after)
            time.sleep(len(plan.client_sources) * WATCH_INTERVAL_S * 1.5)
            hung_at = time.monotonic()
            dir1.signal_vrrp(signal.SIGSTOP)
            self.t.say(f"hanging dir1's VRRP worker, pid {dir1.vrrp_pid()} (SIGSTOP)")
            self._measure("master hung", hung_at, "dir2", (limit_s, "Master_Down_Interval"), watch)
            self.print_status("dir2", "dir2 after the failover")
            self.print_status("dir1", "dir1 with its VRRP worker hung")

            dir1.signal_vrrp(signal.SIGCONT)
            resumed_at = time.monotonic()
            self.t.say("resuming dir1 (SIGCONT): higher priority, it preempts back")
            if vips.wait_for("dir1", timeout_s=limit_s * 3 + 5) is None:
                raise LabError("dir1 did not preempt back")
            if watch is not None:
                back = _wait_first(watch, resumed_at, self._via("dir1"), 5.0)
                if back is not None:
                    self.t.say(f"dir1 holds {plan.vip} and serves again; holders: {vips.holders()}")
            time.sleep(1.0)

            stopped_at = time.monotonic()
            dir1.proc.terminate()
            self.t.say("stopping dir1 (SIGTERM): it sends a priority-0 advert")
            self._measure("master stopped", stopped_at, "dir2", (skew_s, "Skew_Time"), watch)
            dir1.proc.wait(timeout=15)
            self.report.dir1_exit = dir1.proc.returncode
            self.t.say(f"dir1 exited with {dir1.proc.returncode}")
        finally:
            if watch is not None:
                watch.close()

    def _measure(
        self,
        scenario: str,
        event_at: float,
        new_master: str,
        limit: tuple[float, str],
        watch: HttpWatch | None,
    ) -> None:
        assert self.vips is not None
        limit_s, limit_name = limit
        got = self.vips.wait_for(new_master, timeout_s=limit_s * 3 + 5)
        takeover = None if got is None else max(0.0, got - event_at)
        result = Failover(scenario, takeover, None, limit_s, limit_name)
        self.report.failovers.append(result)
        if result.takeover_s is None:
            raise LabError(f"{new_master} did not take the VIP")
        self.t.say(
            f"{new_master} holds the VIP {result.takeover_s:.3f} s after the event "
            f"(protocol: {limit_name} {limit_s:.3f} s)"
        )
        if watch is None:
            return
        served = _wait_first(watch, event_at, self._via(new_master), 5.0)
        if served is None:
            raise LabError(f"the client got no answer through {new_master}")
        result.service_s = served - event_at
        seen = outcomes(watch.attempts(), event_at, served)
        result.failed = sum(n for k, n in seen.items() if k.startswith("error:"))
        self.t.say(
            f"client: first answer through {new_master} {result.service_s:.3f} s after the event; "
            f"{result.failed} of the {sum(seen.values())} requests sent since the event failed"
        )
        vs = self.plan.virtual_server
        if vs is not None and vs.persistence_timeout_s:
            # let every source make a request through the new master
            time.sleep(len(self.plan.client_sources) * WATCH_INTERVAL_S * 1.5)
            changed, compared = server_changes(watch.attempts(), event_at, served)
            result.clients_changed = changed
            self.t.block(
                [
                    f"{changed} of {compared} client addresses now get another real server: "
                    f"persistence is remembered per director ({new_master} does not know the "
                    "choices of the old master)"
                ]
            )
        if result.failed == 0:
            self.t.block(
                [
                    "(no request failed: only the old master's VRRP worker is hung, its kernel "
                    "still holds the VIP and forwards until the new master's gratuitous ARPs "
                    "move the client)"
                ]
            )


def service_chains(listing: str) -> list[tuple[str, list[str]]]:
    """The service chains (``s1``, ``s1d2``...) of an ``nft list table`` listing, with their
    rules, in order."""
    chains: list[tuple[str, list[str]]] = []
    current: list[str] | None = None
    for raw in listing.splitlines():
        line = raw.strip()
        match = _SERVICE_CHAIN.match(line)
        if match is not None:
            current = []
            chains.append((match.group(1), current))
        elif line == "}":
            current = None
        elif current is not None and line:
            current.append(line)
    return chains


def _wait_first(
    watch: HttpWatch, since: float, accept: Callable[[Attempt], bool], timeout_s: float
) -> float | None:
    """When the first accepted answer to a request started after ``since`` arrived."""
    deadline = time.monotonic() + timeout_s
    while True:
        at = first_done(watch.attempts(), since, accept)
        if at is not None or time.monotonic() >= deadline:
            return at
        time.sleep(0.02)


def _counts(counter: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {n}" for k, n in sorted(counter.items())) or "nothing"


def _print_summary(out: TextIO, report: LabReport) -> None:
    out.write("\nsummary\n")
    if report.balance is not None:
        out.write(f"  balance, 40 client addresses: {_counts(report.balance.totals)}\n")
    if report.restored is not None:
        out.write(f"  after web1 came back, 40 new addresses: {_counts(report.restored.totals)}\n")
    if report.outage is not None:
        o = report.outage
        moved = f"{o.moved_s:.3f} s" if o.moved_s is not None else "never"
        back = f"{o.back_s:.3f} s" if o.back_s is not None else "never"
        out.write(
            f"  {o.server} killed: its clients moved after {moved} "
            f"(TCP_CHECK: {o.expected_min_s:.0f}-{o.expected_max_s:.0f} s); "
            f"back after {back} (<= {o.back_max_s:.0f} s)\n"
        )
    if report.failovers:
        out.write("\n  scenario         VIP moved after  service answered after  protocol\n")
        for m in report.failovers:
            moved = f"{m.takeover_s:.3f} s" if m.takeover_s is not None else "never"
            served = f"{m.service_s:.3f} s" if m.service_s is not None else "-"
            out.write(
                f"  {m.scenario:16} {moved:>15}  {served:>22}  {m.limit_name} {m.limit_s:.3f} s\n"
            )
    out.write(f"\nlab {'finished: everything shown' if report.ok else 'FAILED'}\n")
    out.flush()


def run_lab_report(config_path: Path, out: TextIO, *, keep_logs: Path | None = None) -> LabReport:
    """Run the whole lab, printing as it goes; what it measured (``ok`` if all went well)."""
    timeline = Timeline(out)
    result = load_file(config_path, config_id="lab")
    for diag in result.diagnostics:
        timeline.say(f"config: {diag.format()}")
    report = LabReport()
    if not result.runnable:
        timeline.say("the config has fatal errors; nothing to show")
        return report
    try:
        plan = lab_plan(result.config)
    except LabConfigError as exc:
        timeline.say(str(exc))
        return report
    with tempfile.TemporaryDirectory(prefix="pykeepalived-lab-") as tmp:
        lab = Lab(plan, timeline, Path(tmp))
        report = lab.report
        with contextlib.ExitStack() as stack:
            try:
                lab.build(stack)
                lab.start_directors(stack)
                if plan.webs:
                    lab.show_balance()
                    lab.real_server_failure()
                lab.failovers()
                report.ok = True
            except LabError as exc:
                timeline.say(f"FAILED: {exc}")
                _tail_logs(timeline, lab.directors.values())
            finally:
                if keep_logs is not None:
                    _keep_logs(Path(tmp), keep_logs)
        timeline.say("namespaces and processes removed")
    _print_summary(out, report)
    return report


def run_lab(config_path: Path, out: TextIO, *, keep_logs: Path | None = None) -> int:
    """Run the whole lab; 0 if everything it set out to show happened."""
    return 0 if run_lab_report(config_path, out, keep_logs=keep_logs).ok else 1


def _tail_logs(timeline: Timeline, directors: Any) -> None:
    for d in directors:
        timeline.say(f"last lines of {d.name}'s log:")
        timeline.block(d.log_lines()[-15:])


def _keep_logs(workdir: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for path in workdir.iterdir():
        if path.suffix in (".log", ".conf"):
            (dest / path.name).write_bytes(path.read_bytes())


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP raise KeyboardInterrupt (as Ctrl-C does), so cleanup runs."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    old = {s: signal.signal(s, interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="pykeepalivedctl lab", description=__doc__.splitlines()[0])
    ap.add_argument("-f", "--config", type=Path, default=SEED_CONFIG, help="config to run")
    ap.add_argument("--keep-logs", type=Path, default=None, help="copy daemon logs here")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("the lab needs root (network namespaces)", file=sys.stderr)
        return 1
    try:
        with _signals_interrupt():
            return run_lab(args.config, sys.stdout, keep_logs=args.keep_logs)
    except KeyboardInterrupt:
        print("\ninterrupted; everything the lab made is removed", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
