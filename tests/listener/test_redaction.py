"""Keys an agent echoes, in any encoding, reach neither the listener's client nor its logs.

The listener holds the config's provider keys, and forwards the client's own key to agents
when ``forward_headers`` says so; an agent that echoes either (raw, JSON-escaped,
URL-encoded, split across network chunks) must not get it to the client or the logs.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx2
import pytest

from plano_asgi.config import PlanoConfig
from tests.listener.misbehaving import DONE, Scripted, chunk
from tests.listener.support import fakes, listener, user
from tests.support.echoed_keys import CLEAN, CLIENT_KEY, FORMS, KEY, forms, leaks, logged, said

pytestmark = pytest.mark.anyio

CHAT = "/v1/chat/completions"


def config_for(url: str) -> PlanoConfig:
    return PlanoConfig.from_dict(
        {
            "version": "v0.4.0",
            "agents": [{"id": "weather", "url": url}],
            "listeners": [
                {
                    "type": "agent",
                    "name": "travel",
                    "port": 8001,
                    "agents": [{"id": "weather", "description": "weather things"}],
                    "forward_headers": ["authorization"],
                }
            ],
            "model_providers": [{"model": "openai/gpt-4o", "access_key": KEY}],
        }
    )


def event_with(literal: str) -> bytes:
    return chunk("PLACEHOLDER").replace(b'"PLACEHOLDER"', literal.encode())


def split(event: bytes, secret_form: str) -> list[bytes]:
    at = event.index(secret_form.encode()) + 3
    return [event[:at], event[at:]]


@pytest.mark.parametrize("form", FORMS)
async def test_an_agent_stream_echoing_a_key_is_redacted(
    form: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    own = event_with(said(form))
    theirs = event_with(said(form, CLIENT_KEY))
    parts = [
        chunk(role="assistant"),
        *split(own, forms(KEY)[form]),
        *split(theirs, forms(CLIENT_KEY)[form]),
        chunk(finish="stop"),
        DONE,
    ]
    agent = Scripted(parts)
    async with fakes(weather=agent) as urls, listener(config_for(urls["weather"])) as srv:
        async with httpx2.AsyncClient() as http:
            reply = await http.post(
                srv.url + CHAT,
                headers={"authorization": f"Bearer {CLIENT_KEY}"},
                json={"messages": [user("hi")], "stream": True},
            )
    assert agent.seen[0].headers["authorization"] == f"Bearer {CLIENT_KEY}"
    assert reply.status_code == 200
    assert leaks(reply.text, KEY, CLIENT_KEY) == []
    contents = [
        json.loads(block.removeprefix("data: "))["choices"][0]["delta"].get("content")
        for block in reply.text.split("\n\n")
        if block.startswith("data: {")
    ]
    assert [c for c in contents if c] == [CLEAN, CLEAN]
    assert leaks(logged(caplog), KEY, CLIENT_KEY) == []


async def test_an_agent_json_reply_and_error_echoing_a_key_are_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    completion = {
        "id": "c",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "PLACEHOLDER"},
                "finish_reason": "stop",
            }
        ],
    }
    body = json.dumps(completion).replace('"PLACEHOLDER"', said("json slash")).encode()
    error = ('{"error": {"message": ' + said("url-encoded") + "}}").encode()
    ok = Scripted([body], content_type="application/json")
    failing = Scripted([error], content_type="application/json", status=500)
    async with fakes(ok=ok, failing=failing) as urls:
        replies: list[Any] = []
        for name in ("ok", "failing"):
            async with listener(config_for(urls[name])) as srv, httpx2.AsyncClient() as http:
                replies.append(await http.post(srv.url + CHAT, json={"messages": [user("hi")]}))
    assert [r.status_code for r in replies] == [200, 502]
    assert replies[0].json()["choices"][0]["message"]["content"] == CLEAN
    assert CLEAN in replies[1].json()["error"]["message"]
    for reply in replies:
        assert leaks(reply.text, KEY) == []
    assert leaks(logged(caplog), KEY) == []
