"""SMTP alerts: keepalived 2.2.7's subjects, bodies, headers and enabling rules (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from pykeepalived.config.loader import load_text
from pykeepalived.daemon.alerts import quorum_mail_body
from pykeepalived.notify.smtp import (
    CheckerAlertRules,
    MailSettings,
    VrrpAlertRules,
    checker_body,
    format_message,
    realserver_alert,
    virtualserver_alert,
    vrrp_group_alert,
    vrrp_instance_alert,
)

pytestmark = pytest.mark.unit

SETTINGS = MailSettings(
    server_host="192.0.2.25",
    server_port=25,
    helo_name="localhost",
    email_from="keepalived@lb1.example",
    email_to=("ops@example.com", "noc@example.com"),
    router_id="LB1",
    connect_timeout_s=30.0,
)


def test_message_bytes_are_keepalived_headers_then_body_then_dot() -> None:
    alert = vrrp_instance_alert("LB1", "VI_1", "MASTER")
    assert alert is not None
    now = datetime(2024, 3, 5, 14, 7, 9, tzinfo=timezone(timedelta(hours=1)))
    assert format_message(SETTINGS, alert, now) == (
        b"Date: Tue, 05 Mar 2024 14:07:09 +0100\r\n"
        b"From: keepalived@lb1.example\r\n"
        b"Subject: [LB1] VRRP Instance VI_1 - Entering MASTER state\r\n"
        b"X-Mailer: Keepalived\r\n"
        b"To: ops@example.com, noc@example.com\r\n"
        b"\r\n"
        b"=> VRRP Instance is now owning VRRP VIPs <=\r\n"
        b"\r\n.\r\n"
    )


def test_body_lines_starting_with_a_dot_are_stuffed() -> None:
    alert = realserver_alert(
        "R", "[10.0.0.1]:tcp:80", "[192.0.2.1]:tcp:80", alive=False, body="first\n.second"
    )
    msg = format_message(SETTINGS, alert, datetime(2024, 1, 1, tzinfo=UTC))
    assert b"\r\nfirst\r\n..second\r\n\r\n.\r\n" in msg


@pytest.mark.parametrize(
    ("state", "subject", "body"),
    [
        ("MASTER", "Entering MASTER state", "=> VRRP Instance is now owning VRRP VIPs <="),
        ("BACKUP", "Entering BACKUP state", "=> VRRP Instance is no longer owning VRRP VIPs <="),
        ("FAULT", "Entering FAULT state", "=> VRRP Instance is no longer owning VRRP VIPs <="),
        ("STOP", "Stopping", "=> VRRP Instance stopping <="),
    ],
)
def test_vrrp_instance_subjects_and_bodies(state: str, subject: str, body: str) -> None:
    alert = vrrp_instance_alert("LB1", "VI_1", state)
    assert alert is not None
    assert alert.subject == f"[LB1] VRRP Instance VI_1 - {subject}"
    assert alert.body == body


def test_group_subject_and_unmailed_states() -> None:
    alert = vrrp_group_alert("LB1", "G1", "MASTER")
    assert alert is not None
    assert alert.subject == "[LB1] VRRP Group G1 - Entering MASTER state"
    assert alert.body == "=> All VRRP group instances are now in MASTER state <="
    assert vrrp_instance_alert("LB1", "VI_1", "INIT") is None
    assert vrrp_group_alert("LB1", "G1", "DELETED") is None


def test_server_subjects() -> None:
    rs = realserver_alert(
        "LB1",
        "[10.0.0.2]:tcp:80",
        "[192.0.2.1]:tcp:80",
        alive=False,
        body=checker_body("TCP_CHECK", up=False),
    )
    assert rs.subject == (
        "[LB1] Realserver [10.0.0.2]:tcp:80 of virtual server [192.0.2.1]:tcp:80 - DOWN"
    )
    assert rs.body == "=> TCP CHECK failed on service <="
    vs = virtualserver_alert("LB1", "[192.0.2.1]:tcp:80", up=True, body="=> x <=")
    assert vs.subject == "[LB1] Virtualserver [192.0.2.1]:tcp:80 - UP"


def test_checker_bodies() -> None:
    assert checker_body("TCP_CHECK", up=True) == "=> TCP CHECK succeed on service <="
    assert checker_body("MISC_CHECK", up=False) == "=> MISC CHECK failed on service <="
    assert checker_body("HTTP_GET", up=True) == "=> CHECK succeed on service <="
    assert (
        checker_body("HTTP_GET", up=False, detail="HTTP status code error")
        == "=> CHECK failed on service : HTTP status code error <="
    )
    assert checker_body("TCP_CHECK", up=False, detail="ignored") == (
        "=> TCP CHECK failed on service <="
    )


def test_vrrp_rules_last_email_state_and_no_email_faults() -> None:
    rules = VrrpAlertRules(no_email_faults=True)
    assert rules.instance("R", "VI_1", "BACKUP", enabled=True) is not None
    assert rules.instance("R", "VI_1", "BACKUP", enabled=True) is None  # same as last mailed
    assert rules.instance("R", "VI_1", "FAULT", enabled=True) is None  # no_email_faults
    # the unmailed FAULT did not become the last mailed state: BACKUP again is not mailed
    assert rules.instance("R", "VI_1", "BACKUP", enabled=True) is None
    assert rules.instance("R", "VI_1", "MASTER", enabled=True) is not None
    assert rules.instance("R", "VI_2", "MASTER", enabled=False) is None
    faults = VrrpAlertRules(no_email_faults=False)
    assert faults.instance("R", "VI_1", "FAULT", enabled=True) is not None


def test_checker_rules_no_checker_emails() -> None:
    quiet = CheckerAlertRules(no_checker_emails=True)
    common = {"vs": "[192.0.2.1]:tcp:80", "rs": "[10.0.0.2]:tcp:80", "checker_kind": "TCP_CHECK"}
    # a checker going down while another one already keeps the server down: no mail
    assert (
        quiet.checker_changed(
            "R", checker_up=False, rs_was_alive=False, rs_alive=False, enabled=True, **common
        )
        is None
    )
    alert = quiet.checker_changed(
        "R", checker_up=False, rs_was_alive=True, rs_alive=False, enabled=True, **common
    )
    assert alert is not None and alert.subject.endswith(" - DOWN")
    chatty = CheckerAlertRules(no_checker_emails=False)
    again = chatty.checker_changed(
        "R", checker_up=True, rs_was_alive=False, rs_alive=False, enabled=True, **common
    )
    assert again is not None
    assert again.subject.endswith(" - DOWN") and again.body == "=> TCP CHECK succeed on service <="
    assert (
        chatty.checker_changed(
            "R", checker_up=True, rs_was_alive=False, rs_alive=True, enabled=False, **common
        )
        is None
    )


@pytest.mark.parametrize(
    ("detail", "body"),
    [
        ("Gained quorum 1+0=1 <= 2", "=> Gained quorum 1+0=1 <= 2 <="),
        ("Lost quorum 3-1=2 > 1", "=> Lost quorum 3+1=2 <= 1 <="),
        ("Starting with quorum up 1+0=1 <= 1", "=> Starting with quorum up 1+0=1 <= 1 <="),
    ],
)
def test_quorum_mail_body(detail: str, body: str) -> None:
    assert quorum_mail_body(detail) == body


def test_mail_settings_from_global_defs() -> None:
    text = """global_defs {
        router_id LB7
        notification_email { a@example.com
            b@example.com }
        notification_email_from lb@example.com
        smtp_server 192.0.2.25 2525
        smtp_connect_timeout 7
    }"""
    settings = MailSettings.from_global_defs(load_text(text).config.global_defs)
    assert settings == MailSettings(
        "192.0.2.25",
        2525,
        "localhost",
        "lb@example.com",
        ("a@example.com", "b@example.com"),
        "LB7",
        7.0,
    )
    no_server = load_text("global_defs {\n notification_email { a@example.com }\n}\n")
    assert MailSettings.from_global_defs(no_server.config.global_defs) is None
    no_rcpt = load_text("global_defs {\n smtp_server 192.0.2.25\n}\n")
    assert MailSettings.from_global_defs(no_rcpt.config.global_defs) is None
