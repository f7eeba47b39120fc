"""Tracking arithmetic of keepalived 2.2.7 (``vrrp_track.c``), pure.

An instance tracks interfaces, ``vrrp_script`` results, ``track_file`` values and
``vrrp_track_process`` quorums, each with a weight (and ``reverse``). This module turns the
current value of every tracked object into what the state machine needs: the *total priority*
(base priority plus the contributions; the machine clamps it to 1..254 and leaves an address
owner alone), the set of faults, and whether a weight-0 script has not reported yet.

Contributions (``initialise_*_tracking_priorities()`` and the update functions):

* A boolean tracker (interface up, script OK, process quorum met) of weight ``w`` and
  multiplier ``m`` (-1 with ``reverse``) adds ``w*m`` while up if ``w > 0`` and ``w*m`` while down
  if ``w < 0``; nothing otherwise. With ``w == 0`` it is a fault when ``up != (m == 1)``.
* A tracked file holding ``v`` (clamped to -254..254) contributes ``v*w*m`` clamped to
  -254..253; -254 (or less) is a fault. With ``w == 0`` any non-zero value is a fault (or, with
  ``reverse``, a zero value).
* A script that has not reported yet contributes nothing; with weight 0 it holds the instance
  in FAULT without a notify ("init pending").

:class:`ScriptResult` is the rise/fall counter of one ``vrrp_script``
(``vrrp_script_child_thread()``): the state starts "one success away from OK"
(``result = rise - 1``) or, with ``init_fail``, failed; only a change of the reported state is
announced.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "FILE_FAULT",
    "InstanceTracking",
    "ScriptResult",
    "ScriptStatus",
    "TrackKind",
    "TrackRef",
    "TrackingResult",
    "bool_contribution",
    "bool_fault",
    "clamp_priority",
    "file_status",
]

PRIO_OWNER = 255
FILE_FAULT = -254
"""A tracked file status at or below this puts the instance in FAULT."""
_FILE_VALUE_MAX = 254


class TrackKind(enum.StrEnum):
    """What is tracked."""

    INTERFACE = "interface"
    SCRIPT = "script"
    FILE = "file"
    PROCESS = "process"


@dataclass(frozen=True)
class TrackRef:
    """One tracking entry of an instance (or of its sync group): kind, name, weight, reverse."""

    kind: TrackKind
    name: str
    weight: int = 0
    reverse: bool = False

    @property
    def key(self) -> tuple[TrackKind, str]:
        return (self.kind, self.name)

    @property
    def fault_reason(self) -> str:
        """The fault name given to the state machine when this entry fails."""
        if self.kind is TrackKind.INTERFACE:
            return f"interface {self.name} down"
        return f"track_{self.kind.value} {self.name}"


class ScriptStatus(enum.Enum):
    """The reported state of a ``vrrp_script``."""

    INIT = "init"
    """Not reported yet."""
    OK = "ok"
    FAILED = "failed"


def clamp_priority(base: int, total: int) -> int:
    """``vrrp_set_effective_priority()``: owner untouched, others clamped to 1..254."""
    if base == PRIO_OWNER:
        return PRIO_OWNER
    return min(max(total, 1), PRIO_OWNER - 1)


def bool_contribution(weight: int, reverse: bool, up: bool) -> int:
    """What a boolean tracker adds to the total priority."""
    mult = -1 if reverse else 1
    if up:
        return weight * mult if weight > 0 else 0
    return weight * mult if weight < 0 else 0


def bool_fault(weight: int, reverse: bool, up: bool) -> bool:
    """A weight-0 boolean tracker in the failing direction puts the instance in FAULT."""
    return weight == 0 and up != (not reverse)


def file_status(weight: int, reverse: bool, value: int) -> int:
    """A tracked file's status for one instance: a priority delta, or <= FILE_FAULT."""
    value = max(-_FILE_VALUE_MAX, min(_FILE_VALUE_MAX, value))
    if weight == 0:
        failing = value != 0
        return FILE_FAULT if failing != reverse else 0
    status = value * weight * (-1 if reverse else 1)
    return max(FILE_FAULT, min(PRIO_OWNER - 2, status))


class ScriptResult:
    """Rise/fall bookkeeping of one ``vrrp_script`` (keepalived's ``result`` counter).

    ``result`` runs from 0 to ``rise + fall - 1``; the script is OK from ``rise`` up.
    """

    def __init__(self, rise: int = 1, fall: int = 1, *, init_fail: bool = False) -> None:
        if rise < 1 or fall < 1:
            raise ValueError("rise and fall must be at least 1")
        self.rise = rise
        self.fall = fall
        self.result = 0 if init_fail else rise - 1
        self.status = ScriptStatus.FAILED if init_fail else ScriptStatus.INIT

    def record(self, success: bool) -> ScriptStatus | None:
        """One run ended; return the new reported status when it changed (else None)."""
        top = self.rise + self.fall - 1
        if success:
            if self.result < self.rise - 1:
                self.result += 1
                return None
            was_ok = self.status is ScriptStatus.OK
            self.result = top
            if was_ok:
                return None
            self.status = ScriptStatus.OK
            return self.status
        if self.result > self.rise:
            self.result -= 1
            return None
        changed = self.status is not ScriptStatus.FAILED
        self.result = 0
        self.status = ScriptStatus.FAILED
        return self.status if changed else None


@dataclass(frozen=True)
class TrackingResult:
    """What tracking tells the state machine: total priority, faults, pending init."""

    total_priority: int
    faults: frozenset[str]
    init_pending: bool


Value = bool | int | ScriptStatus
"""Interface/process: up (bool); file: the value read (int); script: its status."""


class InstanceTracking:
    """The tracking entries of one instance and the latest value of each tracked object."""

    def __init__(self, base_priority: int, refs: Iterable[TrackRef]) -> None:
        self.base_priority = base_priority
        self.refs: tuple[TrackRef, ...] = tuple(refs)
        self._values: dict[tuple[TrackKind, str], Value] = {}

    def tracks(self, kind: TrackKind, name: str) -> bool:
        return any(r.key == (kind, name) for r in self.refs)

    def set(self, kind: TrackKind, name: str, value: Value) -> bool:
        """Record a new value; True if this instance tracks that object."""
        if not self.tracks(kind, name):
            return False
        self._values[(kind, name)] = value
        return True

    def update(self, values: Mapping[tuple[TrackKind, str], Value]) -> None:
        for (kind, name), value in values.items():
            self.set(kind, name, value)

    def value(self, kind: TrackKind, name: str) -> Value | None:
        return self._values.get((kind, name))

    def result(self) -> TrackingResult:
        """Total priority, faults and pending init for the current values."""
        total = self.base_priority
        faults: set[str] = set()
        pending = False
        owner = self.base_priority == PRIO_OWNER
        for ref in self.refs:
            value = self._values.get(ref.key)
            delta = 0
            if ref.kind is TrackKind.SCRIPT:
                status = value if isinstance(value, ScriptStatus) else ScriptStatus.INIT
                if status is ScriptStatus.INIT:
                    pending = pending or ref.weight == 0
                    continue
                up = status is ScriptStatus.OK
                if bool_fault(ref.weight, ref.reverse, up):
                    faults.add(ref.fault_reason)
                delta = bool_contribution(ref.weight, ref.reverse, up)
            elif ref.kind is TrackKind.FILE:
                number = value if isinstance(value, int) and not isinstance(value, bool) else 0
                status_ = file_status(ref.weight, ref.reverse, number)
                if status_ <= FILE_FAULT:
                    faults.add(ref.fault_reason)
                else:
                    delta = status_
            else:
                up = bool(value) if value is not None else False
                if bool_fault(ref.weight, ref.reverse, up):
                    faults.add(ref.fault_reason)
                delta = bool_contribution(ref.weight, ref.reverse, up)
            if not owner:
                total += delta
        return TrackingResult(total, frozenset(faults), pending)
