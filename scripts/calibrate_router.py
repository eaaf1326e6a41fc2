#!/usr/bin/env python
"""Fit ``local_v1``'s confidence calibration on labelled routing cases.

Usage: ``python scripts/calibrate_router.py CASES.jsonl [CASES.jsonl ...]``

Routes every case with the default settings, then fits, for each kind of decision
(``RouteDecision.reason``), a logistic ``P(right) = 1 / (1 + exp(-(slope * margin +
intercept)))`` by Newton's method, with a small ridge so that a kind with few or only
right answers stays finite. Prints the mapping to paste into
``plano_asgi/routing/local/confidence.py`` (``DEFAULT_CALIBRATION``), and each kind's
count, accuracy and mean confidence before and after, so the fit can be checked.
"""

from __future__ import annotations

import sys
from collections import defaultdict

import numpy as np

from plano_asgi.routing.eval import load_cases
from plano_asgi.routing.local import LocalRouter
from plano_asgi.routing.local.confidence import REASONS, calibrated


def fit_logistic(
    margins: list[float], right: list[bool], ridge: float = 0.1
) -> tuple[float, float]:
    """Slope and intercept of a 1-feature logistic regression (Newton, L2 on both)."""
    x = np.column_stack([np.asarray(margins, dtype=float), np.ones(len(margins))])
    y = np.asarray(right, dtype=float)
    w = np.zeros(2)
    for _ in range(100):
        p = 1 / (1 + np.exp(-(x @ w)))
        gradient = x.T @ (p - y) + ridge * w
        hessian = (x.T * (p * (1 - p))) @ x + ridge * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if float(np.abs(step).max()) < 1e-9:
            break
    return float(w[0]), float(w[1])


def main(paths: list[str]) -> int:
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    router = LocalRouter()
    samples: dict[str, list[tuple[float, bool, float]]] = defaultdict(list)
    for path in paths:
        for case in load_cases(path):
            decision = router.decide(case.messages, case.agents)
            reason = decision.reason or "unknown"
            right = set(decision.agents) == set(case.expected)
            samples[reason].append(
                (decision.details.get("margin", 0.0), right, decision.confidence or 0.0)
            )
    fitted: dict[str, tuple[float, float]] = {}
    for reason in REASONS:
        rows = samples.get(reason, [])
        if not rows:
            continue
        slope, intercept = fit_logistic([m for m, _, _ in rows], [r for _, r, _ in rows])
        fitted[reason] = (round(slope, 3), round(intercept, 3))
        accuracy = sum(r for _, r, _ in rows) / len(rows)
        before = sum(c for _, _, c in rows) / len(rows)
        after = sum(calibrated(reason, m, fitted) for m, _, _ in rows) / len(rows)
        print(
            f"# {reason:16s} n={len(rows):5d} right={accuracy:.3f} "
            f"mean confidence before={before:.3f} after={after:.3f}"
        )
    print("DEFAULT_CALIBRATION = {")
    for reason, (slope, intercept) in fitted.items():
        print(f'    "{reason}": ({slope}, {intercept}),')
    print("}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
