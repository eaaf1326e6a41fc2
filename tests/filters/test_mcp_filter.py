"""MCP filters against real MCP servers on loopback (our SDK and a plain MCPServer)."""

from __future__ import annotations

from typing import Any

import anyio
import httpx2
import pytest
from mcp.server.mcpserver import MCPServer

from plano_agent_sdk.filters import filter_function, mcp_filter_app
from plano_asgi.errors import FilterRejectedError, UpstreamError, UpstreamTimeoutError
from plano_asgi.filters.mcp import McpFilter, mcp_endpoint
from plano_asgi.filters.registry import FilterRegistry
from tests.filters.helpers import (
    CALL,
    McpSpy,
    chat,
    filter_config,
    input_guards,
    last_text,
    plano_style_server,
    query_rewriter,
    raw_app,
)
from tests.support.servers import free_port, serve

pytestmark = pytest.mark.anyio

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"


def registry_for(url: str, fid: str = "f", **extra: Any) -> FilterRegistry:
    return FilterRegistry(filter_config({"id": fid, "url": url, **extra}))


async def test_sdk_mcp_filter_rewrites_and_carries_trace_context() -> None:
    spy = McpSpy(mcp_filter_app(query_rewriter, host="127.0.0.1"))
    with anyio.fail_after(15):
        async with serve(spy, lifespan="on") as srv:
            registry = registry_for(srv.url, "query_rewriter")
            try:
                result = await registry.get("query_rewriter").apply(chat("hotels in Paris"), CALL)
            finally:
                await registry.aclose()
    assert result is not None
    assert last_text(result) == "hotels in Paris [rewritten]"
    call_index = spy.methods.index("tools/call")
    params = spy.bodies[call_index]["params"]
    assert params["name"] == "query_rewriter"
    assert params["arguments"]["path"] == "/v1/chat/completions"
    assert params["_meta"]["traceparent"].split("-")[1] == TRACE_ID
    headers = spy.headers[call_index]
    assert headers["traceparent"].split("-")[1] == TRACE_ID
    assert headers["x-arch-upstream"] == "query_rewriter"
    assert headers["x-request-id"] == "req-1"
    assert "DELETE" in spy.http_methods  # aclose ended the session on the server


async def test_plano_style_mcp_server_rewrites_and_blocks() -> None:
    app = plano_style_server().streamable_http_app()
    with anyio.fail_after(15):
        async with serve(app, lifespan="on") as srv:
            registry = FilterRegistry(
                filter_config(
                    {"id": "query_rewriter", "url": srv.url},
                    {"id": "policy", "url": srv.url, "tool": "guard"},
                )
            )
            try:
                result = await registry.get("query_rewriter").apply(chat("cheap flights"), CALL)
                with pytest.raises(FilterRejectedError) as info:
                    await registry.get("policy").apply(chat(), CALL)
            finally:
                await registry.aclose()
    assert result is not None
    assert last_text(result) == "CHEAP FLIGHTS"
    assert info.value.status_code == 400
    assert info.value.filter_id == "policy"
    assert info.value.detail == "Blocked by policy"
    assert info.value.to_dict()["error"]["filter"] == "policy"


async def test_sdk_mcp_rejection_keeps_its_status() -> None:
    with anyio.fail_after(15):
        async with serve(mcp_filter_app(input_guards, host="127.0.0.1"), lifespan="on") as srv:
            registry = registry_for(srv.url, "input_guards")
            try:
                with pytest.raises(FilterRejectedError) as info:
                    await registry.get("input_guards").apply(chat("my PASSWORD is x"), CALL)
            finally:
                await registry.aclose()
    assert info.value.status_code == 403
    assert info.value.detail == "Sharing passwords is not allowed."


async def test_mcp_session_is_reused_across_100_requests() -> None:
    spy = McpSpy(mcp_filter_app(query_rewriter, host="127.0.0.1"))
    with anyio.fail_after(60):
        async with serve(spy, lifespan="on") as srv:
            registry = registry_for(srv.url, "query_rewriter")
            flt = registry.get("query_rewriter")
            results: list[str] = []

            async def one(i: int) -> None:
                result = await flt.apply(chat(f"q{i}"), CALL)
                assert result is not None
                results.append(last_text(result))

            try:
                await one(0)  # the first request opens the session ...
                async with anyio.create_task_group() as tg:  # ... 99 more share it, 33 at once
                    for i in range(1, 100):
                        tg.start_soon(one, i)
            finally:
                await registry.aclose()
    assert sorted(results) == sorted(f"q{i} [rewritten]" for i in range(100))
    assert spy.count("initialize") == 1
    assert spy.count("tools/call") == 100
    assert len(spy.session_ids) == 1
    assert isinstance(flt, McpFilter)
    assert flt.sessions_opened == 1


async def test_mcp_concurrent_first_requests_open_one_session() -> None:
    spy = McpSpy(mcp_filter_app(query_rewriter, host="127.0.0.1"))
    with anyio.fail_after(30):
        async with serve(spy, lifespan="on") as srv:
            registry = registry_for(srv.url, "query_rewriter")
            flt = registry.get("query_rewriter")
            try:
                async with anyio.create_task_group() as tg:
                    for i in range(10):
                        tg.start_soon(flt.apply, chat(f"q{i}"), CALL)
            finally:
                await registry.aclose()
    assert spy.count("initialize") == 1
    assert spy.count("tools/call") == 10


async def test_mcp_session_expiry_reopens_and_request_succeeds() -> None:
    spy = McpSpy(mcp_filter_app(query_rewriter, host="127.0.0.1"))
    with anyio.fail_after(30):
        async with serve(spy, lifespan="on") as srv:
            registry = registry_for(srv.url, "query_rewriter")
            flt = registry.get("query_rewriter")
            try:
                assert await flt.apply(chat("one"), CALL) is not None
                (old_session,) = spy.session_ids
                # The server forgets the session (as after idle expiry or a restart).
                async with httpx2.AsyncClient() as client:
                    gone = await client.delete(
                        f"{srv.url}/mcp", headers={"mcp-session-id": old_session}
                    )
                assert gone.status_code == 200
                result = await flt.apply(chat("two"), CALL)
            finally:
                await registry.aclose()
    assert result is not None
    assert last_text(result) == "two [rewritten]"
    assert spy.count("initialize") == 2
    assert len(spy.session_ids) == 2
    assert isinstance(flt, McpFilter)
    assert flt.sessions_opened == 2


@pytest.mark.parametrize(
    ("stateless", "json_response"),
    [
        pytest.param(True, True, id="stateless-json"),
        pytest.param(True, False, id="stateless-sse"),
        pytest.param(False, True, id="stateful-json"),
    ],
)
async def test_mcp_stateless_and_json_servers(stateless: bool, json_response: bool) -> None:
    spy = McpSpy(
        mcp_filter_app(
            query_rewriter, stateless=stateless, json_response=json_response, host="127.0.0.1"
        )
    )
    with anyio.fail_after(15):
        async with serve(spy, lifespan="on") as srv:
            registry = registry_for(srv.url, "query_rewriter")
            try:
                results = [
                    await registry.get("query_rewriter").apply(chat(f"q{i}"), CALL)
                    for i in range(3)
                ]
            finally:
                await registry.aclose()
    assert [last_text(r) for r in results if r] == [f"q{i} [rewritten]" for i in range(3)]
    assert spy.count("initialize") == 1
    assert bool(spy.session_ids) is not stateless


async def test_mcp_filter_uses_configured_endpoint_path() -> None:
    spy = McpSpy(mcp_filter_app(query_rewriter, path="/filters/rewrite", host="127.0.0.1"))
    with anyio.fail_after(15):
        async with serve(spy, lifespan="on") as srv:
            registry = registry_for(f"{srv.url}/filters/rewrite", "query_rewriter")
            try:
                result = await registry.get("query_rewriter").apply(chat("x"), CALL)
            finally:
                await registry.aclose()
    assert result is not None
    assert last_text(result) == "x [rewritten]"


@pytest.mark.parametrize(
    ("url", "endpoint"),
    [
        ("http://h:1", "http://h:1/mcp"),
        ("http://h:1/", "http://h:1/mcp"),
        ("http://h:1/custom/path", "http://h:1/custom/path"),
    ],
)
def test_mcp_endpoint(url: str, endpoint: str) -> None:
    assert mcp_endpoint(url) == endpoint


async def test_mcp_filter_down_is_502() -> None:
    registry = registry_for(f"http://127.0.0.1:{free_port()}")
    try:
        with anyio.fail_after(15), pytest.raises(UpstreamError) as info:
            await registry.get("f").apply(chat(), CALL)
    finally:
        await registry.aclose()
    assert type(info.value) is UpstreamError
    assert info.value.status_code == 502
    assert info.value.target == "f"


async def test_mcp_filter_slow_tool_times_out_with_504() -> None:
    gate = anyio.Event()

    @filter_function
    async def slow(body: dict[str, Any], path: str) -> dict[str, Any]:
        await gate.wait()
        return body

    with anyio.fail_after(15):
        async with serve(mcp_filter_app(slow, host="127.0.0.1"), lifespan="on") as srv:
            registry = registry_for(srv.url, "slow", timeout="300ms")
            try:
                with pytest.raises(UpstreamTimeoutError) as info:
                    await registry.get("slow").apply(chat(), CALL)
            finally:
                gate.set()
                await registry.aclose()
    assert info.value.status_code == 504
    assert info.value.target == "slow"


async def test_mcp_filter_crash_and_garbage_are_502_not_rejections() -> None:
    @filter_function
    def crash(body: dict[str, Any], path: str) -> dict[str, Any]:
        raise RuntimeError("bug in the filter")

    server = MCPServer("garbage")

    @server.tool()
    def garbage(body: dict, path: str) -> str:  # type: ignore[type-arg]
        return "this is not a body"

    with anyio.fail_after(15):
        async with (
            serve(mcp_filter_app(crash, host="127.0.0.1"), lifespan="on") as one,
            serve(server.streamable_http_app(), lifespan="on") as two,
        ):
            registry = FilterRegistry(
                filter_config({"id": "crash", "url": one.url}, {"id": "garbage", "url": two.url})
            )
            try:
                with pytest.raises(UpstreamError) as crashed:
                    await registry.get("crash").apply(chat(), CALL)
                with pytest.raises(UpstreamError) as garbled:
                    await registry.get("garbage").apply(chat(), CALL)
            finally:
                await registry.aclose()
    assert crashed.value.status_code == 502
    assert "bug in the filter" not in crashed.value.message
    assert garbled.value.status_code == 502
    assert garbled.value.target == "garbage"


async def test_mcp_filter_none_drops_output_event() -> None:
    @filter_function
    def drop_all(body: dict[str, Any], path: str) -> dict[str, Any] | None:
        return None

    with anyio.fail_after(15):
        async with serve(mcp_filter_app(drop_all, host="127.0.0.1"), lifespan="on") as srv:
            registry = registry_for(srv.url, "drop_all")
            try:
                result = await registry.get("drop_all").apply({"choices": []}, CALL)
            finally:
                await registry.aclose()
    assert result is None


async def test_mcp_filter_recovers_after_server_restart() -> None:
    port = free_port()
    registry = registry_for(f"http://127.0.0.1:{port}", "query_rewriter")
    flt = registry.get("query_rewriter")
    try:
        with anyio.fail_after(30):
            async with serve(
                mcp_filter_app(query_rewriter, host="127.0.0.1"), port=port, lifespan="on"
            ):
                assert await flt.apply(chat("before"), CALL) is not None
            with pytest.raises(UpstreamError) as down:  # fails fast, not after the timeout
                await flt.apply(chat("during"), CALL)
            spy = McpSpy(mcp_filter_app(query_rewriter, host="127.0.0.1"))
            async with serve(spy, port=port, lifespan="on"):
                result = await flt.apply(chat("after"), CALL)
                await registry.aclose()
    finally:
        await registry.aclose()
    assert type(down.value) is UpstreamError
    assert result is not None
    assert last_text(result) == "after [rewritten]"
    assert spy.count("initialize") == 1  # a new session on the new server


def test_mcp_filter_server_leaves_root_logging_alone() -> None:
    import logging

    from plano_agent_sdk.filters import mcp_filter_server

    root = logging.getLogger()
    before = list(root.handlers)
    saved = root.handlers[:]
    for handler in saved:
        root.removeHandler(handler)
    try:
        mcp_filter_server(query_rewriter)
        assert root.handlers == []
    finally:
        for handler in saved:
            root.addHandler(handler)
    assert root.handlers == before


async def test_mcp_reset_session_opens_a_new_one() -> None:
    spy = McpSpy(mcp_filter_app(query_rewriter, host="127.0.0.1"))
    with anyio.fail_after(15):
        async with serve(spy, lifespan="on") as srv:
            registry = registry_for(srv.url, "query_rewriter")
            flt = registry.get("query_rewriter")
            assert isinstance(flt, McpFilter)
            try:
                await flt.apply(chat("one"), CALL)
                await flt.reset_session()
                await flt.apply(chat("two"), CALL)
            finally:
                await registry.aclose()
    assert spy.count("initialize") == 2
    assert flt.sessions_opened == 2
    assert spy.http_methods.count("DELETE") == 2  # both sessions ended on the server


async def test_mcp_filter_hung_server_times_out_with_504() -> None:
    gate = anyio.Event()
    with anyio.fail_after(15):
        async with serve(raw_app(200, b"{}", gate=gate)) as srv:
            registry = registry_for(srv.url, "hung", timeout="300ms")
            try:
                for _ in range(2):  # the stuck session does not block the next request
                    with pytest.raises(UpstreamTimeoutError) as info:
                        await registry.get("hung").apply(chat(), CALL)
                    assert info.value.target == "hung"
            finally:
                gate.set()
                await registry.aclose()


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        pytest.param(
            {"structured_content": {"result": {"a": 1}}, "content": []}, {"a": 1}, id="wrapped"
        ),
        pytest.param({"structured_content": {"a": 1}, "content": []}, {"a": 1}, id="structured"),
        pytest.param(
            {"content": [{"type": "text", "text": '{"a": 1}'}]}, {"a": 1}, id="text-json-fastmcp1"
        ),
        pytest.param({"structured_content": {"result": None}, "content": []}, None, id="null"),
    ],
)
def test_mcp_result_shapes(result: dict[str, Any], expected: dict[str, Any] | None) -> None:
    from mcp_types import CallToolResult

    from plano_asgi.config import FilterDef

    flt = McpFilter(FilterDef(id="f", url="http://127.0.0.1:9"))
    assert flt._payload(CallToolResult.model_validate(result)) == expected


@pytest.mark.parametrize(
    ("result", "error", "status", "message"),
    [
        pytest.param(
            {"is_error": True, "content": [{"type": "text", "text": "Error executing tool f: no"}]},
            FilterRejectedError,
            400,
            "no",
            id="tool-error",
        ),
        pytest.param({"is_error": True, "content": []}, FilterRejectedError, 400, None, id="bare"),
        pytest.param({"content": [{"type": "text", "text": "hi"}]}, UpstreamError, 502, None),
        pytest.param({"content": []}, UpstreamError, 502, None, id="empty"),
    ],
)
def test_mcp_result_errors(
    result: dict[str, Any], error: type[Exception], status: int, message: str | None
) -> None:
    from mcp_types import CallToolResult

    from plano_asgi.config import FilterDef

    flt = McpFilter(FilterDef(id="f", url="http://127.0.0.1:9"))
    with pytest.raises(error) as info:
        flt._payload(CallToolResult.model_validate(result))
    assert getattr(info.value, "status_code", None) == status
    if message is not None:
        assert getattr(info.value, "detail", None) == message
