"""Preference-based model routing and the ``/routing/*`` decision API, with the embedded
router deciding, against fake providers on loopback and the official clients."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx2
import openai
import pytest

from plano_asgi.chat import ChatMessage
from plano_asgi.errors import ConfigError
from plano_asgi.gateway.preferences import (
    ModelRoute,
    PreferenceRouter,
    conversation,
    local_preference_router,
)
from plano_asgi.routing.base import Router
from tests.gateway.fakes import FakeProvider, Reply, error_reply, openai_completion
from tests.gateway.helpers import make_config, openai_client, provider, running

pytestmark = pytest.mark.anyio

PREFERENCES: list[dict[str, Any]] = [
    {
        "name": "code_generation",
        "description": "generating new code, writing functions, or creating boilerplate",
        "models": ["anthropic/claude-sonnet-4-6", "openai/gpt-4o"],
    },
    {
        "name": "travel_planning",
        "description": "planning trips: itineraries, places to visit, hotels and flights",
        "models": ["openai/gpt-4o"],
    },
]
CODE_TURN = "write a function in javascript that debounces another function"
TRAVEL_TURN = "Plan a three-day itinerary for Lisbon with museums and a day trip to Sintra."
SMALL_TALK = "how many calories are in a banana?"


def _providers(fakes: dict[str, FakeProvider]) -> list[dict[str, Any]]:
    return [
        provider("openai/gpt-4o-mini", fakes["mini"].url, default=True),
        provider("openai/gpt-4o", fakes["gpt4o"].url),
        provider("anthropic/claude-sonnet-4-6", fakes["sonnet"].url),
    ]


def _config(fakes: dict[str, FakeProvider], **top: Any) -> Any:
    return make_config(_providers(fakes), **top)


class _Fakes:
    def __init__(self) -> None:
        self.by_name = {
            "mini": FakeProvider("mini"),
            "gpt4o": FakeProvider("gpt4o"),
            "sonnet": FakeProvider("sonnet", api="anthropic"),
        }

    async def __aenter__(self) -> dict[str, FakeProvider]:
        for fake in self.by_name.values():
            await fake.__aenter__()
        return self.by_name

    async def __aexit__(self, *exc: object) -> None:
        for fake in self.by_name.values():
            await fake.__aexit__(*exc)


def _ask(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


async def test_each_turn_goes_to_the_first_model_of_its_category() -> None:
    with anyio.fail_after(30):
        async with _Fakes() as fakes:
            config = _config(fakes, routing_preferences=PREFERENCES)
            async with running(config) as url, openai_client(url) as client:
                code = await client.chat.completions.create(
                    model="openai/gpt-4o-mini", messages=_ask(CODE_TURN)
                )
                travel = await client.chat.completions.create(
                    model="openai/gpt-4o-mini", messages=_ask(TRAVEL_TURN)
                )
                chat = await client.chat.completions.create(
                    model="openai/gpt-4o-mini", messages=_ask(SMALL_TALK)
                )
    assert code.choices[0].message.content == "hello from sonnet"
    assert fakes["sonnet"].requests[0].json()["model"] == "claude-sonnet-4-6"
    assert travel.choices[0].message.content == "hello from gpt4o"
    # No category fits: the model the client asked for answers.
    assert chat.choices[0].message.content == "hello from mini"
    assert [len(f.requests) for f in fakes.values()] == [1, 1, 1]


async def test_a_failing_first_model_falls_back_to_the_next_of_the_category() -> None:
    with anyio.fail_after(30):
        async with _Fakes() as fakes:
            fakes["sonnet"].then(*[error_reply(500, "overloaded")] * 5)
            config = _config(fakes, routing_preferences=PREFERENCES)
            async with running(config) as url, openai_client(url) as client:
                reply = await client.chat.completions.create(
                    model="openai/gpt-4o-mini", messages=_ask(CODE_TURN)
                )
    assert reply.choices[0].message.content == "hello from gpt4o"
    assert len(fakes["sonnet"].requests) >= 1
    assert fakes["gpt4o"].requests[0].json()["model"] == "gpt-4o"


async def test_auto_without_a_fitting_category_gets_the_default_provider() -> None:
    with anyio.fail_after(30):
        async with _Fakes() as fakes:
            config = _config(fakes, routing_preferences=PREFERENCES)
            async with running(config) as url, openai_client(url) as client:
                chat = await client.chat.completions.create(model="auto", messages=_ask(SMALL_TALK))
                code = await client.chat.completions.create(model="auto", messages=_ask(CODE_TURN))
    assert chat.choices[0].message.content == "hello from mini"
    assert fakes["mini"].requests[0].json()["model"] == "gpt-4o-mini"
    assert code.choices[0].message.content == "hello from sonnet"


async def test_request_preferences_replace_the_configured_ones_and_are_not_sent_on() -> None:
    own = [
        {
            "name": "poetry",
            "description": "writing poems, verses and song lyrics",
            "models": ["openai/gpt-4o"],
        },
        {
            "name": "math",
            "description": "solving math problems: equations, proofs and calculations",
            "models": ["anthropic/claude-sonnet-4-6"],
        },
    ]
    with anyio.fail_after(30):
        async with _Fakes() as fakes:
            # No configured preferences at all: the request's own still route it.
            config = _config(fakes)
            async with running(config) as url, openai_client(url) as client:
                poem = await client.chat.completions.create(
                    model="openai/gpt-4o-mini",
                    messages=_ask("Write a short poem about the sea at night."),
                    extra_body={"routing_preferences": own},
                )
                math = await client.chat.completions.create(
                    model="openai/gpt-4o-mini",
                    messages=_ask("Solve the equation 3x + 7 = 22 and show the steps."),
                    extra_body={"routing_preferences": own},
                )
    assert poem.choices[0].message.content == "hello from gpt4o"
    assert math.choices[0].message.content == "hello from sonnet"
    sent = fakes["gpt4o"].requests[0].json()
    assert "routing_preferences" not in sent
    assert sent["messages"][0]["content"].startswith("Write a short poem")


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("code please", "routing_preferences"),
        ([], "routing_preferences"),
        ([{"name": "x", "description": "y"}], "routing_preferences[0].models"),
        ([{"name": "x", "description": "", "models": ["m"]}], "routing_preferences[0].description"),
        ([{"name": "x", "description": "y", "models": [3]}], "routing_preferences[0].models"),
    ],
)
async def test_malformed_request_preferences_are_a_400_naming_the_field(
    value: object, field: str
) -> None:
    with anyio.fail_after(30):
        async with _Fakes() as fakes:
            async with running(_config(fakes)) as url, openai_client(url) as client:
                with pytest.raises(openai.BadRequestError) as caught:
                    await client.chat.completions.create(
                        model="openai/gpt-4o-mini",
                        messages=_ask(CODE_TURN),
                        extra_body={"routing_preferences": value},
                    )
    error = caught.value.body
    assert isinstance(error, dict)
    assert field in error["message"]
    assert error["type"] == "invalid_request_error"
    assert all(not f.requests for f in fakes.values())


async def test_a_request_preference_naming_an_unknown_model_is_a_404() -> None:
    own = [
        {"name": "code", "description": "writing code and functions", "models": ["nope/x"]},
        {"name": "chat", "description": "small talk", "models": ["openai/gpt-4o"]},
    ]
    with anyio.fail_after(30):
        async with _Fakes() as fakes:
            async with running(_config(fakes)) as url, openai_client(url) as client:
                with pytest.raises(openai.NotFoundError) as caught:
                    await client.chat.completions.create(
                        model="openai/gpt-4o-mini",
                        messages=_ask(CODE_TURN),
                        extra_body={"routing_preferences": own},
                    )
    assert "nope/x" in str(caught.value)


async def test_the_decision_api_answers_the_ranked_models_without_calling_them() -> None:
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    with anyio.fail_after(30):
        async with _Fakes() as fakes:
            config = _config(fakes, routing_preferences=PREFERENCES)
            async with running(config) as url, httpx2.AsyncClient(base_url=url) as http:
                chat = await http.post(
                    "/routing/v1/chat/completions",
                    json={"model": "openai/gpt-4o-mini", "messages": _ask(CODE_TURN)},
                    headers={"traceparent": f"00-{trace}-00f067aa0ba902b7-01"},
                )
                messages = await http.post(
                    "/routing/v1/messages",
                    json={
                        "model": "openai/gpt-4o-mini",
                        "max_tokens": 100,
                        "messages": [
                            {"role": "user", "content": [{"type": "text", "text": TRAVEL_TURN}]}
                        ],
                    },
                )
                responses = await http.post(
                    "/routing/v1/responses", json={"model": "auto", "input": SMALL_TALK}
                )
                wrong_method = await http.get("/routing/v1/chat/completions")
    body = chat.json()
    assert chat.status_code == 200
    assert body["models"] == ["anthropic/claude-sonnet-4-6", "openai/gpt-4o"]
    assert body["route"] == "code_generation"
    assert body["trace_id"] == trace
    assert (body["pinned"], body["switched"]) == (False, False)
    assert body["router"] == "local_v1"
    assert 0.0 <= body["confidence"] <= 1.0
    assert messages.json()["route"] == "travel_planning"
    assert messages.json()["models"] == ["openai/gpt-4o"]
    assert responses.json()["route"] is None
    assert responses.json()["models"] == ["openai/gpt-4o-mini"]  # auto: the default provider
    assert len(responses.json()["trace_id"]) == 32
    assert wrong_method.status_code == 405
    assert all(not f.requests for f in fakes.values())


async def test_the_decision_api_reports_bad_input_in_the_paths_own_envelope() -> None:
    with anyio.fail_after(30):
        async with _Fakes() as fakes:
            config = _config(fakes, routing_preferences=PREFERENCES)
            async with running(config) as url, httpx2.AsyncClient(base_url=url) as http:
                not_json = await http.post(
                    "/routing/v1/chat/completions",
                    content=b"{nope",
                    headers={"content-type": "application/json"},
                )
                anthropic_shape = await http.post("/routing/v1/messages", json=[1, 2])
                unknown = await http.post(
                    "/routing/v1/chat/completions",
                    json={"model": "mistral/none", "messages": _ask(SMALL_TALK)},
                )
                bad_model = await http.post(
                    "/routing/v1/chat/completions", json={"model": 5, "messages": _ask(SMALL_TALK)}
                )
    assert not_json.status_code == 400
    assert not_json.json()["error"]["type"] == "invalid_request_error"
    assert anthropic_shape.status_code == 400
    assert anthropic_shape.json()["type"] == "error"
    assert anthropic_shape.json()["error"]["type"] == "invalid_request_error"
    assert unknown.status_code == 404
    assert "mistral/none" in unknown.json()["error"]["message"]
    assert bad_model.status_code == 400
    assert bad_model.json()["error"]["param"] == "model"


async def test_without_preferences_the_decision_api_names_the_requested_model() -> None:
    with anyio.fail_after(30):
        async with _Fakes() as fakes:
            async with running(_config(fakes)) as url, httpx2.AsyncClient(base_url=url) as http:
                reply = await http.post(
                    "/routing/v1/chat/completions",
                    json={"model": "gpt-4o", "messages": _ask(CODE_TURN)},
                )
    assert reply.json()["models"] == ["openai/gpt-4o"]
    assert reply.json()["route"] is None


# -- the router itself -------------------------------------------------------------------


async def test_a_single_category_is_not_chosen_for_a_turn_it_does_not_fit() -> None:
    first = PREFERENCES[0]
    routes = [ModelRoute(first["name"], first["description"], tuple(first["models"]))]
    router = PreferenceRouter(routes, _local())
    code = await router.choose([ChatMessage(role="user", content=CODE_TURN)])
    thanks = await router.choose([ChatMessage(role="user", content=SMALL_TALK)])
    assert (code.route, code.models) == ("code_generation", tuple(PREFERENCES[0]["models"]))
    assert (thanks.route, thanks.models) == (None, ())


async def test_a_follow_up_stays_with_the_category_of_the_conversation() -> None:
    routes = [ModelRoute(p["name"], p["description"], tuple(p["models"])) for p in PREFERENCES]
    router = PreferenceRouter(routes, _local())
    turns = [
        ChatMessage(role="user", content=CODE_TURN),
        ChatMessage(role="assistant", content="function debounce(fn, ms) { ... }"),
        ChatMessage(role="user", content="ok, and add comments to it please"),
    ]
    choice = await router.choose(turns)
    assert choice.route == "code_generation"


def _local() -> Router:
    router = local_preference_router()
    assert router is not None
    return router


def test_long_turns_are_judged_by_their_start() -> None:
    text = "Explain this code: " + "x = x + 1; " * 500
    (turn,) = conversation("openai", {"messages": [{"role": "user", "content": text}]})
    assert text.startswith(turn.text)
    assert 200 <= len(turn.text) <= 400


def test_conversation_reads_each_api_shape() -> None:
    chat = conversation(
        "openai",
        {
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "one"}]},
                {"role": "assistant", "content": "two"},
                {"role": "tool", "content": "ignored"},
            ]
        },
    )
    responses = conversation(
        "responses",
        {
            "input": [
                {"role": "user", "content": [{"type": "input_text", "text": "three"}]},
                {"type": "function_call_output", "output": "ignored"},
                {"type": "message", "role": "assistant", "content": "four"},
            ]
        },
    )
    assert [(m.role, m.text) for m in chat] == [("user", "one"), ("assistant", "two")]
    assert [(m.role, m.text) for m in responses] == [("user", "three"), ("assistant", "four")]
    assert conversation("responses", {"input": "five"})[0].text == "five"
    assert conversation("openai", {"messages": "nope"}) == []
    assert json.dumps([m.to_wire() for m in conversation("anthropic", {})]) == "[]"


async def test_the_llm_router_decides_when_configured_and_local_v1_covers_its_failure() -> None:
    with anyio.fail_after(30):
        async with _Fakes() as fakes, FakeProvider("orchestrator") as orchestrator:
            answer = json.dumps({"route": ["travel_planning"]})
            orchestrator.then(Reply(body=openai_completion(answer)), error_reply(500, "down"))
            extra = provider("plano/Plano-Orchestrator", f"{orchestrator.url}/v1")
            config = make_config(
                [*_providers(fakes), extra],
                routing_preferences=PREFERENCES,
                overrides={"llm_routing_model": "plano/Plano-Orchestrator"},
                routing={"router": "plano_orchestrator_v1"},
            )
            async with running(config) as url, httpx2.AsyncClient(base_url=url) as http:
                asked = await http.post(
                    "/routing/v1/chat/completions",
                    json={"model": "auto", "messages": _ask(CODE_TURN)},
                )
                failed = await http.post(
                    "/routing/v1/chat/completions",
                    json={"model": "auto", "messages": _ask(CODE_TURN)},
                )
    # The model's answer wins even where local_v1 would say otherwise.
    assert asked.json()["route"] == "travel_planning"
    assert asked.json()["router"] == "plano_orchestrator_v1"
    prompt = orchestrator.requests[0].json()["messages"][0]["content"]
    assert "code_generation" in prompt
    assert CODE_TURN in prompt
    # The model failing: local_v1 decides instead.
    assert failed.json()["route"] == "code_generation"
    assert failed.json()["router"] == "local_v1"


def test_an_unknown_router_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        make_config(
            [provider("openai/gpt-4o-mini", "http://127.0.0.1:9")], routing={"router": "gpt_v2"}
        )
    assert "routing.router" in str(caught.value)
