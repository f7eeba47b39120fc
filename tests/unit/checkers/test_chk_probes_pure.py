"""Wire formats and verdicts of the probes: HTTP request/response, DNS, UDP, SMTP, MISC, FILE."""

from __future__ import annotations

import hashlib
import ipaddress
import struct

import pytest

from pykeepalived.checkers import dns, file, http, misc, ping, smtp, udp
from pykeepalived.checkers.base import Reason
from pykeepalived.config.model.checkers import ConnOpts, HttpProtocol, HttpUrl, UdpCheck
from pykeepalived.notify.scripts import ScriptResult

pytestmark = pytest.mark.unit

V4 = ipaddress.IPv4Address("192.0.2.7")
V6 = ipaddress.IPv6Address("2001:db8::7")


@pytest.mark.parametrize(
    ("protocol", "vhost", "addr", "expected"),
    [
        (
            HttpProtocol.HTTP_1_0,
            None,
            V4,
            b"GET /x HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 192.0.2.7:8081\r\n\r\n",
        ),
        (
            HttpProtocol.HTTP_1_1,
            "foo.example",
            V4,
            b"GET /x HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\n"
            b"Host: foo.example\r\n\r\n",
        ),
        (
            HttpProtocol.HTTP_1_0C,
            None,
            V6,
            b"GET /x HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\n"
            b"Host: [2001:db8::7]:8081\r\n\r\n",
        ),
    ],
)
def test_request_bytes(
    protocol: HttpProtocol,
    vhost: str | None,
    addr: ipaddress.IPv4Address | ipaddress.IPv6Address,
    expected: bytes,
) -> None:
    assert http.build_request("/x", http.host_header(vhost, addr, 8081), protocol) == expected


def response(body: bytes, status: str = "200 OK", length: bool = True) -> http.HttpResponse:
    head = f"HTTP/1.1 {status}\r\nServer: t\r\n".encode()
    if length:
        head += f"Content-Length: {len(body)}\r\n".encode()
    r = http.HttpResponse(keep_body=1 << 16)
    raw = head + b"\r\n" + body + (b"TRAILING-GARBAGE" if length else b"")
    for i in range(0, len(raw), 7):  # fed in odd pieces
        r.feed(raw[i : i + 7])
    r.finish()
    return r


def test_response_parsing_and_digest_of_body_only() -> None:
    r = response(b"hello world")
    assert r.status_code == 200
    assert r.content_length == 11
    assert r.complete
    assert r.digest == hashlib.md5(b"hello world").hexdigest()
    no_len = response(b"abc", length=False)
    assert no_len.digest == hashlib.md5(b"abc").hexdigest()


@pytest.mark.parametrize(
    ("url", "resp", "reason"),
    [
        (HttpUrl(path="/"), response(b"x"), Reason.OK),
        (HttpUrl(path="/"), response(b"x", "503 Unavailable"), Reason.STATUS_CODE),
        (HttpUrl(path="/", status_codes=((500, 503),)), response(b"x", "503 U"), Reason.OK),
        (HttpUrl(path="/", digest=hashlib.md5(b"x").hexdigest()), response(b"x"), Reason.OK),
        (
            HttpUrl(path="/", digest=hashlib.md5(b"y").hexdigest()),
            response(b"x"),
            Reason.DIGEST_MISMATCH,
        ),
        (HttpUrl(path="/", regex="wor+ld"), response(b"hello world"), Reason.OK),
        (HttpUrl(path="/", regex="^nope"), response(b"hello world"), Reason.REGEX),
        (
            HttpUrl(path="/", regex="nope", regex_no_match=True),
            response(b"hello world"),
            Reason.OK,
        ),
        (
            HttpUrl(path="/", regex="world", regex_max_offset=3),
            response(b"hello world"),
            Reason.REGEX,
        ),
        (
            HttpUrl(path="/", regex="HELLO", regex_options=("caseless",)),
            response(b"hello"),
            Reason.OK,
        ),
        (HttpUrl(path="/"), http.HttpResponse(), Reason.NO_DATA),
    ],
)
def test_judge(url: HttpUrl, resp: http.HttpResponse, reason: Reason) -> None:
    assert http.judge(url, resp, http.compile_regex(url)).reason is reason


def test_status_line_parsing() -> None:
    assert http.parse_status_code(b"HTTP/1.0 404 Not Found") == 404
    assert http.parse_status_code(b"garbage") == 0
    assert http.parse_status_code(b"HTTP/1.1") == 0


def test_dns_query_encoding() -> None:
    q = dns.encode_query(0x1234, "www.example.org", 1)
    assert q[:12] == struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
    assert q[12:] == b"\x03www\x07example\x03org\x00" + b"\x00\x01\x00\x01"
    assert dns.encode_query(1, ".", 6)[12:] == b"\x00\x00\x06\x00\x01"
    with pytest.raises(dns.DnsCodecError):
        dns.encode_name("a..b")


def test_dns_reply_judgement() -> None:
    ok = struct.pack("!HHHHHH", 7, 0x8180, 1, 1, 0, 0)
    assert dns.judge_reply(7, ok).success
    assert dns.judge_reply(8, ok).reason is Reason.DNS_ID_MISMATCH
    assert dns.judge_reply(7, struct.pack("!HHHHHH", 7, 0x0100, 1, 0, 0, 0)).reason is (
        Reason.DNS_NOT_RESPONSE
    )
    assert dns.judge_reply(7, struct.pack("!HHHHHH", 7, 0x8183, 1, 0, 0, 0)).reason is (
        Reason.DNS_RCODE
    )
    assert dns.judge_reply(7, b"\x00").reason is Reason.BAD_REPLY


def test_udp_reply_mask() -> None:
    conn = ConnOpts(connect_ip=V4, connect_port=53)
    check = UdpCheck(
        retry=1, delay_before_retry_s=1, delay_loop_s=1, warmup_s=0, conn=conn,
        require_reply=True, reply_data=bytes.fromhex("ab00"), reply_mask=bytes.fromhex("00f0"),
        min_reply_length=2, max_reply_length=4,
    )  # fmt: skip
    # mask bits set = wildcard: the second octet's high nibble may be anything
    assert udp.judge_reply(check, bytes.fromhex("ab70")).success
    assert udp.judge_reply(check, bytes.fromhex("abf0")).success
    assert not udp.judge_reply(check, bytes.fromhex("ab05")).success
    assert not udp.judge_reply(check, bytes.fromhex("ab75")).success
    assert not udp.judge_reply(check, bytes.fromhex("ac00")).success
    assert not udp.judge_reply(check, bytes.fromhex("ab00000000")).success  # too long
    assert not udp.judge_reply(check, bytes.fromhex("ab")).success  # too short


def test_smtp_reply_parsing() -> None:
    assert smtp.reply_complete(b"220 ready\r\n")
    assert not smtp.reply_complete(b"220-first\r\n")
    assert smtp.reply_complete(b"220-first\r\n220 second\r\n")
    assert smtp.reply_code(b"220-first\r\n250 second\r\n") == 250
    assert smtp.reply_code(b"junk\r\n") == 0


@pytest.mark.parametrize(
    ("result", "dynamic", "success", "weight"),
    [
        (ScriptResult(0, None, False, 0.1), False, True, None),
        (ScriptResult(1, None, False, 0.1), True, False, None),
        (ScriptResult(5, None, False, 0.1), False, False, None),
        (ScriptResult(5, None, False, 0.1), True, True, 3),
        (ScriptResult(255, None, False, 0.1), True, True, 253),
        (ScriptResult(None, 15, True, 1.0), True, False, None),
        (ScriptResult(None, 9, False, 1.0), False, False, None),
        (ScriptResult(None, None, False, 0.0, error="no such file"), False, False, None),
    ],
)
def test_misc_exit_codes(
    result: ScriptResult, dynamic: bool, success: bool, weight: int | None
) -> None:
    verdict = misc.judge_exit(result, dynamic=dynamic)
    assert (verdict.success, verdict.weight) == (success, weight)


@pytest.mark.parametrize(
    ("text", "value"),
    [("12\n", 12), ("  -7", -7), ("0x1f", 31), ("010", 8), ("abc", 0), ("", 0), ("0", 0),
     ("99999999999", None)],
)  # fmt: skip
def test_file_value_parsing(text: str, value: int | None) -> None:
    assert file.parse_value(text) == value


def test_file_contribution() -> None:
    assert file.contribution(0, 0, reverse=False) == 0
    assert file.contribution(1, 0, reverse=False) is None
    assert file.contribution(0, 0, reverse=True) is None
    assert file.contribution(3, 2, reverse=False) == 6
    assert file.contribution(3, 2, reverse=True) == -6
    assert file.contribution(-(2**31), 1, reverse=False) is None


def test_icmp_echo_codec() -> None:
    pkt = ping.encode_echo(0x1234, 9, v6=False)
    assert ping.checksum(pkt) == 0
    reply = bytes([0, 0]) + pkt[2:]
    assert ping.parse_echo_reply(reply, v6=False, raw=False) == (0x1234, 9)
    ip_header = bytes([0x45]) + bytes(19)
    assert ping.parse_echo_reply(ip_header + reply, v6=False, raw=True) == (0x1234, 9)
    assert ping.parse_echo_reply(pkt, v6=False, raw=False) is None  # a request, not a reply
