"""The minimal operations that turn one `LvsState` into another (pure).

`diff(current, desired)` gives, in an order a kernel accepts:

1. destinations deleted from services that stay,
2. services deleted (their destinations go with them),
3. services added, then services edited (attributes changed),
4. destinations edited (weight, forwarding method or thresholds changed), then added.

An edit is emitted only when something differs, so a single weight change is a single
`EditDest`. `apply(state, ops)` is the reference semantics of the operations: tests check that
``apply(current, diff(current, desired)) == desired``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pykeepalived.lvs.model import Dest, DestId, LvsState, Service, ServiceId

__all__ = [
    "AddDest",
    "AddService",
    "DelDest",
    "DelService",
    "EditDest",
    "EditService",
    "Op",
    "OpError",
    "apply",
    "diff",
    "diff_service",
]


@dataclass(frozen=True)
class AddService:
    service: Service  # its attributes; its destinations come as AddDest ops

    @property
    def id(self) -> ServiceId:
        return self.service.id


@dataclass(frozen=True)
class EditService:
    service: Service

    @property
    def id(self) -> ServiceId:
        return self.service.id


@dataclass(frozen=True)
class DelService:
    id: ServiceId


@dataclass(frozen=True)
class AddDest:
    service: ServiceId
    dest: Dest


@dataclass(frozen=True)
class EditDest:
    service: ServiceId
    dest: Dest


@dataclass(frozen=True)
class DelDest:
    service: ServiceId
    dest: DestId


Op = AddService | EditService | DelService | AddDest | EditDest | DelDest


class OpError(ValueError):
    """An operation does not fit the state it is applied to (what the kernel would refuse)."""


def _same_dest(a: Dest, b: Dest) -> bool:
    return (
        a.weight == b.weight
        and a.forwarding == b.forwarding
        and a.u_threshold == b.u_threshold
        and a.l_threshold == b.l_threshold
    )


def diff_service(current: Service | None, desired: Service | None) -> list[Op]:
    """The operations for one service id (either side may be absent)."""
    if current is None and desired is None:
        return []
    if desired is None:
        assert current is not None
        return [DelService(current.id)]
    ops: list[Op] = []
    if current is None:
        ops.append(AddService(Service(desired.id, desired.attrs, (), desired.location)))
        ops.extend(AddDest(desired.id, d) for d in desired.dests)
        return ops
    if current is desired or current == desired:
        return []
    sid = desired.id
    have = current.dest_map()
    want = desired.dest_map()
    ops.extend(DelDest(sid, did) for did in have if did not in want)
    if current.attrs != desired.attrs:
        ops.append(EditService(Service(sid, desired.attrs, (), desired.location)))
    for did, dest in want.items():
        old = have.get(did)
        if old is not None and not _same_dest(old, dest):
            ops.append(EditDest(sid, dest))
    ops.extend(AddDest(sid, dest) for did, dest in want.items() if did not in have)
    return ops


_RANK = {DelDest: 0, DelService: 1, AddService: 2, EditService: 3, EditDest: 4, AddDest: 5}


def diff(current: LvsState, desired: LvsState) -> list[Op]:
    """Minimal operations turning ``current`` into ``desired``, deletions first."""
    have = current.service_map()
    want = desired.service_map()
    ops: list[Op] = []
    for sid, svc in have.items():
        ops.extend(diff_service(svc, want.get(sid)))
    for sid, svc in want.items():
        if sid not in have:
            ops.extend(diff_service(None, svc))
    ops.sort(key=lambda op: _RANK[type(op)])  # stable: keeps the per-service order
    return ops


def apply(state: LvsState, ops: Iterable[Op]) -> LvsState:
    """The state after ``ops`` (raises `OpError` for an op the kernel would refuse).

    Services the ops do not touch are carried over as the same objects.
    """
    services: dict[ServiceId, Service] = {s.id: s for s in state.services}
    edited: dict[ServiceId, tuple[Service, dict[DestId, Dest]]] = {}

    def edit(sid: ServiceId) -> tuple[Service, dict[DestId, Dest]]:
        if sid not in edited:
            svc = services.get(sid)
            if svc is None:
                raise OpError(f"no service {sid}")
            edited[sid] = (svc, svc.dest_map())
        return edited[sid]

    for op in ops:
        if isinstance(op, AddService):
            if op.id in services:
                raise OpError(f"service {op.id} exists")
            services[op.id] = op.service
            edited[op.id] = (op.service, {})
        elif isinstance(op, EditService):
            _, dests = edit(op.id)
            services[op.id] = op.service
            edited[op.id] = (op.service, dests)
        elif isinstance(op, DelService):
            if services.pop(op.id, None) is None:
                raise OpError(f"no service {op.id}")
            edited.pop(op.id, None)
        else:
            dests = edit(op.service)[1]
            if isinstance(op, AddDest):
                if op.dest.id in dests:
                    raise OpError(f"{op.service}: destination {op.dest.id} exists")
                dests[op.dest.id] = op.dest
            elif isinstance(op, EditDest):
                if op.dest.id not in dests:
                    raise OpError(f"{op.service}: no destination {op.dest.id}")
                dests[op.dest.id] = op.dest
            elif dests.pop(op.dest, None) is None:
                raise OpError(f"{op.service}: no destination {op.dest}")
    for sid, (svc, dests) in edited.items():
        services[sid] = Service(sid, svc.attrs, tuple(dests.values()), svc.location)
    return LvsState.of(services.values())


def touched_services(ops: Sequence[Op]) -> set[ServiceId]:
    """The services the operations change."""
    out: set[ServiceId] = set()
    for op in ops:
        out.add(op.id if isinstance(op, AddService | EditService | DelService) else op.service)
    return out
