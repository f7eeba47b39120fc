"""The supervisor with a fake VRRP service in a namespace: status API on its unix socket,
a refused reload (config_stale), a crashed worker respawned, ``-R``, and the dumps.

The daemon runs as ``ops_runner.py`` (below): the real supervisor and worker processes, with
the worker's services built by ``fake_service:make``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pykeepalived.control import api
from pykeepalived.lab.topology import Topology

pytestmark = pytest.mark.netns

HERE = Path(__file__).parent

RUNNER = """
import asyncio, sys
from pykeepalived.cli.daemon import build_parser
from pykeepalived.daemon.logsetup import setup_logging
from pykeepalived.daemon.main import load
from pykeepalived.daemon.supervisor import Supervisor, WorkerSpec

sock = sys.argv[1]
options = build_parser().parse_args(sys.argv[2:])
setup_logging(ident="Keepalived", console=True, detail=False, syslog=False)
result = load(options)
spec = WorkerSpec("vrrp", "fake_service:make", options.vrrp_pid)
sup = Supervisor(options, result.config, [spec], loader=load, control_socket=sock)
sys.exit(asyncio.run(sup.run()))
"""

GOOD = """global_defs {{ router_id R1 }}
vrrp_instance VI_1 {{
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    virtual_ipaddress {{ 192.0.2.10/24 }}
}}
{extra}"""

BROKEN = "vrrp_instance VI_1 {\n    interface\n    virtual_router_id 51\n}\n"


def wait_for(cond: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = cond()
        except (api.ApiError, OSError, ValueError):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


class Daemon:
    def __init__(self, topo: Topology, tmp: Path, extra_args: tuple[str, ...] = ()) -> None:
        self.topo = topo
        self.tmp = tmp
        self.conf = tmp / "keepalived.conf"
        self.sock = str(tmp / "control.sock")
        self.pid = tmp / "main.pid"
        self.vrrp_pid = tmp / "vrrp.pid"
        self.log = tmp / "daemon.log"
        self.extra_args = extra_args
        self.proc: subprocess.Popen[Any] | None = None

    def start(self) -> None:
        runner = self.tmp / "ops_runner.py"
        runner.write_text(RUNNER)
        env = {**os.environ, "PYTHONPATH": str(HERE), "TMPDIR": str(self.tmp)}
        argv = [
            sys.executable,
            str(runner),
            self.sock,
            "-n",
            "-l",
            "-G",
            "-f",
            str(self.conf),
            "-p",
            str(self.pid),
            "-r",
            str(self.vrrp_pid),
            *self.extra_args,
        ]
        with self.log.open("a") as log:
            self.proc = self.topo.popen("h1", argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        wait_for(lambda: self.status()["workers"][0]["responding"], 20, "the daemon to answer")

    def status(self) -> dict[str, Any]:
        return api.get_status(socket_path=self.sock)

    def worker_pid(self) -> int:
        return int(self.vrrp_pid.read_text())

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(15)
        finally:
            self.proc = None


@pytest.fixture
def daemon(topology: Callable[..., Topology], tmp_path: Path) -> Iterator[Daemon]:
    d = Daemon(topology(hosts=1), tmp_path)
    d.conf.write_text(GOOD.format(extra=""))
    try:
        yield d
    finally:
        with contextlib.suppress(subprocess.TimeoutExpired):
            d.stop()
        if d.proc is not None and d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait(5)
        print(d.log.read_text() if d.log.exists() else "")


def instance_states(doc: dict[str, Any]) -> dict[str, str]:
    return {i["name"]: i["state"] for i in doc["vrrp"]["instances"]}


def status_when(
    daemon: Daemon, pred: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    """The first status document for which ``pred`` holds (fails after 10 s)."""

    def check() -> dict[str, Any] | None:
        doc = daemon.status()
        return doc if pred(doc) else None

    doc: dict[str, Any] = wait_for(check, 10, what)
    return doc


def test_status_api_answers_on_its_unix_socket(daemon: Daemon) -> None:
    daemon.start()
    doc = status_when(daemon, lambda d: instance_states(d) == {"VI_1": "MASTER"}, "VI_1 MASTER")
    assert doc["config_stale"] is False
    assert doc["config_file"] == str(daemon.conf)
    (vi1,) = doc["vrrp"]["instances"]
    assert (vi1["priority"], vi1["interface"], vi1["vips"], vi1["why"]) == (
        150,
        "eth0",
        ["192.0.2.10"],
        "fake",
    )
    assert doc["workers"][0]["pid"] == daemon.worker_pid()
    code, ctype, body = api.get("/metrics", socket_path=daemon.sock)
    assert code == 200 and ctype.startswith("text/plain")
    states = {
        s.labels["instance"]: s.value
        for fam in text_string_to_metric_families(body.decode())
        for s in fam.samples
        if s.name == "pykeepalived_vrrp_state"
    }
    assert states == {"VI_1": 2.0}
    ctl = subprocess.run(
        [sys.executable, "-m", "pykeepalived.cli.ctl", "status", "--socket", daemon.sock],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "VI_1" in ctl.stdout and "MASTER" in ctl.stdout
    assert daemon.stop() == 0
    assert not Path(daemon.sock).exists()
    assert not daemon.vrrp_pid.exists()


def test_broken_config_on_sighup_keeps_the_old_one(daemon: Daemon) -> None:
    daemon.start()
    main_pid = int(daemon.pid.read_text()) if daemon.pid.exists() else None
    assert daemon.proc is not None
    worker = daemon.worker_pid()
    daemon.conf.write_text(BROKEN)
    os.kill(main_pid or daemon.proc.pid, signal.SIGHUP)
    doc = status_when(
        daemon, lambda d: bool(d["config_stale"]), "config_stale after a broken reload"
    )
    assert doc["config_error"]
    assert doc["last_reload"]["ok"] is False
    assert set(instance_states(doc)) == {"VI_1"}  # the old config still runs
    assert daemon.worker_pid() == worker
    ctl = subprocess.run(
        [sys.executable, "-m", "pykeepalived.cli.ctl", "status", "--socket", daemon.sock],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ctl.returncode == 3 and "CONFIG STALE" in ctl.stdout
    # a good config is applied by the same worker and clears config_stale
    extra = (
        "vrrp_instance VI_2 {\n interface eth0\n virtual_router_id 52\n"
        " virtual_ipaddress { 192.0.2.11/24 }\n}\n"
    )
    daemon.conf.write_text(GOOD.format(extra=extra))
    os.kill(main_pid or daemon.proc.pid, signal.SIGHUP)
    doc = status_when(
        daemon, lambda d: set(instance_states(d)) == {"VI_1", "VI_2"}, "VI_2 reloaded"
    )
    assert doc["config_stale"] is False and doc["reloads"] == {"ok": 1, "refused": 1}
    assert daemon.worker_pid() == worker


def test_killed_worker_is_respawned(daemon: Daemon) -> None:
    daemon.start()
    first = daemon.worker_pid()
    os.kill(first, signal.SIGKILL)
    wait_for(
        lambda: daemon.vrrp_pid.exists() and daemon.worker_pid() != first,
        10,
        "a new VRRP worker pid",
    )
    doc = status_when(
        daemon,
        lambda d: d["workers"][0]["restarts"] == 1 and bool(instance_states(d)),
        "the respawned worker to answer",
    )
    assert doc["workers"][0]["pid"] == daemon.worker_pid()
    assert doc["workers"][0]["alive"] is True
    assert "died (signal 9): respawning" in daemon.log.read_text()


def test_dont_respawn_stops_the_daemon(topology: Callable[..., Topology], tmp_path: Path) -> None:
    d = Daemon(topology(hosts=1), tmp_path, extra_args=("-R",))
    d.conf.write_text(GOOD.format(extra=""))
    d.start()
    try:
        os.kill(d.worker_pid(), signal.SIGKILL)
        assert d.proc is not None
        assert d.proc.wait(15) == 1
        assert "not respawning" in d.log.read_text()
    finally:
        if d.proc is not None and d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait(5)


def test_sigusr1_dumps_and_sigrtmin2_json(daemon: Daemon) -> None:
    daemon.start()
    wait_for(lambda: instance_states(daemon.status()) == {"VI_1": "MASTER"}, 10, "MASTER")
    assert daemon.proc is not None
    os.kill(daemon.proc.pid, signal.SIGUSR1)
    os.kill(daemon.proc.pid, signal.SIGRTMIN + 2)
    os.kill(daemon.proc.pid, signal.SIGUSR2)
    data = wait_for((daemon.tmp / "keepalived.data").exists, 10, "keepalived.data")
    assert data
    wait_for((daemon.tmp / "keepalived_parent.data").exists, 10, "parent dump")
    dump = wait_for(
        lambda: json.loads((daemon.tmp / "keepalived.json").read_text()), 10, "keepalived.json"
    )
    assert dump[0]["data"]["iname"] == "VI_1" and dump[0]["data"]["state"] == 2
    stats = wait_for((daemon.tmp / "keepalived.stats").read_text, 10, "stats dump")
    assert stats.startswith("VRRP Instance: VI_1\n")


def test_systemd_notifications(topology: Callable[..., Topology], tmp_path: Path) -> None:
    """READY=1 after the worker started, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1."""
    import socket  # noqa: PLC0415

    notify_path = tmp_path / "notify.sock"
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(notify_path))
    receiver.settimeout(15)
    d = Daemon(topology(hosts=1), tmp_path)
    d.conf.write_text(GOOD.format(extra=""))
    os.environ["NOTIFY_SOCKET"] = str(notify_path)
    try:
        d.start()
    finally:
        del os.environ["NOTIFY_SOCKET"]
    try:
        assert receiver.recv(4096).split(b"\n")[0] == b"READY=1"
        assert d.proc is not None
        os.kill(d.proc.pid, signal.SIGHUP)
        reloading = receiver.recv(4096).split(b"\n")
        assert reloading[0] == b"RELOADING=1" and reloading[1].startswith(b"MONOTONIC_USEC=")
        assert receiver.recv(4096).split(b"\n")[0] == b"READY=1"
        assert d.stop() == 0
        assert receiver.recv(4096) == b"STOPPING=1"
    finally:
        receiver.close()
        if d.proc is not None and d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait(5)
