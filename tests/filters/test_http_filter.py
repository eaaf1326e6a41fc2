"""HTTP filters against real servers on loopback: wire format and every outcome."""

from __future__ import annotations

import gzip
from typing import Any

import anyio
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from plano_agent_sdk.filters import http_filter_app
from plano_asgi.errors import FilterRejectedError, UpstreamError, UpstreamTimeoutError
from plano_asgi.filters.http import rejection_message
from plano_asgi.filters.registry import FilterRegistry
from plano_asgi.outbound.seam import MAX_READ_BYTES
from tests.filters.helpers import (
    CALL,
    chat,
    filter_config,
    input_guards,
    last_text,
    raw_app,
    tagger,
)
from tests.support.raw_http import RawServer
from tests.support.servers import free_port, serve

pytestmark = pytest.mark.anyio


class HttpSpy:
    """Records the path and headers of each request, then delegates."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.seen: list[tuple[str, dict[str, str]]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {k.decode(): v.decode() for k, v in scope["headers"]}
            self.seen.append((scope["path"], headers))
        await self.app(scope, receive, send)


async def run_one(url: str, payload: dict[str, Any], **extra: Any) -> dict[str, Any] | None:
    registry = FilterRegistry(filter_config({"id": "f", "url": url, "type": "http", **extra}))
    try:
        return await registry.get("f").apply(payload, CALL)
    finally:
        await registry.aclose()


async def test_http_filter_rewrites_last_user_message_and_sends_plano_headers() -> None:
    spy = HttpSpy(http_filter_app(tagger("anon"), prefix="/anonymize"))
    with anyio.fail_after(10):
        async with serve(spy) as srv:
            result = await run_one(f"{srv.url}/anonymize", chat("my name is Bob"))
    assert result is not None
    assert last_text(result) == "my name is Bob [anon]"
    path, headers = spy.seen[0]
    assert path == "/anonymize/v1/chat/completions"
    assert headers["x-arch-upstream"] == "f"
    assert headers["accept"] == "application/json"
    assert headers["content-type"] == "application/json"
    assert headers["x-request-id"] == "req-1"
    assert headers["traceparent"].split("-")[1] == "0af7651916cd43dd8448eb211c80319c"


async def test_http_filter_sdk_app_receives_path_hint_without_prefix() -> None:
    seen: list[str] = []

    def record(body: dict[str, Any], path: str) -> dict[str, Any]:
        seen.append(path)
        return body

    with anyio.fail_after(10):
        async with serve(http_filter_app(record, prefix="/pii")) as srv:
            await run_one(f"{srv.url}/pii", chat())
            await run_one(srv.url, chat())
    assert seen == ["/v1/chat/completions", "/v1/chat/completions"]


async def test_http_guardrail_rejection_keeps_status_and_names_filter() -> None:
    with anyio.fail_after(10):
        async with serve(input_guards.http_app) as srv:
            with pytest.raises(FilterRejectedError) as info:
                await run_one(srv.url, chat("my password is hunter2"))
    exc = info.value
    assert exc.status_code == 403
    assert exc.filter_id == "f"
    assert exc.detail == "Sharing passwords is not allowed."
    body = exc.to_dict()
    assert body["error"]["filter"] == "f"
    assert body["error"]["type"] == "filter_rejected"
    assert "Sharing passwords is not allowed." in body["error"]["message"]


@pytest.mark.parametrize(
    ("status", "body", "upstream_status"),
    [
        pytest.param(500, b'{"error": "boom"}', 500, id="5xx"),
        pytest.param(503, b"", 503, id="503-empty"),
        pytest.param(302, b"", 302, id="redirect"),
        pytest.param(200, b"<html>oops</html>", None, id="not-json"),
        pytest.param(200, b"[1, 2]", None, id="json-array"),
        pytest.param(200, b'"text"', None, id="json-string"),
    ],
)
async def test_http_filter_failures_are_502_naming_the_filter(
    status: int, body: bytes, upstream_status: int | None
) -> None:
    with anyio.fail_after(10):
        async with serve(raw_app(status, body)) as srv:
            with pytest.raises(UpstreamError) as info:
                await run_one(srv.url, chat())
    exc = info.value
    assert type(exc) is UpstreamError
    assert exc.status_code == 502
    assert (exc.hop, exc.target) == ("filter", "f")
    assert exc.upstream_status == upstream_status
    assert exc.to_dict()["error"]["target"] == "f"


async def test_http_filter_null_reply_means_drop() -> None:
    with anyio.fail_after(10):
        async with serve(raw_app(200, b"null")) as srv:
            assert await run_one(srv.url, {"choices": []}) is None


async def test_http_filter_refused_port_is_502() -> None:
    with anyio.fail_after(10), pytest.raises(UpstreamError) as info:
        await run_one(f"http://127.0.0.1:{free_port()}", chat())
    assert type(info.value) is UpstreamError
    assert info.value.status_code == 502
    assert "unreachable" in info.value.message


async def test_http_filter_slow_reply_times_out_with_504() -> None:
    gate = anyio.Event()
    with anyio.fail_after(10):
        async with serve(raw_app(200, b"{}", gate=gate)) as srv:
            start = anyio.current_time()
            try:
                with pytest.raises(UpstreamTimeoutError) as info:
                    await run_one(srv.url, chat(), timeout="200ms")
            finally:
                gate.set()
            elapsed = anyio.current_time() - start
    assert info.value.status_code == 504
    assert info.value.target == "f"
    assert elapsed < 5  # the 30s default did not apply


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        pytest.param(
            400, b'{"error": {"message": "bad words", "type": "x"}}', "bad words", id="openai"
        ),
        pytest.param(422, b'{"error": "nope"}', "nope", id="error-string"),
        pytest.param(403, b'{"message": "forbidden here"}', "forbidden here", id="message"),
        pytest.param(400, b'{"detail": "fastapi says no"}', "fastapi says no", id="detail"),
        pytest.param(429, b"slow down", "slow down", id="raw-text"),
    ],
)
async def test_http_filter_4xx_messages_in_any_shape(
    status: int, body: bytes, message: str
) -> None:
    with anyio.fail_after(10):
        async with serve(raw_app(status, body)) as srv:
            with pytest.raises(FilterRejectedError) as info:
                await run_one(srv.url, chat())
    assert info.value.status_code == status
    assert info.value.detail == message


def test_rejection_message_is_truncated() -> None:
    message = rejection_message("x" * 5000)
    assert len(message) == 512
    assert message.endswith("…")
    assert rejection_message(b"") == "rejected"


@pytest.mark.parametrize("packed", [False, True], ids=["plain", "gzip-bomb"])
async def test_a_reply_larger_than_the_read_cap_is_a_502_naming_the_filter(packed: bool) -> None:
    # 9 MiB of JSON: sent as is, or gzipped to about 9 KiB that inflates past the cap.
    huge = b'{"messages": [{"role": "user", "content": "' + b"a" * (9 << 20) + b'"}]}'
    body = gzip.compress(huge) if packed else huge
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
    if packed:
        head += b"content-encoding: gzip\r\n"
    server = RawServer(lambda n: head + b"content-length: %d\r\n\r\n" % len(body) + body)
    with anyio.fail_after(20):
        async with server.serving():
            with pytest.raises(UpstreamError) as info:
                await run_one(f"http://127.0.0.1:{server.port}", chat())
    assert info.value.status_code == 502
    assert info.value.hop == "filter"
    assert info.value.message == f"Filter 'f' sent a reply larger than {MAX_READ_BYTES} bytes."
    # the bomb case really is small on the wire
    assert (len(body) < 64 << 10) is packed
