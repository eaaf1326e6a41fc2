"""Unit tests of the gateway's pure parts: resolution, endpoints, retry policy, limiter."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from plano_asgi.config import PlanoConfig
from plano_asgi.errors import ModelNotFoundError, RequestError
from plano_asgi.gateway.app import ModelGateway
from plano_asgi.gateway.providers import auth_headers, endpoint_for
from plano_asgi.gateway.ratelimit import MemoryTokenLimiter, estimate_tokens
from plano_asgi.gateway.resolution import ModelResolver
from plano_asgi.gateway.retry import RetryPolicy, retry_after_seconds
from plano_asgi.gateway.setup import GatewaySetup
from plano_asgi.outbound import HttpxClient
from plano_asgi.sse import ServerSentEvent
from plano_asgi.wire.anthropic import openai_to_anthropic_request
from plano_asgi.wire.anthropic_inbound import (
    anthropic_to_openai_request,
    openai_to_anthropic_response,
)
from plano_asgi.wire.anthropic_stream import OpenAIToAnthropic
from plano_asgi.wire.streams import StreamFailedError
from tests.gateway.helpers import make_config, provider


def config(providers: list[dict[str, Any]], **top: Any) -> PlanoConfig:
    return PlanoConfig.from_dict({"version": "v0.4.0", "model_providers": providers, **top})


RESOLVER_CONFIG = config(
    [
        {"model": "openai/gpt-4o", "access_key": "k", "default": True},
        {"model": "groq/llama-3.1-8b", "name": "fast"},
        {"model": "together_ai/meta-llama/Llama-3-8b"},
        {"model": "anthropic/*"},
        {"model": "plano/Plano-Orchestrator", "base_url": "http://127.0.0.1:9"},
    ],
    model_aliases={"smart": {"target": ["gpt-4o", "anthropic/claude-opus-4"]}},
    overrides={"agent_orchestration_model": "plano/Plano-Orchestrator"},
)


@pytest.mark.parametrize(
    ("asked", "provider", "upstream"),
    [
        ("gpt-4o", "openai/gpt-4o", "gpt-4o"),
        ("openai/gpt-4o", "openai/gpt-4o", "gpt-4o"),
        ("fast", "groq/llama-3.1-8b", "llama-3.1-8b"),
        ("llama-3.1-8b", "groq/llama-3.1-8b", "llama-3.1-8b"),
        ("groq/llama-3.1-8b", "groq/llama-3.1-8b", "llama-3.1-8b"),
        ("meta-llama/Llama-3-8b", "together_ai/meta-llama/Llama-3-8b", "meta-llama/Llama-3-8b"),
        ("anthropic/claude-x", "anthropic/*", "claude-x"),
        (None, "openai/gpt-4o", "gpt-4o"),
    ],
)
def test_resolution_order(asked: str | None, provider: str, upstream: str) -> None:
    (target,) = ModelResolver(RESOLVER_CONFIG).resolve(asked)
    assert (target.provider.model, target.model) == (provider, upstream)


def test_alias_lists_fallbacks_in_order_including_wildcards() -> None:
    targets = ModelResolver(RESOLVER_CONFIG).resolve("smart")
    assert [t.name for t in targets] == ["openai/gpt-4o", "anthropic/claude-opus-4"]


def test_unknown_model_names_the_available_ones_without_internal_providers() -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        ModelResolver(RESOLVER_CONFIG).resolve("mistral/large")
    assert caught.value.status_code == 404
    assert "Plano-Orchestrator" not in caught.value.message
    assert "anthropic/*" in caught.value.message
    assert "smart" in caught.value.message


def test_missing_model_without_default_is_a_400() -> None:
    resolver = ModelResolver(config([{"model": "openai/gpt-4o"}]))
    with pytest.raises(RequestError) as caught:
        resolver.resolve(None)
    assert caught.value.status_code == 400
    assert caught.value.code == "model_required"


@pytest.mark.parametrize(
    ("entry", "model", "url"),
    [
        ({"model": "openai/gpt-4o"}, "gpt-4o", "https://api.openai.com/v1/chat/completions"),
        ({"model": "groq/l3"}, "l3", "https://api.groq.com/openai/v1/chat/completions"),
        (
            {"model": "gemini/gemini-2.0-flash"},
            "gemini-2.0-flash",
            "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions",
        ),
        ({"model": "anthropic/claude"}, "claude", "https://api.anthropic.com/v1/messages"),
        ({"model": "openrouter/x"}, "x", "https://openrouter.ai/api/v1/chat/completions"),
        (
            {"model": "azure_openai/gpt-4o", "base_url": "https://me.openai.azure.com"},
            "gpt-4o",
            "https://me.openai.azure.com/openai/deployments/gpt-4o/chat/completions"
            "?api-version=2025-01-01-preview",
        ),
        (
            {"model": "ollama/llama3", "base_url": "http://127.0.0.1:11434"},
            "llama3",
            "http://127.0.0.1:11434/v1/chat/completions",
        ),
        (
            {"model": "openai/gpt-4o", "base_url": "http://127.0.0.1:8000/custom/api/"},
            "gpt-4o",
            "http://127.0.0.1:8000/custom/api/chat/completions",
        ),
    ],
)
def test_endpoint_urls(entry: dict[str, Any], model: str, url: str) -> None:
    (provider,) = config([entry]).model_providers
    endpoint = endpoint_for(provider)
    assert endpoint is not None
    assert endpoint.url(model) == url


def test_auth_header_follows_the_upstream_api_and_passthrough() -> None:
    providers = config(
        [
            {"model": "anthropic/c", "access_key": "ak", "headers": {"X-Extra": "1"}},
            {"model": "azure_openai/g", "access_key": "zk", "base_url": "https://a.example"},
            {"model": "openai/o", "access_key": "ok", "passthrough_auth": True},
        ]
    ).model_providers
    anthropic, azure, passthrough = providers
    headers, secret = auth_headers(anthropic, endpoint_for(anthropic), {})  # type: ignore[arg-type]
    assert headers == {"x-api-key": "ak", "anthropic-version": "2023-06-01", "x-extra": "1"}
    assert secret == "ak"
    headers, _ = auth_headers(azure, endpoint_for(azure), {})  # type: ignore[arg-type]
    assert headers == {"api-key": "zk"}
    client = {"authorization": "Bearer client-own"}
    headers, secret = auth_headers(passthrough, endpoint_for(passthrough), client)  # type: ignore[arg-type]
    assert headers == {"authorization": "Bearer client-own"}
    assert secret == "client-own"


def test_retry_after_forms() -> None:
    assert retry_after_seconds(httpx2.Headers({"retry-after-ms": "250"})) == 0.25
    assert retry_after_seconds(httpx2.Headers({"retry-after": "3"})) == 3.0
    assert retry_after_seconds(httpx2.Headers({"retry-after": "soon"})) is None
    assert retry_after_seconds(httpx2.Headers({})) is None


def test_backoff_grows_and_is_capped_and_header_is_bounded() -> None:
    policy = RetryPolicy(max_retries=1, backoff_base=0.1, backoff_max=0.3)
    assert 0.05 <= policy.backoff(1) <= 0.1
    assert 0.15 <= policy.backoff(3) <= 0.3
    assert policy.backoff(5, retry_after=1.5) == 1.5
    # The client's header can lower the budget, never raise it past the operator's.
    assert policy.retries_for("50") == 1
    assert policy.retries_for("0") == 0
    assert policy.retries_for("bogus") == 1
    assert policy.retries_for("-3") == 1
    assert policy.retries_for("99999999999999999999") == 1
    assert RetryPolicy().retries_for(None) == 2
    assert RetryPolicy().retries_for("10") == 2
    assert RetryPolicy(max_retries=1, max_retries_cap=5).retries_for("10") == 5


async def _take(limiter: MemoryTokenLimiter, tokens: int) -> tuple[bool, int, float]:
    grant = await limiter.take("k", tokens, 100, 10.0)
    return grant.allowed, grant.remaining, round(grant.retry_after, 3)


@pytest.mark.anyio
async def test_token_bucket_refills_over_the_unit() -> None:
    now = [0.0]
    limiter = MemoryTokenLimiter(clock=lambda: now[0])
    assert await _take(limiter, 80) == (True, 20, 0.0)
    assert await _take(limiter, 30) == (False, 20, 1.0)  # 10 missing at 10 tokens/s
    now[0] = 1.0
    assert await _take(limiter, 30) == (True, 0, 0.0)
    assert (await _take(limiter, 500))[0] is False


@pytest.mark.anyio
async def test_a_flood_of_distinct_keys_keeps_the_bucket_store_bounded() -> None:
    now = [0.0]
    limiter = MemoryTokenLimiter(lambda: now[0], max_buckets=500, sweep_every=100)
    for number in range(10_000):  # one client header value per request
        await limiter.take(f"user-{number}", 10, 100, 60.0)
        now[0] += 0.001
    assert len(limiter) <= 500
    # Refilled buckets are swept: after a full period only the newest keys remain.
    now[0] += 61.0
    for number in range(100):
        await limiter.take(f"late-{number}", 10, 100, 60.0)
    assert len(limiter) <= 100
    # A bucket in use is still exact: the sweep never forgets a drained one too early.
    for _ in range(10):
        await limiter.take("heavy", 10, 100, 60.0)
    for number in range(300):
        await limiter.take(f"more-{number}", 1, 100, 60.0)
    grant = await limiter.take("heavy", 10, 100, 60.0)
    assert grant.allowed is False


def test_token_estimate_counts_text_and_messages() -> None:
    body = {"messages": [{"role": "user", "content": "a" * 396}], "model": "ignored-model-name"}
    assert estimate_tokens(body) == 100 + 4


def test_openai_request_to_anthropic_merges_tool_results_and_system() -> None:
    body = {
        "messages": [
            {"role": "system", "content": "S1"},
            {"role": "developer", "content": [{"type": "text", "text": "S2"}]},
            {"role": "user", "content": [
                {"type": "text", "text": "look"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}},
            ]},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                {"id": "c2", "type": "function", "function": {"name": "g", "arguments": "{}"}},
            ]},
            {"role": "tool", "tool_call_id": "c1", "content": "r1"},
            {"role": "tool", "tool_call_id": "c2", "content": "r2"},
        ],
        "stop": "END",
        "max_completion_tokens": 64,
        "user": "u1",
    }  # fmt: skip
    out = openai_to_anthropic_request(body, "claude")
    assert out["system"] == "S1\n\nS2"
    assert out["messages"][0]["content"][1]["source"] == {
        "type": "base64", "media_type": "image/png", "data": "AAA"
    }  # fmt: skip
    assert [m["role"] for m in out["messages"]] == ["user", "assistant", "user"]
    assert [b["tool_use_id"] for b in out["messages"][2]["content"]] == ["c1", "c2"]
    assert out["stop_sequences"] == ["END"]
    assert out["max_tokens"] == 64
    assert out["metadata"] == {"user_id": "u1"}


def test_anthropic_request_to_openai_keeps_tool_choice_and_stream_usage() -> None:
    body = {
        "system": [{"type": "text", "text": "sys"}],
        "messages": [{"role": "user", "content": "hi"}],
        "tool_choice": {"type": "tool", "name": "f"},
        "stop_sequences": ["x"],
        "stream": True,
        "max_tokens": 5,
    }
    out = anthropic_to_openai_request(body, "gpt")
    assert out["messages"][0] == {"role": "system", "content": "sys"}
    assert out["tool_choice"] == {"type": "function", "function": {"name": "f"}}
    assert out["stream_options"] == {"include_usage": True}
    assert out["stop"] == ["x"]


def test_openai_response_to_anthropic_maps_length_stop() -> None:
    body = {
        "id": "chatcmpl-9",
        "choices": [{"message": {"content": "cut"}, "finish_reason": "length"}],
    }
    out = openai_to_anthropic_response(body, "gpt")
    assert out["id"] == "msg_9"
    assert out["stop_reason"] == "max_tokens"
    assert out["content"] == [{"type": "text", "text": "cut"}]


def test_openai_stream_to_anthropic_rejects_error_chunks() -> None:
    adapter = OpenAIToAnthropic("gpt")
    with pytest.raises(StreamFailedError):
        adapter.on_event(ServerSentEvent(data='{"error": {"message": "overloaded"}}'))
    events = OpenAIToAnthropic("gpt").finish()
    assert [e.name for e in events] == ["message_start", "message_delta", "message_stop"]


@pytest.mark.anyio
async def test_listener_filter_ids_are_built_from_the_config() -> None:
    from plano_asgi.gateway.app import ModelGateway

    cfg = PlanoConfig.from_dict(
        {
            "version": "v0.4.0",
            "filters": [{"id": "pii", "url": "http://127.0.0.1:9", "type": "http"}],
            "listeners": [
                {"type": "model", "name": "llm", "input_filters": ["pii"], "max_retries": 4}
            ],
            "model_providers": [{"model": "openai/gpt-4o"}],
        }
    )
    async with ModelGateway(config=cfg) as gateway:
        assert gateway._deps.input_filters is not None
        assert gateway._deps.input_filters.ids == ("pii",)
        assert gateway._deps.output_filters is None
        assert gateway._deps.retry.retries_for(None) == 4


@pytest.mark.anyio
async def test_from_config_resolves_once_and_the_constructor_serves_a_resolved_setup() -> None:
    config = make_config([provider("openai/gpt-4o", "http://127.0.0.1:9")])
    setup = GatewaySetup.from_config(config, retry=RetryPolicy(max_retries=1))
    gateway = ModelGateway(setup=setup)
    assert gateway.config is config
    assert gateway._deps is setup.deps
    assert setup.deps.retry.retries_for(None) == 1
    assert [m["id"] for m in setup.models["data"]] == ["openai/gpt-4o"]
    client = setup.deps.client
    await gateway.aclose()
    assert client.is_closed  # the setup made it, so closing the gateway closed it
    built = ModelGateway.from_config(config)
    assert built.config is config
    assert built.setup is not setup
    await built.aclose()
    with pytest.raises(TypeError, match="config= or setup="):
        ModelGateway(config=config, setup=setup)
    with pytest.raises(TypeError, match="needs config="):
        ModelGateway()
    with pytest.raises(TypeError, match=r"options \(retry\) go with config=, not setup="):
        ModelGateway(setup=setup, retry=RetryPolicy())


@pytest.mark.anyio
async def test_a_setup_leaves_your_client_open() -> None:
    config = make_config([provider("openai/gpt-4o", "http://127.0.0.1:9")])
    async with httpx2.AsyncClient() as yours:
        async with ModelGateway.from_config(config, client=yours) as gateway:
            seam = gateway.setup.deps.client
            assert isinstance(seam, HttpxClient)
            assert seam.client is yours
        assert not yours.is_closed
