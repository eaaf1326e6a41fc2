"""Chains through the registry: order, stop on rejection, fail-open, output events."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from plano_agent_sdk.filters import FilterRejection, http_filter_app, mcp_filter_app
from plano_asgi.errors import ConfigError, FilterRejectedError, UpstreamError
from plano_asgi.filters.chain import FilterChain
from plano_asgi.filters.registry import FilterRegistry
from tests.filters.helpers import (
    CALL,
    chat,
    filter_config,
    input_guards,
    last_text,
    query_rewriter,
    tagger,
)
from tests.support.servers import free_port, serve

pytestmark = pytest.mark.anyio


async def test_chain_of_three_runs_in_order_across_http_and_mcp() -> None:
    with anyio.fail_after(20):
        async with (
            serve(http_filter_app(tagger("first"))) as one,
            serve(mcp_filter_app(query_rewriter, host="127.0.0.1"), lifespan="on") as two,
            serve(http_filter_app(tagger("third"))) as three,
        ):
            registry = FilterRegistry(
                filter_config(
                    {"id": "first", "url": one.url, "type": "http"},
                    {"id": "query_rewriter", "url": two.url},
                    {"id": "third", "url": three.url, "type": "http"},
                )
            )
            try:
                chain = registry.chain(["first", "query_rewriter", "third"])
                result = await chain.run(chat("q"), CALL)
                reversed_result = await registry.chain(["third", "first"]).run(chat("q"), CALL)
            finally:
                await registry.aclose()
    assert last_text(result) == "q [first] [rewritten] [third]"
    assert last_text(reversed_result) == "q [third] [first]"
    assert chain.ids == ("first", "query_rewriter", "third")


async def test_rejection_stops_the_chain() -> None:
    calls: list[str] = []

    def after(body: dict[str, Any], path: str) -> dict[str, Any]:
        calls.append("after")
        return body

    with anyio.fail_after(15):
        async with (
            serve(input_guards.http_app) as guard,
            serve(http_filter_app(after)) as later,
        ):
            registry = FilterRegistry(
                filter_config(
                    {"id": "guard", "url": guard.url, "type": "http"},
                    {"id": "after", "url": later.url, "type": "http"},
                )
            )
            try:
                chain = registry.chain(["guard", "after"])
                with pytest.raises(FilterRejectedError) as info:
                    await chain.run(chat("password: 123"), CALL)
                await chain.run(chat("fine"), CALL)
            finally:
                await registry.aclose()
    assert info.value.filter_id == "guard"
    assert info.value.status_code == 403
    assert calls == ["after"]  # only the request that passed the guard


async def test_on_error_allow_fails_open_but_never_on_rejection() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with anyio.fail_after(15):
        async with (
            serve(http_filter_app(tagger("ok"))) as ok,
            serve(input_guards.http_app) as guard,
        ):
            registry = FilterRegistry(
                filter_config(
                    {"id": "dead_http", "url": dead, "type": "http", "on_error": "allow"},
                    {"id": "dead_mcp", "url": dead, "on_error": "allow"},
                    {"id": "strict", "url": dead, "type": "http"},
                    {"id": "ok", "url": ok.url, "type": "http"},
                    {"id": "guard", "url": guard.url, "type": "http", "on_error": "allow"},
                )
            )
            try:
                passed = await registry.chain(["dead_http", "dead_mcp", "ok"]).run(chat("q"), CALL)
                with pytest.raises(UpstreamError) as failed:
                    await registry.chain(["strict", "ok"]).run(chat("q"), CALL)
                with pytest.raises(FilterRejectedError):
                    await registry.chain(["guard", "ok"]).run(chat("my password"), CALL)
            finally:
                await registry.aclose()
    assert last_text(passed) == "q [ok]"
    assert failed.value.target == "strict"
    assert failed.value.status_code == 502


def redact(event: dict[str, Any], path: str) -> dict[str, Any] | None:
    """An output filter: drops keep-alive events, blocks secrets, redacts names."""
    content = event["choices"][0]["delta"].get("content", "")
    if content == "":
        return None
    if "SECRET" in content:
        raise FilterRejection(451, "The answer contained a secret.")
    event["choices"][0]["delta"]["content"] = content.replace("Bob", "[name]")
    return event


def chunk(text: str) -> dict[str, Any]:
    return {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": text}}],
    }


@pytest.mark.parametrize("kind", ["http", "mcp"])
async def test_output_events_rewrite_drop_and_block(kind: str) -> None:
    seen: list[str] = []

    def count(event: dict[str, Any], path: str) -> dict[str, Any]:
        seen.append(event["choices"][0]["delta"]["content"])
        return event

    app = http_filter_app(redact) if kind == "http" else mcp_filter_app(redact, host="127.0.0.1")
    with anyio.fail_after(15):
        async with (
            serve(app, lifespan="on" if kind == "mcp" else "off") as srv,
            serve(http_filter_app(count)) as counter,
        ):
            registry = FilterRegistry(
                filter_config(
                    {"id": "redact", "url": srv.url, "type": kind},
                    {"id": "count", "url": counter.url, "type": "http"},
                )
            )
            try:
                chain = registry.chain(["redact", "count"])
                rewritten = await chain.run_event(chunk("Hi Bob"), CALL)
                dropped = await chain.run_event(chunk(""), CALL)
                with pytest.raises(FilterRejectedError) as info:
                    await chain.run_event(chunk("the SECRET is 42"), CALL)
            finally:
                await registry.aclose()
    assert rewritten == chunk("Hi [name]")
    assert dropped is None
    assert seen == ["Hi [name]"]  # a dropped event goes no further down the chain
    assert info.value.status_code == 451
    assert info.value.filter_id == "redact"


async def test_input_filter_returning_null_is_a_failure() -> None:
    def nothing(body: dict[str, Any], path: str) -> None:
        return None

    with anyio.fail_after(10):
        async with serve(http_filter_app(nothing)) as srv:
            registry = FilterRegistry(filter_config({"id": "n", "url": srv.url, "type": "http"}))
            try:
                with pytest.raises(UpstreamError) as info:
                    await registry.chain(["n"]).run(chat(), CALL)
            finally:
                await registry.aclose()
    assert info.value.target == "n"


async def test_registry_caches_filters_and_chains() -> None:
    registry = FilterRegistry(
        filter_config(
            {"id": "a", "url": "http://127.0.0.1:9", "type": "http"},
            {"id": "b", "url": "http://127.0.0.1:9"},
        )
    )
    try:
        chain = registry.chain(["a", "b"])
        assert registry.chain(("a", "b")) is chain
        assert registry.chain(["b"]).filters[0] is chain.filters[1]
        assert type(chain.filters[0]).__name__ == "HttpFilter"
        assert type(chain.filters[1]).__name__ == "McpFilter"
        empty = registry.chain([])
        assert not empty
        assert await empty.run(chat("x"), CALL) == chat("x")
        with pytest.raises(ConfigError):
            registry.chain(["missing"])
    finally:
        await registry.aclose()
    with pytest.raises(RuntimeError):
        registry.get("a")


async def test_registry_closes_owned_client_but_not_a_shared_one() -> None:
    import httpx2

    from plano_asgi.outbound import AiohttpClient

    shared = httpx2.AsyncClient()
    config = filter_config({"id": "a", "url": "http://127.0.0.1:9", "type": "http"})
    with_shared = FilterRegistry(config, client=shared)
    owned = FilterRegistry(config)
    with_shared.get("a")
    owned_client = owned.client
    assert isinstance(owned_client, AiohttpClient)
    await with_shared.aclose()
    await owned.aclose()
    assert not shared.is_closed
    assert owned_client.is_closed
    await shared.aclose()


def test_chain_is_a_sequence_of_filters() -> None:
    assert len(FilterChain()) == 0
