"""The syntax tree the lexer/parser hands to the keyword tables.

keepalived's grammar is line oriented: every logical line is ``keyword [args...]`` and a line
ending in ``{`` opens a block that the matching ``}`` closes. The tree keeps exactly that and
nothing more; what a keyword means is decided by the keyword tables (`config.keywords`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from pykeepalived.config.errors import Location


@dataclass(frozen=True)
class Node:
    """One logical line, with its block if it opened one.

    - ``keyword``: the first word (quotes removed).
    - ``args``: the remaining words, quotes removed; a quoted string is one word.
    - ``raw``: the text after the keyword as written (comments stripped, macros expanded,
      quotes kept), which script keywords split themselves as keepalived does.
    - ``children``: ``None`` for a plain line, a tuple (maybe empty) when the line opened
      a ``{ ... }`` block.
    - ``quoted``: for each arg, whether it was (partly) quoted in the source.
    """

    keyword: str
    args: tuple[str, ...] = ()
    location: Location = field(default=Location("<string>", 0, 0), compare=False)
    children: tuple[Node, ...] | None = None
    raw: str = field(default="", compare=False)
    quoted: tuple[bool, ...] = field(default=(), compare=False)
    end_location: Location | None = field(default=None, compare=False)

    @property
    def is_block(self) -> bool:
        return self.children is not None

    @property
    def words(self) -> tuple[str, ...]:
        """Keyword and args together, e.g. a list entry such as ``192.0.2.1/24 dev eth0``."""
        return (self.keyword, *self.args)

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children or ():
            yield from child.walk()
