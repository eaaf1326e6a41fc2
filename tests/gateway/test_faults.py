"""The fault suite: providers misbehaving, and what the client sees through the gateway.

Every test runs the official ``openai`` client against the gateway on real uvicorn, with
fake providers on loopback, and asserts the client's outcome: an answer (possibly from the
fallback), or a clear error; never a hang past the configured timeouts (each test is
bounded by ``fail_after``), never a truncated answer reported as complete.
"""

from __future__ import annotations

import json
import time
from typing import Any

import anyio
import httpx2
import openai
import pytest
from starlette.types import Message

from plano_asgi._asgi import post_scope
from plano_asgi.gateway.app import ModelGateway
from plano_asgi.gateway.upstream import MAX_ANSWER_BYTES
from tests.gateway.fakes import (
    FakeProvider,
    Recorded,
    Reply,
    error_reply,
    openai_chunk,
    openai_completion,
    openai_stream,
)
from tests.gateway.helpers import (
    FAST_RETRY,
    TIMEOUTS,
    make_config,
    openai_client,
    provider,
    running,
)

pytestmark = pytest.mark.anyio

MESSAGES: list[Any] = [{"role": "user", "content": "hi"}]


def one(fake: FakeProvider, **listener: Any) -> Any:
    return make_config([provider("openai/gpt-4o", fake.url)], listener=listener)


def with_fallback(primary: FakeProvider, backup: FakeProvider) -> Any:
    return make_config(
        [provider("openai/gpt-4o", primary.url), provider("openai/gpt-4o-mini", backup.url)],
        model_aliases={"smart": {"target": ["openai/gpt-4o", "openai/gpt-4o-mini"]}},
    )


async def ask(url: str, model: str = "gpt-4o") -> str | None:
    async with openai_client(url) as client:
        reply = await client.chat.completions.create(model=model, messages=MESSAGES)
    return reply.choices[0].message.content


async def ask_stream(
    url: str, model: str = "gpt-4o", *, retries: int | None = None
) -> tuple[str, BaseException | None]:
    """The streamed text and the error the client raised while reading, if any."""
    text = ""
    headers = {} if retries is None else {"x-envoy-max-retries": str(retries)}
    async with openai_client(url, default_headers=headers) as client:
        try:
            stream = await client.chat.completions.create(
                model=model, messages=MESSAGES, stream=True
            )
            async for chunk in stream:
                if chunk.choices:
                    text += chunk.choices[0].delta.content or ""
        except openai.APIError as exc:
            return text, exc
    return text, None


async def test_429_with_retry_after_waits_then_succeeds() -> None:
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            fake.then(error_reply(429, "slow down", headers={"retry-after-ms": "150"}))
            async with running(one(fake)) as url:
                assert await ask(url) == "hello from p"
            assert len(fake.requests) == 2
            assert fake.requests[1].at - fake.requests[0].at >= 0.15


async def test_429_without_retry_after_backs_off_and_succeeds() -> None:
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            fake.then(error_reply(429, "slow down"), error_reply(429, "slow down"))
            async with running(one(fake)) as url:
                assert await ask(url) == "hello from p"
            assert len(fake.requests) == 3


async def test_429_that_outlives_retries_reaches_the_client_with_retry_after() -> None:
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            fake.then(*[error_reply(429, "quota", headers={"retry-after": "1"})] * 3)
            async with running(one(fake, max_retries=1)) as url:
                with pytest.raises(openai.RateLimitError) as caught:
                    await ask(url)
            assert caught.value.response.headers["retry-after"] == "1"
            assert caught.value.body["provider"] == "openai/gpt-4o"  # type: ignore[index]
            assert len(fake.requests) == 2


async def test_500_once_is_retried() -> None:
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            fake.then(error_reply(500, "oops"))
            async with running(one(fake)) as url:
                assert await ask(url) == "hello from p"
            assert len(fake.requests) == 2


async def test_503_every_time_gives_502_naming_the_provider() -> None:
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            fake.then(*[error_reply(503, "down")] * 10)
            async with running(one(fake, max_retries=1)) as url:
                with pytest.raises(openai.APIStatusError) as caught:
                    await ask(url)
            assert caught.value.status_code == 502
            body: Any = caught.value.body
            assert body["target"] == "openai/gpt-4o"
            assert body["hop"] == "provider"
            assert body["upstream_status"] == 503
            assert len(fake.requests) == 2  # max_retries: 1 on the listener


async def test_client_retry_header_can_lower_the_budget_but_not_raise_it() -> None:
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            fake.then(*[error_reply(503, "down")] * 20)
            async with running(one(fake, max_retries=1)) as url:
                for value in ("10", "0"):
                    headers = {"x-envoy-max-retries": value}
                    async with openai_client(url, default_headers=headers) as client:
                        with pytest.raises(openai.APIStatusError):
                            await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
            # "10": the listener's one retry (2 calls); "0": no retry (1 call).
            assert len(fake.requests) == 3


async def test_connection_reset_is_retried() -> None:
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            fake.then(Reply(action="reset"))
            async with running(one(fake)) as url:
                assert await ask(url) == "hello from p"
            assert len(fake.requests) == 2


async def test_provider_closing_a_kept_alive_connection_is_transparent() -> None:
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            fake.then(*[Reply(body=openai_completion("ok"), close=True)] * 3)
            async with running(one(fake, max_retries=0)) as url:
                answers = [await ask(url) for _ in range(3)]
            assert answers == ["ok", "ok", "ok"]
            assert len(fake.requests) == 3


async def test_no_response_at_all_times_out_with_504() -> None:
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            fake.then(*[Reply(action="hang")] * 3)
            async with running(one(fake, max_retries=1)) as url:
                started = time.monotonic()
                with pytest.raises(openai.APIStatusError) as caught:
                    await ask(url)
                elapsed = time.monotonic() - started
            assert caught.value.status_code == 504
            assert "timed out" in caught.value.message
            budget = 2 * (TIMEOUTS["connect"] + TIMEOUTS["first_byte"]) + 0.5
            assert elapsed < budget


async def test_slow_first_token_falls_back() -> None:
    slow = openai_stream(["late"])
    slow.insert(0, 1.0)  # headers now, first event after longer than first_byte
    with anyio.fail_after(10):
        async with FakeProvider("primary") as primary, FakeProvider("backup") as backup:
            primary.then(*[Reply(stream=slow)] * 3)
            async with running(with_fallback(primary, backup)) as url:
                text, error = await ask_stream(url, "smart", retries=0)
            assert error is None
            assert text == "hello from backup"
            assert len(primary.requests) == 1


async def test_stream_cut_mid_answer_ends_with_an_error_not_done() -> None:
    steps = openai_stream(["Hel", "lo"], done=False)[:2]  # role chunk + first piece
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            fake.then(Reply(stream=[*steps, 0.05], cut=True))
            async with running(one(fake)) as url:
                text, error = await ask_stream(url)
            assert text == "Hel"
            assert isinstance(error, openai.APIError)
            assert "incomplete" in error.message
            assert len(fake.requests) == 1  # never retried after the first byte


@pytest.mark.parametrize(
    ("timeouts", "own_client"),
    [(TIMEOUTS, False), ({**TIMEOUTS, "first_byte": 0.3}, True)],
    ids=["gateway-client", "injected-client"],
)
async def test_stream_stall_ends_with_an_error_after_idle_timeout(
    timeouts: dict[str, float], own_client: bool
) -> None:
    steps = openai_stream(["Hel", "lo"])
    steps.insert(2, 5.0)  # stall after the first piece
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake, httpx2.AsyncClient() as client:
            fake.then(Reply(stream=steps))
            options: dict[str, Any] = {"client": client} if own_client else {}
            async with running(one(fake, timeouts=timeouts), **options) as url:
                started = time.monotonic()
                text, error = await ask_stream(url)
                elapsed = time.monotonic() - started
            assert text == "Hel"
            assert isinstance(error, openai.APIError)
            assert "stalled" in error.message
            assert elapsed < timeouts["first_byte"] + timeouts["idle"] + 1.0


async def test_malformed_chunk_mid_stream_ends_with_an_error() -> None:
    steps = openai_stream(["Hel", "lo"])
    steps.insert(2, b"data: {not json\n\n")
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            fake.then(Reply(stream=steps))
            async with running(one(fake)) as url:
                text, error = await ask_stream(url)
            assert text == "Hel"
            assert isinstance(error, openai.APIError)
            assert "malformed" in error.message


async def test_malformed_first_chunk_is_retried() -> None:
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            fake.then(Reply(stream=[b"data: <html>\n\n"]))
            async with running(one(fake)) as url:
                text, error = await ask_stream(url)
            assert (text, error) == ("hello from p", None)
            assert len(fake.requests) == 2


async def test_stream_without_done_is_reported_broken() -> None:
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            fake.then(Reply(stream=openai_stream(["Hello"], done=False)))
            async with running(one(fake)) as url:
                text, error = await ask_stream(url)
            assert text == "Hello"
            assert isinstance(error, openai.APIError)
            assert "without its end marker" in error.message


async def test_context_length_exceeded_is_passed_through_without_retry() -> None:
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake, FakeProvider("b") as backup:
            fake.then(error_reply(400, "too long", code="context_length_exceeded"))
            async with running(with_fallback(fake, backup)) as url:
                with pytest.raises(openai.BadRequestError) as caught:
                    await ask(url, "smart")
            assert caught.value.code == "context_length_exceeded"
            assert caught.value.message == "too long" or "too long" in caught.value.message
            assert len(fake.requests) == 1
            assert backup.requests == []


async def test_content_filter_is_passed_through_without_retry() -> None:
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            fake.then(error_reply(400, "blocked by policy", code="content_filter"))
            async with running(one(fake)) as url:
                with pytest.raises(openai.BadRequestError) as caught:
                    await ask(url)
            assert caught.value.code == "content_filter"
            assert len(fake.requests) == 1


async def test_flapping_primary_always_answers_via_fallback() -> None:
    def flap(request: Recorded) -> Reply:
        if len(primary.requests) % 2:
            return error_reply(503, "flap")
        return Reply(body=openai_completion("hello from primary"))

    with anyio.fail_after(15):
        async with FakeProvider("primary") as primary, FakeProvider("backup") as backup:
            primary.then(*[flap] * 50)
            async with running(with_fallback(primary, backup)) as url:
                headers = {"x-envoy-max-retries": "0"}
                async with openai_client(url, default_headers=headers) as client:
                    answers = []
                    for _ in range(8):
                        reply = await client.chat.completions.create(
                            model="smart", messages=MESSAGES
                        )
                        answers.append(reply.choices[0].message.content)
            assert set(answers) == {"hello from primary", "hello from backup"}
            assert len(backup.requests) == answers.count("hello from backup")


async def test_stream_error_before_first_byte_falls_back_on_connection_refused() -> None:
    with anyio.fail_after(10):
        async with FakeProvider("backup") as backup:
            dead = FakeProvider("dead")
            async with dead:
                dead_url = dead.url
            config = make_config(
                [provider("openai/gpt-4o", dead_url), provider("openai/gpt-4o-mini", backup.url)],
                model_aliases={"smart": {"target": ["gpt-4o", "gpt-4o-mini"]}},
            )
            async with running(config) as url:
                text, error = await ask_stream(url, "smart")
            assert (text, error) == ("hello from backup", None)


async def test_client_disconnect_cancels_the_provider_call() -> None:
    steps: list[Any] = [openai_chunk({"role": "assistant", "content": "a"}), 5.0]
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            fake.then(Reply(stream=steps))
            async with running(one(fake)) as url:
                async with openai_client(url) as client:
                    stream = await client.chat.completions.create(
                        model="gpt-4o", messages=MESSAGES, stream=True
                    )
                    async for _chunk in stream:
                        break
                    await stream.close()
                with anyio.fail_after(2):
                    await fake.client_gone.wait()


async def test_a_send_that_fails_mid_stream_ends_the_request_and_the_provider_call() -> None:
    """An ASGI 2.4 server may raise OSError from ``send`` once the client is gone."""
    steps: list[Any] = [openai_chunk({"role": "assistant", "content": "a"}), 5.0]
    sent: list[Message] = []
    body = json.dumps({"model": "gpt-4o", "messages": MESSAGES, "stream": True}).encode()
    asked = False

    async def receive() -> Message:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": body, "more_body": False}
        await anyio.sleep_forever()  # the server never noticed: only send fails
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body" and sent:
            raise OSError("connection reset by peer")
        sent.append(message)

    scope = post_scope("/v1/chat/completions", [(b"content-type", b"application/json")])
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            fake.then(Reply(stream=steps))
            async with ModelGateway(config=one(fake), retry=FAST_RETRY) as gateway:
                await gateway(scope, receive, send)  # returns: no exception, no hang
                with anyio.fail_after(2):
                    await fake.client_gone.wait()  # the provider call was closed
    assert [m["type"] for m in sent] == ["http.response.start"]
    assert sent[0]["status"] == 200


async def test_keepalive_comments_do_not_keep_a_stalled_stream_open() -> None:
    # One event, then only ": ping" comments, far more often than the idle timeout (0.3 s),
    # for 4 s, then the rest: the gateway must end the stream after idle, not relay on.
    pings: list[Any] = [step for _ in range(40) for step in (0.1, b": ping\n\n")]
    steps = [
        openai_chunk({"role": "assistant", "content": "partial"}),
        *pings,
        openai_chunk({"content": " rest"}, "stop"),
        b"data: [DONE]\n\n",
    ]
    with anyio.fail_after(3):
        async with FakeProvider("p") as fake:
            fake.then(Reply(stream=steps))
            async with running(one(fake)) as url, openai_client(url) as client:
                stream = await client.chat.completions.create(
                    model="gpt-4o", messages=MESSAGES, stream=True
                )
                pieces: list[str] = []

                async def read_all() -> None:
                    async for chunk in stream:
                        if chunk.choices:
                            pieces.append(chunk.choices[0].delta.content or "")

                with pytest.raises(openai.APIError) as caught:
                    await read_all()
    assert "".join(pieces) == "partial"
    assert "stalled" in str(caught.value)


async def test_an_answer_over_the_size_cap_falls_back_then_is_a_502_naming_the_provider() -> None:
    huge = openai_completion("x" * (MAX_ANSWER_BYTES + 1))
    with anyio.fail_after(20):
        async with FakeProvider("big") as big, FakeProvider("small") as small:
            big.then(*[Reply(body=huge)] * 3)
            async with running(with_fallback(big, small)) as url:
                assert await ask(url, "smart") == "hello from small"
            assert len(big.requests) == 1  # not retried: the same provider would do it again
            async with running(one(big)) as url:
                with pytest.raises(openai.APIStatusError) as caught:
                    await ask(url)
    assert caught.value.status_code == 502
    body: Any = caught.value.body
    assert body["hop"] == "provider"
    assert body["target"] == "openai/gpt-4o"
    assert f"larger than {MAX_ANSWER_BYTES} bytes" in body["message"]
