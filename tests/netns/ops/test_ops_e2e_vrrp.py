"""End to end with the real VRRP engine (``pykeepalived`` as installed, in a namespace):
the status API shows the instance MASTER, its VIP is installed, the SMTP alert with
keepalived's subject reaches a real SMTP server in the same namespace, a broken config on
SIGHUP leaves the instance running with config_stale, and a SIGKILLed VRRP worker comes back
and takes the VIP again.
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

from pykeepalived.control import api
from pykeepalived.lab.topology import Topology

pytestmark = pytest.mark.netns

PYKEEPALIVED = str(Path(sys.executable).with_name("pykeepalived"))
SMTP_PORT = 2525

SMTP_SINK = """
import json, sys, time
from aiosmtpd.controller import Controller

class Sink:
    async def handle_DATA(self, server, session, envelope):
        with open(sys.argv[1], "a") as f:
            f.write(json.dumps({"helo": session.host_name, "from": envelope.mail_from,
                                "to": envelope.rcpt_tos,
                                "data": envelope.original_content.decode()}) + "\\n")
        return "250 OK"

c = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[2]))
c.start()
open(sys.argv[3], "w").write("up")
while True:
    time.sleep(1)
"""

CONF = """global_defs {
    router_id LAB1
    notification_email { ops@example.com }
    notification_email_from ka@lab1.example
    smtp_server 127.0.0.1 SMTP_PORT
    smtp_connect_timeout 5
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 61
    priority 200
    advert_int 1
    smtp_alert
    virtual_ipaddress { 192.0.2.200/24 }
}
""".replace("SMTP_PORT", str(SMTP_PORT))


def wait_for(cond: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = cond()
        except (api.ApiError, OSError, ValueError, KeyError, IndexError):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


class Lab:
    def __init__(self, topo: Topology, tmp: Path) -> None:
        self.topo, self.tmp = topo, tmp
        self.conf = tmp / "keepalived.conf"
        self.sock = str(tmp / "control.sock")
        self.mails = tmp / "mails.jsonl"
        self.log = tmp / "daemon.log"
        self.procs: list[subprocess.Popen[Any]] = []

    def start_smtp(self) -> None:
        script = self.tmp / "sink.py"
        script.write_text(SMTP_SINK)
        flag = self.tmp / "smtp.up"
        self.procs.append(
            self.topo.popen(
                "h1", [sys.executable, str(script), str(self.mails), str(SMTP_PORT), str(flag)]
            )
        )
        wait_for(flag.exists, 15, "the SMTP server")

    def start_daemon(self) -> subprocess.Popen[Any]:
        env = {**os.environ, api.SOCKET_ENV: self.sock, "TMPDIR": str(self.tmp)}
        argv = [
            PYKEEPALIVED,
            "-n",
            "-l",
            "-G",
            "-f",
            str(self.conf),
            "-p",
            str(self.tmp / "main.pid"),
            "-r",
            str(self.tmp / "vrrp.pid"),
        ]
        with self.log.open("a") as log:
            proc = self.topo.popen("h1", argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        self.procs.append(proc)
        return proc

    def status(self) -> dict[str, Any]:
        return api.get_status(socket_path=self.sock)

    def state(self) -> str | None:
        instances = self.status()["vrrp"]["instances"]
        return str(instances[0]["state"]) if instances else None

    def subjects(self) -> list[str]:
        if not self.mails.exists():
            return []
        out = []
        for line in self.mails.read_text().splitlines():
            for header in json.loads(line)["data"].split("\r\n"):
                if header.startswith("Subject: "):
                    out.append(header[len("Subject: ") :])
        return out

    def has_vip(self) -> bool:
        infos = self.topo.ip_json("h1", ["addr", "show", "dev", "eth0"])[0]["addr_info"]
        return any(a.get("local") == "192.0.2.200" for a in infos)


@pytest.fixture
def lab(topology: Callable[..., Topology], tmp_path: Path) -> Iterator[Lab]:
    the_lab = Lab(topology(hosts=1), tmp_path)
    try:
        yield the_lab
    finally:
        for proc in reversed(the_lab.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(10)
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
        print(the_lab.log.read_text() if the_lab.log.exists() else "")


def test_master_status_alert_stale_reload_and_respawn(lab: Lab) -> None:
    lab.conf.write_text(CONF)
    lab.start_smtp()
    daemon = lab.start_daemon()
    wait_for(lambda: lab.state() == "MASTER", 20, "VI_1 MASTER")
    wait_for(lab.has_vip, 5, "the VIP on eth0")
    wait_for(
        lambda: "[LAB1] VRRP Instance VI_1 - Entering MASTER state" in lab.subjects(),
        20,
        "the MASTER alert",
    )
    mail = json.loads(lab.mails.read_text().splitlines()[-1])
    assert mail["from"] == "ka@lab1.example" and mail["to"] == ["ops@example.com"]
    assert "X-Mailer: Keepalived\r\n" in mail["data"]
    assert "=> VRRP Instance is now owning VRRP VIPs <=" in mail["data"]

    # a broken config on SIGHUP: refused, VI_1 stays MASTER, config_stale shows it
    lab.conf.write_text("vrrp_instance VI_1 {\n    interface\n}\n")
    os.kill(daemon.pid, signal.SIGHUP)
    wait_for(lambda: lab.status()["config_stale"], 10, "config_stale")
    assert lab.state() == "MASTER" and lab.has_vip()

    # the VRRP worker killed: respawned, MASTER again with its VIP
    lab.conf.write_text(CONF)
    worker = int((lab.tmp / "vrrp.pid").read_text())
    os.kill(worker, signal.SIGKILL)
    wait_for(lambda: int((lab.tmp / "vrrp.pid").read_text()) != worker, 10, "a new worker")

    def respawned() -> dict[str, Any] | None:
        s = lab.status()
        inst = s["vrrp"]["instances"]
        ok = s["workers"][0]["restarts"] == 1 and inst and inst[0]["state"] == "MASTER"
        return s if ok else None

    doc = wait_for(respawned, 20, "MASTER after the respawn")
    assert doc["workers"][0]["alive"]
    wait_for(lab.has_vip, 10, "the VIP after the respawn")

    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(15) == 0
    wait_for(lambda: not lab.has_vip(), 5, "the VIP released at stop")
    wait_for(
        lambda: "[LAB1] VRRP Instance VI_1 - Stopping" in lab.subjects(), 10, "the Stopping alert"
    )
