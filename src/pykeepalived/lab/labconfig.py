"""What the lab makes of a keepalived config (pure): lab addresses, the directors' configs, hosts.

- Every address of the seed network (192.168.68.0/24) moves to the documentation range
  192.0.2.0/24 with the same host part (the VIP .222, the real servers .225 and .226).
- ``dir1`` runs the moved config as is; ``dir2`` its usual BACKUP twin (priority 10 lower).
- The lab's data plane is nftables (this kernel has no IPVS), which forwards by NAT only, so
  DR/TUN virtual servers are switched to NAT; `LabPlan.notes` says so, naming the line.
- Each real server becomes a host ``web1``, ``web2``, ... whose address is the real server's.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pykeepalived.config.model import Config
from pykeepalived.config.model.checkers import CheckerCommon
from pykeepalived.config.model.common import map_values
from pykeepalived.config.model.lvs import (
    AddressService,
    Forwarding,
    FwmarkService,
    LbKind,
    Protocol,
    RealServer,
    VirtualServer,
)
from pykeepalived.config.model.vrrp import VrrpInstance, VrrpState
from pykeepalived.lab.topology import HostSpec

SEED_NETWORK = ipaddress.IPv4Network("192.168.68.0/24")
LAB_NETWORK = ipaddress.IPv4Network("192.0.2.0/24")
DIRECTORS = ("dir1", "dir2")
CLIENT = "client"
BACKUP_PRIORITY_STEP = 10
DIRECTOR_HOST_IDS = {"dir1": 1, "dir2": 2}
CLIENT_HOST_ID = 100
#: the client's extra source addresses: 192.0.2.101 .. 192.0.2.140, then 40 "new clients"
#: 192.0.2.141 .. 192.0.2.180 kept for after the real server failure
CLIENT_EXTRA_FIRST_ID = 101
CLIENT_EXTRA_COUNT = 40


class LabConfigError(Exception):
    """The config cannot be shown in the lab (the message says why)."""


# ---- addresses ------------------------------------------------------------------------------


def _move_address(value: Any) -> Any:
    """An address of the seed network moved to the lab network (same host part)."""
    # IPv4Interface is a subclass of IPv4Address: test it first
    if isinstance(value, ipaddress.IPv4Interface):
        if value.ip not in SEED_NETWORK:
            return value
        return ipaddress.IPv4Interface(f"{_move_address(value.ip)}/{value.network.prefixlen}")
    if isinstance(value, ipaddress.IPv4Address) and value in SEED_NETWORK:
        offset = int(value) - int(SEED_NETWORK.network_address)
        return LAB_NETWORK.network_address + offset
    return value


def move_to_lab_network(obj: Any) -> Any:
    """A copy of a model object with every seed-network address moved to the lab network."""
    return map_values(obj, lambda _name, value: _move_address(value))


# ---- forwarding -----------------------------------------------------------------------------


def _nat(fwd: Forwarding | None) -> Forwarding | None:
    if fwd is None or fwd.method is LbKind.NAT:
        return fwd
    return Forwarding(method=LbKind.NAT)


def as_nat(config: Config) -> tuple[Config, list[str]]:
    """``config`` with every DR/TUN virtual and real server switched to NAT, and what changed."""
    notes: list[str] = []
    servers: list[VirtualServer] = []
    for vs in config.lvs.virtual_servers:
        methods = {
            f.method.name
            for f in (vs.forwarding, *(rs.forwarding for rs in vs.real_servers))
            if f is not None and f.method is not LbKind.NAT
        }
        if not methods:
            servers.append(vs)
            continue
        where = f" ({Path(vs.location.file).name}:{vs.location.line})" if vs.location.line else ""
        notes.append(
            f"virtual_server {service_text(vs)}{where}: lb_kind {'/'.join(sorted(methods))} -> "
            "NAT (the nftables data plane forwards by NAT only)"
        )
        real = tuple(
            dataclasses.replace(rs, forwarding=_nat(rs.forwarding) or rs.forwarding)
            for rs in vs.real_servers
        )
        sorry = vs.sorry_server
        if sorry is not None:
            sorry = dataclasses.replace(
                sorry, forwarding=_nat(sorry.forwarding) or sorry.forwarding
            )
        servers.append(
            dataclasses.replace(
                vs, forwarding=_nat(vs.forwarding), real_servers=real, sorry_server=sorry
            )
        )
    lvs = dataclasses.replace(config.lvs, virtual_servers=tuple(servers))
    return dataclasses.replace(config, lvs=lvs), notes


# ---- the two directors ----------------------------------------------------------------------


def as_backup_twin(instance: VrrpInstance) -> VrrpInstance:
    """The usual second director: BACKUP, priority lowered by 10."""
    return dataclasses.replace(
        instance,
        state=VrrpState.BACKUP,
        priority=max(1, min(instance.priority, 254) - BACKUP_PRIORITY_STEP),
    )


def director_configs(config: Config) -> dict[str, Config]:
    """dir1 runs the (moved, NAT) seed config as is; dir2 its BACKUP twin."""
    lab, _ = as_nat(move_to_lab_network(config))
    twin_vrrp = dataclasses.replace(
        lab.vrrp, instances=tuple(as_backup_twin(i) for i in lab.vrrp.instances)
    )
    return {"dir1": lab, "dir2": dataclasses.replace(lab, vrrp=twin_vrrp)}


# ---- what the lab shows ---------------------------------------------------------------------


def service_text(vs: VirtualServer) -> str:
    """``192.0.2.222 80`` (``fwmark 1``, ``group NAME``) as the config says it."""
    svc = vs.service
    if isinstance(svc, AddressService):
        return f"{svc.address} {svc.port}" if svc.port else str(svc.address)
    if isinstance(svc, FwmarkService):
        return f"fwmark {svc.fwmark}"
    return f"group {svc.name}"


@dataclass(frozen=True)
class WebHost:
    """A real server of the lab: host ``name`` at ``address``, serving TCP ``port``."""

    name: str
    address: ipaddress.IPv4Address
    port: int
    weight: int
    delay_loop_s: float
    retry: int
    delay_before_retry_s: float

    @property
    def detect_min_s(self) -> float:
        """Earliest removal after the server dies (it dies just before a check)."""
        return self.retry * self.delay_before_retry_s

    @property
    def detect_max_s(self) -> float:
        """Latest removal (it dies just after a check)."""
        return self.delay_loop_s + self.retry * self.delay_before_retry_s

    @property
    def recover_max_s(self) -> float:
        """Latest return after it is back (one check period)."""
        return self.delay_loop_s


@dataclass(frozen=True)
class LabPlan:
    """Everything the lab needs to know of the config it runs."""

    configs: dict[str, Config]
    notes: tuple[str, ...]
    instance: VrrpInstance
    backup: VrrpInstance
    vip: ipaddress.IPv4Address
    virtual_server: VirtualServer | None
    webs: tuple[WebHost, ...]

    @property
    def hosts(self) -> tuple[HostSpec, ...]:
        """The namespaces: directors, client, one per real server (host id = last octet)."""
        fixed = [HostSpec(d, host_id=DIRECTOR_HOST_IDS[d]) for d in DIRECTORS]
        fixed.append(HostSpec(CLIENT, host_id=CLIENT_HOST_ID))
        webs = [HostSpec(w.name, host_id=int(w.address) & 0xFF) for w in self.webs]
        return (*fixed, *webs)

    @property
    def client_sources(self) -> tuple[ipaddress.IPv4Address, ...]:
        """The client's extra source addresses (persistence is per client address)."""
        return tuple(LAB_NETWORK[CLIENT_EXTRA_FIRST_ID + i] for i in range(CLIENT_EXTRA_COUNT))

    @property
    def fresh_sources(self) -> tuple[ipaddress.IPv4Address, ...]:
        """Client addresses not used before the real server failure (new clients)."""
        first = CLIENT_EXTRA_FIRST_ID + CLIENT_EXTRA_COUNT
        return tuple(LAB_NETWORK[first + i] for i in range(CLIENT_EXTRA_COUNT))

    @property
    def port(self) -> int:
        return self.webs[0].port if self.webs else 0

    def director_of(self, address: str) -> str | None:
        """The director owning ``address`` (as a real server sees a masqueraded client)."""
        for name, host_id in DIRECTOR_HOST_IDS.items():
            if str(LAB_NETWORK[host_id]) == address:
                return name
        return None


def _check_timing(rs: RealServer) -> tuple[float, int, float]:
    """(delay_loop, retry, delay_before_retry) of a real server's first scheduled checker."""
    checker = next((c for c in rs.checkers if isinstance(c, CheckerCommon)), None)
    if checker is None:
        return rs.delay_loop_s, 0, 0.0
    return checker.delay_loop_s, checker.retry, checker.delay_before_retry_s


def lab_plan(config: Config) -> LabPlan:
    """The plan for ``config`` (a parsed keepalived config); LabConfigError if it cannot run."""
    if not config.vrrp.instances:
        raise LabConfigError("the config has no VRRP instance; nothing to show")
    moved, notes = as_nat(move_to_lab_network(config))
    configs = director_configs(config)
    instance = configs["dir1"].vrrp.instances[0]
    backup = configs["dir2"].vrrp.instances[0]
    if not instance.virtual_ipaddresses:
        raise LabConfigError(f"{instance.name} has no virtual address; nothing to show")
    vip = instance.virtual_ipaddresses[0].address.ip
    if not isinstance(vip, ipaddress.IPv4Address) or vip not in LAB_NETWORK:
        raise LabConfigError(f"the VIP {vip} is not in {SEED_NETWORK} or {LAB_NETWORK}")
    vs = next(
        (
            v
            for v in moved.lvs.virtual_servers
            if isinstance(v.service, AddressService)
            and v.service.address == vip
            and v.protocol is Protocol.TCP
        ),
        None,
    )
    webs: list[WebHost] = []
    if vs is not None:
        taken = {LAB_NETWORK[i] for i in (*DIRECTOR_HOST_IDS.values(), CLIENT_HOST_ID)}
        for rs in vs.real_servers:
            addr = rs.address
            if not isinstance(addr, ipaddress.IPv4Address) or addr not in LAB_NETWORK:
                raise LabConfigError(f"real server {addr} is not in {LAB_NETWORK}")
            if addr in taken or addr == vip:
                raise LabConfigError(f"real server {addr} collides with a lab host or the VIP")
            taken.add(addr)
            webs.append(
                WebHost(f"web{len(webs) + 1}", addr, rs.port or 80, rs.weight, *_check_timing(rs))
            )
    return LabPlan(configs, tuple(notes), instance, backup, vip, vs, tuple(webs))
