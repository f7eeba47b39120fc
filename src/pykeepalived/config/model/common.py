"""Model types shared by several subsystems (VRRP notify scripts, LVS quorum/notify scripts, ...).

`Script` is a command keepalived runs *without a shell*: keepalived re-reads the config line with
quotes and backslash escapes honoured (``alloc_strvec_quoted_escaped()``), takes the first word
as the command text, and splits that text again the same way into argv. Later words on a notify
line are the user and group to run it as.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["QuoteError", "Script", "quote_word", "split_quoted_escaped"]

_WHITE_SPACE = " \t\n\r\f\v"

_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "E": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
}


class QuoteError(ValueError):
    """A quoted string is not terminated; ``quote`` is the missing quote character."""

    def __init__(self, text: str, quote: str) -> None:
        self.text = text
        self.quote = quote
        super().__init__(f"String '{text}': missing terminating {quote}")


def split_quoted_escaped(text: str) -> list[str]:
    """Split ``text`` into words as keepalived's ``alloc_strvec_quoted_escaped()`` does.

    Words are separated by white space; ``"..."`` and ``'...'`` quote (the quotes are removed
    and may appear inside a word, e.g. ``a"b c"d`` is one word ``ab cd``); a backslash escapes
    the next character, with ``\\a \\b \\E \\f \\n \\r \\t \\v`` mapped to control characters.
    Raises `QuoteError` for an unterminated quote.
    """
    words: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        while i < n and text[i] in _WHITE_SPACE:
            i += 1
        if i >= n:
            break
        out: list[str] = []
        quote = ""
        while i < n:
            ch = text[i]
            if ch == "\\":
                i += 1
                if i < n:
                    out.append(_ESCAPES.get(text[i], text[i]))
                    i += 1
                else:
                    out.append("\\")
                continue
            if quote:
                if ch == quote:
                    quote = ""
                else:
                    out.append(ch)
                i += 1
                continue
            if ch in "\"'":
                quote = ch
                i += 1
                continue
            if ch in _WHITE_SPACE:
                break
            out.append(ch)
            i += 1
        if quote:
            raise QuoteError(text, quote)
        words.append("".join(out))
    return words


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


@dataclass(frozen=True)
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
