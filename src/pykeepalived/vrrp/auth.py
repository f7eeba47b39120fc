"""VRRPv2 authentication: simple password (PASS) and IPsec AH with HMAC-MD5-96.

Both exist only for VRRPv2 over IPv4 (RFC 2338 §5.3.6; removed by RFC 3768, kept by keepalived).

PASS: the password, truncated/zero-padded to 8 bytes, travels in clear in the 8 auth bytes.

AH, as keepalived lays it out (``vrrp_ipsecah.h``, ``vrrp_update_pkt()``/``vrrp_in_chk_ipsecah()``
in ``vrrp.c``): a 24-byte RFC 2402 header between the IPv4 header (protocol 51) and the VRRP
message::

    next_header=112 | payload_len=4 | reserved=0 | SPI = IPv4 source address
    sequence number (starts at 1, +1 per advert) | ICV (12 bytes: HMAC-MD5 truncated to 96 bits)

The ICV key is keepalived's 8-byte ``auth_data`` (the ``auth_pass`` zero-padded). It is computed
over the IPv4 header with TOS, flags/fragment offset and header checksum zeroed (and the TTL too
when the instance is unicast), then the AH header with a zero ICV, then the VRRP message (whose 8
auth bytes are zero). The IP identification stays in, so the ICV changes with every advert.
"""

from __future__ import annotations

import hmac
import struct
from dataclasses import dataclass
from enum import IntEnum

__all__ = [
    "AH_HEADER_LEN",
    "AH_ICV_LEN",
    "AH_PAYLOAD_LEN",
    "AUTH_DATA_LEN",
    "AhHeader",
    "AuthType",
    "ah_icv",
    "auth_data_from_password",
    "check_password",
]

AUTH_DATA_LEN = 8
"""Size of the v2 authentication data field and of keepalived's ``auth_data`` key."""
AH_HEADER_LEN = 24
"""Size of keepalived's AH header (``ipsec_ah_t``)."""
AH_ICV_LEN = 12
"""HMAC-MD5-96: the MD5 HMAC truncated to 96 bits."""
AH_PAYLOAD_LEN = 4
"""AH ``payload_len``: header length in 32-bit words minus 2, (3 + 3) - 2."""

_AH_FIXED = struct.Struct("!BBHII")


class AuthType(IntEnum):
    """VRRPv2 ``Auth Type`` field values."""

    NONE = 0
    PASS = 1
    AH = 2


def auth_data_from_password(password: str | bytes) -> bytes:
    """Return keepalived's 8-byte ``auth_data`` for an ``auth_pass``: truncated, zero-padded.

    keepalived keeps only the first 8 characters (it warns about longer passwords).
    """
    raw = password.encode() if isinstance(password, str) else bytes(password)
    return raw[:AUTH_DATA_LEN].ljust(AUTH_DATA_LEN, b"\x00")


def check_password(received: bytes, auth_data: bytes) -> bool:
    """Compare a received 8-byte auth field with ours in constant time."""
    return hmac.compare_digest(received, auth_data)


@dataclass(frozen=True, slots=True)
class AhHeader:
    """An IPsec AH header as keepalived sends it."""

    spi: int
    """Security Parameter Index: keepalived puts the sender's IPv4 address (as a u32) here."""
    seq_number: int
    """Anti-replay sequence number (u32), incremented for each advert."""
    icv: bytes = bytes(AH_ICV_LEN)
    """The 12-byte Integrity Check Value (HMAC-MD5-96)."""
    next_header: int = 112
    """Protocol of what follows the AH header (VRRP)."""
    payload_len: int = AH_PAYLOAD_LEN
    """AH length in 32-bit words minus 2."""
    reserved: int = 0
    """Reserved, zero."""

    def encode(self, *, zero_icv: bool = False) -> bytes:
        """Return the 24 wire bytes; ``zero_icv`` gives the form the ICV is computed over."""
        icv = bytes(AH_ICV_LEN) if zero_icv else self.icv
        if len(icv) != AH_ICV_LEN:
            raise ValueError(f"AH ICV must be {AH_ICV_LEN} bytes")
        fixed = _AH_FIXED.pack(
            self.next_header, self.payload_len, self.reserved, self.spi, self.seq_number
        )
        return fixed + icv

    @classmethod
    def decode(cls, data: bytes) -> AhHeader:
        """Parse the first 24 bytes of ``data`` (the caller has checked the length)."""
        next_header, payload_len, reserved, spi, seq = _AH_FIXED.unpack_from(data)
        return cls(
            spi=spi,
            seq_number=seq,
            icv=bytes(data[12:AH_HEADER_LEN]),
            next_header=next_header,
            payload_len=payload_len,
            reserved=reserved,
        )


def ah_icv(
    ip_header: bytes, ah: AhHeader, vrrp_message: bytes, key: bytes, *, zero_ttl: bool
) -> bytes:
    """Return the 12-byte ICV keepalived computes for an AH-protected advert.

    ``ip_header`` is the IPv4 header as sent/received (options included); its mutable fields
    (TOS, flags+fragment offset, checksum, and the TTL when ``zero_ttl``, i.e. unicast) are
    zeroed here. ``key`` is the 8-byte ``auth_data``.
    """
    hdr = bytearray(ip_header)
    hdr[1] = 0  # TOS
    hdr[6:8] = b"\x00\x00"  # flags + fragment offset
    hdr[10:12] = b"\x00\x00"  # header checksum
    if zero_ttl:
        hdr[8] = 0
    mac = hmac.new(key, digestmod="md5")
    mac.update(bytes(hdr))
    mac.update(ah.encode(zero_icv=True))
    mac.update(vrrp_message)
    return mac.digest()[:AH_ICV_LEN]
