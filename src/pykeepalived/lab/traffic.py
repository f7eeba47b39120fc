"""What the lab's client saw (pure): answers counted per server, and when traffic settled.

Inputs are the probe's JSON (see `lab.probe`): a ``count`` tally per source address, or
``watch`` lines, one per request with its start time on the system's monotonic clock.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

ERROR_PREFIX = "error:"


@dataclass(frozen=True)
class Split:
    """A ``count`` run summed up.

    ``totals``: answers per server (and ``error:<reason>`` per failure); ``home``: the server
    that answered each source address most; ``mixed``: sources answered by several servers.
    """

    totals: dict[str, int]
    home: dict[str, str]
    mixed: tuple[str, ...]

    @property
    def answered(self) -> int:
        return sum(n for k, n in self.totals.items() if not k.startswith(ERROR_PREFIX))

    @property
    def failed(self) -> int:
        return sum(n for k, n in self.totals.items() if k.startswith(ERROR_PREFIX))

    def sources_of(self, server: str) -> list[str]:
        """The source addresses whose home is ``server``."""
        return [src for src, home in self.home.items() if home == server]


def split(by_source: Mapping[str, Mapping[str, int]]) -> Split:
    """Sum up a probe ``count`` result (``{source: {server or error: n}}``)."""
    totals: Counter[str] = Counter()
    home: dict[str, str] = {}
    mixed: list[str] = []
    for src, per in by_source.items():
        totals.update(per)
        servers = {k: n for k, n in per.items() if not k.startswith(ERROR_PREFIX) and n > 0}
        if servers:
            home[src] = max(sorted(servers), key=lambda k: servers[k])
        if len(servers) > 1:
            mixed.append(src)
    return Split(dict(totals), home, tuple(mixed))


def weight_shares(weights: Mapping[str, int]) -> dict[str, float]:
    """Each server's expected share of new connections under (w)rr with these weights."""
    total = sum(max(0, w) for w in weights.values())
    return {k: (max(0, w) / total if total else 0.0) for k, w in weights.items()}


def format_split(result: Split, weights: Mapping[str, int]) -> list[str]:
    """Lines ``web1  104  52.0 %   weight 10  (50.0 %)`` for each server, then failures."""
    shares = weight_shares(weights)
    answered = result.answered
    lines = []
    for name, weight in weights.items():
        n = result.totals.get(name, 0)
        pct = 100.0 * n / answered if answered else 0.0
        lines.append(
            f"{name:6} {n:5} answers {pct:5.1f} %   configured weight {weight:3} "
            f"({100.0 * shares[name]:.1f} %)"
        )
    for key, n in sorted(result.totals.items()):
        if key not in weights:
            lines.append(f"{key:6} {n:5}")
    return lines


# ---- watch lines ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """One request of a ``watch`` run: start time ``t`` (monotonic), source, its outcome, and
    when it ended (``done``)."""

    t: float
    src: str
    server: str | None
    via: str | None
    error: str | None
    done: float | None = None

    @property
    def end(self) -> float:
        return self.done if self.done is not None else self.t

    @property
    def ok(self) -> bool:
        return self.server is not None


def parse_watch_line(line: str) -> Attempt | None:
    """An `Attempt` from one probe ``watch`` line (None for anything else)."""
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("t"), (int, float)):
        return None
    return Attempt(
        float(data["t"]),
        str(data.get("src", "")),
        data.get("server") if isinstance(data.get("server"), str) else None,
        data.get("via") if isinstance(data.get("via"), str) else None,
        data.get("error") if isinstance(data.get("error"), str) else None,
        float(data["done"]) if isinstance(data.get("done"), (int, float)) else None,
    )


def settled_at(
    attempts: Sequence[Attempt], since: float, accept: Callable[[Attempt], bool], confirm: int
) -> float | None:
    """When traffic settled: the start of the first attempt after ``since`` from which every
    attempt up to the last one is accepted, provided there are at least ``confirm`` of them."""
    later = [a for a in attempts if a.t >= since]
    run_start: float | None = None
    run = 0
    for a in later:
        if accept(a):
            if run == 0:
                run_start = a.t
            run += 1
        else:
            run, run_start = 0, None
    return run_start if run >= confirm else None


def first_at(
    attempts: Sequence[Attempt], since: float, accept: Callable[[Attempt], bool]
) -> float | None:
    """The start of the first accepted attempt after ``since``."""
    return next((a.t for a in attempts if a.t >= since and accept(a)), None)


def first_done(
    attempts: Sequence[Attempt], since: float, accept: Callable[[Attempt], bool]
) -> float | None:
    """When the first accepted attempt started after ``since`` ended (its answer arrived)."""
    return next((a.end for a in attempts if a.t >= since and accept(a)), None)


def outcomes(attempts: Sequence[Attempt], start: float, end: float) -> Counter[str]:
    """Outcomes of the attempts started in [start, end): server names and ``error:<reason>``."""
    return Counter(
        a.server if a.server is not None else f"{ERROR_PREFIX}{a.error}"
        for a in attempts
        if start <= a.t < end
    )


def server_changes(attempts: Sequence[Attempt], before: float, after: float) -> tuple[int, int]:
    """(sources whose server changed, sources compared): each source's last answer started
    before ``before`` against its first answer started at or after ``after``."""
    old: dict[str, str] = {}
    new: dict[str, str] = {}
    for a in attempts:
        if a.server is None:
            continue
        if a.t < before:
            old[a.src] = a.server
        elif a.t >= after and a.src not in new:
            new[a.src] = a.server
    compared = [src for src in old if src in new]
    return sum(1 for src in compared if old[src] != new[src]), len(compared)
