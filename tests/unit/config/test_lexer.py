"""The pieces of keepalived's read_line(): decomment, word splitting, braces, includes, globs,
definitions and ~SEQ/~LST parsing. Expected values marked "keepalived 2.2.7" were observed with
``keepalived -t -f FILE`` (Debian 12's 2.2.7) on the same text."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from pykeepalived.config.lexer import (
    MAXBUF,
    OS_FS,
    IncludeCheck,
    LstSpec,
    SeqSpec,
    SpecError,
    decomment,
    expand_braces,
    find_reference,
    glob_config,
    has_brace,
    include_check_from_words,
    parse_include,
    parse_lst,
    parse_seq,
    random_value,
    split_braces,
    split_words,
    standard_definitions,
)
from pykeepalived.config.lexer import (
    Definition as Def,
)
from pykeepalived.config.model.common import split_script_words

pytestmark = pytest.mark.unit


# -- decomment ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("  kw arg  # comment", "kw arg"),
        ("\tkw arg\t", "kw arg"),
        ("kw ! comment", "kw"),
        ("!full comment", ""),
        ("# full comment", ""),
        ('m "q # notcomment" ! c', 'm "q # notcomment"'),
        ("k\\#x # comment", "k#x"),  # keepalived 2.2.7: Unknown keyword 'k#x'
        ("o\\!p", "o!p"),  # keepalived 2.2.7: Unknown keyword 'o!p'
        ('"a \\# b"', '"a \\# b"'),  # escapes are kept inside quotes
        ("n 'q # c'", "n 'q"),  # single quotes do not protect a comment
        ("$M=a \\", "$M=a\\"),  # continuation: blanks before the backslash go
        ("x # comment \\", "x\\"),  # a comment ending in a backslash still continues
        ("a\\\\", "a\\\\"),  # an escaped backslash is not a continuation
        ('a \\" # c', 'a \\"'),  # \" does not open a quote
        ("", ""),
    ],
)
def test_decomment(line: str, expected: str) -> None:
    d = decomment(line)
    assert d.text == expected
    assert d.unterminated is None


def test_decomment_unterminated_quote_reports_the_line() -> None:
    # keepalived 2.2.7: (Line 1) Unterminated quote 'foo "bar # x'
    d = decomment('foo "bar # x')
    assert d.text == 'foo "bar # x'
    assert d.unterminated == 'foo "bar # x'


def test_decomment_removes_escape_before_comment_position() -> None:
    # the removed backslash must not shift where the comment starts
    assert decomment("a\\#b\\!c # d").text == "a#b!c"


# -- words -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words", "quoted"),
    [
        # keepalived 2.2.7 reports Unknown keyword 'a b' for this line
        ('"a b"c d', ("a b", "c", "d"), (True, False, False)),
        # keepalived 2.2.7: Unknown keyword ''x'
        ("'x y' z", ("'x", "y'", "z"), (False, False, False)),
        # keepalived 2.2.7: Unknown keyword 'ab'
        ('ab"cd ef"gh', ("ab", "cd ef", "gh"), (False, True, False)),
        ("tab\tsep\x0bvt\fff\rcr", ("tab", "sep", "vt", "ff", "cr"), (False,) * 5),
        ('kw ""', ("kw", ""), (False, True)),
        ("  lead", ("lead",), (False,)),
    ],
)
def test_split_words(text: str, words: tuple[str, ...], quoted: tuple[bool, ...]) -> None:
    w = split_words(text)
    assert w.words == words
    assert w.quoted == quoted
    assert not w.unmatched


def test_split_words_raw_start_after_first_word() -> None:
    text = 'notify_master "/bin/echo a" b'
    w = split_words(text)
    assert text[w.raw_start :] == ' "/bin/echo a" b'
    w = split_words('"quoted kw" rest')
    assert w.words[0] == "quoted kw"
    assert '"quoted kw" rest'[w.raw_start :] == " rest"


def test_split_words_unmatched_quote_keeps_words_before() -> None:
    # keepalived 2.2.7: Unmatched quote: 'foo "bar' then Unknown keyword 'foo'
    w = split_words('foo "bar')
    assert w.words == ("foo",)
    assert w.unmatched


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('abcd" efg h "ijk', ["abcd efg h ijk"]),
        ("'a b' c", ["a b", "c"]),
        ("x'a\"b'y", ['xa"by']),
        ('"\\x41\\n\\t\\101\\cA\\E\\a\\b\\f\\r\\v\\\\\\""', ['A\n\tA\x01\x1b\a\b\f\r\v\\"']),
        ("a\\ b c", ["a b", "c"]),
        ("\\x4g", ["\x04g"]),
        ("\\xg", ["xg"]),  # \x without a hex digit is just x
        ("\\7777", ["\xff7"]),  # at most three octal digits, 8 bits kept
        ("  sp  ", ["sp"]),
        ("", []),
    ],
)
def test_split_script_words(text: str, words: list[str]) -> None:
    assert split_script_words(text) == (words, None)


def test_split_script_words_errors() -> None:
    assert split_script_words('/bin/sh "a b') == (
        [],
        "String '/bin/sh \"a b': missing terminating \"",
    )
    assert split_script_words("/bin/sh 'a b") == (
        [],
        "String '/bin/sh 'a b': missing terminating '",
    )
    assert split_script_words("a\\") == ([], "Missing escape char at end: 'a\\'")


# -- braces and includes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "head", "rest"),
    [
        ("kw {", "kw", "{"),
        ("kw arg{", "kw arg", "{"),
        ("{ a }", "{", "a }"),
        ("{", "{", None),
        ("{   ", "{", None),
        ("a }", "a", "}"),
        ("}", "}", None),
        ("} }", "}", "}"),
        ('"w{" x', '"w{" x', None),  # keepalived 2.2.7: Unknown keyword 'w{'
        ("'w{' x", "'w", "{' x"),  # only double quotes protect braces
        ('"unclosed { x', '"unclosed { x', None),
        ('a "b" { c', 'a "b"', "{ c"),
        ("plain", "plain", None),
    ],
)
def test_split_braces(text: str, head: str, rest: str | None) -> None:
    h, offset = split_braces(text)
    assert h == head
    assert (text[offset:].rstrip(" \t") if offset >= 0 else None) == rest


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("include a.conf", (IncludeCheck.NONE, "a.conf")),
        ("include\t  a b.conf", (IncludeCheck.NONE, "a b.conf")),
        ('include "q.conf"', (IncludeCheck.NONE, '"q.conf"')),  # quotes are not removed
        ("includer x", (IncludeCheck.READ, "x")),
        ("includem x", (IncludeCheck.READ | IncludeCheck.MATCH, "x")),
        ("includew x", (IncludeCheck.READ | IncludeCheck.MATCH | IncludeCheck.WILDCARD, "x")),
        ("includeb x", (IncludeCheck.READ | IncludeCheck.BRACE, "x")),
        ("includea x", (IncludeCheck.all(), "x")),
        ("include", None),
        ("includex y", None),
        ("includerr y", None),
        ("included", None),
        ("inc x", None),
    ],
)
def test_parse_include(text: str, expected: tuple[IncludeCheck, str] | None) -> None:
    assert parse_include(text) == expected


def test_include_check_from_words() -> None:
    none = IncludeCheck.NONE
    r, m, w, b = IncludeCheck.READ, IncludeCheck.MATCH, IncludeCheck.WILDCARD, IncludeCheck.BRACE
    assert include_check_from_words(none, []) == IncludeCheck.all()
    assert include_check_from_words(IncludeCheck.all(), ["match"]) == r | m
    assert include_check_from_words(r, ["+brace_match", "+wildcard_match"]) == r | b | w
    assert include_check_from_words(r | m, ["-read"]) == m
    assert include_check_from_words(r, ["match", "brace_match"]) == r | m  # duplicate ignored
    assert include_check_from_words(r | m, ["bogus"]) == none


# -- glob ---------------------------------------------------------------------------------------


def test_expand_braces() -> None:
    assert expand_braces("a{b,c}d") == ["abd", "acd"]
    assert expand_braces("x{a,b{1,2}}y") == ["xay", "xb1y", "xb2y"]
    assert expand_braces("{a,b}{1,2}") == ["a1", "a2", "b1", "b2"]
    assert expand_braces("{a}") == ["a"]
    assert expand_braces("no{close") == ["no{close"]
    assert expand_braces("\\{a,b}") == ["\\{a,b}"]
    assert has_brace("a{b}") and not has_brace("a\\{b}") and not has_brace("ab")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "sub").mkdir()
    for name in ("b.conf", "a.conf", ".hidden.conf", "c.txt"):
        (tmp_path / "sub" / name).write_text("x\n")
    (tmp_path / "sub" / "d.conf").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "a.conf").write_text("x\n")
    return tmp_path


def test_glob_wildcards_sorted_dirs_marked_hidden_skipped(tree: Path) -> None:
    res = glob_config("sub/*.conf", str(tree), OS_FS)
    assert res.paths == ["sub/a.conf", "sub/b.conf", "sub/d.conf/"]
    assert res.have_wildcards and not res.missing_files and not res.missing_dirs
    assert glob_config("sub/.*.conf", str(tree), OS_FS).paths == ["sub/.hidden.conf"]
    assert glob_config("sub/[ab].conf", str(tree), OS_FS).paths == ["sub/a.conf", "sub/b.conf"]
    assert glob_config("sub/[!ab].conf", str(tree), OS_FS).paths == ["sub/d.conf/"]
    assert glob_config("sub/?.conf", str(tree), OS_FS).paths == [
        "sub/a.conf",
        "sub/b.conf",
        "sub/d.conf/",
    ]
    assert glob_config("*/a.conf", str(tree), OS_FS).paths == ["other/a.conf", "sub/a.conf"]


def test_glob_braces_keep_alternative_order_and_count_missing(tree: Path) -> None:
    res = glob_config("sub/{b,a,zz}.conf", str(tree), OS_FS)
    assert res.paths == ["sub/b.conf", "sub/a.conf"]  # each alternative on its own
    assert res.missing_files == 1


def test_glob_literal_and_absolute(tree: Path) -> None:
    assert glob_config("sub", str(tree), OS_FS).paths == ["sub/"]
    assert glob_config("sub/", str(tree), OS_FS).paths == ["sub/"]
    absolute = f"{tree}/sub/a.conf"
    assert glob_config(absolute, "/", OS_FS).paths == [absolute]
    res = glob_config("missing.conf", str(tree), OS_FS)
    assert res.paths == [] and res.missing_files == 1 and not res.have_wildcards
    res = glob_config("nodir/*.conf", str(tree), OS_FS)
    assert res.paths == [] and res.missing_dirs == 1 and res.have_wildcards
    res = glob_config("nomatch*.conf", str(tree), OS_FS)
    assert res.paths == [] and not res.missing_dirs and not res.missing_files and res.have_wildcards


# -- definitions ---------------------------------------------------------------------------------


def test_find_reference_end_characters_and_braces() -> None:
    defs = {"A": Def("v"), "M": Def("l1\nl2", multiline=True)}
    assert find_reference(defs, "$A x", 1) is not None
    for ok in ("$A", "$A,", "$A)", "$A\tx"):
        assert find_reference(defs, ok, 1) is not None, ok
    for bad in ("$Ax", "$A-", "$A.x", "$1", "$ A"):
        assert find_reference(defs, bad, 1) is None, bad
    ref = find_reference(defs, "${A}x", 1)
    assert ref is not None and ref.end == 4
    # multi-line values only where the reference ends the line
    assert find_reference(defs, "x $M", 3) is not None
    assert find_reference(defs, "x ${M}", 3) is not None
    assert find_reference(defs, "$M y", 1) is None
    # parameters only for definitions that take them
    assert find_reference(defs, "${A 1}", 1) is None
    std = standard_definitions()
    ref = find_reference(std, "${_RANDOM 1 9}z", 1)
    assert ref is not None and ref.params == "1 9" and ref.end == 14
    assert find_reference(std, "${_RANDOM 1 }", 1) is None  # may not end with a space
    assert find_reference(std, "${_RANDOM x}", 1) is None
    assert set(std) == {"_PWD", "_INSTANCE", "_RANDOM", "_HASH", "_BANG"}  # no _ENV in 2.2.7


def test_random_value_bounds_and_warning() -> None:
    rng = random.Random(7)
    values = {int(random_value("3 5", rng)[0]) for _ in range(200)}
    assert values == {3, 4, 5}
    assert all(0 <= int(random_value(None, rng)[0]) <= 32767 for _ in range(50))
    assert random_value("42", rng)[0].isdigit()
    assert random_value("1 2 3", rng)[1] == "Too many parameters or extra text for ${_RANDOM 1 2 3}"


# -- ~SEQ / ~LST ---------------------------------------------------------------------------------


def _no_expand(text: str, max_len: int) -> str:
    return text


@pytest.mark.parametrize(
    ("buf", "expected"),
    [
        ("~SEQ(i, 3) s$i", (1, 1, 3, False, "s$i")),
        ("~SEQ(i,0) z", (1, -1, 0, False, "z")),  # keepalived 2.2.7 gives 1, 0
        ("~SEQ(i,-2) z", (-1, -1, -2, False, "z")),  # keepalived 2.2.7 gives -1, -2
        ("~SEQ(i,3,1) d", (3, -1, 1, False, "d")),
        ("~SEQ(j, 10, -3, 4) t", (10, -3, 4, False, "t")),
        ("~SEQx(h, 9, 12) h", (9, 1, 12, True, "h")),
        ("~SEQ(i,0x3) t", (1, 1, 3, False, "t")),  # strtol base 0
        ("~SEQ(i,010) u", (1, 1, 8, False, "u")),  # octal, as keepalived 2.2.7 shows u1..u8
        ("~SEQ(i 2, 3) q", (0, 1, 3, False, "q")),  # keepalived 2.2.7: q0..q3
        ("~SEQ(i,2,) r", (2, -1, 0, False, "r")),  # keepalived 2.2.7: r2, r1, r0
        ("~SEQ(i,,2) s", (0, 1, 2, False, "s")),
        ("~SEQ(i,1, 2 )   w", (1, 1, 2, False, "w")),
    ],
)
def test_parse_seq(buf: str, expected: tuple[int, int, int, bool, str]) -> None:
    spec = parse_seq(buf, _no_expand)
    assert isinstance(spec, SeqSpec)
    assert (spec.start, spec.step, spec.end, spec.hex, spec.text) == expected
    assert spec.var in ("i", "j", "h")
    assert buf[spec.text_offset :] == expected[4]


@pytest.mark.parametrize(
    ("buf", "messages"),
    [
        # all four from keepalived 2.2.7
        (
            "~SEQ(i,1,0,3) bad",
            [
                "Invalid ~SEQ values '~SEQ(i,1,0,3) bad'",
                "Invalid ~SEQ specification '~SEQ(i,1,0,3) bad'",
            ],
        ),
        (
            "~SEQx(i,-1,2) b",
            [
                "~SEQx is only valid for positive numbers '~SEQx(i,-1,2) b'",
                "Invalid ~SEQ specification '~SEQx(i,-1,2) b'",
            ],
        ),
        ("~SEQ i", ["Invalid ~SEQ specification '~SEQ i'"]),
        (
            "~SEQ(i,3 x",
            [
                "~SEQ parameter strings too long '~SEQ(i,3 x'",
                "Invalid ~SEQ specification '~SEQ(i,3 x'",
            ],
        ),
        ("~SEQUENCE(i,2) w", ["Invalid ~SEQ specification '~SEQUENCE(i,2) w'"]),
        (
            "~SEQ(,2) w",
            ["Invalid ~SEQ definition '~SEQ(,2) w'", "Invalid ~SEQ specification '~SEQ(,2) w'"],
        ),
        (
            "~SEQ(i) w",
            ["Invalid ~SEQ definition '~SEQ(i) w'", "Invalid ~SEQ specification '~SEQ(i) w'"],
        ),
        (
            "~SEQ(i,1;2) w",
            [
                "Invalid ~SEQ definition '~SEQ(i,1;2) w'",
                "Invalid ~SEQ specification '~SEQ(i,1;2) w'",
            ],
        ),
    ],
)
def test_parse_seq_errors(buf: str, messages: list[str]) -> None:
    with pytest.raises(SpecError) as info:
        parse_seq(buf, _no_expand)
    assert info.value.messages == messages


def test_parse_seq_expands_definitions_in_parameters() -> None:
    spec = parse_seq("~SEQ(i,$N) v", lambda text, max_len: text.replace("$N", "3"))
    assert (spec.start, spec.end) == (1, 3)


def test_parse_lst() -> None:
    spec = parse_lst("~LST(v, a, b) l $v")
    assert isinstance(spec, LstSpec)
    assert (spec.params, spec.value_sets, spec.text) == (["v"], [["a"], ["b"]], "l $v")
    spec = parse_lst("~LST({p,q},{1,2},{3}) m")
    assert (spec.params, spec.value_sets, spec.text) == (["p", "q"], [["1", "2"], ["3", ""]], "m")
    spec = parse_lst("~LST( { a , b } , { 1 , 2 } ) x")
    assert (spec.params, spec.value_sets) == (["a", "b"], [["1", "2"]])


@pytest.mark.parametrize(
    ("buf", "messages"),
    [
        # keepalived 2.2.7 prints both lines for this one
        (
            "~LST(w,{x,y}) w$w",
            [
                "~LST specification has too many values '~LST(w,{x,y}) w$w'",
                "Invalid ~LST specification '~LST(w,{x,y}) w$w'",
            ],
        ),
        ("~LST w", ["Invalid ~LST specification '~LST w'"]),
        ("~LST(a)", ["Invalid ~LST specification '~LST(a)'"]),
        ("~LST(a, b", ["Invalid ~LST specification '~LST(a, b'"]),
        ("~LST(a; b)", ["Invalid ~LST specification '~LST(a; b)'"]),
    ],
)
def test_parse_lst_errors(buf: str, messages: list[str]) -> None:
    with pytest.raises(SpecError) as info:
        parse_lst(buf)
    assert info.value.messages == messages


def test_maxbuf_is_keepalived_value() -> None:
    assert MAXBUF == 1024
