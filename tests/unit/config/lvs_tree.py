"""A tiny keepalived.conf → `Node` tree builder for the LVS tests.

It covers what these tests need (comments, double quotes, blocks opened with ``{`` on the
keyword line or alone, ``}`` alone or at a line end) so the LVS keyword tables can be tested
on their own, independent of the full lexer/parser.
"""

from __future__ import annotations

from pykeepalived.config.errors import Diagnostics, Location
from pykeepalived.config.keywords import lvs
from pykeepalived.config.keywords.base import Fields, ParseContext
from pykeepalived.config.model.lvs import LvsConfig
from pykeepalived.config.tree import Node

FILE = "test.conf"


def _strip_comment(line: str) -> str:
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch in "#!" and not quoted:
            return line[:i]
    return line


def _words(text: str) -> list[str]:
    words: list[str] = []
    i = 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        if text[i] == '"':
            end = text.find('"', i + 1)
            end = len(text) if end < 0 else end
            words.append(text[i + 1 : end])
            i = end + 1
            continue
        j = i
        while j < len(text) and not text[j].isspace() and text[j] != '"':
            j += 1
        words.append(text[i:j])
        i = j
    return words


class _Open:
    def __init__(self, keyword: str, args: list[str], raw: str, loc: Location) -> None:
        self.keyword = keyword
        self.args = args
        self.raw = raw
        self.loc = loc
        self.children: list[Node] = []


def build(text: str) -> tuple[Node, ...]:
    """The top-level nodes of ``text``."""
    stack: list[_Open] = [_Open("<root>", [], "", Location(FILE, 0))]
    pending: Node | None = None  # a line that may be followed by a lone "{"

    def flush() -> None:
        nonlocal pending
        if pending is not None:
            stack[-1].children.append(pending)
            pending = None

    for lineno, physical in enumerate(text.splitlines(), start=1):
        line = _strip_comment(physical).strip()
        if not line:
            continue
        loc = Location(FILE, lineno)
        closes = 0
        while line.endswith("}") and line != "}":
            line = line[:-1].rstrip()
            closes += 1
        if line == "}":
            flush()
            done = stack.pop()
            stack[-1].children.append(
                Node(
                    done.keyword,
                    tuple(done.args),
                    done.loc,
                    tuple(done.children),
                    done.raw,
                    end_location=loc,
                )
            )
            continue
        if line == "{":
            assert pending is not None
            stack.append(_Open(pending.keyword, list(pending.args), pending.raw, pending.location))
            pending = None
            continue
        flush()
        opens = line.endswith("{")
        if opens:
            line = line[:-1].rstrip()
        if " {" in line and not opens:  # "url { path / }" on one line
            head, _, inner = line.partition(" {")
            hw = _words(head)
            stack.append(_Open(hw[0], hw[1:], head[len(hw[0]) :].strip(), loc))
            line = inner.strip()
            opens = False
        words = _words(line)
        keyword = words[0]
        raw = line[len(keyword) :].strip() if line.startswith(keyword) else " ".join(words[1:])
        if opens:
            stack.append(_Open(keyword, words[1:], raw, loc))
        else:
            pending = Node(keyword, tuple(words[1:]), loc, None, raw)
        for _ in range(closes):
            flush()
            done = stack.pop()
            stack[-1].children.append(
                Node(
                    done.keyword,
                    tuple(done.args),
                    done.loc,
                    tuple(done.children),
                    done.raw,
                    end_location=loc,
                )
            )
    flush()
    return tuple(stack[0].children)


def load_lvs(
    text: str, global_fields: Fields | None = None, subsystems: dict[str, Fields] | None = None
) -> tuple[LvsConfig, Diagnostics]:
    """Read ``text`` with the LVS root keywords only (other top-level blocks are skipped)."""
    diags = Diagnostics()
    ctx = ParseContext(diags=diags)
    if global_fields is not None:
        ctx.subsystems["global"] = global_fields
    for name, fields in (subsystems or {}).items():
        ctx.subsystems[name] = fields
    fields = ctx.fields_of("lvs")
    for node in build(text):
        kw = lvs.SUBSYSTEM.root_keywords.get(node.keyword)
        if kw is not None:
            kw.handler(node, fields, ctx)
    return lvs.SUBSYSTEM.finish(fields, ctx), diags


def messages(diags: Diagnostics) -> list[str]:
    """keepalived's ``(FILE: Line N) message`` / bare ``message`` lines."""
    out = []
    for d in diags:
        if d.location is None:
            out.append(d.message)
        else:
            out.append(f"(F: Line {d.location.line}) {d.message}")
    return out


def render_text(config: LvsConfig) -> str:
    return "\n".join(lvs.SUBSYSTEM.render(config)) + "\n"
