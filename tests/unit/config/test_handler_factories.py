"""The shared keyword handler factories (`base.number`, `base.opt_bool`, ...) and the VRRP
ones built on them.

Each expected message is keepalived 2.2.7's for the keyword used (checked with ``keepalived -t``
through the snapshot of every table); here the factories are exercised directly, including the
corner cases the tables rely on: a default after a bad value, 0 taken as 1, user text with
braces in a message.
"""

from __future__ import annotations

import pytest

from pykeepalived.config.errors import Location, Severity
from pykeepalived.config.keywords.base import (
    TIMER_HZ,
    Fields,
    ParseContext,
    decimal_arg,
    format_message,
    int_arg,
    number,
    opt_bool,
    set_value,
    timer_arg,
    unsigned_arg,
)
from pykeepalived.config.keywords.vrrp_common import notify_handler
from pykeepalived.config.keywords.vrrp_instance import INSTANCE_TABLE
from pykeepalived.config.loader import load_text
from pykeepalived.config.tree import Node

pytestmark = pytest.mark.unit

WHERE = Location("t.conf", 7)


def line(keyword: str, *args: str) -> Node:
    return Node(keyword, tuple(args), WHERE)


def messages(ctx: ParseContext) -> list[tuple[Severity, str]]:
    return [(d.severity, d.message) for d in ctx.diags]


PRIORITY = number(
    "priority",
    unsigned_arg(1, 255),
    "({name}) Priority not valid! must be between 1 & 255. Using default 100",
    default=100,
)
VRID = number("vrid", unsigned_arg(1, 255), "({name}): VRID '{value}' not valid")
REPEAT = number(
    "rep",
    unsigned_arg(0, 10),
    "({name}): repeat '{value}' invalid - ignoring",
    zero="({name}): repeat must be greater than 0, setting to 1",
)


def test_number_stores_a_valid_value() -> None:
    ctx = ParseContext()
    f: Fields = {"name": "VI", "vrid": 0}
    VRID(line("virtual_router_id", "42"), f, ctx)
    assert f["vrid"] == 42
    assert messages(ctx) == []


def test_number_reports_the_reader_then_the_keyword_message_and_keeps_the_value() -> None:
    ctx = ParseContext()
    f: Fields = {"name": "VI", "vrid": 7}
    VRID(line("virtual_router_id", "300"), f, ctx)
    assert f["vrid"] == 7
    assert messages(ctx) == [
        (Severity.ERROR, "number '300' outside range [1, 255]"),
        (Severity.ERROR, "(VI): VRID '300' not valid"),
    ]
    assert all(d.location == WHERE for d in ctx.diags)


def test_number_with_a_default_sets_it_after_a_bad_value() -> None:
    ctx = ParseContext()
    f: Fields = {"name": "VI", "priority": 50}
    PRIORITY(line("priority", "abc"), f, ctx)
    assert f["priority"] == 100
    assert messages(ctx)[-1][1].endswith("Using default 100")


def test_number_without_a_value_aborts_and_leaves_the_field() -> None:
    ctx = ParseContext()
    f: Fields = {"name": "VI", "priority": 50}
    PRIORITY(line("priority"), f, ctx)
    assert f["priority"] == 50
    assert [d.severity for d in ctx.diags] == [Severity.ABORT]
    assert "missing a parameter after keyword `priority`" in ctx.diags.items[0].message


@pytest.mark.parametrize(("text", "stored"), [("0", 1), ("1", 1), ("10", 10)])
def test_number_zero_reads_as_one_with_a_message(text: str, stored: int) -> None:
    ctx = ParseContext()
    f: Fields = {"name": "VI"}
    REPEAT(line("repeat", text), f, ctx)
    assert f["rep"] == stored
    expected = [(Severity.ERROR, "(VI): repeat must be greater than 0, setting to 1")]
    assert messages(ctx) == (expected if text == "0" else [])


def test_number_converts_the_stored_value() -> None:
    handler = number("delay_s", decimal_arg(0, 5 * TIMER_HZ, places=6), "bad {value}", convert=str)
    f: Fields = {}
    handler(line("delay", "1.5"), f, ParseContext())
    assert f["delay_s"] == "1500000"


def test_int_and_timer_readers_keep_their_own_messages() -> None:
    ctx = ParseContext()
    f: Fields = {}
    number("w", int_arg(-3, 3), "w {value}")(line("weight", "-4"), f, ctx)
    number("t", timer_arg(1, TIMER_HZ), "t {value}")(line("timer", "0.5"), f, ctx)
    assert "w" not in f
    assert f["t"] == TIMER_HZ // 2
    assert messages(ctx) == [
        (Severity.ERROR, "number '-4' outside range [-3, 3]"),
        (Severity.ERROR, "w -4"),
    ]


def test_messages_take_user_text_with_braces_literally() -> None:
    node = line("virtual_router_id", "{0}")
    assert format_message("({name}) '{value}'", node, {"name": "{name}"}) == "({name}) '{0}'"
    ctx = ParseContext()
    VRID(node, {"name": "a{b}"}, ctx)
    assert messages(ctx)[-1] == (Severity.ERROR, "(a{b}): VRID '{0}' not valid")


@pytest.mark.parametrize(
    ("args", "expected", "errors"),
    [((), True, 0), (("off",), False, 0), (("YES",), True, 0), (("maybe",), "kept", 1)],
)
def test_opt_bool(args: tuple[str, ...], expected: object, errors: int) -> None:
    ctx = ParseContext()
    f: Fields = {"name": "VI", "strict": "kept"}
    opt_bool("strict", "({name}) invalid strict_mode {value} specified")(
        line("strict_mode", *args), f, ctx
    )
    assert f["strict"] == expected
    assert len(ctx.diags.items) == errors
    if errors:
        assert messages(ctx) == [(Severity.ERROR, "(VI) invalid strict_mode maybe specified")]


def test_opt_bool_default_when_no_word_is_given() -> None:
    f: Fields = {}
    opt_bool("x", "bad {value}", default=False)(line("x"), f, ParseContext())
    assert f["x"] is False


def test_set_value_ignores_words_after_the_keyword() -> None:
    f: Fields = {}
    set_value("accept", False)(line("no_accept", "whatever"), f, ParseContext())
    set_value("passive")(line("passive"), f, ParseContext())
    assert f == {"accept": False, "passive": True}


def test_notify_handler_takes_the_first_script_only() -> None:
    ctx = ParseContext()
    f: Fields = {"name": "G", "notify_master": None}
    handler = notify_handler("notify_master", "vrrp group {name}:")
    handler(line("notify_master", "/bin/true"), f, ctx)
    handler(line("notify_master", "/bin/false"), f, ctx)
    assert f["notify_master"].argv == ("/bin/true",)
    assert messages(ctx) == [
        (
            Severity.ERROR,
            "vrrp group G: notify_master script already specified - ignoring /bin/false",
        )
    ]


def test_instance_table_keeps_keepalived_keyword_order_for_tracking_blocks() -> None:
    names = list(INSTANCE_TABLE.names)
    start = names.index("dont_track_primary")
    assert names[start : start + 6] == [
        "dont_track_primary",
        "track_interface",
        "track_script",
        "track_file",
        "track_process",
        "track_bfd",
    ]


CONF = """\
vrrp_script S {
    script /bin/true
    interval 0
    rise x
}
track_file F {
    file /tmp/f
    weight 5
    weight 6
}
vrrp_track_process P {
    weight 3
}
vrrp_instance VI {
    interface eth0
    virtual_router_id 5
    priority 300
    track_script {
        S
    }
    virtual_ipaddress {
        192.0.2.1
    }
}
"""


def test_tables_built_from_factories_read_a_whole_config() -> None:
    # the same messages, in this order, as keepalived -t (Debian 2.2.7) gives for CONF
    result = load_text(CONF, filename="t.conf", interface_exists=lambda n: n == "eth0")
    lines = [d.format() for d in result.diagnostics]
    assert lines == [
        "(t.conf: Line 3:5) (S): vrrp script interval must be greater than 0, setting to 1",
        "(t.conf: Line 4:5) invalid number 'x'",
        "(t.conf: Line 4:5) (S): vrrp script rise value 'x' invalid, defaulting to 1",
        "(t.conf: Line 9:5) Weight already set for track file F - ignoring 6",
        "(t.conf: Line 13:1) track process 'P' process name not specified",
        "(t.conf: Line 17:5) number '300' outside range [1, 255]",
        "(t.conf: Line 17:5) (VI) Priority not valid! must be between 1 & 255. Using default 100",
        "SECURITY VIOLATION - scripts are being executed but script_security not enabled.",
    ]
    assert result.config is not None
    script = result.config.vrrp.scripts[0]
    assert (script.interval_s, script.rise) == (1.0, 1)
    assert result.config.vrrp.track_files[0].weight == 5
    assert result.config.vrrp.instances[0].priority == 100
