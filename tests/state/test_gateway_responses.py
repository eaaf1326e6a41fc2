"""The gateway's ``/v1/responses`` with the real ``openai`` client: translation and state.

A real uvicorn serves the gateway on 127.0.0.1 in front of a fake chat provider (a real
HTTP server); conversation state is in memory or in the suite's PostgreSQL server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx2
import openai
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from plano_asgi.config import PlanoConfig
from tests.gateway.fakes import (
    FakeProvider,
    Reply,
    error_reply,
    openai_chunk,
    openai_completion,
    openai_stream,
)
from tests.gateway.helpers import make_config, openai_client, provider, running
from tests.support.servers import free_port, serve

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


def gateway_config(url: str, storage: dict[str, Any] | None) -> PlanoConfig:
    top = {"state_storage": storage} if storage is not None else {}
    return make_config([provider("openai/gpt-4o", url)], **top)


@contextlib.asynccontextmanager
async def gateway(
    storage: dict[str, Any] | None, *replies: Reply
) -> AsyncIterator[tuple[FakeProvider, openai.AsyncOpenAI, str]]:
    async with FakeProvider("upstream").then(*replies) as fake:
        async with running(gateway_config(fake.url, storage)) as url:
            client = openai_client(url)
            try:
                yield fake, client, url
            finally:
                await client.close()


@pytest.fixture(params=["memory", "postgres"])
def storage(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.param == "memory":
        return {"type": "memory"}
    url = request.getfixturevalue("shared_postgres_url")
    return {"type": "postgres", "connection_string": url}


def sent_messages(fake: FakeProvider, index: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = fake.requests[index].json()["messages"]
    return messages


async def test_previous_response_id_sends_the_earlier_turns(storage: dict[str, Any]) -> None:
    async with gateway(
        storage,
        Reply(body=openai_completion("Lisbon is lovely in May.")),
        Reply(body=openai_completion("Pack light layers.")),
    ) as (fake, client, _):
        first = await client.responses.create(
            model="openai/gpt-4o",
            instructions="You are a travel assistant.",
            input="Where should I go in May?",
        )
        assert first.id.startswith("resp_")
        assert first.output_text == "Lisbon is lovely in May."
        assert first.to_dict()["store"] is True
        assert first.usage is not None
        assert first.usage.input_tokens == 7
        second = await client.responses.create(
            model="openai/gpt-4o",
            input="What should I pack?",
            previous_response_id=first.id,
        )
        assert second.output_text == "Pack light layers."
        assert second.previous_response_id == first.id
        assert second.id != first.id
    assert sent_messages(fake, 0) == [
        {"role": "system", "content": "You are a travel assistant."},
        {"role": "user", "content": "Where should I go in May?"},
    ]
    # instructions apply to their own request only, as in OpenAI's API
    assert sent_messages(fake, 1) == [
        {"role": "user", "content": "Where should I go in May?"},
        {"role": "assistant", "content": "Lisbon is lovely in May."},
        {"role": "user", "content": "What should I pack?"},
    ]
    assert fake.requests[1].json()["model"] == "gpt-4o"


async def test_a_chain_of_three_turns_carries_every_turn(storage: dict[str, Any]) -> None:
    async with gateway(
        storage, *(Reply(body=openai_completion(f"answer {n}")) for n in range(3))
    ) as (fake, client, _):
        previous = None
        for n in range(3):
            response = await client.responses.create(
                model="openai/gpt-4o", input=f"question {n}", previous_response_id=previous
            )
            previous = response.id
    contents = [m["content"] for m in sent_messages(fake, 2)]
    assert contents == ["question 0", "answer 0", "question 1", "answer 1", "question 2"]


async def test_an_unknown_previous_response_id_is_a_400_naming_it(
    storage: dict[str, Any],
) -> None:
    async with gateway(storage) as (fake, client, _):
        with pytest.raises(openai.BadRequestError) as caught:
            await client.responses.create(
                model="openai/gpt-4o", input="hi", previous_response_id="resp_doesnotexist"
            )
    assert caught.value.status_code == 400
    body: Any = caught.value.body
    assert body["code"] == "previous_response_not_found"
    assert body["param"] == "previous_response_id"
    assert "resp_doesnotexist" in body["message"]
    assert fake.requests == []  # the provider was never called


async def test_store_false_is_answered_but_not_kept(storage: dict[str, Any]) -> None:
    async with gateway(storage) as (_, client, _):
        response = await client.responses.create(model="openai/gpt-4o", input="hi", store=False)
        assert response.to_dict()["store"] is False
        assert response.output_text == "hello from upstream"
        with pytest.raises(openai.BadRequestError):
            await client.responses.create(
                model="openai/gpt-4o", input="again", previous_response_id=response.id
            )


async def test_a_streamed_turn_is_translated_live_and_stored(storage: dict[str, Any]) -> None:
    async with gateway(
        storage,
        Reply(stream=openai_stream(["Lis", "bon", "!"])),
        Reply(body=openai_completion("Yes, trams.")),
    ) as (fake, client, _):
        deltas: list[str] = []
        async with client.responses.stream(model="openai/gpt-4o", input="Where?") as stream:
            async for event in stream:
                if event.type == "response.output_text.delta":
                    deltas.append(event.delta)
            final = await stream.get_final_response()
        assert deltas == ["Lis", "bon", "!"]
        assert final.output_text == "Lisbon!"
        assert final.status == "completed"
        follow = await client.responses.create(
            model="openai/gpt-4o", input="Any trams?", previous_response_id=final.id
        )
        assert follow.output_text == "Yes, trams."
    assert fake.requests[0].json()["stream"] is True
    assert [m["content"] for m in sent_messages(fake, 1)] == ["Where?", "Lisbon!", "Any trams?"]


async def test_function_calls_and_their_outputs_make_the_next_turn() -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city":"Lisbon"}'},
    }
    tools = [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    async with gateway(
        {"type": "memory"},
        Reply(body=openai_completion(None, tool_calls=[call], finish="tool_calls")),
        Reply(body=openai_completion("Sunny, 24 C.")),
    ) as (fake, client, _):
        first = await client.responses.create(
            model="openai/gpt-4o",
            input="Weather in Lisbon?",
            tools=tools,  # type: ignore[arg-type]
        )
        calls = [item for item in first.output if item.type == "function_call"]
        assert [(c.name, c.call_id, c.arguments) for c in calls] == [
            ("get_weather", "call_1", '{"city":"Lisbon"}')
        ]
        second = await client.responses.create(
            model="openai/gpt-4o",
            previous_response_id=first.id,
            input=[{"type": "function_call_output", "call_id": "call_1", "output": "24 C, sun"}],
            tools=tools,  # type: ignore[arg-type]
        )
        assert second.output_text == "Sunny, 24 C."
    assert fake.requests[0].json()["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    assert sent_messages(fake, 1) == [
        {"role": "user", "content": "Weather in Lisbon?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "24 C, sun"},
    ]


async def test_without_state_storage_nothing_is_kept_and_a_previous_id_is_refused() -> None:
    async with gateway(None) as (fake, client, _):
        response = await client.responses.create(model="openai/gpt-4o", input="hi")
        assert response.to_dict()["store"] is False
        with pytest.raises(openai.BadRequestError) as caught:
            await client.responses.create(
                model="openai/gpt-4o", input="hi", previous_response_id=response.id
            )
    body: Any = caught.value.body
    assert "state_storage" in body["message"]
    assert body["param"] == "previous_response_id"
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    ("payload", "param", "fragment"),
    [
        ({"model": "openai/gpt-4o"}, "input", "input: Field required"),
        ({"model": "openai/gpt-4o", "input": 5}, "input", "string or a list"),
        (
            {"model": "openai/gpt-4o", "input": "hi", "tools": [{"type": "web_search"}]},
            "tools",
            "'web_search' is not supported",
        ),
        (
            {"model": "openai/gpt-4o", "input": [{"role": "robot", "content": "x"}]},
            "input",
            "input[0].role",
        ),
        ({"model": "openai/gpt-4o", "input": "hi", "store": "yes"}, "store", "boolean"),
        (
            {"model": "openai/gpt-4o", "input": "hi", "previous_response_id": 7},
            "previous_response_id",
            "valid string",
        ),
    ],
)
async def test_invalid_requests_get_a_400_envelope_naming_the_field(
    payload: dict[str, Any], param: str, fragment: str
) -> None:
    async with gateway({"type": "memory"}) as (fake, _, url), httpx2.AsyncClient() as http:
        answer = await http.post(f"{url}/v1/responses", json=payload)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert fragment in error["message"]
    assert fake.requests == []


async def test_the_gateway_s_own_errors_pass_through_in_their_envelope() -> None:
    async with gateway({"type": "memory"}, error_reply(400, "context too long")) as (
        _,
        client,
        url,
    ):
        with pytest.raises(openai.NotFoundError) as missing:
            await client.responses.create(model="no-such-model", input="hi")
        assert missing.value.status_code == 404
        with pytest.raises(openai.BadRequestError) as upstream:
            await client.responses.create(model="openai/gpt-4o", input="hi")
        assert "context too long" in str(upstream.value)
        async with httpx2.AsyncClient() as http:
            wrong_method = await http.get(f"{url}/v1/responses")
            not_json = await http.post(f"{url}/v1/responses", content=b"{nope")
    assert wrong_method.status_code == 405
    assert not_json.status_code == 400
    assert json.loads(not_json.content)["error"]["message"].startswith(
        "Request body is not valid JSON: "
    )


async def test_an_unreachable_postgres_is_a_503_envelope_naming_the_store() -> None:
    dsn = f"postgresql://plano:s3cret@127.0.0.1:{free_port()}/plano"
    async with gateway({"type": "postgres", "connection_string": dsn}) as (fake, client, _):
        with pytest.raises(openai.InternalServerError) as caught:
            await client.responses.create(model="openai/gpt-4o", input="hi")
    assert caught.value.status_code == 503
    body: Any = caught.value.body
    assert body["store"] == "postgres"
    assert "s3cret" not in json.dumps(body)
    assert len(fake.requests) == 1  # the answer could not be kept, so it is not claimed


async def test_a_stream_cut_mid_way_ends_with_response_failed_and_is_not_kept() -> None:
    async with gateway(
        {"type": "memory"}, Reply(stream=openai_stream(["Lis"], done=False), cut=True)
    ) as (fake, client, _):
        events = []
        stream = await client.responses.create(model="openai/gpt-4o", input="Where?", stream=True)
        async for event in stream:
            events.append(event)
        kinds = [event.type for event in events]
        assert kinds[:2] == ["response.created", "response.in_progress"]
        assert "response.output_text.delta" in kinds
        assert kinds[-1] == "response.failed"
        assert kinds.count("response.failed") == 1
        assert "response.completed" not in kinds
        failed: Any = events[-1]
        assert failed.response.status == "failed"
        assert failed.response.error.message
        with pytest.raises(openai.BadRequestError):
            await client.responses.create(
                model="openai/gpt-4o", input="again", previous_response_id=failed.response.id
            )
    assert len(fake.requests) >= 1


async def test_a_streamed_response_is_not_held_back() -> None:
    """The provider sends its second chunk only once the client saw the first delta: a
    gateway that buffered would wait forever (bounded here by ``fail_after``)."""
    gate = asyncio.Event()

    async def completions(request: Request) -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            yield openai_chunk({"role": "assistant", "content": "first"})
            await gate.wait()
            yield openai_chunk({"content": " second"})
            yield openai_chunk({}, "stop")
            yield b"data: [DONE]\n\n"

        return StreamingResponse(chunks(), media_type="text/event-stream")

    model = Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])
    deltas: list[str] = []
    with anyio.fail_after(10):
        async with serve(model) as upstream:
            config = make_config([provider("openai/gpt-4o", upstream.url)])
            async with running(config) as url:
                client = openai_client(url)
                stream = await client.responses.create(
                    model="openai/gpt-4o", input="go", stream=True
                )
                async for event in stream:
                    if event.type == "response.output_text.delta":
                        deltas.append(event.delta)
                        gate.set()
                await client.close()
    assert deltas == ["first", " second"]
