"""A tiny OTLP/HTTP trace receiver that prints every finished trace as a tree.

This is what ``plano-asgi trace`` serves: point ``OTEL_EXPORTER_OTLP_ENDPOINT`` at it
while you develop, and each request through plano-asgi shows up as a tree of routing,
filter, agent and model spans. It keeps nothing once a trace is printed.
"""

from __future__ import annotations

import asyncio
from typing import TextIO

from starlette.types import Receive, Scope, Send

from plano_asgi._asgi import ClientDisconnectedError, header, read_body, route_path, send_json
from plano_asgi.errors import PayloadTooLargeError
from plano_asgi.telemetry.otlp import OTLPDecodeError, decode_export, encode_response
from plano_asgi.telemetry.tree import TraceBuffer, render_trace

__all__ = ["TraceReceiver"]

MAX_BODY = 32 * 1024 * 1024


class TraceReceiver:
    """ASGI app answering ``POST /v1/traces`` (protobuf or JSON); run :meth:`watch` beside it."""

    def __init__(
        self,
        out: TextIO,
        *,
        quiet: float = 1.0,
        orphan_timeout: float = 8.0,
        ascii: bool = False,
    ) -> None:
        self.out = out
        self.buffer = TraceBuffer(quiet=quiet, orphan_timeout=orphan_timeout)
        self.ascii = ascii
        self.spans_received = 0
        self.traces_printed = 0
        self._printed = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if route_path(scope) != "/v1/traces":
            await send_json(send, 404, {"error": "only POST /v1/traces is served here"})
            return
        if scope["method"] != "POST":
            await send_json(send, 405, {"error": "use POST"}, {"allow": "POST"})
            return
        content_type = header(scope, b"content-type") or "application/x-protobuf"
        try:
            body = await read_body(receive, MAX_BODY)
            encoding = header(scope, b"content-encoding") or ""
            spans = decode_export(body, content_type, encoding, max_size=MAX_BODY)
        except ClientDisconnectedError:
            return
        except PayloadTooLargeError:
            await send_json(send, 413, {"error": "export too large"})
            return
        except OTLPDecodeError as exc:
            await send_json(send, 400, {"error": str(exc)})
            return
        self.buffer.add(spans)
        self.spans_received += len(spans)
        payload, response_type = encode_response(content_type)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", response_type.encode("latin-1")),
                    (b"content-length", str(len(payload)).encode("latin-1")),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    def print_ready(self, *, everything: bool = False) -> int:
        """Print the traces that are finished (all of them with ``everything``)."""
        done = self.buffer.drain() if everything else self.buffer.ready()
        for spans, continued in done:
            self.out.write(render_trace(spans, continued=continued, ascii=self.ascii) + "\n\n")
        if done:
            self.out.flush()
            self.traces_printed += len(done)
            self._printed.set()
        return len(done)

    async def watch(self, interval: float = 0.1) -> None:
        """Print finished traces every ``interval`` seconds until cancelled."""
        try:
            while True:
                await asyncio.sleep(interval)
                self.print_ready()
        finally:
            self.print_ready(everything=True)

    async def wait_printed(self, count: int) -> None:
        """Wait until ``count`` traces have been printed in total."""
        while self.traces_printed < count:
            self._printed.clear()
            await self._printed.wait()
