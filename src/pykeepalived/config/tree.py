"""The syntax tree the lexer/parser hands to the keyword tables.

keepalived's grammar is line oriented: every logical line is ``keyword [args...]`` and a line
ending in ``{`` opens a block that the matching ``}`` closes. The tree keeps exactly that and
nothing more; what a keyword means is decided by the keyword tables (`config.keywords`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from pykeepalived.config.errors import Location, slot_setter

_NOWHERE = Location("<string>", 0, 0)


@dataclass(frozen=True, slots=True, init=False)
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
    location: Location = field(default=_NOWHERE, compare=False)
    children: tuple[Node, ...] | None = None
    raw: str = field(default="", compare=False)
    quoted: tuple[bool, ...] = field(default=(), compare=False)
    end_location: Location | None = field(default=None, compare=False)

    def __init__(  # noqa: PLR0917 - the positional signature of the dataclass __init__
        self,
        keyword: str,
        args: tuple[str, ...] = (),
        location: Location = _NOWHERE,
        children: tuple[Node, ...] | None = None,
        raw: str = "",
        quoted: tuple[bool, ...] = (),
        end_location: Location | None = None,
    ) -> None:
        _set_keyword(self, keyword)
        _set_args(self, args)
        _set_location(self, location)
        _set_children(self, children)
        _set_raw(self, raw)
        _set_quoted(self, quoted)
        _set_end_location(self, end_location)

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


_set_keyword = slot_setter(Node, "keyword")
_set_args = slot_setter(Node, "args")
_set_location = slot_setter(Node, "location")
_set_children = slot_setter(Node, "children")
_set_raw = slot_setter(Node, "raw")
_set_quoted = slot_setter(Node, "quoted")
_set_end_location = slot_setter(Node, "end_location")
