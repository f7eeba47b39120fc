"""Real servers of one virtual server: checker verdicts → alive state → data plane, notifies.

This is keepalived's ipwrapper.c logic (``update_svr_checker_state()``,
``perform_svr_state()``, ``update_svr_wgt()``, ``update_quorum_state()``, the sorry server and
``inhibit_on_failure``) as a pure object: no I/O, no clock reads. Its effects go to a
`DataPlane`, an `Effects` sink (scripts to run, FIFO lines to write) and an `EventLog`.

A real server is alive only when none of its checkers is down. With ``inhibit_on_failure`` a
dead real server stays in the data plane with weight 0 instead of being removed. Its
effective weight is its configured weight (replaced by a MISC_CHECK ``misc_dynamic`` result)
plus what its FILE_CHECKs add; the data plane gets it clamped to 0..INT32_MAX.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pykeepalived.checkers.dataplane import DataPlane, Destination, ServiceKey, format_rs
from pykeepalived.checkers.events import Event, EventKind, EventLog
from pykeepalived.checkers.quorum import (
    QuorumChange,
    QuorumDecision,
    decide,
    initial_state,
    real_weight,
)
from pykeepalived.checkers.rise_fall import CheckerStatus
from pykeepalived.config.model.common import Script
from pykeepalived.config.model.lvs import AddressService, RealServer, SorryServer, VirtualServer
from pykeepalived.notify import fifo

log = logging.getLogger(__name__)


class Effects(Protocol):
    """Where notifications go (the service runs scripts and writes FIFO lines)."""

    def run_script(self, script: Script, *, stopping: bool = False) -> None: ...

    def fifo_line(self, line: bytes) -> None: ...


class RecordingEffects:
    """An `Effects` that only records (tests, dry runs)."""

    def __init__(self) -> None:
        self.scripts: list[tuple[str, ...]] = []
        self.lines: list[bytes] = []

    def run_script(self, script: Script, *, stopping: bool = False) -> None:
        self.scripts.append(script.argv)

    def fifo_line(self, line: bytes) -> None:
        self.lines.append(line)


@dataclass
class CheckerSlot:
    """A checker as its real server sees it: its status and a name for events."""

    name: str
    status: CheckerStatus
    alpha: bool
    file_weight: int = 0  # FILE_CHECK: what the file currently adds to the weight


@dataclass
class RealServerState:
    """Runtime state of one real server (keepalived's ``real_server_t`` flags)."""

    config: RealServer | SorryServer
    dest: Destination
    label: str
    inhibit: bool
    base_weight: int
    alive: bool = False
    set: bool = False  # present in the data plane
    num_failed: int = 0
    checkers: list[CheckerSlot] = field(default_factory=list)

    @property
    def effective_weight(self) -> int:
        return self.base_weight + sum(c.file_weight for c in self.checkers)

    @property
    def weight(self) -> int:
        return real_weight(self.effective_weight)


class VirtualServerPool:
    """One virtual server with its real servers and sorry server."""

    def __init__(
        self,
        vs: VirtualServer,
        dataplane: DataPlane,
        effects: Effects,
        events: EventLog,
        now: Callable[[], float],
    ) -> None:
        self.vs = vs
        self.key = ServiceKey.of(vs)
        self.dataplane = dataplane
        self.effects = effects
        self.events = events
        self._now = now
        self.started = False
        self.quorum_up = True
        self.real_servers: list[RealServerState] = [self._rs_state(rs) for rs in vs.real_servers]
        self.sorry: RealServerState | None = None
        if vs.sorry_server is not None:
            ss = vs.sorry_server
            port = ss.port or _vs_port(vs)
            self.sorry = RealServerState(
                config=ss,
                dest=Destination(ss.address, port, ss.forwarding),
                label=format_rs(ss.address, port, vs),
                inhibit=ss.inhibit,
                base_weight=vs.weight,
            )

    def _rs_state(self, rs: RealServer) -> RealServerState:
        return RealServerState(
            config=rs,
            dest=Destination(rs.address, rs.port, rs.forwarding),
            label=format_rs(rs.address, rs.port, self.vs),
            inhibit=rs.inhibit_on_failure,
            base_weight=rs.weight,
        )

    # ---- set-up -------------------------------------------------------------------------
    def add_checker(self, rs_index: int, name: str, *, alpha: bool, retry: int) -> CheckerSlot:
        """Register a checker before `start` (alpha checkers count as failed from the start)."""
        rs = self.real_servers[rs_index]
        slot = CheckerSlot(name, CheckerStatus.initial(alpha=alpha, retry=retry), alpha)
        rs.checkers.append(slot)
        if alpha:
            rs.num_failed += 1
        return slot

    def add_failed_file_checker(self, rs_index: int, name: str) -> CheckerSlot:
        """A FILE_CHECK whose file reads as a fault at start."""
        rs = self.real_servers[rs_index]
        slot = CheckerSlot(name, CheckerStatus(is_up=False, has_run=True), False)
        rs.checkers.append(slot)
        rs.num_failed += 1
        return slot

    def start(self) -> None:
        """keepalived's ``set_quorum_states()`` + ``init_service_vs()``."""
        self.quorum_up = initial_state(self._live_weight(), self.vs.quorum, self.vs.hysteresis)
        self.dataplane.add_service(self.key, self.vs)
        for rs in self.real_servers:
            if rs.num_failed == 0 and not rs.alive:
                self._dp_add(rs)
                rs.alive = True
            elif rs.inhibit and not rs.set:
                self._dp_add(rs, 0)
        self._update_quorum(init=True)
        if self.sorry is not None and self.sorry.inhibit and not self.sorry.set:
            self.dataplane.add_destination(self.key, self.sorry.dest, 0)
            self.sorry.set = True
        self.started = True

    def stop(self) -> None:
        """``clear_service_vs(stopping)``: remove everything; notifies only with ``omega``."""
        if self.sorry is not None and self.sorry.set:
            self.dataplane.remove_destination(self.key, self.sorry.dest)
            self.sorry.set = False
            self.sorry.alive = False
        for rs in self.real_servers:
            if not rs.set:
                continue
            self.dataplane.remove_destination(self.key, rs.dest)
            rs.set = False
            if not rs.alive:
                continue
            rs.alive = False
            if self.vs.omega:
                self._rs_notifies(rs, stopping=True)
        if self.vs.omega:
            limit = self.vs.quorum - self.vs.hysteresis
            self.quorum_up = False
            self._vs_notifies(
                QuorumDecision(QuorumChange.LOST, limit, self._live_weight(), False),
                stopping=True,
            )
        self.dataplane.remove_service(self.key)
        self.started = False

    # ---- checker verdicts ----------------------------------------------------------------
    def update_checker(
        self, rs_index: int, slot: CheckerSlot, alive: bool, *, reason: str = "", detail: str = ""
    ) -> None:
        """keepalived's ``update_svr_checker_state()``."""
        rs = self.real_servers[rs_index]
        st = slot.status
        if st.is_up == alive:
            if not st.has_run:
                if slot.alpha or not alive:
                    self._rs_notifies(rs)
                st.has_run = True
            return
        st.has_run = True
        self._event(
            EventKind.CHECKER_UP if alive else EventKind.CHECKER_DOWN,
            rs,
            checker=slot.name,
            reason=reason,
            detail=detail,
        )
        if alive:
            if rs.num_failed <= 1:
                self._perform_svr_state(rs, True, reason)
        elif rs.num_failed == 0:
            self._perform_svr_state(rs, False, reason)
        self._set_checker_state(rs, slot, alive)

    def set_weight(self, rs_index: int, weight: int, *, update_quorum: bool = True) -> None:
        """``update_svr_wgt()``: a new base weight (MISC_CHECK misc_dynamic)."""
        rs = self.real_servers[rs_index]
        old = rs.weight
        rs.base_weight = weight
        self._weight_changed(rs, old, update_quorum=update_quorum)

    def file_status(
        self, rs_index: int, slot: CheckerSlot, previous: int | None, new: int | None
    ) -> None:
        """A FILE_CHECK's contribution changed; ``None`` means FAULT.

        (``process_update_checker_track_file_status()``.)
        """
        if previous == new:
            return
        rs = self.real_servers[rs_index]
        if new is None:
            slot.file_weight = 0
            self.update_checker(rs_index, slot, False, reason="file_fault")
        elif previous is None:
            slot.file_weight = new
            self.update_checker(rs_index, slot, True, reason="file_ok")
        else:
            old = rs.weight
            slot.file_weight = new
            self._weight_changed(rs, old, update_quorum=True)

    # ---- internals --------------------------------------------------------------------------
    def _weight_changed(self, rs: RealServerState, old: int, *, update_quorum: bool) -> None:
        new = rs.weight
        if new == old:
            return
        self._event(EventKind.RS_WEIGHT, rs, detail=f"{old} -> {new}", extra={"weight": new})
        if rs.set and rs.alive and self._may_touch_rs():
            self.dataplane.set_weight(self.key, rs.dest, new)
        if update_quorum:
            self._update_quorum(init=False)

    def _set_checker_state(self, rs: RealServerState, slot: CheckerSlot, up: bool) -> None:
        if slot.status.is_up == up:
            return
        slot.status.is_up = up
        if not up:
            rs.num_failed += 1
        elif rs.num_failed:
            rs.num_failed -= 1

    def _may_touch_rs(self) -> bool:
        return self.quorum_up or self.sorry is None or not self.sorry.alive

    def _perform_svr_state(self, rs: RealServerState, alive: bool, reason: str) -> None:
        if rs.alive == alive:
            return
        if self._may_touch_rs():
            if alive:
                self._dp_add(rs)
            else:
                self._dp_del(rs)
        rs.alive = alive
        self._event(EventKind.RS_UP if alive else EventKind.RS_DOWN, rs, reason=reason)
        self._rs_notifies(rs)
        self._update_quorum(init=False)

    def _dp_add(self, rs: RealServerState, weight: int | None = None) -> None:
        """LVS_CMD_ADD_DEST: an inhibited destination that is still present is re-weighted."""
        if weight is None:
            weight = rs.weight
        if rs.set:
            self.dataplane.set_weight(self.key, rs.dest, weight)
        else:
            self.dataplane.add_destination(self.key, rs.dest, weight)
            rs.set = True

    def _dp_del(self, rs: RealServerState) -> None:
        """LVS_CMD_DEL_DEST: with inhibit_on_failure the weight goes to 0 instead."""
        if not rs.set:
            return
        if rs.inhibit:
            self.dataplane.set_weight(self.key, rs.dest, 0)
        else:
            self.dataplane.remove_destination(self.key, rs.dest)
            rs.set = False

    def _live_weight(self) -> int:
        return sum(rs.weight for rs in self.real_servers if rs.alive)

    def _update_quorum(self, *, init: bool) -> None:
        sorry = self.sorry
        decision = decide(
            up=self.quorum_up,
            weight_sum=self._live_weight(),
            quorum=self.vs.quorum,
            hysteresis=self.vs.hysteresis,
            init=init,
            sorry_server=sorry is not None,
            sorry_alive=sorry is not None and sorry.alive,
        )
        if decision is None:
            return
        if decision.change is QuorumChange.GAINED:
            self.quorum_up = True
            self._event(
                EventKind.QUORUM_UP,
                None,
                detail=decision.message(self.vs.quorum, self.vs.hysteresis),
            )
            if sorry is not None and sorry.alive:
                self._perform_quorum_state(add=True)
                self._event(EventKind.SORRY_SERVER_OUT, sorry)
                self._sorry_out(sorry)
        else:
            self.quorum_up = False
            self._event(
                EventKind.QUORUM_DOWN,
                None,
                detail=decision.message(self.vs.quorum, self.vs.hysteresis),
            )
            if sorry is not None and not sorry.alive:
                self._event(EventKind.SORRY_SERVER_IN, sorry)
                self._perform_quorum_state(add=False)
                if sorry.set:
                    self.dataplane.set_weight(self.key, sorry.dest, sorry.weight)
                else:
                    self.dataplane.add_destination(self.key, sorry.dest, sorry.weight)
                    sorry.set = True
                sorry.alive = True
        self._vs_notifies(decision)

    def _sorry_out(self, sorry: RealServerState) -> None:
        if sorry.inhibit:
            self.dataplane.set_weight(self.key, sorry.dest, 0)
        else:
            self.dataplane.remove_destination(self.key, sorry.dest)
            sorry.set = False
        sorry.alive = False

    def _perform_quorum_state(self, *, add: bool) -> None:
        for rs in self.real_servers:
            if not rs.alive:
                continue
            if add:
                self._dp_add(rs)
            else:
                self._dp_del(rs)

    def _rs_notifies(self, rs: RealServerState, *, stopping: bool = False) -> None:
        config = rs.config
        if isinstance(config, RealServer):
            script = config.notify_up if rs.alive else config.notify_down
            if script is not None:
                self.effects.run_script(script, stopping=stopping)
        self.effects.fifo_line(fifo.rs_line(rs.label, self.key.text, rs.alive))

    def _vs_notifies(self, decision: QuorumDecision, *, stopping: bool = False) -> None:
        if stopping and not self.vs.omega:
            return
        script = self.vs.quorum_up if self.quorum_up else self.vs.quorum_down
        if script is not None:
            self.effects.run_script(script, stopping=stopping)
        self.effects.fifo_line(fifo.vs_line(self.key.text, self.quorum_up))

    def _event(
        self,
        kind: EventKind,
        rs: RealServerState | None,
        *,
        checker: str = "",
        reason: str = "",
        detail: str = "",
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.events.record(
            Event(
                self._now(),
                kind,
                self.key.text,
                rs.label if rs is not None else "",
                checker,
                reason,
                detail,
                extra or {},
            )
        )

    # ---- status --------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        return {
            "service": self.key.text,
            "quorum_up": self.quorum_up,
            "quorum": self.vs.quorum,
            "hysteresis": self.vs.hysteresis,
            "live_weight": self._live_weight(),
            "sorry_server": None
            if self.sorry is None
            else {"dest": self.sorry.label, "active": self.sorry.alive},
            "real_servers": [
                {
                    "dest": rs.label,
                    "alive": rs.alive,
                    "in_dataplane": rs.set,
                    "weight": rs.weight,
                    # what the data plane holds: 0 while inhibit_on_failure keeps it down
                    "lvs_weight": (rs.weight if rs.alive else 0) if rs.set else None,
                    "failed_checkers": rs.num_failed,
                    "checkers": [
                        {"name": c.name, "up": c.status.is_up, "has_run": c.status.has_run}
                        for c in rs.checkers
                    ],
                }
                for rs in self.real_servers
            ],
        }


def _vs_port(vs: VirtualServer) -> int:
    return vs.service.port if isinstance(vs.service, AddressService) else 0
