"""The official ``openai`` and ``anthropic`` clients against the gateway, both provider kinds."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx2
import openai
import pytest
from starlette.responses import PlainTextResponse

from plano_asgi.gateway.app import ModelGateway
from plano_asgi.outbound import AiohttpClient
from tests.gateway.fakes import (
    FakeProvider,
    Reply,
    anthropic_event,
    anthropic_message,
    openai_chunk,
    openai_completion,
)
from tests.gateway.helpers import (
    anthropic_client,
    make_config,
    openai_client,
    provider,
    running,
)
from tests.support.servers import serve

pytestmark = pytest.mark.anyio

WEATHER_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


async def test_openai_client_streams_and_completes() -> None:
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            config = make_config([provider("openai/gpt-4o", fake.url)])
            async with running(config) as url, openai_client(url) as client:
                reply = await client.chat.completions.create(
                    model="openai/gpt-4o", messages=[{"role": "user", "content": "hi"}]
                )
                stream = await client.chat.completions.create(
                    model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
                )
                chunks = [chunk async for chunk in stream]
            assert reply.choices[0].message.content == "hello from p"
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            assert text == "hello from p"
            assert chunks[-1].choices[0].finish_reason == "stop"
            sent = fake.requests[0]
            assert sent.path == "/v1/chat/completions"
            assert sent.json()["model"] == "gpt-4o"  # prefix stripped
            assert sent.headers["authorization"] == "Bearer sk-openai-gpt-4o-secret"


async def test_unknown_model_is_404_listing_available_models() -> None:
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            config = make_config(
                [provider("openai/gpt-4o", fake.url), provider("anthropic/*", fake.url)],
                model_aliases={"fast": {"target": "gpt-4o"}},
            )
            async with running(config) as url, openai_client(url) as client:
                with pytest.raises(openai.NotFoundError) as caught:
                    await client.chat.completions.create(
                        model="nope", messages=[{"role": "user", "content": "hi"}]
                    )
            assert caught.value.code == "model_not_found"
            assert "anthropic/*, fast, openai/gpt-4o" in caught.value.message
            assert fake.requests == []


async def test_models_are_listed_sorted_with_aliases() -> None:
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            config = make_config(
                [
                    provider("openai/gpt-4o", fake.url),
                    provider("groq/llama-3.1-8b", fake.url, name="fast-llama"),
                    provider("anthropic/*", fake.url),
                ],
                model_aliases={"cheap": {"target": "fast-llama"}},
            )
            async with running(config) as url, openai_client(url) as client:
                models = [model.id async for model in client.models.list()]
            assert models == ["cheap", "fast-llama", "openai/gpt-4o"]


async def test_openai_client_uses_a_claude_model_with_tools() -> None:
    tool_use = {"id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
    with anyio.fail_after(10):
        async with FakeProvider("claude", api="anthropic") as fake:
            fake.then(
                Reply(body=anthropic_message("Let me check.", tool_use=tool_use, stop="tool_use"))
            )
            config = make_config([provider("anthropic/claude-sonnet-4", fake.url)])
            async with running(config) as url, openai_client(url) as client:
                reply = await client.chat.completions.create(
                    model="claude-sonnet-4",
                    messages=[
                        {"role": "system", "content": "Be brief."},
                        {"role": "user", "content": "Weather in Paris?"},
                    ],
                    tools=[WEATHER_TOOL],
                    tool_choice="required",
                )
            choice = reply.choices[0]
            assert choice.finish_reason == "tool_calls"
            assert choice.message.content == "Let me check."
            call: Any = choice.message.tool_calls[0]  # type: ignore[index]
            assert (call.id, call.function.name) == ("toolu_1", "get_weather")
            assert json.loads(call.function.arguments) == {"city": "Paris"}
            assert reply.usage is not None
            assert reply.usage.prompt_tokens == 11
            sent = fake.requests[0]
            assert sent.path == "/v1/messages"
            assert sent.headers["x-api-key"] == "sk-anthropic-claude-sonnet-4-secret"
            assert sent.headers["anthropic-version"] == "2023-06-01"
            assert "authorization" not in sent.headers
            body = sent.json()
            assert body["system"] == "Be brief."
            assert body["messages"] == [
                {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]}
            ]
            assert body["tools"][0]["input_schema"]["properties"] == {"city": {"type": "string"}}
            assert body["tool_choice"] == {"type": "any"}
            assert body["max_tokens"] == 4096


async def test_openai_client_streams_from_a_claude_model() -> None:
    steps: list[Any] = [
        anthropic_event("message_start", {"message": {"id": "msg_1", "model": "claude-x",
                                                      "usage": {"input_tokens": 9}}}),
        anthropic_event("ping", {}),
        anthropic_event("content_block_start",
                        {"index": 0, "content_block": {"type": "text", "text": ""}}),
        anthropic_event("content_block_delta",
                        {"index": 0, "delta": {"type": "text_delta", "text": "Checking"}}),
        anthropic_event("content_block_stop", {"index": 0}),
        anthropic_event("content_block_start", {"index": 1, "content_block": {
            "type": "tool_use", "id": "toolu_9", "name": "get_weather", "input": {}}}),
        anthropic_event("content_block_delta", {"index": 1, "delta": {
            "type": "input_json_delta", "partial_json": '{"city": '}}),
        anthropic_event("content_block_delta", {"index": 1, "delta": {
            "type": "input_json_delta", "partial_json": '"Oslo"}'}}),
        anthropic_event("content_block_stop", {"index": 1}),
        anthropic_event("message_delta", {"delta": {"stop_reason": "tool_use"},
                                          "usage": {"output_tokens": 12}}),
        anthropic_event("message_stop", {}),
    ]  # fmt: skip
    with anyio.fail_after(10):
        async with FakeProvider("claude", api="anthropic") as fake:
            fake.then(Reply(stream=steps))
            config = make_config([provider("anthropic/claude-x", fake.url)])
            async with running(config) as url, openai_client(url) as client:
                stream = await client.chat.completions.create(
                    model="claude-x",
                    messages=[{"role": "user", "content": "Oslo?"}],
                    tools=[WEATHER_TOOL],
                    stream=True,
                )
                chunks = [chunk async for chunk in stream]
            deltas = [c.choices[0].delta for c in chunks if c.choices]
            assert "".join(d.content or "" for d in deltas) == "Checking"
            calls = [call for d in deltas for call in d.tool_calls or ()]
            assert calls[0].id == "toolu_9"
            assert calls[0].function.name == "get_weather"  # type: ignore[union-attr]
            args = "".join(call.function.arguments or "" for call in calls)  # type: ignore[union-attr]
            assert json.loads(args) == {"city": "Oslo"}
            assert chunks[-1].choices[0].finish_reason == "tool_calls"
            assert chunks[-1].usage is not None
            assert chunks[-1].usage.completion_tokens == 12
            assert fake.requests[0].json()["stream"] is True


async def test_anthropic_client_uses_an_openai_model_with_tools() -> None:
    calls = [{"id": "call_1", "type": "function",
              "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}}]  # fmt: skip
    with anyio.fail_after(10):
        async with FakeProvider("gpt") as fake:
            fake.then(Reply(body=openai_completion(None, tool_calls=calls, finish="tool_calls")))
            config = make_config([provider("openai/gpt-4o", fake.url)])
            async with running(config) as url, anthropic_client(url) as client:
                message = await client.messages.create(
                    model="gpt-4o",
                    max_tokens=100,
                    system="Be brief.",
                    tools=[
                        {
                            "name": "get_weather",
                            "description": "Weather",
                            "input_schema": {"type": "object"},
                        }
                    ],  # fmt: skip
                    messages=[
                        {"role": "user", "content": "Rome?"},
                        {
                            "role": "assistant",
                            "content": [
                                {
                                    "type": "tool_use",
                                    "id": "call_0",
                                    "name": "get_weather",
                                    "input": {"city": "Milan"},
                                }
                            ],
                        },
                        {
                            "role": "user",
                            "content": [
                                {
                                    "type": "tool_result",
                                    "tool_use_id": "call_0",
                                    "content": "sunny",
                                },
                                {"type": "text", "text": "And Rome?"},
                            ],
                        },
                    ],  # fmt: skip
                )
            assert message.stop_reason == "tool_use"
            block: Any = message.content[0]
            assert (block.type, block.id, block.input) == ("tool_use", "call_1", {"city": "Rome"})
            assert message.usage.input_tokens == 7
            body = fake.requests[0].json()
            assert fake.requests[0].headers["authorization"] == "Bearer sk-openai-gpt-4o-secret"
            roles = [m["role"] for m in body["messages"]]
            assert roles == ["system", "user", "assistant", "tool", "user"]
            assert body["messages"][2]["tool_calls"][0]["function"]["name"] == "get_weather"
            assert body["messages"][3] == {"role": "tool", "tool_call_id": "call_0",
                                           "content": "sunny"}  # fmt: skip
            assert body["max_tokens"] == 100


async def test_anthropic_client_streams_from_an_openai_model() -> None:
    steps: list[Any] = [
        openai_chunk({"role": "assistant", "content": ""}),
        openai_chunk({"content": "Hel"}),
        openai_chunk({"content": "lo"}),
        openai_chunk({}, "stop"),
        openai_chunk({}, None, usage={"prompt_tokens": 3, "completion_tokens": 2}),
        b"data: [DONE]\n\n",
    ]
    with anyio.fail_after(10):
        async with FakeProvider("gpt") as fake:
            fake.then(Reply(stream=steps))
            config = make_config([provider("openai/gpt-4o", fake.url)])
            async with running(config) as url, anthropic_client(url) as client:
                async with client.messages.stream(
                    model="gpt-4o", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
                ) as stream:
                    text = "".join([piece async for piece in stream.text_stream])
                    final = await stream.get_final_message()
            assert text == "Hello"
            assert final.stop_reason == "end_turn"
            assert final.usage.output_tokens == 2
            assert fake.requests[0].json()["stream_options"] == {"include_usage": True}


async def test_anthropic_client_reaches_a_claude_model_natively() -> None:
    with anyio.fail_after(10):
        async with FakeProvider("claude", api="anthropic") as fake:
            config = make_config([provider("anthropic/claude-x", fake.url)])
            async with running(config) as url, anthropic_client(url) as client:
                message = await client.messages.create(
                    model="claude-x", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
                )
                async with client.messages.stream(
                    model="claude-x", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
                ) as stream:
                    text = "".join([piece async for piece in stream.text_stream])
            assert message.content[0].text == "hello from claude"  # type: ignore[union-attr]
            assert text == "hello from claude"
            assert fake.requests[0].json()["model"] == "claude-x"


async def test_anthropic_client_gets_errors_in_anthropic_shape() -> None:
    import anthropic

    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            config = make_config([provider("openai/gpt-4o", fake.url)])
            async with running(config) as url, anthropic_client(url) as client:
                with pytest.raises(anthropic.NotFoundError) as caught:
                    await client.messages.create(
                        model="nope", max_tokens=10, messages=[{"role": "user", "content": "x"}]
                    )
            body: Any = caught.value.body
            assert body["type"] == "error"
            assert body["error"]["type"] == "not_found_error"


async def test_request_without_model_uses_the_default_provider() -> None:
    with anyio.fail_after(10):
        async with FakeProvider("a") as first, FakeProvider("b") as second:
            second.then(
                Reply(
                    body=openai_completion("hello from b"),
                    headers={"x-ratelimit-remaining-tokens": "99", "set-cookie": "a=b"},
                )
            )
            config = make_config(
                [
                    provider("openai/gpt-4o", first.url),
                    provider("openai/gpt-4o-mini", second.url, default=True),
                ]
            )
            async with running(config) as url, httpx2.AsyncClient() as http:
                response = await http.post(
                    f"{url}/v1/chat/completions",
                    json={"messages": [{"role": "user", "content": "hi"}]},
                )
            assert response.status_code == 200
            assert response.json()["choices"][0]["message"]["content"] == "hello from b"
            assert response.headers["x-plano-model"] == "openai/gpt-4o-mini"
            assert response.headers["x-ratelimit-remaining-tokens"] == "99"
            assert "set-cookie" not in response.headers


async def test_wrapping_an_app_passes_other_paths_and_mounts_relative() -> None:
    inner = PlainTextResponse("inner app")
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            config = make_config([provider("openai/gpt-4o", fake.url)])
            async with ModelGateway(inner, config=config) as gateway, serve(gateway) as srv:
                async with httpx2.AsyncClient(base_url=srv.url) as http:
                    other = await http.get("/somewhere")
                    health = await http.get("/healthz")
                    wrong = await http.get("/v1/chat/completions")
            assert other.text == "inner app"
            assert health.json() == {"status": "ok", "listener": "llm"}
            assert wrong.status_code == 405


async def test_served_alone_handles_lifespan_and_404() -> None:
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            config = make_config([provider("openai/gpt-4o", fake.url)])
            gateway = ModelGateway(None, config=config)  # the form serving.py uses
            async with serve(gateway, lifespan="on") as srv, httpx2.AsyncClient() as http:
                missing = await http.get(f"{srv.url}/nope")
                reply = await http.post(
                    f"{srv.url}/v1/chat/completions",
                    json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
                )
            assert missing.status_code == 404
            assert reply.status_code == 200
            client = gateway.setup.deps.client
            assert isinstance(client, AiohttpClient)
            assert client.is_closed  # closed by lifespan shutdown


async def test_anthropic_client_sees_an_error_event_when_the_stream_breaks() -> None:
    import anthropic

    steps: list[Any] = [openai_chunk({"role": "assistant", "content": "Hel"}), 0.05]
    with anyio.fail_after(10):
        async with FakeProvider("gpt") as fake:
            fake.then(Reply(stream=steps, cut=True))
            config = make_config([provider("openai/gpt-4o", fake.url)])
            async with running(config) as url, anthropic_client(url) as client:
                pieces: list[str] = []

                async def read_all() -> None:
                    async with client.messages.stream(
                        model="gpt-4o", max_tokens=50, messages=[{"role": "user", "content": "x"}]
                    ) as stream:
                        async for piece in stream.text_stream:
                            pieces.append(piece)

                with pytest.raises(anthropic.APIStatusError) as caught:
                    await read_all()
            assert pieces == ["Hel"]
            assert "incomplete" in str(caught.value)


async def test_injected_client_is_used_and_left_open() -> None:
    seen: list[str] = []

    async def hook(request: httpx2.Request) -> None:
        seen.append(str(request.url))

    with anyio.fail_after(10):
        async with (
            FakeProvider("p") as fake,
            httpx2.AsyncClient(event_hooks={"request": [hook]}) as own,
        ):
            config = make_config([provider("openai/gpt-4o", fake.url)])
            async with running(config, client=own) as url, openai_client(url) as client:
                reply = await client.chat.completions.create(
                    model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
                )
            assert reply.choices[0].message.content == "hello from p"
            assert seen == [f"{fake.url}/v1/chat/completions"]
            assert not own.is_closed
