"""keepalived.conf -> Node tree: blocks, locations, conditionals, definitions, ~SEQ/~LST and
includes. Messages and values noted "keepalived 2.2.7" were observed by running Debian 12's
``keepalived -t -f FILE`` on the same configuration (the parent process's pass)."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pykeepalived.config import lexer
from pykeepalived.config.errors import Diagnostics, Location, Severity
from pykeepalived.config.parser import parse_file, parse_text
from pykeepalived.config.tree import Node

pytestmark = pytest.mark.unit

SAMPLES = Path("/work/shared/keepalived-samples")


def parse(text: str, **kw: object) -> tuple[tuple[Node, ...], Diagnostics]:
    diags = Diagnostics()
    nodes = parse_text(text, diags=diags, filename="k.conf", **kw)  # type: ignore[arg-type]
    return nodes, diags


def flat(nodes: tuple[Node, ...]) -> list[tuple[str, ...]]:
    """Every line, depth-first, as its words."""
    return [n.words for top in nodes for n in top.walk()]


def msgs(diags: Diagnostics) -> list[str]:
    return [d.message for d in diags]


def loc(node: Node) -> tuple[int, int]:
    return node.location.line, node.location.col


# -- blocks and locations ------------------------------------------------------------------------


def test_blocks_nested_with_locations() -> None:
    text = (
        "global_defs {\n"
        "   router_id LVS_1\n"
        "}\n"
        "\n"
        "vrrp_instance VI_1 {\n"
        "\tstate MASTER\n"
        "    virtual_ipaddress {\n"
        "        192.0.2.1/24 dev eth0\n"
        "    }\n"
        "}\n"
    )
    nodes, diags = parse(text)
    assert not diags.items
    g, vi = nodes
    assert (g.keyword, g.args, loc(g), g.is_block) == ("global_defs", (), (1, 1), True)
    assert g.location == Location("k.conf", 1, 1)
    assert g.end_location == Location("k.conf", 3, 1)
    (rid,) = g.children or ()
    assert (rid.keyword, rid.args, loc(rid), rid.children) == (
        "router_id",
        ("LVS_1",),
        (2, 4),
        None,
    )
    assert (vi.keyword, vi.args) == ("vrrp_instance", ("VI_1",))
    state, vip = vi.children or ()
    assert loc(state) == (6, 2)
    assert loc(vip) == (7, 5)
    assert vip.end_location == Location("k.conf", 9, 5)
    (addr,) = vip.children or ()
    assert addr.words == ("192.0.2.1/24", "dev", "eth0")
    assert loc(addr) == (8, 9)


def test_inline_braces_and_brace_on_next_line() -> None:
    text = (
        "vrrp_instance X\n{\n  virtual_ipaddress { 10.0.0.1 10.0.0.2 }\n"
        "  track_interface {eth0\n  eth1}}\n"
    )
    nodes, diags = parse(text)
    assert not diags.items
    (vi,) = nodes
    assert vi.location == Location("k.conf", 1, 1)
    assert vi.end_location == Location("k.conf", 5, 8)
    vip, track = vi.children or ()
    assert loc(vip) == (3, 3)
    (addr,) = vip.children or ()
    assert addr.words == ("10.0.0.1", "10.0.0.2")
    assert loc(addr) == (3, 23)
    assert vip.end_location == Location("k.conf", 3, 41)
    assert [c.words for c in track.children or ()] == [("eth0",), ("eth1",)]
    assert loc((track.children or ())[0]) == (4, 20)
    assert track.end_location == Location("k.conf", 5, 7)


def test_text_after_closing_brace_and_several_braces_on_a_line() -> None:
    nodes, diags = parse("a {\n b {\n c } } d\ne { } f { g }\n")
    assert not diags.items
    assert [n.keyword for n in nodes] == ["a", "d", "e", "f"]
    assert flat(nodes) == [("a",), ("b",), ("c",), ("d",), ("e",), ("f",), ("g",)]
    assert nodes[2].children == ()
    assert loc(nodes[1]) == (3, 8)


def test_empty_block_and_plain_lines_distinguished() -> None:
    nodes, _ = parse("a {\n}\nb\n")
    assert nodes[0].children == () and nodes[0].is_block
    assert nodes[1].children is None and not nodes[1].is_block


def test_crlf_tabs_blank_lines_and_comments() -> None:
    text = "# header\r\n\r\n\t! bang comment\r\nkw1 a\t b # trailing\r\n   \r\nkw2 ! x\r\n"
    nodes, diags = parse(text)
    assert not diags.items
    assert [(n.words, loc(n)) for n in nodes] == [(("kw1", "a", "b"), (4, 1)), (("kw2",), (6, 1))]


def test_escaped_comment_characters() -> None:
    # keepalived 2.2.7: Unknown keyword 'k#x' / 'o!p'
    nodes, _ = parse("k\\#x # c\no\\!p\n")
    assert [n.keyword for n in nodes] == ["k#x", "o!p"]


def test_quoting_raw_and_quoted_flags() -> None:
    nodes, diags = parse('notify_master "/bin/echo  a" \'b c\' "#x" # comment\n')
    assert not diags.items
    (n,) = nodes
    assert n.args == ("/bin/echo  a", "'b", "c'", "#x")
    assert n.quoted == (True, False, False, True)
    assert n.raw == '"/bin/echo  a" \'b c\' "#x"'


def test_quote_errors_match_keepalived() -> None:
    # keepalived 2.2.7, exit 5:
    #   (Line 1) Unterminated quote 'foo "bar'
    #   (Line 1) Unmatched quote: 'foo "bar'
    #   (Line 1) Unknown keyword 'foo'
    nodes, diags = parse('foo "bar\n')
    assert msgs(diags) == ["Unterminated quote 'foo \"bar'", "Unmatched quote: 'foo \"bar'"]
    assert all(
        d.severity == Severity.ERROR and d.location == Location("k.conf", 1, 1) for d in diags
    )
    assert [n.words for n in nodes] == [("foo",)]
    assert diags.exit_code() == 5


# -- unbalanced braces -----------------------------------------------------------------------------


def test_extra_closing_brace() -> None:
    # keepalived 2.2.7, exit 5: (Line 3) Extra '}' found / (Line 3) Unknown keyword '}'
    nodes, diags = parse("global_defs {\n}\n}\n")
    assert msgs(diags) == ["Extra '}' found"]
    assert diags.items[0].location == Location("k.conf", 3, 1)
    assert diags.items[0].severity == Severity.ERROR
    assert [n.keyword for n in nodes] == [
        "global_defs",
        "}",
    ]  # the tables report Unknown keyword '}'
    assert loc(nodes[1]) == (3, 1)


def test_missing_closing_brace() -> None:
    # keepalived 2.2.7, exit 5: "There are 1 missing '}'s or extra '{'s" (no location)
    nodes, diags = parse("global_defs {\n router_id x\nvrrp_instance A {\n")
    assert msgs(diags) == ["There are 2 missing '}'s or extra '{'s"]
    assert diags.items[0].location is None
    assert diags.exit_code() == 5
    (g,) = nodes
    assert g.end_location is None
    assert flat(nodes) == [("global_defs",), ("router_id", "x"), ("vrrp_instance", "A")]


def test_unexpected_opening_brace() -> None:
    # keepalived 2.2.7 for "{\n}\n":
    #   (Line 1) Unexpected '{' - ignoring / (Line 2) Unknown keyword '}'
    nodes, diags = parse("{\n}\n")
    assert msgs(diags) == ["Unexpected '{' - ignoring"]
    assert [n.keyword for n in nodes] == ["}"]
    # keepalived 2.2.7 for a stray '{' inside a block: (Line 2) Unexpected '{' - ignoring, then
    # the first '}' closes global_defs and the last one is Unknown keyword '}' - but no "Extra"
    nodes, diags = parse("global_defs {\n{\n}\n}\n")
    assert msgs(diags) == ["Unexpected '{' - ignoring"]
    assert diags.items[0].location == Location("k.conf", 2, 1)
    assert [n.keyword for n in nodes] == ["global_defs", "}"]


def test_oracle_mixed_brace_errors() -> None:
    # keepalived 2.2.7, exit 5:
    #   (Line 4) Extra '}' found / (Line 4) Unknown keyword '}' / (Line 5) Unknown keyword 'foo'
    #   (Line 6) Unexpected '{' - ignoring / There are 1 missing '}'s or extra '{'s
    # Here "foo bar" gets the '{' as a block; the keyword tables report what keepalived does.
    nodes, diags = parse("global_defs {\n  router_id x\n}\n}\nfoo bar\n{\n")
    assert msgs(diags) == ["Extra '}' found", "There are 1 missing '}'s or extra '{'s"]
    assert [n.keyword for n in nodes] == ["global_defs", "}", "foo"]
    assert nodes[2].children == ()


# -- conditionals -------------------------------------------------------------------------------


def test_conditional_lines() -> None:
    # keepalived 2.2.7 with -i myid keeps h6 (col 9) and h7, drops the rest
    text = "@myid   h6 a\n@myid\n@other no\n@^other h7\n@^myid no2\n@ h8\n@^ h9\n"
    nodes, diags = parse(text, config_id="myid")
    assert not diags.items
    assert [(n.words, loc(n)) for n in nodes] == [
        (("h6", "a"), (1, 9)),
        (("h7",), (4, 9)),
        (("h9",), (7, 4)),
    ]


def test_conditional_inside_blocks_and_with_definitions() -> None:
    text = "vrrp_instance A {\n@high  priority 170\n@low   priority 85\n}\n"
    text += "@low $P=1\n@high $P=2\nv $P\n"
    nodes, _ = parse(text, config_id="low")
    assert flat(nodes) == [("vrrp_instance", "A"), ("priority", "85"), ("v", "1")]


# -- definitions --------------------------------------------------------------------------------


def test_definitions_recursive_and_undefined() -> None:
    # keepalived 2.2.7: hello, xhello, helloz, $Aq, $UNDEF
    text = "$A=hello\n$A\n$B=$A world\nx$B y\n${A}z\n$Aq\n$UNDEF u\n$A=later\n$B\n"
    nodes, diags = parse(text)
    assert not diags.items
    assert [n.words for n in nodes] == [
        ("hello",),
        ("xhello", "world", "y"),
        ("helloz",),
        ("$Aq",),
        ("$UNDEF", "u"),
        ("later", "world"),  # expanded when used
    ]
    assert loc(nodes[1]) == (4, 1)


def test_definition_needs_no_space_before_equals() -> None:
    nodes, _ = parse("$X =1\n$Y= spaced  value  \nk $Y\n")
    assert [n.words for n in nodes] == [("$X", "=1"), ("k", "spaced", "value")]


def test_definition_with_comment_character_in_value() -> None:
    # keepalived 2.2.7: Unknown keyword 'q' (the value keeps its quotes)
    nodes, _ = parse('$X="a #b"\nq$X\n')
    assert [n.words for n in nodes] == [("q", "a #b")]


def test_multiline_definition() -> None:
    # keepalived 2.2.7: (Line 6) multi1, line2, line3 / (Line 7) pre, line2, line3
    text = "$C=multi1 \\\n  line2 a \\\n  # comment inside\n\n  line3\n$C\npre $C\n"
    nodes, diags = parse(text)
    assert not diags.items
    # the blank line ends the definition, so "line3" stands alone on line 5
    assert [(n.words, loc(n)) for n in nodes] == [
        (("line3",), (5, 3)),
        (("multi1",), (6, 1)),
        (("line2", "a"), (6, 1)),
        (("pre", "multi1"), (7, 1)),
        (("line2", "a"), (7, 1)),
    ]


def test_multiline_definition_is_only_used_at_end_of_line() -> None:
    nodes, _ = parse("$M=a \\\n b\n$M x\n")
    assert [n.words for n in nodes] == [("$M", "x")]


def test_block_macro() -> None:
    text = (
        "$VI=vrrp_instance ${NAME} { \\\n"
        "   state BACKUP \\\n"
        "   virtual_ipaddress { \\\n"
        "      ${ADDR} \\\n"
        "   } \\\n"
        "}\n"
        "$NAME=VI_1\n$ADDR=192.0.2.1\n$VI\n"
        "$NAME=VI_2\n$ADDR=192.0.2.2\n$VI\n"
    )
    nodes, diags = parse(text)
    assert not diags.items
    assert [n.keyword for n in nodes] == ["vrrp_instance", "vrrp_instance"]
    assert flat(nodes) == [
        ("vrrp_instance", "VI_1"),
        ("state", "BACKUP"),
        ("virtual_ipaddress",),
        ("192.0.2.1",),
        ("vrrp_instance", "VI_2"),
        ("state", "BACKUP"),
        ("virtual_ipaddress",),
        ("192.0.2.2",),
    ]
    assert nodes[1].location == Location("k.conf", 12, 1)  # the place of use


def test_nested_multiline_definitions() -> None:
    text = "$IN=i1 \\\ni2\n$OUT=o1 \\\n$IN \\\no2\n$OUT\n"
    nodes, _ = parse(text)
    assert [n.keyword for n in nodes] == ["o1", "i1", "i2", "o2"]


def test_builtin_definitions(tmp_path: Path) -> None:
    nodes, diags = parse(
        "inst ${_INSTANCE} $_INSTANCE\npwd ${_PWD}\n"
        'h "${_HASH}" "${_BANG}"\nh2 ${_HASH} gone\nr ${_RANDOM 5 5} $_RANDOM\n'
        "e $_ENV\n$_HASH=no\nh3 ${_HASH}\n",
        config_id="node1",
        base_dir=tmp_path,
        rng=random.Random(1),
    )
    assert not diags.items
    inst, pwd, h, h2, r, e, h3 = nodes
    assert inst.args == ("node1", "node1")
    assert pwd.args == (os.path.realpath(tmp_path),)
    assert h.args == ("#", "!")
    assert h2.words == ("h2",)  # the substituted '#' starts a comment (keepalived 2.2.7 too)
    assert r.args[0] == "5" and 0 <= int(r.args[1]) <= 32767
    assert e.words == ("e", "$_ENV")  # _ENV only exists from keepalived 2.4.0
    assert h3.args == ("no",)  # builtins can be overridden


def test_random_is_in_range_and_warns_on_extra_parameters() -> None:
    nodes, diags = parse(
        "~SEQ(i,50) r ${_RANDOM 10 12}\nx ${_RANDOM 1 2 3}\n", rng=random.Random(3)
    )
    values = {int(n.args[0]) for n in nodes[:50]}
    assert values == {10, 11, 12}
    assert msgs(diags) == ["Too many parameters or extra text for ${_RANDOM 1 2 3}"]
    assert diags.items[0].severity == Severity.WARNING


def test_substitution_growing_past_maxbuf_stops_like_keepalived() -> None:
    # keepalived 2.2.7 prints "Unknown keyword 'xxx...x$A'" with a 1023 character keyword
    nodes, diags = parse("$A=x$A\n$A\n")
    (n,) = nodes
    assert len(n.keyword) == 1023 and n.keyword.endswith("x$A")
    assert diags.items[0].message.startswith("Parameter substitution on line 'xxx")
    assert diags.items[0].severity == Severity.WARNING


def test_self_referencing_definition_does_not_hang() -> None:
    # keepalived 2.2.7 loops for ever on this one; we give up with an error
    nodes, diags = parse("$B=$B\n$B\nafter\n")
    assert [n.keyword for n in nodes] == ["$B", "after"]
    assert msgs(diags) == ["Parameter substitution on line '$B' does not terminate"]


def test_self_referencing_macro_is_stopped() -> None:
    nodes, diags = parse("$M=x \\\n$M\n$M\n")
    assert diags.worst == Severity.ABORT
    assert nodes and all(n.keyword == "x" for n in nodes)


# -- ~SEQ / ~LST ---------------------------------------------------------------------------------


def test_seq_and_lst_lines() -> None:
    # keepalived 2.2.7 (keywords of the generated lines): s1 s2 s3, t10 t7 t4, h9 ha hb hc,
    # n1 n1 n2 n2, la lb, m m
    text = (
        "~SEQ(i, 3) s$i\n"
        "~SEQ(j, 10, -3, 4) t$j\n"
        "~SEQx(h, 9, 12) h$h\n"
        "~SEQ(i,1,2) ~SEQ(j,1,2) n${i} $j\n"
        "~LST(v, a, b) l$v\n"
        "~LST({p,q},{1,2},{3}) m $p $q .\n"
    )
    nodes, diags = parse(text)
    assert not diags.items
    assert [n.words for n in nodes] == [
        ("s1",),
        ("s2",),
        ("s3",),
        ("t10",),
        ("t7",),
        ("t4",),
        ("h9",),
        ("ha",),
        ("hb",),
        ("hc",),
        ("n1", "1"),
        ("n1", "2"),
        ("n2", "1"),
        ("n2", "2"),
        ("la",),
        ("lb",),
        ("m", "1", "2", "."),
        ("m", "3", "."),
    ]
    assert loc(nodes[0]) == (1, 12)
    assert loc(nodes[10]) == (4, 25)


def test_seq_variable_end_characters_like_keepalived() -> None:
    # keepalived 2.2.7: "$i-" is not a reference, so the keyword stays 'n$i-1'
    nodes, _ = parse("~SEQ(i,1,2) ~SEQ(j,1,2) n$i-$j\n")
    assert [n.keyword for n in nodes] == ["n$i-1", "n$i-2", "n$i-1", "n$i-2"]


def test_seq_generating_blocks_and_using_definitions() -> None:
    text = "$N=2\n~SEQ(i,$N) vrrp_instance VI_$i { virtual_router_id $i }\n"
    nodes, diags = parse(text)
    assert not diags.items
    assert [(n.args, [c.words for c in n.children or ()]) for n in nodes] == [
        (("VI_1",), [("virtual_router_id", "1")]),
        (("VI_2",), [("virtual_router_id", "2")]),
    ]


def test_seq_over_a_block_macro() -> None:
    text = "$BLK=b$i { \\\n  x $i \\\n}\n~SEQ(i,2) $BLK\n"
    nodes, _ = parse(text)
    assert [(n.keyword, [c.words for c in n.children or ()]) for n in nodes] == [
        ("b1", [("x", "1")]),
        ("b2", [("x", "2")]),
    ]


def test_seq_errors_are_reported_with_location() -> None:
    nodes, diags = parse("k\n~SEQ(i,1,0,3) bad\n")
    assert [n.keyword for n in nodes] == ["k"]
    assert msgs(diags) == [
        "Invalid ~SEQ values '~SEQ(i,1,0,3) bad'",
        "Invalid ~SEQ specification '~SEQ(i,1,0,3) bad'",
    ]
    assert {d.location for d in diags} == {Location("k.conf", 2, 1)}


def test_huge_seq_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    assert lexer.MAX_GENERATED_LINES == 1_000_000
    monkeypatch.setattr(lexer, "MAX_GENERATED_LINES", 5000)
    nodes, diags = parse("~SEQ(i,0x7fffffff) x\nnot reached\n")
    assert diags.worst == Severity.ABORT
    assert msgs(diags) == [
        "More than 5000 lines generated by ~SEQ/~LST/multi-line definitions - stopping"
    ]
    assert len(nodes) == 5000


def test_tilde_lines_are_not_substituted() -> None:
    nodes, _ = parse("$A=1\n~foo $A\n")
    assert [n.words for n in nodes] == [("~foo", "$A")]


# -- includes ----------------------------------------------------------------------------------


def _write(path: Path, text: str, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.fixture
def chdir_tmp(tmp_path: Path) -> Iterator[Path]:
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)


def test_include_relative_to_including_file(tmp_path: Path) -> None:
    _write(tmp_path / "sub" / "b.conf", "bkw 1\ninclude c.conf\n}\n")
    _write(tmp_path / "sub" / "c.conf", "ckw 2\n")
    main = _write(tmp_path / "main.conf", "first\ninclude sub/b.conf\nlast\n")
    diags = Diagnostics()
    nodes, files = parse_file(main, diags=diags, config_id="")
    assert [(n.keyword, n.location) for n in nodes] == [
        ("first", Location(str(main), 1, 1)),
        ("bkw", Location(f"{tmp_path}/sub/b.conf", 1, 1)),
        ("ckw", Location(f"{tmp_path}/sub/c.conf", 1, 1)),
        ("}", Location(f"{tmp_path}/sub/b.conf", 3, 1)),
        ("last", Location(str(main), 3, 1)),
    ]
    # keepalived 2.2.7: (sub/b.conf: Line 3) Extra '}' found
    assert msgs(diags) == ["Extra '}' found"]
    assert files == (str(main), f"{tmp_path}/sub/b.conf", f"{tmp_path}/sub/c.conf")


def test_include_relative_main_file_name(chdir_tmp: Path) -> None:
    _write(chdir_tmp / "sub" / "b.conf", "bkw\n")
    _write(chdir_tmp / "main.conf", "include sub/b.conf\n")
    diags = Diagnostics()
    nodes, files = parse_file(Path("main.conf"), diags=diags, config_id="")
    assert nodes[0].location == Location("sub/b.conf", 1, 1)
    assert files == ("main.conf", "sub/b.conf")


def test_include_glob_braces_and_block_across_files(tmp_path: Path) -> None:
    _write(tmp_path / "conf.d" / "20-b.conf", "vrrp_instance B {\n}\n")
    _write(tmp_path / "conf.d" / "10-a.conf", "vrrp_instance A {\n")
    _write(tmp_path / "conf.d" / "15-x.txt", "ignored\n")
    _write(tmp_path / "x" / "one.conf", "one\n")
    _write(tmp_path / "x" / "two.conf", "two\n")
    text = "include conf.d/*.conf\n}\ninclude x/{two,one}.conf\n"
    nodes, diags = parse(text, base_dir=tmp_path)
    # A's block is closed by the '}' in B's file... exactly as keepalived reads it
    assert flat(nodes) == [("vrrp_instance", "A"), ("vrrp_instance", "B"), ("two",), ("one",)]
    assert not diags.items


def test_include_in_block_and_with_definitions(tmp_path: Path) -> None:
    _write(tmp_path / "vips.conf", "192.0.2.1\n192.0.2.2\n")
    # "$DIR/" would not be a reference ('/' may not follow a name), "${DIR}/" is
    text = f"$DIR={tmp_path}\nvirtual_ipaddress {{\n  include ${{DIR}}/vips.conf\n}}\n"
    nodes, diags = parse(text)
    assert not diags.items
    assert [c.keyword for c in nodes[0].children or ()] == ["192.0.2.1", "192.0.2.2"]


def test_conditional_include(tmp_path: Path) -> None:
    _write(tmp_path / "a.conf", "akw\n")
    nodes, _ = parse(
        "@n1 include a.conf\n@n2 include nothere.conf\n", base_dir=tmp_path, config_id="n1"
    )
    assert [n.keyword for n in nodes] == ["akw"]


def test_include_problems_match_keepalived(tmp_path: Path) -> None:
    _write(tmp_path / "sub" / "b.conf", "bkw\n")
    _write(tmp_path / "sub" / "c.conf", "ckw\n")
    text = (
        "include missing.conf\n"
        "includer missing2.conf\n"
        "includem nomatch*.conf\n"
        "includew nomatch*.conf\n"
        "include sub/{b,c,d}.conf\n"
        "includeb sub/{b,x}.conf\n"
        'include "sub/b.conf"\n'
        "include sub/b.conf extra\n"
        "include sub\n"
        "includea nodir/*.conf\n"
    )
    nodes, diags = parse(text, base_dir=tmp_path)
    # keepalived 2.2.7 prints exactly these (parent pass, exit 6):
    assert [(d.location.line if d.location else 0, d.message) for d in diags] == [
        (1, "Config files missing 'missing.conf'."),
        (2, "Config files missing 'missing2.conf'."),
        (4, "No config files matched 'nomatch*.conf'."),
        (5, 'Some config files missing: "sub/{b,c,d}.conf".'),
        (6, 'Some config files missing: "sub/{b,x}.conf".'),
        (7, "Config files missing '\"sub/b.conf\"'."),
        (8, "Config files missing 'sub/b.conf extra'."),
        (9, "Configuration file 'sub/' is a directory - skipping"),
        (10, "Config files missing 'nodir/*.conf'."),
    ]
    enforced = [d.location.line for d in diags if d.severity == Severity.SECURITY and d.location]
    assert enforced == [4, 6, 10]
    assert diags.exit_code() == 6  # keepalived 2.2.7 exits 6 for these
    assert [n.keyword for n in nodes] == ["bkw", "ckw"]


@pytest.mark.parametrize(
    ("line", "exit_code"),
    [
        # keepalived 2.2.7 exit codes for a file holding only this line
        ("includer missing2.conf", 0),
        ("include missing.conf", 0),
        ("includew nomatch*.conf", 6),
        ("includem nomatch*.conf", 0),
        ("include nomatch*.conf", 0),
        ("includea nomatch*.conf", 6),
        ("includeb sub/{b,x}.conf", 6),
        ("includer sub", 6),
        ("include sub", 0),
    ],
)
def test_include_exit_codes(tmp_path: Path, line: str, exit_code: int) -> None:
    _write(tmp_path / "sub" / "b.conf", "global_defs {\n}\n")
    _, diags = parse(line + "\n", base_dir=tmp_path)
    assert diags.exit_code() == exit_code


def test_include_check_in_global_defs(tmp_path: Path) -> None:
    _write(tmp_path / "inc.conf", "global_defs {\n  include_check\n}\ninclude gone2.conf\n")
    text = "include gone1.conf\nglobal_defs {\n include_check match\n}\n"
    text += "include gone2.conf\ninclude inc.conf\ninclude gone3.conf\n"
    _, diags = parse(text, base_dir=tmp_path)
    sev = [(d.location.line if d.location else 0, d.severity) for d in diags]
    assert sev == [
        (1, Severity.WARNING),
        (5, Severity.SECURITY),
        (4, Severity.SECURITY),  # inside inc.conf, include_check with no args = all
        (7, Severity.SECURITY),  # back in the includer: its own include_check (match) again
    ]


def test_include_loop_terminates(tmp_path: Path) -> None:
    _write(tmp_path / "a.conf", "include b.conf\nakw\n")
    _write(tmp_path / "b.conf", "include a.conf\nbkw\n")
    diags = Diagnostics()
    start = time.monotonic()
    nodes, files = parse_file(tmp_path / "a.conf", diags=diags, config_id="")
    assert time.monotonic() - start < 5
    assert [n.keyword for n in nodes] == ["bkw", "akw"]
    assert msgs(diags) == ["Configuration file 'a.conf' open problem (include loop) - skipping"]
    assert files == (str(tmp_path / "a.conf"), str(tmp_path / "b.conf"))


def test_include_of_executable_is_skipped(tmp_path: Path) -> None:
    _write(tmp_path / "x.conf", "xkw\n", mode=0o755)
    nodes, diags = parse("include x.conf\nincluder x.conf\n", base_dir=tmp_path)
    assert nodes == ()
    message = "Configuration file 'x.conf' is not a regular non-executable file - skipping"
    assert [(d.severity, d.message) for d in diags] == [
        (Severity.WARNING, message),
        (Severity.SECURITY, message),
    ]


def test_include_generated_by_seq(tmp_path: Path) -> None:
    for i in (1, 2, 3):
        _write(tmp_path / f"f{i}.conf", f"kw{i}\n")
    nodes, _ = parse("~SEQ(i,3) include f${i}.conf\n", base_dir=tmp_path)
    # keepalived 2.2.7 opens every include before reading any of them: kw3, kw2, kw1
    assert [n.keyword for n in nodes] == ["kw3", "kw2", "kw1"]


# -- the main file -------------------------------------------------------------------------------


def test_missing_main_file(tmp_path: Path) -> None:
    # keepalived 2.2.7: "Config files missing 'nodir/x.conf'." and exit 0
    diags = Diagnostics()
    nodes, files = parse_file(Path("nodir/x.conf"), diags=diags, config_id="")
    assert (nodes, files) == ((), ())
    assert [(d.severity, d.message, d.location) for d in diags] == [
        (Severity.WARNING, "Config files missing 'nodir/x.conf'.", None)
    ]
    assert diags.exit_code() == 0


def test_main_file_directory_or_executable(tmp_path: Path) -> None:
    # keepalived 2.2.7: "Configuration file 'dirconf/' is a directory - skipping", exit 0
    (tmp_path / "dirconf").mkdir()
    diags = Diagnostics()
    assert parse_file(tmp_path / "dirconf", diags=diags, config_id="") == ((), ())
    assert msgs(diags) == [f"Configuration file '{tmp_path}/dirconf/' is a directory - skipping"]
    exe = _write(tmp_path / "hx.conf", "kw\n", mode=0o755)
    diags = Diagnostics()
    assert parse_file(exe, diags=diags, config_id="") == ((), ())
    assert msgs(diags) == [
        f"Configuration file '{exe}' is not a regular non-executable file - skipping"
    ]
    assert diags.exit_code() == 0


def test_main_file_glob_with_several_matches(chdir_tmp: Path) -> None:
    # keepalived 2.2.7: "WARNING, multiple configuration file matches of multi/*.conf, starting
    # with multi/a.conf", exit 5, and both files are read
    _write(chdir_tmp / "multi" / "a.conf", "akw\n")
    _write(chdir_tmp / "multi" / "b.conf", "bkw\n")
    diags = Diagnostics()
    nodes, files = parse_file(Path("multi/*.conf"), diags=diags, config_id="")
    assert [n.location for n in nodes] == [
        Location("multi/a.conf", 1, 1),
        Location("multi/b.conf", 1, 1),
    ]
    assert msgs(diags) == [
        "WARNING, multiple configuration file matches of multi/*.conf, starting with multi/a.conf"
    ]
    assert diags.exit_code() == 5
    assert files == ("multi/a.conf", "multi/b.conf")


def test_main_file_all_config_flag(tmp_path: Path) -> None:
    main = _write(tmp_path / "k.conf", "include gone.conf\n")
    diags = Diagnostics()
    parse_file(main, diags=diags, config_id="", all_config=True)
    assert [d.severity for d in diags] == [Severity.SECURITY]


def test_undecodable_bytes_and_nul(tmp_path: Path) -> None:
    main = tmp_path / "k.conf"
    main.write_bytes(b"kw \xff\xfe\nnul a\x00 ignored\nlast\n")
    diags = Diagnostics()
    nodes, _ = parse_file(main, diags=diags, config_id="")
    assert [n.words for n in nodes] == [("kw", "\ufffd\ufffd"), ("nul", "a"), ("last",)]


def test_long_line_is_read_in_pieces() -> None:
    # keepalived 2.2.7 reports a 1023 character keyword, then 'kkkkkkk' for the rest
    nodes, diags = parse("k" * 1030 + " x\nnext\n")
    assert [n.words for n in nodes] == [("k" * 1023,), ("kkkkkkk", "x"), ("next",)]
    assert diags.worst == Severity.WARNING


# -- shipped samples and speed -----------------------------------------------------------------


def _sample_files() -> list[Path]:
    if not SAMPLES.is_dir():
        return []
    files = sorted(SAMPLES.glob("keepalived.conf.*"))
    files += [
        SAMPLES / "etc_keepalived" / "keepalived.conf",
        SAMPLES / "docker" / "keepalived.conf",
    ]
    return files


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="keepalived samples not available")
@pytest.mark.parametrize("path", _sample_files(), ids=lambda p: str(p.relative_to(SAMPLES)))
def test_samples_parse_without_errors(path: Path) -> None:
    diags = Diagnostics()
    nodes, files = parse_file(path, diags=diags, config_id="high")
    assert nodes
    assert files == (str(path),)
    # keepalived 2.2.7 reports no parser-level problem in any of them
    assert diags.worst is None or diags.worst < Severity.ERROR, [d.format() for d in diags]


def test_conditional_sample_selects_by_config_id() -> None:
    path = SAMPLES / "keepalived.conf.conditional_conf"
    if not path.exists():
        pytest.skip("sample not available")
    for cid, prio in (("high", "170"), ("low", "85")):
        nodes, _ = parse_file(path, diags=Diagnostics(), config_id=cid)
        priorities = {n.args[0] for n in (nodes[2].children or ()) if n.keyword == "priority"}
        assert priorities == {prio}


def _big_config(lines: int) -> str:
    out = ["global_defs {", "  router_id bench  # comment", "}"]
    i = 0
    while len(out) < lines:
        out += [
            f"vrrp_instance VI_{i} {{",
            "    state BACKUP",
            "    interface eth0",
            f"    virtual_router_id {i % 255 + 1}",
            "    priority 100",
            "    authentication {",
            "        auth_type PASS",
            '        auth_pass "se cret"',
            "    }",
            f"    virtual_ipaddress {{ 192.0.2.{i % 250 + 1}/24 dev eth0 }}",
            '    notify_master "/bin/echo master" ! comment',
            "}",
            "",
        ]
        i += 1
    return "\n".join(out) + "\n"


def test_fifty_thousand_lines_parse_quickly() -> None:
    text = _big_config(50_000)
    start = time.process_time()
    nodes, diags = parse(text)
    elapsed = time.process_time() - start
    assert not diags.items
    assert len(nodes) == 1 + (50_000 - 3 + 12) // 13
    assert elapsed < 2.5, f"{elapsed:.2f} s of CPU for 50k lines"


def test_undefined_braced_reference_is_cut_at_its_braces() -> None:
    # keepalived 2.2.7: Unknown keyword '$' / Unexpected '{' - ignoring / Unknown keyword
    # 'UNDEF' / Unknown keyword '}' / Unknown keyword 'v'
    nodes, diags = parse("${UNDEF} v\n")
    assert not diags.items
    assert [(n.words, [c.words for c in n.children or ()]) for n in nodes] == [
        (("$",), [("UNDEF",)]),
        (("v",), []),
    ]


def test_same_file_twice_in_one_include_is_not_a_loop(tmp_path: Path) -> None:
    _write(tmp_path / "a.conf", "akw\n")
    nodes, diags = parse("include {a,a}.conf\n", base_dir=tmp_path)
    assert [n.keyword for n in nodes] == ["akw", "akw"]
    assert not diags.items
