"""Fuzzing the keepalived.conf reader: whatever the text, parse_text returns a tree (or raises
only ConfigError), every node has a sane location, and the run ends."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.config import lexer
from pykeepalived.config.errors import ConfigError, Diagnostics, Severity
from pykeepalived.config.lexer import EmptyFS
from pykeepalived.config.parser import parse_text
from pykeepalived.config.tree import Node

pytestmark = pytest.mark.unit


TOKENS = [
    "global_defs",
    "vrrp_instance VI_1",
    "virtual_ipaddress",
    "state MASTER",
    "notify_master",
    "router_id",
    " ",
    "\t",
    "\n",
    "\r\n",
    "\r",
    "{",
    "}",
    " { ",
    " } ",
    '"',
    "'",
    '"a b"',
    "#",
    "!",
    "\\",
    "\\#",
    "\\!",
    "$",
    "$X",
    "${X}",
    "$X=",
    "$Y=$X ",
    "$M=",
    " \\\n",
    "${_RANDOM 1 3}",
    "${_PWD}",
    "$_HASH",
    "${_BANG}",
    "${_INSTANCE}",
    "~SEQ(",
    "~SEQx(",
    "~SEQ(i,3) ",
    "~SEQ(i, 2, 1, 4) x$i",
    "~LST(",
    "~LST({a,b},{1,2},{3}) ",
    "i",
    ",",
    ")",
    "(",
    "2",
    "-1",
    "0x1f",
    "@",
    "@^",
    "@node1 ",
    "@^node1 ",
    "include ",
    "include nonexistent*.conf\n",
    "includer /nonexistent/x.conf\n",
    "includea {a,b}.conf\n",
    "includew *\n",
    "é",
    "\u2028",
    "\x85",
    "\x00",
    "\x0b",
    "\x0c",
    "😀",
]

config_text = st.lists(
    st.one_of(st.sampled_from(TOKENS), st.text(max_size=3)),
    max_size=80,
).map("".join)


def _check_tree(nodes: tuple[Node, ...]) -> None:
    for top in nodes:
        for n in top.walk():
            assert isinstance(n.keyword, str)
            assert n.location.line >= 1 and n.location.col >= 1
            assert len(n.quoted) == len(n.args)


@settings(max_examples=300, deadline=None)
@given(text=config_text)
def test_parse_text_never_fails(text: str) -> None:
    diags = Diagnostics()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(lexer, "MAX_GENERATED_LINES", 20_000)
        try:
            nodes = parse_text(
                text, diags=diags, config_id="node1", fs=EmptyFS(), rng=random.Random(0)
            )
        except ConfigError:
            return
    _check_tree(nodes)
    for d in diags:
        assert isinstance(d.severity, Severity)
        assert d.location is None or d.location.line >= 0


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200))
def test_arbitrary_unicode_text(text: str) -> None:
    diags = Diagnostics()
    nodes = parse_text(text, diags=diags, fs=EmptyFS(), rng=random.Random(0))
    _check_tree(nodes)


@given(
    words=st.lists(
        st.text(
            alphabet=st.characters(blacklist_characters=' \t\n\r\x0b\x0c\x00"#!{}$@~\\'), min_size=1
        ),
        min_size=1,
        max_size=6,
    )
)
def test_plain_words_round_trip(words: list[str]) -> None:
    """Text without any special character is split exactly at the blanks."""
    text = " ".join(words)
    if text.startswith("include"):
        return
    nodes = parse_text(text + "\n", diags=Diagnostics(), fs=EmptyFS())
    assert [n.words for n in nodes] == [tuple(words)]
