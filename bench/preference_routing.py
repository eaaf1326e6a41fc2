"""Accuracy and latency of preference-based model routing on the labelled preference set.

Usage: ``python -m bench.preference_routing [--data bench/data/preferences.jsonl]
[--out bench/results/preferences.md]``

Runs :class:`~plano_asgi.gateway.preferences.PreferenceRouter` with the embedded router
(the gateway's default) over every case of the set built by
``scripts/build_preference_set.py``: exact match per kind, on the half the settings were
chosen on (even lines) and on the other half (odd lines), then the decision latency per
request (p50/p99, model loaded, agents embedded).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

from plano_asgi.chat import ChatMessage
from plano_asgi.gateway.preferences import (
    ModelRoute,
    PreferenceRouter,
    conversation,
    local_preference_router,
)


async def _score(
    cases: list[dict[str, Any]], router: PreferenceRouter
) -> tuple[Counter[str], Counter[str], list[float]]:
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    latencies: list[float] = []
    for case in cases:
        routes = [ModelRoute(a["id"], a["description"], ("m",)) for a in case["agents"]]
        messages = conversation("openai", case)
        started = time.perf_counter()
        choice = await router.choose(messages, routes)
        latencies.append((time.perf_counter() - started) * 1e3)
        got = [choice.route] if choice.route else []
        total[case["kind"]] += 1
        right[case["kind"]] += got == case["expected"]
    return right, total, latencies


def _row(name: str, right: Counter[str], total: Counter[str], kinds: list[str]) -> str:
    overall = sum(right.values()) / max(1, sum(total.values()))
    cells = [f"{right[k] / total[k]:.1%}" if total[k] else "n/a" for k in kinds]
    return f"| {name} | {sum(total.values())} | **{overall:.1%}** | " + " | ".join(cells) + " |"


async def run(data: Path, cases: list[dict[str, Any]]) -> str:
    local = local_preference_router()
    if local is None:
        raise SystemExit("install plano-asgi[router] first")
    router = PreferenceRouter((), local)
    await router.choose(
        [ChatMessage(role="user", content="warm up")], [ModelRoute("a", "b", ("m",))]
    )
    kinds = sorted({c["kind"] for c in cases})
    chosen = await _score(cases[0::2], router)
    held = await _score(cases[1::2], router)
    latencies = chosen[2] + held[2]
    quantiles = statistics.quantiles(latencies, n=100)
    lines = [
        "# Preference-based model routing",
        "",
        f"`python -m bench.preference_routing --data {data}`",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}; router "
        f"`{local.name}` with the preference settings "
        "(`plano_asgi.gateway.preferences.local_preference_router`). Set: "
        f"{len(cases)} single-turn cases from `scripts/build_preference_set.py` (Plano's "
        "demo preferences `code understanding` / `code generation`; requests from CPython "
        "standard-library docstrings and code, and CLINC150 out-of-scope queries for "
        "`none`). Exact match: the chosen preference, or none, equals the label.",
        "",
        "| half | cases | exact | " + " | ".join(kinds) + " |",
        "|---|---|---|" + "---|" * len(kinds),
        _row("settings chosen on (even lines)", chosen[0], chosen[1], kinds),
        _row("held out (odd lines)", held[0], held[1], kinds),
        "",
        f"Decision latency per request: p50 {statistics.median(latencies):.1f} ms, "
        f"p99 {quantiles[98]:.1f} ms ({len(latencies)} requests, one encoder pass each; "
        "code snippets are the longest turns).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("bench/data/preferences.jsonl"))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    lines = args.data.read_text(encoding="utf-8").splitlines()
    report = asyncio.run(run(args.data, [json.loads(line) for line in lines if line]))
    print(report)
    if args.out is not None:
        args.out.write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
