"""Providers without a credential fail fast; providers that need none are still called."""

from __future__ import annotations

import logging
from typing import Any

import anthropic
import anyio
import httpx2
import openai
import pytest

from plano_asgi.config import PlanoConfig
from plano_asgi.gateway.keys import needs_key
from plano_asgi.gateway.providers import endpoint_for
from tests.gateway.fakes import FakeProvider
from tests.gateway.helpers import (
    TIMEOUTS,
    anthropic_client,
    openai_client,
    provider,
    running,
)

pytestmark = pytest.mark.anyio

MESSAGES: Any = [{"role": "user", "content": "hi"}]


def config(providers: list[dict[str, Any]], **top: Any) -> PlanoConfig:
    # env={}: ``${OPENAI_API_KEY:-}`` becomes "", as on a machine without the variable.
    data = {
        "version": "v0.4.0",
        "listeners": [{"type": "model", "name": "llm", "port": 12000, "timeouts": TIMEOUTS}],
        "model_providers": providers,
        **top,
    }
    return PlanoConfig.from_dict(data, env={})


KEYLESS_OPENAI = {"model": "openai/gpt-4o", "access_key": "${OPENAI_API_KEY:-}"}


async def test_missing_key_answers_401_at_once_without_calling(
    no_network: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="plano_asgi.gateway")
    with anyio.fail_after(10):
        async with running(config([KEYLESS_OPENAI])) as url, openai_client(url) as client:
            with pytest.raises(openai.AuthenticationError) as caught:
                await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert no_network == []  # api.openai.com was neither resolved nor connected to
    error = caught.value.body
    assert isinstance(error, dict)
    assert error["type"] == "authentication_error"
    assert error["code"] == "missing_api_key"
    assert error["provider"] == "openai/gpt-4o"
    assert error["message"].startswith(
        'No access key configured for selected LLM Provider "openai/gpt-4o"'
    )
    assert "OPENAI_API_KEY" in error["message"]
    # Said once at startup too, before anyone sends a request.
    assert "provider openai/gpt-4o has no access_key (is OPENAI_API_KEY set?)" in caplog.text


async def test_missing_key_for_anthropic_clients_and_passthrough(no_network: list[Any]) -> None:
    providers: list[dict[str, Any]] = [
        {"model": "anthropic/claude-sonnet-4", "access_key": ""},
        {"model": "openai/gpt-4o", "passthrough_auth": True},
    ]
    with anyio.fail_after(10):
        async with running(config(providers)) as url:
            async with anthropic_client(url) as client:
                with pytest.raises(anthropic.AuthenticationError) as caught:
                    await client.messages.create(
                        model="claude-sonnet-4", max_tokens=10, messages=MESSAGES
                    )
            async with httpx2.AsyncClient() as http:  # no Authorization header at all
                reply = await http.post(
                    f"{url}/v1/chat/completions", json={"model": "gpt-4o", "messages": MESSAGES}
                )
    assert no_network == []
    assert caught.value.status_code == 401
    assert "ANTHROPIC_API_KEY" in str(caught.value.message)
    assert reply.status_code == 401
    message = reply.json()["error"]["message"]
    assert '"openai/gpt-4o"' in message
    assert "Authorization" in message


async def test_alias_skips_a_keyless_target_to_the_next(no_network: list[Any]) -> None:
    with anyio.fail_after(10):
        async with FakeProvider("backup") as fake:
            providers = [KEYLESS_OPENAI, provider("groq/llama-3", fake.url)]
            aliases = {"smart": {"target": ["openai/gpt-4o", "groq/llama-3"]}}
            cfg = config(providers, model_aliases=aliases)
            async with running(cfg) as url, openai_client(url) as client:
                raw = await client.chat.completions.with_raw_response.create(
                    model="smart", messages=MESSAGES
                )
    reply = raw.parse()
    assert reply.choices[0].message.content == "hello from backup"
    assert raw.headers["x-plano-model"] == "groq/llama-3"
    assert len(fake.requests) == 1
    assert no_network == []


@pytest.mark.parametrize(
    "entry",
    [
        {"model": "ollama/llama3"},
        {"model": "vllm/qwen"},
        {"model": "local/tiny", "provider_interface": "plano"},
        {"model": "openai/gpt-4o", "access_key": "${OPENAI_API_KEY:-}"},  # custom base_url
        {"model": "openai/gpt-4o", "headers": {"Authorization": "Bearer from-headers"}},
    ],
    ids=["ollama", "vllm", "plano", "loopback-base-url", "auth-in-headers"],
)
async def test_providers_that_need_no_key_are_called(entry: dict[str, Any]) -> None:
    with anyio.fail_after(10):
        async with FakeProvider("local") as fake:
            cfg = config([{**entry, "base_url": fake.url}])
            async with running(cfg) as url, openai_client(url) as client:
                reply = await client.chat.completions.create(
                    model=entry["model"], messages=MESSAGES
                )
    assert reply.choices[0].message.content == "hello from local"
    sent = fake.requests[0].headers.get("authorization")
    assert sent == entry.get("headers", {}).get("Authorization")


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"model": "openai/gpt-4o"}, True),
        ({"model": "anthropic/claude-sonnet-4"}, True),
        ({"model": "openai/gpt-4o", "base_url": "https://api.openai.com/v1"}, True),
        ({"model": "azure_openai/gpt-4o", "base_url": "https://acme.openai.azure.com"}, True),
        ({"model": "openai/gpt-4o", "headers": {"Authorization": "Bearer x"}}, False),
        ({"model": "anthropic/claude", "headers": {"X-Api-Key": "x"}}, False),
        ({"model": "openai/gpt-4o", "base_url": "https://llm.corp.example/v1"}, False),
        ({"model": "openai/gpt-4o", "base_url": "http://10.0.0.7:8000/v1"}, False),
        ({"model": "ollama/llama3", "base_url": "https://api.openai.com/v1"}, False),
    ],
)
def test_which_providers_need_a_key(entry: dict[str, Any], expected: bool) -> None:
    (model,) = config([entry]).model_providers
    endpoint = endpoint_for(model)
    assert endpoint is not None
    assert needs_key(model, endpoint) is expected
