"""Feeding SMTP alerts (`notify.smtp`) from the services of a worker.

- VRRP: `VrrpStateWatcher` reads the VRRP service's status every `VRRP_POLL_S` and turns each
  instance state change into `VrrpAlertRules` decisions (the VRRP service offers no transition
  hook; polling its cheap status keeps it unaware of mail). At shutdown every known instance
  gets its ``Stopping`` mail, as keepalived's ``notify_shutdown()`` sends.
- Checkers: `CheckerEventWatcher` subscribes to the checker service's `EventLog`; a checker
  transition becomes a real server mail once the real server's resulting state is known (the
  pool records the checker event before it updates the real server, so the decision is taken
  on the next loop iteration); quorum events become virtual server mails. It also counts events
  by kind for the metrics.

Both only decide and `submit`; the `SmtpAlerter` sends in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from pykeepalived.checkers.dataplane import format_rs, format_vs
from pykeepalived.checkers.events import Event, EventKind
from pykeepalived.config.model import Config
from pykeepalived.notify.smtp import (
    CheckerAlertRules,
    MailSettings,
    SmtpAlerter,
    VrrpAlertRules,
)

log = logging.getLogger(__name__)

VRRP_POLL_S = 0.1
_QUORUM_RE = re.compile(r"(\d+)[+-](\d+)=(-?\d+) (?:<=|>) (-?\d+)")


class StatusSource(Protocol):
    def status(self) -> dict[str, Any]: ...


def quorum_mail_body(detail: str) -> str:
    """keepalived's quorum mail body from the pool's log text (``Lost quorum 2-0=2 > 1`` ->
    ``=> Lost quorum 2+0=2 <= 1 <=``: the mail always uses ``+`` and ``<=``)."""
    m = _QUORUM_RE.search(detail)
    if m is None:
        return f"=> {detail} <="
    words = detail[: m.start()].strip()
    quorum, hyst, threshold, weight = m.groups()
    return f"=> {words} {quorum}+{hyst}={threshold} <= {weight} <="


class VrrpStateWatcher:
    """Mails VRRP instance transitions seen in the service's status."""

    def __init__(
        self, source: StatusSource, alerter: SmtpAlerter, config: Config, settings: MailSettings
    ) -> None:
        self.source = source
        self.alerter = alerter
        self.settings = settings
        self.rules = VrrpAlertRules(no_email_faults=config.global_defs.no_email_faults)
        self._enabled: dict[str, bool] = {}
        self._states: dict[str, str] = {}
        self._task: asyncio.Task[None] | None = None
        self.set_config(config)

    def set_config(self, config: Config) -> None:
        self._enabled = {i.name: i.smtp_alert for i in config.vrrp.instances}
        self.rules.no_email_faults = config.global_defs.no_email_faults

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="vrrp-alerts")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def shutdown_mails(self) -> None:
        for name in self._states:
            self._mail(name, "STOP")

    def poll(self) -> None:
        try:
            instances = self.source.status().get("instances", [])
        except Exception:
            log.exception("cannot read VRRP status for alerts")
            return
        for inst in instances:
            name = str(inst.get("name", ""))
            state = str(inst.get("state", "INIT"))
            if self._states.get(name) != state:
                self._states[name] = state
                self._mail(name, state)

    def _mail(self, name: str, state: str) -> None:
        alert = self.rules.instance(
            self.settings.router_id, name, state, enabled=self._enabled.get(name, False)
        )
        self.alerter.submit(alert)

    async def _run(self) -> None:
        while True:
            self.poll()
            await asyncio.sleep(VRRP_POLL_S)


class CheckerEventWatcher:
    """Counts checker events and mails real/virtual server changes."""

    def __init__(
        self,
        alerter: SmtpAlerter | None,
        config: Config,
        settings: MailSettings | None,
        rs_alive_lookup: Callable[[str, str], bool | None],
    ) -> None:
        self.alerter = alerter
        self.settings = settings
        self.counts: Counter[str] = Counter()
        self._lookup = rs_alive_lookup
        self._alive: dict[tuple[str, str], bool] = {}
        self._rs_alert: dict[tuple[str, str], bool] = {}
        self._vs_alert: dict[str, bool] = {}
        self.rules = CheckerAlertRules(no_checker_emails=config.global_defs.no_checker_emails)
        self.set_config(config)

    def set_config(self, config: Config) -> None:
        self.rules.no_checker_emails = config.global_defs.no_checker_emails
        self._vs_alert = {}
        self._rs_alert = {}
        for vs in config.lvs.virtual_servers:
            label = format_vs(vs)
            self._vs_alert[label] = vs.smtp_alert
            for rs in vs.real_servers:
                self._rs_alert[(label, format_rs(rs.address, rs.port, vs))] = rs.smtp_alert

    def counters(self) -> dict[str, int]:
        return dict(self.counts)

    def on_event(self, event: Event) -> None:
        self.counts[event.kind.value] += 1
        key = (event.vs, event.rs)
        if event.kind in (EventKind.RS_UP, EventKind.RS_DOWN):
            self._alive[key] = event.kind is EventKind.RS_UP
            return
        if self.alerter is None or self.settings is None:
            return
        if event.kind in (EventKind.CHECKER_UP, EventKind.CHECKER_DOWN):
            was_alive = self._alive.get(key)
            if was_alive is None:
                was_alive = bool(self._lookup(event.vs, event.rs))
                self._alive[key] = was_alive
            asyncio.get_running_loop().call_soon(self._checker_mail, event, was_alive)
        elif event.kind in (EventKind.QUORUM_UP, EventKind.QUORUM_DOWN):
            up = event.kind is EventKind.QUORUM_UP
            alert = self.rules.quorum_changed(
                self.settings.router_id,
                vs=event.vs,
                up=up,
                body=quorum_mail_body(event.detail),
                enabled=self._vs_alert.get(event.vs, False),
            )
            self.alerter.submit(alert)

    def _checker_mail(self, event: Event, was_alive: bool) -> None:
        assert self.alerter is not None and self.settings is not None
        key = (event.vs, event.rs)
        alive = self._alive.get(key, was_alive)
        kind = event.checker.rsplit(":", 1)[-1] if event.checker else ""
        alert = self.rules.checker_changed(
            self.settings.router_id,
            vs=event.vs,
            rs=event.rs,
            checker_kind=kind,
            checker_up=event.kind is EventKind.CHECKER_UP,
            rs_was_alive=was_alive,
            rs_alive=alive,
            enabled=self._rs_alert.get(key, True),
            detail=event.detail,
        )
        self.alerter.submit(alert)


def rs_alive_from_status(status: Mapping[str, Any], vs: str, rs: str) -> bool | None:
    """Find a real server's ``alive`` in a checker service's status."""
    for v in status.get("virtual_servers", ()):
        if v.get("service") != vs:
            continue
        for r in v.get("real_servers", ()):
            if r.get("dest") == rs:
                return bool(r.get("alive"))
    return None
