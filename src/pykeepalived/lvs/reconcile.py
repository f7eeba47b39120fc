"""Keep a kernel table equal to the desired state, touching only what changed.

`Reconciler` runs at start (after an optional ``lvs_flush``), after each checker transition
and on reload: it diffs what it last programmed against the new desired state and applies the
minimal operations. It remembers what it created, so at stop it removes only that (services
it added, or the destinations it added to a service that already existed), unless
``lvs_flush_on_stop`` asks for more (``full``: the whole table; ``VS``: every configured
virtual service).

`DataPlaneAdapter` is the checkers' `DataPlane`: each add/remove/set-weight call updates its
copy of the desired state for that one service and reconciles just that service, so a checker
transition costs exactly the kernel operations it implies (one for a weight change).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pykeepalived.checkers.dataplane import Destination, ServiceKey
from pykeepalived.config.model.lvs import LvsConfig, VirtualServer
from pykeepalived.lvs.backend import Backend, BackendError, UnsupportedError
from pykeepalived.lvs.diff import (
    AddDest,
    AddService,
    DelDest,
    DelService,
    Op,
    apply,
    diff,
    diff_service,
)
from pykeepalived.lvs.model import (
    Dest,
    DestId,
    LvsState,
    Service,
    ServiceId,
    expand_service_ids,
    service_attrs,
)

log = logging.getLogger(__name__)

__all__ = ["DataPlaneAdapter", "FlushOnStop", "Reconciler", "SyncResult"]

FlushOnStop = str | None  # None, "VS" or "full" (global_defs lvs_flush_on_stop)


@dataclass(frozen=True)
class SyncResult:
    """What one reconciliation did: the operations, the kernel operations, the time taken."""

    ops: tuple[Op, ...] = ()
    kernel_ops: int = 0
    elapsed_s: float = 0.0


@dataclass
class Reconciler:
    """Drives one `Backend` towards successive desired states."""

    backend: Backend
    flush_at_start: bool = False
    flush_on_stop: FlushOnStop = None
    _services: dict[ServiceId, Service] = field(default_factory=dict)
    _snapshot: LvsState | None = None
    created: set[ServiceId] = field(default_factory=set)
    added_dests: dict[ServiceId, set[DestId]] = field(default_factory=dict)
    managed: set[ServiceId] = field(default_factory=set)
    started: bool = False

    @property
    def current(self) -> LvsState:
        """What we have programmed (and adopted)."""
        if self._snapshot is None:
            self._snapshot = LvsState.of(self._services.values())
        return self._snapshot

    @current.setter
    def current(self, state: LvsState) -> None:
        self._services = state.service_map()
        self._snapshot = state

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self, desired: LvsState) -> SyncResult:
        """Check the state, optionally flush, adopt what exists, then program ``desired``."""
        self.check(desired)
        if self.flush_at_start:
            self.backend.flush()
        kernel = self.backend.read()
        want = desired.service_map()
        # adopt the services of the desired state that already exist; ignore foreign ones
        self.current = LvsState.of(s for s in kernel if s.id in want)
        self.started = True
        return self.sync(desired)

    def check(self, desired: LvsState) -> None:
        problems = self.backend.check(desired)
        if problems:
            raise UnsupportedError(problems)

    def sync(self, desired: LvsState) -> SyncResult:
        """Apply the difference between what we programmed and ``desired``."""
        t0 = time.perf_counter()
        self.check(desired)
        ops = diff(self.current, desired)
        return self._apply(ops, t0)

    def sync_service(self, sid: ServiceId, desired: Service | None) -> SyncResult:
        """Reconcile one service only (the others are left alone)."""
        t0 = time.perf_counter()
        if desired is not None:
            self.check(LvsState((desired,)))
        ops = diff_service(self._services.get(sid), desired)
        return self._apply(ops, t0, single=sid)

    def stop(self) -> SyncResult:
        """Remove what we created (or more, as ``lvs_flush_on_stop`` says)."""
        t0 = time.perf_counter()
        if self.flush_on_stop == "full":
            self.backend.flush()
            self.current = LvsState()
            self._forget()
            return SyncResult((), 1, time.perf_counter() - t0)
        ops: list[Op] = []
        for svc in self.current:
            if self.flush_on_stop == "VS" or svc.id in self.created:
                ops.append(DelService(svc.id))
            else:
                mine = self.added_dests.get(svc.id, set())
                ops.extend(DelDest(svc.id, d.id) for d in svc.dests if d.id in mine)
        result = self._apply(ops, t0)
        self._forget()
        return result

    def _forget(self) -> None:
        self.created.clear()
        self.added_dests.clear()
        self.managed.clear()
        self.started = False

    # ---- internals ----------------------------------------------------------------------------
    def _apply(self, ops: Sequence[Op], t0: float, single: ServiceId | None = None) -> SyncResult:
        if not ops:
            return SyncResult((), 0, time.perf_counter() - t0)
        kernel_ops = self.backend.apply(ops)
        if single is None:
            self.current = apply(self.current, ops)
        else:  # only this service changed: update it alone
            old = self._services.get(single)
            after = apply(LvsState(() if old is None else (old,)), ops).services
            if after:
                self._services[single] = after[0]
            else:
                self._services.pop(single, None)
            self._snapshot = None
        for op in ops:
            if isinstance(op, AddService):
                self.created.add(op.id)
                self.managed.add(op.id)
            elif isinstance(op, DelService):
                self.created.discard(op.id)
                self.added_dests.pop(op.id, None)
                self.managed.discard(op.id)
            elif isinstance(op, AddDest):
                self.added_dests.setdefault(op.service, set()).add(op.dest.id)
            elif isinstance(op, DelDest):
                self.added_dests.get(op.service, set()).discard(op.dest)
        elapsed = time.perf_counter() - t0
        log.debug("reconciled %d ops (%d kernel ops) in %.3f s", len(ops), kernel_ops, elapsed)
        return SyncResult(tuple(ops), kernel_ops, elapsed)


# ---- the checkers' DataPlane --------------------------------------------------------------------


@dataclass
class _Entry:
    vs: VirtualServer
    sids: list[ServiceId]
    dests: dict[DestId, Dest] = field(default_factory=dict)
    refused: bool = False  # the backend refused it; reported once


class DataPlaneAdapter:
    """`pykeepalived.checkers.dataplane.DataPlane` on top of a `Reconciler`.

    A virtual server may be several kernel services (a group); every call is mirrored on
    each. Thresholds come from the matching ``real_server`` of the config.
    """

    def __init__(self, reconciler: Reconciler, config: LvsConfig) -> None:
        self.reconciler = reconciler
        self.config = config
        self._entries: dict[str, _Entry] = {}
        self.results: list[SyncResult] = []
        self.errors = 0

    @property
    def kernel_ops(self) -> int:
        return sum(r.kernel_ops for r in self.results)

    def _service(self, entry: _Entry, sid: ServiceId) -> Service:
        dests: list[Dest] = []
        for dest in entry.dests.values():
            if sid.is_fwmark:
                dest = Dest(DestId(dest.id.address, 0), dest.weight, dest.forwarding,
                            dest.u_threshold, dest.l_threshold, dest.location)  # fmt: skip
            elif not dest.id.port and sid.port:
                dest = Dest(DestId(dest.id.address, sid.port), dest.weight, dest.forwarding,
                            dest.u_threshold, dest.l_threshold, dest.location)  # fmt: skip
            dests.append(dest)
        return Service(sid, service_attrs(entry.vs, sid.family), tuple(dests), entry.vs.location)

    def _sync(self, entry: _Entry) -> None:
        """Program the entry's services; a refusal or kernel error is logged, never raised."""
        for sid in entry.sids:
            try:
                self.results.append(self.reconciler.sync_service(sid, self._service(entry, sid)))
            except UnsupportedError as exc:
                if not entry.refused:
                    entry.refused = True
                    for diag in exc.diagnostics:
                        log.error("%s - not programmed", diag.format())
            except BackendError as exc:
                self.errors += 1
                log.error("programming %s failed: %s", sid, exc)

    def close(self, *, release: bool) -> None:
        """Stop: remove what we created (per lvs_flush_on_stop) unless told to keep it (-I)."""
        try:
            if release and self.reconciler.started:
                self.results.append(self.reconciler.stop())
        except BackendError as exc:
            log.error("removing the virtual servers failed: %s", exc)
        finally:
            self.reconciler.backend.close()

    def _dest(self, vs: VirtualServer, dest: Destination, weight: int) -> Dest:
        uth = lth = 0
        location = vs.location
        for rs in vs.real_servers:
            if rs.address == dest.address and rs.port == dest.port:
                uth, lth, location = rs.uthreshold, rs.lthreshold, rs.location
                break
        return Dest(DestId(dest.address, dest.port), weight, dest.forwarding, uth, lth, location)

    # ---- DataPlane ------------------------------------------------------------------------------
    def add_service(self, service: ServiceKey, vs: VirtualServer) -> None:
        entry = _Entry(vs, expand_service_ids(vs, self.config))
        self._entries[service.text] = entry
        self._sync(entry)

    def remove_service(self, service: ServiceKey) -> None:
        entry = self._entries.pop(service.text, None)
        if entry is None:
            return
        for sid in entry.sids:
            self.results.append(self.reconciler.sync_service(sid, None))

    def add_destination(self, service: ServiceKey, dest: Destination, weight: int) -> None:
        entry = self._entries[service.text]
        d = self._dest(entry.vs, dest, weight)
        entry.dests[d.id] = d
        self._sync(entry)

    def remove_destination(self, service: ServiceKey, dest: Destination) -> None:
        entry = self._entries.get(service.text)
        if entry is None:
            return
        if entry.dests.pop(DestId(dest.address, dest.port), None) is not None:
            self._sync(entry)

    def set_weight(self, service: ServiceKey, dest: Destination, weight: int) -> None:
        entry = self._entries[service.text]
        key = DestId(dest.address, dest.port)
        old = entry.dests.get(key)
        entry.dests[key] = (
            old.with_weight(weight) if old is not None else self._dest(entry.vs, dest, weight)
        )
        self._sync(entry)

    def desired(self) -> Mapping[str, list[Service]]:
        """The desired services per virtual server key."""
        return {k: [self._service(e, s) for s in e.sids] for k, e in self._entries.items()}
