"""Keep a kernel table equal to the desired state, touching only what changed.

`Reconciler` runs at start (after an optional ``lvs_flush``), after each checker transition
and on reload: it diffs what it last programmed against the new desired state and applies the
minimal operations. It remembers what it created, so at stop it removes only that, unless
``lvs_flush_on_stop`` asks for more (``full``: the whole table; ``VS``: every configured
virtual service).

Adoption (a service of the config already in the kernel at start: left by a crashed run, by
keepalived, or by hand). The rule, which is keepalived's as far as keepalived has one:

- the service is taken over, not re-created: its attributes are set to the config's;
- its destinations that are real servers (or the sorry server) of the config are kept as they
  are, without a gap, until the checkers have placed them: those the checkers add are
  re-weighted to the config if need be; those they do not want (a real server that starts
  down: ``alpha``, a failed FILE_CHECK) are removed once the checker start-up is over
  (`Reconciler.settle`, run by the data plane right after the checkers' start);
- its destinations that the config does not name are foreign: never touched (keepalived does
  not touch them either);
- at stop, the destinations we manage are removed, and the service itself only if nothing
  foreign is left in it (keepalived would delete the whole service). A virtual server removed
  by a reload is handled the same way.

Services of the kernel that the config does not name are never touched.

`DataPlaneAdapter` is the checkers' `DataPlane`: each add/remove/set-weight call updates its
copy of the desired state for that one service and reconciles just that service, so a checker
transition costs exactly the kernel operations it implies (one for a weight change).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
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
    configured_dests,
    expand_service_ids,
    service_attrs,
)
from pykeepalived.lvs.syncd import SyncDaemonManager

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
    #: services found in the kernel at start, not adopted (yet)
    found: dict[ServiceId, Service] = field(default_factory=dict)
    #: adopted services: destinations the config does not name (kept, never touched)
    foreign: dict[ServiceId, dict[DestId, Dest]] = field(default_factory=dict)
    #: adopted services: configured destinations kept until the checkers place them
    provisional: dict[ServiceId, dict[DestId, Dest]] = field(default_factory=dict)

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
    def start(
        self, desired: LvsState, configured: Mapping[ServiceId, AbstractSet[DestId]] | None = None
    ) -> SyncResult:
        """Check the state, optionally flush, read the kernel, adopt the services of
        ``desired`` that exist, then program ``desired``.

        ``configured`` names, per service, every destination of the config (a dead real
        server too); by default the destinations of ``desired``.
        """
        self.check(desired)
        if self.flush_at_start:
            self.backend.flush()
        self.found = self.backend.read().service_map()
        self.current = LvsState()
        self.started = True
        for svc in desired:
            known = configured.get(svc.id) if configured is not None else None
            self.adopt(svc.id, known if known is not None else {d.id for d in svc.dests})
        return self.sync(desired)

    def adopt(
        self, sid: ServiceId, configured: AbstractSet[DestId], *, keep_configured: bool = False
    ) -> bool:
        """Take over ``sid`` if it was in the kernel at start (see the module docstring).

        ``keep_configured`` keeps its configured destinations until `settle`."""
        svc = self.found.pop(sid, None)
        if svc is None:
            return False
        self._services[sid] = svc
        self._snapshot = None
        self.managed.add(sid)
        foreign = {d.id: d for d in svc.dests if d.id not in configured}
        if foreign:
            self.foreign[sid] = foreign
        if keep_configured:
            kept = {d.id: d for d in svc.dests if d.id in configured}
            if kept:
                self.provisional[sid] = kept
        log.info(
            "adopting %s from the kernel (%d destinations, %d not in the config: left alone)",
            sid,
            len(svc.dests),
            len(foreign),
        )
        return True

    def settle(self) -> SyncResult:
        """End of the checkers' start: configured destinations found in the kernel that the
        checkers did not place are removed."""
        t0 = time.perf_counter()
        ops: list[Op] = []
        for sid, kept in self.provisional.items():
            svc = self._services.get(sid)
            if svc is None:
                continue
            have = svc.dest_map()
            ops.extend(DelDest(sid, did) for did in kept if did in have)
        self.provisional.clear()
        return self._apply(ops, t0)

    def check(self, desired: LvsState) -> None:
        problems = self.backend.check(desired)
        if problems:
            raise UnsupportedError(problems)

    def _merge(self, sid: ServiceId, desired: Service | None) -> Service | None:
        """``desired`` plus what adoption keeps (foreign and provisional destinations)."""
        foreign = self.foreign.get(sid, {})
        kept = self.provisional.get(sid, {})
        if desired is None:
            if not foreign:
                return None
            base = self._services.get(sid)
            if base is None:
                return None
            return Service(sid, base.attrs, tuple(foreign.values()), base.location)
        want = desired.dest_map()
        for did in [d for d in kept if d in want]:
            del kept[did]  # the checkers placed it: ours now
        for did in [d for d in foreign if d in want]:
            del foreign[did]  # the config names it now (a reload)
        extra = [d for did, d in {**kept, **foreign}.items() if did not in want]
        if not extra:
            return desired
        return Service(sid, desired.attrs, desired.dests + tuple(extra), desired.location)

    def sync(self, desired: LvsState) -> SyncResult:
        """Apply the difference between what we programmed and ``desired``."""
        t0 = time.perf_counter()
        self.check(desired)
        want: dict[ServiceId, Service] = {}
        for svc in desired:
            merged = self._merge(svc.id, svc)
            assert merged is not None
            want[svc.id] = merged
        for sid in self._services:
            if sid not in want:
                merged = self._merge(sid, None)
                if merged is not None:
                    want[sid] = merged
        ops = diff(self.current, LvsState.of(want.values()))
        return self._apply(ops, t0)

    def sync_service(
        self,
        sid: ServiceId,
        desired: Service | None,
        configured: AbstractSet[DestId] | None = None,
    ) -> SyncResult:
        """Reconcile one service only (the others are left alone). A service found in the
        kernel at start is adopted on its first sync (``configured``: the config's
        destinations for it), keeping its configured destinations until `settle`."""
        t0 = time.perf_counter()
        if desired is not None:
            self.check(LvsState((desired,)))
            if sid in self.found and sid not in self._services:
                known = configured if configured is not None else set(desired.dest_map())
                self.adopt(sid, known, keep_configured=True)
        ops = diff_service(self._services.get(sid), self._merge(sid, desired))
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
            foreign = self.foreign.get(svc.id, {})
            if self.flush_on_stop == "VS" or svc.id in self.created or not foreign:
                ops.append(DelService(svc.id))
            else:
                ops.extend(DelDest(svc.id, d.id) for d in svc.dests if d.id not in foreign)
        result = self._apply(ops, t0)
        self._forget()
        return result

    def _forget(self) -> None:
        self.created.clear()
        self.added_dests.clear()
        self.managed.clear()
        self.found.clear()
        self.foreign.clear()
        self.provisional.clear()
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
                self.foreign.pop(op.id, None)
                self.provisional.pop(op.id, None)
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

    def __init__(
        self, reconciler: Reconciler, config: LvsConfig, *, syncd: SyncDaemonManager | None = None
    ) -> None:
        self.reconciler = reconciler
        self.config = config
        self.syncd = syncd
        self._entries: dict[str, _Entry] = {}
        self.results: list[SyncResult] = []
        self.errors = 0
        self._settle_scheduled = False

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
                svc = self._service(entry, sid)
                configured = configured_dests(entry.vs, sid)
                self.results.append(self.reconciler.sync_service(sid, svc, configured))
            except UnsupportedError as exc:
                if not entry.refused:
                    entry.refused = True
                    for diag in exc.diagnostics:
                        log.error("%s - not programmed", diag.format())
            except BackendError as exc:
                self.errors += 1
                log.error("programming %s failed: %s", sid, exc)

    def close(self, *, release: bool) -> None:
        """Stop: remove what we created (per lvs_flush_on_stop) unless told to keep it (-I);
        the master+backup sync daemon stops either way (as keepalived's checker does)."""
        if self.syncd is not None:
            self.syncd.stop()
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
        if any(sid in self.reconciler.found for sid in entry.sids):
            self._settle_soon()
        self._sync(entry)

    def _settle_soon(self) -> None:
        """Adoption: settle once the checkers' start-up (synchronous, in one loop callback)
        is over; without a running loop the caller calls `settle` itself."""
        if self._settle_scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._settle_scheduled = True
        loop.call_soon(self.settle)

    def settle(self) -> None:
        """Remove adopted destinations the checkers did not place (see `Reconciler.settle`)."""
        self._settle_scheduled = False
        try:
            self.results.append(self.reconciler.settle())
        except BackendError as exc:
            self.errors += 1
            log.error("settling the adopted services failed: %s", exc)

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
