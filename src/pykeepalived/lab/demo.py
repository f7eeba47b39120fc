"""The lab demo: the seed's keepalived.conf on two directors in network namespaces.

The seed document's config (``lab/seed.conf``: VRRP instance VI_1 and a DR virtual server with
TCP checks) is moved from its 192.168.68.0/24 into the documentation range 192.0.2.0/24, and
run unchanged otherwise on director ``dir1``; ``dir2`` gets the same config as the usual
BACKUP twin (``state BACKUP``, priority 10 lower). A client pings the VIP while the lab

1. waits for dir1 to become MASTER,
2. hangs dir1 (SIGSTOP) and measures how long until dir2 holds the VIP and the client's
   pings are answered again, beside the protocol limit (Master_Down_Interval),
3. resumes dir1 (SIGCONT), which preempts back,
4. stops dir1 cleanly (SIGTERM): its priority-0 advert lets dir2 take over after Skew_Time.

Everything lives in namespaces this process creates and deletes; no address or packet touches
the machine's own interfaces.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import ipaddress
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from pykeepalived.config.loader import load_file, render_config
from pykeepalived.config.model import Config
from pykeepalived.config.model.vrrp import VrrpInstance, VrrpState
from pykeepalived.lab.topology import HostSpec, Topology, TopologySpec
from pykeepalived.vrrp import timers

log = logging.getLogger(__name__)

SEED_CONFIG = Path(__file__).with_name("seed.conf")
SEED_NETWORK = ipaddress.IPv4Network("192.168.68.0/24")
LAB_NETWORK = ipaddress.IPv4Network("192.0.2.0/24")
DIRECTORS = ("dir1", "dir2")
BACKUP_PRIORITY_STEP = 10

# host ids are the last octet of each host's address on 192.0.2.0/24
LAB_HOSTS = (
    HostSpec("dir1", host_id=1),
    HostSpec("dir2", host_id=2),
    HostSpec("client", host_id=100),
    HostSpec("web1", host_id=225),
    HostSpec("web2", host_id=226),
)


# ------------------------------------------------------------------------- config preparation


def _move_address(value: Any) -> Any:
    """An address of the seed network moved to the lab network (same host part)."""
    # IPv4Interface is a subclass of IPv4Address: test it first
    if isinstance(value, ipaddress.IPv4Interface):
        if value.ip not in SEED_NETWORK:
            return value
        return ipaddress.IPv4Interface(f"{_move_address(value.ip)}/{value.network.prefixlen}")
    if isinstance(value, ipaddress.IPv4Address) and value in SEED_NETWORK:
        offset = int(value) - int(SEED_NETWORK.network_address)
        return LAB_NETWORK.network_address + offset
    return value


def move_to_lab_network(obj: Any) -> Any:
    """A copy of a model object with every seed-network address moved to the lab network."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            moved = move_to_lab_network(value)
            if moved is not value:
                changes[f.name] = moved
        return dataclasses.replace(obj, **changes) if changes else obj
    if isinstance(obj, tuple):
        items = tuple(move_to_lab_network(v) for v in obj)
        return items if any(a is not b for a, b in zip(items, obj, strict=True)) else obj
    return _move_address(obj)


def as_backup_twin(instance: VrrpInstance) -> VrrpInstance:
    """The usual second director: BACKUP, priority lowered by 10."""
    return dataclasses.replace(
        instance,
        state=VrrpState.BACKUP,
        priority=max(1, min(instance.priority, 254) - BACKUP_PRIORITY_STEP),
    )


def director_configs(config: Config) -> dict[str, Config]:
    """dir1 runs the (moved) seed config as is; dir2 its BACKUP twin."""
    lab = move_to_lab_network(config)
    twin_vrrp = dataclasses.replace(
        lab.vrrp, instances=tuple(as_backup_twin(i) for i in lab.vrrp.instances)
    )
    return {"dir1": lab, "dir2": dataclasses.replace(lab, vrrp=twin_vrrp)}


# ------------------------------------------------------------------------- observation


@dataclass
class Timeline:
    """Timestamped lines printed as the lab goes; times are seconds since the lab started."""

    out: TextIO
    start: float = dataclasses.field(default_factory=time.monotonic)

    def now(self) -> float:
        return time.monotonic() - self.start

    def say(self, text: str) -> None:
        self.out.write(f"[{self.now():7.3f}s] {text}\n")
        self.out.flush()


class VipWatch:
    """Follows ``ip -ts monitor address`` in each director: who holds the VIP, since when."""

    def __init__(self, topo: Topology, vip: ipaddress.IPv4Address) -> None:
        self.vip = vip
        self.holder_since: dict[str, float | None] = dict.fromkeys(DIRECTORS)
        self._cond = threading.Condition()
        self._procs: list[subprocess.Popen[str]] = []
        self._threads: list[threading.Thread] = []
        for name in DIRECTORS:
            proc = topo.popen(
                name,
                ["ip", "monitor", "address"],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            self._procs.append(proc)
            thread = threading.Thread(target=self._follow, args=(name, proc), daemon=True)
            thread.start()
            self._threads.append(thread)
            # an address already present before the monitor started
            if str(vip) in topo.run(name, ["ip", "-4", "addr", "show"], check=False).stdout:
                self.holder_since[name] = time.monotonic()

    def _follow(self, name: str, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        pattern = re.compile(rf"\binet {re.escape(str(self.vip))}/")
        for line in proc.stdout:
            if not pattern.search(line):
                continue
            with self._cond:
                removed = line.startswith("Deleted")
                self.holder_since[name] = None if removed else time.monotonic()
                self._cond.notify_all()

    def holders(self) -> list[str]:
        with self._cond:
            return [n for n, since in self.holder_since.items() if since is not None]

    def wait_for(self, name: str, timeout_s: float) -> float | None:
        """The monotonic time ``name`` got the VIP (waiting up to ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self.holder_since[name] is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
            return self.holder_since[name]

    def close(self) -> None:
        for proc, thread in zip(self._procs, self._threads, strict=True):
            _close_process(proc, thread)


class Pinger:
    """``ping -i 0.01`` from the client to the VIP; remembers when each reply arrived."""

    def __init__(self, topo: Topology, vip: ipaddress.IPv4Address) -> None:
        self.replies: list[float] = []
        self._lock = threading.Lock()
        self._proc = topo.popen(
            "client",
            ["ping", "-n", "-i", "0.01", "-W", "1", str(vip)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            if "bytes from" in line:
                with self._lock:
                    self.replies.append(time.monotonic())

    def first_reply_after(self, t: float, timeout_s: float) -> float | None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                later = [r for r in self.replies if r > t]
            if later:
                return later[0]
            time.sleep(0.005)
        return None

    def close(self) -> None:
        _close_process(self._proc, self._thread)


def _close_process(proc: subprocess.Popen[str], reader: threading.Thread) -> None:
    """Kill a follower process, let its reader thread see EOF, then close the pipe."""
    proc.kill()
    proc.wait()
    reader.join(timeout=5)
    if proc.stdout is not None:
        with contextlib.suppress(ValueError, OSError):
            proc.stdout.close()


# ------------------------------------------------------------------------- the lab


@dataclass
class Director:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    vrrp_pid_path: Path

    def vrrp_pid(self) -> int:
        """The VRRP worker's pid (keepalived's -r file), or the daemon's own pid."""
        with contextlib.suppress(FileNotFoundError, ValueError):
            return int(self.vrrp_pid_path.read_text().strip())
        return self.proc.pid

    def signal_vrrp(self, sig: signal.Signals) -> None:
        """Signal the process doing VRRP, as one would hang keepalived's VRRP child."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.vrrp_pid(), sig)


@dataclass
class Measurement:
    scenario: str
    takeover_s: float | None
    client_gap_s: float | None
    limit_s: float


def _start_director(
    topo: Topology, name: str, conf: Path, workdir: Path, pykeepalived: str
) -> Director:
    log_path = workdir / f"{name}.log"
    vrrp_pid = workdir / f"{name}-vrrp.pid"
    argv = [
        pykeepalived, "-n", "-l", "-P", "--no-syslog", "-f", str(conf),
        "-p", str(workdir / f"{name}.pid"), "-r", str(vrrp_pid),
    ]  # fmt: skip
    with log_path.open("wb") as out:
        proc = topo.popen(name, argv, stdout=out, stderr=subprocess.STDOUT)
    return Director(name, proc, log_path, vrrp_pid)


def _stop(director: Director) -> None:
    if director.proc.poll() is None:
        director.signal_vrrp(signal.SIGCONT)
        with contextlib.suppress(ProcessLookupError):
            director.proc.terminate()
        try:
            director.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            director.proc.kill()
            director.proc.wait()


def _pykeepalived_binary() -> str:
    candidate = Path(sys.executable).parent / "pykeepalived"
    return str(candidate) if candidate.exists() else "pykeepalived"


@contextlib.contextmanager
def _running(items: list[Any], close: Callable[[Any], None]) -> Iterator[None]:
    try:
        yield
    finally:
        for item in items:
            with contextlib.suppress(Exception):
                close(item)


def run_lab(config_path: Path, out: TextIO, *, keep_logs: Path | None = None) -> int:
    timeline = Timeline(out)
    result = load_file(config_path, config_id="lab")
    for diag in result.diagnostics:
        timeline.say(f"config: {diag.format()}")
    if not result.runnable or not result.config.vrrp.instances:
        timeline.say("the config has no runnable VRRP instance; nothing to show")
        return 1
    configs = director_configs(result.config)
    instance = configs["dir1"].vrrp.instances[0]
    backup = configs["dir2"].vrrp.instances[0]
    if not instance.virtual_ipaddresses:
        timeline.say(f"{instance.name} has no virtual address; nothing to show")
        return 1
    vip = instance.virtual_ipaddresses[0].address.ip
    assert isinstance(vip, ipaddress.IPv4Address)
    limit_s = timers.master_down_interval_s(
        backup.version, backup.priority, backup.advert_int_cs, backup.down_timer_adverts
    )
    skew_s = timers.skew_time_s(backup.version, backup.priority, backup.advert_int_cs)
    measurements: list[Measurement] = []

    with tempfile.TemporaryDirectory(prefix="pykeepalived-lab-") as tmp:
        workdir = Path(tmp)
        topo = Topology(TopologySpec(hosts=LAB_HOSTS))
        with topo:
            timeline.say(
                "topology up: "
                + ", ".join(f"{h.name} {h.ipv4()}" for h in topo.hosts.values())
                + f" (namespaces {topo.prefix}*)"
            )
            directors: list[Director] = []
            watch = VipWatch(topo, vip)
            with _running(directors, _stop), _running([watch], VipWatch.close):
                for name in DIRECTORS:
                    conf = workdir / f"{name}.conf"
                    conf.write_text(render_config(configs[name]))
                    directors.append(
                        _start_director(topo, name, conf, workdir, _pykeepalived_binary())
                    )
                    inst = configs[name].vrrp.instances[0]
                    timeline.say(
                        f"{name}: pykeepalived started ({inst.name} state {inst.state.name} "
                        f"priority {inst.priority}, VIP {vip})"
                    )
                dir1 = directors[0]
                if watch.wait_for("dir1", timeout_s=limit_s * 3 + 10) is None:
                    timeline.say(f"dir1 did not take the VIP; holders: {watch.holders()}")
                    return _fail(timeline, directors)
                timeline.say(f"dir1 is MASTER and holds {vip}; holders: {watch.holders()}")
                pinger = Pinger(topo, vip)
                with _running([pinger], Pinger.close):
                    if pinger.first_reply_after(time.monotonic() - 1, timeout_s=5) is None:
                        timeline.say("the client gets no reply from the VIP")
                        return _fail(timeline, directors)
                    timeline.say(f"client: pinging {vip} every 10 ms, replies arrive")
                    time.sleep(1.0)

                    # 1. hang the master
                    hung_at = time.monotonic()
                    dir1.signal_vrrp(signal.SIGSTOP)
                    timeline.say(f"hanging dir1's VRRP process {dir1.vrrp_pid()} (SIGSTOP)")
                    measurements.append(
                        _measure_takeover(
                            timeline,
                            watch,
                            pinger,
                            new_master="dir2",
                            event_at=hung_at,
                            limit_s=limit_s,
                            scenario="master hung",
                        )
                    )

                    # 2. resume: dir1 has the higher priority and preempts back
                    time.sleep(1.0)
                    dir1.signal_vrrp(signal.SIGCONT)
                    timeline.say("resuming dir1 (SIGCONT): higher priority, preempts back")
                    if watch.wait_for("dir1", timeout_s=limit_s * 3 + 5) is None:
                        timeline.say("dir1 did not preempt back")
                        return _fail(timeline, directors)
                    time.sleep(0.5)
                    timeline.say(f"dir1 holds {vip} again; holders: {watch.holders()}")

                    # 3. clean stop: priority 0 advert, takeover after Skew_Time
                    time.sleep(1.0)
                    stopped_at = time.monotonic()
                    dir1.proc.terminate()
                    timeline.say("stopping dir1 (SIGTERM): it sends a priority-0 advert")
                    measurements.append(
                        _measure_takeover(
                            timeline,
                            watch,
                            pinger,
                            new_master="dir2",
                            event_at=stopped_at,
                            limit_s=skew_s,
                            scenario="master stopped",
                        )
                    )
                    dir1.proc.wait(timeout=10)
                    timeline.say(f"dir1 exited with {dir1.proc.returncode}")
            if keep_logs is not None:
                keep_logs.mkdir(parents=True, exist_ok=True)
                for d in directors:
                    (keep_logs / d.log_path.name).write_bytes(d.log_path.read_bytes())
    _print_summary(out, measurements)
    ok = all(m.takeover_s is not None and m.client_gap_s is not None for m in measurements)
    return 0 if ok else 1


def _measure_takeover(
    timeline: Timeline,
    watch: VipWatch,
    pinger: Pinger,
    *,
    new_master: str,
    event_at: float,
    limit_s: float,
    scenario: str,
) -> Measurement:
    got = watch.wait_for(new_master, timeout_s=limit_s * 3 + 5)
    takeover = None if got is None else max(0.0, got - event_at)
    if takeover is None:
        timeline.say(f"{new_master} did not take the VIP")
    else:
        timeline.say(
            f"{new_master} holds the VIP {takeover:.3f} s after the event "
            f"(protocol limit {limit_s:.3f} s)"
        )
    reply = pinger.first_reply_after(max(event_at, got or event_at), timeout_s=5)
    gap = None if reply is None else reply - event_at
    if gap is not None:
        timeline.say(f"client: first reply {gap:.3f} s after the event")
    return Measurement(scenario, takeover, gap, limit_s)


def _fail(timeline: Timeline, directors: list[Director]) -> int:
    for d in directors:
        text = d.log_path.read_text(errors="replace").splitlines()[-15:]
        timeline.say(f"last lines of {d.name}'s log:\n    " + "\n    ".join(text))
    return 1


def _print_summary(out: TextIO, measurements: list[Measurement]) -> None:
    out.write("\nscenario          VIP moved after   client answered after   protocol limit\n")
    for m in measurements:
        moved = f"{m.takeover_s:.3f} s" if m.takeover_s is not None else "never"
        gap = f"{m.client_gap_s:.3f} s" if m.client_gap_s is not None else "never"
        out.write(f"{m.scenario:17} {moved:>15}   {gap:>21}   {m.limit_s:12.3f} s\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="pykeepalivedctl lab", description=__doc__.splitlines()[0])
    ap.add_argument("-f", "--config", type=Path, default=SEED_CONFIG, help="config to run")
    ap.add_argument("--keep-logs", type=Path, default=None, help="copy daemon logs here")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("the lab needs root (network namespaces)", file=sys.stderr)
        return 1
    return run_lab(args.config, sys.stdout, keep_logs=args.keep_logs)


if __name__ == "__main__":
    sys.exit(main())
