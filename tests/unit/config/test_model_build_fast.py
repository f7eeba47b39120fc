"""The shortcuts of the model build: they must give what the general code gives.

- `strtoul` and the unsigned/timer readers take plain ASCII digits without the general scan;
  both paths are checked against C's own ``strtoul`` and against each other.
- `parse_ip` is cached; `KeywordTable.dispatch` looks current keywords up in one dict.
- Model classes are slotted.
- The script security pass keeps (does not copy) servers it leaves unchanged.
"""

from __future__ import annotations

import ctypes
import dataclasses
import ipaddress
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pykeepalived.config import model as model_pkg
from pykeepalived.config.errors import Diagnostics, Location
from pykeepalived.config.keywords import lvs as lvs_keywords
from pykeepalived.config.keywords.base import (
    UINT32_MAX,
    Keyword,
    KeywordTable,
    ParseContext,
    check_timer,
    check_unsigned,
    strtoul,
)
from pykeepalived.config.keywords.checkers import parse_ip
from pykeepalived.config.loader import load_text
from pykeepalived.config.model import checkers as checker_models
from pykeepalived.config.model import common, global_defs, lvs, net, vrrp
from pykeepalived.config.tree import Node

pytestmark = pytest.mark.unit

# --------------------------------------------------------------------------- strtoul

_libc = ctypes.CDLL(None)
_libc.strtoul.restype = ctypes.c_ulong
_libc.strtoul.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int]


def c_strtoul(text: str, base: int) -> tuple[int, str]:
    """glibc's ``strtoul`` of ASCII ``text``: (value, the text after the number)."""
    raw = text.encode("ascii")
    buf = ctypes.create_string_buffer(raw)
    end = ctypes.c_char_p()
    value = _libc.strtoul(ctypes.cast(buf, ctypes.c_char_p), ctypes.byref(end), base)
    consumed = ctypes.cast(end, ctypes.c_void_p).value - ctypes.addressof(buf)  # type: ignore[operator]
    return value, text[consumed:]


_NUMBERISH = st.text(alphabet="0123456789abcdefxX+- \t\n", max_size=12)


@given(text=_NUMBERISH, base=st.sampled_from([0, 8, 10, 16]))
def test_strtoul_is_c_strtoul(text: str, base: int) -> None:
    value, rest, digits = strtoul(text, base)
    c_value, c_rest = c_strtoul(text, base)
    assert (value, rest) == (c_value, c_rest)
    assert digits == (c_rest != text)


@given(digits=st.text(alphabet="0123456789", min_size=1, max_size=25))
def test_plain_digits_read_as_with_a_leading_space(digits: str) -> None:
    """Plain digits take the shortcut; with a leading space they go the general way."""
    assert strtoul(digits) == strtoul(" " + digits)
    assert strtoul(digits) == (int(digits), "", True)
    lo, hi = 1, 65535
    value, message = check_unsigned(digits, lo, hi)
    spaced_value, spaced_message = check_unsigned(" " + digits, lo, hi)
    assert value == spaced_value
    assert message == (
        None if spaced_message is None else spaced_message.replace(f"' {digits}'", f"'{digits}'")
    )


@given(
    digits=st.text(alphabet="0123456789", min_size=1, max_size=22),
    lo_us=st.sampled_from([0, 1, 1_000_000]),
    hi_us=st.sampled_from([UINT32_MAX, 2**64 - 2, 5_000_000]),
)
def test_whole_second_timers_read_as_with_a_plus_sign(digits: str, lo_us: int, hi_us: int) -> None:
    value, messages = check_timer(digits, lo_us, hi_us)
    signed_value, signed_messages = check_timer("+" + digits, lo_us, hi_us)
    assert value == signed_value
    assert messages == [m.replace(f"'+{digits}'", f"'{digits}'") for m in signed_messages]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4294967295", (UINT32_MAX, None)),
        ("4294967296", (None, "number '4294967296' outside unsigned integer range")),
        ("007", (7, None)),
        ("0", (None, "number '0' outside range [1, 4294967295]")),
        ("\u0663", (None, "invalid number '\u0663'")),  # an Arabic-Indic 3 is not a C digit
    ],
)
def test_check_unsigned_plain_digits(text: str, expected: tuple[int | None, str | None]) -> None:
    assert check_unsigned(text, 1, UINT32_MAX) == expected


def test_check_timer_plain_digits() -> None:
    assert check_timer("3") == (3_000_000, [])
    assert check_timer("3", 1, 2_000_000) == (
        None,
        ["number '3' outside range [0.000001, 2.000000]"],
    )
    assert check_timer("18446744073710") == (
        None,
        ["number '18446744073710' outside unsigned decimal range"],
    )


# --------------------------------------------------------------------------- parse_ip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.0.2.1", ipaddress.IPv4Address("192.0.2.1")),
        ("2001:db8::1", ipaddress.IPv6Address("2001:db8::1")),
        ("[2001:db8::1]", ipaddress.IPv6Address("2001:db8::1")),
        ("[192.0.2.1]", ipaddress.IPv4Address("192.0.2.1")),
        ("192.0.2.256", None),
        ("192.0.2.1 ", None),
        ("", None),
    ],
)
def test_parse_ip_cached_or_not(text: str, expected: object) -> None:
    for _ in range(2):  # the second time from the cache
        assert parse_ip(text) == expected


# --------------------------------------------------------------------------- dispatch


def _node(keyword: str, line: int) -> Node:
    return Node(keyword, (), Location("t.conf", line))


def test_dispatch_runs_current_and_deprecated_handlers_and_reports_unknown_ones() -> None:
    seen: list[str] = []

    def handler(node: Node, fields: dict[str, Any], ctx: ParseContext) -> None:
        seen.append(node.keyword)

    table = KeywordTable("t", [Keyword("new", handler), Keyword("old", handler, "new")])
    lines = (_node("new", 2), _node("old", 3), _node("bogus", 4), _node("new", 5))
    ctx = ParseContext(diags=Diagnostics())
    table.dispatch(Node("t", (), Location("t.conf", 1), lines), {}, ctx)
    assert seen == ["new", "old", "new"]
    assert [(d.message, d.location) for d in ctx.diags.items] == [
        ('Keyword "old" is deprecated - please use "new"', Location("t.conf", 3)),
        ("Unknown keyword 'bogus'", Location("t.conf", 4)),
    ]


# --------------------------------------------------------------------------- model classes

_MODULES = (model_pkg, checker_models, common, global_defs, lvs, net, vrrp)
_MODEL_CLASSES = sorted(
    {
        obj
        for module in _MODULES
        for obj in vars(module).values()
        if isinstance(obj, type)
        and dataclasses.is_dataclass(obj)
        and obj.__module__.startswith("pykeepalived.config.model")
    },
    key=lambda cls: f"{cls.__module__}.{cls.__qualname__}",
)


def test_the_model_classes_are_found() -> None:
    names = {cls.__name__ for cls in _MODEL_CLASSES}
    assert {"RealServer", "VirtualServer", "TcpCheck", "VrrpInstance", "Script"} <= names


@pytest.mark.parametrize("cls", _MODEL_CLASSES, ids=lambda c: c.__name__)
def test_model_classes_are_slotted(cls: type) -> None:
    # GlobalDefs (one per config) keeps its __dict__: tests build variants from it
    assert ("__slots__" in cls.__dict__) == (cls is not global_defs.GlobalDefs)


# --------------------------------------------------------------------------- script security

_VS = """
virtual_server 192.0.2.10 80 {{
    protocol TCP
    real_server 192.0.2.20 80 {{
        TCP_CHECK {{
        }}
    }}
    real_server 192.0.2.21 80 {{
        MISC_CHECK {{
            misc_path "{script}"
        }}
        TCP_CHECK {{
        }}
    }}
}}
virtual_server 192.0.2.11 80 {{
    protocol TCP
    real_server 192.0.2.22 80 {{
        TCP_CHECK {{
        }}
    }}
}}
"""


def test_script_security_drops_missing_scripts_and_keeps_the_rest(tmp_path: Path) -> None:
    missing = tmp_path / "missing.sh"
    text = _VS.format(script=missing)
    unchecked = load_text(text).config.lvs.virtual_servers
    assert [len(rs.checkers) for vs in unchecked for rs in vs.real_servers] == [1, 2, 1]
    result = load_text(text, interface_exists=lambda name: True)
    servers = result.config.lvs.virtual_servers
    assert [len(rs.checkers) for vs in servers for rs in vs.real_servers] == [1, 1, 1]
    assert isinstance(servers[0].real_servers[1].checkers[0], checker_models.TcpCheck)
    assert f"Disabling misc script '{missing}' since not found/accessible" in [
        d.message for d in result.diagnostics.items
    ]
    # only the changed real server and its virtual server are new objects
    ctx = ParseContext(diags=Diagnostics(), interface_exists=lambda name: True)
    again = lvs_keywords._check_script_security(list(unchecked), ctx)
    assert again == list(servers)
    assert again[0] is not unchecked[0]
    assert again[0].real_servers[0] is unchecked[0].real_servers[0]
    assert again[0].real_servers[1] is not unchecked[0].real_servers[1]
    assert again[1] is unchecked[1]
