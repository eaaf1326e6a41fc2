"""The parts added for one-line descriptions: two-intent test, off-topic competitors,
confidence calibration."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from plano_asgi.routing.local.confidence import DEFAULT_CALIBRATION, REASONS, calibrated
from plano_asgi.routing.local.intents import two_intents
from plano_asgi.routing.local.offtopic import EVERYDAY_SUBJECTS, OffTopicCompetitors

LOOSE: dict[str, Any] = {
    "floor": 0.3,
    "gap": 0.8,
    "threshold": 0.3,
    "margin": 0.15,
    "support_margin": 0.2,
}


def s(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def test_two_clauses_that_disagree_ask_both_agents_in_their_order() -> None:
    turn = s(0.9, 0.8, 0.1)
    # The first clause prefers agent 1, the second agent 0: asked 1, then 0.
    found = two_intents(turn, [s(0.2, 0.9, 0.0), s(0.9, 0.1, 0.0)], **LOOSE)
    assert found is not None
    assert found.agents == (1, 0)
    # Leads: 0.7 - 0.15 for agent 1, 0.8 - 0.2 for agent 0; the smaller one is the margin.
    assert found.margin == pytest.approx(0.55)


def test_clauses_that_lean_the_same_way_ask_one_agent() -> None:
    turn = s(0.9, 0.8, 0.1)
    assert two_intents(turn, [s(0.9, 0.5, 0.0), s(0.8, 0.7, 0.0)], **LOOSE) is None


def test_with_own_best_each_clause_must_rank_its_agent_first_by_clear() -> None:
    turn = s(0.9, 0.8, 0.7)
    # The first clause prefers 1 over 0 but likes agent 2 even more: not a clause for 1.
    muddled = [s(0.2, 0.9, 1.0), s(0.9, 0.1, 0.0)]
    assert two_intents(turn, muddled, **LOOSE) is not None
    assert two_intents(turn, muddled, **LOOSE, own_best=True) is None
    clean = [s(0.2, 0.9, 0.5), s(0.9, 0.1, 0.0)]
    assert two_intents(turn, clean, **LOOSE, own_best=True, clear=0.3) is not None
    assert two_intents(turn, clean, **LOOSE, own_best=True, clear=0.5) is None


@pytest.mark.parametrize(
    ("turn", "clauses"),
    [
        (s(0.9, 0.2, 0.1), [s(0.2, 0.9, 0.0), s(0.9, 0.1, 0.0)]),  # runner-up below the floor
        (s(1.5, 0.5, 0.1), [s(0.2, 0.9, 0.0), s(0.9, 0.1, 0.0)]),  # too far behind the best
        (s(0.9, 0.8, 0.1), [s(0.0, 0.2, 0.0), s(0.9, 0.1, 0.0)]),  # its clause scores it low
        (s(0.9, 0.8, 0.1), [s(0.9, 0.1, 0.0)]),  # one clause
    ],
)
def test_two_intents_need_a_real_second_candidate(
    turn: np.ndarray, clauses: list[np.ndarray]
) -> None:
    assert two_intents(turn, clauses, **LOOSE) is None


def test_competitors_that_overlap_an_agent_are_dropped() -> None:
    subjects = np.eye(3, 4, dtype=np.float32)  # three orthogonal subjects
    agent = np.array([[0.0, 0.6, 0.8, 0.0]], dtype=np.float32)  # close to subject 2
    kept = OffTopicCompetitors.build(subjects, agent, overlap=0.7)
    assert kept.vectors.shape == (2, 4)  # subject 2 (cosine 0.8) is gone, 0 and 1 stay
    assert kept.best(np.array([1.0, 0.0, 0.0, 0.0], dtype=np.float32)) == pytest.approx(1.0)
    none = OffTopicCompetitors.build(subjects, np.ones((1, 4), dtype=np.float32), overlap=0.1)
    assert none.best(np.ones(4, dtype=np.float32)) == -1.0


def test_the_everyday_subjects_name_no_business_process() -> None:
    assert len(EVERYDAY_SUBJECTS) == len(set(EVERYDAY_SUBJECTS)) >= 40


def test_calibration_is_a_probability_that_grows_with_the_margin() -> None:
    assert set(DEFAULT_CALIBRATION) == set(REASONS)
    for reason in REASONS:
        values = [calibrated(reason, m, DEFAULT_CALIBRATION) for m in (-5.0, 0.0, 0.3, 5.0)]
        assert all(0.0 <= v <= 1.0 for v in values)
        assert values == sorted(values)
        assert values[0] < values[-1]
    # Extreme margins do not overflow.
    assert calibrated("first_turn", 1e6, DEFAULT_CALIBRATION) == pytest.approx(1.0)
    assert calibrated("first_turn", -1e6, DEFAULT_CALIBRATION) == pytest.approx(0.0)
    assert calibrated("unknown", 0.0, DEFAULT_CALIBRATION) == 0.5
