"""An nftables data plane for machines without IPVS: NAT virtual services in our own table.

Layout of ``table inet <name>`` (default ``pykeepalived``)::

    map svc4 / svc6   proto . daddr . dport : jump s<N>     address services
    map any4 / any6   proto . daddr : jump s<N>             port-less (persistent) services
    map fwm4 / fwm6   mark : jump s<N>                      fwmark services
    set vip4 / vip6   virtual addresses (masquerade, when asked)
    set fwmk4 / fwmk6 marks of the fwmark services (masquerade, when asked)
    chain lookup      the vmap lookups (fwmark first, as IPVS does)
    chain prerouting  nat hook prerouting: jump lookup
    chain output      nat hook output: jump lookup (locally originated connections)
    chain postrouting nat hook postrouting: masquerade connections to a VIP or a fwmark service
    chain s<N>        one per service: ``dnat`` to a destination chosen by a weighted map
    set s<N>p<K>      persistent services: the clients of destination K, with a timeout
    chain s<N>d<K>    persistent services: refresh the client in s<N>p<K>, dnat to K

Destination choice: weights are turned into consecutive slot ranges of a ``numgen random mod
TOTAL`` (rr: equal slots, wrr: weighted) or ``jhash`` (sh, mh, dh) map. Weight-0 destinations
(inhibited, quiesced) get no slot. Connection-count schedulers (lc, wlc, sed, nq, lblc, lblcr,
ovf, twos), the one-packet flag, persistence engines and DR/TUN forwarding have no nftables
equivalent and are refused with a config error at the ``virtual_server`` line.

Persistence (``persistence_timeout``) uses real timeouts: each destination of a persistent
service has a dynamic set of client addresses (masked by ``persistence_granularity``). A new
connection whose client is in a destination's set goes to that destination; otherwise the
scheduler chooses and the chosen destination's chain adds the client to its set. Every new
connection refreshes the entry, so a client sticks to its server until it has opened no
connection for ``persistence_timeout`` seconds (IPVS counts from the end of the client's last
connection instead). A destination that is removed or set to weight 0 loses its clients, who
are scheduled afresh (IPVS with ``expire_quiescent_template = 1``).

Every change is one ``nft -f -`` transaction (atomic): a weight change re-renders the rules
of the one service chain it touches. The first transaction deletes a table of the same name
left by an earlier run, so what this backend reads back (its own record) is what the kernel has.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pykeepalived.config.errors import Diagnostic
from pykeepalived.config.model.lvs import AddressFamily, LbKind, Protocol, ServiceFlag
from pykeepalived.lvs.backend import BackendError, unsupported
from pykeepalived.lvs.diff import Op, apply, touched_services
from pykeepalived.lvs.model import Dest, DestId, LvsState, Service, ServiceId

log = logging.getLogger(__name__)

DEFAULT_TABLE = "pykeepalived"
NFT_TIMEOUT_S = 120.0
#: numgen/jhash moduli are 32-bit; weights are scaled down to keep the total below this.
MAX_SLOTS = 1 << 24
#: fixed jhash seed, so that a client keeps its server across re-renders of the chain
JHASH_SEED = 0x6B656570
#: most clients a persistent destination remembers (a full set still schedules, but forgets)
PERSISTENCE_SET_SIZE = 262144

RANDOM_SCHEDULERS = frozenset({"rr", "wrr"})
HASH_SCHEDULERS = frozenset({"sh", "mh", "dh"})
SUPPORTED_SCHEDULERS = RANDOM_SCHEDULERS | HASH_SCHEDULERS | {"fo"}

_PROTO_NAMES = {int(Protocol.TCP): "tcp", int(Protocol.UDP): "udp", int(Protocol.SCTP): "sctp"}


def _fam(family: AddressFamily) -> str:
    return "ip" if family is AddressFamily.INET else "ip6"


def _suffix(family: AddressFamily) -> str:
    return "4" if family is AddressFamily.INET else "6"


def _addr(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    return str(address) if address.version == 4 else f"[{address}]"


# ---- pure rendering -------------------------------------------------------------------------


def _address_version(sid: ServiceId) -> int:
    return 4 if sid.family is AddressFamily.INET else 6


def check_service(svc: Service) -> list[Diagnostic]:
    """Config errors for what nftables cannot do for ``svc``."""
    out: list[Diagnostic] = []
    sched = svc.attrs.scheduler
    if sched not in SUPPORTED_SCHEDULERS:
        out.append(
            unsupported(
                svc,
                f"lb_algo {sched} needs IPVS connection counts; the nftables data plane "
                f"supports {', '.join(sorted(SUPPORTED_SCHEDULERS))}",
            )
        )
    if svc.attrs.flags & int(ServiceFlag.ONEPACKET):
        out.append(unsupported(svc, "ops (one-packet scheduling) is not supported by nftables"))
    if svc.attrs.pe_name:
        out.append(unsupported(svc, f"persistence_engine {svc.attrs.pe_name} is not supported"))
    for dest in svc.dests:
        if dest.forwarding.method is not LbKind.NAT:
            out.append(
                unsupported(
                    svc,
                    f"lb_kind {dest.forwarding.method.name} for real server {dest.id}: "
                    "the nftables data plane only does NAT",
                    dest.location if dest.location.line else None,
                )
            )
        if dest.id.address.version != _address_version(svc.id):
            out.append(unsupported(svc, f"real server {dest.id} is not of the service's family"))
    ports = {d.id.port == 0 for d in svc.dests}
    if len(ports) > 1:
        out.append(unsupported(svc, "real servers mix port 0 and explicit ports"))
    return out


def weighted_slots(weights: Sequence[int], *, equal: bool = False) -> list[tuple[int, int]]:
    """Consecutive [lo, hi] slot ranges, one per positive weight (in order), empty for 0.

    ``equal`` gives every positive weight one slot (rr). Large weights are scaled down so the
    total stays below `MAX_SLOTS`, each positive weight keeping at least one slot.
    """
    ws = [(1 if w > 0 else 0) if equal else max(w, 0) for w in weights]
    positive = [w for w in ws if w > 0]
    if not positive:
        return [(0, -1) for _ in ws]
    g = math.gcd(*positive)
    ws = [w // g for w in ws]
    total = sum(ws)
    if total > MAX_SLOTS:
        ws = [max(1, w * MAX_SLOTS // total) if w > 0 else 0 for w in ws]
    out: list[tuple[int, int]] = []
    lo = 0
    for w in ws:
        out.append((lo, lo + w - 1))
        lo += w
    return out


def is_persistent(svc: Service) -> bool:
    return svc.attrs.timeout_s > 0


def _selector(svc: Service, total: int, *, hash_persistence: bool = True) -> str:
    """The slot expression. ``hash_persistence``: a persistent rr/wrr/fo service hashes the
    client address (the stateless form of `service_rule`); the set-based layout of
    `NftRenderer` schedules those randomly and remembers the choice instead."""
    fam = _fam(svc.id.family)
    attrs = svc.attrs
    persistent = hash_persistence and is_persistent(svc)
    if attrs.scheduler in RANDOM_SCHEDULERS | {"fo"} and not persistent:
        return f"numgen random mod {total}"
    if attrs.scheduler == "dh":
        key = f"{fam} daddr"
    else:
        key = f"{fam} saddr"
        mask = _mask_text(svc)
        if mask:
            key += f" & {mask}"
        port_flag = int(ServiceFlag.SH_PORT)
        if attrs.scheduler in {"sh", "mh"} and attrs.flags & port_flag and not svc.id.is_fwmark:
            key += " . th sport"
    return f"jhash {key} mod {total} seed {JHASH_SEED:#x}"


def _mask_text(svc: Service) -> str:
    """The persistence granularity as an nft mask ("" for a host mask)."""
    if svc.attrs.timeout_s <= 0:
        return ""
    if svc.id.family is AddressFamily.INET:
        if svc.attrs.netmask in (0, 0xFFFFFFFF):
            return ""
        return str(ipaddress.IPv4Address(svc.attrs.netmask))
    plen = svc.attrs.netmask
    if plen <= 0 or plen >= 128:
        return ""
    return str(ipaddress.IPv6Network(f"::/{plen}").netmask)


def eligible(svc: Service) -> list[Dest]:
    """The destinations that may get new connections (fo: the first of the highest weight)."""
    dests: list[Dest] = list(svc.dests)
    if svc.attrs.scheduler == "fo":
        best = max((d.weight for d in dests), default=0)
        return [next(d for d in dests if d.weight == best)] if best > 0 else []
    return [d for d in dests if d.weight > 0]


def service_rule(svc: Service) -> str | None:
    """The one rule of a non-persistent service chain (persistence hashed, see `_selector`),
    or ``None`` when no destination has a weight."""
    dests = eligible(svc)
    slots = weighted_slots([d.weight for d in dests], equal=svc.attrs.scheduler == "rr")
    entries: list[str] = []
    with_port = any(d.id.port for d in dests)
    for dest, (lo, hi) in zip(dests, slots, strict=True):
        if hi < lo:
            continue
        key = str(lo) if lo == hi else f"{lo}-{hi}"
        target = _addr(dest.id.address)
        if with_port:
            target += f" . {dest.id.port}"
        entries.append(f"{key} : {target}")
    if not entries:
        return None
    total = max(hi for lo, hi in slots if hi >= lo) + 1
    fam = _fam(svc.id.family)
    selector = _selector(svc, total)
    proto = ""
    if with_port or " th " in selector:
        name = _PROTO_NAMES.get(svc.id.protocol)
        proto = f"meta l4proto {name} " if name else ""
    what = f"{fam} addr . port" if with_port else fam
    return f"{proto}dnat {what} to {selector} map {{ {', '.join(entries)} }}"


def _client_key(svc: Service) -> str:
    key = f"{_fam(svc.id.family)} saddr"
    mask = _mask_text(svc)
    return f"{key} & {mask}" if mask else key


def _proto_prefix(svc: Service, with_port: bool) -> str:
    name = _PROTO_NAMES.get(svc.id.protocol) if with_port else None
    return f"meta l4proto {name} " if name else ""


def persistence_set(svc: Service) -> str:
    """The body of a destination's client set (``add set`` ... ``{ body }``)."""
    addr_type = "ipv4_addr" if svc.id.family is AddressFamily.INET else "ipv6_addr"
    return (
        f"type {addr_type}; flags dynamic,timeout; timeout {svc.attrs.timeout_s}s; "
        f"size {PERSISTENCE_SET_SIZE};"
    )


def persistent_dest_rules(svc: Service, dest: Dest, set_name: str) -> list[str]:
    """The rules of a destination chain: remember the client, then dnat (a full set only
    skips the first rule)."""
    fam = _fam(svc.id.family)
    target = _addr(dest.id.address)
    if dest.id.port:
        target += f":{dest.id.port}"
    prefix = _proto_prefix(svc, bool(dest.id.port))
    return [
        f"update @{set_name} {{ {_client_key(svc)} timeout {svc.attrs.timeout_s}s }}",
        f"{prefix}dnat {fam} to {target}",
    ]


def persistent_service_rules(svc: Service, names: dict[DestId, tuple[str, str]]) -> list[str]:
    """The rules of a persistent service chain: a known client goes to its destination, a new
    one to the scheduler's choice. ``names`` maps each eligible destination to (set, chain)."""
    dests = eligible(svc)
    if not dests:
        return []
    key = _client_key(svc)
    rules = [f"{key} @{names[d.id][0]} goto {names[d.id][1]}" for d in dests]
    slots = weighted_slots([d.weight for d in dests], equal=svc.attrs.scheduler == "rr")
    entries = [
        f"{lo if lo == hi else f'{lo}-{hi}'} : goto {names[d.id][1]}"
        for d, (lo, hi) in zip(dests, slots, strict=True)
        if hi >= lo
    ]
    total = max(hi for lo, hi in slots if hi >= lo) + 1
    selector = _selector(svc, total, hash_persistence=False)
    prefix = _proto_prefix(svc, " th " in selector)
    rules.append(f"{prefix}{selector} vmap {{ {', '.join(entries)} }}")
    return rules


def lookup_element(svc: Service) -> tuple[str, str]:
    """(map name, element key) of the service in the lookup maps."""
    sid = svc.id
    sfx = _suffix(sid.family)
    if sid.is_fwmark:
        return f"fwm{sfx}", str(sid.fwmark)
    assert sid.address is not None
    proto = _PROTO_NAMES.get(sid.protocol, str(sid.protocol))
    if sid.port == 0:
        return f"any{sfx}", f"{proto} . {sid.address}"
    return f"svc{sfx}", f"{proto} . {sid.address} . {sid.port}"


def skeleton(table: str, *, masquerade: bool) -> str:
    """The static part of the table (maps, sets, hooked chains)."""
    lines = [f"add table inet {table}"]
    for sfx, addr_type in (("4", "ipv4_addr"), ("6", "ipv6_addr")):
        lines += [
            f"add map inet {table} svc{sfx} "
            f"{{ type inet_proto . {addr_type} . inet_service : verdict; }}",
            f"add map inet {table} any{sfx} {{ type inet_proto . {addr_type} : verdict; }}",
            f"add map inet {table} fwm{sfx} {{ type mark : verdict; }}",
            f"add set inet {table} vip{sfx} {{ type {addr_type}; }}",
            f"add set inet {table} fwmk{sfx} {{ type mark; }}",
        ]
    lines += [
        f"add chain inet {table} lookup",
        f"add rule inet {table} lookup meta nfproto ipv4 meta mark vmap @fwm4",
        f"add rule inet {table} lookup meta nfproto ipv6 meta mark vmap @fwm6",
        f"add rule inet {table} lookup meta nfproto ipv4 meta l4proto {{ tcp, udp, sctp }} "
        "meta l4proto . ip daddr . th dport vmap @svc4",
        f"add rule inet {table} lookup meta nfproto ipv6 meta l4proto {{ tcp, udp, sctp }} "
        "meta l4proto . ip6 daddr . th dport vmap @svc6",
        f"add rule inet {table} lookup meta nfproto ipv4 meta l4proto . ip daddr vmap @any4",
        f"add rule inet {table} lookup meta nfproto ipv6 meta l4proto . ip6 daddr vmap @any6",
        f"add chain inet {table} prerouting "
        "{ type nat hook prerouting priority dstnat; policy accept; }",
        f"add rule inet {table} prerouting jump lookup",
        f"add chain inet {table} output {{ type nat hook output priority -100; policy accept; }}",
        f"add rule inet {table} output jump lookup",
        f"add chain inet {table} postrouting "
        "{ type nat hook postrouting priority srcnat; policy accept; }",
    ]
    if masquerade:
        lines += [
            f"add rule inet {table} postrouting ct status dnat ct original ip daddr @vip4 "
            "masquerade",
            f"add rule inet {table} postrouting ct status dnat ct original ip6 daddr @vip6 "
            "masquerade",
            # fwmark services have no VIP: the first packet still carries its mark here
            f"add rule inet {table} postrouting meta nfproto ipv4 meta mark @fwmk4 "
            "ct status dnat masquerade",
            f"add rule inet {table} postrouting meta nfproto ipv6 meta mark @fwmk6 "
            "ct status dnat masquerade",
        ]
    return "\n".join(lines) + "\n"


@dataclass
class NftRenderer:
    """Turns state changes into nft script text; remembers each service's chain name and, for
    persistent services, the number of each destination's set and chain."""

    table: str = DEFAULT_TABLE
    masquerade: bool = False
    _next: int = 1

    def __post_init__(self) -> None:
        self.chains: dict[ServiceId, str] = {}
        self.dest_numbers: dict[ServiceId, dict[DestId, int]] = {}
        self._next_dest: dict[ServiceId, int] = {}
        self._set_keys: dict[ServiceId, str] = {}

    def _vip(self, svc: Service) -> tuple[str, str] | None:
        if svc.id.address is None:
            return None
        return f"vip{_suffix(svc.id.family)}", str(svc.id.address)

    def _mark(self, svc: Service) -> tuple[str, str] | None:
        if not svc.id.is_fwmark:
            return None
        return f"fwmk{_suffix(svc.id.family)}", str(svc.id.fwmark)

    def dest_names(self, sid: ServiceId) -> dict[DestId, tuple[str, str]]:
        """(set, chain) of each destination chain of a persistent service."""
        chain = self.chains[sid]
        return {did: (f"{chain}p{k}", f"{chain}d{k}") for did, k in self.dest_numbers[sid].items()}

    def _rules(self, svc: Service) -> list[str]:
        """Everything below the service chain, and its rules (after a flush or a creation)."""
        t, chain, sid = self.table, self.chains[svc.id], svc.id
        lines: list[str] = []
        numbers = self.dest_numbers.setdefault(sid, {})
        want = {d.id: d for d in eligible(svc)} if is_persistent(svc) else {}
        set_key = _client_key(svc) if want else ""  # a new mask starts new sets
        rekey = self._set_keys.get(sid) != set_key
        for did in sorted(numbers, key=DestId.sort_key):
            if did in want and not rekey:
                continue
            k = numbers.pop(did)
            lines += [
                f"flush chain inet {t} {chain}d{k}",
                f"delete chain inet {t} {chain}d{k}",
                f"delete set inet {t} {chain}p{k}",
            ]
        self._set_keys[sid] = set_key
        for did, dest in sorted(want.items(), key=lambda item: item[0].sort_key()):
            if did in numbers:
                k = numbers[did]
                lines.append(f"flush chain inet {t} {chain}d{k}")
            else:
                k = self._next_dest.get(sid, 1)
                self._next_dest[sid] = k + 1
                numbers[did] = k
                lines += [
                    f"add set inet {t} {chain}p{k} {{ {persistence_set(svc)} }}",
                    f"add chain inet {t} {chain}d{k}",
                ]
            lines += [
                f"add rule inet {t} {chain}d{k} {rule}"
                for rule in persistent_dest_rules(svc, dest, f"{chain}p{k}")
            ]
        if want:
            rules = persistent_service_rules(svc, self.dest_names(sid))
        else:
            rule = service_rule(svc)
            rules = [] if rule is None else [rule]
        lines += [f"add rule inet {t} {chain} {rule}" for rule in rules]
        return lines

    def add_service(self, svc: Service) -> list[str]:
        chain = f"s{self._next}"
        self._next += 1
        self.chains[svc.id] = chain
        t = self.table
        lines = [f"add chain inet {t} {chain}"]
        lines += self._rules(svc)
        name, key = lookup_element(svc)
        lines.append(f"add element inet {t} {name} {{ {key} : jump {chain} }}")
        for extra in (self._vip(svc), self._mark(svc)):
            if extra is not None:
                lines.append(f"add element inet {t} {extra[0]} {{ {extra[1]} }}")
        return lines

    def update_service(self, svc: Service) -> list[str]:
        chain = self.chains[svc.id]
        return [f"flush chain inet {self.table} {chain}", *self._rules(svc)]

    def delete_service(self, svc: Service, remaining_vips: set[str]) -> list[str]:
        chain = self.chains[svc.id]
        t = self.table
        name, key = lookup_element(svc)
        lines = [
            f"delete element inet {t} {name} {{ {key} }}",
            f"flush chain inet {t} {chain}",
        ]
        for k in sorted(self.dest_numbers.pop(svc.id, {}).values()):
            lines += [
                f"flush chain inet {t} {chain}d{k}",
                f"delete chain inet {t} {chain}d{k}",
                f"delete set inet {t} {chain}p{k}",
            ]
        lines.append(f"delete chain inet {t} {chain}")
        del self.chains[svc.id]
        self._next_dest.pop(svc.id, None)
        self._set_keys.pop(svc.id, None)
        vip = self._vip(svc)
        if vip is not None and vip[1] not in remaining_vips:
            lines.append(f"delete element inet {t} {vip[0]} {{ {vip[1]} }}")
        mark = self._mark(svc)
        if mark is not None:
            lines.append(f"delete element inet {t} {mark[0]} {{ {mark[1]} }}")
        return lines

    def transition(
        self, old: LvsState, new: LvsState, touched: Iterable[ServiceId] | None = None
    ) -> list[str]:
        """nft commands taking the table from ``old`` to ``new`` (only ``touched`` services
        are looked at when given)."""
        before = old.service_map()
        after = new.service_map()
        ids = set(touched) if touched is not None else set(before) | set(after)
        vips = {str(s.id.address) for s in new if s.id.address is not None}
        lines: list[str] = []
        for sid in sorted(ids, key=ServiceId.sort_key):
            a, b = before.get(sid), after.get(sid)
            if a is not None and b is None:
                lines += self.delete_service(a, vips)
        for sid in sorted(ids, key=ServiceId.sort_key):
            a, b = before.get(sid), after.get(sid)
            if b is None:
                continue
            if a is None:
                lines += self.add_service(b)
            elif a != b:
                lines += self.update_service(b)
        return lines


# ---- the backend ----------------------------------------------------------------------------


class NftBackend:
    """The nftables `Backend`: one ``nft -f -`` transaction per `apply`.

    ``netns`` runs nft inside that network namespace (``ip netns exec``).
    """

    name = "nftables"

    def __init__(
        self, *, table: str = DEFAULT_TABLE, netns: str | None = None, masquerade: bool = False
    ) -> None:
        nft = shutil.which("nft")
        if nft is None:
            raise BackendError("the nft command (package nftables) is not installed")
        self._argv = [nft, "-f", "-"]
        if netns is not None:
            self._argv = ["ip", "netns", "exec", netns, *self._argv]
        self.table = table
        self.masquerade = masquerade
        self.renderer = NftRenderer(table, masquerade)
        self.state = LvsState()
        self._table_present = False
        self.kernel_ops = 0
        self.last_script = ""

    def run(self, script: str) -> None:
        """One nft transaction."""
        self.kernel_ops += 1
        self.last_script = script
        try:
            proc = subprocess.run(
                self._argv,
                input=script,
                capture_output=True,
                text=True,
                timeout=NFT_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BackendError(f"nft: {exc}") from exc
        if proc.returncode != 0:
            raise BackendError(f"nft refused the transaction: {proc.stderr.strip()}")

    def check(self, state: LvsState) -> list[Diagnostic]:
        out: list[Diagnostic] = []
        for svc in state:
            out += check_service(svc)
        return out

    def read(self) -> LvsState:
        """What this backend has programmed (the table is ours alone)."""
        return self.state

    def apply(self, ops: Sequence[Op]) -> int:
        if not ops:
            return 0
        new = apply(self.state, ops)
        lines = self.renderer.transition(self.state, new, touched_services(ops))
        script = ""
        if not self._table_present:
            # a table of this name left by an earlier run goes, in the same transaction
            script = f"add table inet {self.table}\ndelete table inet {self.table}\n"
            script += skeleton(self.table, masquerade=self.masquerade)
        script += "\n".join(lines) + "\n"
        self.run(script)
        self._table_present = True
        self.state = new
        return 1

    def flush(self) -> None:
        """Delete our table (if it is there)."""
        self.run(f"add table inet {self.table}\ndelete table inet {self.table}\n")
        self._table_present = False
        self.state = LvsState()
        self.renderer = NftRenderer(self.table, self.masquerade)

    def close(self) -> None:
        """Remove our table: nothing of this data plane outlives it."""
        if self._table_present:
            self.flush()
