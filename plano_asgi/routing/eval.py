"""Routing evaluation: run a router over labelled cases and measure it.

A case file is JSON Lines, one case per line (blank lines are skipped)::

    {"id": "t1", "agents": [{"id": "billing", "description": "Invoices and refunds"},
     {"id": "tech", "description": "Outages and error messages"}],
     "messages": [{"role": "user", "content": "I was charged twice"}],
     "expected": ["billing"], "handoff": false, "source": "demo", "kind": "single"}

- ``agents`` (required): a non-empty list of ``{"id", "description"}``, ids unique.
- ``messages`` (required): the conversation, OpenAI chat messages, ending with the user
  turn to route.
- ``expected`` (required): the ids of the agents that should handle that turn, in order;
  ``[]`` means no agent fits (out of scope). Every id is one of ``agents``.
- ``id``, ``source`` (strings) and ``handoff`` (true when the turn moves to another agent
  than the previous user turn) are optional; any other field (``kind``, provenance) is kept
  in :attr:`EvalCase.fields` for :func:`group_by`. A router reads only agents and messages.

A prediction is right when its *set* of agents equals ``expected``. A line that breaks
these rules raises :class:`~plano_asgi.errors.RoutingDataError` with its file and line.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from plano_asgi.chat import ChatMessage
from plano_asgi.errors import RoutingDataError
from plano_asgi.routing.base import AgentCandidate, RouteDecision, Router

__all__ = [
    "NO_VALUE",
    "EvalCase",
    "EvalOutcome",
    "EvalReport",
    "GroupScore",
    "evaluate",
    "group_by",
    "load_cases",
    "selective_accuracy",
    "shorten",
    "summarize",
    "worst_misses",
]

logger = logging.getLogger(__name__)

NO_VALUE = "(none)"
"""The :func:`group_by` group of cases that lack the field (or have it ``null``)."""


@dataclass(frozen=True, slots=True)
class EvalCase:
    """One labelled routing case."""

    id: str
    source: str
    agents: tuple[AgentCandidate, ...]
    messages: tuple[ChatMessage, ...]
    expected: tuple[str, ...]
    handoff: bool
    fields: Mapping[str, object] = field(default_factory=dict)
    """The line's top-level fields as read, except ``agents`` and ``messages``."""

    @property
    def last_user_message(self) -> str:
        """The text of the turn being routed."""
        return next((m.text for m in reversed(self.messages) if m.role == "user"), "")


@dataclass(frozen=True, slots=True)
class EvalOutcome:
    """What the router answered for one case, and how long it took."""

    case: EvalCase
    decision: RouteDecision
    latency_ms: float

    @property
    def correct(self) -> bool:
        """Exact match: the set of predicted agents equals the expected set."""
        return set(self.decision.agents) == set(self.case.expected)

    @property
    def top1(self) -> bool:
        """The first predicted agent is one of the expected ones (in-scope cases)."""
        return bool(self.decision.agents) and self.decision.agents[0] in self.case.expected

    @property
    def confidence(self) -> float:
        """The decision's confidence, 0 when the router gave none."""
        return self.decision.confidence or 0.0


@dataclass(frozen=True, slots=True)
class GroupScore:
    """The figures of one group of cases (one value of a ``--by`` field)."""

    cases: int
    exact_match: float


@dataclass(frozen=True, slots=True)
class EvalReport:
    """The measured figures. Rates are fractions in [0, 1]; ``None`` when nothing to measure."""

    cases: int
    exact_match: float
    top1: float | None
    handoff: float | None
    no_handoff: float | None
    oos_recall: float | None
    by_source: dict[str, float]
    latency_ms: dict[str, float]
    escalated: int | None = None
    errors: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    selective_80: float | None = None
    """Exact match of the 80 % most confident decisions (:func:`selective_accuracy`)."""
    by: dict[str, dict[str, GroupScore]] = field(default_factory=dict)
    """Field name -> field value -> its figures, for each field asked for."""
    misses: tuple[EvalOutcome, ...] | None = None
    """The worst wrong decisions (:func:`worst_misses`), when asked for."""

    @property
    def escalation_rate(self) -> float | None:
        """The fraction of turns a hybrid router sent to the LLM router."""
        if self.escalated is None or not self.cases:
            return None
        return self.escalated / self.cases

    def to_dict(self) -> dict[str, Any]:
        """The report as the ``--json`` object."""
        data: dict[str, Any] = {
            "cases": self.cases,
            "exact_match": self.exact_match,
            "top1": self.top1,
            "handoff": self.handoff,
            "no_handoff": self.no_handoff,
            "oos_recall": self.oos_recall,
            "selective_80": self.selective_80,
            "by_source": dict(self.by_source),
            "latency_ms": dict(self.latency_ms),
            "errors": self.errors,
        }
        if self.escalated is not None:
            data["escalated"] = self.escalated
            data["escalation_rate"] = self.escalation_rate
        if self.by:
            data["by"] = {
                name: {
                    value: {"cases": g.cases, "exact_match": g.exact_match}
                    for value, g in groups.items()
                }
                for name, groups in self.by.items()
            }
        if self.misses is not None:
            data["misses"] = [
                {
                    "id": o.case.id,
                    "message": " ".join(o.case.last_user_message.split()),
                    "expected": list(o.case.expected),
                    "predicted": list(o.decision.agents),
                    "confidence": o.decision.confidence,
                }
                for o in self.misses
            ]
        return data


def _string(raw: dict[str, Any], key: str, default: str) -> str:
    value = raw.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{key}: must be a string")
    return str(value)


def _agents(value: object) -> tuple[AgentCandidate, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError('agents: must be a non-empty list of {"id", "description"}')
    agents: list[AgentCandidate] = []
    for i, agent in enumerate(value):
        if not isinstance(agent, dict):
            raise ValueError(f'agents[{i}]: must be an object {{"id", "description"}}')
        agent_id, description = agent.get("id"), agent.get("description")
        if not isinstance(agent_id, str) or not agent_id:
            raise ValueError(f"agents[{i}].id: must be a non-empty string")
        if not isinstance(description, str):
            raise ValueError(f"agents[{i}].description: must be a string")
        if any(a.id == agent_id for a in agents):
            raise ValueError(f"agents[{i}].id: {agent_id!r} appears twice")
        agents.append(AgentCandidate(agent_id, description))
    return tuple(agents)


def _messages(value: object) -> tuple[ChatMessage, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError("messages: must be a non-empty list of chat messages")
    messages: list[ChatMessage] = []
    for i, message in enumerate(value):
        try:
            messages.append(ChatMessage.model_validate(message))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValueError(
                f"messages[{i}]{'.' + where if where else ''}: {first['msg']}"
            ) from None
    if messages[-1].role != "user":
        raise ValueError(
            f"messages: must end with the user turn to route, not a {messages[-1].role!r} one"
        )
    return tuple(messages)


def _expected(value: object, agents: Sequence[AgentCandidate]) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValueError("expected: must be a list of agent ids ([] = out of scope)")
    ids = [a.id for a in agents]
    for i, agent_id in enumerate(value):
        if agent_id not in ids:
            raise ValueError(f"expected[{i}]: {agent_id!r} is not one of the agents {ids}")
    return tuple(value)


def _case(line: str, where: str) -> EvalCase:
    """Parse one line; ``ValueError`` says what is wrong, naming the field."""
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(raw, dict):
        raise ValueError("a case must be a JSON object")
    for key in ("agents", "messages", "expected"):
        if key not in raw:
            raise ValueError(f"{key}: missing")
    agents = _agents(raw["agents"])
    handoff = raw.get("handoff", False)
    if not isinstance(handoff, bool):
        raise ValueError("handoff: must be true or false")
    return EvalCase(
        id=_string(raw, "id", where),
        source=_string(raw, "source", "unknown"),
        agents=agents,
        messages=_messages(raw["messages"]),
        expected=_expected(raw["expected"], agents),
        handoff=handoff,
        fields={k: v for k, v in raw.items() if k not in ("agents", "messages")},
    )


def load_cases(path: str | Path, *, limit: int | None = None) -> list[EvalCase]:
    """Read a JSONL file of routing cases (the first ``limit`` ones).

    Raises :class:`RoutingDataError` at the first bad line, with the file and line number.
    """
    cases: list[EvalCase] = []
    with Path(path).open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if limit is not None and len(cases) >= limit:
                break
            if not line.strip():
                continue
            try:
                cases.append(_case(line, f"{path}:{number}"))
            except ValueError as exc:
                raise RoutingDataError(str(exc), path=str(path), line=number) from None
    return cases


async def evaluate(
    router: Router,
    cases: Iterable[EvalCase],
    *,
    progress: Callable[[int], None] | None = None,
) -> list[EvalOutcome]:
    """Route every case, one at a time, timing each call.

    A router that raises gets an empty decision with ``fallback="error"`` (counted as
    wrong, and in :attr:`EvalReport.errors`), so one bad case does not end the run.
    """
    outcomes: list[EvalOutcome] = []
    for done, case in enumerate(cases, start=1):
        start = time.perf_counter()
        try:
            decision = await router.route(case.messages, case.agents)
        except Exception as exc:  # any router failure is a wrong answer here, not the end
            logger.warning("router %s failed on case %s: %s", router.name, case.id, exc)
            decision = RouteDecision((), router.name, fallback="error")
        outcomes.append(EvalOutcome(case, decision, (time.perf_counter() - start) * 1000))
        if progress is not None:
            progress(done)
    return outcomes


def _rate(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = q / 100 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def selective_accuracy(outcomes: Sequence[EvalOutcome], coverage: float) -> float | None:
    """Exact match of the ``coverage`` fraction of decisions the router was surest of.

    Decisions are ordered by confidence, highest first (no confidence counts as 0; ties keep
    the cases' order), and the first ``ceil(coverage * n)`` are scored. ``None`` when there
    are no outcomes. ``coverage`` is in (0, 1]; at 1 this is plain exact match.
    """
    if not 0 < coverage <= 1:
        raise ValueError(f"coverage must be in (0, 1], not {coverage}")
    if not outcomes:
        return None
    # round() first: 0.7 * 10 is 7.000000000000001 in floating point, and must keep 7.
    kept = math.ceil(round(coverage * len(outcomes), 9))
    surest = sorted(outcomes, key=lambda o: -o.confidence)[:kept]
    return _rate([o.correct for o in surest])


def _group_key(value: object) -> str:
    if value is None:
        return NO_VALUE
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)  # true, 3, ["a"]


def group_by(outcomes: Sequence[EvalOutcome], name: str) -> dict[str, GroupScore]:
    """Exact match per value of the case field ``name`` (from :attr:`EvalCase.fields`).

    Values are keyed as written (strings as they are, others as JSON: ``true``, ``2``);
    cases without the field are grouped under :data:`NO_VALUE`, listed last.
    """
    groups: dict[str, list[bool]] = {}
    for o in outcomes:
        groups.setdefault(_group_key(o.case.fields.get(name)), []).append(o.correct)
    order = sorted(groups, key=lambda key: (key == NO_VALUE, key))
    return {key: GroupScore(len(groups[key]), sum(groups[key]) / len(groups[key])) for key in order}


def worst_misses(outcomes: Sequence[EvalOutcome], n: int) -> list[EvalOutcome]:
    """The ``n`` wrong decisions made with the highest confidence (confidently wrong first).

    No confidence counts as 0; ties keep the cases' order.
    """
    wrong = [o for o in outcomes if not o.correct]
    return sorted(wrong, key=lambda o: -o.confidence)[: max(n, 0)]


def shorten(text: str, width: int) -> str:
    """``text`` on one line, cut at a word boundary to at most ``width`` characters."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    cut = flat[: width - 1]
    if " " in cut[width // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:") + "…"


def summarize(
    outcomes: Sequence[EvalOutcome],
    *,
    escalations: bool = False,
    by: Sequence[str] = (),
    misses: int | None = None,
) -> EvalReport:
    """Compute the report's figures.

    ``escalations`` counts hybrid escalations too; ``by`` names case fields to break exact
    match down by; ``misses`` asks for that many :func:`worst_misses`.
    """
    sources: dict[str, list[bool]] = {}
    for o in outcomes:
        sources.setdefault(o.case.source, []).append(o.correct)
    in_scope = [o for o in outcomes if o.case.expected]
    latencies = [o.latency_ms for o in outcomes]
    return EvalReport(
        cases=len(outcomes),
        exact_match=_rate([o.correct for o in outcomes]) or 0.0,
        top1=_rate([o.top1 for o in in_scope]),
        handoff=_rate([o.correct for o in in_scope if o.case.handoff]),
        no_handoff=_rate([o.correct for o in in_scope if not o.case.handoff]),
        oos_recall=_rate([not o.decision.agents for o in outcomes if not o.case.expected]),
        by_source={k: sum(v) / len(v) for k, v in sorted(sources.items())},
        latency_ms={"p50": _percentile(latencies, 50), "p99": _percentile(latencies, 99)},
        escalated=sum(o.decision.escalated for o in outcomes) if escalations else None,
        errors=sum(o.decision.fallback == "error" for o in outcomes),
        selective_80=selective_accuracy(outcomes, 0.8),
        by={name: group_by(outcomes, name) for name in dict.fromkeys(by)},
        misses=None if misses is None else tuple(worst_misses(outcomes, misses)),
    )
