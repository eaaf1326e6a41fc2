"""``plano-asgi eval-routes DATA.jsonl``: measure a router on labelled routing cases.

The case format is described in :mod:`plano_asgi.routing.eval` and in the README
("Measuring a router"); ``examples/routing/sample_cases.jsonl`` is a small sample.

``local_v1`` runs offline with nothing but the ``router`` extra. ``plano_orchestrator_v1``
and ``hybrid_v1`` need ``--config`` naming an orchestrator model
(``overrides.agent_orchestration_model``) and its provider.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TextIO

import anyio
import httpx2

from plano_asgi.errors import PlanoError, RoutingDataError
from plano_asgi.outbound import outbound_client
from plano_asgi.routing.base import Router
from plano_asgi.routing.eval import EvalReport, evaluate, load_cases, shorten, summarize

__all__ = ["ProgressBar", "format_misses", "format_report", "register", "run"]

ROUTERS = ("local_v1", "hybrid_v1", "plano_orchestrator_v1")


def register(parser: argparse.ArgumentParser) -> None:
    """Add the ``eval-routes`` arguments to ``parser``."""
    parser.add_argument("data", help="routing cases, one JSON object per line")
    parser.add_argument("--router", default="local_v1", choices=ROUTERS, help="router to measure")
    parser.add_argument("--config", help="plano_config.yaml with the orchestrator model")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--limit", type=int, help="only the first N cases")
    parser.add_argument("--threshold", type=float, help="hybrid_v1: escalation threshold")
    parser.add_argument(
        "--errors",
        type=_count,
        metavar="N",
        help="list the N worst misses (wrong decisions, most confident first)",
    )
    parser.add_argument(
        "--by",
        action="append",
        default=[],
        metavar="FIELD",
        help="exact match per value of this case field (kind, source, ...); repeatable",
    )


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a count (0 or more), not {text!r}")
    return value


class ProgressBar:
    """A one-line progress bar on a terminal stream; silent when it is not a terminal."""

    def __init__(self, total: int, stream: TextIO | None = None, width: int = 30) -> None:
        self.total = max(total, 1)
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.enabled = self.stream.isatty()
        self._last = 0.0

    def __call__(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < self.total and now - self._last < 0.1:
            return
        self._last = now
        filled = self.width * done // self.total
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r[{bar}] {done}/{self.total}")
        if done >= self.total:
            self.stream.write("\n")
        self.stream.flush()


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:5.1f}%"


def format_report(report: EvalReport, router: str) -> str:
    """The human-readable table."""
    rows = [
        ("router", router),
        ("cases", str(report.cases)),
        ("exact match", _pct(report.exact_match)),
        ("top-1 (in scope)", _pct(report.top1)),
        ("handoff turns", _pct(report.handoff)),
        ("non-handoff turns", _pct(report.no_handoff)),
        ("out-of-scope recall", _pct(report.oos_recall)),
    ]
    rows.append(("80% most confident", _pct(report.selective_80)))
    if report.escalated is not None:
        rows.append(
            (
                "escalated to the LLM",
                f"{report.escalated} of {report.cases} ({_pct(report.escalation_rate).strip()})",
            )
        )
    if "source" not in report.by:
        rows.append(("exact match by source", ""))
        rows += [(f"  {source}", _pct(rate)) for source, rate in report.by_source.items()]
    for name, groups in report.by.items():
        rows.append((f"exact match by {name}", ""))
        rows += [(f"  {v}", f"{_pct(g.exact_match)}  of {g.cases}") for v, g in groups.items()]
    rows.append(
        (
            "latency per turn",
            f"p50 {report.latency_ms['p50']:.1f} ms, p99 {report.latency_ms['p99']:.1f} ms",
        )
    )
    if report.errors:
        rows.append(("router errors", str(report.errors)))
    width = max(len(name) for name, _ in rows)
    text = "\n".join(f"{name.ljust(width)}  {value}".rstrip() for name, value in rows)
    if report.misses is not None:
        text += "\n\n" + format_misses(report)
    return text


def _ids(ids: tuple[str, ...]) -> str:
    return ", ".join(ids) if ids else "[]"


def format_misses(report: EvalReport, width: int = 60) -> str:
    """The worst misses as a table: id, confidence, expected, predicted, the routed turn."""
    misses = report.misses or ()
    if not misses:
        return "worst misses: none"
    table = [("id", "confidence", "expected", "predicted", "last user message")]
    for o in misses:
        confidence = o.decision.confidence
        table.append(
            (
                o.case.id,
                "-" if confidence is None else f"{confidence:.2f}",
                _ids(o.case.expected),
                _ids(o.decision.agents),
                shorten(o.case.last_user_message, width),
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    wrong = report.cases - round(report.exact_match * report.cases)
    lines = [f"worst misses ({len(misses)} of {wrong} wrong, most confident first):"]
    for row in table:
        cells = [cell.ljust(w) for cell, w in zip(row, widths, strict=False)]
        lines.append("  " + "  ".join([*cells, row[4]]))
    return "\n".join(lines)


def _build(args: argparse.Namespace, client: httpx2.AsyncClient) -> Router:
    if args.router == "local_v1":
        return _local()
    if not args.config:
        raise _UsageError(f"--router {args.router} needs --config with an orchestrator model")
    try:
        from plano_asgi.routing.orchestrator import OrchestratorRouter
    except ImportError:
        raise _UsageError(
            f"--router {args.router} needs the orchestrator router "
            "(plano_asgi.routing.orchestrator), which this installation does not have"
        ) from None
    from plano_asgi.config import load_config

    config = load_config(args.config)
    if not config.orchestrator_model:
        raise _UsageError(f"{args.config} sets no overrides.agent_orchestration_model")
    llm = OrchestratorRouter.from_config(config, client=client)
    if args.router == "plano_orchestrator_v1":
        return llm
    from plano_asgi.routing.hybrid import DEFAULT_THRESHOLD, HybridRouter

    threshold = args.threshold
    if threshold is None:
        threshold = config.overrides.local_router_threshold
    if threshold is None:
        threshold = DEFAULT_THRESHOLD
    return HybridRouter(local=_local(), llm=llm, threshold=threshold)


def _local() -> Router:
    from plano_asgi.routing.local import LocalRouter

    local = LocalRouter()
    local.load()  # load before timing starts: the first case should not pay for it
    return local


class _UsageError(Exception):
    pass


async def _main(args: argparse.Namespace) -> EvalReport:
    cases = load_cases(args.data, limit=args.limit)
    async with outbound_client() as client:
        router = _build(args, client)
        outcomes = await evaluate(router, cases, progress=ProgressBar(len(cases)))
    return summarize(
        outcomes, escalations=args.router == "hybrid_v1", by=args.by, misses=args.errors
    )


def run(args: argparse.Namespace) -> int:
    """Run the evaluation; print the table (or ``--json``); exit 0, or 2 on bad input."""
    try:
        report = anyio.run(_main, args)
    except _UsageError as exc:
        print(f"plano-asgi eval-routes: {exc}", file=sys.stderr)
        return 2
    except RoutingDataError as exc:
        print(exc.message, file=sys.stderr)  # path:line: what is wrong
        return 2
    except (PlanoError, OSError) as exc:
        print(f"plano-asgi eval-routes: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.to_dict(), sort_keys=True))
    else:
        print(format_report(report, args.router))
    return 0
