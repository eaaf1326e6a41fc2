"""Which router, and why: every candidate scored on both routing dev files, side by side.

Run from the repository root::

    python -m bench.router_candidates [--data-dir ../shared/data] [--out bench/results/router.md]

Each candidate is ``local_v1``'s machinery with one thing changed (the embedding model,
the scorer, one of the decision steps), run over ``route_dev_terse.jsonl`` (exact match per
``kind``) and ``route_dev.jsonl`` (exact match per ``source``, out-of-scope recall), plus
the accuracy of the 80 % most confident decisions and the routing latency of each case.
The latency and memory of the chosen router in the issue's scenario come from
:mod:`bench.router_latency`, measured in the same run. ``--previous REF`` also scores the
router of an earlier commit (checked out into a temporary git worktree, run as a
subprocess) so the table shows what changed.

"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from bench.router_latency import latency_section
from plano_asgi.routing.eval import EvalCase, load_cases
from plano_asgi.routing.local import LocalRouter, LocalRouterSettings, MiniLMEncoder
from plano_asgi.routing.local.profiles import ScoreWeights

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"
KINDS = ("single", "followup", "handoff", "multi", "oos", "oos_midconv")
SOURCES = ("sgd", "multiwoz", "clinc150")


@dataclasses.dataclass(frozen=True)
class Candidate:
    name: str
    what: str
    make: Callable[[Any], LocalRouter]
    """Builds the router from the shared, loaded MiniLM encoder."""


BM25_ONLY = ScoreWeights(whole=0.0, best=0.0, top2=0.0, lexical=3.0)


def _settings(**changes: Any) -> LocalRouterSettings:
    return dataclasses.replace(LocalRouterSettings(), **changes)


CANDIDATES = (
    Candidate(
        "local_v1",
        "the shipped router: all-MiniLM-L6-v2 int8 + BM25, topic state, two-intent test, "
        "off-topic competitors, calibrated confidence",
        lambda enc: LocalRouter(enc),
    ),
    Candidate(
        "no off-topic competitors",
        "local_v1 without the everyday-subject competitors (thresholds only)",
        lambda enc: LocalRouter(
            enc, settings=_settings(offtopic_margin=math.inf, offtopic_margin_followup=math.inf)
        ),
    ),
    Candidate(
        "no two-intent test",
        "local_v1 that always picks one agent",
        lambda enc: LocalRouter(enc, settings=_settings(multi_floor=math.inf)),
    ),
    Candidate(
        "no topic-change cues",
        "local_v1 without the words that announce a new request or subject",
        lambda enc: LocalRouter(enc, settings=_settings(cue_switch=None)),
    ),
    Candidate(
        "embeddings only",
        "scorer: cosine with descriptions and pieces, no BM25",
        lambda enc: LocalRouter(enc, settings=_settings(weights=ScoreWeights(lexical=0.0))),
    ),
    Candidate(
        "BM25 only",
        "scorer: BM25 over the descriptions, no embeddings (thresholds not retuned)",
        lambda enc: LocalRouter(
            enc,
            settings=_settings(weights=ScoreWeights(whole=0.0, best=0.0, top2=0.0, lexical=3.0)),
        ),
    ),
)


@dataclasses.dataclass
class Scores:
    terse: dict[str, float]
    dev: dict[str, float]
    selective: dict[str, float]
    p50_ms: float
    p99_ms: float


def _rate(flags: Sequence[bool]) -> float:
    return sum(flags) / len(flags) if flags else float("nan")


def _selective(confidences: Sequence[float], right: Sequence[bool], coverage: float = 0.8) -> float:
    order = sorted(range(len(right)), key=lambda i: -confidences[i])
    kept = order[: math.ceil(coverage * len(order))]
    return _rate([right[i] for i in kept])


def score(router: LocalRouter, terse: list[EvalCase], dev: list[EvalCase]) -> Scores:
    decide = router.decide
    timings: list[float] = []
    groups: dict[str, dict[str, list[bool]]] = {
        "terse": defaultdict(list),
        "dev": defaultdict(list),
    }
    selective: dict[str, float] = {}
    for label, cases in (("terse", terse), ("dev", dev)):
        confidences: list[float] = []
        right: list[bool] = []
        for case in cases:
            start = time.perf_counter()
            decision = decide(case.messages, case.agents)
            timings.append((time.perf_counter() - start) * 1000)
            ok = set(decision.agents) == set(case.expected)
            confidences.append(decision.confidence or 0.0)
            right.append(ok)
            group = groups[label]
            group["all"].append(ok)
            group[str(case.fields.get("kind") or case.source)].append(ok)
            if not case.expected:
                group["oos recall"].append(ok)
        selective[label] = _selective(confidences, right)
    timings.sort()
    return Scores(
        {k: _rate(v) for k, v in groups["terse"].items()},
        {k: _rate(v) for k, v in groups["dev"].items()},
        selective,
        statistics.median(timings),
        timings[int(0.99 * (len(timings) - 1))],
    )


@contextlib.contextmanager
def worktree(ref: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(path), ref], cwd=ROOT,
                       check=True, capture_output=True)  # fmt: skip
        try:
            yield path
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT,
                           check=False, capture_output=True)  # fmt: skip


def previous(ref: str, files: dict[str, Path]) -> Scores:
    """Score the router of commit ``ref`` by running its own ``eval-routes`` per case file."""
    with worktree(ref) as tree:
        env = {**os.environ, "PYTHONPATH": str(tree)}
        out: dict[str, Any] = {}
        for label, path in files.items():
            code = (
                "import json,sys,anyio;"
                "from plano_asgi.routing.eval import load_cases;"
                "from plano_asgi.routing.local import LocalRouter;"
                "r=LocalRouter();rows=[]\n"
                "for c in load_cases(sys.argv[1]):\n"
                " d=r.decide(c.messages,c.agents)\n"
                " rows.append([list(d.agents),list(c.expected),d.confidence or 0.0])\n"
                "print(json.dumps(rows))"
            )
            run = subprocess.run([sys.executable, "-c", code, str(path)], env=env, cwd=tree,
                                 check=True, capture_output=True, text=True)  # fmt: skip
            out[label] = json.loads(run.stdout)
    cases = {label: load_cases(path) for label, path in files.items()}
    result: dict[str, dict[str, float]] = {}
    selective: dict[str, float] = {}
    for label, rows in out.items():
        groups: dict[str, list[bool]] = defaultdict(list)
        right: list[bool] = []
        for case, (got, expected, _) in zip(cases[label], rows, strict=True):
            ok = set(got) == set(expected)
            right.append(ok)
            groups["all"].append(ok)
            groups[str(case.fields.get("kind") or case.source)].append(ok)
            if not expected:
                groups["oos recall"].append(ok)
        result[label] = {k: _rate(v) for k, v in groups.items()}
        selective[label] = _selective([r[2] for r in rows], right)
    return Scores(result["terse"], result["dev"], selective, float("nan"), float("nan"))


def _pct(value: float | None) -> str:
    return "" if value is None or math.isnan(value) else f"{value * 100:.1f}"


def table(rows: list[tuple[str, str, Scores]]) -> list[str]:
    head = (
        ["candidate", "terse all", *KINDS, "terse sel80", "dev all", *SOURCES, "dev oos recall",
         "dev sel80", "p50 ms", "p99 ms"]
    )  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, _, scores in rows:
        t, d = scores.terse, scores.dev
        cells = [
            name, _pct(t.get("all")), *(_pct(t.get(k)) for k in KINDS),
            _pct(scores.selective["terse"]),
            _pct(d.get("all")), *(_pct(d.get(k)) for k in SOURCES), _pct(d.get("oos recall")),
            _pct(scores.selective["dev"]),
            "" if math.isnan(scores.p50_ms) else f"{scores.p50_ms:.1f}",
            "" if math.isnan(scores.p99_ms) else f"{scores.p99_ms:.1f}",
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--previous", metavar="REF", help="also score the router at this commit")
    args = parser.parse_args()
    files = {
        "terse": args.data_dir / "route_dev_terse.jsonl",
        "dev": args.data_dir / "route_dev.jsonl",
    }
    terse, dev = load_cases(files["terse"]), load_cases(files["dev"])
    encoder = MiniLMEncoder()
    encoder.load()
    rows: list[tuple[str, str, Scores]] = []
    for candidate in CANDIDATES:
        print(f"scoring {candidate.name}...", file=sys.stderr)
        rows.append((candidate.name, candidate.what, score(candidate.make(encoder), terse, dev)))
    if args.previous:
        print(f"scoring the router at {args.previous}...", file=sys.stderr)
        rows.insert(0, (f"previous ({args.previous})", "the router before this work",
                        previous(args.previous, files)))  # fmt: skip
    lines = [
        "# Routing: candidates, accuracy, latency, memory",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average {os.getloadavg()[0]:.1f}. Command: "
        "`python -m bench.router_candidates --previous <ref> --out bench/results/router.md`.",
        "",
        "Exact match in % (the predicted set of agents equals the expected set). `terse`:",
        "`route_dev_terse.jsonl`, 200 cases, per `kind`; `dev`: `route_dev.jsonl`, 1,500 cases,",
        "per `source`. `sel80`: accuracy of the 80 % most confident decisions. Latency: per",
        "case, all cases of both files, one at a time, caches warm only within a case.",
        "",
        *table(rows),
        "",
        "What each candidate is:",
        "",
        *(f"- **{name}**: {what}" for name, what, _ in rows),
        "",
        *latency_section(encoder),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
