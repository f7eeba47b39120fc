"""Sync-group coordination as keepalived 2.2.7 does it (``vrrp_sync.c``), pure.

Members of a ``vrrp_sync_group`` move together:

* a member whose down timer expired *wants* MASTER (:class:`~pykeepalived.vrrp.fsm.MasterWanted`)
  but goes there only when every other member wants MASTER too, or the group is already
  MASTER (``vrrp_sync_can_goto_master()``); then every member in BACKUP is forced to MASTER
  (``vrrp_sync_master()``);
* a member leaving MASTER for BACKUP takes the others with it (``vrrp_sync_backup()``);
* a fault of its own in any member puts every member in FAULT (``vrrp_sync_fault()``); when the
  last such fault clears, all leave FAULT together;
* the group state (for the group notifies: ``GROUP "G" STATE 0``) is FAULT if any member is in
  FAULT, MASTER if any is MASTER, else BACKUP; a notify is due when it changes.

:class:`SyncGroupCoordinator` is fed what members report (their state, wanted state, own
faults) and answers with (member, event) pairs for the driver to feed back into the members'
state machines, plus the group state changes to notify.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pykeepalived.vrrp.fsm import (
    Event,
    FaultOff,
    FaultOn,
    ForceBackup,
    ForceMaster,
    SendLowerPrioGarp,
    State,
)

__all__ = ["GroupOutput", "MemberView", "SyncGroupCoordinator", "group_fault_reason"]


def group_fault_reason(group: str) -> str:
    """The fault name members get while another member of ``group`` is faulty."""
    return f"sync group {group} fault"


@dataclass(frozen=True)
class MemberView:
    """What the coordinator needs to know of one member right now."""

    state: State
    want_state: State


@dataclass(frozen=True)
class GroupOutput:
    """Events for members (in order) and the new group state if it changed."""

    events: tuple[tuple[str, Event], ...] = ()
    group_state: State | None = None


class SyncGroupCoordinator:
    """One sync group: ``members`` are instance names."""

    def __init__(self, name: str, members: tuple[str, ...]) -> None:
        self.name = name
        self.members = members
        self.state: State = State.INIT
        self._faulty: set[str] = set()

    @property
    def fault_reason(self) -> str:
        return group_fault_reason(self.name)

    @property
    def faulty_members(self) -> frozenset[str]:
        return frozenset(self._faulty)

    # ---- inputs -------------------------------------------------------------------------

    def master_wanted(self, member: str, views: Mapping[str, MemberView]) -> GroupOutput:
        """``member``'s down timer expired: force the group master if all agree."""
        if self._faulty:
            return self._finish((), views)
        if self.state is not State.MASTER:
            for other in self.members:
                if other == member:
                    continue
                view = views.get(other)
                if view is None or (
                    view.want_state is not State.MASTER and view.state is not State.MASTER
                ):
                    return self._finish((), views)
        return self._finish(self._force(State.BACKUP, ForceMaster(), views), views)

    def member_changed(
        self,
        member: str,
        old: State,
        new: State,
        views: Mapping[str, MemberView],
    ) -> GroupOutput:
        """``member`` went from ``old`` to ``new``: propagate as keepalived's VRRP_TSM."""
        events: list[tuple[str, Event]] = []
        if new is State.MASTER and old is not State.MASTER and not self._faulty:
            events += self._force(State.BACKUP, ForceMaster(), views, skip=member)
        elif old is State.MASTER and new is State.BACKUP:
            events += self._force(State.MASTER, ForceBackup(), views, skip=member)
        return self._finish(tuple(events), views)

    def member_fault(
        self, member: str, own_fault: bool, views: Mapping[str, MemberView]
    ) -> GroupOutput:
        """``member`` has (or no longer has) a fault of its own."""
        was = bool(self._faulty)
        if own_fault:
            self._faulty.add(member)
        else:
            self._faulty.discard(member)
        now = bool(self._faulty)
        events: tuple[tuple[str, Event], ...] = ()
        if now and not was:
            events = tuple((m, FaultOn(self.fault_reason)) for m in self.members)
        elif was and not now:
            events = tuple((m, FaultOff(self.fault_reason)) for m in self.members)
        return self._finish(events, views)

    def lower_prio_heard(self, member: str, views: Mapping[str, MemberView]) -> GroupOutput:
        """A master member heard a lower-priority advert: the other masters re-send GARPs."""
        events = tuple(
            (m, SendLowerPrioGarp())
            for m in self.members
            if m != member and (v := views.get(m)) is not None and v.state is State.MASTER
        )
        return self._finish(events, views)

    def refresh(self, views: Mapping[str, MemberView]) -> GroupOutput:
        """Recompute the group state (e.g. after start)."""
        return self._finish((), views)

    # ---- helpers ------------------------------------------------------------------------

    def _force(
        self,
        in_state: State,
        event: Event,
        views: Mapping[str, MemberView],
        *,
        skip: str | None = None,
    ) -> list[tuple[str, Event]]:
        return [
            (m, event)
            for m in self.members
            if m != skip and (v := views.get(m)) is not None and v.state is in_state
        ]

    def _derive(self, views: Mapping[str, MemberView]) -> State:
        states = [v.state for m in self.members if (v := views.get(m)) is not None]
        if self._faulty or State.FAULT in states:
            return State.FAULT
        if State.MASTER in states:
            return State.MASTER
        if states and all(s is State.BACKUP for s in states):
            return State.BACKUP
        return self.state

    def _finish(
        self,
        events: tuple[tuple[str, Event], ...] | list[tuple[str, Event]],
        views: Mapping[str, MemberView],
    ) -> GroupOutput:
        new = self._derive(views)
        changed = new if new is not self.state else None
        self.state = new
        return GroupOutput(tuple(events), changed)

    def expected_state(self, views: Mapping[str, MemberView]) -> State:
        """The state the group will be in once ``views`` hold (no side effect)."""
        return self._derive(views)
