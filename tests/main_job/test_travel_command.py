"""The main job as a user runs it: ``plano-asgi serve examples/travel/plano_config.yaml --chat``.

A real subprocess starts both agents, the agent listener and the model gateway, then chats
with questions piped on stdin, keyless (no OpenAI or AeroAPI key). Open-Meteo and AeroAPI
are loopback fakes (``tests/examples/fakes.py``), or a closed port for the offline run.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest
from starlette.applications import Starlette

from tests.examples.fakes import Recorder, aeroapi_app, open_meteo_app
from tests.support.servers import bindable, free_port, serve

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
CONFIG = "examples/travel/plano_config.yaml"
CONFIG_PORTS = (8001, 12000)  # the agent listener and the model gateway in CONFIG
RUN_LIMIT = 60.0  # seconds for a whole run: a cold start imports everything on a slow runner

QUESTIONS = (
    "What is the weather in Paris?",
    "What flights go from Seattle to Atlanta tomorrow?",
    "What's the weather there?",  # the follow-up: "there" is the flight's destination
)


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str
    log: str


def free_offset() -> int:
    """A ``--port-offset`` that moves every port of CONFIG onto free ones."""
    for _ in range(50):
        offset = free_port() - CONFIG_PORTS[0]
        ports = [port + offset for port in CONFIG_PORTS]
        if all(0 < port < 65536 and bindable(port) for port in ports):
            return offset
    raise AssertionError("no free port offset found")


def keyless_env(weather_url: str, flights_url: str) -> dict[str, str]:
    """The user's environment without keys, the web APIs pointed at ``*_url``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("OPENAI_API_KEY", "AEROAPI_KEY", "LLM_GATEWAY_ENDPOINT")
        and not key.startswith(("PLANO_", "TRAVEL_", "OTEL_"))
    }
    env.update(
        OPEN_METEO_GEOCODING_URL=f"{weather_url}/v1/search",
        OPEN_METEO_FORECAST_URL=f"{weather_url}/v1/forecast",
        AEROAPI_BASE_URL=flights_url,
        TRAVEL_USE_LLM="0",  # as scripts/travel sets it without OPENAI_API_KEY
        TRAVEL_HTTP_TIMEOUT="5",
        NO_COLOR="1",
        OTEL_SDK_DISABLED="true",  # as scripts/travel sets it when no collector listens
    )
    return env


async def run_travel(
    tmp_path: Path,
    env: dict[str, str],
    *,
    offset: int | None = None,
    questions: tuple[str, ...] = QUESTIONS,
) -> Run:
    """Run the main-job command with ``questions`` piped in, every port shifted to free ones."""
    log = tmp_path / "travel.log"
    command = [
        sys.executable,
        "-m",
        "plano_asgi",
        "serve",
        CONFIG,
        "--chat",
        "--port-offset",
        str(free_offset() if offset is None else offset),
        "--log-file",
        str(log),
    ]
    stdin = "".join(f"{question}\n" for question in questions).encode()
    with anyio.fail_after(RUN_LIMIT):
        done = await anyio.run_process(
            command, input=stdin, env=env, cwd=ROOT, check=False, stderr=subprocess.PIPE
        )
    return Run(
        done.returncode,
        done.stdout.decode(),
        done.stderr.decode(),
        log.read_text(encoding="utf-8") if log.exists() else "",
    )


@asynccontextmanager
async def fake_apis() -> AsyncIterator[tuple[Recorder, Recorder, str]]:
    weather, flights = Recorder(), Recorder()
    both = Starlette(routes=[*open_meteo_app(weather).routes, *aeroapi_app(flights).routes])
    async with serve(both) as server:
        yield weather, flights, server.url


def transcript(out: str) -> list[str]:
    """The ``> question`` and ``[agents via router]`` lines, in order."""
    return [line for line in out.splitlines() if line.startswith((">", "["))]


def answers(out: str) -> list[str]:
    """The answer text of each turn (everything between one label and the next question)."""
    turns: list[list[str]] = []
    for line in out.splitlines():
        if line.startswith(">"):
            continue
        if line.startswith("["):
            turns.append([])
        elif turns:
            turns[-1].append(line)
    return ["\n".join(lines) for lines in turns]


EXPECTED_TRANSCRIPT = [
    f"> {QUESTIONS[0]}",
    "[weather_agent via local_v1]",
    f"> {QUESTIONS[1]}",
    "[flight_agent via local_v1]",
    f"> {QUESTIONS[2]}",
    "[weather_agent via local_v1]",
]


async def test_main_job_chats_with_real_weather_data_and_follows_up(tmp_path: Path) -> None:
    async with fake_apis() as (weather, flights, url):
        run = await run_travel(tmp_path, keyless_env(url, url))

    assert run.code == 0, run.err
    assert "Traceback" not in run.out + run.err + run.log
    assert transcript(run.out) == EXPECTED_TRANSCRIPT
    paris, route, there = answers(run.out)
    # Paris comes from the fake Open-Meteo, in both units.
    assert paris.startswith("Weather in Paris")
    assert "8.4 °C" in paris
    assert "47.1 °F" in paris
    # No AEROAPI_KEY: the flight agent says so, and never reaches AeroAPI.
    assert route.startswith("Set AEROAPI_KEY to look up live flights")
    assert "Seattle (SEA) to Atlanta (ATL)" in route
    assert flights.seen == []
    # The follow-up went to the weather agent, for the flight's destination.
    assert there.startswith("Weather in Atlanta")
    assert "°F" in there
    assert [seen.params["name"] for seen in weather.seen if seen.path == "/v1/search"] == [
        "Paris",
        "Atlanta",
    ]
    # The banner is on stderr (stdout stays a clean transcript); logs went to the file.
    assert "router local_v1: weather_agent, flight_agent" in run.err
    assert "ready in" in run.err
    assert "plano_asgi.access" in run.log
    assert "INFO" not in run.out + run.err


async def test_main_job_offline_says_it_cannot_reach_the_apis(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    run = await run_travel(tmp_path, keyless_env(closed, closed))

    assert run.code == 0, run.err
    assert "Traceback" not in run.out + run.err + run.log
    assert transcript(run.out) == EXPECTED_TRANSCRIPT
    paris, route, there = answers(run.out)
    assert paris.startswith("I can't reach Open-Meteo right now")
    assert "Paris" in paris
    assert route.startswith("Set AEROAPI_KEY to look up live flights")
    assert there.startswith("I can't reach Open-Meteo right now")
    assert "Atlanta" in there
    assert "°" not in paris + there  # no invented weather


async def test_main_job_says_which_port_is_taken(tmp_path: Path) -> None:
    offset = free_offset()
    port = CONFIG_PORTS[0] + offset
    closed = f"http://127.0.0.1:{free_port()}"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        run = await run_travel(
            tmp_path, keyless_env(closed, closed), offset=offset, questions=QUESTIONS[:1]
        )

    assert run.code == 1
    assert f"error: port {port} (agent listener 'travel_booking_service') is in use" in run.err
    assert "--port-offset" in run.err
    assert "Traceback" not in run.err
    assert run.out == ""
