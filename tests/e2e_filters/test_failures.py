"""Filters that fail (down, slow, garbage) through a served listener, and ``on_error: allow``.

A failing filter is not a rejection: the client gets 502 (504 for a timeout) naming the
filter, in the same OpenAI envelope, unless the filter is configured ``on_error: allow``;
then the request goes on as if the filter were not there.
"""

from __future__ import annotations

from typing import Any

import anyio
import openai
import pytest
from starlette.types import ASGIApp

from plano_agent_sdk.filters import mcp_filter_app
from tests.e2e_filters.fakes import (
    RecordingAgent,
    garbage_mcp_server,
    marker,
    raw_reply,
    waiting,
)
from tests.e2e_filters.stack import agent_config, listening, services, user

pytestmark = pytest.mark.anyio


async def _fail(
    app: ASGIApp | None,
    definition: dict[str, Any],
    agent: RecordingAgent,
    release: anyio.Event | None = None,
) -> openai.APIStatusError:
    """Send one turn through a listener whose agent has only this filter; return the error.

    ``release`` is set once the error is in, so a held filter finishes before shutdown.
    """
    async with services({"agent": agent, "filter": app}) as url:
        config = agent_config(
            {"rag": url["agent"]},
            [{**definition, "url": url["filter"]}],
            agent_filters={"rag": [definition["id"]]},
        )
        async with listening(config) as served:
            with pytest.raises(openai.APIStatusError) as info:
                await served.api.chat.completions.create(model="m", messages=[user("hi")])
            if release is not None:
                release.set()
    return info.value


@pytest.mark.parametrize("kind", ["http", "mcp"])
async def test_filter_that_is_down_is_502_naming_it(kind: str) -> None:
    agent = RecordingAgent("rag")
    with anyio.fail_after(20):
        error = await _fail(None, {"id": "down", "type": kind}, agent)
    assert error.status_code == 502
    assert isinstance(error.body, dict)
    assert error.type == "upstream_error"
    assert (error.body["hop"], error.body["target"]) == ("filter", "down")
    assert "Filter 'down'" in error.body["message"]
    assert agent.bodies == []


@pytest.mark.parametrize("kind", ["http", "mcp"])
async def test_slow_filter_is_504_after_its_own_timeout(kind: str) -> None:
    gate = anyio.Event()
    flt = waiting("slow", gate)
    app = flt.http_app if kind == "http" else mcp_filter_app(flt)
    agent = RecordingAgent("rag")
    try:
        with anyio.fail_after(20):
            error = await _fail(app, {"id": "slow", "type": kind, "timeout": "300ms"}, agent, gate)
    finally:
        gate.set()
    assert error.status_code == 504
    assert isinstance(error.body, dict)
    assert error.code == "upstream_timeout"
    assert error.body["target"] == "slow"
    assert error.body["message"] == "Filter 'slow' did not answer within 0.3s."
    assert agent.bodies == []


@pytest.mark.parametrize(
    ("kind", "app", "reason"),
    [
        ("http", raw_reply(200, b"<html>oops</html>", b"text/html"), "not JSON"),
        ("http", raw_reply(200, b"[1, 2]"), "returned list, expected a JSON object"),
        ("http", raw_reply(500, b"boom"), "failed with HTTP 500"),
        ("mcp", garbage_mcp_server().streamable_http_app(), "returned str"),
    ],
    ids=["http-not-json", "http-list", "http-500", "mcp-string"],
)
async def test_filter_answering_garbage_is_502(kind: str, app: ASGIApp, reason: str) -> None:
    agent = RecordingAgent("rag")
    with anyio.fail_after(20):
        error = await _fail(app, {"id": "garbage", "type": kind}, agent)
    assert error.status_code == 502
    assert isinstance(error.body, dict)
    assert error.body["target"] == "garbage"
    assert reason in error.body["message"]
    assert agent.bodies == []


async def test_on_error_allow_lets_the_request_through_failing_filters() -> None:
    gate = anyio.Event()
    agent = RecordingAgent("rag")
    apps: dict[str, ASGIApp | None] = {
        "agent": agent,
        "down": None,
        "slow": mcp_filter_app(waiting("slow", gate)),
        "garbage": raw_reply(200, b"not json"),
        "after": marker("after").http_app,
    }
    try:
        with anyio.fail_after(20):
            async with services(apps) as url:
                filters: list[dict[str, Any]] = [
                    {"id": "down", "url": url["down"], "type": "http", "on_error": "allow"},
                    {"id": "slow", "url": url["slow"], "timeout": 0.3, "on_error": "allow"},
                    {"id": "garbage", "url": url["garbage"], "type": "http", "on_error": "allow"},
                    {"id": "after", "url": url["after"], "type": "http"},
                ]
                config = agent_config(
                    {"rag": url["agent"]},
                    filters,
                    agent_filters={"rag": ["down", "slow", "garbage", "after"]},
                )
                async with listening(config) as served:
                    reply = await served.api.chat.completions.create(
                        model="m", messages=[user("hi")]
                    )
                    gate.set()
    finally:
        gate.set()
    # The failing filters were skipped; the healthy one after them still ran.
    assert agent.last_users == ["hi [after]"]
    assert reply.choices[0].message.content == "rag got: hi [after]"
