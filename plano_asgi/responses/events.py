"""Chat Completions stream chunks turned into Responses API stream events, one by one.

:class:`ResponseEvents` is fed each ``chat.completion.chunk`` as it arrives and returns the
Responses events for it at once (``response.output_text.delta``,
``response.function_call_arguments.delta``, and the ``output_item.added`` /
``content_part.added`` that open an item), so nothing is held back. It keeps the text and
arguments seen so far, because the closing events (``*.done``, ``response.completed``)
carry them whole, and because the conversation state keeps the output.
"""

from __future__ import annotations

import json
from typing import Any

from plano_asgi.responses.output import (
    function_call_item,
    item_id,
    message_item,
    response_object,
    response_usage,
)
from plano_asgi.responses.request import ResponsesRequest
from plano_asgi.sse import encode_event

__all__ = ["ResponseEvents"]

Item = dict[str, Any]


class _Open:
    """One output item being streamed."""

    def __init__(self, index: int, item: Item) -> None:
        self.index = index
        self.item = item
        self.parts: list[str] = []


class ResponseEvents:
    """The event stream of one streamed response."""

    def __init__(
        self, request: ResponsesRequest, *, response_id: str, created_at: float, stored: bool
    ) -> None:
        self.request = request
        self.response_id = response_id
        self.created_at = created_at
        self.stored = stored
        self.model = request.model or ""
        self.usage: Item | None = None
        self.finish_reason: str | None = None
        self._sequence = 0
        self._items: list[_Open] = []
        self._text: _Open | None = None
        self._calls: dict[int, _Open] = {}

    def _event(self, kind: str, /, **fields: Any) -> bytes:
        data = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return encode_event(json.dumps(data, ensure_ascii=False), event=kind)

    def _response(self, status: str, output: list[Item], error: Item | None = None) -> Item:
        return response_object(
            self.request,
            response_id=self.response_id,
            model=self.model,
            output=output,
            status=status,
            usage=self.usage,
            stored=self.stored,
            created_at=self.created_at,
            error=error,
            finish_reason=self.finish_reason,
        )

    def start(self) -> bytes:
        """``response.created`` and ``response.in_progress``."""
        response = self._response("in_progress", [])
        return self._event("response.created", response=response) + self._event(
            "response.in_progress", response=response
        )

    def on_chunk(self, chunk: Any, *, agent: str | None = None) -> bytes:
        """The events for one chat chunk (often one delta event, sometimes none).

        ``agent`` labels its text deltas (``"agent": "<id>"``), as the agent listener does
        when several agents answer one turn.
        """
        if not isinstance(chunk, dict):
            return b""
        if isinstance(chunk.get("model"), str) and chunk["model"]:
            self.model = chunk["model"]
        if chunk.get("usage"):
            self.usage = response_usage(chunk["usage"])
        out = b""
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
            delta = choice.get("delta") or {}
            text = delta.get("content")
            if isinstance(text, str) and text:
                out += self._text_delta(text, agent)
            for call in delta.get("tool_calls") or ():
                if isinstance(call, dict):
                    out += self._call_delta(call)
        return out

    def _open(self, item: Item) -> tuple[_Open, bytes]:
        opened = _Open(len(self._items), item)
        self._items.append(opened)
        event = self._event("response.output_item.added", output_index=opened.index, item=item)
        return opened, event

    def _text_delta(self, text: str, agent: str | None = None) -> bytes:
        out = b""
        if self._text is None:
            item = message_item("", status="in_progress")
            item["content"] = []
            self._text, out = self._open(item)
            out += self._event(
                "response.content_part.added",
                item_id=item["id"],
                output_index=self._text.index,
                content_index=0,
                part={"type": "output_text", "text": "", "annotations": [], "logprobs": []},
            )
        self._text.parts.append(text)
        return out + self._event(
            "response.output_text.delta",
            item_id=self._text.item["id"],
            output_index=self._text.index,
            content_index=0,
            delta=text,
            logprobs=[],
            **({"agent": agent} if agent else {}),
        )

    def _call_delta(self, call: Item) -> bytes:
        out = b""
        index = call.get("index", 0)
        function = call.get("function") or {}
        opened = self._calls.get(index)
        if opened is None:
            item = function_call_item(
                str(call.get("id") or item_id("call")),
                str(function.get("name") or ""),
                "",
                status="in_progress",
            )
            opened, out = self._open(item)
            self._calls[index] = opened
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            opened.parts.append(arguments)
            out += self._event(
                "response.function_call_arguments.delta",
                item_id=opened.item["id"],
                output_index=opened.index,
                delta=arguments,
            )
        return out

    def output(self) -> list[Item]:
        """The completed output items, in output order."""
        items: list[Item] = []
        for opened in self._items:
            whole = "".join(opened.parts)
            if opened.item["type"] == "message":
                items.append(message_item(whole, id=opened.item["id"]))
            else:
                item = opened.item
                items.append(
                    function_call_item(item["call_id"], item["name"], whole, id=item["id"])
                )
        return items

    def completed(self) -> bytes:
        """The closing events of every open item, then ``response.completed``."""
        out = b""
        output = self.output()
        for opened, item in zip(self._items, output, strict=True):
            if item["type"] == "message":
                part = item["content"][0]
                common = {"item_id": item["id"], "output_index": opened.index, "content_index": 0}
                out += self._event(
                    "response.output_text.done", text=part["text"], logprobs=[], **common
                )
                out += self._event("response.content_part.done", part=part, **common)
            else:
                out += self._event(
                    "response.function_call_arguments.done",
                    item_id=item["id"],
                    output_index=opened.index,
                    name=item["name"],
                    arguments=item["arguments"],
                )
            out += self._event("response.output_item.done", output_index=opened.index, item=item)
        response = self._response("completed", output)
        name = "response.incomplete" if response["status"] == "incomplete" else "response.completed"
        return out + self._event(name, response=response)

    def failed(self, message: str, *, code: str = "server_error") -> bytes:
        """``response.failed`` carrying ``message``: the in-band end of a broken stream."""
        error = {"code": code, "message": message}
        response = self._response("failed", self.output(), error)
        return self._event("response.failed", response=response)
