"""keepalived.conf text -> a tree of `Node` objects with source locations.

The logical lines come from `lexer.LineReader` (comments, conditionals, definitions, ~SEQ,
includes, braces cut out). Here they are grouped into blocks: a ``{`` line right after a
keyword line opens that keyword's block, ``}`` closes the innermost block.

What keepalived 2.2.7 does with unbalanced braces is kept:

- ``{`` that does not follow a keyword line: "Unexpected '{' - ignoring" (the brace is dropped,
  but keepalived still counts it, so a later ``}`` may not be "extra").
- ``}`` with no block open: "Extra '}' found" (if keepalived's brace count says so) and the ``}``
  stays as a top-level line, for which the keyword tables report "Unknown keyword '}'".
- blocks still open at the end: "There are N missing '}'s or extra '{'s" (no location, as
  keepalived prints it).

What a block means (and keepalived's quirks with a ``{`` after a keyword that takes no block)
is left to the keyword tables.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from pykeepalived.config.errors import Diagnostics, Location
from pykeepalived.config.lexer import (
    OS_FS,
    WHITE_SPACE,
    ConfigFS,
    FileKind,
    IncludeCheck,
    LineItem,
    LineReader,
    LogicalLine,
    glob_config,
    split_words,
)
from pykeepalived.config.tree import Node

log = logging.getLogger(__name__)

__all__ = ["build_tree", "parse_file", "parse_text"]


_BRACES = ("{", "}")
_UNQUOTED: list[tuple[bool, ...]] = [(False,) * n for n in range(16)]


def _unquoted(n: int) -> tuple[bool, ...]:
    """``(False,) * n``, shared for the usual short lengths."""
    return _UNQUOTED[n] if n < 16 else (False,) * n


# A keyword line whose `Node` is not made yet, as `Node`'s positional arguments without
# end_location (children is None): a "{" on the next line may still open its block.
_Line = tuple[str, tuple[str, ...], Location, None, str, tuple[bool, ...]]
# A block whose "}" has not been seen yet: its head line, the list the block goes to when it
# is closed, and its children so far.
_OpenBlock = tuple[_Line, list[Node], list[Node]]


def _close(block: _OpenBlock, end: Location | None) -> Node:
    (keyword, args, location, _, raw, quoted), _, children = block
    return Node(keyword, args, location, tuple(children), raw, quoted, end)


def _items(lines: Iterable[LogicalLine]) -> Iterator[LineItem]:
    """`LogicalLine` objects as the `LineItem` tuples `build_tree` reads."""
    for line in lines:
        loc = line.location
        yield line.text, loc.file, loc.line, loc.col, False


def build_tree(
    lines: Iterable[LogicalLine], diags: Diagnostics, reader: LineReader | None = None
) -> tuple[Node, ...]:
    """Group logical lines into blocks.

    With ``reader`` given, ``include_check`` lines of global_defs act on the includes that
    follow them (as in keepalived, where the keyword handler runs while the file is read), and
    the reader's brace count decides "There are N missing '}'s" at the end.
    """
    items = reader.logical_lines() if reader is not None and lines is reader else _items(lines)
    top: list[Node] = []
    stack: list[_OpenBlock] = []
    children = top
    # the previous logical line at this level if it was a keyword line (a "{" opens its block)
    last: _Line | None = None
    for text, file, line_no, col, plain in items:
        brace_args: tuple[str, ...] = ()
        if text not in _BRACES:
            if plain:
                words: Sequence[str] = text.split()
                if not words:
                    continue
                keyword = words[0]
                raw_start = text.find(keyword) + len(keyword)
                quoted = _unquoted(len(words) - 1)
            else:
                w = split_words(text)
                if w.unmatched:
                    diags.error(f"Unmatched quote: '{text}'", Location(file, line_no, col))
                words = w.words
                if not words:
                    continue
                keyword = words[0]
                raw_start = w.raw_start
                quoted = w.quoted[1:]
            if keyword not in _BRACES:
                if last is not None:
                    children.append(Node(*last))
                args = tuple(words[1:])
                loc = Location(file, line_no, col)
                last = (keyword, args, loc, None, text[raw_start:].lstrip(WHITE_SPACE), quoted)
                if (
                    reader is not None
                    and keyword == "include_check"
                    and len(stack) == 1
                    and stack[0][0][0] == "global_defs"  # the keyword of the block's head
                ):
                    reader.set_include_check(args)
                continue
            # keepalived compares the first word: a quoted "{" or "}" acts as a brace and
            # the rest of the line is ignored (the brace count is not changed, though)
            text = keyword
            brace_args = tuple(words[1:])
        if text == "{":
            if last is not None:
                block_children: list[Node] = []
                stack.append((last, children, block_children))
                children = block_children
                last = None
            else:
                diags.error("Unexpected '{' - ignoring", Location(file, line_no, col))
            continue
        # text is "}"
        if last is not None:
            children.append(Node(*last))
            last = None
        if stack:
            block = stack.pop()
            children = block[1]  # the parent's children
            children.append(_close(block, Location(file, line_no, col)))
        else:
            children.append(
                Node(
                    "}",
                    brace_args,
                    Location(file, line_no, col),
                    None,
                    "",
                    _unquoted(len(brace_args)),
                )
            )
    if last is not None:
        children.append(Node(*last))
    while stack:
        block = stack.pop()
        block[1].append(_close(block, None))
    depth = reader.block_depth if reader is not None else 0
    if depth > 0:
        diags.error(f"There are {depth} missing '}}'s or extra '{{'s")
    return tuple(top)


def parse_text(
    text: str,
    *,
    diags: Diagnostics,
    filename: str = "<string>",
    config_id: str = "",
    base_dir: Path | None = None,
    rng: random.Random | None = None,
    fs: ConfigFS = OS_FS,
) -> tuple[Node, ...]:
    """Parse configuration text; relative includes (and ``${_PWD}``) use ``base_dir`` (default:
    the current directory). Problems go to ``diags``; nothing is raised for bad input."""
    directory = os.path.abspath(base_dir) if base_dir is not None else os.getcwd()
    reader = LineReader(diags=diags, config_id=config_id, fs=fs, rng=rng)
    reader.push_text(filename, text, directory)
    return build_tree(reader, diags, reader)


def parse_file(
    path: Path,
    *,
    diags: Diagnostics,
    config_id: str,
    rng: random.Random | None = None,
    fs: ConfigFS = OS_FS,
    all_config: bool = False,
) -> tuple[tuple[Node, ...], tuple[str, ...]]:
    """Parse the main configuration file (a glob(3) pattern, as ``keepalived -f`` takes it) and
    its includes. Returns the top-level nodes and the names of all files read.

    ``all_config`` is keepalived's ``-e``: every include problem is an error.

    As keepalived 2.2.7 does, a missing, directory or executable main file only gives a
    warning and an empty configuration (``keepalived -t`` exits 0), and several matching
    files give an error but are all read.
    """
    pattern = str(path)
    cwd = os.getcwd()
    check = IncludeCheck.all() if all_config else IncludeCheck.NONE
    reader = LineReader(diags=diags, config_id=config_id, fs=fs, rng=rng, include_check=check)
    paths = _check_main_file(pattern, cwd, fs, diags)
    if not paths:
        return (), ()
    log.debug("reading configuration file(s) %s", ", ".join(paths))
    reader.push_main(pattern, paths, cwd)
    nodes = build_tree(reader, diags, reader)
    return nodes, tuple(dict.fromkeys(reader.files))


def _check_main_file(pattern: str, cwd: str, fs: ConfigFS, diags: Diagnostics) -> list[str]:
    """keepalived's check_conf_file(): the files matching the main pattern, or [] if unusable."""
    res = glob_config(pattern, cwd, fs)
    if not res.paths:
        if res.missing_files or res.missing_dirs:
            diags.warning(f"Config files missing '{pattern}'.")
        return []
    if res.missing_files or res.missing_dirs:
        diags.warning(f'Some config files missing: "{pattern}".')
    for p in res.paths:
        if p.endswith("/"):
            diags.warning(f"Configuration file '{p}' is a directory - skipping")
            return []
        full = os.path.join(cwd, p)
        if fs.kind(full) is not FileKind.REGULAR:
            diags.warning(
                f"Configuration file '{p}' is not a regular non-executable file - skipping"
            )
            return []
        if fs is OS_FS and not os.access(full, os.R_OK):
            diags.error(f"Unable to read configuration file {p}")
            return []
    if len(res.paths) > 1:
        first = res.paths[0]
        diags.error(
            f"WARNING, multiple configuration file matches of {pattern}, starting with {first}"
        )
    return res.paths
