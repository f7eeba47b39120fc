"""Health checker blocks: common keywords, per-type keywords, inheritance and rendering.

Expected messages marked "oracle" were captured from Debian's keepalived 2.2.7
(``keepalived -t -f FILE``), with the file name replaced by ``F``.
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pykeepalived.config.keywords.checkers import parse_hex_string, render_hex
from pykeepalived.config.model.checkers import (
    BfdCheck,
    Checker,
    CheckerType,
    ConnOpts,
    DnsCheck,
    DnsType,
    FileCheck,
    HttpGetCheck,
    HttpProtocol,
    HttpUrl,
    MiscCheck,
    PingCheck,
    SmtpCheck,
    SslGetCheck,
    TcpCheck,
    UdpCheck,
)
from pykeepalived.config.model.common import Script, quote_word, split_quoted_escaped
from pykeepalived.config.model.lvs import LvsConfig, RealServer

from .lvs_tree import load_lvs, messages, render_text

pytestmark = pytest.mark.unit

IP = ipaddress.ip_address


def rs_with(body: str, vs_extra: str = "", rs_extra: str = "", **kw: object) -> RealServer:
    """The single real server of a VS whose RS block holds ``body``."""
    config, diags = load_lvs(wrap(body, vs_extra, rs_extra), **kw)  # type: ignore[arg-type]
    assert [d for d in diags if "Unknown keyword" in d.message] == []
    return config.virtual_servers[0].real_servers[0]


def wrap(body: str, vs_extra: str = "", rs_extra: str = "") -> str:
    return (
        "virtual_server 192.0.2.1 80 {\n"
        "    protocol TCP\n"
        "    lb_algo rr\n"
        "    lb_kind NAT\n"
        f"{vs_extra}"
        "    real_server 192.0.2.10 8080 {\n"
        f"{rs_extra}"
        f"{body}"
        "    }\n"
        "}\n"
    )


def roundtrip(text: str) -> LvsConfig:
    config, _ = load_lvs(text)
    again, diags = load_lvs(render_text(config))
    assert again == config
    assert [d for d in diags if "Unknown keyword" in d.message] == []
    return config


def only(rs: RealServer) -> Checker:
    assert len(rs.checkers) == 1
    return rs.checkers[0]


# --------------------------------------------------------------------------- type defaults


@pytest.mark.parametrize(
    ("block", "cls", "retry", "dbr"),
    [
        ("TCP_CHECK {\n}\n", TcpCheck, 1, 1.0),
        ("PING_CHECK {\n}\n", PingCheck, 1, 1.0),
        ("UDP_CHECK {\n}\n", UdpCheck, 1, 1.0),
        ("SMTP_CHECK {\n}\n", SmtpCheck, 1, 1.0),
        ("HTTP_GET {\nurl {\npath /\n}\n}\n", HttpGetCheck, 1, 3.0),
        ("SSL_GET {\nurl {\npath /\n}\n}\n", SslGetCheck, 1, 3.0),
        ("MISC_CHECK {\nmisc_path /bin/true\n}\n", MiscCheck, 0, 1.0),
        # DNS: retry 3 and delay_before_retry = the delay_loop (60 s)
        ("DNS_CHECK {\n}\n", DnsCheck, 3, 60.0),
    ],
)
def test_checker_type_defaults(block: str, cls: type, retry: int, dbr: float) -> None:
    chk = only(rs_with(block))
    assert type(chk) is cls
    assert (chk.retry, chk.delay_before_retry_s) == (retry, dbr)  # type: ignore[union-attr]
    assert chk.delay_loop_s == 60.0  # type: ignore[union-attr]
    assert chk.warmup_s == 60.0  # type: ignore[union-attr]  # warmup defaults to delay_loop
    assert chk.alpha is False  # type: ignore[union-attr]
    if hasattr(chk, "conn"):
        assert chk.conn == ConnOpts(connect_ip=IP("192.0.2.10"), connect_port=8080)


def test_checker_inherits_real_server_then_virtual_server() -> None:
    rs = rs_with(
        "TCP_CHECK {\n}\nDNS_CHECK {\n}\nMISC_CHECK {\nmisc_path /bin/true\n}\n",
        vs_extra=(
            "    delay_loop 10\n    retry 5\n    delay_before_retry 2\n    connect_timeout 4\n"
            "    alpha\n"
        ),
        rs_extra="    retry 7\n    warmup 1.5\n    delay_loop 12\n",
    )
    tcp, dns, misc = rs.checkers
    assert isinstance(tcp, TcpCheck) and isinstance(dns, DnsCheck) and isinstance(misc, MiscCheck)
    for chk in (tcp, dns, misc):
        assert (chk.retry, chk.delay_before_retry_s, chk.delay_loop_s, chk.warmup_s) == (
            7,
            2.0,
            12.0,
            1.5,
        )
        assert chk.alpha is True
    assert tcp.conn.connect_timeout_s == 4.0
    # misc_timeout defaults to the *virtual server's* delay_loop
    assert misc.timeout_s == 10.0


def test_checker_own_values_win() -> None:
    chk = only(
        rs_with(
            "TCP_CHECK {\n"
            "    connect_ip 192.0.2.20\n"
            "    connect_port 81\n"
            "    bindto 192.0.2.1\n"
            "    bind_port 1234\n"
            "    bind_if eth0\n"
            "    fwmark 7\n"
            "    connect_timeout 0.25\n"
            "    retry 0\n"
            "    delay_before_retry 0.5\n"
            "    warmup 0\n"
            "    delay_loop 2\n"
            "    alpha no\n"
            "    log_all_failures\n"
            "}\n",
            rs_extra="    alpha\n",
        )
    )
    assert chk == TcpCheck(
        retry=0,
        delay_before_retry_s=0.5,
        delay_loop_s=2.0,
        warmup_s=0.0,
        alpha=False,
        log_all_failures=True,
        conn=ConnOpts(
            connect_ip=IP("192.0.2.20"),
            connect_port=81,
            bindto=IP("192.0.2.1"),
            bind_port=1234,
            bind_if="eth0",
            fwmark=7,
            connect_timeout_s=0.25,
        ),
    )


def test_dns_delay_before_retry_follows_checker_delay_loop() -> None:
    chk = only(rs_with("DNS_CHECK {\n    delay_loop 3\n}\n"))
    assert isinstance(chk, DnsCheck)
    assert (chk.delay_before_retry_s, chk.warmup_s) == (3.0, 3.0)


# --------------------------------------------------------------------------- per type


def test_http_get_urls_and_options() -> None:
    chk = only(
        rs_with(
            "HTTP_GET {\n"
            "    nb_get_retry 4\n"
            "    http_protocol 1.0c\n"
            "    enable_sni\n"
            "    fast_recovery yes\n"
            "    url {\n"
            "        path /a\n"
            "        digest 0123456789ABCDEF0123456789abcdef\n"
            "        status_code 200-299 404\n"
            "        status_code 300\n"
            "        virtualhost a.example\n"
            '        regex "ok|good"\n'
            "        regex_no_match\n"
            "        regex_options caseless bogus multiline\n"
            "        regex_min_offset 2\n"
            "        regex_max_offset 10\n"
            "        regex_stack 100 200\n"
            "    }\n"
            "    url {\n"
            "        path /b\n"
            "    }\n"
            "}\n",
            rs_extra="    virtualhost rs.example\n",
        )
    )
    assert isinstance(chk, HttpGetCheck)
    assert chk.retry == 4
    assert chk.http_protocol is HttpProtocol.HTTP_1_0C
    assert chk.enable_sni and chk.fast_recovery
    assert chk.virtualhost == "rs.example"  # inherited from the real server
    a, b = chk.urls
    assert a == HttpUrl(
        path="/a",
        digest="0123456789abcdef0123456789abcdef",
        status_codes=((200, 300), (404, 404)),
        virtualhost="a.example",
        regex="ok|good",
        regex_no_match=True,
        regex_options=("caseless", "multiline"),
        regex_min_offset=2,
        regex_max_offset=10,
        regex_stack=(100, 200),
    )
    assert a.accepts(300) and not a.accepts(301)
    assert b == HttpUrl(path="/b")


def test_http_messages_oracle() -> None:
    _, diags = load_lvs(
        wrap(
            "HTTP_GET {\n"
            "    nb_get_retry 3\n"
            "    url {\n"
            "        path /\n"
            "        status_code 600 100-599 599 300-200\n"
            "        digest 0123456789abcdef0123456789abcdeg\n"
            "        digest 123\n"
            "    }\n"
            "    url {\n"
            "    }\n"
            "}\n"
        )
    )
    # oracle (lines as in this text)
    assert messages(diags) == [
        "(F: Line 7) nb_get_retry is deprecated - please use 'retry'",
        "(F: Line 10) Invalid HTTP_GET status code '600'",
        "(F: Line 10) Invalid HTTP_GET status code '300-200'",
        "(F: Line 11) Unable to interpret hex digit in '0123456789abcdef0123456789abcdeg' at "
        "offset 30/31",
        "(F: Line 12) digest '123' character length should be 32 rather than 3",
        "(F: Line 15) HTTP/SSL_GET checker url has no path - ignoring",
    ]


def test_http_without_url_is_dropped() -> None:
    rs = rs_with("SSL_GET {\n}\n")
    assert rs.checkers == ()


def test_regex_parameters_without_regex_are_dropped() -> None:
    config, diags = load_lvs(
        wrap("HTTP_GET {\n url {\n  path /\n  regex_no_match\n  regex_max_offset 3\n }\n}\n")
    )
    url = config.virtual_servers[0].real_servers[0].checkers[0].urls[0]  # type: ignore[union-attr]
    assert url == HttpUrl(path="/")
    # keepalived only logs this one (syslog): a warning here
    assert messages(diags) == ["(F: Line 11) regex parameters specified without regex"]
    assert diags.exit_code() == 0


def test_misc_check() -> None:
    chk = only(
        rs_with(
            "MISC_CHECK {\n"
            "    misc_path \"/usr/local/bin/check.sh 'arg 1' arg2\"\n"
            "    misc_timeout 7\n"
            "    misc_dynamic\n"
            "    user nobody nogroup\n"
            "}\n"
        )
    )
    assert chk == MiscCheck(
        retry=0,
        delay_before_retry_s=1.0,
        delay_loop_s=60.0,
        warmup_s=60.0,
        script=Script(("/usr/local/bin/check.sh", "arg 1", "arg2"), "nobody", "nogroup"),
        timeout_s=7.0,
        dynamic=True,
    )
    assert chk.script.cmd_str() == "'/usr/local/bin/check.sh' 'arg 1' 'arg2'"


def test_misc_check_messages() -> None:
    _, diags = load_lvs(
        wrap(
            "MISC_CHECK {\n    misc_timeout 5\n}\n"
            "MISC_CHECK {\n    misc_path /bin/a\n    misc_dynamic\n    user\n}\n"
            "MISC_CHECK {\n    misc_path /bin/b\n    misc_dynamic\n    misc_timeout -1\n}\n"
        )
    )
    # oracle (2.2.7 says nothing about two dynamic misc checkers)
    assert messages(diags) == [
        "(F: Line 8) No script path has been specified for MISC_CHECKER - skipping",
        "(F: Line 12) No user specified for misc checker script '/bin/a'",
        "(F: Line 17) negative number '-1'",
        "(F: Line 17) Invalid misc_timeout value '-1'",
    ]


def test_smtp_check_host_blocks_become_checkers() -> None:
    rs = rs_with(
        "SMTP_CHECK {\n"
        "    connect_timeout 10\n"
        "    helo_name mail.example\n"
        "    host {\n"
        "        connect_ip 192.0.2.30\n"
        "        connect_port 587\n"
        "        retry 4\n"
        "    }\n"
        "    host {\n"
        "        bindto 192.0.2.1\n"
        "    }\n"
        "}\n"
    )
    main, first, second = rs.checkers
    assert all(isinstance(c, SmtpCheck) for c in rs.checkers)
    assert all(c.helo_name == "mail.example" for c in rs.checkers)  # type: ignore[union-attr]
    # non-connection keywords inside host {} belong to the whole checker
    assert [c.retry for c in rs.checkers] == [4, 4, 4]  # type: ignore[union-attr]
    assert main.conn == ConnOpts(  # type: ignore[union-attr]
        connect_ip=IP("192.0.2.10"), connect_port=8080, connect_timeout_s=10.0
    )
    assert first.conn == ConnOpts(  # type: ignore[union-attr]
        connect_ip=IP("192.0.2.30"), connect_port=587, connect_timeout_s=10.0
    )
    assert second.conn.bindto == IP("192.0.2.1")  # type: ignore[union-attr]


def test_smtp_default_helo_and_message() -> None:
    chk = only(rs_with("SMTP_CHECK {\n}\n"))
    assert isinstance(chk, SmtpCheck) and chk.helo_name == "smtpchecker.keepalived.org"
    _, diags = load_lvs(wrap("SMTP_CHECK {\n    helo_name\n}\n"))
    assert messages(diags) == ["(F: Line 7) SMTP_CHECK helo name missing"]  # oracle


def test_dns_check() -> None:
    chk = only(rs_with("DNS_CHECK {\n    type aaaa\n    name example.com\n}\n"))
    assert isinstance(chk, DnsCheck)
    assert (chk.type, chk.name) == (DnsType.AAAA, "example.com")
    default = only(rs_with("DNS_CHECK {\n}\n"))
    assert isinstance(default, DnsCheck)
    assert (default.type, default.name) == (DnsType.SOA, ".")
    _, diags = load_lvs(
        wrap(
            "DNS_CHECK {\n type FOO\n name ..\n name example..com\n name example.com\n"
            " name foo\n}\n"
        )
    )
    # oracle
    assert messages(diags) == [
        "(F: Line 7) Unknown DNS check type FOO - ignoring",
        "(F: Line 8) DNS_CHECK name '..' has empty label - ignoring",
        "(F: Line 9) DNS_CHECK name 'example..com' has empty label - ignoring",
        "(F: Line 11) DNS_CHECK name already specified - ignoring",
    ]


def test_udp_check() -> None:
    chk = only(
        rs_with(
            "UDP_CHECK {\n"
            "    payload 01 02ab c\n"
            "    require_reply 0x x1 ff\n"
            "    min_reply_length 2\n"
            "    max_reply_length 300\n"
            "}\n"
        )
    )
    assert isinstance(chk, UdpCheck)
    assert chk.payload == bytes([0x01, 0x02, 0xAB, 0x0C])
    assert chk.require_reply
    assert chk.reply_data == bytes([0x00, 0x01, 0xFF])
    assert chk.reply_mask == bytes([0x0F, 0xF0, 0x00])
    assert (chk.min_reply_length, chk.max_reply_length) == (2, 300)
    plain = only(rs_with("UDP_CHECK {\n    require_reply\n}\n"))
    assert isinstance(plain, UdpCheck)
    assert plain.require_reply and plain.reply_data is None and plain.max_reply_length == 255


def test_udp_messages_oracle() -> None:
    _, diags = load_lvs(
        wrap(
            "UDP_CHECK {\n"
            "    payload 01 02 zz\n"
            "    payload\n"
            "    require_reply 0g\n"
            "    min_reply_length 10\n"
            "    max_reply_length 5\n"
            "    max_reply_length 70000\n"
            "}\n"
        )
    )
    assert messages(diags) == [
        "(F: Line 7) Invalid hex string for UDP_CHECK payload",
        "(F: Line 8) UDP_CHECK payload requires a payload",
        "(F: Line 9) Invalid hex string for UDP_CHECK reply",
        "(F: Line 12) number '70000' outside range [0, 65535]",
        "(F: Line 12) UDP_CHECK max length 70000 not valid - must be between 0 & 65535",
        "(F: Line 13) UDP_CHECK min_reply length 10 > max_reply_length 5 - will always fail",
    ]


def test_file_and_bfd_checks_with_known_names() -> None:
    others = {"vrrp": {"track_files": {"tf1": object()}, "bfd_instances": ["b1"]}}
    config, diags = load_lvs(
        wrap(
            "FILE_CHECK {\n    track_file tf1\n    weight -3 reverse\n}\n"
            "FILE_CHECK {\n    track_file tf1\n}\n"
            "FILE_CHECK {\n    track_file nosuch\n}\n"
            "BFD_CHECK {\n    name b1\n    alpha\n}\n"
            "BFD_CHECK {\n    name b1\n}\n"
            "BFD_CHECK {\n    name nosuch\n}\n"
        ),
        subsystems=others,
    )
    checkers = config.virtual_servers[0].real_servers[0].checkers
    assert checkers == (
        FileCheck(track_file="tf1", weight=-3, reverse=True),
        FileCheck(track_file="tf1"),
        BfdCheck(name="b1", alpha=True),
    )
    # oracle (captured with bfd_instance b1 and track_file tf1 blocks 6 lines in front)
    assert messages(diags) == [
        "(F: Line 14) track_file nosuch not found",
        "(F: Line 15) FILE_CHECK has no track_file specified - ignoring",
        "(F: Line 21) ([192.0.2.10]:tcp:8080) BFD_CHECK - RS already monitoring b1",
        "(F: Line 24) ([192.0.2.10]:tcp:8080) BFD_CHECK - BFD nosuch not configured",
    ]


def test_common_keyword_messages_oracle() -> None:
    _, diags = load_lvs(
        wrap(
            "TCP_CHECK {\n"
            "  retry 0\n"
            "  delay_loop 0\n"
            "  connect_timeout 0.0000001\n"
            "  warmup -1\n"
            "  delay_before_retry x\n"
            "  retry -1\n"
            "  alpha maybe\n"
            "  log_all_failures maybe\n"
            "  connect_port 0\n"
            "  bind_port 70000\n"
            "  connect_ip 1.2.3\n"
            "  bindto 2001:db8::1\n"
            "  fwmark -1\n"
            "  bind_if abcdefghijklmnopq\n"
            "  warmup x\n"
            "  delay_loop x\n"
            "  connect_timeout x\n"
            "}\n"
            "BFD_CHECK {\n}\n"
            "FILE_CHECK {\n  weight -3 noreverse\n}\n"
            "FILE_CHECK {\n  weight 300000000000\n}\n"
            "FILE_CHECK {\n  weight 3 foo\n}\n"
            "TCP_CHECK {\n  connect_ip fe80::1\n}\n"
        )
    )
    # oracle (the lines of this text)
    assert messages(diags) == [
        "(F: Line 8) number '0' outside range [0.000001, 18446744073709.551614]",
        "(F: Line 8) delay_loop '0' is invalid - ignoring",
        "(F: Line 9) number '0.0000001' has too many decimal places",
        "(F: Line 9) number '0.0000001' outside range [0.000001, 4294.967295]",
        "(F: Line 9) connect_timeout 0.0000001 invalid - ignoring",
        "(F: Line 10) negative number '-1'",
        "(F: Line 10) Invalid warmup connection value '-1'",
        "(F: Line 11) invalid number 'x'",
        "(F: Line 12) negative number '-1'",
        "(F: Line 12) Invalid retry connection value '-1'",
        "(F: Line 13) Invalid alpha parameter maybe",
        "(F: Line 14) Invalid log_all_failures parameter maybe",
        "(F: Line 15) number '0' outside range [1, 65535]",
        "(F: Line 15) Invalid checker connect_port '0'",
        "(F: Line 16) number '70000' outside range [1, 65535]",
        "(F: Line 16) Invalid checker bind_port '70000'",
        "(F: Line 17) Invalid connect_ip address 1.2.3 - ignoring",
        "(F: Line 19) negative number '-1'",
        "(F: Line 19) Invalid fwmark connection value '-1'",
        "(F: Line 20) Interface name abcdefghijklmnopq is too long - ignoring",
        "(F: Line 21) invalid number 'x'",
        "(F: Line 22) invalid number 'x'",
        "(F: Line 22) delay_loop 'x' is invalid - ignoring",
        "(F: Line 23) invalid number 'x'",
        "(F: Line 23) connect_timeout x invalid - ignoring",
        "(F: Line 26) ([192.0.2.10]:tcp:8080) No name has been specified for BFD_CHECKER - "
        "skipping",
        "(F: Line 29) FILE_CHECK has no track_file specified - ignoring",
        "(F: Line 31) number '300000000000' outside integer range",
        "(F: Line 31) weight for track file must be in [-2147483647..2147483647] inclusive. "
        "Ignoring...",
        "(F: Line 32) FILE_CHECK has no track_file specified - ignoring",
        "(F: Line 34) unknown track file weight option foo - ignoring",
        "(F: Line 35) FILE_CHECK has no track_file specified - ignoring",
        "(F: Line 38) Checker link local address fe80::1 requires a bind_if",
    ]


def test_nb_get_retry_is_unknown_outside_http() -> None:
    _, diags = load_lvs(wrap("TCP_CHECK {\n    nb_get_retry 3\n}\n"))
    assert messages(diags) == ["(F: Line 7) Unknown keyword 'nb_get_retry'"]  # oracle


def test_misc_check_has_no_connection_keywords() -> None:
    _, diags = load_lvs(wrap("MISC_CHECK {\n    misc_path /bin/true\n    connect_port 80\n}\n"))
    assert messages(diags) == ["(F: Line 8) Unknown keyword 'connect_port'"]


# --------------------------------------------------------------------------- render


def test_render_checkers_minimal_and_round_trip() -> None:
    text = wrap(
        "TCP_CHECK {\n    connect_port 80\n    retry 1\n}\n"
        "HTTP_GET {\n    delay_before_retry 3\n    url {\n        path /\n    }\n}\n"
        "DNS_CHECK {\n    retry 3\n    type A\n}\n"
        "UDP_CHECK {\n    payload deadbeef\n    require_reply de xx\n}\n"
        "MISC_CHECK {\n    misc_path \"/bin/check 'x y'\"\n    misc_timeout 60\n    user root\n}\n",
        vs_extra="    delay_loop 30\n",
    )
    config = roundtrip(text)
    rendered = render_text(config)
    assert (
        "        TCP_CHECK {\n"
        "            connect_port 80\n"
        "        }\n"
        "        HTTP_GET {\n"
        "            url {\n"
        "                path /\n"
        "            }\n"
        "        }\n"
        "        DNS_CHECK {\n"
        "            type A\n"
        "        }\n"
        "        UDP_CHECK {\n"
        "            payload deadbeef\n"
        "            require_reply dexx\n"
        "        }\n"
        "        MISC_CHECK {\n"
        "            misc_path \"/bin/check 'x y'\"\n"
        "            misc_timeout 60\n"
        "            user root\n"
        "        }\n"
    ) in rendered


def test_every_checker_type_round_trips() -> None:
    text = wrap(
        "TCP_CHECK {\n connect_ip 192.0.2.99\n bindto 192.0.2.1\n warmup 2\n alpha\n}\n"
        "HTTP_GET {\n http_protocol 1.1\n virtualhost h\n url {\n  path /x\n  status_code 301\n"
        '  regex "a b"\n  regex_options dotall\n }\n}\n'
        "SSL_GET {\n enable_sni\n url {\n  path /y\n  digest 0123456789abcdef0123456789abcdef\n"
        " }\n}\n"
        "MISC_CHECK {\n misc_path /bin/true\n misc_dynamic\n retry 2\n}\n"
        "SMTP_CHECK {\n helo_name x.example\n host {\n  connect_ip 192.0.2.5\n }\n}\n"
        "DNS_CHECK {\n type MX\n name example.org\n delay_loop 5\n}\n"
        "UDP_CHECK {\n require_reply\n min_reply_length 4\n}\n"
        "PING_CHECK {\n log_all_failures\n connect_timeout 1.5\n}\n"
        "FILE_CHECK {\n track_file tf\n weight 0\n}\n"
        "BFD_CHECK {\n name b\n alpha\n}\n",
        vs_extra="    alpha\n    retry 2\n    warmup 4\n",
        rs_extra="    alpha false\n    delay_before_retry 0.5\n",
    )
    config = roundtrip(text)
    kinds = [c.kind for c in config.virtual_servers[0].real_servers[0].checkers]
    assert kinds == [
        CheckerType.TCP,
        CheckerType.HTTP,
        CheckerType.SSL,
        CheckerType.MISC,
        CheckerType.SMTP,
        CheckerType.SMTP,
        CheckerType.DNS,
        CheckerType.UDP,
        CheckerType.PING,
        CheckerType.FILE,
        CheckerType.BFD,
    ]


# --------------------------------------------------------------------------- helpers


@given(st.binary(min_size=1, max_size=40), st.binary(min_size=1, max_size=40))
def test_hex_render_parse_round_trip(data: bytes, mask_seed: bytes) -> None:
    mask = bytes(
        (0xF0 if m & 1 else 0) | (0x0F if m & 2 else 0)
        for m in (mask_seed * (len(data) // len(mask_seed) + 1))[: len(data)]
    )
    masked = bytes(d & ~m & 0xFF for d, m in zip(data, mask, strict=True))
    parsed = parse_hex_string(render_hex(masked, mask), allow_wildcard=True)
    assert parsed == (masked, mask if any(mask) else None)
    assert parse_hex_string(render_hex(data), allow_wildcard=False) == (data, None)


def test_hex_parse_matches_keepalived_read_hex_str() -> None:
    assert parse_hex_string("1 2 ab", allow_wildcard=False) == (b"\x01\x02\xab", None)
    assert parse_hex_string("x1", allow_wildcard=False) is None
    assert parse_hex_string("", allow_wildcard=False) is None
    assert parse_hex_string("abc", allow_wildcard=False) == (b"\xab\x0c", None)


@given(st.lists(st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8)))
def test_quote_word_round_trips_through_the_script_splitter(words: list[str]) -> None:
    words = [w for w in words if w]
    line = " ".join(quote_word(w) for w in words)
    assert split_quoted_escaped(line) == words
    # and one level deeper, as a notify command inside a quoted word
    outer = quote_word(line) if line else ""
    assert [split_quoted_escaped(w) for w in split_quoted_escaped(outer)] == (
        [words] if words else []
    )
