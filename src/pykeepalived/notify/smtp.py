"""SMTP alerts as keepalived 2.2.7 sends them (``keepalived/core/smtp.c``).

Pure parts: `MailSettings` (what ``global_defs`` configures), the `Alert` builders with
keepalived's subjects and bodies, the alerting rules (`VrrpAlertRules`, `CheckerAlertRules`:
``smtp_alert``, ``no_email_faults``, ``no_checker_emails``, ``last_email_state``) and
`format_message` (the bytes after ``DATA``).

I/O: `send_mail` runs keepalived's dialogue (220, ``HELO``, ``MAIL FROM``, one ``RCPT TO`` per
recipient, ``DATA``, headers + body + ``.``, ``QUIT``), every step under
``smtp_connect_timeout``; `SmtpAlerter` queues alerts (bounded, drops counted) and sends them from
one task with a few retries, so the caller (a VRRP transition) never waits for the mail server.
keepalived itself does not retry; a retry is only made when the server could not be reached or
answered with a transient (4xx) code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from pykeepalived.config.model.global_defs import (
    GlobalDefs,
    resolve_email_from,
    resolve_router_id,
)

log = logging.getLogger(__name__)

DEFAULT_HELO_NAME = "localhost"
QUEUE_SIZE = 64
"""Alerts waiting to be sent; more are dropped (and counted)."""
RETRY_DELAYS_S = (2.0, 10.0)
"""Pauses before the second and third attempt of one alert."""
MAX_BODY_LENGTH = 511  # keepalived's MAX_BODY_LENGTH - 1
MAX_SUBJECT_LENGTH = 255  # MAX_HEADERS_LENGTH - 1


@dataclass(frozen=True)
class MailSettings:
    """Where and as whom alerts are sent (``global_defs``, resolved)."""

    server_host: str
    server_port: int
    helo_name: str
    email_from: str
    email_to: tuple[str, ...]
    router_id: str
    connect_timeout_s: float

    @classmethod
    def from_global_defs(
        cls, defs: GlobalDefs, *, hostname: str | None = None
    ) -> MailSettings | None:
        """None unless ``notification_email`` and ``smtp_server`` are both set (smtp.c)."""
        if not defs.notification_email or defs.smtp_server is None:
            return None
        return cls(
            server_host=defs.smtp_server.host,
            server_port=defs.smtp_server.port,
            helo_name=defs.smtp_helo_name or DEFAULT_HELO_NAME,
            email_from=resolve_email_from(defs, hostname=hostname),
            email_to=tuple(defs.notification_email),
            router_id=resolve_router_id(defs, hostname=hostname),
            connect_timeout_s=float(defs.smtp_connect_timeout_s),
        )


@dataclass(frozen=True)
class Alert:
    """One mail: the full subject line and the body text (one line, as keepalived's)."""

    subject: str
    body: str


# ---- subjects and bodies (smtp.c smtp_alert(), vrrp_notify.c, ipwrapper.c, check_*.c) -------

_VRRP_INSTANCE_TEXT: dict[str, tuple[str, str]] = {
    "MASTER": ("Entering MASTER state", "=> VRRP Instance is now owning VRRP VIPs <="),
    "BACKUP": ("Entering BACKUP state", "=> VRRP Instance is no longer owning VRRP VIPs <="),
    "FAULT": ("Entering FAULT state", "=> VRRP Instance is no longer owning VRRP VIPs <="),
    "STOP": ("Stopping", "=> VRRP Instance stopping <="),
}
_VRRP_GROUP_TEXT: dict[str, tuple[str, str]] = {
    "MASTER": ("Entering MASTER state", "=> All VRRP group instances are now in MASTER state <="),
    "BACKUP": ("Entering BACKUP state", "=> All VRRP group instances are now in BACKUP state <="),
    "FAULT": ("Entering FAULT state", "=> All VRRP group instances are now in FAULT state <="),
    "STOP": ("Stopping", "=> All VRRP group instances are now stopping <="),
}

_CHECKER_BODIES: dict[str, tuple[str, str]] = {
    # checker block keyword -> (succeed body, failed body)
    "TCP_CHECK": ("=> TCP CHECK succeed on service <=", "=> TCP CHECK failed on service <="),
    "UDP_CHECK": ("=> UDP CHECK succeed on service <=", "=> UDP CHECK failed on service <="),
    "HTTP_GET": ("=> CHECK succeed on service <=", "=> CHECK failed on service <="),
    "SSL_GET": ("=> CHECK succeed on service <=", "=> CHECK failed on service <="),
    "SMTP_CHECK": ("=> CHECK succeed on service <=", "=> CHECK failed on service <="),
    "DNS_CHECK": ("=> DNS_CHECK succeed on service <=", "=> DNS_CHECK failed on service <="),
    "MISC_CHECK": ("=> MISC CHECK succeed on service <=", "=> MISC CHECK failed on service <="),
    "PING_CHECK": ("=> PING CHECK succeed on service <=", "=> PING CHECK failed on service <="),
    "FILE_CHECK": ("=> FILE CHECK succeed on service <=", "=> FILE CHECK failed on service <="),
}


def _subject(router_id: str, text: str) -> str:
    return f"[{router_id}] {text}"[:MAX_SUBJECT_LENGTH]


def vrrp_instance_alert(router_id: str, instance: str, state: str) -> Alert | None:
    """``[rid] VRRP Instance VI_1 - Entering MASTER state``; None for states never mailed."""
    text = _VRRP_INSTANCE_TEXT.get(state)
    if text is None:
        return None
    return Alert(_subject(router_id, f"VRRP Instance {instance} - {text[0]}"), text[1])


def vrrp_group_alert(router_id: str, group: str, state: str) -> Alert | None:
    """``[rid] VRRP Group G1 - Entering BACKUP state``; None for states never mailed."""
    text = _VRRP_GROUP_TEXT.get(state)
    if text is None:
        return None
    return Alert(_subject(router_id, f"VRRP Group {group} - {text[0]}"), text[1])


def checker_body(checker_kind: str, up: bool, detail: str = "") -> str:
    """The body a checker of ``checker_kind`` mails; ``detail`` is the failure's reason
    (HTTP/SSL/SMTP checkers mail ``=> CHECK failed on service : <reason> <=``)."""
    ok, failed = _CHECKER_BODIES.get(
        checker_kind, ("=> CHECK succeed on service <=", "=> CHECK failed on service <=")
    )
    if up:
        return ok
    if detail and checker_kind in ("HTTP_GET", "SSL_GET", "SMTP_CHECK"):
        return f"=> CHECK failed on service : {detail} <="
    return failed


def realserver_alert(router_id: str, rs: str, vs: str, *, alive: bool, body: str) -> Alert:
    """``[rid] Realserver [10.0.0.2]:tcp:80 of virtual server [192.0.2.1]:tcp:80 - UP``."""
    state = "UP" if alive else "DOWN"
    return Alert(
        _subject(router_id, f"Realserver {rs} of virtual server {vs} - {state}"),
        body[:MAX_BODY_LENGTH],
    )


def virtualserver_alert(router_id: str, vs: str, *, up: bool, body: str) -> Alert:
    """``[rid] Virtualserver [192.0.2.1]:tcp:80 - UP`` (quorum changes)."""
    return Alert(
        _subject(router_id, f"Virtualserver {vs} - {'UP' if up else 'DOWN'}"),
        body[:MAX_BODY_LENGTH],
    )


def quorum_body(
    *, up: bool, init: bool, quorum: int, hysteresis: int, threshold: int, weight_sum: int
) -> str:
    """``=> Gained quorum 1+0=1 <= 2 <=`` (ipwrapper.c ``do_vs_notifies()``)."""
    if up:
        head = "Starting with quorum up" if init else "Gained quorum"
    else:
        head = "Starting with quorum down" if init else "Lost quorum"
    return f"=> {head} {quorum}+{hysteresis}={threshold} <= {weight_sum} <="


# ---- alerting rules ---------------------------------------------------------------------


class VrrpAlertRules:
    """Which VRRP transitions are mailed: ``smtp_alert`` of the instance/group (already
    resolved against the globals by the config), not FAULT with ``no_email_faults``, and
    only when the state differs from the last one mailed (``last_email_state``)."""

    def __init__(self, *, no_email_faults: bool) -> None:
        self.no_email_faults = no_email_faults
        self._last_instance: dict[str, str] = {}
        self._last_group: dict[str, str] = {}

    def instance(self, router_id: str, name: str, state: str, *, enabled: bool) -> Alert | None:
        return self._decide(self._last_instance, name, state, enabled, router_id, group=False)

    def group(self, router_id: str, name: str, state: str, *, enabled: bool) -> Alert | None:
        return self._decide(self._last_group, name, state, enabled, router_id, group=True)

    def _decide(
        self,
        last: dict[str, str],
        name: str,
        state: str,
        enabled: bool,
        router_id: str,
        *,
        group: bool,
    ) -> Alert | None:
        if not enabled or (self.no_email_faults and state == "FAULT"):
            return None
        if last.get(name) == state:
            return None
        build = vrrp_group_alert if group else vrrp_instance_alert
        alert = build(router_id, name, state)
        if alert is not None:
            last[name] = state
        return alert


class CheckerAlertRules:
    """Checker mails as 2.2.7's checkers decide them: a real server mail on a checker
    transition when the real server's ``smtp_alert`` is on and either its alive state changed
    or ``no_checker_emails`` is off; a virtual server mail on a quorum change when the
    virtual server's ``smtp_alert`` is on."""

    def __init__(self, *, no_checker_emails: bool) -> None:
        self.no_checker_emails = no_checker_emails

    def checker_changed(
        self,
        router_id: str,
        *,
        vs: str,
        rs: str,
        checker_kind: str,
        checker_up: bool,
        rs_was_alive: bool,
        rs_alive: bool,
        enabled: bool,
        detail: str = "",
    ) -> Alert | None:
        if not enabled:
            return None
        if rs_was_alive == rs_alive and self.no_checker_emails:
            return None
        return realserver_alert(
            router_id, rs, vs, alive=rs_alive, body=checker_body(checker_kind, checker_up, detail)
        )

    @staticmethod
    def quorum_changed(
        router_id: str, *, vs: str, up: bool, body: str, enabled: bool
    ) -> Alert | None:
        if not enabled:
            return None
        return virtualserver_alert(router_id, vs, up=up, body=body)


# ---- the message ------------------------------------------------------------------------


def _dot_stuff(text: str) -> str:
    """RFC 5321 4.5.2: a line starting with '.' gets another '.'."""
    lines = text.replace("\r\n", "\n").split("\n")
    return "\r\n".join("." + line if line.startswith(".") else line for line in lines)


def format_message(settings: MailSettings, alert: Alert, now: datetime) -> bytes:
    """What keepalived sends after ``DATA``: its five headers, the body, then ``.``.

    ``now`` must be timezone-aware (keepalived uses local time with its ``%z`` offset).
    """
    date = format_datetime(now)
    headers = (
        f"Date: {date}\r\n"
        f"From: {settings.email_from}\r\n"
        f"Subject: {alert.subject}\r\n"
        "X-Mailer: Keepalived\r\n"
        f"To: {', '.join(settings.email_to)}\r\n"
        "\r\n"
    )
    body = f"{_dot_stuff(alert.body)}\r\n"
    return (headers + body + "\r\n.\r\n").encode("utf-8", "replace")


# ---- the dialogue -----------------------------------------------------------------------


class SmtpError(Exception):
    """The dialogue failed; ``transient`` when retrying later may help."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


async def _read_reply(reader: asyncio.StreamReader, timeout_s: float) -> int:
    """The code of the last line of a (possibly multi-line) reply."""
    while True:
        line = await asyncio.wait_for(reader.readline(), timeout_s)
        if not line:
            raise SmtpError("server closed the connection", transient=True)
        if len(line) < 4 or not line[:3].isdigit():
            raise SmtpError(f"malformed reply {line!r}", transient=False)
        if line[3:4] != b"-":
            return int(line[:3])


async def send_mail(settings: MailSettings, alert: Alert, *, now: datetime) -> None:
    """Deliver ``alert`` with keepalived's dialogue; raises `SmtpError` on any failure."""
    timeout_s = settings.connect_timeout_s
    where = f"[{settings.server_host}]:{settings.server_port}"
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(settings.server_host, settings.server_port), timeout_s
        )
    except (OSError, TimeoutError) as exc:
        raise SmtpError(f"cannot connect to SMTP server {where}: {exc}", transient=True) from exc
    log.info("Remote SMTP server %s connected.", where)

    async def step(command: bytes | None, expect: int, what: str) -> None:
        if command is not None:
            writer.write(command)
            await asyncio.wait_for(writer.drain(), timeout_s)
        code = await _read_reply(reader, timeout_s)
        if code != expect:
            raise SmtpError(
                f"Error processing {what} on SMTP server {where}. SMTP status code = {code}",
                transient=400 <= code < 500,
            )

    try:
        await step(None, 220, "connect")
        await step(f"HELO {settings.helo_name}\r\n".encode(), 250, "HELO cmd")
        await step(f"MAIL FROM:<{settings.email_from}>\r\n".encode(), 250, "MAIL cmd")
        for rcpt in settings.email_to:
            await step(f"RCPT TO:<{rcpt}>\r\n".encode(), 250, "RCPT cmd")
        await step(b"DATA\r\n", 354, "DATA cmd")
        await step(format_message(settings, alert, now), 250, "DOT cmd")
        with contextlib.suppress(SmtpError, OSError, TimeoutError):
            await step(b"QUIT\r\n", 221, "QUIT cmd")
    except (OSError, TimeoutError) as exc:
        raise SmtpError(f"SMTP dialogue with {where} failed: {exc}", transient=True) from exc
    finally:
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), timeout_s)


class SmtpAlerter:
    """Sends alerts from a bounded queue in the background; `submit` never blocks.

    ``settings`` None disables mail (alerts are then discarded, as keepalived does when no
    server or recipient is configured). Counters: ``sent``, ``failed``, ``dropped``.
    """

    def __init__(
        self,
        settings: MailSettings | None,
        *,
        queue_size: int = QUEUE_SIZE,
        retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self.retry_delays_s = retry_delays_s
        self._clock = clock or (lambda: datetime.now().astimezone())
        self._queue: asyncio.Queue[Alert] = asyncio.Queue(maxsize=queue_size)
        self._task: asyncio.Task[None] | None = None
        self.sent = 0
        self.failed = 0
        self.dropped = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="smtp-alerts")

    async def stop(self, *, drain_timeout_s: float = 0.0) -> None:
        """Stop the sender, first giving queued alerts up to ``drain_timeout_s`` to go out."""
        if self._task is None:
            return
        if drain_timeout_s > 0 and self.settings is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), drain_timeout_s)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    def submit(self, alert: Alert | None) -> bool:
        """Queue ``alert``; False if it was discarded (no settings, or the queue is full)."""
        if alert is None or self.settings is None:
            return False
        try:
            self._queue.put_nowait(alert)
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("SMTP alert queue full - alert dropped: %s", alert.subject)
            return False
        return True

    def stats(self) -> dict[str, int]:
        return {
            "sent": self.sent,
            "failed": self.failed,
            "dropped": self.dropped,
            "queued": self._queue.qsize(),
        }

    async def _run(self) -> None:
        while True:
            alert = await self._queue.get()
            try:
                await self._deliver(alert)
            finally:
                self._queue.task_done()

    async def _deliver(self, alert: Alert) -> None:
        settings = self.settings
        assert settings is not None
        delays = (0.0, *self.retry_delays_s)
        for attempt, delay in enumerate(delays, start=1):
            if delay:
                await asyncio.sleep(delay)
            try:
                await send_mail(settings, alert, now=self._clock())
            except SmtpError as exc:
                log.info("%s (attempt %d of %d)", exc, attempt, len(delays))
                if not exc.transient:
                    break
                continue
            self.sent += 1
            log.info("SMTP alert successfully sent.")
            return
        self.failed += 1
        log.error("SMTP alert not sent: %s", alert.subject)
