"""Pure helpers: extract_json, windowing, chunk helpers, request helpers, context validation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from plano_agent_sdk.chunks import collect_text, encode_chunks, iter_chunks, text_chunks
from plano_agent_sdk.context import build_context
from plano_agent_sdk.extract import JSONNotFoundError, extract_json
from plano_agent_sdk.gateway import gateway_client
from plano_agent_sdk.request import parse_agent_request
from plano_agent_sdk.streaming import to_chunks, to_completion
from plano_agent_sdk.windowing import window_messages
from plano_asgi.chat import ChatMessage, chat_completion, completion_chunk
from plano_asgi.errors import RequestError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param('{"route": ["a"]}', {"route": ["a"]}, id="plain"),
        pytest.param('```json\n{"a": 1}\n```', {"a": 1}, id="fenced"),
        pytest.param(
            'Sure!\n```\n{"a": [1, 2,],}\n```\nAnything else?', {"a": [1, 2]}, id="fence-commas"
        ),
        pytest.param(
            'The answer is {"city": "Paris", "days": 3}. Enjoy!',
            {"city": "Paris", "days": 3},
            id="prose",
        ),
        pytest.param("It's {'route': ['weather']}", {"route": ["weather"]}, id="single-quotes"),
        pytest.param(
            '{"text": "a } brace, and a {"}', {"text": "a } brace, and a {"}, id="brace-in-string"
        ),
        pytest.param('noise {broken {"ok": true} tail', {"ok": True}, id="skips-broken-prefix"),
        pytest.param('[1, 2] then {"x": null}', {"x": None}, id="skips-array"),
        pytest.param('{"a": {"b": "c,"},}', {"a": {"b": "c,"}}, id="comma-in-string-kept"),
    ],
)
def test_extract_json_recovers_objects(text: str, expected: dict[str, Any]) -> None:
    assert extract_json(text) == expected


@pytest.mark.parametrize(
    "text", ["", "no json here", "[1, 2]", '{"unterminated": 1', "{'a': \"b'}"]
)
def test_extract_json_raises_or_returns_default(text: str) -> None:
    with pytest.raises(JSONNotFoundError):
        extract_json(text)
    assert extract_json(text, default=None) is None
    assert isinstance(JSONNotFoundError(), ValueError)


CONVERSATION: list[dict[str, Any]] = [
    {"role": "system", "content": "You are helpful."},
    {"role": "user", "content": "u1"},
    {"role": "assistant", "content": "a1"},
    {"role": "user", "content": "u2 long" * 10},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "t", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        ],
    },
    {"role": "tool", "tool_call_id": "t", "content": "r"},
    {"role": "assistant", "content": "a2"},
    {"role": "user", "content": "u3"},
]


def _contents(messages: list[Any]) -> list[Any]:
    return [m["content"] if isinstance(m, dict) else m.content for m in messages]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({}, [m["content"] for m in CONVERSATION], id="no-limits"),
        pytest.param({"max_turns": 1}, ["You are helpful.", "u3"], id="last-turn"),
        pytest.param(
            {"max_turns": 2},
            ["You are helpful.", "u2 long" * 10, None, "r", "a2", "u3"],
            id="tool-turn-whole",
        ),
        pytest.param({"max_chars": 10}, ["You are helpful.", "u3"], id="budget"),
        pytest.param({"max_chars": 1}, ["You are helpful.", "u3"], id="newest-turn-always"),
        pytest.param({"max_turns": 1, "keep_system": False}, ["u3"], id="drop-system"),
        pytest.param(
            {"max_chars": 200}, [m["content"] for m in CONVERSATION], id="budget-fits-all"
        ),
    ],
)
def test_window_messages(kwargs: dict[str, Any], expected: list[Any]) -> None:
    assert _contents(window_messages(CONVERSATION, **kwargs)) == expected


def test_window_messages_keeps_chat_message_objects() -> None:
    messages = [ChatMessage.model_validate(m) for m in CONVERSATION]
    kept = window_messages(messages, max_turns=1)
    assert kept == [messages[0], messages[-1]]
    with pytest.raises(ValueError, match="max_turns"):
        window_messages(messages, max_turns=0)


SSE = (
    b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n'
    b": comment\n\n"
    b'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\r\n\r\n'
    b"data: not json\n\n"
    b"event: ping\n\n"
    b'data: {"choices":[{"index":0,"delta":{"content":"lo"}}]}\n\n'
    b'data: {"choices":[],"usage":{"total_tokens":3}}\n\n'
    b"data: [DONE]\n\n"
)


def test_collect_text_follows_the_plano_intermediate_rule() -> None:
    assert collect_text(SSE) == "Hello"
    assert collect_text(SSE.decode()) == "Hello"
    assert len(list(iter_chunks(SSE))) == 4


async def _aiter(items: list[Any]) -> AsyncIterator[Any]:
    for item in items:
        yield item


@pytest.mark.anyio
async def test_text_chunks_and_encode_chunks_round_trip() -> None:
    frames = b"".join(
        [f async for f in encode_chunks(text_chunks(_aiter(["a", "", "b"]), model="m"))]
    )
    chunks = list(iter_chunks(frames))
    assert frames.endswith(b"data: [DONE]\n\n")
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert len(chunks) == 4
    assert collect_text(frames) == "ab"


@pytest.mark.anyio
async def test_to_completion_gathers_tool_calls_and_usage() -> None:
    def call_part(**delta: Any) -> dict[str, Any]:
        chunk = completion_chunk(id="c1", model="up")
        chunk["choices"][0]["delta"] = delta
        return chunk

    parts = [
        call_part(
            role="assistant",
            tool_calls=[
                {"index": 0, "id": "call_1", "function": {"name": "get_", "arguments": '{"ci'}}
            ],
        ),
        call_part(
            tool_calls=[{"index": 0, "function": {"name": "weather", "arguments": 'ty": "P"}'}}]
        ),
        {**completion_chunk(id="c1", model="up", finish_reason="tool_calls")},
        {**completion_chunk(id="c1", model="up"), "choices": [], "usage": {"total_tokens": 9}},
    ]
    completion = await to_completion(_aiter(parts), id="mine", model="m")
    message = completion["choices"][0]["message"]
    assert completion["id"] == "c1"
    assert completion["model"] == "up"
    assert completion["usage"] == {"total_tokens": 9}
    assert completion["choices"][0]["finish_reason"] == "tool_calls"
    assert message["content"] is None
    assert message["tool_calls"] == [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "P"}'},
        }
    ]


@pytest.mark.anyio
async def test_completion_with_tool_calls_streams_as_chunks() -> None:
    completion = chat_completion(content="", model="m", usage={"total_tokens": 2})
    completion["choices"][0]["message"]["tool_calls"] = [
        {"id": "x", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    ]
    completion["choices"][0]["finish_reason"] = "tool_calls"
    chunks = [c async for c in to_chunks(completion, id="i", model="m")]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[1]["choices"][0]["delta"]["tool_calls"][0]["index"] == 0
    assert chunks[2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[3] == {**chunks[3], "choices": [], "usage": {"total_tokens": 2}}


@pytest.mark.anyio
async def test_to_chunks_adds_role_and_finish_to_bare_upstream_chunks() -> None:
    source = [completion_chunk(id="u", model="up", content="x")]
    chunks = [c async for c in to_chunks(_aiter(source), id="i", model="m")]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "x"}
    assert source[0]["choices"][0]["delta"] == {"content": "x"}  # the source is not mutated
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


@pytest.mark.anyio
async def test_empty_stream_still_has_role_and_finish() -> None:
    chunks = [c async for c in to_chunks(_aiter([]), id="i", model="m")]
    assert [c["choices"][0]["delta"].get("role") for c in chunks] == ["assistant", None]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert (await to_completion(_aiter([]), id="i", model="m"))["choices"][0]["message"][
        "content"
    ] == ""


def test_agent_request_helpers() -> None:
    request = parse_agent_request(
        {
            "model": "travel",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Flights to Paris?"},
                {"role": "assistant", "name": "weather_agent", "content": "Sunny."},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "And"},
                        {"type": "text", "text": "hotels?"},
                    ],
                },
            ],
            "max_completion_tokens": 50,
            "metadata": {"tenant": "t1"},
        }
    )
    assert request.last_user_message == "And\nhotels?"
    assert request.system_prompt == "Be brief."
    assert request.agent_outputs == {"weather_agent": "Sunny."}
    assert request.extra("metadata") == {"tenant": "t1"}
    assert request.extra("tools", []) == []
    assert request.llm_messages()[2] == {
        "role": "assistant",
        "name": "weather_agent",
        "content": "Sunny.",
    }
    assert request.to_wire()["max_completion_tokens"] == 50
    with pytest.raises(RequestError, match=r"messages\[0\]\.role"):
        parse_agent_request({"messages": [{"role": "robot"}]})


@pytest.mark.parametrize(
    ("headers", "request_id", "traceparent"),
    [
        pytest.param(
            [
                (b"x-request-id", b"abc-123"),
                (b"traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            ],
            "abc-123",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            id="valid",
        ),
        pytest.param(
            [(b"traceparent", b"00-00000000000000000000000000000000-00f067aa0ba902b7-01")],
            None,
            None,
            id="zero-trace",
        ),
        pytest.param(
            [(b"traceparent", b"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")],
            None,
            None,
            id="bad-version",
        ),
        pytest.param([(b"x-request-id", b"a\r\nb")], None, None, id="header-injection"),
        pytest.param([(b"x-request-id", b"x" * 200)], None, None, id="too-long"),
    ],
)
def test_context_validates_inbound_ids(
    headers: list[tuple[bytes, bytes]], request_id: str | None, traceparent: str | None
) -> None:
    ctx = build_context("a", headers, gateway_client("http://127.0.0.1:1/v1"))
    if request_id is None:
        assert len(ctx.request_id) == 36
    else:
        assert ctx.request_id == request_id
    assert ctx.traceparent == traceparent
    assert ctx.trace_id == (traceparent.split("-")[1] if traceparent else None)


def test_context_headers_are_read_only_and_joined() -> None:
    ctx = build_context(
        "a",
        [(b"X-Tenant", b"t1"), (b"x-tenant", b"t2"), (b"x-arch-agent-listener-name", b"travel")],
        gateway_client("http://127.0.0.1:1/v1"),
    )
    assert ctx.headers["x-tenant"] == "t1, t2"
    assert ctx.listener == "travel"
    with pytest.raises(TypeError):
        ctx.headers["x"] = "y"  # type: ignore[index]
    assert ctx.propagation_headers() == {"x-request-id": ctx.request_id}
