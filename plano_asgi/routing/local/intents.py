"""Two-intent turns: "cancel my order and tell me when the refund arrives".

A turn that asks two agents for two things scores fairly for both of them as a whole, and
its clauses disagree about which of the two comes first: one clause clearly prefers one
agent, another clause the other. Comparing the clauses on the two candidates only (not
against every agent) keeps the test robust when one-line descriptions make every score
low; a long single request whose clauses all lean the same way stays with one agent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["TwoIntents", "two_intents"]

Scores = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class TwoIntents:
    """Two agents (indices, in the order the turn asks for them) and how clear it was."""

    agents: tuple[int, int]
    margin: float
    """The smaller of the two clauses' leads over their thresholds (>= 0)."""


def two_intents(
    turn: Scores,
    clauses: Sequence[Scores],
    *,
    floor: float,
    gap: float,
    threshold: float,
    margin: float,
    support_margin: float,
    own_best: bool = False,
    clear: float = 0.0,
) -> TwoIntents | None:
    """The two agents a turn asks for, or ``None`` when it asks for one thing.

    ``turn`` holds the whole turn's scores, ``clauses`` each clause's (in reading order).
    The candidates are the turn's two best agents A and B; B must score at least
    ``floor`` and within ``gap`` of A. Some clause must prefer B over A by ``margin`` and
    score B at least ``threshold``, and another must prefer A over B by
    ``support_margin``; with ``own_best``, each of those clauses must also score its
    agent above every other agent, by ``clear`` at least. The agent whose clause comes
    first is asked first.
    """
    if len(turn) < 2 or len(clauses) < 2:
        return None
    order = np.argsort(turn)[::-1]
    first, second = int(order[0]), int(order[1])
    if turn[second] < floor or turn[first] - turn[second] > gap:
        return None
    leads = [float(c[second] - c[first]) for c in clauses]
    for_second = int(np.argmax(leads))
    for_first = int(np.argmin(leads))
    lead_second = leads[for_second] - margin
    lead_first = -leads[for_first] - support_margin
    if lead_second < 0 or lead_first < 0 or clauses[for_second][second] < threshold:
        return None
    if own_best and not (
        _leads(clauses[for_second], second, clear) and _leads(clauses[for_first], first, clear)
    ):
        return None
    pair = (first, second) if for_first < for_second else (second, first)
    return TwoIntents(pair, min(lead_second, lead_first))


def _leads(scores: Scores, agent: int, by: float) -> bool:
    """Whether ``agent`` scores above every other agent by at least ``by``."""
    others = np.delete(scores, agent)
    return bool(scores[agent] - others.max() >= by) and bool(scores[agent] > others.max())
