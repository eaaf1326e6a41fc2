"""``POST /v1/responses`` served on a Chat Completions app, with conversation state.

:class:`ResponsesEndpoint` reads a Responses request, puts the stored conversation of its
``previous_response_id`` in front of its ``input`` (:mod:`plano_asgi.state`), and calls
the wrapped chat app in-process with the equivalent ``/v1/chat/completions`` request, so
everything that app does (model resolution, filters, retries, rate limits, tracing,
errors) applies unchanged. The chat answer comes back as a ``response`` object, or as
Responses stream events translated chunk by chunk as they arrive. The answered turn is
then stored (unless ``store: false``) under the response's id.

Errors keep the OpenAI envelope: the chat app's own (404 unknown model, 429, 502, ...)
pass through as they are; an unknown ``previous_response_id`` is a 400 naming it; a store
that cannot be reached is a 503 naming the store. A stream that breaks ends with one
``response.failed`` event.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plano_asgi._asgi import ClientDisconnectedError, read_json_object, send_error, send_json
from plano_asgi.errors import PlanoError, RequestError, StateStoreError, UpstreamError
from plano_asgi.responses.events import ResponseEvents
from plano_asgi.responses.output import output_items, response_object, response_usage
from plano_asgi.responses.request import ResponsesRequest, chat_request, parse_responses_request
from plano_asgi.sse import SSEDecoder
from plano_asgi.state import ConversationStore, expand_input, new_response_id, record

__all__ = ["CHAT_PATH", "ResponsesEndpoint"]

logger = logging.getLogger("plano_asgi.responses")

CHAT_PATH = "/v1/chat/completions"
_DROPPED_HEADERS = (b"content-length", b"content-type")


class ResponsesEndpoint:
    """An ASGI app answering ``POST /v1/responses`` through ``chat``, a chat completions app.

    ``store`` keeps conversation state (None: nothing is kept, and a
    ``previous_response_id`` is unknown); ``max_body_bytes`` caps the request body.
    """

    def __init__(
        self,
        chat: ASGIApp,
        *,
        store: ConversationStore | None,
        max_body_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self.chat = chat
        self.store = store
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            _, body = await read_json_object(receive, self.max_body_bytes)
            request = parse_responses_request(body)
            if request.previous_response_id is not None and self.store is None:
                raise _no_state(request.previous_response_id)
            conversation = await expand_input(
                self.store, request.previous_response_id, request.input
            )
        except ClientDisconnectedError:
            return
        except PlanoError as exc:
            logger.info("responses request failed with %d: %s", exc.status_code, exc.message)
            await send_error(send, exc)
            return
        turn = _Turn(self.store, request, conversation, send)
        payload = json.dumps(chat_request(request, conversation), ensure_ascii=False).encode()
        chat_scope = _chat_scope(scope, len(payload))
        await self.chat(chat_scope, _chat_receive(payload, receive), turn.send)


def _no_state(response_id: str) -> RequestError:
    error = RequestError(
        f"Previous response with id '{response_id}' not found: this server keeps no "
        "conversation state (configure state_storage).",
        param="previous_response_id",
        code="previous_response_not_found",
    )
    return error


def _chat_scope(scope: Scope, length: int) -> Scope:
    headers = [(k, v) for k, v in scope.get("headers", ()) if k not in _DROPPED_HEADERS]
    headers += [(b"content-type", b"application/json"), (b"content-length", str(length).encode())]
    path = scope.get("root_path", "") + CHAT_PATH
    return {**scope, "path": path, "raw_path": path.encode(), "headers": headers}


def _chat_receive(payload: bytes, receive: Receive) -> Receive:
    sent = False

    async def chat_receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": payload, "more_body": False}
        return await receive()  # the client's disconnect reaches the chat app

    return chat_receive


class _Turn:
    """The chat app's answer to one request, turned into the Responses API on its way out."""

    def __init__(
        self,
        store: ConversationStore | None,
        request: ResponsesRequest,
        conversation: list[dict[str, Any]],
        send: Send,
    ) -> None:
        self.store = store
        self.request = request
        self.conversation = conversation
        self._send = send
        self.response_id = new_response_id()
        self.created_at = time.time()
        self.stored = store is not None and request.store
        self.mode: str | None = None
        """``pass`` (an error relayed as is), ``stream`` or ``json``, once the head arrived."""
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []
        self.events = ResponseEvents(
            request, response_id=self.response_id, created_at=self.created_at, stored=self.stored
        )
        self.decoder = SSEDecoder()
        self.ended = False

    async def send(self, message: Message) -> None:
        # Called by the chat app: anything raised here would be taken for its own fault.
        try:
            if message["type"] == "http.response.start":
                await self._start(message)
            elif message["type"] == "http.response.body":
                await self._body(message)
        except Exception:
            logger.exception("responses translation failed")
            if self.mode == "stream" and not self.ended:
                self.ended = True
                await self._send_body(self.events.failed("Internal gateway error"), more=False)

    async def _start(self, message: Message) -> None:
        status = message["status"]
        self.headers = [
            (k, v) for k, v in message.get("headers", ()) if k.lower() not in _DROPPED_HEADERS
        ]
        if status != 200:
            self.mode = "pass"
            await self._send(message)
        elif self.request.stream:
            self.mode = "stream"
            head = [*self.headers, (b"content-type", b"text/event-stream; charset=utf-8")]
            await self._send({"type": "http.response.start", "status": 200, "headers": head})
            await self._send_body(self.events.start())
        else:
            self.mode = "json"

    async def _body(self, message: Message) -> None:
        chunk = message.get("body", b"")
        last = not message.get("more_body", False)
        if self.mode == "pass":
            await self._send(message)
        elif self.mode == "json":
            self.chunks.append(chunk)
            if last:
                await self._answer(b"".join(self.chunks))
        elif self.mode == "stream":
            await self._stream(chunk, last)

    async def _send_body(self, data: bytes, *, more: bool = True) -> None:
        if data or not more:
            await self._send({"type": "http.response.body", "body": data, "more_body": more})

    async def _keep(self, output: list[dict[str, Any]], model: str) -> None:
        if not self.stored:
            return
        await record(
            self.store,
            self.response_id,
            input_items=self.conversation,
            output_items=output,
            model=model,
            previous_response_id=self.request.previous_response_id,
            created_at=self.created_at,
        )

    async def _answer(self, raw: bytes) -> None:
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self.headers]
        try:
            completion = json.loads(raw)
            if not isinstance(completion, dict):
                raise ValueError
        except ValueError:
            error: PlanoError = UpstreamError(
                "The model answered something that is not a chat completion.",
                hop="provider",
                target=self.request.model or "default",
            )
            await send_json(self._send, error.status_code, error.to_dict(), headers)
            return
        output = output_items(completion)
        model = str(completion.get("model") or self.request.model or "")
        try:
            await self._keep(output, model)
        except StateStoreError as exc:
            await send_json(self._send, exc.status_code, exc.to_dict(), headers)
            return
        choices = completion.get("choices") or [{}]
        body = response_object(
            self.request,
            response_id=self.response_id,
            model=model,
            output=output,
            usage=response_usage(completion.get("usage")),
            stored=self.stored,
            created_at=self.created_at,
            finish_reason=choices[0].get("finish_reason"),
        )
        await send_json(self._send, 200, body, headers)

    async def _stream(self, chunk: bytes, last: bool) -> None:
        out = b""
        for event in self.decoder.feed(chunk):
            if self.ended:
                break
            if event.is_done:
                out += await self._complete()
                continue
            try:
                data = json.loads(event.data)
            except ValueError:
                data = None
            if isinstance(data, dict) and data.get("error"):
                error = data["error"]
                text = error.get("message") if isinstance(error, dict) else str(error)
                self.ended = True
                out += self.events.failed(str(text))
                continue
            out += self.events.on_chunk(data)
        if last and not self.ended:
            self.ended = True
            out += self.events.failed("The model's stream ended before it finished.")
        await self._send_body(out, more=not last)

    async def _complete(self) -> bytes:
        self.ended = True
        try:
            await self._keep(self.events.output(), self.events.model)
        except StateStoreError as exc:
            return self.events.failed(exc.message, code=exc.code or "state_store_unavailable")
        return self.events.completed()
