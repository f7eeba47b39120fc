"""SMTP alerts reach a real SMTP server (aiosmtpd on loopback) with keepalived's dialogue."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest

from pykeepalived.config.loader import load_text
from pykeepalived.daemon.workers import ServiceHost
from pykeepalived.notify.smtp import (
    MailSettings,
    SmtpAlerter,
    send_mail,
    vrrp_instance_alert,
)

from .fake_service import make as make_fake
from .mailsink import MailSink, free_port

pytestmark = pytest.mark.netns


def settings(port: int, **kw: object) -> MailSettings:
    base = MailSettings(
        "127.0.0.1",
        port,
        "lb1.example",
        "keepalived@lb1.example",
        ("ops@example.com", "noc@example.com"),
        "LB1",
        3.0,
    )
    return MailSettings(**{**base.__dict__, **kw})  # type: ignore[arg-type]


def wait_mail(sink: MailSink, count: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while len(sink.messages) < count:
        assert time.monotonic() < deadline, f"only {len(sink.messages)} mails: {sink.subjects()}"
        time.sleep(0.05)


def test_send_mail_dialogue_and_message(smtp_server: tuple[MailSink, int]) -> None:
    sink, port = smtp_server
    alert = vrrp_instance_alert("LB1", "VI_1", "MASTER")
    assert alert is not None
    asyncio.run(send_mail(settings(port), alert, now=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)))
    (msg,) = sink.messages
    assert msg.helo == "lb1.example"
    assert msg.mail_from == "keepalived@lb1.example"
    assert msg.rcpt_tos == ["ops@example.com", "noc@example.com"]
    assert msg.data.split(b"\r\n")[:6] == [
        b"Date: Tue, 02 Jan 2024 03:04:05 +0000",
        b"From: keepalived@lb1.example",
        b"Subject: [LB1] VRRP Instance VI_1 - Entering MASTER state",
        b"X-Mailer: Keepalived",
        b"To: ops@example.com, noc@example.com",
        b"",
    ]
    assert b"=> VRRP Instance is now owning VRRP VIPs <=" in msg.data


def test_alerter_retries_until_the_server_is_up() -> None:
    from aiosmtpd.controller import Controller  # noqa: PLC0415

    port = free_port()
    sink = MailSink()

    async def scenario() -> SmtpAlerter:
        alerter = SmtpAlerter(settings(port), retry_delays_s=(1.0, 1.0))
        alerter.start()
        assert alerter.submit(vrrp_instance_alert("LB1", "VI_1", "BACKUP"))
        await asyncio.sleep(0.3)  # first attempt refused: nobody listens yet
        controller = Controller(sink, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            await alerter.stop(drain_timeout_s=5.0)
        finally:
            controller.stop()
        return alerter

    alerter = asyncio.run(scenario())
    assert alerter.sent == 1 and alerter.failed == 0
    assert sink.subjects() == ["[LB1] VRRP Instance VI_1 - Entering BACKUP state"]


def test_full_queue_drops_and_counts() -> None:
    async def scenario() -> SmtpAlerter:
        alerter = SmtpAlerter(settings(1), queue_size=2)  # never started: nothing is sent
        for _ in range(5):
            alerter.submit(vrrp_instance_alert("LB1", "VI_1", "MASTER"))
        return alerter

    alerter = asyncio.run(scenario())
    assert alerter.stats() == {"sent": 0, "failed": 0, "dropped": 3, "queued": 2}


CONF = """global_defs {{
    router_id R1
    notification_email {{ ops@example.com }}
    notification_email_from ka@r1.example
    smtp_server 127.0.0.1 {port}
    smtp_connect_timeout 3
}}
vrrp_instance VI_1 {{
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    smtp_alert
    virtual_ipaddress {{ 192.0.2.10/24 }}
}}
vrrp_instance VI_2 {{
    interface eth0
    virtual_router_id 52
    virtual_ipaddress {{ 192.0.2.11/24 }}
}}
"""


def test_vrrp_transitions_are_mailed_by_the_worker(smtp_server: tuple[MailSink, int]) -> None:
    """BACKUP then MASTER then Stopping for VI_1 (smtp_alert), nothing for VI_2."""
    sink, port = smtp_server
    config = load_text(CONF.format(port=port)).config

    async def scenario() -> None:
        import argparse  # noqa: PLC0415

        options = argparse.Namespace(use_file="<test>")
        host = ServiceHost("vrrp", options, config, make_fake)
        await host.start()
        deadline = asyncio.get_running_loop().time() + 10
        while len(sink.messages) < 2 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        await host.stop()

    asyncio.run(scenario())
    wait_mail(sink, 3)
    assert sink.subjects() == [
        "[R1] VRRP Instance VI_1 - Entering BACKUP state",
        "[R1] VRRP Instance VI_1 - Entering MASTER state",
        "[R1] VRRP Instance VI_1 - Stopping",
    ]
    assert sink.messages[0].mail_from == "ka@r1.example"


LVS_CONF = """global_defs {{
    router_id R1
    notification_email {{ ops@example.com }}
    smtp_server 127.0.0.1 {smtp}
}}
virtual_server 192.0.2.1 80 {{
    protocol TCP
    delay_loop 0.2
    smtp_alert
    real_server 127.0.0.1 {rs} {{
        TCP_CHECK {{
            connect_timeout 0.5
            retry 0
        }}
    }}
}}
"""


def test_checker_transitions_are_mailed(smtp_server: tuple[MailSink, int]) -> None:
    """A real server whose TCP port closes: RS DOWN mail and VS quorum DOWN mail."""
    import argparse  # noqa: PLC0415

    from pykeepalived.daemon.workers import checker_services  # noqa: PLC0415

    sink, port = smtp_server
    rs_port = free_port()
    config = load_text(LVS_CONF.format(smtp=port, rs=rs_port)).config
    options = argparse.Namespace(
        use_file="<test>",
        vrrp=False,
        check=True,
        all=False,
        dont_release_vrrp=False,
        dont_release_ipvs=False,
        release_vips=False,
        log_detail=False,
    )

    async def scenario() -> None:
        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", rs_port)
        host = ServiceHost("checkers", options, config, checker_services)
        await host.start()
        await asyncio.sleep(1.0)
        server.close()
        await server.wait_closed()
        deadline = asyncio.get_running_loop().time() + 10
        while len(sink.messages) < 2 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        await host.stop()

    asyncio.run(scenario())
    wait_mail(sink, 2)
    subjects = sink.subjects()
    rs_subject = (
        f"[R1] Realserver [127.0.0.1]:tcp:{rs_port} of virtual server [192.0.2.1]:tcp:80 - DOWN"
    )
    assert rs_subject in subjects
    assert "[R1] Virtualserver [192.0.2.1]:tcp:80 - DOWN" in subjects
    rs_mail = next(m for m in sink.messages if rs_subject.encode() in m.data)
    assert b"=> TCP CHECK failed on service <=" in rs_mail.data
