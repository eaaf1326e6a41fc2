"""Routing evaluation: run a router over labelled cases and measure it.

The case format is the routing data set's (``/work/shared/data/README.md``): one JSON
object per line with ``agents`` (``id``, ``description``), ``messages`` (ending with the
user turn to route), ``expected`` (agent ids; ``[]`` = out of scope), ``handoff`` and
``source``. A prediction is right when its *set* of agents equals ``expected``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plano_asgi.chat import ChatMessage
from plano_asgi.errors import ConfigError, ConfigIssue
from plano_asgi.routing.base import AgentCandidate, RouteDecision, Router

__all__ = ["EvalCase", "EvalOutcome", "EvalReport", "evaluate", "load_cases", "summarize"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EvalCase:
    """One labelled routing case."""

    id: str
    source: str
    agents: tuple[AgentCandidate, ...]
    messages: tuple[ChatMessage, ...]
    expected: tuple[str, ...]
    handoff: bool


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

    def to_dict(self) -> dict[str, Any]:
        """The report as the ``--json`` object."""
        data: dict[str, Any] = {
            "cases": self.cases,
            "exact_match": self.exact_match,
            "top1": self.top1,
            "handoff": self.handoff,
            "no_handoff": self.no_handoff,
            "oos_recall": self.oos_recall,
            "by_source": dict(self.by_source),
            "latency_ms": dict(self.latency_ms),
            "errors": self.errors,
        }
        if self.escalated is not None:
            data["escalated"] = self.escalated
        return data


def _case(line: str, where: str) -> EvalCase:
    try:
        raw = json.loads(line)
        return EvalCase(
            id=str(raw.get("id", where)),
            source=str(raw.get("source", "unknown")),
            agents=tuple(
                AgentCandidate(str(a["id"]), str(a.get("description") or "")) for a in raw["agents"]
            ),
            messages=tuple(ChatMessage.model_validate(m) for m in raw["messages"]),
            expected=tuple(str(x) for x in raw["expected"]),
            handoff=bool(raw.get("handoff", False)),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError([ConfigIssue(where, f"not a routing case: {exc}")]) from None


def load_cases(path: str | Path, *, limit: int | None = None) -> list[EvalCase]:
    """Read a JSONL file of routing cases (the first ``limit`` ones)."""
    cases: list[EvalCase] = []
    with Path(path).open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if limit is not None and len(cases) >= limit:
                break
            if line.strip():
                cases.append(_case(line, f"{path}:{number}"))
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


def summarize(outcomes: Sequence[EvalOutcome], *, escalations: bool = False) -> EvalReport:
    """Compute the report's figures; ``escalations`` counts hybrid escalations too."""
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
    )
