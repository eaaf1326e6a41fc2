"""Streaming translation between Anthropic Messages events and OpenAI chat chunks.

* :class:`AnthropicToOpenAI`: ``message_start`` / ``content_block_*`` / ``message_delta`` /
  ``message_stop`` from a Claude model become ``chat.completion.chunk`` events and
  ``[DONE]`` for an OpenAI client.
* :class:`OpenAIToAnthropic`: chunks from an OpenAI-compatible model become the Anthropic
  event sequence for an Anthropic client, with text and tool-use blocks opened and closed
  as the deltas change kind.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from plano_asgi.sse import ServerSentEvent
from plano_asgi.wire.anthropic import TO_ANTHROPIC_STOP, TO_OPENAI_STOP
from plano_asgi.wire.streams import (
    DONE_EVENT,
    ClientEvent,
    StreamFailedError,
    parse_event_data,
)

__all__ = ["AnthropicToOpenAI", "OpenAIToAnthropic"]


class AnthropicToOpenAI:
    """Anthropic upstream events to OpenAI chunks."""

    def __init__(self, model: str) -> None:
        self.done = False
        self._id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        self._model = model
        self._created = int(time.time())
        self._tool_index: dict[int, int] = {}
        self._usage = {"prompt_tokens": 0, "completion_tokens": 0}

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> ClientEvent:
        data = {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return ClientEvent(None, data)

    def on_event(self, sse: ServerSentEvent) -> list[ClientEvent]:
        data = parse_event_data(sse)
        kind = sse.event or data.get("type")
        if kind == "message_start":
            message = data.get("message", {})
            self._model = message.get("model") or self._model
            usage = message.get("usage") or {}
            self._usage["prompt_tokens"] = int(usage.get("input_tokens", 0))
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            block = data.get("content_block", {})
            if block.get("type") == "tool_use":
                index = len(self._tool_index)
                self._tool_index[int(data.get("index", 0))] = index
                call = {
                    "index": index,
                    "id": block.get("id", ""),
                    "type": "function",
                    "function": {"name": block.get("name", ""), "arguments": ""},
                }
                return [self._chunk({"tool_calls": [call]})]
            if block.get("type") == "text" and block.get("text"):
                return [self._chunk({"content": block["text"]})]
            return []
        if kind == "content_block_delta":
            delta = data.get("delta", {})
            if delta.get("type") == "text_delta":
                return [self._chunk({"content": delta.get("text", "")})]
            if delta.get("type") == "input_json_delta":
                index = self._tool_index.get(int(data.get("index", 0)), 0)
                call = {"index": index, "function": {"arguments": delta.get("partial_json", "")}}
                return [self._chunk({"tool_calls": [call]})]
            return []
        if kind == "message_delta":
            usage = data.get("usage") or {}
            self._usage["completion_tokens"] = int(usage.get("output_tokens", 0))
            stop = (data.get("delta") or {}).get("stop_reason")
            chunk = self._chunk({}, TO_OPENAI_STOP.get(stop or "", "stop"))
            prompt, completion = self._usage["prompt_tokens"], self._usage["completion_tokens"]
            chunk.data["usage"] = {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            }
            return [chunk]
        if kind == "message_stop":
            self.done = True
            return []
        if kind == "error":
            error = data.get("error") or {}
            raise StreamFailedError(
                f"the provider reported an error mid-stream: {error.get('message', '')}"
            )
        return []  # ping, content_block_stop, unknown future events

    def finish(self) -> list[ClientEvent]:
        return [DONE_EVENT]


class OpenAIToAnthropic:
    """OpenAI upstream chunks to Anthropic events."""

    def __init__(self, model: str) -> None:
        self.done = False
        self._model = model
        self._started = False
        self._block: str | None = None  # "text" or "tool:<openai index>"
        self._index = -1
        self._stop: str | None = None
        self._usage = {"input_tokens": 0, "output_tokens": 0}

    def _start(self, data: dict[str, Any]) -> list[ClientEvent]:
        if self._started:
            return []
        self._started = True
        self._model = data.get("model") or self._model
        ident = "msg_" + str(data.get("id") or uuid.uuid4().hex).removeprefix("chatcmpl-")
        message: dict[str, Any] = {
            "id": ident,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return [ClientEvent("message_start", {"type": "message_start", "message": message})]

    def _close_block(self) -> list[ClientEvent]:
        if self._block is None:
            return []
        self._block = None
        stop = {"type": "content_block_stop", "index": self._index}
        return [ClientEvent("content_block_stop", stop)]

    def _open_block(self, key: str, block: dict[str, Any]) -> list[ClientEvent]:
        events = self._close_block()
        self._block = key
        self._index += 1
        start = {"type": "content_block_start", "index": self._index, "content_block": block}
        events.append(ClientEvent("content_block_start", start))
        return events

    def _delta(self, delta: dict[str, Any]) -> ClientEvent:
        body = {"type": "content_block_delta", "index": self._index, "delta": delta}
        return ClientEvent("content_block_delta", body)

    def on_event(self, sse: ServerSentEvent) -> list[ClientEvent]:
        if sse.is_done:
            self.done = True
            return []
        data = parse_event_data(sse)
        if not isinstance(data, dict):
            raise StreamFailedError("the provider sent a malformed stream event")
        if data.get("error"):
            error = data["error"]
            message = error.get("message") if isinstance(error, dict) else str(error)
            raise StreamFailedError(f"the provider reported an error mid-stream: {message}")
        return self.on_chunk(data)

    def on_chunk(self, data: dict[str, Any]) -> list[ClientEvent]:
        """The Anthropic events for one parsed chat chunk (the agent listener calls this)."""
        events = self._start(data)
        usage = data.get("usage")
        if isinstance(usage, dict):
            self._usage["input_tokens"] = int(usage.get("prompt_tokens") or 0)
            self._usage["output_tokens"] = int(usage.get("completion_tokens") or 0)
        for choice in data.get("choices") or ():
            delta = choice.get("delta") or {}
            text = delta.get("content")
            if text:
                if self._block != "text":
                    events += self._open_block("text", {"type": "text", "text": ""})
                events.append(self._delta({"type": "text_delta", "text": text}))
            for call in delta.get("tool_calls") or ():
                key = f"tool:{call.get('index', 0)}"
                function = call.get("function") or {}
                if self._block != key:
                    block = {
                        "type": "tool_use",
                        "id": call.get("id", ""),
                        "name": function.get("name", ""),
                        "input": {},
                    }
                    events += self._open_block(key, block)
                if function.get("arguments"):
                    partial = {"type": "input_json_delta", "partial_json": function["arguments"]}
                    events.append(self._delta(partial))
            if choice.get("finish_reason"):
                self._stop = TO_ANTHROPIC_STOP.get(choice["finish_reason"], "end_turn")
        return events

    def finish(self) -> list[ClientEvent]:
        events = self._start({}) + self._close_block()
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": self._stop or "end_turn", "stop_sequence": None},
            "usage": {
                "input_tokens": self._usage["input_tokens"],
                "output_tokens": self._usage["output_tokens"],
            },
        }
        events.append(ClientEvent("message_delta", delta))
        events.append(ClientEvent("message_stop", {"type": "message_stop"}))
        return events
