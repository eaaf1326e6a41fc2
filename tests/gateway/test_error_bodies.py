"""A provider that answers HTTP 200 with a JSON error object: its message reaches the client."""

from __future__ import annotations

import json
from typing import Any

import anyio
import openai
import pytest

from tests.gateway.fakes import FakeProvider, Reply
from tests.gateway.helpers import make_config, openai_client, provider, running

pytestmark = pytest.mark.anyio

MESSAGES: Any = [{"role": "user", "content": "hi"}]


def json_200(error: dict[str, Any]) -> Reply:
    return Reply(status=200, body=json.dumps({"error": error}).encode())


@pytest.mark.parametrize("stream", [True, False])
async def test_error_object_with_200_is_passed_through_as_502(stream: bool) -> None:
    error = {"message": "Model is overloaded, try later", "type": "overloaded", "code": "busy"}
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            fake.then(json_200(error))
            config = make_config([provider("openai/gpt-4o", fake.url)])
            async with running(config) as url, openai_client(url) as client:
                with pytest.raises(openai.APIStatusError) as caught:
                    await client.chat.completions.create(
                        model="gpt-4o", messages=MESSAGES, stream=stream
                    )
    assert caught.value.status_code == 502
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["message"] == (
        "Provider 'openai/gpt-4o' answered with an error: Model is overloaded, try later"
    )
    assert body["type"] == "overloaded"
    assert body["code"] == "busy"
    assert body["provider"] == "openai/gpt-4o"
    assert len(fake.requests) == 1  # no status to go by: not retried


async def test_error_object_naming_a_4xx_status_keeps_it() -> None:
    error = {"message": "This model's maximum context length is 8192 tokens", "status": 400}
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            fake.then(json_200(error))
            config = make_config([provider("openai/gpt-4o", fake.url)])
            async with running(config) as url, openai_client(url) as client:
                with pytest.raises(openai.BadRequestError) as caught:
                    await client.chat.completions.create(
                        model="gpt-4o", messages=MESSAGES, stream=True
                    )
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["message"] == error["message"]
    assert body["provider"] == "openai/gpt-4o"


async def test_error_object_with_200_falls_back_to_the_next_target() -> None:
    with anyio.fail_after(10):
        async with FakeProvider("a") as first, FakeProvider("b") as second:
            first.then(json_200({"message": "broken"}))
            providers = [provider("openai/gpt-4o", first.url), provider("groq/x", second.url)]
            aliases = {"smart": {"target": ["openai/gpt-4o", "groq/x"]}}
            config = make_config(providers, model_aliases=aliases)
            async with running(config) as url, openai_client(url) as client:
                events = await client.chat.completions.create(
                    model="smart", messages=MESSAGES, stream=True
                )
                text = "".join(
                    [c.choices[0].delta.content or "" async for c in events if c.choices]
                )
    assert text == "hello from b"
