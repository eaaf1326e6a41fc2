"""The figures of ``eval-routes`` on hand-built outcomes, and its case-file validation."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from plano_asgi.chat import ChatMessage
from plano_asgi.errors import PlanoError, RoutingDataError
from plano_asgi.routing.base import AgentCandidate, RouteDecision
from plano_asgi.routing.eval import (
    NO_VALUE,
    EvalCase,
    EvalOutcome,
    GroupScore,
    group_by,
    load_cases,
    selective_accuracy,
    shorten,
    summarize,
    worst_misses,
)

AGENTS = (AgentCandidate("a", "first"), AgentCandidate("b", "second"))


def outcome(
    name: str,
    expected: tuple[str, ...],
    got: tuple[str, ...],
    confidence: float | None,
    text: str = "route me",
    **fields: object,
) -> EvalOutcome:
    case = EvalCase(
        name, "s", AGENTS, (ChatMessage(role="user", content=text),), expected, False, fields
    )
    return EvalOutcome(case, RouteDecision(got, "fixed", confidence=confidence), 1.0)


RIGHT, WRONG = (("a",), ("a",)), (("a",), ("b",))


def outcomes_with(pattern: Sequence[tuple[bool, float | None]]) -> list[EvalOutcome]:
    return [
        outcome(f"c{i}", *(RIGHT if right else WRONG), confidence)
        for i, (right, confidence) in enumerate(pattern)
    ]


@pytest.mark.parametrize(
    ("pattern", "coverage", "expected"),
    [
        pytest.param([(True, 0.9), (False, 0.1)], 0.5, 1.0, id="drops-the-unsure-miss"),
        pytest.param([(False, 0.9), (True, 0.1)], 0.5, 0.0, id="keeps-the-confident-miss"),
        # ceil(0.8 * 3) = 3: all three kept.
        pytest.param([(True, 0.9), (True, 0.8), (False, 0.1)], 0.8, 2 / 3, id="rounds-up"),
        # 0.7 * 10 is 7.000000000000001 in floats: still 7 kept, the three misses dropped.
        pytest.param([(True, 1.0)] * 7 + [(False, 0.0)] * 3, 0.7, 1.0, id="float-noise"),
        # None counts as 0: below the 0.2 miss, so it is the one dropped.
        pytest.param([(False, 0.2), (True, 0.9), (True, None)], 0.5, 0.5, id="none-is-zero"),
        # Ties keep the cases' order: of four at 0.5 the first two are scored.
        pytest.param([(True, 0.5), (True, 0.5), (False, 0.5), (False, 0.5)], 0.5, 1.0, id="ties"),
        pytest.param([(True, 0.9), (False, 0.1)], 1.0, 0.5, id="full-coverage-is-exact-match"),
    ],
)
def test_selective_accuracy(
    pattern: list[tuple[bool, float | None]], coverage: float, expected: float
) -> None:
    assert selective_accuracy(outcomes_with(pattern), coverage) == pytest.approx(expected)


def test_selective_accuracy_of_nothing_is_none() -> None:
    assert selective_accuracy([], 0.8) is None


@pytest.mark.parametrize("coverage", [0.0, -0.1, 1.5])
def test_selective_accuracy_refuses_a_coverage_outside_0_1(coverage: float) -> None:
    with pytest.raises(ValueError, match="coverage"):
        selective_accuracy(outcomes_with([(True, 1.0)]), coverage)


def test_summarize_reports_selective_80() -> None:
    # Ten decisions, ceil(0.8 * 10) = 8 kept: the two least confident (one right, one wrong).
    pattern = [(True, 0.9)] * 6 + [(False, 0.8)] * 2 + [(True, 0.1), (False, 0.05)]
    report = summarize(outcomes_with(pattern))
    assert report.selective_80 == pytest.approx(6 / 8)
    assert report.exact_match == pytest.approx(7 / 10)
    assert report.to_dict()["selective_80"] == pytest.approx(0.75)


def test_group_by_any_field_with_missing_values_last() -> None:
    outcomes = [
        outcome("1", *RIGHT, 1.0, kind="single", handoff=False),
        outcome("2", *WRONG, 1.0, kind="single", handoff=True),
        outcome("3", *RIGHT, 1.0, kind="multi", handoff=True),
        outcome("4", *RIGHT, 1.0),
        outcome("5", *WRONG, 1.0, kind=None),
    ]
    assert group_by(outcomes, "kind") == {
        "multi": GroupScore(1, 1.0),
        "single": GroupScore(2, 0.5),
        NO_VALUE: GroupScore(2, 0.5),
    }
    assert list(group_by(outcomes, "kind")) == ["multi", "single", "(none)"]
    assert group_by(outcomes, "handoff") == {
        "false": GroupScore(1, 1.0),
        "true": GroupScore(2, 0.5),
        NO_VALUE: GroupScore(2, 0.5),
    }
    assert group_by(outcomes, "nowhere") == {NO_VALUE: GroupScore(5, 0.6)}


def test_summarize_by_fields_in_json() -> None:
    outcomes = [outcome("1", *RIGHT, 1.0, kind="oos"), outcome("2", *WRONG, 1.0, kind="oos")]
    data = summarize(outcomes, by=["kind", "kind", "source"]).to_dict()
    assert data["by"] == {
        "kind": {"oos": {"cases": 2, "exact_match": 0.5}},
        "source": {"(none)": {"cases": 2, "exact_match": 0.5}},
    }
    assert data["by_source"] == {"s": 0.5}  # kept for compatibility
    assert "by" not in summarize(outcomes).to_dict()


def test_worst_misses_are_the_most_confidently_wrong() -> None:
    outcomes = [
        outcome("right-and-sure", *RIGHT, 0.99),
        outcome("unsure", *WRONG, 0.3),
        outcome("sure", *WRONG, 0.95),
        outcome("no-confidence", *WRONG, None),
        outcome("tie-first", *WRONG, 0.6),
        outcome("tie-second", *WRONG, 0.6),
    ]
    assert [o.case.id for o in worst_misses(outcomes, 4)] == [
        "sure",
        "tie-first",
        "tie-second",
        "unsure",
    ]
    assert [o.case.id for o in worst_misses(outcomes, 10)][-1] == "no-confidence"
    assert worst_misses(outcomes, 0) == []


def test_misses_in_json_have_the_documented_keys() -> None:
    outcomes = [
        outcome("m1", ("a", "b"), ("a",), 0.8, text="book it\n  and   pay"),
        outcome("m2", (), ("b",), None),
        outcome("ok", *RIGHT, 1.0),
    ]
    data = summarize(outcomes, misses=5).to_dict()
    assert data["misses"] == [
        {
            "id": "m1",
            "message": "book it and pay",
            "expected": ["a", "b"],
            "predicted": ["a"],
            "confidence": 0.8,
        },
        {"id": "m2", "message": "route me", "expected": [], "predicted": ["b"], "confidence": None},
    ]
    assert data["errors"] == 0  # the count of router failures, unchanged
    assert "misses" not in summarize(outcomes).to_dict()


def test_escalation_rate_beside_the_count() -> None:
    case = outcome("x", *RIGHT, 0.2).case
    outcomes = [
        EvalOutcome(case, RouteDecision(("a",), "hybrid_v1", escalated=up), 1.0)
        for up in (True, False, False, False)
    ]
    data = summarize(outcomes, escalations=True).to_dict()
    assert (data["escalated"], data["escalation_rate"]) == (1, 0.25)
    assert "escalation_rate" not in summarize(outcomes).to_dict()


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        pytest.param("short one", 20, "short one", id="fits"),
        pytest.param("line one\n\n  line two", 40, "line one line two", id="one-line"),
        pytest.param("can you book a table for four tonight", 20, "can you book a…", id="word"),
        pytest.param("x" * 30, 10, "x" * 9 + "…", id="one-long-word"),
    ],
)
def test_shorten(text: str, width: int, expected: str) -> None:
    assert shorten(text, width) == expected
    assert len(shorten(text, width)) <= width


def test_last_user_message_is_the_routed_turn() -> None:
    messages = (
        ChatMessage(role="user", content="first"),
        ChatMessage(role="assistant", content="answer"),
        ChatMessage(role="user", content="second"),
    )
    case = EvalCase("x", "s", AGENTS, messages, ("a",), False)
    assert case.last_user_message == "second"


# --- the case file ------------------------------------------------------------------------

GOOD: dict[str, Any] = {
    "id": "g1",
    "source": "demo",
    "kind": "single",
    "agents": [{"id": "a", "description": "first"}, {"id": "b", "description": "second"}],
    "messages": [{"role": "user", "content": "hello"}],
    "expected": ["a"],
    "handoff": False,
}


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_load_cases_keeps_every_other_field(tmp_path: Path) -> None:
    row = {**GOOD, "prev_expected": ["b"], "meta": {"turn": 3}}
    (case,) = load_cases(write(tmp_path, json.dumps(row)))
    assert case.fields["kind"] == "single"
    assert case.fields["prev_expected"] == ["b"]
    assert case.fields["meta"] == {"turn": 3}
    assert "agents" not in case.fields
    assert "messages" not in case.fields
    assert (case.id, case.source, case.expected, case.handoff) == ("g1", "demo", ("a",), False)


def test_load_cases_skips_blank_lines_and_defaults_the_optional_fields(tmp_path: Path) -> None:
    minimal = {k: GOOD[k] for k in ("agents", "messages", "expected")}
    path = write(tmp_path, "", json.dumps(minimal), "   ")
    (case,) = load_cases(path)
    assert (case.id, case.source, case.handoff) == (f"{path}:2", "unknown", False)


def bad(**changes: Any) -> str:
    row = {**GOOD, **changes}
    return json.dumps({k: v for k, v in row.items() if v is not ...})


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        pytest.param('{"id": "x", ', "not valid JSON", id="json"),
        pytest.param("[1, 2]", "a case must be a JSON object", id="not-an-object"),
        pytest.param(bad(agents=...), "agents: missing", id="no-agents"),
        pytest.param(bad(agents=[]), "agents: must be a non-empty list", id="no-agent"),
        pytest.param(bad(agents={"a": "x"}), "agents: must be a non-empty list", id="agents-dict"),
        pytest.param(bad(agents=["a"]), "agents[0]: must be an object", id="agent-string"),
        pytest.param(
            bad(agents=[{"description": "d"}]), "agents[0].id: must be a non-empty", id="agent-id"
        ),
        pytest.param(
            bad(agents=[{"id": "a"}]), "agents[0].description: must be a string", id="agent-desc"
        ),
        pytest.param(
            bad(agents=[{"id": "a", "description": ""}, {"id": "a", "description": ""}]),
            "agents[1].id: 'a' appears twice",
            id="agent-twice",
        ),
        pytest.param(bad(messages=...), "messages: missing", id="no-messages"),
        pytest.param(bad(messages=[]), "messages: must be a non-empty list", id="no-message"),
        pytest.param(bad(messages="hi"), "messages: must be a non-empty list", id="messages-str"),
        pytest.param(
            bad(messages=[{"role": "robot", "content": "hi"}]), "messages[0].role", id="bad-role"
        ),
        pytest.param(
            bad(messages=[{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]),
            "messages: must end with the user turn to route, not a 'assistant' one",
            id="ends-with-assistant",
        ),
        pytest.param(bad(expected=...), "expected: missing", id="no-expected"),
        pytest.param(bad(expected="a"), "expected: must be a list", id="expected-string"),
        pytest.param(
            bad(expected=["a", "zed"]),
            "expected[1]: 'zed' is not one of the agents ['a', 'b']",
            id="expected-unknown",
        ),
        pytest.param(bad(handoff="yes"), "handoff: must be true or false", id="handoff"),
        pytest.param(bad(id=["x"]), "id: must be a string", id="id"),
        pytest.param(bad(source=True), "source: must be a string", id="source"),
    ],
)
def test_a_bad_line_is_a_data_error_naming_file_line_and_field(
    tmp_path: Path, line: str, problem: str
) -> None:
    path = write(tmp_path, json.dumps(GOOD), "", line, json.dumps(GOOD))
    with pytest.raises(RoutingDataError) as caught:
        load_cases(path)
    error = caught.value
    assert (error.path, error.line) == (str(path), 3)
    assert problem in error.problem
    assert error.message == f"{path}:3: {error.problem}"
    assert isinstance(error, PlanoError)
    assert isinstance(error, ValueError)


def test_limit_stops_before_a_later_bad_line(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(GOOD), "not json")
    assert len(load_cases(path, limit=1)) == 1
    with pytest.raises(RoutingDataError):
        load_cases(path)
