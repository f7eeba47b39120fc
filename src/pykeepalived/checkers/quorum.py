"""Quorum of a virtual server, exactly as keepalived's ``update_quorum_state()`` decides it.

The threshold depends on the current state: ``quorum + hysteresis`` to gain the quorum,
``quorum - hysteresis`` to keep it. A weight sum of 0 always loses it. At start (``init``) a
virtual server whose quorum is down and which has a sorry server that is not in use yet
"starts with quorum down" (the sorry server goes in).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

IPVS_WEIGHT_MAX = 2147483647


class QuorumChange(enum.Enum):
    GAINED = "gained"
    LOST = "lost"


@dataclass(frozen=True)
class QuorumDecision:
    """What to do: the change, and the threshold and weight sum to report."""

    change: QuorumChange
    threshold: int
    weight_sum: int
    init: bool

    def message(self, quorum: int, hysteresis: int) -> str:
        """keepalived's log/mail text for the change."""
        if self.change is QuorumChange.GAINED:
            head = "Starting with quorum up" if self.init else "Gained quorum"
            return f"{head} {quorum}+{hysteresis}={self.threshold} <= {self.weight_sum}"
        head = "Starting with quorum down" if self.init else "Lost quorum"
        return f"{head} {quorum}-{hysteresis}={self.threshold} > {self.weight_sum}"


def real_weight(weight: int) -> int:
    """The weight IPVS can take: keepalived clamps the effective weight to 0..INT32_MAX."""
    return max(0, min(weight, IPVS_WEIGHT_MAX))


def threshold(quorum: int, hysteresis: int, *, up: bool) -> int:
    return quorum + (-1 if up else 1) * hysteresis


def decide(
    *,
    up: bool,
    weight_sum: int,
    quorum: int,
    hysteresis: int,
    init: bool = False,
    sorry_server: bool = False,
    sorry_alive: bool = False,
) -> QuorumDecision | None:
    """The quorum transition to make now, or ``None``."""
    limit = threshold(quorum, hysteresis, up=up)
    if not up and weight_sum >= limit:
        return QuorumDecision(QuorumChange.GAINED, limit, weight_sum, init)
    if (up and (weight_sum == 0 or weight_sum < limit)) or (
        init and not up and sorry_server and not sorry_alive
    ):
        return QuorumDecision(QuorumChange.LOST, limit, weight_sum, init)
    return None


def initial_state(live_weight_sum: int, quorum: int, hysteresis: int) -> bool:
    """``set_quorum_states()``: the state before the real servers are put in."""
    return live_weight_sum >= quorum + hysteresis
