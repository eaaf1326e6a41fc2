"""Chat turns to a hop that speaks Responses, and its answers back (plano_asgi.responses.upstream).

Round trips go through the package's own client side (parse_responses_request,
chat_request, ResponseEvents), so both directions agree on the same wire.
"""

from __future__ import annotations

from typing import Any

from plano_asgi.responses.events import ResponseEvents
from plano_asgi.responses.output import output_items, response_object
from plano_asgi.responses.request import chat_request, parse_responses_request
from plano_asgi.responses.upstream import (
    ResponsesToChunks,
    chat_to_responses,
    response_to_completion,
)
from plano_asgi.sse import SSEDecoder

CALL = {
    "id": "c1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
}
CHAT: dict[str, Any] = {
    "model": "m",
    "temperature": 0.2,
    "max_tokens": 50,
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ],
    "tools": [
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    ],
    "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    "response_format": {"type": "json_schema", "json_schema": {"name": "w", "schema": {}}},
}


def test_a_chat_request_as_responses_and_back_is_the_same_request() -> None:
    body = chat_to_responses(CHAT)
    assert body["instructions"] == "Be brief."
    assert body["max_output_tokens"] == 50
    assert body["input"] == [
        {"role": "user", "content": "weather?"},
        {
            "type": "function_call",
            "call_id": "c1",
            "name": "get_weather",
            "arguments": '{"city": "Rome"}',
        },
        {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
    ]
    assert body["tools"] == [
        {"type": "function", "name": "get_weather", "parameters": {"type": "object"}}
    ]
    assert body["tool_choice"] == {"type": "function", "name": "get_weather"}
    assert body["text"] == {"format": {"type": "json_schema", "name": "w", "schema": {}}}
    request = parse_responses_request(body)
    assert chat_request(request, request.input) == CHAT


def test_images_become_input_images() -> None:
    chat = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": "https://x/cat.png"}},
                ],
            }
        ]
    }
    assert chat_to_responses(chat)["input"][0]["content"] == [
        {"type": "input_text", "text": "what is this?"},
        {"type": "input_image", "image_url": "https://x/cat.png", "detail": "auto"},
    ]


def test_a_response_object_as_a_chat_completion() -> None:
    completion = {
        "id": "chatcmpl-abc",
        "object": "chat.completion",
        "created": 5,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Checking.", "tool_calls": [CALL]},
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
    }
    request = parse_responses_request({"input": "x"})
    response = response_object(
        request,
        response_id="resp_abc",
        model="m",
        output=output_items(completion),
        usage={"input_tokens": 3, "output_tokens": 4, "total_tokens": 7},
        stored=False,
        created_at=5,
    )
    assert response_to_completion(response) == completion
    cut = {**response, "status": "incomplete", "output": response["output"][:1]}
    assert response_to_completion(cut)["choices"][0]["finish_reason"] == "length"


def _events(raw: bytes) -> list[tuple[str | None, dict[str, Any]]]:
    return [(event.event, event.json()) for event in SSEDecoder().feed(raw)]


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "c",
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def test_a_responses_stream_becomes_the_chunks_it_was_made_of() -> None:
    request = parse_responses_request({"input": "x", "stream": True})
    events = ResponseEvents(request, response_id="resp_1", created_at=1, stored=False)
    raw = events.start()
    for chunk in [
        _chunk({"content": "Hi "}),
        _chunk({"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "f"}}]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}),
        _chunk({"content": "there"}),
        _chunk({}, "tool_calls"),
        {
            "id": "c",
            "model": "m",
            "choices": [],
            "usage": {"prompt_tokens": 2, "completion_tokens": 3},
        },
    ]:
        raw += events.on_chunk(chunk)
    raw += events.completed()
    back = ResponsesToChunks()
    chunks = [c for name, data in _events(raw) for c in back.on_event(name, data)]
    assert back.done
    assert back.error is None
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas[0] == {"role": "assistant", "content": ""}
    assert "".join(d.get("content", "") for d in deltas) == "Hi there"
    calls = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
    assert (calls[0]["id"], calls[0]["function"]["name"]) == ("c1", "f")
    assert "".join(call["function"]["arguments"] for call in calls) == "{}"
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["usage"] == {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}


def test_a_failed_responses_stream_is_read_as_an_error() -> None:
    request = parse_responses_request({"input": "x", "stream": True})
    events = ResponseEvents(request, response_id="resp_2", created_at=1, stored=False)
    raw = events.start() + events.on_chunk(_chunk({"content": "par"})) + events.failed("died")
    back = ResponsesToChunks()
    for name, data in _events(raw):
        back.on_event(name, data)
    assert back.error == "died"
    assert not back.done
    error_event = ResponsesToChunks()
    error_event.on_event("error", {"type": "error", "code": "x", "message": "rate limited"})
    assert error_event.error == "rate limited"
