"""Preference-based model routing through ``plano-asgi serve`` (a subprocess), with the
official ``openai`` client and two stand-in providers on loopback."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import openai
import pytest

from tests.support.servers import free_port

STARTUP_LIMIT = 45.0

PROVIDER = """\
import sys

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

NAME = sys.argv[1] if len(sys.argv) > 1 else "provider"


async def chat(request):
    body = await request.json()
    return JSONResponse({
        "id": "c", "object": "chat.completion", "created": 0, "model": body["model"],
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "answered by " + body["model"]}}],
    })


app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
"""


@contextlib.contextmanager
def _process(args: list[str], cwd: Path) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "NO_PROXY": "127.0.0.1,localhost"},
    )  # fmt: skip
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def _wait(url: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + STARTUP_LIMIT
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        with contextlib.suppress(httpx2.TransportError):
            if httpx2.get(url, timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError(f"{url} did not come up")


@pytest.mark.integration
def test_serve_routes_each_request_to_its_categorys_model(tmp_path: Path) -> None:
    gateway, provider = free_port(), free_port()
    (tmp_path / "provider.py").write_text(PROVIDER, encoding="utf-8")
    config = tmp_path / "plano_config.yaml"
    config.write_text(
        textwrap.dedent(
            f"""\
            version: v0.4.0
            listeners:
              - type: model
                name: llm
                port: {gateway}
            model_providers:
              - model: openai/gpt-4o-mini
                base_url: http://127.0.0.1:{provider}/v1
                access_key: sk-test
                default: true
              - model: openai/gpt-4o
                base_url: http://127.0.0.1:{provider}/v1
                access_key: sk-test
            routing_preferences:
              - name: travel_planning
                description: planning trips, itineraries, places to visit, hotels and flights
                models: [openai/gpt-4o]
              - name: cooking
                description: recipes, cooking techniques and meal planning
                models: [openai/gpt-4o-mini]
            """
        ),
        encoding="utf-8",
    )
    uvicorn = [sys.executable, "-m", "uvicorn", "provider:app", "--port", str(provider)]
    serve = [sys.executable, "-m", "plano_asgi", "serve", str(config), "--host", "127.0.0.1"]
    with _process(uvicorn, tmp_path), _process(serve, tmp_path) as proc:
        _wait(f"http://127.0.0.1:{gateway}/healthz", proc)
        client = openai.OpenAI(
            base_url=f"http://127.0.0.1:{gateway}/v1", api_key="unused", max_retries=0
        )
        trip = client.chat.completions.create(
            model="auto",
            messages=[{"role": "user", "content": "Plan a three-day trip to Lisbon with museums."}],
        )
        decision = httpx2.post(
            f"http://127.0.0.1:{gateway}/routing/v1/chat/completions",
            json={
                "model": "auto",
                "messages": [{"role": "user", "content": "Plan a trip to Rome."}],
            },
            timeout=10.0,
        )
        bad = httpx2.post(
            f"http://127.0.0.1:{gateway}/routing/v1/chat/completions",
            json={
                "model": "auto",
                "messages": [{"role": "user", "content": "hi"}],
                "routing_preferences": "nope",
            },
            timeout=10.0,
        )
    assert trip.choices[0].message.content == "answered by gpt-4o"
    assert decision.json()["route"] == "travel_planning"
    assert decision.json()["models"] == ["openai/gpt-4o"]
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "routing_preferences"
