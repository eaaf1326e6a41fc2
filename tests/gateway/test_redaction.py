"""Keys a provider echoes, in any encoding, reach neither the client nor the logs.

Each fake provider echoes the key in one of the forms real ones use: raw, JSON-escaped
(``\\/`` and ``\\u002d``), fully ``\\u``-escaped, URL-encoded. The key is the gateway's
own ``access_key`` or, with ``passthrough_auth``, the client's bearer token. The text
around the key must arrive intact, and a stream without a key must arrive byte for byte.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Literal

import anyio
import httpx2
import pytest

from plano_asgi.filters.base import FilterCall
from plano_asgi.filters.chain import FilterChain
from plano_asgi.gateway.retry import RetryPolicy
from tests.gateway.fakes import (
    FakeProvider,
    Recorded,
    Reply,
    Step,
    anthropic_stream,
    openai_chunk,
    openai_completion,
    openai_stream,
)
from tests.gateway.helpers import make_config, openai_client, provider, running
from tests.support.echoed_keys import CLEAN, CLIENT_KEY, FORMS, KEY, forms, leaks, logged, said

pytestmark = pytest.mark.anyio


def completion_with(literal: str) -> bytes:
    return openai_completion("PLACEHOLDER").replace(b'"PLACEHOLDER"', literal.encode())


def chunk_with(literal: str) -> bytes:
    return openai_chunk({"content": "PLACEHOLDER"}).replace(b'"PLACEHOLDER"', literal.encode())


def split_stream(event: bytes, at: int) -> list[Step]:
    """An OpenAI stream whose middle event reaches the gateway as two network reads."""
    steps = openai_stream([])
    return [steps[0], event[:at], 0.03, event[at:], *steps[1:]]


async def test_a_json_body_echoing_the_key_is_redacted_in_every_form(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with FakeProvider("p") as fake:
        fake.then(*(Reply(body=completion_with(said(form))) for form in FORMS))
        config = make_config([provider("openai/gpt-4o", fake.url, access_key=KEY)])
        async with running(config) as url, httpx2.AsyncClient() as http:
            for form in FORMS:
                reply = await http.post(
                    f"{url}/v1/chat/completions",
                    json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
                )
                assert reply.status_code == 200, form
                assert leaks(reply.text, KEY) == [], form
                assert reply.json()["choices"][0]["message"]["content"] == CLEAN, form
                assert int(reply.headers["content-length"]) == len(reply.content)
    assert leaks(logged(caplog), KEY) == []


@pytest.mark.parametrize("form", FORMS)
async def test_stream_deltas_echoing_the_key_are_redacted(
    form: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    event = chunk_with(said(form))
    start = event.index(forms(KEY)[form].encode())
    # Split inside the key (early, late, inside a \u escape), and once right before it.
    splits = sorted({start, start + 1, start + 4, start + len(forms(KEY)[form]) - 2})
    async with FakeProvider("p") as fake:
        fake.then(*(Reply(stream=split_stream(event, at)) for at in splits))
        config = make_config([provider("openai/gpt-4o", fake.url, access_key=KEY)])
        async with running(config) as url, openai_client(url) as client:
            for at in splits:
                parts = []
                stream = await client.chat.completions.create(
                    model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
                )
                async for chunk in stream:
                    if chunk.choices and chunk.choices[0].delta.content:
                        parts.append(chunk.choices[0].delta.content)
                assert "".join(parts) == CLEAN, at
    assert leaks(logged(caplog), KEY) == []


async def test_the_raw_stream_bytes_carry_no_key() -> None:
    event = chunk_with(said("json u002d"))
    at = event.index(b"\\u002d") + 3  # inside the escape
    async with FakeProvider("p") as fake:
        fake.then(Reply(stream=split_stream(event, at)))
        config = make_config([provider("openai/gpt-4o", fake.url, access_key=KEY)])
        async with running(config) as url, httpx2.AsyncClient() as http:
            body = {
                "model": "gpt-4o",
                "messages": [{"role": "user", "content": "hi"}],
                "stream": True,
            }
            async with http.stream("POST", f"{url}/v1/chat/completions", json=body) as reply:
                raw = b"".join([part async for part in reply.aiter_bytes()])
    text = raw.decode()
    assert leaks(text, KEY) == []
    assert f'"content": "{CLEAN}"' in text
    assert text.endswith("data: [DONE]\n\n")


async def test_a_stream_without_a_key_is_relayed_byte_for_byte() -> None:
    # Text that looks like the start of a key (s, sk-, \u00, %2) at every chunk end.
    pieces = ["s", "sk-", "sk-proj", "sk-proj\\u00", "%2", "just text", "sk-proj/AbC-def_0123"]
    events = [openai_chunk({"content": p}) for p in pieces]
    steps: list[Step] = [openai_stream([])[0]]
    for event in events:
        cut = len(event) - 4  # inside the JSON, right after the piece
        steps += [event[:cut], 0.01, event[cut:]]
    steps += openai_stream([])[1:]
    sent = b"".join(step for step in steps if isinstance(step, bytes))
    async with FakeProvider("p") as fake:
        fake.then(Reply(stream=steps))
        config = make_config([provider("openai/gpt-4o", fake.url, access_key=KEY)])
        async with running(config) as url, httpx2.AsyncClient() as http:
            body = {
                "model": "gpt-4o",
                "messages": [{"role": "user", "content": "hi"}],
                "stream": True,
            }
            async with http.stream("POST", f"{url}/v1/chat/completions", json=body) as reply:
                raw = b"".join([part async for part in reply.aiter_bytes()])
    assert raw == sent


async def test_an_anthropic_stream_translated_for_an_openai_client_is_redacted() -> None:
    # Translation re-encodes the text unescaped: redaction must come before it.
    steps = anthropic_stream(["PLACEHOLDER"])
    steps = [
        s.replace(b'"PLACEHOLDER"', said("json u002d").encode()) if isinstance(s, bytes) else s
        for s in steps
    ]
    async with FakeProvider("p", api="anthropic") as fake:
        fake.then(Reply(stream=steps))
        config = make_config([provider("anthropic/claude-x", fake.url, access_key=KEY)])
        async with running(config) as url, openai_client(url) as client:
            stream = await client.chat.completions.create(
                model="claude-x", messages=[{"role": "user", "content": "hi"}], stream=True
            )
            parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    assert "".join(parts) == CLEAN


async def test_a_mid_stream_error_echoing_the_key_ends_the_stream_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    error = b'data: {"error": {"message": ' + said("json slash").encode() + b"}}\n\n"
    steps = openai_stream(["ok"], done=False)[:2] + [error]
    async with FakeProvider("p") as fake:
        fake.then(Reply(stream=steps))
        config = make_config([provider("openai/gpt-4o", fake.url, access_key=KEY)])
        async with running(config) as url, httpx2.AsyncClient() as http:
            body = {
                "model": "gpt-4o",
                "messages": [{"role": "user", "content": "hi"}],
                "stream": True,
            }
            async with http.stream("POST", f"{url}/v1/chat/completions", json=body) as reply:
                raw = (b"".join([part async for part in reply.aiter_bytes()])).decode()
    last = json.loads(raw.strip().rsplit("data: ", 1)[1])
    assert CLEAN in last["error"]["message"]
    assert leaks(raw, KEY) == []
    assert leaks(logged(caplog), KEY) == []


async def test_the_clients_own_key_echoed_by_a_passthrough_provider_is_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    def echo_auth(request: Recorded) -> Reply:
        token = request.headers["authorization"].removeprefix("Bearer ")
        assert token == CLIENT_KEY
        return Reply(body=completion_with(said("json slash", token)))

    def echo_auth_error(request: Recorded) -> Reply:
        token = request.headers["authorization"].removeprefix("Bearer ")
        body = '{"error": {"message": ' + said("url-encoded", token) + ', "type": "x"}}'
        return Reply(status=400, body=body.encode())

    async with FakeProvider("p") as fake:
        fake.then(echo_auth, echo_auth_error)
        config = make_config(
            [provider("openai/gpt-4o", fake.url, access_key=None, passthrough_auth=True)]
        )
        async with running(config, retry=RetryPolicy(max_retries=0)) as url:
            async with httpx2.AsyncClient() as http:
                replies = [
                    await http.post(
                        f"{url}/v1/chat/completions",
                        headers={"authorization": f"Bearer {CLIENT_KEY}"},
                        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
                    )
                    for _ in range(2)
                ]
    assert [r.status_code for r in replies] == [200, 400]
    assert replies[0].json()["choices"][0]["message"]["content"] == CLEAN
    assert CLEAN in replies[1].json()["error"]["message"]
    for reply in replies:
        assert leaks(reply.text, CLIENT_KEY) == []
    assert leaks(logged(caplog), CLIENT_KEY) == []


async def test_a_log_line_with_the_key_is_redacted_during_a_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Whatever logs on the request path while the request runs: here an output filter.
    caplog.set_level(logging.DEBUG)

    class Chatty:
        id = "chatty"
        on_error: Literal["fail", "allow"] = "fail"

        async def apply(self, payload: dict[str, Any], call: FilterCall) -> dict[str, Any]:
            logging.getLogger("plano_asgi.filters").warning("saw %s and %s", KEY, CLIENT_KEY)
            return payload

        async def aclose(self) -> None:
            pass

    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            config = make_config([provider("openai/gpt-4o", fake.url, access_key=KEY)])
            async with running(config, output_filters=FilterChain([Chatty()])) as url:
                async with httpx2.AsyncClient() as http:
                    reply = await http.post(
                        f"{url}/v1/chat/completions",
                        headers={"authorization": f"Bearer {CLIENT_KEY}"},
                        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
                    )
    assert reply.status_code == 200
    text = logged(caplog)
    assert "saw [redacted] and [redacted]" in text
    assert leaks(text, KEY, CLIENT_KEY) == []
