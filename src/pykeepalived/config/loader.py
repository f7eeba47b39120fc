"""Read a keepalived.conf into the model: text -> tree (parser) -> fields (keywords) -> model.

This is the one entry point every other part of pykeepalived uses. It never raises for bad
input: problems become diagnostics with keepalived's severity, and the model holds what
keepalived would run with. Only `ConfigError` subclasses may escape (and only for misuse).
"""

from __future__ import annotations

import gc
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pykeepalived.config import parser
from pykeepalived.config.errors import Diagnostics, Severity
from pykeepalived.config.keywords import global_defs, lvs, vrrp
from pykeepalived.config.keywords.base import KeywordTable, ParseContext, Subsystem, unknown_keyword
from pykeepalived.config.model import Config
from pykeepalived.config.tree import Node

SUBSYSTEMS: tuple[Subsystem, ...] = (global_defs.SUBSYSTEM, vrrp.SUBSYSTEM, lvs.SUBSYSTEM)

DEFAULT_CONFIG_FILE = "/etc/keepalived/keepalived.conf"


@dataclass(frozen=True)
class LoadResult:
    config: Config
    diagnostics: Diagnostics

    @property
    def ok(self) -> bool:
        worst = self.diagnostics.worst
        return worst is None or worst <= Severity.WARNING

    @property
    def runnable(self) -> bool:
        """keepalived runs with config errors; it refuses only fatal/aborted configs."""
        worst = self.diagnostics.worst
        return worst is None or worst < Severity.FATAL


def default_config_id() -> str:
    """keepalived's default ``-i``: the host name up to the first dot."""
    return socket.gethostname().split(".", 1)[0]


def system_interface_exists(name: str) -> bool:
    """Whether ``name`` is an interface of the current network namespace."""
    return os.path.exists(f"/sys/class/net/{name}")


def _root_owner() -> dict[str, Subsystem]:
    owner: dict[str, Subsystem] = {}
    for sub in SUBSYSTEMS:
        for name in sub.root_keywords.names:
            if name in owner:
                raise RuntimeError(
                    f"root keyword {name!r} claimed by {owner[name].name} and {sub.name}"
                )
            owner[name] = sub
    return owner


def _dispatch(node: Node, owner: dict[str, Subsystem], ctx: ParseContext) -> None:
    """Hand one top-level node to the subsystem whose root keyword it is."""
    sub = owner.get(node.keyword)
    if sub is None:
        unknown_keyword(node, ctx)
        return
    table: KeywordTable = sub.root_keywords
    table.dispatch_one(node, ctx.fields_of(sub.name), ctx)


def build_config(
    nodes: tuple[Node, ...],
    diags: Diagnostics,
    *,
    interface_exists: Callable[[str], bool] | None = None,
    files: tuple[str, ...] = (),
) -> Config:
    """Dispatch the top-level nodes to their subsystems and finish each model in order."""
    return _build_config(list(nodes), diags, interface_exists=interface_exists, files=files)


def _build_config(
    nodes: list[Node],
    diags: Diagnostics,
    *,
    interface_exists: Callable[[str], bool] | None,
    files: tuple[str, ...],
) -> Config:
    """`build_config` emptying ``nodes`` as it goes: a top-level block the caller no longer
    holds is freed once its keywords are read, so the whole tree and the whole model do not
    have to fit in memory at the same time."""
    ctx = ParseContext(diags=diags, interface_exists=interface_exists)
    owner = _root_owner()
    nodes.reverse()  # taken from the end, so in order
    seen = 0  # diagnostics already checked for an abort
    while nodes:
        new = diags.items[seen:]
        seen += len(new)
        if any(d.severity == Severity.ABORT for d in new):
            break  # keepalived stops reading at the first aborting error
        _dispatch(nodes.pop(), owner, ctx)
    models = {sub.name: sub.finish(ctx.fields_of(sub.name), ctx) for sub in SUBSYSTEMS}
    return Config(global_defs=models["global"], vrrp=models["vrrp"], lvs=models["lvs"], files=files)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a config is read.

    Reading allocates several objects per line and frees few of them, so the collector would
    rescan the growing heap again and again (a fifth of the time for a 50,000-line config)
    without finding cycles; reference counting still frees everything as usual."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def load_file(
    path: str | os.PathLike[str],
    *,
    config_id: str | None = None,
    interface_exists: Callable[[str], bool] | None = None,
) -> LoadResult:
    diags = Diagnostics()
    cid = config_id if config_id is not None else default_config_id()
    with _gc_paused():
        nodes, files = parser.parse_file(Path(path), diags=diags, config_id=cid)
        todo = list(nodes)
        del nodes
        config = _build_config(todo, diags, interface_exists=interface_exists, files=files)
    return LoadResult(config, diags)


def load_text(
    text: str,
    *,
    filename: str = "<string>",
    config_id: str = "",
    interface_exists: Callable[[str], bool] | None = None,
) -> LoadResult:
    diags = Diagnostics()
    with _gc_paused():
        nodes = parser.parse_text(text, diags=diags, filename=filename, config_id=config_id)
        todo = list(nodes)
        del nodes
        config = _build_config(todo, diags, interface_exists=interface_exists, files=(filename,))
    return LoadResult(config, diags)


def render_config(config: Config) -> str:
    """The model as canonical keepalived.conf text; ``load_text(render_config(c))`` equals ``c``."""
    lines: list[str] = []
    parts = {"global": config.global_defs, "vrrp": config.vrrp, "lvs": config.lvs}
    for sub in SUBSYSTEMS:
        block = sub.render(parts[sub.name])
        if block:
            if lines:
                lines.append("")
            lines.extend(block)
    return "\n".join(lines) + "\n"
