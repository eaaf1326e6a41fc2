"""Chat request parsing: errors name the field; unknown fields survive."""

from __future__ import annotations

import pytest

from plano_asgi.chat import (
    chat_completion,
    completion_chunk,
    message_text,
    parse_chat_request,
)
from plano_asgi.errors import RequestError


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(b"{", "Request body is not valid JSON", id="not-json"),
        pytest.param(b"[]", "Request body must be a JSON object.", id="array"),
        pytest.param(b"{}", "'messages' is required.", id="no-messages"),
        pytest.param(
            b'{"messages": []}', "Invalid request: messages: must contain at least", id="empty"
        ),
        pytest.param(
            b'{"messages": "hi"}',
            "Invalid request: messages: Value error, 'messages' must be a l",
            id="string",
        ),
        pytest.param(
            b'{"messages": [{"role": "robot", "content": "x"}]}',
            "Invalid request: messages[0].role: role must be one of system, developer, user",
            id="bad-role",
        ),
        pytest.param(
            b'{"messages": [{"content": "x"}]}',
            "Invalid request: messages[0].role: Field required",
            id="no-role",
        ),
        pytest.param(
            b'{"messages": [{"role": "user", "content": 5}]}',
            "Invalid request: messages[0].content",
            id="bad-content",
        ),
        pytest.param(
            b'{"messages": [{"role": "user", "content": "x"}], "stream": "maybe"}',
            "Invalid request: stream:",
            id="bad-stream",
        ),
        # Strict like OpenAI: what lax parsing would turn into a value is a client bug.
        pytest.param(
            b'{"messages": [{"role": "user", "content": "x"}], "stream": "yes"}',
            "Invalid request: stream: Input should be a valid boolean",
            id="stream-yes",
        ),
        pytest.param(
            b'{"messages": [{"role": "user", "content": "x"}], "stream": 1}',
            "Invalid request: stream: Input should be a valid boolean",
            id="stream-1",
        ),
        pytest.param(
            b'{"messages": [{"role": "user", "content": "x"}], "temperature": "0.5"}',
            "Invalid request: temperature: Input should be a valid number",
            id="temperature-string",
        ),
        pytest.param(
            b'{"messages": [{"role": "user", "content": "x"}], "max_tokens": "5"}',
            "Invalid request: max_tokens: Input should be a valid integer",
            id="max-tokens-string",
        ),
    ],
)
def test_parse_chat_request_rejects(body: bytes, message: str) -> None:
    with pytest.raises(RequestError) as info:
        parse_chat_request(body)
    assert info.value.status_code == 400
    assert info.value.message.startswith(message)
    assert info.value.to_dict()["error"]["type"] == "invalid_request_error"


def test_parse_chat_request_keeps_unknown_fields() -> None:
    request = parse_chat_request(
        b'{"model": "m", "messages": [{"role": "user", "content": "hi", "x_tag": 1}],'
        b' "metadata": {"k": "v"}, "tools": []}'
    )
    wire = request.to_wire()
    assert wire["metadata"] == {"k": "v"}
    assert wire["tools"] == []
    assert wire["messages"][0]["x_tag"] == 1
    assert "stream" not in wire


def test_last_user_message_and_parts() -> None:
    request = parse_chat_request(
        {
            "messages": [
                {"role": "user", "content": "first"},
                {"role": "assistant", "content": "ok"},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "a"},
                        {"type": "image_url", "image_url": {"url": "x"}},
                        {"type": "text", "text": "b"},
                    ],
                },
                {"role": "tool", "content": "result", "tool_call_id": "1"},
            ]
        }
    )
    assert request.last_user_message == "a\nb"
    assert message_text(None) == ""


def test_chunk_and_completion_shapes() -> None:
    chunk = completion_chunk(id="c1", model="m", content="hi", role="assistant", created=1)
    assert chunk == {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [
            {"index": 0, "delta": {"role": "assistant", "content": "hi"}, "finish_reason": None}
        ],
    }
    body = chat_completion(content="done", model="m", id="x", usage={"total_tokens": 3})
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "done"}
    assert body["usage"] == {"total_tokens": 3}
