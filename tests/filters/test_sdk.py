"""The filter SDK: one function served over HTTP and MCP, with the error contract."""

from __future__ import annotations

import threading
from typing import Any

import anyio
import httpx2
import pytest

from plano_agent_sdk.filters import (
    FilterFunction,
    FilterRejection,
    filter_function,
    http_filter_app,
    mcp_filter_server,
)
from tests.filters.helpers import chat, input_guards, query_rewriter
from tests.support.servers import serve

pytestmark = pytest.mark.anyio


async def test_http_app_error_replies() -> None:
    @filter_function
    def crash(body: dict[str, Any], path: str) -> dict[str, Any]:
        raise KeyError("secret detail")

    with anyio.fail_after(10):
        async with (
            serve(crash.http_app) as crashing,
            serve(input_guards.http_app) as guard,
        ):
            async with httpx2.AsyncClient() as client:
                get = await client.get(f"{guard.url}/v1/chat/completions")
                bad = await client.post(f"{guard.url}/v1/chat/completions", content=b"[1]")
                rejected = await client.post(
                    f"{guard.url}/v1/chat/completions", json=chat("password?")
                )
                failed = await client.post(f"{crashing.url}/x", json=chat())
    assert get.status_code == 405
    assert bad.status_code == 400
    assert bad.json()["error"]["type"] == "invalid_request_error"
    assert rejected.status_code == 403
    assert rejected.json() == {
        "error": {
            "message": "Sharing passwords is not allowed.",
            "type": "filter_rejected",
            "code": "filter_rejected",
            "param": None,
            "status": 403,
        }
    }
    assert failed.status_code == 500
    assert "secret detail" not in failed.text


async def test_sync_filters_run_off_the_event_loop_thread() -> None:
    threads: list[str] = []

    def record(body: dict[str, Any], path: str) -> dict[str, Any]:
        threads.append(threading.current_thread().name)
        return body

    async def arecord(body: dict[str, Any], path: str) -> dict[str, Any]:
        threads.append(threading.current_thread().name)
        return body

    loop_thread = threading.current_thread().name
    await FilterFunction(record)(chat(), "/")
    await FilterFunction(arecord)(chat(), "/")
    assert threads[0] != loop_thread
    assert threads[1] == loop_thread


async def test_filter_function_checks_the_return_type() -> None:
    bad = FilterFunction(lambda body, path: ["not", "a", "dict"])  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError):
        await bad(chat(), "/")


def test_filter_rejection_is_4xx_only() -> None:
    with pytest.raises(ValueError):
        FilterRejection(500, "no")
    exc = FilterRejection(422, "bad input", code="pii_found")
    assert exc.status_code == 422
    assert exc.to_dict()["error"]["code"] == "pii_found"


def test_decorator_options_name_and_prefix() -> None:
    @filter_function(name="pii_guard", prefix="/pii/")
    def guard(body: dict[str, Any], path: str) -> dict[str, Any]:
        """Redacts PII."""
        return body

    assert isinstance(guard, FilterFunction)
    assert guard.name == "pii_guard"
    assert guard.prefix == "/pii"
    assert guard.doc == "Redacts PII."


async def test_mcp_server_exposes_body_path_tools() -> None:
    server = mcp_filter_server(input_guards, query_rewriter)
    tools = {tool.name: tool for tool in await server.list_tools()}
    assert set(tools) == {"input_guards", "query_rewriter"}
    schema = tools["query_rewriter"].input_schema
    assert set(schema["properties"]) == {"body", "path"}
    assert schema["required"] == ["body"]
    assert tools["input_guards"].description == "Blocks requests that mention a password."


async def test_http_filter_app_accepts_plain_functions() -> None:
    app = http_filter_app(lambda body, path: {**body, "path": path})
    with anyio.fail_after(10):
        async with serve(app) as srv, httpx2.AsyncClient() as client:
            reply = await client.post(f"{srv.url}/v1/messages", json={"a": 1})
    assert reply.json() == {"a": 1, "path": "/v1/messages"}
