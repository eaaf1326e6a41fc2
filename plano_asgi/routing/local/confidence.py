"""Calibrated confidence: how likely a local decision is to be right.

Every decision the router takes rests on one margin: how far the winning agent's posterior
is above the rest, how far a first turn's best agent is above the runner-up and the
off-topic threshold, how clearly two clauses disagree, how far below every agent an
off-topic turn falls. A logistic per kind of decision turns the margin into a
probability; the slopes and intercepts are global settings, fitted once on the routing
dev sets (``scripts/calibrate_router.py`` rebuilds them) and never per agent or per
deployment. ``hybrid_v1`` escalates on this number; traces, the ``x-plano-route-confidence``
header and ``eval-routes`` show it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = ["DEFAULT_CALIBRATION", "REASONS", "calibrated"]

#: The kinds of local decision (``RouteDecision.reason``).
REASONS = ("first_turn", "follow_on", "two_intents", "off_topic", "off_topic_later")

#: ``reason -> (slope, intercept)``, fitted by ``scripts/calibrate_router.py``.
DEFAULT_CALIBRATION: Mapping[str, tuple[float, float]] = {
    "first_turn": (5.523, 0.311),
    "follow_on": (0.486, 1.108),
    "two_intents": (1.05, -0.203),
    "off_topic": (8.184, -0.406),
    "off_topic_later": (2.44, 1.788),
}


def calibrated(reason: str, margin: float, calibration: Mapping[str, tuple[float, float]]) -> float:
    """The probability that a decision of kind ``reason`` with ``margin`` is right."""
    slope, intercept = calibration.get(reason, (1.0, 0.0))
    z = slope * margin + intercept
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)
