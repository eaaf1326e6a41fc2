"""The exchange base every served request shares (plano_asgi.exchange.BaseExchange).

A small streaming exchange stands in for the gateway, the listener and the SDK: it reads
the body, then streams ``tick`` events until told to stop, fail or raise. Most tests drive
it with scripted ASGI channels; the disconnect test runs it under a real uvicorn server and
a real client that hangs up mid-stream.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Callable
from typing import Any

import anyio
import httpx2
import pytest
from starlette.types import Message, Receive, Scope, Send

from plano_asgi._asgi import post_scope, read_body
from plano_asgi.errors import PlanoError, RequestError, UpstreamError
from plano_asgi.exchange import BaseExchange, ClientGoneError, lone_exception
from plano_asgi.sse import SSE_HEADERS
from tests.support.servers import serve

pytestmark = pytest.mark.anyio

TICK = b"data: tick\n\n"


class Ticks(BaseExchange):
    """Streams ``ticks`` events (forever when None), then ``ending``: "done", or an error."""

    logger = logging.getLogger("tests.exchange")

    def __init__(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        ticks: int | None = 2,
        ending: BaseException | None = None,
        before_start: BaseException | None = None,
        pause: float = 0,
    ) -> None:
        super().__init__(scope, receive, send)
        self.request_id = "req-1"
        self.ticks = ticks
        self.ending = ending
        self.before_start = before_start
        self.pause = pause
        self.sent_ticks = 0
        self.cancelled = anyio.Event()
        self.streaming = anyio.Event()
        """Set once three ticks went out."""
        self.disconnects = 0

    async def run(self) -> None:
        await self.guard(self._serve)

    async def _serve(self) -> None:
        await read_body(self.receive, 1000)
        await self.race(self._stream)

    async def _stream(self) -> None:
        if self.before_start is not None:
            raise self.before_start
        try:
            await self.start(200, SSE_HEADERS)
            while self.ticks is None or self.sent_ticks < self.ticks:
                await self.body(TICK, True)
                self.sent_ticks += 1
                if self.sent_ticks == 3:
                    self.streaming.set()
                await anyio.sleep(self.pause)
        except anyio.get_cancelled_exc_class():
            self.cancelled.set()
            raise
        if self.ending is not None:
            raise self.ending
        await self.body(b"data: done\n\n", False)

    def on_disconnect(self) -> None:
        self.disconnects += 1


class Channels:
    """A client: one request message, then ``http.disconnect`` when told to leave or once
    the response is complete (as servers report it); records what was sent."""

    def __init__(self, *, fail_on: int | None = None) -> None:
        self.sent: list[Message] = []
        self.fail_on = fail_on
        self.leave = anyio.Event()
        self._asked = False

    async def receive(self) -> Message:
        if not self._asked:
            self._asked = True
            return {"type": "http.request", "body": b"{}", "more_body": False}
        await self.leave.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if self.fail_on is not None and len(self.sent) == self.fail_on:
            raise OSError("connection reset by peer")  # what ASGI 2.4 servers may raise
        self.sent.append(message)
        if self.ended:
            self.leave.set()

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")

    @property
    def ended(self) -> bool:
        last = self.sent[-1] if self.sent else {"type": "none"}
        return last["type"] == "http.response.body" and not last.get("more_body", False)


def exchange(channels: Channels, **options: Any) -> Ticks:
    return Ticks(post_scope("/", []), channels.receive, channels.send, **options)


async def test_a_complete_stream_ends_once_and_the_late_disconnect_cancels_nothing() -> None:
    channels = Channels()
    ticks = exchange(channels)
    await ticks.run()
    assert channels.body == TICK * 2 + b"data: done\n\n"
    assert channels.ended
    assert (ticks.started, ticks.finished, ticks.status) == (True, True, 200)
    assert (ticks.client_left, ticks.disconnects, ticks.error) == (False, 0, None)


async def test_a_disconnect_mid_stream_cancels_the_work() -> None:
    channels = Channels()
    ticks = exchange(channels, ticks=None)
    async with anyio.create_task_group() as group:
        group.start_soon(ticks.run)
        with anyio.fail_after(5):
            await ticks.streaming.wait()
        channels.leave.set()
        with anyio.fail_after(5):
            await ticks.cancelled.wait()
    assert ticks.client_left
    assert ticks.disconnects == 1
    assert not ticks.finished
    assert ticks.error is None  # nobody to tell: no error event was sent
    assert not channels.ended


async def test_an_oserror_while_sending_ends_the_request_cleanly() -> None:
    channels = Channels(fail_on=3)  # the start and two ticks went out, the third fails
    ticks = exchange(channels, ticks=None)
    with anyio.fail_after(5):
        await ticks.run()  # no exception escapes, the endless stream stops
    assert ticks.client_left
    assert ticks.sent_ticks == 2
    assert len(channels.sent) == 3
    assert not ticks.finished


async def test_the_disconnect_watcher_never_outlives_the_race() -> None:
    before = asyncio.all_tasks()
    channels = Channels(fail_on=3)  # the work stops while the watcher still waits
    ticks = exchange(channels, ticks=None)
    with anyio.fail_after(5):
        await ticks.run()
    assert asyncio.all_tasks() == before


class FailingReceive(Channels):
    """A server whose ``receive()`` breaks while the response streams."""

    async def receive(self) -> Message:
        if not self._asked:
            return await super().receive()
        await self.leave.wait()
        raise RuntimeError("receive broke")


async def test_a_watcher_that_fails_cancels_the_work_and_its_error_reaches_the_edge() -> None:
    channels = FailingReceive()
    ticks = exchange(channels, ticks=None)
    async with anyio.create_task_group() as group:
        group.start_soon(ticks.run)
        with anyio.fail_after(5):
            await ticks.streaming.wait()
        channels.leave.set()
    assert ticks.cancelled.is_set()
    assert b"The server failed unexpectedly" in channels.sent[-1]["body"]
    assert b"done" not in channels.body  # an in-band error event ended it, not the work


async def test_an_oserror_on_the_error_envelope_is_no_error_either() -> None:
    channels = Channels(fail_on=0)
    ticks = exchange(channels, before_start=RequestError("Bad field."))
    await ticks.run()
    assert channels.sent == []
    assert ticks.client_left
    assert isinstance(ticks.error, RequestError)


async def test_a_plano_error_before_the_start_is_its_envelope_and_status() -> None:
    channels = Channels()
    error = UpstreamError("Agent 'weather' is down.", hop="agent", target="weather")
    ticks = exchange(channels, before_start=error)
    await ticks.run()
    assert channels.status == 502
    assert json.loads(channels.body) == error.to_dict()
    assert ticks.status == 502
    assert ticks.error is error
    assert channels.ended


async def test_a_plano_error_inside_a_task_group_is_still_itself() -> None:
    error = RequestError("Bad field.")
    channels = Channels()
    ticks = exchange(channels, before_start=ExceptionGroup("one task", [error]))
    await ticks.run()
    assert channels.status == 400
    assert json.loads(channels.body)["error"]["message"] == "Bad field."


async def test_a_bug_is_a_500_envelope_without_its_text_and_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    channels = Channels()
    secret = "KeyError: sk-live-1234 in /srv/app.py line 9"
    ticks = exchange(channels, before_start=KeyError(secret))
    with caplog.at_level(logging.ERROR, logger="tests.exchange"):
        await ticks.run()
    assert channels.status == 500
    body = json.loads(channels.body)
    assert body == PlanoError(Ticks.unexpected_message).to_dict()
    assert "sk-live" not in channels.body.decode()
    assert "Traceback" not in channels.body.decode()
    [record] = caplog.records
    assert record.getMessage() == "request req-1 failed unexpectedly"
    assert record.exc_info is not None
    assert record.exc_info[0] is KeyError


async def test_an_error_after_the_start_is_one_in_band_event_and_the_end() -> None:
    channels = Channels()
    ticks = exchange(channels, ending=UpstreamError("Provider 'p' failed.", hop="x", target="p"))
    await ticks.run()
    assert channels.status == 200  # already sent: the status cannot change any more
    events = channels.body.split(b"\n\n")
    assert events[:2] == [b"data: tick", b"data: tick"]
    assert json.loads(events[2].removeprefix(b"data: "))["error"]["message"] == (
        "Provider 'p' failed."
    )
    assert b"[DONE]" not in channels.body
    assert channels.ended
    assert ticks.finished


async def test_a_client_that_leaves_while_its_request_is_read_gets_nothing() -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    ticks = Ticks(post_scope("/", []), receive, send)
    await ticks.run()
    assert sent == []
    assert ticks.client_left
    assert ticks.sent_ticks == 0


async def test_hooks_shape_the_wire(caplog: pytest.LogCaptureFixture) -> None:
    class Shaped(Ticks):
        def error_body(self, error: PlanoError) -> dict[str, Any]:
            return {"type": "error", "message": error.message}

        def response_headers(self) -> dict[str, str]:
            return {"x-request-id": self.request_id}

        def outgoing(self, message: Message) -> Message:
            if message["type"] == "http.response.start":
                return {**message, "headers": [*message["headers"], (b"x-hop", b"test")]}
            return message

    channels = Channels()
    shaped = Shaped(
        post_scope("/", []), channels.receive, channels.send, before_start=RequestError("No.")
    )
    with caplog.at_level(logging.INFO, logger="tests.exchange"):
        await shaped.run()
    headers = dict(channels.sent[0]["headers"])
    assert (headers[b"x-request-id"], headers[b"x-hop"]) == (b"req-1", b"test")
    assert json.loads(channels.body) == {"type": "error", "message": "No."}
    assert [r.getMessage() for r in caplog.records] == ["request req-1 failed with 400: No."]


def test_lone_exception_unwraps_only_single_member_groups() -> None:
    inner = ValueError("x")
    assert lone_exception(ExceptionGroup("a", [ExceptionGroup("b", [inner])])) is inner
    pair = ExceptionGroup("a", [inner, KeyError("y")])
    assert lone_exception(pair) is pair
    assert issubclass(ClientGoneError, Exception)


async def test_under_uvicorn_a_client_hanging_up_mid_stream_cancels_the_work() -> None:
    made: list[Ticks] = []
    make: Callable[..., Ticks] = functools.partial(Ticks, ticks=None, pause=0.01)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        ticks = make(scope, receive, send)
        made.append(ticks)
        await ticks.run()

    async with serve(app) as server, httpx2.AsyncClient(trust_env=False) as client:
        async with client.stream("POST", server.url, content=b"{}") as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                if line == "data: tick":
                    break  # one event is enough: hang up
        [ticks] = made
        with anyio.fail_after(10):
            await ticks.cancelled.wait()
    assert ticks.client_left
    assert not ticks.finished
