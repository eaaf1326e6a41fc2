"""The pure parts under the listener's reply handling: secret scrubbing, chunk <-> completion,
and pings in the SSE decoder."""

from __future__ import annotations

from typing import Any

import pytest

from plano_asgi.chunks import ChunkGatherer, completion_chunks, sum_usage
from plano_asgi.errors import scrub_secrets
from plano_asgi.sse import SSEDecoder


@pytest.mark.parametrize(
    ("text", "kept", "gone"),
    [
        ("Incorrect API key provided: sk-proj-abcdef1234567890.", "Incorrect API key", "abcdef12"),
        ("upstream said Bearer eyJhbGciOi.payload123.sig45678", "upstream said", "payload123"),
        ('config {"api_key": "hunter2hunter2"} rejected', "rejected", "hunter2"),
        ("token=abcd1234&user=ann", "user=ann", "abcd1234"),
        ("AKIAIOSFODNN7EXAMPLE is not allowed", "is not allowed", "IOSFODNN7"),
    ],
)
def test_scrub_secrets_removes_credentials_and_keeps_the_message(
    text: str, kept: str, gone: str
) -> None:
    scrubbed = scrub_secrets(text)
    assert kept in scrubbed
    assert gone not in scrubbed
    assert "[redacted]" in scrubbed


def test_scrub_secrets_leaves_ordinary_text_alone() -> None:
    text = "Agent 'weather' could not reach Open-Meteo (timeout after 10s)."
    assert scrub_secrets(text) == text


def test_completion_to_chunks_and_back_is_the_same_completion() -> None:
    completion: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 7,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Checking.",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    }
    gatherer = ChunkGatherer(id="other", model="other")
    for chunk in completion_chunks(completion):
        gatherer.add(chunk)
    assert gatherer.completion() == completion
    assert gatherer.text == "Checking."


def test_sum_usage_adds_what_each_answer_reported() -> None:
    usage = sum_usage([{"prompt_tokens": 1, "total_tokens": 3}, None, {"total_tokens": 2}])
    assert usage == {"prompt_tokens": 1, "total_tokens": 5}
    assert sum_usage([None]) is None


def test_sse_decoder_counts_pings_without_making_events() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b": ping\n\n: ping\n\ndata: x\n\n")[0].data == "x"
    assert decoder.comments == 2
