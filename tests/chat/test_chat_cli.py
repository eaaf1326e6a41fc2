"""``plano-asgi chat`` against a real loopback server that speaks the listener's protocol."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.to_thread
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from plano_asgi.cli import main
from tests.support.servers import serve


def _listener(seen: list[dict[str, Any]], *, cut: bool = False) -> Starlette:
    async def chat(request: Request) -> Response:
        body = await request.json()
        seen.append(body)
        last = body["messages"][-1]["content"]
        if last == "bad":
            return JSONResponse(
                {"error": {"message": "Filter 'guard' rejected the request: no", "type": "x"}},
                status_code=400,
            )
        headers = {"x-plano-agents": "weather_agent", "x-plano-router": "local_v1"}

        async def events() -> AsyncIterator[bytes]:
            for word in ("It is ", "sunny ", f"({len(body['messages'])})"):
                chunk = {"choices": [{"index": 0, "delta": {"content": word}}]}
                yield f"data: {json.dumps(chunk)}\n\n".encode()
            if not cut:
                yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


@pytest.mark.anyio
async def test_chat_streams_answers_keeps_history_and_names_agents(
    capsys: pytest.CaptureFixture[str],
) -> None:
    seen: list[dict[str, Any]] = []
    async with serve(_listener(seen)) as srv:
        with anyio.fail_after(20):
            code = await anyio.to_thread.run_sync(
                main, ["chat", srv.url, "-m", "weather in Paris?", "-m", "and tomorrow?"]
            )
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines() == [
        "> weather in Paris?",
        "[weather_agent via local_v1]",
        "It is sunny (1)",
        "> and tomorrow?",
        "[weather_agent via local_v1]",
        "It is sunny (3)",
    ]
    assert seen[1]["messages"] == [
        {"role": "user", "content": "weather in Paris?"},
        {"role": "assistant", "content": "It is sunny (1)"},
        {"role": "user", "content": "and tomorrow?"},
    ]
    assert seen[1]["stream"] is True


@pytest.mark.anyio
async def test_chat_reports_errors_and_broken_streams(capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[dict[str, Any]] = []
    async with serve(_listener(seen, cut=True)) as srv:
        with anyio.fail_after(20):
            code = await anyio.to_thread.run_sync(main, ["chat", srv.url, "-m", "bad", "-m", "x"])
    captured = capsys.readouterr()
    assert code == 1
    assert "error (400): Filter 'guard' rejected the request: no" in captured.err
    assert "error (200): the stream ended before the answer was complete" in captured.err


@pytest.mark.anyio
async def test_chat_says_when_the_listener_is_down(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.support.servers import free_port

    port = free_port()
    with anyio.fail_after(20):
        code = await anyio.to_thread.run_sync(main, ["chat", f"http://127.0.0.1:{port}", "-m", "x"])
    assert code == 1
    assert f"error: cannot reach http://127.0.0.1:{port}: ConnectError" in capsys.readouterr().err


@pytest.mark.anyio
@pytest.mark.parametrize("word", ["exit", "quit", "  EXIT "])
async def test_chat_piped_exit_quits_before_the_next_line(word: str) -> None:
    seen: list[dict[str, Any]] = []
    async with serve(_listener(seen)) as srv:
        with anyio.fail_after(30):
            done = await anyio.run_process(
                [sys.executable, "-m", "plano_asgi", "chat", srv.url],
                input=f"weather in Paris?\n{word}\nnever sent\n".encode(),
                check=False,
            )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().splitlines() == [
        "> weather in Paris?",
        "[weather_agent via local_v1]",
        "It is sunny (1)",
        f"> {word}",
    ]
    assert [body["messages"][-1]["content"] for body in seen] == ["weather in Paris?"]
