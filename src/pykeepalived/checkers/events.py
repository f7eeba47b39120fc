"""A structured log of every checker, real server and virtual server transition with its reason.

Events are kept in a bounded ring (the oldest are dropped and counted) and optionally handed
to a subscriber (the status API, tests). Each event is also logged at INFO.
"""

from __future__ import annotations

import enum
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

log = logging.getLogger(__name__)


class EventKind(enum.StrEnum):
    CHECKER_UP = "checker_up"
    CHECKER_DOWN = "checker_down"
    CHECKER_RETRY = "checker_retry"
    RS_UP = "rs_up"
    RS_DOWN = "rs_down"
    RS_WEIGHT = "rs_weight"
    QUORUM_UP = "quorum_up"
    QUORUM_DOWN = "quorum_down"
    SORRY_SERVER_IN = "sorry_server_in"
    SORRY_SERVER_OUT = "sorry_server_out"


@dataclass(frozen=True)
class Event:
    """One transition: ``when_s`` (monotonic), what, on which VS/RS/checker, and why."""

    when_s: float
    kind: EventKind
    vs: str
    rs: str = ""
    checker: str = ""
    reason: str = ""
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        return data


class EventLog:
    """Bounded, ordered event store."""

    def __init__(self, *, maxlen: int = 10000) -> None:
        self._events: deque[Event] = deque(maxlen=maxlen)
        self.dropped = 0
        self.total = 0
        self._subscribers: list[Callable[[Event], None]] = []

    def subscribe(self, callback: Callable[[Event], None]) -> None:
        self._subscribers.append(callback)

    def record(self, event: Event) -> None:
        if len(self._events) == self._events.maxlen:
            self.dropped += 1
        self._events.append(event)
        self.total += 1
        log.info(
            "%s vs=%s rs=%s checker=%s reason=%s %s",
            event.kind.value,
            event.vs,
            event.rs,
            event.checker,
            event.reason,
            event.detail,
        )
        for callback in self._subscribers:
            callback(event)

    def events(self, kind: EventKind | None = None) -> list[Event]:
        return [e for e in self._events if kind is None or e.kind is kind]

    def __len__(self) -> int:
        return len(self._events)
