"""Token rate limits, the filter seam, and keeping provider keys out of every output."""

from __future__ import annotations

import json
import logging
from typing import Any, Literal

import anyio
import httpx2
import openai
import pytest

from plano_asgi.errors import FilterRejectedError
from plano_asgi.filters.base import FilterCall
from plano_asgi.filters.chain import FilterChain
from plano_asgi.gateway.retry import RetryPolicy
from tests.gateway.fakes import FakeProvider, Reply, error_reply, openai_stream
from tests.gateway.helpers import make_config, openai_client, provider, running

pytestmark = pytest.mark.anyio

SECRET = "sk-live-0123456789abcdef"


class RecordingFilter:
    """A filter satisfying the protocol: rewrites, drops or rejects, and records calls."""

    on_error: Literal["fail", "allow"] = "fail"

    def __init__(self, id: str, mode: str) -> None:
        self.id = id
        self.mode = mode
        self.calls: list[tuple[dict[str, Any], FilterCall]] = []

    async def apply(self, payload: dict[str, Any], call: FilterCall) -> dict[str, Any] | None:
        self.calls.append((payload, call))
        if self.mode == "redact-input":
            for message in payload["messages"]:
                message["content"] = message["content"].replace("4111", "[card]")
            return payload
        if self.mode == "shout-output":
            for choice in payload.get("choices", ()):
                delta = choice.get("delta") or choice.get("message") or {}
                if delta.get("content"):
                    delta["content"] = delta["content"].upper()
            return payload
        if self.mode == "drop-role-chunks":
            choices = payload.get("choices") or [{}]
            return None if choices[0].get("delta", {}).get("role") else payload
        if self.mode == "reject-second" and len(self.calls) == 2:
            raise FilterRejectedError(self.id, 403, "not allowed")
        return payload

    async def aclose(self) -> None:
        return None


def limited_config(fake: FakeProvider, value: str, tokens: int) -> Any:
    return make_config(
        [provider("openai/gpt-4o", fake.url)],
        ratelimits=[
            {
                "model": "openai/gpt-4o",
                "selector": {"key": "x-user", "value": value},
                "limit": {"tokens": tokens, "unit": "hour"},
            }
        ],
    )


async def post(url: str, user: str | None, text: str = "x" * 40) -> httpx2.Response:
    headers = {"x-user": user} if user else {}
    async with httpx2.AsyncClient() as http:
        return await http.post(
            f"{url}/v1/chat/completions",
            json={"model": "gpt-4o", "messages": [{"role": "user", "content": text}]},
            headers=headers,
        )


async def test_rate_limit_answers_429_with_headers_per_selector_value() -> None:
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            # Each request is estimated at (40 + len('user')) / 4 + 4 = 15 tokens: one fits in 20.
            async with running(limited_config(fake, "*", 20)) as url:
                first = await post(url, "alice")
                second = await post(url, "alice")
                other = await post(url, "bob")
                anonymous = await post(url, None)
            assert first.status_code == 200
            assert second.status_code == 429
            assert second.json()["error"]["code"] == "rate_limit_exceeded"
            assert int(second.headers["retry-after"]) >= 1
            assert second.headers["x-ratelimit-limit-tokens"] == "20"
            assert second.headers["x-ratelimit-remaining-tokens"] == "5"
            assert other.status_code == 200  # own bucket per value with "*"
            assert anonymous.status_code == 200  # no header, rule does not apply
            assert len(fake.requests) == 3


async def test_rate_limit_with_exact_value_only_limits_that_value() -> None:
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            async with running(limited_config(fake, "free-tier", 20)) as url:
                statuses = [
                    (await post(url, "free-tier")).status_code,
                    (await post(url, "free-tier")).status_code,
                    (await post(url, "paid")).status_code,
                    (await post(url, "paid")).status_code,
                ]
            assert statuses == [200, 429, 200, 200]


async def test_input_filter_rewrites_the_request_before_the_provider() -> None:
    redactor = RecordingFilter("pii", "redact-input")
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            config = make_config([provider("openai/gpt-4o", fake.url)])
            async with running(config, input_filters=FilterChain([redactor])) as url:
                response = await post(url, None, "card 4111 please")
            assert response.status_code == 200
            assert fake.requests[0].json()["messages"][0]["content"] == "card [card] please"
            assert redactor.calls[0][1].path == "/v1/chat/completions"


async def test_output_filter_runs_per_event_and_can_drop_events() -> None:
    shout = RecordingFilter("shout", "shout-output")
    dropper = RecordingFilter("drop", "drop-role-chunks")
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            fake.then(Reply(stream=openai_stream(["hel", "lo"])))
            config = make_config([provider("openai/gpt-4o", fake.url)])
            chain = FilterChain([dropper, shout])
            async with running(config, output_filters=chain) as url, openai_client(url) as client:
                stream = await client.chat.completions.create(
                    model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
                )
                chunks = [chunk async for chunk in stream]
                whole = await client.chat.completions.create(
                    model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
                )
            assert [c.choices[0].delta.content for c in chunks] == ["HEL", "LO", None]
            assert all(c.choices[0].delta.role is None for c in chunks)
            assert whole.choices[0].message.content == "HELLO FROM P"
            assert len(dropper.calls) == 5  # 4 stream events ([DONE] excluded) + 1 whole body


async def test_output_filter_rejection_ends_the_stream_in_band() -> None:
    guard = RecordingFilter("guard", "reject-second")
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            fake.then(Reply(stream=openai_stream(["one", "two"])))
            config = make_config([provider("openai/gpt-4o", fake.url)])
            chain = FilterChain([guard])
            async with running(config, output_filters=chain) as url, openai_client(url) as client:
                stream = await client.chat.completions.create(
                    model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
                )
                seen: list[str | None] = []

                async def read_all() -> None:
                    async for chunk in stream:
                        seen.append(chunk.choices[0].delta.content)

                with pytest.raises(openai.APIError) as caught:
                    await read_all()
            assert seen == [""]  # the role chunk passed, the second event was rejected
            assert "Filter 'guard' rejected" in caught.value.message


async def test_provider_key_never_reaches_responses_or_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    echo = f"Incorrect API key provided: {SECRET}. You can find your key at ..."
    caplog.set_level(logging.DEBUG)
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake, FakeProvider("q") as other:
            fake.then(error_reply(401, echo))
            other.then(*[error_reply(503, f"upstream saw {SECRET}")] * 3)
            config = make_config(
                [
                    provider("openai/gpt-4o", fake.url, access_key=SECRET),
                    provider("openai/o3", other.url, access_key=SECRET),
                ]
            )
            async with running(config) as url:
                unauthorized = await post(url, None)
                async with httpx2.AsyncClient() as http:
                    failing = await http.post(
                        f"{url}/v1/chat/completions",
                        json={"model": "o3", "messages": [{"role": "user", "content": "x"}]},
                    )
            assert fake.requests[0].headers["authorization"] == f"Bearer {SECRET}"
            assert unauthorized.status_code == 401
            assert failing.status_code == 502
            for response in (unauthorized, failing):
                assert SECRET not in response.text
                assert SECRET not in str(response.headers)
            assert "[redacted]" in unauthorized.text
            logged = "\n".join(record.getMessage() + str(record.args) for record in caplog.records)
            assert "Incorrect API key" in logged or "upstream saw" in logged
            assert SECRET not in logged


SLASHED = "sk-proj/AbC+def_0123456789"


def _encodings(secret: str) -> dict[str, str]:
    from urllib.parse import quote

    escaped = json.dumps(secret)[1:-1].replace("/", "\\/")
    return {
        "json-escaped slash": escaped,
        "unicode escapes": "".join(f"\\u{ord(c):04x}" for c in secret),
        "url-encoded": quote(secret, safe=""),
        "raw": secret,
    }


@pytest.mark.parametrize("form", list(_encodings(SLASHED)))
async def test_a_key_echoed_in_any_encoding_is_redacted(
    form: str, caplog: pytest.LogCaptureFixture
) -> None:
    echoed = _encodings(SLASHED)[form]
    caplog.set_level(logging.DEBUG)
    body = '{"error": {"message": "Incorrect API key provided: ' + echoed + '", "type": "x"}}'
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            fake.then(Reply(status=401, body=body.encode()), Reply(status=500, body=body.encode()))
            config = make_config([provider("openai/gpt-4o", fake.url, access_key=SLASHED)])
            async with running(config, retry=RetryPolicy(max_retries=0)) as url:
                async with httpx2.AsyncClient() as http:
                    replies = [
                        await http.post(
                            f"{url}/v1/chat/completions",
                            json={
                                "model": "gpt-4o",
                                "messages": [{"role": "user", "content": "x"}],
                            },
                        )
                        for _ in range(2)
                    ]
    assert [r.status_code for r in replies] == [401, 502]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for reply in replies:
        decoded = json.dumps(reply.json())
        for text in (reply.text, decoded, logged):
            for shape in _encodings(SLASHED).values():
                assert shape not in text
    assert "[redacted]" in replies[0].json()["error"]["message"]
