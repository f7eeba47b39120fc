"""Health checkers of a real server (keepalived's ``TCP_CHECK``, ``HTTP_GET``, ... blocks).

Every value is *resolved* as keepalived resolves it when it validates the config
(``validate_check_config()``): a checker that does not set ``retry`` takes the real server's,
else the virtual server's, else the checker type's default, and so on. Consumers never need to
look anything up. Timers are seconds (microsecond resolution).
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass, field
from typing import ClassVar

from pykeepalived.config.errors import Location
from pykeepalived.config.model.common import Script

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NOWHERE = Location("<model>", 0, 0)

# HTTP status codes keepalived accepts in ``status_code`` (check_http.h)
HTTP_STATUS_CODE_MIN = 100
HTTP_STATUS_CODE_MAX = 599
HTTP_DEFAULT_STATUS_CODES: tuple[tuple[int, int], ...] = ((200, 299),)

SMTP_DEFAULT_HELO = "smtpchecker.keepalived.org"
DNS_DEFAULT_NAME = "."
UDP_DEFAULT_MAX_REPLY_LENGTH = 255


class CheckerType(enum.StrEnum):
    """The block keyword of each checker."""

    TCP = "TCP_CHECK"
    HTTP = "HTTP_GET"
    SSL = "SSL_GET"
    MISC = "MISC_CHECK"
    SMTP = "SMTP_CHECK"
    DNS = "DNS_CHECK"
    UDP = "UDP_CHECK"
    PING = "PING_CHECK"
    FILE = "FILE_CHECK"
    BFD = "BFD_CHECK"


class HttpProtocol(enum.StrEnum):
    """``http_protocol``: 1.0C is HTTP/1.0 with ``Connection: close``."""

    HTTP_1_0 = "1.0"
    HTTP_1_0C = "1.0C"
    HTTP_1_1 = "1.1"


class DnsType(enum.IntEnum):
    """DNS query types DNS_CHECK can send (RR type codes on the wire)."""

    A = 1
    NS = 2
    CNAME = 5
    SOA = 6
    MX = 15
    TXT = 16
    AAAA = 28
    RRSIG = 46
    DNSKEY = 48


@dataclass(frozen=True, kw_only=True, slots=True)
class ConnOpts:
    """Where a network checker connects and from where.

    ``connect_ip`` / ``connect_port`` are resolved to the real server's address and port when
    not configured; ``bindto`` etc. are ``None`` when not configured.
    """

    connect_ip: IPAddress
    connect_port: int
    bindto: IPAddress | None = None
    bind_port: int | None = None
    bind_if: str | None = None
    fwmark: int | None = None
    connect_timeout_s: float = 5.0


@dataclass(frozen=True, kw_only=True, slots=True)
class CheckerCommon:
    """Keywords every scheduled checker has (``install_checker_common_keywords()``).

    - ``retry``: extra attempts after a failure before the checker is declared down.
    - ``delay_before_retry_s``: the spacing of those attempts.
    - ``delay_loop_s``: the check period; ``warmup_s``: random initial delay upper bound.
    - ``alpha``: start down until the first success.
    """

    retry: int
    delay_before_retry_s: float
    delay_loop_s: float
    warmup_s: float
    alpha: bool = False
    log_all_failures: bool = False
    location: Location = field(default=_NOWHERE, compare=False)

    kind: ClassVar[CheckerType]


@dataclass(frozen=True, kw_only=True, slots=True)
class TcpCheck(CheckerCommon):
    """``TCP_CHECK``: up when a TCP connection completes within the connect timeout."""

    conn: ConnOpts

    kind = CheckerType.TCP


@dataclass(frozen=True, kw_only=True, slots=True)
class HttpUrl:
    """One ``url { }`` of HTTP_GET / SSL_GET.

    - ``digest``: MD5 of the body, 32 lower-case hex digits.
    - ``status_codes``: accepted codes as sorted, merged inclusive ranges.
    - ``regex_max_offset``: as written (``None`` if not set).
    - ``regex_stack``: (start, max) JIT stack sizes if given.
    """

    path: str
    digest: str | None = None
    status_codes: tuple[tuple[int, int], ...] = HTTP_DEFAULT_STATUS_CODES
    virtualhost: str | None = None
    regex: str | None = None
    regex_no_match: bool = False
    regex_options: tuple[str, ...] = ()
    regex_min_offset: int = 0
    regex_max_offset: int | None = None
    regex_stack: tuple[int, int] | None = None
    location: Location = field(default=_NOWHERE, compare=False)

    def accepts(self, status: int) -> bool:
        return any(lo <= status <= hi for lo, hi in self.status_codes)


@dataclass(frozen=True, kw_only=True, slots=True)
class HttpCheckBase(CheckerCommon):
    """What HTTP_GET and SSL_GET share: every URL must answer with an accepted status (and
    match its digest/regex).

    ``virtualhost`` is resolved from the real server / virtual server when not set on the
    checker; a URL's own ``virtualhost`` overrides it.
    """

    conn: ConnOpts
    urls: tuple[HttpUrl, ...]
    http_protocol: HttpProtocol = HttpProtocol.HTTP_1_0
    virtualhost: str | None = None
    enable_sni: bool = False
    fast_recovery: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class HttpGetCheck(HttpCheckBase):
    """``HTTP_GET``: plain HTTP."""

    kind = CheckerType.HTTP


@dataclass(frozen=True, kw_only=True, slots=True)
class SslGetCheck(HttpCheckBase):
    """``SSL_GET``: HTTP over TLS (client context from the ``SSL { }`` block)."""

    kind = CheckerType.SSL


@dataclass(frozen=True, kw_only=True, slots=True)
class MiscCheck(CheckerCommon):
    """``MISC_CHECK``: runs ``script``; exit 0 is up (with ``dynamic``, 2..255 set weight-2).

    ``timeout_s`` is resolved: ``misc_timeout`` if set (and not 0), else the virtual server's
    ``delay_loop``.
    """

    script: Script
    timeout_s: float
    dynamic: bool = False

    kind = CheckerType.MISC


@dataclass(frozen=True, kw_only=True, slots=True)
class SmtpCheck(CheckerCommon):
    """``SMTP_CHECK``: expects 220, sends HELO, expects 250.

    keepalived turns every deprecated ``host { }`` sub-block into a checker of its own, next to
    the block's own checker; so does this model (each has its own ``conn``).
    """

    conn: ConnOpts
    helo_name: str = SMTP_DEFAULT_HELO

    kind = CheckerType.SMTP


@dataclass(frozen=True, kw_only=True, slots=True)
class DnsCheck(CheckerCommon):
    """``DNS_CHECK``: a query of ``type`` for ``name`` must get a NOERROR answer."""

    conn: ConnOpts
    type: DnsType = DnsType.SOA
    name: str = DNS_DEFAULT_NAME

    kind = CheckerType.DNS


@dataclass(frozen=True, kw_only=True, slots=True)
class UdpCheck(CheckerCommon):
    """``UDP_CHECK``: sends ``payload`` (random if ``None``).

    Without ``require_reply`` it is up unless an ICMP unreachable comes back; with it a reply
    of ``min_reply_length``..``max_reply_length`` octets is needed whose first octets match
    ``reply_data`` where ``reply_mask`` has zero bits (mask bits set = wildcard nibbles).
    """

    conn: ConnOpts
    payload: bytes | None = None
    require_reply: bool = False
    reply_data: bytes | None = None
    reply_mask: bytes | None = None
    min_reply_length: int = 0
    max_reply_length: int = UDP_DEFAULT_MAX_REPLY_LENGTH

    kind = CheckerType.UDP


@dataclass(frozen=True, kw_only=True, slots=True)
class PingCheck(CheckerCommon):
    """``PING_CHECK``: ICMP / ICMPv6 echo."""

    conn: ConnOpts

    kind = CheckerType.PING


@dataclass(frozen=True, kw_only=True, slots=True)
class FileCheck:
    """``FILE_CHECK``: follows the value in a ``track_file``.

    ``weight`` / ``reverse`` are the block's, else the track_file's own (resolved when the
    track_file was read before); ``None`` only when the track_file was not known.
    """

    track_file: str
    weight: int | None = None
    reverse: bool = False
    location: Location = field(default=_NOWHERE, compare=False)

    kind: ClassVar[CheckerType] = CheckerType.FILE


@dataclass(frozen=True, kw_only=True, slots=True)
class BfdCheck:
    """``BFD_CHECK``: the real server follows the BFD session ``name``."""

    name: str
    alpha: bool = False
    location: Location = field(default=_NOWHERE, compare=False)

    kind: ClassVar[CheckerType] = CheckerType.BFD


NetworkChecker = TcpCheck | HttpGetCheck | SslGetCheck | SmtpCheck | DnsCheck | UdpCheck | PingCheck

Checker = (
    TcpCheck
    | HttpGetCheck
    | SslGetCheck
    | MiscCheck
    | SmtpCheck
    | DnsCheck
    | UdpCheck
    | PingCheck
    | FileCheck
    | BfdCheck
)

__all__ = [
    "DNS_DEFAULT_NAME",
    "HTTP_DEFAULT_STATUS_CODES",
    "HTTP_STATUS_CODE_MAX",
    "HTTP_STATUS_CODE_MIN",
    "SMTP_DEFAULT_HELO",
    "UDP_DEFAULT_MAX_REPLY_LENGTH",
    "BfdCheck",
    "Checker",
    "CheckerCommon",
    "CheckerType",
    "ConnOpts",
    "DnsCheck",
    "DnsType",
    "FileCheck",
    "HttpCheckBase",
    "HttpGetCheck",
    "HttpProtocol",
    "HttpUrl",
    "IPAddress",
    "MiscCheck",
    "NetworkChecker",
    "PingCheck",
    "SmtpCheck",
    "SslGetCheck",
    "TcpCheck",
    "UdpCheck",
]
