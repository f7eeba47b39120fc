"""The LVS / IPVS part of the config: ``SSL``, ``virtual_server_group`` and ``virtual_server``.

Values are resolved the way keepalived's ``validate_check_config()`` resolves them: a real
server that does not set ``weight`` has the virtual server's, a missing forwarding method is
NAT, a NAT real server without a port has the virtual server's port, DR/TUN ports are reset to
the virtual server's, fwmark services have port-less real servers, the quorum is capped to the
total weight, and so on. Wire constants are IntEnums with the kernel's values.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass, field

from pykeepalived.config.errors import Location
from pykeepalived.config.model.checkers import Checker
from pykeepalived.config.model.common import Script

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NOWHERE = Location("<model>", 0, 0)

# include/linux/ip_vs.h and keepalived's check_data.h
IPVS_SVC_PERSISTENT_TIMEOUT_S = 360
LVS_MAX_TIMEOUT_S = 86400 * 31
IPVS_WEIGHT_LIMIT = 2147483647
IPVS_FWMARK_MAX = 4294967295
IP_VS_PENAME_MAXLEN = 16
KEEPALIVED_DEFAULT_DELAY_S = 60.0
DEFAULT_CONNECT_TIMEOUT_S = 5.0


class AddressFamily(enum.IntEnum):
    """Linux address family numbers."""

    INET = 2
    INET6 = 10

    @property
    def keyword(self) -> str:
        return "inet" if self is AddressFamily.INET else "inet6"

    @classmethod
    def of(cls, address: IPAddress) -> AddressFamily:
        return cls.INET if address.version == 4 else cls.INET6


class Protocol(enum.IntEnum):
    """``protocol``: the IP protocol number of the service."""

    TCP = 6
    UDP = 17
    SCTP = 132


class LbAlgo(enum.StrEnum):
    """IPVS schedulers keepalived 2.2.7 accepts in ``lb_algo`` / ``lvs_sched``."""

    RR = "rr"
    WRR = "wrr"
    LC = "lc"
    WLC = "wlc"
    LBLC = "lblc"
    SH = "sh"
    MH = "mh"
    DH = "dh"
    FO = "fo"
    OVF = "ovf"
    LBLCR = "lblcr"
    SED = "sed"
    NQ = "nq"
    TWOS = "twos"


DEFAULT_LB_ALGO = LbAlgo.WLC


class ServiceFlag(enum.IntFlag):
    """IPVS service flags (``IP_VS_SVC_F_*``). The sh/mh flags share the SCHED bits."""

    NONE = 0
    PERSISTENT = 0x0001
    HASHED = 0x0002
    ONEPACKET = 0x0004
    SCHED1 = 0x0008
    SCHED2 = 0x0010
    SCHED3 = 0x0020

    SH_FALLBACK = SCHED1
    SH_PORT = SCHED2
    MH_FALLBACK = SCHED1
    MH_PORT = SCHED2


class LbKind(enum.IntEnum):
    """Forwarding method (``IP_VS_CONN_F_*``)."""

    NAT = 0  # IP_VS_CONN_F_MASQ
    TUN = 2  # IP_VS_CONN_F_TUNNEL
    DR = 3  # IP_VS_CONN_F_DROUTE


class TunnelType(enum.IntEnum):
    """``IP_VS_CONN_F_TUNNEL_TYPE_*``."""

    IPIP = 0
    GUE = 1
    GRE = 2


class TunnelChecksum(enum.IntEnum):
    """``IP_VS_TUNNEL_ENCAP_FLAG_*``."""

    NOCSUM = 0
    CSUM = 1
    REMCSUM = 2


@dataclass(frozen=True, slots=True)
class Forwarding:
    """A forwarding method with its tunnel options (only meaningful for TUN)."""

    method: LbKind = LbKind.NAT
    tunnel_type: TunnelType = TunnelType.IPIP
    tunnel_port: int = 0
    tunnel_checksum: TunnelChecksum = TunnelChecksum.NOCSUM


@dataclass(frozen=True, slots=True)
class SslConfig:
    """The ``SSL { }`` client context for SSL_GET; all ``None`` = generated automatically."""

    password: str | None = None
    ca: str | None = None
    certificate: str | None = None
    key: str | None = None
    location: Location = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class VsgAddressRange:
    """A ``virtual_server_group`` address entry: ``first``..``last`` inclusive, ``port`` 0 =
    no port (persistent services only)."""

    first: IPAddress
    last: IPAddress
    port: int = 0
    location: Location = field(default=_NOWHERE, compare=False)

    @property
    def family(self) -> AddressFamily:
        return AddressFamily.of(self.first)

    def addresses(self) -> list[IPAddress]:
        first = int(self.first)
        last = int(self.last)
        cls = type(self.first)
        return [cls(i) for i in range(first, last + 1)]


@dataclass(frozen=True, slots=True)
class VsgFwmark:
    """A ``virtual_server_group`` ``fwmark N [inet|inet6]`` entry."""

    fwmark: int
    family: AddressFamily | None = None
    location: Location = field(default=_NOWHERE, compare=False)


VsgEntry = VsgAddressRange | VsgFwmark


@dataclass(frozen=True, slots=True)
class VirtualServerGroup:
    """``virtual_server_group NAME { entries }`` (entries in file order)."""

    name: str
    entries: tuple[VsgEntry, ...]
    location: Location = field(default=_NOWHERE, compare=False)

    @property
    def address_ranges(self) -> tuple[VsgAddressRange, ...]:
        return tuple(e for e in self.entries if isinstance(e, VsgAddressRange))

    @property
    def fwmarks(self) -> tuple[VsgFwmark, ...]:
        return tuple(e for e in self.entries if isinstance(e, VsgFwmark))


@dataclass(frozen=True, slots=True)
class AddressService:
    """``virtual_server IP PORT``; ``port`` 0 means a port-less (persistent) service."""

    address: IPAddress
    port: int = 0


@dataclass(frozen=True, slots=True)
class FwmarkService:
    """``virtual_server fwmark N``."""

    fwmark: int


@dataclass(frozen=True, slots=True)
class GroupService:
    """``virtual_server group NAME``."""

    name: str


ServiceId = AddressService | FwmarkService | GroupService


@dataclass(frozen=True, slots=True)
class SorryServer:
    """``sorry_server IP [PORT]``: used while the quorum is lost."""

    address: IPAddress
    port: int = 0
    inhibit: bool = False
    forwarding: Forwarding = field(default_factory=Forwarding)
    location: Location = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class RealServer:
    """``real_server IP [PORT] { }``, with every value resolved from its virtual server.

    ``retry`` / ``delay_before_retry_s`` / ``warmup_s`` stay ``None`` when neither the real
    server nor the virtual server sets them (each checker then uses its type's default).
    ``smtp_alert`` is resolved; ``smtp_alert_configured`` is what the block said.
    """

    address: IPAddress
    port: int
    weight: int
    forwarding: Forwarding
    inhibit_on_failure: bool = False
    alpha: bool = False
    connect_timeout_s: float = 5.0
    delay_loop_s: float = KEEPALIVED_DEFAULT_DELAY_S
    retry: int | None = None
    delay_before_retry_s: float | None = None
    warmup_s: float | None = None
    uthreshold: int = 0
    lthreshold: int = 0
    virtualhost: str | None = None
    notify_up: Script | None = None
    notify_down: Script | None = None
    smtp_alert: bool = True
    smtp_alert_configured: bool | None = None
    snmp_name: str | None = None
    checkers: tuple[Checker, ...] = ()
    location: Location = field(default=_NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class VirtualServer:
    """``virtual_server IP PORT | fwmark N | group NAME { }``.

    - ``family``: the service's address family (``None`` for a group with both families).
    - ``protocol``: ``None`` for fwmark services (keepalived ignores it there).
    - ``forwarding``: ``None`` only when every real server (and sorry server) sets its own.
    - ``persistence_timeout_s``: 0 = not persistent.
    - ``persistence_granularity``: an IPv4 netmask or an IPv6 prefix length.
    """

    service: ServiceId
    family: AddressFamily | None
    protocol: Protocol | None
    lb_algo: LbAlgo = DEFAULT_LB_ALGO
    flags: ServiceFlag = ServiceFlag.NONE
    forwarding: Forwarding | None = field(default_factory=Forwarding)
    persistence_timeout_s: int = 0
    persistence_granularity: ipaddress.IPv4Address | int | None = None
    persistence_engine: str | None = None
    ha_suspend: bool = False
    delay_loop_s: float = KEEPALIVED_DEFAULT_DELAY_S
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    retry: int | None = None
    delay_before_retry_s: float | None = None
    warmup_s: float | None = None
    inhibit_on_failure: bool = False
    alpha: bool = False
    omega: bool = False
    quorum: int = 1
    hysteresis: int = 0
    quorum_up: Script | None = None
    quorum_down: Script | None = None
    sorry_server: SorryServer | None = None
    virtualhost: str | None = None
    smtp_alert: bool = False
    smtp_alert_configured: bool | None = None
    snmp_name: str | None = None
    weight: int = 1
    real_servers: tuple[RealServer, ...] = ()
    location: Location = field(default=_NOWHERE, compare=False)

    @property
    def total_weight(self) -> int:
        return sum(rs.weight for rs in self.real_servers)


@dataclass(frozen=True, slots=True)
class LvsConfig:
    """Everything the checker process of keepalived reads."""

    ssl: SslConfig | None = None
    virtual_server_groups: tuple[VirtualServerGroup, ...] = ()
    virtual_servers: tuple[VirtualServer, ...] = ()

    def group(self, name: str) -> VirtualServerGroup | None:
        for vsg in self.virtual_server_groups:
            if vsg.name == name:
                return vsg
        return None


__all__ = [
    "DEFAULT_CONNECT_TIMEOUT_S",
    "DEFAULT_LB_ALGO",
    "IPVS_FWMARK_MAX",
    "IPVS_SVC_PERSISTENT_TIMEOUT_S",
    "IPVS_WEIGHT_LIMIT",
    "IP_VS_PENAME_MAXLEN",
    "KEEPALIVED_DEFAULT_DELAY_S",
    "LVS_MAX_TIMEOUT_S",
    "AddressFamily",
    "AddressService",
    "Forwarding",
    "FwmarkService",
    "GroupService",
    "IPAddress",
    "LbAlgo",
    "LbKind",
    "LvsConfig",
    "Protocol",
    "RealServer",
    "ServiceFlag",
    "ServiceId",
    "SorryServer",
    "SslConfig",
    "TunnelChecksum",
    "TunnelType",
    "VirtualServer",
    "VirtualServerGroup",
    "VsgAddressRange",
    "VsgEntry",
    "VsgFwmark",
]
