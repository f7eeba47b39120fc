"""IPVS over generic netlink: the kernel's virtual-server table, one request per operation.

pyroute2's ``IPVS`` helper cannot express everything keepalived sets (IPv6 persistence
netmasks are prefix lengths, the tunnel port is big-endian, its "update" verb deletes), so
this module speaks the IPVS generic netlink family with its own message class on pyroute2's
netlink core. Addresses, netmask and flags travel as raw bytes encoded here.

Wire facts (include/uapi/linux/ip_vs.h, net/netfilter/ipvs/ip_vs_ctl.c):
- a service is keyed by AF + PROTOCOL + ADDR + PORT, or AF + FWMARK;
- NEW/SET_SERVICE need SCHED_NAME, FLAGS ({flags, mask}), TIMEOUT and NETMASK; the netmask is
  the 4 mask bytes for IPv4 and a host-order prefix length for IPv6;
- NEW/SET_DEST need ADDR, PORT, FWD_METHOD, WEIGHT, U_THRESH, L_THRESH; ADDR_FAMILY and the
  TUN_* attributes are optional;
- the kernel adds IP_VS_SVC_F_HASHED to every service it reports.
"""

from __future__ import annotations

import enum
import ipaddress
import logging
import shutil
import struct
import subprocess
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from pyroute2.netlink import NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, genlmsg, nla
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.generic import GenericNetlinkSocket

from pykeepalived.config.errors import Diagnostic
from pykeepalived.config.model.lvs import (
    AddressFamily,
    Forwarding,
    IPAddress,
    LbKind,
    ServiceFlag,
    TunnelChecksum,
    TunnelType,
)
from pykeepalived.lvs.backend import BackendError, unsupported
from pykeepalived.lvs.diff import (
    AddDest,
    AddService,
    DelDest,
    DelService,
    EditDest,
    EditService,
    Op,
)
from pykeepalived.lvs.model import Dest, DestId, LvsState, Service, ServiceAttrs, ServiceId

_T = TypeVar("_T")

log = logging.getLogger(__name__)

GENL_NAME = "IPVS"
GENL_VERSION = 1
IP_VS_CONN_F_FWD_MASK = 0x0007
IP_VS_SCHEDNAME_MAXLEN = 16
ALL_FLAGS_MASK = 0xFFFFFFFF

#: Schedulers keepalived accepts; the kernel module is ``ip_vs_<name>``.
SCHEDULERS = ("rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "mh", "sed", "nq", "fo")
SCHEDULERS_NEWER = ("ovf", "twos")


class IpvsCmd(enum.IntEnum):
    NEW_SERVICE = 1
    SET_SERVICE = 2
    DEL_SERVICE = 3
    GET_SERVICE = 4
    NEW_DEST = 5
    SET_DEST = 6
    DEL_DEST = 7
    GET_DEST = 8
    NEW_DAEMON = 9
    DEL_DAEMON = 10
    GET_DAEMON = 11
    SET_CONFIG = 12
    GET_CONFIG = 13
    SET_INFO = 14
    GET_INFO = 15
    ZERO = 16
    FLUSH = 17


class SyncState(enum.IntEnum):
    """``IP_VS_STATE_*``: the role of a connection sync daemon."""

    MASTER = 1
    BACKUP = 2


class IpvsMsg(genlmsg):  # type: ignore[misc]
    """The IPVS generic netlink message (attributes as in ``linux/ip_vs.h``)."""

    prefix = "IPVS_CMD_ATTR_"
    nla_map = (
        ("IPVS_CMD_ATTR_UNSPEC", "none"),
        ("IPVS_CMD_ATTR_SERVICE", "service"),
        ("IPVS_CMD_ATTR_DEST", "dest"),
        ("IPVS_CMD_ATTR_DAEMON", "daemon"),
        ("IPVS_CMD_ATTR_TIMEOUT_TCP", "uint32"),
        ("IPVS_CMD_ATTR_TIMEOUT_TCP_FIN", "uint32"),
        ("IPVS_CMD_ATTR_TIMEOUT_UDP", "uint32"),
    )

    class service(nla):  # type: ignore[misc]  # noqa: N801
        prefix = "IPVS_SVC_ATTR_"
        nla_map = (
            ("IPVS_SVC_ATTR_UNSPEC", "none"),
            ("IPVS_SVC_ATTR_AF", "uint16"),
            ("IPVS_SVC_ATTR_PROTOCOL", "uint16"),
            ("IPVS_SVC_ATTR_ADDR", "cdata"),
            ("IPVS_SVC_ATTR_PORT", "be16"),
            ("IPVS_SVC_ATTR_FWMARK", "uint32"),
            ("IPVS_SVC_ATTR_SCHED_NAME", "asciiz"),
            ("IPVS_SVC_ATTR_FLAGS", "cdata"),
            ("IPVS_SVC_ATTR_TIMEOUT", "uint32"),
            ("IPVS_SVC_ATTR_NETMASK", "cdata"),
            ("IPVS_SVC_ATTR_STATS", "cdata"),
            ("IPVS_SVC_ATTR_PE_NAME", "asciiz"),
            ("IPVS_SVC_ATTR_STATS64", "cdata"),
        )

    class dest(nla):  # type: ignore[misc]  # noqa: N801
        prefix = "IPVS_DEST_ATTR_"
        nla_map = (
            ("IPVS_DEST_ATTR_UNSPEC", "none"),
            ("IPVS_DEST_ATTR_ADDR", "cdata"),
            ("IPVS_DEST_ATTR_PORT", "be16"),
            ("IPVS_DEST_ATTR_FWD_METHOD", "uint32"),
            ("IPVS_DEST_ATTR_WEIGHT", "uint32"),
            ("IPVS_DEST_ATTR_U_THRESH", "uint32"),
            ("IPVS_DEST_ATTR_L_THRESH", "uint32"),
            ("IPVS_DEST_ATTR_ACTIVE_CONNS", "uint32"),
            ("IPVS_DEST_ATTR_INACT_CONNS", "uint32"),
            ("IPVS_DEST_ATTR_PERSIST_CONNS", "uint32"),
            ("IPVS_DEST_ATTR_STATS", "cdata"),
            ("IPVS_DEST_ATTR_ADDR_FAMILY", "uint16"),
            ("IPVS_DEST_ATTR_STATS64", "cdata"),
            ("IPVS_DEST_ATTR_TUN_TYPE", "uint8"),
            ("IPVS_DEST_ATTR_TUN_PORT", "be16"),
            ("IPVS_DEST_ATTR_TUN_FLAGS", "uint16"),
        )

    class daemon(nla):  # type: ignore[misc]  # noqa: N801
        prefix = "IPVS_DAEMON_ATTR_"
        nla_map = (
            ("IPVS_DAEMON_ATTR_UNSPEC", "none"),
            ("IPVS_DAEMON_ATTR_STATE", "uint32"),
            ("IPVS_DAEMON_ATTR_MCAST_IFN", "asciiz"),
            ("IPVS_DAEMON_ATTR_SYNC_ID", "uint32"),
            ("IPVS_DAEMON_ATTR_SYNC_MAXLEN", "uint16"),
            ("IPVS_DAEMON_ATTR_MCAST_GROUP", "cdata"),
            ("IPVS_DAEMON_ATTR_MCAST_GROUP6", "cdata"),
            ("IPVS_DAEMON_ATTR_MCAST_PORT", "uint16"),
            ("IPVS_DAEMON_ATTR_MCAST_TTL", "uint8"),
        )


# ---- pure encoding / decoding ---------------------------------------------------------------

Attrs = list[tuple[str, Any]]


def _addr_bytes(address: IPAddress) -> bytes:
    return address.packed


def _decode_addr(raw: bytes, family: int) -> IPAddress:
    if family == AddressFamily.INET6:
        return ipaddress.IPv6Address(raw[:16])
    return ipaddress.IPv4Address(raw[:4])


def encode_netmask(family: AddressFamily, netmask: int) -> bytes:
    """IPv4: the mask in network order; IPv6: the prefix length as a host-order u32."""
    if family is AddressFamily.INET6:
        return struct.pack("=I", netmask)
    return struct.pack("!I", netmask)


def decode_netmask(family: int, raw: bytes) -> int:
    if family == AddressFamily.INET6:
        return int(struct.unpack("=I", raw[:4])[0])
    return int(struct.unpack("!I", raw[:4])[0])


def service_key_attrs(sid: ServiceId) -> Attrs:
    """The attributes naming a service."""
    attrs: Attrs = [("IPVS_SVC_ATTR_AF", int(sid.family))]
    if sid.is_fwmark:
        attrs.append(("IPVS_SVC_ATTR_FWMARK", sid.fwmark))
    else:
        assert sid.address is not None
        attrs += [
            ("IPVS_SVC_ATTR_PROTOCOL", sid.protocol),
            ("IPVS_SVC_ATTR_ADDR", _addr_bytes(sid.address)),
            ("IPVS_SVC_ATTR_PORT", sid.port),
        ]
    return attrs


def service_full_attrs(sid: ServiceId, attrs: ServiceAttrs) -> Attrs:
    """Key + scheduler, flags, timeout, netmask (+ persistence engine)."""
    out = service_key_attrs(sid)
    out += [
        ("IPVS_SVC_ATTR_SCHED_NAME", attrs.scheduler),
        ("IPVS_SVC_ATTR_FLAGS", struct.pack("=II", attrs.flags, ALL_FLAGS_MASK)),
        ("IPVS_SVC_ATTR_TIMEOUT", attrs.timeout_s),
        ("IPVS_SVC_ATTR_NETMASK", encode_netmask(sid.family, attrs.netmask)),
    ]
    if attrs.pe_name:
        out.append(("IPVS_SVC_ATTR_PE_NAME", attrs.pe_name))
    return out


def dest_attrs(dest: Dest, *, full: bool = True) -> Attrs:
    """A destination: address and port, and (``full``) its settings."""
    address = dest.id.address
    out: Attrs = [
        ("IPVS_DEST_ATTR_ADDR", _addr_bytes(address)),
        ("IPVS_DEST_ATTR_PORT", dest.id.port),
        ("IPVS_DEST_ATTR_ADDR_FAMILY", int(AddressFamily.of(address))),
    ]
    if not full:
        return out
    fwd = dest.forwarding
    out += [
        ("IPVS_DEST_ATTR_FWD_METHOD", int(fwd.method)),
        ("IPVS_DEST_ATTR_WEIGHT", dest.weight),
        ("IPVS_DEST_ATTR_U_THRESH", dest.u_threshold),
        ("IPVS_DEST_ATTR_L_THRESH", dest.l_threshold),
    ]
    if fwd.method is LbKind.TUN:
        out += [
            ("IPVS_DEST_ATTR_TUN_TYPE", int(fwd.tunnel_type)),
            ("IPVS_DEST_ATTR_TUN_PORT", fwd.tunnel_port),
            ("IPVS_DEST_ATTR_TUN_FLAGS", _tun_flags(fwd.tunnel_checksum)),
        ]
    return out


def _tun_flags(checksum: TunnelChecksum) -> int:
    """``IP_VS_TUNNEL_ENCAP_FLAG_*``: NOCSUM 0, CSUM 1 << 0, REMCSUM 1 << 1."""
    return {TunnelChecksum.NOCSUM: 0, TunnelChecksum.CSUM: 1, TunnelChecksum.REMCSUM: 2}[checksum]


def _from_tun_flags(flags: int) -> TunnelChecksum:
    if flags & 2:
        return TunnelChecksum.REMCSUM
    if flags & 1:
        return TunnelChecksum.CSUM
    return TunnelChecksum.NOCSUM


def _attr_map(nested: Any) -> dict[str, Any]:
    """A nested attribute's values by name (pyroute2 dumps give lists of (name, value))."""
    attrs = nested.get("attrs") if hasattr(nested, "get") else None
    return {name: value for name, value in (attrs or [])}


def decode_service(msg_attrs: dict[str, Any]) -> tuple[ServiceId, ServiceAttrs]:
    """A dumped service: its id and attributes (HASHED stripped)."""
    family = int(msg_attrs["IPVS_SVC_ATTR_AF"])
    fam = AddressFamily(family)
    fwmark = int(msg_attrs.get("IPVS_SVC_ATTR_FWMARK", 0) or 0)
    if fwmark:
        sid = ServiceId.for_fwmark(fwmark, fam)
    else:
        sid = ServiceId(
            fam,
            int(msg_attrs["IPVS_SVC_ATTR_PROTOCOL"]),
            _decode_addr(msg_attrs["IPVS_SVC_ATTR_ADDR"], family),
            int(msg_attrs["IPVS_SVC_ATTR_PORT"]),
        )
    flags = struct.unpack("=II", msg_attrs["IPVS_SVC_ATTR_FLAGS"][:8])[0]
    attrs = ServiceAttrs(
        scheduler=str(msg_attrs["IPVS_SVC_ATTR_SCHED_NAME"]),
        flags=int(flags) & ~int(ServiceFlag.HASHED),
        timeout_s=int(msg_attrs.get("IPVS_SVC_ATTR_TIMEOUT", 0)),
        netmask=decode_netmask(family, msg_attrs["IPVS_SVC_ATTR_NETMASK"]),
        pe_name=str(msg_attrs.get("IPVS_SVC_ATTR_PE_NAME", "") or ""),
    )
    return sid, attrs


def decode_dest(msg_attrs: dict[str, Any], service_family: int) -> Dest:
    family = int(msg_attrs.get("IPVS_DEST_ATTR_ADDR_FAMILY", service_family) or service_family)
    method = LbKind(int(msg_attrs["IPVS_DEST_ATTR_FWD_METHOD"]) & IP_VS_CONN_F_FWD_MASK)
    if method is LbKind.TUN:
        fwd = Forwarding(
            method,
            TunnelType(int(msg_attrs.get("IPVS_DEST_ATTR_TUN_TYPE", 0))),
            int(msg_attrs.get("IPVS_DEST_ATTR_TUN_PORT", 0)),
            _from_tun_flags(int(msg_attrs.get("IPVS_DEST_ATTR_TUN_FLAGS", 0))),
        )
    else:
        fwd = Forwarding(method)
    return Dest(
        DestId(
            _decode_addr(msg_attrs["IPVS_DEST_ATTR_ADDR"], family),
            int(msg_attrs["IPVS_DEST_ATTR_PORT"]),
        ),
        int(msg_attrs["IPVS_DEST_ATTR_WEIGHT"]),
        fwd,
        int(msg_attrs.get("IPVS_DEST_ATTR_U_THRESH", 0)),
        int(msg_attrs.get("IPVS_DEST_ATTR_L_THRESH", 0)),
    )


def op_request(op: Op) -> tuple[IpvsCmd, Attrs]:
    """The netlink command and attributes for one diff operation."""
    if isinstance(op, AddService | EditService):
        cmd = IpvsCmd.NEW_SERVICE if isinstance(op, AddService) else IpvsCmd.SET_SERVICE
        return cmd, [("IPVS_CMD_ATTR_SERVICE", service_full_attrs(op.id, op.service.attrs))]
    if isinstance(op, DelService):
        return IpvsCmd.DEL_SERVICE, [("IPVS_CMD_ATTR_SERVICE", service_key_attrs(op.id))]
    svc = ("IPVS_CMD_ATTR_SERVICE", service_key_attrs(op.service))
    if isinstance(op, AddDest):
        return IpvsCmd.NEW_DEST, [svc, ("IPVS_CMD_ATTR_DEST", dest_attrs(op.dest))]
    if isinstance(op, EditDest):
        return IpvsCmd.SET_DEST, [svc, ("IPVS_CMD_ATTR_DEST", dest_attrs(op.dest))]
    assert isinstance(op, DelDest)
    key = Dest(op.dest, 0)
    return IpvsCmd.DEL_DEST, [svc, ("IPVS_CMD_ATTR_DEST", dest_attrs(key, full=False))]


def _nested(attrs: Attrs) -> list[tuple[str, Any]]:
    return [(name, {"attrs": value} if isinstance(value, list) else value) for name, value in attrs]


@dataclass(frozen=True)
class SyncDaemon:
    """An IPVS connection sync daemon (keepalived's ``lvs_sync_daemon``)."""

    state: SyncState
    interface: str
    syncid: int = 0
    maxlen: int | None = None
    port: int | None = None
    ttl: int | None = None
    group: IPAddress | None = None

    def attrs(self, *, full: bool = True) -> Attrs:
        out: Attrs = [("IPVS_DAEMON_ATTR_STATE", int(self.state))]
        if not full:
            return out
        out += [
            ("IPVS_DAEMON_ATTR_MCAST_IFN", self.interface),
            ("IPVS_DAEMON_ATTR_SYNC_ID", self.syncid),
        ]
        if self.maxlen is not None:
            out.append(("IPVS_DAEMON_ATTR_SYNC_MAXLEN", self.maxlen))
        if self.port is not None:
            out.append(("IPVS_DAEMON_ATTR_MCAST_PORT", self.port))
        if self.ttl is not None:
            out.append(("IPVS_DAEMON_ATTR_MCAST_TTL", self.ttl))
        if isinstance(self.group, ipaddress.IPv4Address):
            out.append(("IPVS_DAEMON_ATTR_MCAST_GROUP", self.group.packed))
        elif isinstance(self.group, ipaddress.IPv6Address):
            out.append(("IPVS_DAEMON_ATTR_MCAST_GROUP6", self.group.packed))
        return out


# ---- the backend ------------------------------------------------------------------------------


def ensure_module(name: str = "ip_vs") -> bool:
    """Load a kernel module with modprobe (keepalived does the same); False if it failed."""
    modprobe = shutil.which("modprobe") or "/sbin/modprobe"
    try:
        proc = subprocess.run(
            [modprobe, "-q", name], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


class IpvsBackend:
    """The kernel's IPVS table over generic netlink (one request per operation)."""

    name = "ipvs"

    def __init__(self, *, load_module: bool = True) -> None:
        if load_module and not ensure_module("ip_vs"):
            log.debug("modprobe ip_vs failed; trying the netlink family anyway")
        # pyroute2's synchronous sockets drive an asyncio loop of their own, which cannot run
        # in a thread whose loop is already running (the checker worker's). Every socket call
        # therefore runs on this one private thread; callers just block for the netlink round
        # trip, as they would with a plain socket.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ipvs-netlink")
        try:
            self._sock = self._on_thread(self._open_socket)
        except BaseException:
            self._thread.shutdown(wait=False)
            raise
        self.kernel_ops = 0

    @staticmethod
    def _open_socket() -> GenericNetlinkSocket:
        sock = GenericNetlinkSocket()
        try:
            sock.bind(GENL_NAME, IpvsMsg)
        except (NetlinkError, OSError, RuntimeError) as exc:
            sock.close()
            raise BackendError(f"IPVS generic netlink family not available: {exc}") from exc
        return sock

    def _on_thread(self, fn: Callable[[], _T]) -> _T:
        return self._thread.submit(fn).result()

    # -- raw requests
    def _request(self, cmd: IpvsCmd, attrs: Attrs, *, dump: bool = False) -> list[Any]:
        msg = IpvsMsg()
        msg["cmd"] = int(cmd)
        msg["version"] = GENL_VERSION
        msg["attrs"] = _nested(attrs)
        flags = NLM_F_REQUEST | (NLM_F_DUMP if dump else NLM_F_ACK)
        self.kernel_ops += 1
        sock = self._sock
        return self._on_thread(
            lambda: list(sock.nlm_request(msg, msg_type=sock.prid, msg_flags=flags))
        )

    def request(self, cmd: IpvsCmd, attrs: Attrs, *, what: str = "") -> None:
        try:
            self._request(cmd, attrs)
        except NetlinkError as exc:
            text = what or cmd.name
            raise BackendError(f"IPVS {text}: {exc.args[1] if len(exc.args) > 1 else exc}") from exc

    # -- Backend protocol
    def check(self, state: LvsState) -> list[Diagnostic]:
        out: list[Diagnostic] = []
        for svc in state:
            if len(svc.attrs.scheduler) >= IP_VS_SCHEDNAME_MAXLEN:
                out.append(unsupported(svc, f"scheduler name {svc.attrs.scheduler!r} too long"))
        return out

    def read(self) -> LvsState:
        services: list[Service] = []
        try:
            for msg in self._request(IpvsCmd.GET_SERVICE, [], dump=True):
                svc_attrs = _attr_map(msg.get_attr("IPVS_CMD_ATTR_SERVICE"))
                if not svc_attrs:
                    continue
                sid, attrs = decode_service(svc_attrs)
                dests = tuple(self._read_dests(sid))
                services.append(Service(sid, attrs, dests))
        except NetlinkError as exc:
            raise BackendError(f"IPVS dump: {exc}") from exc
        return LvsState.of(services)

    def _read_dests(self, sid: ServiceId) -> list[Dest]:
        key = [("IPVS_CMD_ATTR_SERVICE", service_key_attrs(sid))]
        out: list[Dest] = []
        for msg in self._request(IpvsCmd.GET_DEST, key, dump=True):
            dest_map = _attr_map(msg.get_attr("IPVS_CMD_ATTR_DEST"))
            if dest_map:
                out.append(decode_dest(dest_map, int(sid.family)))
        return out

    def apply(self, ops: Sequence[Op]) -> int:
        for op in ops:
            cmd, attrs = op_request(op)
            self.request(cmd, attrs, what=describe(op))
        return len(ops)

    def flush(self) -> None:
        self.request(IpvsCmd.FLUSH, [], what="flush")

    def close(self) -> None:
        try:
            self._on_thread(self._sock.close)
        finally:
            self._thread.shutdown(wait=True)

    # -- sync daemon and timeouts
    def start_sync_daemon(self, daemon: SyncDaemon) -> None:
        self.request(
            IpvsCmd.NEW_DAEMON,
            [("IPVS_CMD_ATTR_DAEMON", daemon.attrs())],
            what=f"start sync daemon {daemon.state.name}",
        )

    def stop_sync_daemon(self, state: SyncState) -> None:
        daemon = SyncDaemon(state, "")
        self.request(
            IpvsCmd.DEL_DAEMON,
            [("IPVS_CMD_ATTR_DAEMON", daemon.attrs(full=False))],
            what=f"stop sync daemon {state.name}",
        )

    def sync_daemons(self) -> list[dict[str, Any]]:
        """The running sync daemons as attribute maps."""
        out = []
        for msg in self._request(IpvsCmd.GET_DAEMON, [], dump=True):
            found = _attr_map(msg.get_attr("IPVS_CMD_ATTR_DAEMON"))
            if found:
                out.append(found)
        return out

    def set_timeouts(self, tcp_s: int, tcpfin_s: int, udp_s: int) -> None:
        """``ipvsadm --set``; 0 leaves a value unchanged."""
        self.request(
            IpvsCmd.SET_CONFIG,
            [
                ("IPVS_CMD_ATTR_TIMEOUT_TCP", tcp_s),
                ("IPVS_CMD_ATTR_TIMEOUT_TCP_FIN", tcpfin_s),
                ("IPVS_CMD_ATTR_TIMEOUT_UDP", udp_s),
            ],
            what="set timeouts",
        )


def describe(op: Op) -> str:
    """A readable one-liner for logs and errors."""
    if isinstance(op, AddService | EditService):
        verb = "add" if isinstance(op, AddService) else "edit"
        return f"{verb} service {op.id} ({op.service.attrs.scheduler})"
    if isinstance(op, DelService):
        return f"delete service {op.id}"
    if isinstance(op, AddDest | EditDest):
        verb = "add" if isinstance(op, AddDest) else "edit"
        return f"{verb} {op.dest.id} weight {op.dest.weight} to {op.service}"
    return f"delete {op.dest} from {op.service}"
