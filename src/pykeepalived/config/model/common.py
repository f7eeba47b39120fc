"""Model types shared by several subsystems (VRRP notify scripts, LVS quorum/notify scripts, ...).

`Script` is a command keepalived runs *without a shell*: keepalived re-reads the config line with
quotes and backslash escapes honoured (``alloc_strvec_quoted_escaped()``), takes the first word
as the command text, and splits that text again the same way into argv. Later words on a notify
line are the user and group to run it as.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["QuoteError", "Script", "quote_word", "split_quoted_escaped", "split_script_words"]

_WHITE_SPACE = " \t\n\r\f\v"

_SPECIAL_IN = {
    '"': re.compile(r'["\\]'),
    "'": re.compile(r"['\\]"),
    "": re.compile(r"""[ \t\f\n\r\v'"\\]"""),
}
"""What ends a run of plain text, inside double quotes, single quotes, and outside quotes."""

_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "E": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
}
_HEX = frozenset("0123456789abcdefABCDEF")


class QuoteError(ValueError):
    """A script line keepalived cannot split; ``str()`` is its message.

    ``log_only``: keepalived only logs it (``log_message``, not a config error)."""

    def __init__(self, message: str, *, log_only: bool = False) -> None:
        self.log_only = log_only
        super().__init__(message)


def _unescape(text: str, pos: int) -> tuple[str, int]:
    """One escape sequence starting after the backslash; returns the char and new position."""
    n = len(text)
    c = text[pos]
    if c == "x" and pos + 1 < n and text[pos + 1] in _HEX:
        pos += 1
        value = 0
        while pos < n and text[pos] in _HEX:
            value = ((value << 4) | int(text[pos], 16)) & 0xFF  # a C char keeps 8 bits
            pos += 1
        return chr(value), pos
    if c == "c" and pos + 1 < n:
        return chr(ord(text[pos + 1]) & 0x1F), pos + 2
    if "0" <= c <= "7":
        value = 0
        k = 0
        while k < 3 and pos < n and "0" <= text[pos] <= "7":
            value = (value << 3) + int(text[pos])
            pos += 1
            k += 1
        return chr(value & 0xFF), pos
    return _SIMPLE_ESCAPES.get(c, c), pos + 1


def split_quoted_escaped(text: str) -> list[str]:
    """Split ``text`` into words as keepalived's ``alloc_strvec_quoted_escaped()`` does.

    Words are separated by white space; ``"..."`` and ``'...'`` quote (the quotes are removed
    and may start or end mid-word, e.g. ``a"b c"d`` is one word ``ab cd``); a backslash escapes
    the next character inside and outside quotes (``\\n \\t \\xXX \\nnn \\cC \\E`` ...).
    Raises `QuoteError` for an unterminated quote or a backslash at the end (keepalived then
    discards the whole line).
    """
    words: list[str] = []
    n = len(text)
    pos = 0
    cur_quote = ""
    while pos < n:
        while pos < n and text[pos] in _WHITE_SPACE:
            pos += 1
        if pos >= n:
            break
        out: list[str] = []
        while pos < n:
            m = _SPECIAL_IN[cur_quote].search(text, pos)
            if m is None:
                if cur_quote:
                    raise QuoteError(f"String '{text}': missing terminating {cur_quote}")
                out.append(text[pos:])
                pos = n
                break
            j = m.start()
            out.append(text[pos:j])
            pos = j
            c = text[pos]
            if c == "\\":
                pos += 1
                if pos >= n:
                    raise QuoteError(f"Missing escape char at end: '{text}'", log_only=True)
                ch, pos = _unescape(text, pos)
                out.append(ch)
                continue
            if cur_quote:
                pos += 1
                cur_quote = ""
                continue
            if c in "\"'":
                cur_quote = c
                pos += 1
                continue
            break  # white space ends the word
        words.append("".join(out))
    return words


def split_script_words(text: str) -> tuple[list[str], str | None]:
    """`split_quoted_escaped` as (words, None), or ([], keepalived's message)."""
    try:
        return split_quoted_escaped(text), None
    except QuoteError as err:
        return [], str(err)


_SPECIAL = frozenset(_WHITE_SPACE + "\"'\\#!{}")


def quote_word(word: str) -> str:
    """``word`` written so that `split_quoted_escaped` gives it back as one word.

    Plain words stay as they are; otherwise double quotes are used when possible, then single
    quotes, and backslash escapes only as a last resort.
    """
    if word and not any(c in _SPECIAL for c in word):
        return word
    if '"' not in word and "\\" not in word:
        return f'"{word}"'
    if "'" not in word and "\\" not in word:
        return f"'{word}'"
    escaped = word.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


@dataclass(frozen=True, slots=True)
class Script:
    """A command run without a shell.

    - ``argv``: the program and its arguments, split as keepalived splits them.
    - ``user`` / ``group``: who runs it; ``None`` means keepalived's default script user
      (``global_defs { script_user }``, else ``keepalived_script``, else root).
    - ``text``: the command as written (before the argv split), kept to render it back;
      not compared.
    """

    argv: tuple[str, ...]
    user: str | None = None
    group: str | None = None
    text: str = field(default="", compare=False)

    @property
    def command(self) -> str:
        """The command text: as written if known, else built from ``argv``."""
        if self.text and tuple(_safe_split(self.text)) == self.argv:
            return self.text
        return " ".join(quote_word(a) for a in self.argv)

    def cmd_str(self) -> str:
        """keepalived's ``cmd_str()``: every argument in single quotes (used in its messages)."""
        return " ".join(f"'{a}'" for a in self.argv)

    def render_args(self) -> str:
        """The text after the keyword: quoted command, then user and group if set."""
        parts = [quote_word(self.command)]
        if self.user is not None:
            parts.append(quote_word(self.user))
            if self.group is not None:
                parts.append(quote_word(self.group))
        return " ".join(parts)

    @classmethod
    def from_command(
        cls, command: str, user: str | None = None, group: str | None = None
    ) -> Script:
        """Build from command text (raises `QuoteError` if it is badly quoted)."""
        return cls(tuple(split_quoted_escaped(command)), user, group, command)


def _safe_split(text: str) -> list[str]:
    try:
        return split_quoted_escaped(text)
    except QuoteError:
        return []


def map_values(obj: Any, leaf: Callable[[str | None, Any], Any]) -> Any:
    """A copy of a model object with ``leaf(field_name, value)`` applied to every plain value.

    Dataclasses and tuples are walked (a tuple's items get ``None`` as their field name); a
    branch whose values all come back unchanged (``is``) is returned as it was, so untouched
    parts of the model are shared, not copied.
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes: dict[str, Any] = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value) or isinstance(value, tuple):
                new = map_values(value, leaf)
            else:
                new = leaf(f.name, value)
            if new is not value:
                changes[f.name] = new
        return dataclasses.replace(obj, **changes) if changes else obj
    if isinstance(obj, tuple):
        items = tuple(map_values(v, leaf) for v in obj)
        return items if any(a is not b for a, b in zip(items, obj, strict=True)) else obj
    return leaf(None, obj)
