"""The fast path of `LineReader.logical_lines` and `build_tree` gives exactly what keepalived's
line-by-line reading (`LineReader.read_line`, the general path) gives: same logical lines and
locations, same brace count, same tree, same diagnostics in the same order."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pykeepalived.config import lexer, loader
from pykeepalived.config.errors import Diagnostics, Location, Severity
from pykeepalived.config.lexer import EmptyFS, LineReader, LogicalLine, split_words
from pykeepalived.config.parser import build_tree, parse_file, parse_text
from pykeepalived.config.tree import Node

pytestmark = pytest.mark.unit

NodeView = tuple[object, ...]
DiagView = list[tuple[Severity, str, Location | None]]


def _reader(text: str, diags: Diagnostics) -> LineReader:
    reader = LineReader(diags=diags, config_id="node1", fs=EmptyFS(), rng=random.Random(0))
    reader.push_text("t.conf", text, "/nowhere")
    return reader


def _general_lines(reader: LineReader) -> Iterator[LogicalLine]:
    """The logical lines from read_line() alone: never the fast path."""
    while (line := reader.read_line()) is not None:
        yield line


def _view(node: Node) -> NodeView:
    """Every field of a node, including those that `Node.__eq__` ignores."""
    return (
        node.keyword,
        node.args,
        node.location,
        node.raw,
        node.quoted,
        node.end_location,
        None if node.children is None else tuple(_view(c) for c in node.children),
    )


def _diags(diags: Diagnostics) -> DiagView:
    return [(d.severity, d.message, d.location) for d in diags]


def _general(text: str) -> tuple[tuple[NodeView, ...], DiagView]:
    diags = Diagnostics()
    reader = _reader(text, diags)
    nodes = build_tree(_general_lines(reader), diags, reader)
    return tuple(_view(n) for n in nodes), _diags(diags)


def _fast(text: str) -> tuple[tuple[NodeView, ...], DiagView]:
    diags = Diagnostics()
    nodes = parse_text(
        text,
        diags=diags,
        filename="t.conf",
        config_id="node1",
        fs=EmptyFS(),
        rng=random.Random(0),
        base_dir=Path("/nowhere"),
    )
    return tuple(_view(n) for n in nodes), _diags(diags)


TOKENS = [
    "vrrp_instance VI_1",
    "real_server 192.0.2.1 80",
    "weight 3",
    "TCP_CHECK",
    "global_defs",
    "include_check",
    " ",
    "  ",
    "\t",
    "\n",
    "\n",
    "\r\n",
    "\r",
    "\f",
    "\v",
    "\x1c",
    "\x1f",
    "\x85",
    "\xa0",
    "\u2028",
    "é",
    "{",
    "}",
    " { ",
    " } ",
    "{}",
    "}{",
    "#",
    " # c",
    "!",
    " ! c {",
    '"',
    '"a b"',
    '"{"',
    "\\",
    "\\#",
    "$X",
    "$X=a {",
    "@node1 ",
    "@^node1 ",
    "~SEQ(i,2) x$i",
    "include x",
    "include",
    "includer",
    "x",
]

config_text = st.lists(
    st.one_of(st.sampled_from(TOKENS), st.text(alphabet=" \t{}ab#\r\n", max_size=4)),
    max_size=60,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(text=config_text)
@example(text="{ } }\n")
@example(text="a { b } } {\n")
@example(text="x { \f } y\n")
@example(text="\r \r\n")
@example(text="# comment \\\nvrrp_instance A {\n}\n")
@example(text="a b # c { d\n")
@example(text="a ! c } d\n")
@example(text='a # "quoted comment\n')
@example(text='a "b # c" # d\n')
@example(text="a # b \\\n c\n")
@example(text="$A=1 # b \\\n c\n")
@example(text="a # b \\ \n c\n")
@example(text="a # b \\# c\n")
@example(text="a \\# b { c }\n")
@example(text="x { include y }\n")
@example(text="global_defs { include_check }\ninclude nothing.conf\n")
def test_logical_lines_and_tree_match_the_general_path(text: str) -> None:
    assert _fast(text) == _general(text)


@settings(max_examples=200, deadline=None)
@given(text=config_text)
def test_items_match_read_line_and_plain_items_split_like_keepalived(text: str) -> None:
    general_diags, fast_diags = Diagnostics(), Diagnostics()
    general_reader = _reader(text, general_diags)
    general = [
        (ln.text, ln.location.file, ln.location.line, ln.location.col)
        for ln in _general_lines(general_reader)
    ]
    fast_reader = _reader(text, fast_diags)
    items = list(fast_reader.logical_lines())
    assert [item[:4] for item in items] == general
    assert fast_reader.block_depth == general_reader.block_depth
    assert _diags(fast_diags) == _diags(general_diags)
    for item_text, _, _, _, plain in items:
        if plain:
            assert '"' not in item_text
            assert tuple(item_text.split()) == split_words(item_text).words


def test_iterating_the_reader_gives_logical_lines() -> None:
    diags = Diagnostics()
    lines = list(_reader("a {\n  b c # x\n}\n", diags))
    assert [(ln.text, ln.location) for ln in lines] == [
        ("a", Location("t.conf", 1, 1)),
        ("{", Location("t.conf", 1, 3)),
        ("b c", Location("t.conf", 2, 3)),
        ("}", Location("t.conf", 3, 1)),
    ]


def test_long_lines_and_mixed_files_match(tmp_path: Path) -> None:
    """Lines of MAXBUF characters or more, includes and definitions between plain lines."""
    long_word = "x" * (lexer.MAXBUF + 10)
    (tmp_path / "inc.conf").write_text("b {\n  c 1\n}\n$D=4\n", encoding="utf-8")
    text = (
        f"a {{ {long_word} }}\n"
        "include inc.conf\n"
        "d $D { e }\n"
        "$M=m1 \\\n  m2 {\n$M\n}\n"
        "f { g }\n"
    )
    main = tmp_path / "main.conf"
    main.write_text(text, encoding="utf-8")

    fast_diags = Diagnostics()
    fast, _ = parse_file(main, diags=fast_diags, config_id="n")

    general_diags = Diagnostics()
    reader = LineReader(diags=general_diags, config_id="n")
    reader.push_main(str(main), [str(main)], str(tmp_path))
    general = build_tree(_general_lines(reader), general_diags, reader)

    assert [_view(n) for n in fast] == [_view(n) for n in general]
    assert _diags(fast_diags) == _diags(general_diags)
    assert [n.keyword for n in fast] == ["a", "b", "d", "m1", "m2", "f"]


def test_loading_stops_at_the_first_abort_with_many_diagnostics() -> None:
    """Top-level blocks after an aborting error are not read, however many messages precede it."""
    unknown = "".join(f"unknown_{i} x\n" for i in range(3000))
    text = unknown + "global_defs {\n  smtp_server\n}\nvrrp_instance VI_1 {\n}\nbogus\n"
    result = loader.load_text(text)
    messages = [d.message for d in result.diagnostics]
    assert messages.count("Unknown keyword 'bogus'") == 0
    assert sum(m.startswith("Unknown keyword 'unknown_") for m in messages) == 3000
    assert any(d.severity is Severity.ABORT for d in result.diagnostics)
    assert result.config.vrrp.instances == ()


def test_build_config_leaves_the_callers_nodes_alone() -> None:
    diags = Diagnostics()
    nodes = parse_text("global_defs {\n  router_id r1\n}\n", diags=diags)
    loader.build_config(nodes, diags)
    assert [n.keyword for n in nodes] == ["global_defs"]


def test_many_messages_and_top_level_lines_are_all_reported() -> None:
    """20,000 unknown top-level keywords: every one reported, in order (the loader looks for
    an abort only among the messages that are new since the last top-level line; rescanning
    all of them took about 25 s of CPU here, see BENCHMARKS.md)."""
    text = "".join(f"unknown_{i} x\n" for i in range(20_000))
    result = loader.load_text(text)
    messages = [d.message for d in result.diagnostics]
    assert len(messages) == 20_000
    assert messages[0].endswith("'unknown_0'") and messages[-1].endswith("'unknown_19999'")
