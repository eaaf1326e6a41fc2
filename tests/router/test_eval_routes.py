"""``plano-asgi eval-routes``: the metrics, the JSON shape, and clear errors."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from plano_asgi.chat import ChatMessage
from plano_asgi.cli import main
from plano_asgi.cli.eval_routes import ProgressBar, format_report, register
from plano_asgi.routing.base import AgentCandidate, RouteDecision
from plano_asgi.routing.eval import EvalCase, EvalOutcome, summarize
from tests.support.servers import serve

AGENTS = [
    {"id": "weather", "description": "Weather forecasts, rain and temperature for any city."},
    {"id": "flights", "description": "Searches flights and reports flight status."},
    {"id": "hotels", "description": "Finds hotels and books rooms."},
]


def case(
    n: int, turns: list[str], expected: list[str], handoff: bool, source: str
) -> dict[str, Any]:
    roles = ("user", "assistant")
    return {
        "id": f"c{n}",
        "source": source,
        "agents": AGENTS,
        "messages": [{"role": roles[i % 2], "content": t} for i, t in enumerate(turns)],
        "expected": expected,
        "handoff": handoff,
    }


@pytest.fixture
def data(tmp_path: Path) -> Path:
    rows = [
        case(1, ["will it rain in Oslo tomorrow?"], ["weather"], False, "a"),
        case(2, ["any flights from Oslo to Rome on Friday?"], ["flights"], False, "a"),
        case(3, ["find flights to Rome", "SK 123 at 9am.", "great, and a hotel near the Colosseum"],
             ["hotels"], True, "b"),
        case(4, ["find me a hotel in Rome", "Hotel Roma has rooms.", "yes please"],
             ["hotels"], False, "b"),
        case(5, ["who won the football world cup in 1998"], [], False, "b"),
        case(6, ["what's the temperature in Paris"], ["weather"], False, "a"),
    ]  # fmt: skip
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_json_report_keys_and_ranges(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval-routes", str(data), "--json", "--limit", "5"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["cases"] == 5
    for key in ("exact_match", "top1", "handoff", "no_handoff", "oos_recall"):
        assert 0.0 <= report[key] <= 1.0, key
    assert set(report["by_source"]) == {"a", "b"}
    assert all(0.0 <= v <= 1.0 for v in report["by_source"].values())
    assert 0.0 < report["latency_ms"]["p50"] <= report["latency_ms"]["p99"]
    assert "escalated" not in report
    assert report["exact_match"] == 1.0  # these five are easy


def test_table_output(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval-routes", str(data)]) == 0
    out = capsys.readouterr().out
    assert "exact match" in out
    assert "out-of-scope recall" in out
    assert "p99" in out
    assert "router               local_v1" in out or "local_v1" in out.splitlines()[0]


def test_llm_routers_need_a_config(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval-routes", str(data), "--router", "hybrid_v1"]) == 2
    assert "needs --config" in capsys.readouterr().err


def test_a_config_without_orchestrator_model_is_refused(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "plano_config.yaml"
    config.write_text(
        "version: v0.3.0\n"
        "agents:\n  - id: weather\n    url: http://127.0.0.1:9\n"
        "listeners:\n  - type: agent\n    name: a\n    port: 8001\n"
        "    agents:\n      - id: weather\n        description: weather\n",
        encoding="utf-8",
    )
    code = main(
        ["eval-routes", str(data), "--router", "plano_orchestrator_v1", "--config", str(config)]
    )
    assert code == 2
    assert "agent_orchestration_model" in capsys.readouterr().err


def test_bad_data_is_reported_as_path_line_problem(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = data.read_text(encoding="utf-8").splitlines()
    row = json.loads(lines[1])
    row["expected"] = ["trains"]
    lines[1] = json.dumps(row)
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["eval-routes", str(data), "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    agents = "['weather', 'flights', 'hotels']"
    assert err == f"{data}:2: expected[0]: 'trains' is not one of the agents {agents}\n"


def test_table_with_groups_misses_and_selective_accuracy() -> None:
    agents = tuple(AgentCandidate(a["id"], a["description"]) for a in AGENTS)

    def outcome(n: int, text: str, expected: str, got: str, confidence: float) -> EvalOutcome:
        msgs = (ChatMessage(role="user", content=text),)
        c = EvalCase(f"c{n}", "a", agents, msgs, (expected,), False, {"kind": f"k{n % 2}"})
        return EvalOutcome(c, RouteDecision((got,), "fixed", confidence=confidence), 1.0)

    report = summarize(
        [
            outcome(1, "rain in Oslo?", "weather", "weather", 0.9),
            outcome(2, "a room in Rome, " + "quiet, " * 10, "hotels", "flights", 0.7),
            outcome(3, "flights to Rome", "flights", "hotels", 0.95),
            outcome(4, "status of SK 123", "flights", "flights", 0.2),
            outcome(5, "rooms near the station", "hotels", "weather", 0.1),
        ],
        by=["kind"],
        misses=5,
    )
    lines = format_report(report, "fixed").splitlines()
    # The four surest of five (ceil(0.8 * 5)): c3 wrong, c1 right, c2 wrong, c4 right.
    assert "80% most confident      50.0%" in lines
    start = lines.index("exact match by kind")
    assert lines[start + 1 : start + 3] == [
        "  k0                    50.0%  of 2",
        "  k1                    33.3%  of 3",
    ]
    head = lines.index("worst misses (3 of 3 wrong, most confident first):")
    assert lines[head + 1 :] == [
        "  id  confidence  expected  predicted  last user message",
        "  c3  0.95        flights   hotels     flights to Rome",
        "  c2  0.70        hotels    flights    "
        "a room in Rome, quiet, quiet, quiet, quiet, quiet, quiet…",  # 60 characters at most
        "  c5  0.10        hotels    weather    rooms near the station",
    ]


@pytest.mark.parametrize("value", ["-1", "many"])
def test_errors_needs_a_count(data: Path, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["eval-routes", str(data), "--errors", value])
    assert caught.value.code == 2
    assert "expected a count" in capsys.readouterr().err


SAMPLE = Path(__file__).parents[2] / "examples" / "routing" / "sample_cases.jsonl"


def test_the_shipped_sample_through_the_command_line() -> None:
    """The README's sample, run as a user would: consistent figures, documented keys."""
    args = [str(SAMPLE), "--json", "--by", "kind", "--errors", "3"]
    result = subprocess.run(
        [sys.executable, "-m", "plano_asgi", "eval-routes", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    lines = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    assert report["cases"] == len(lines)
    kinds = report["by"]["kind"]
    assert set(kinds) == {"single", "followup", "handoff", "multi", "oos"}
    assert sum(g["cases"] for g in kinds.values()) == report["cases"]
    for kind, group in kinds.items():
        assert group["cases"] == sum(line["kind"] == kind for line in lines)
    right = sum(g["cases"] * g["exact_match"] for g in kinds.values())
    assert right == pytest.approx(report["exact_match"] * report["cases"])
    assert 0.0 <= report["selective_80"] <= 1.0
    assert report["errors"] == 0
    wrong = round(report["cases"] * (1 - report["exact_match"]))
    misses = report["misses"]
    assert len(misses) == min(3, wrong)
    by_id = {line["id"]: line for line in lines}
    for miss in misses:
        assert set(miss) == {"id", "message", "expected", "predicted", "confidence"}
        case = by_id[miss["id"]]
        assert miss["expected"] == case["expected"]
        assert miss["message"] == case["messages"][-1]["content"]
        assert set(miss["predicted"]) != set(miss["expected"])
    confidences = [m["confidence"] or 0.0 for m in misses]
    assert confidences == sorted(confidences, reverse=True)


def test_summarize_counts_sets_handoffs_and_escalations() -> None:
    agents = (AgentCandidate("a", ""), AgentCandidate("b", ""))
    msgs = (ChatMessage(role="user", content="x"),)

    def outcome(
        expected: tuple[str, ...],
        got: tuple[str, ...],
        handoff: bool,
        ms: float,
        escalated: bool = False,
    ) -> EvalOutcome:
        c = EvalCase("id", "s", agents, msgs, expected, handoff)
        return EvalOutcome(c, RouteDecision(got, "hybrid_v1", escalated=escalated), ms)

    report = summarize(
        [
            outcome(("a", "b"), ("b", "a"), False, 1.0),  # sets: order does not matter
            outcome(("a",), ("b",), True, 2.0, escalated=True),
            outcome((), (), False, 3.0),
            outcome((), ("a",), False, 4.0),
        ],
        escalations=True,
    )  # fmt: skip
    assert report.exact_match == 0.5
    assert report.handoff == 0.0
    assert report.no_handoff == 1.0
    assert report.oos_recall == 0.5
    assert report.top1 == 0.5
    assert report.escalated == 1
    assert report.latency_ms == {"p50": 2.5, "p99": pytest.approx(3.97)}


def test_progress_bar_draws_only_on_a_terminal() -> None:
    class Tty:
        def __init__(self, tty: bool) -> None:
            self.tty, self.text = tty, ""

        def isatty(self) -> bool:
            return self.tty

        def write(self, s: str) -> int:
            self.text += s
            return len(s)

        def flush(self) -> None:
            pass

    tty, pipe = Tty(True), Tty(False)
    for stream in (tty, pipe):
        bar = ProgressBar(4, stream=stream, width=4)  # type: ignore[arg-type]
        for done in range(1, 5):
            bar(done)
    assert tty.text.endswith("[####] 4/4\n")
    assert pipe.text == ""


def orchestrator_app(calls: list[dict[str, Any]]) -> Starlette:
    """A fake Plano-Orchestrator: always answers the hotels route."""

    async def completions(request: Request) -> JSONResponse:
        calls.append(await request.json())
        content = json.dumps({"route": ["hotels"]})
        return JSONResponse(
            {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": "router-model",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                             "finish_reason": "stop"}],
            }
        )  # fmt: skip

    return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])


@pytest.mark.anyio
async def test_hybrid_counts_escalations_against_a_loopback_orchestrator(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[dict[str, Any]] = []
    with anyio.fail_after(60):
        async with serve(orchestrator_app(calls)) as srv:
            config = tmp_path / "plano_config.yaml"
            config.write_text(
                "version: v0.3.0\n"
                "agents:\n  - id: weather\n    url: http://127.0.0.1:9\n"
                "listeners:\n  - type: agent\n    name: a\n    port: 8001\n"
                "    agents:\n      - id: weather\n        description: weather\n"
                "model_providers:\n  - model: openai/router-model\n"
                f"    base_url: {srv.url}/v1\n    access_key: sk-test\n"
                "overrides:\n  agent_orchestration_model: openai/router-model\n",
                encoding="utf-8",
            )
            args = ["eval-routes", str(data), "--router", "hybrid_v1", "--config", str(config)]
            # Every turn escalates at threshold 1.01; the fake always answers "hotels".
            code = await anyio.to_thread.run_sync(main, [*args, "--threshold", "1.01", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["escalated"] == report["cases"] == len(calls) == 6
    assert report["exact_match"] == pytest.approx(2 / 6)  # the two hotel cases


def test_the_readme_documents_every_flag_and_key() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Measuring a router: `plano-asgi eval-routes`")[1].split("\n## ")[0]
    assert "examples/routing/sample_cases.jsonl" in section
    command = argparse.ArgumentParser()
    register(command)
    flags = {f for action in command._actions for f in action.option_strings} - {"-h", "--help"}
    assert flags == {"--router", "--config", "--json", "--limit", "--threshold", "--errors", "--by"}
    for flag in flags:
        assert f"`{flag}" in section, flag
    outcomes = [EvalOutcome(
        EvalCase("x", "s", (AgentCandidate("a", ""),), (ChatMessage(role="user", content="x"),),
                 ("a",), False), RouteDecision((), "hybrid_v1"), 1.0)]  # fmt: skip
    keys = summarize(outcomes, escalations=True, by=["kind"], misses=1).to_dict()
    for key in keys:
        assert f"`{key}`" in section, key
    for key in keys["misses"][0]:
        assert f'"{key}"' in section, key
