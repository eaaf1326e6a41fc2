"""One failover budget per request: stalls, Retry-After and exhausted candidates, with the
official client against fake providers on loopback.

The providers' own timeouts here are long (30 s to the first byte) and the budget short,
so only the budget can explain an answer within each test's ``fail_after`` bound.
"""

from __future__ import annotations

from typing import Any

import anyio
import httpx2
import openai
import pytest

from plano_asgi.gateway.retry import DEFAULT_FAILOVER_BUDGET, RetryPolicy
from tests.gateway.fakes import FakeProvider, Reply, error_reply, openai_completion
from tests.gateway.helpers import FAST_RETRY, make_config, openai_client, provider, running

pytestmark = pytest.mark.anyio

MESSAGES: list[Any] = [{"role": "user", "content": "hi"}]
SLOW = {"connect": 1.0, "first_byte": 30.0, "idle": 30.0}


def _config(*fakes: FakeProvider, budget: float | None = 2.0) -> Any:
    names = ["openai/gpt-4o", "openai/gpt-4o-mini", "openai/o3"][: len(fakes)]
    listener: dict[str, Any] = {"timeouts": SLOW}
    if budget is not None:
        listener["failover_budget"] = budget
    return make_config(
        [provider(name, fake.url) for name, fake in zip(names, fakes, strict=True)],
        listener=listener,
        model_aliases={"smart": {"target": names}},
    )


async def test_a_stream_stalling_before_headers_costs_a_share_of_the_budget() -> None:
    with anyio.fail_after(8):
        async with FakeProvider("stuck") as stuck, FakeProvider("ok") as ok:
            stuck.then(Reply(action="hang"), Reply(action="hang"))
            async with running(_config(stuck, ok)) as url, openai_client(url) as client:
                stream = await client.chat.completions.create(
                    model="smart", messages=MESSAGES, stream=True
                )
                text = "".join(
                    [c.choices[0].delta.content or "" async for c in stream if c.choices]
                )
    assert text == "hello from ok"
    assert len(stuck.requests) == 1  # a stall is not retried while a fallback is left
    assert len(ok.requests) == 1


async def test_every_candidate_stalling_is_a_504_naming_the_last_one_within_the_budget() -> None:
    with anyio.fail_after(8):
        async with FakeProvider("a") as first, FakeProvider("b") as second:
            first.then(*[Reply(action="hang")] * 3)
            second.then(*[Reply(action="hang")] * 3)
            async with running(_config(first, second)) as url, httpx2.AsyncClient() as http:
                reply = await http.post(
                    f"{url}/v1/chat/completions",
                    json={"model": "smart", "messages": MESSAGES, "stream": True},
                )
    assert reply.status_code == 504
    error = reply.json()["error"]
    assert error["target"] == "openai/gpt-4o-mini"
    assert error["hop"] == "provider"
    assert "failover budget" in error["message"]


async def test_a_long_retry_after_goes_to_the_fallback_instead_of_waiting() -> None:
    with anyio.fail_after(8):
        async with FakeProvider("busy") as busy, FakeProvider("ok") as ok:
            busy.then(error_reply(429, "slow down", headers={"retry-after": "25"}))
            config = _config(busy, ok, budget=None)  # the default budget: 30 s
            async with running(config, retry=FAST_RETRY) as url, openai_client(url) as client:
                reply = await client.chat.completions.create(model="smart", messages=MESSAGES)
    assert reply.choices[0].message.content == "hello from ok"
    assert len(busy.requests) == 1


async def test_a_short_retry_after_is_waited_for_when_no_fallback_is_left() -> None:
    with anyio.fail_after(8):
        async with FakeProvider("busy") as busy:
            busy.then(error_reply(429, "slow down", headers={"retry-after": "0.2"}))
            config = make_config([provider("openai/gpt-4o", busy.url)], listener={"timeouts": SLOW})
            async with running(config) as url, openai_client(url) as client:
                reply = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert reply.choices[0].message.content == "hello from busy"
    assert len(busy.requests) == 2


async def test_a_retry_that_would_not_fit_the_budget_is_not_waited_for() -> None:
    with anyio.fail_after(8):
        async with FakeProvider("busy") as busy:
            busy.then(*[error_reply(503, "down", headers={"retry-after": "5"})] * 3)
            config = make_config(
                [provider("openai/gpt-4o", busy.url)],
                listener={"timeouts": SLOW, "failover_budget": 1.0},
            )
            async with running(config, retry=FAST_RETRY) as url, openai_client(url) as client:
                with pytest.raises(openai.APIStatusError) as caught:
                    await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert caught.value.status_code == 502
    assert len(busy.requests) == 1


def test_the_budget_of_a_whole_answer_covers_its_generation() -> None:
    policy = RetryPolicy()
    assert policy.budget_for(stream=True, first_byte=61.0) == DEFAULT_FAILOVER_BUDGET == 30.0
    assert policy.budget_for(stream=False, first_byte=61.0) == 61.0
    assert RetryPolicy(failover_budget=90).budget_for(stream=False, first_byte=61.0) == 90


async def test_a_slow_but_healthy_whole_answer_is_not_cut_by_the_stream_budget() -> None:
    with anyio.fail_after(10):
        async with FakeProvider("slow") as slow:
            slow.then(Reply(body=openai_completion("took a while"), delay=1.5))
            config = make_config(
                [provider("openai/gpt-4o", slow.url)],
                listener={"timeouts": SLOW, "failover_budget": 0.5},
            )
            async with running(config) as url, openai_client(url) as client:
                reply = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert reply.choices[0].message.content == "took a while"
