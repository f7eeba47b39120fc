"""The one family of number readers (keepalived 2.2.7's lib/parser.c) and the script splitter.

Each expected message was checked with ``keepalived -t`` (Debian 2.2.7) on a keyword that uses
the reader (``priority``, ``advert_int``, ``connect_timeout``, ``vrrp_garp_interval``, weights).
"""

from __future__ import annotations

import pytest

from pykeepalived.config.keywords.base import (
    check_decimal_unsigned,
    check_int,
    check_timer,
    check_unsigned,
)
from pykeepalived.config.model.common import QuoteError, split_quoted_escaped

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5", (5, None)),
        ("+5", (5, None)),
        ("-abc", (None, "negative number '-abc'")),
        ("-0", (None, "negative number '-0'")),
        ("0x10", (None, "invalid number '0x10'")),
        ("5x", (None, "invalid number '5x'")),
        ("99999999999", (None, "number '99999999999' outside unsigned integer range")),
        ("256", (None, "number '256' outside range [1, 255]")),
    ],
)
def test_check_unsigned(text: str, expected: tuple[int | None, str | None]) -> None:
    assert check_unsigned(text, 1, 255) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-254", (-254, None)),
        ("2147483648", (None, "number '2147483648' outside integer range")),
        ("-255", (None, "number '-255' outside range [-254, 254]")),
        ("1x", (None, "invalid number '1x'")),
    ],
)
def test_check_int(text: str, expected: tuple[int | None, str | None]) -> None:
    assert check_int(text, -254, 254) == expected


def test_check_decimal_unsigned_rounds_extra_places_with_a_message() -> None:
    assert check_decimal_unsigned("1.1234567", 10_000, 255_000_000, 6) == (
        1_123_457,
        ["number '1.1234567' has too many decimal places"],
    )
    assert check_decimal_unsigned("-0", 0, 10, 6) == (None, ["negative number '-0'"])
    assert check_decimal_unsigned("300", 0, 255_000_000, 6) == (
        None,
        ["number '300' outside range [0.000000, 255.000000]"],
    )


def test_check_timer_truncates_and_keeps_a_valid_prefix() -> None:
    assert check_timer("1.1234567") == (
        1_123_456,
        ["number '1.1234567' has too many decimal places"],
    )
    assert check_timer("5x") == (5_000_000, ["invalid number '5x'"])
    assert check_timer("-abc") == (None, ["negative number '-abc'"])
    assert check_timer("99999999999", 1, 4_294_967_295) == (
        None,
        ["number '99999999999' outside range [0.000001, 4294.967295]"],
    )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (r"/bin/tru\x65 a", ["/bin/true", "a"]),
        (r"/bin/tru\145", ["/bin/true"]),
        (r"a\cAb", ["a\x01b"]),
        (r"""'a b'"c d" e\ f""", ["a bc d", "e f"]),
    ],
)
def test_split_quoted_escaped(text: str, words: list[str]) -> None:
    assert split_quoted_escaped(text) == words


def test_split_errors_say_whether_keepalived_only_logs_them() -> None:
    with pytest.raises(QuoteError) as quote:
        split_quoted_escaped('/bin/sh "a b')
    assert not quote.value.log_only
    with pytest.raises(QuoteError) as escape:
        split_quoted_escaped("/bin/true\\")
    assert escape.value.log_only
    assert str(escape.value) == "Missing escape char at end: '/bin/true\\'"
