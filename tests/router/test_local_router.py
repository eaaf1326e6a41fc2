"""``local_v1`` end to end: topics, follow-ups, several agents, out of scope, no network."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from plano_asgi.chat import ChatMessage
from plano_asgi.config import PlanoConfig
from plano_asgi.routing.base import AgentCandidate, Router
from plano_asgi.routing.local import LocalRouter, MiniLMEncoder

TRAVEL = Path(__file__).resolve().parents[2] / "examples" / "travel" / "plano_config.yaml"

AGENTS = (
    AgentCandidate("restaurants", "Finds restaurants and books tables for dinner or lunch."),
    AgentCandidate("hotels", "Searches hotels and books rooms for given dates."),
    AgentCandidate("taxi", "Books a taxi or cab between two places."),
    AgentCandidate("banking", "Checks bank account balances and transfers money."),
)


def chat(*turns: str) -> list[ChatMessage]:
    """Alternate user / assistant messages, starting with the user."""
    roles = ("user", "assistant")
    return [ChatMessage(role=roles[i % 2], content=text) for i, text in enumerate(turns)]


@pytest.fixture(scope="module")
def travel_agents() -> list[AgentCandidate]:
    config = PlanoConfig.from_yaml(TRAVEL, allow_missing_env=True)
    listener = config.agent_listeners[0]
    return [AgentCandidate(a.id, a.description or "") for a in listener.agents]


@pytest.mark.anyio
async def test_it_is_a_router(local_router: LocalRouter) -> None:
    assert isinstance(local_router, Router)
    decision = await local_router.route(chat("I'd like a table for two tonight"), AGENTS)
    assert decision.agents == ("restaurants",)
    assert decision.router == "local_v1"
    assert decision.confidence is not None
    assert 0.5 < decision.confidence <= 1.0


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What's the weather in Seattle this weekend?", ("weather_agent",)),
        ("What flights go from Seattle to Atlanta tomorrow?", ("flight_agent",)),
        ("flights to Atlanta and the weather there", ("flight_agent", "weather_agent")),
        ("what's the weather in Denver and are there flights from Boston to Denver",
         ("weather_agent", "flight_agent")),
    ],
)  # fmt: skip
async def test_travel_example_routes(
    local_router: LocalRouter,
    travel_agents: list[AgentCandidate],
    question: str,
    expected: tuple[str, ...],
) -> None:
    decision = await local_router.route(chat(question), travel_agents)
    assert decision.agents == expected


@pytest.mark.anyio
async def test_travel_follow_up_goes_to_weather(
    local_router: LocalRouter, travel_agents: list[AgentCandidate]
) -> None:
    messages = chat(
        "Are there direct flights from Seattle to Atlanta on Friday?",
        "Yes, Delta DL 1234 leaves SEA at 08:05 and lands at ATL at 16:10.",
        "what's the weather there?",
    )
    decision = await local_router.route(messages, travel_agents)
    assert decision.agents == ("weather_agent",)


@pytest.mark.anyio
@pytest.mark.parametrize("follow_up", ["yes please", "and the address?", "ok, for 7pm then"])
async def test_short_follow_ups_stay_with_the_topic(
    local_router: LocalRouter, follow_up: str
) -> None:
    messages = chat(
        "Can you find me an Italian restaurant downtown?",
        "Luigi's on Main Street has a table free at 7pm. Shall I book it?",
        follow_up,
    )
    decision = await local_router.route(messages, AGENTS)
    assert decision.agents == ("restaurants",)


@pytest.mark.anyio
async def test_a_new_topic_hands_off(local_router: LocalRouter) -> None:
    messages = chat(
        "Can you find me an Italian restaurant downtown?",
        "Luigi's on Main Street. Shall I book it?",
        "No thanks. I need a hotel room for Friday night.",
    )
    decision = await local_router.route(messages, AGENTS)
    assert decision.agents == ("hotels",)


@pytest.mark.anyio
async def test_out_of_scope_gets_no_agent(local_router: LocalRouter) -> None:
    decision = await local_router.route(chat("who painted the mona lisa"), AGENTS)
    assert decision.agents == ()
    assert decision.confidence is not None
    assert decision.confidence > 0.5


@pytest.mark.anyio
async def test_trivial_inputs(local_router: LocalRouter) -> None:
    one = await local_router.route(chat("anything"), AGENTS[:1])
    assert one.agents == ("restaurants",)
    assert one.confidence == 1.0
    assert (await local_router.route(chat("anything"), [])).agents == ()
    system_only = [ChatMessage(role="system", content="be nice")]
    assert (await local_router.route(system_only, AGENTS)).agents == ()


@pytest.mark.anyio
async def test_earlier_turns_and_descriptions_are_encoded_once(minilm: MiniLMEncoder) -> None:
    calls: list[list[str]] = []

    class Counting:
        def encode(self, texts: Any) -> Any:
            calls.append(list(texts))
            return minilm.encode(texts)

    router = LocalRouter(encoder=Counting())
    first = chat("I need a cab to the airport")
    await router.route(first, AGENTS)
    assert len(calls) == 2  # the agents' descriptions, then the turn
    later = chat("I need a cab to the airport", "Booked for 6am.", "and a hotel room near it")
    await router.route(later, AGENTS)
    # Only the new messages: the turn, then the reply it is compared with (a turn with new
    # words is checked against the conversation before it can be called off topic).
    assert calls[2:] == [["and a hotel room near it"], ["Booked for 6am."]]
    await router.route(later, AGENTS)
    await router.route(first, AGENTS[::-1])
    assert len(calls) == 4  # the same turn again and reordered agents reuse every vector


@pytest.mark.anyio
async def test_loading_and_routing_never_touch_the_network(
    no_network: list[Any], monkeypatch: pytest.MonkeyPatch, travel_agents: list[AgentCandidate]
) -> None:
    sockets: list[Any] = []
    real_init = socket.socket.__init__

    def spy(self: socket.socket, *args: Any, **kwargs: Any) -> None:
        sockets.append(args)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "__init__", spy)
    router = LocalRouter()  # its own encoder: the load happens inside this test
    router.load()
    cases = {
        "is it going to rain in Paris?": ("weather_agent",),
        "flights from Boston to Denver on Friday, and the weather in Denver": (
            "flight_agent",
            "weather_agent",
        ),
        "what's a good recipe for banana bread?": (),
    }
    for question, expected in cases.items():
        decision = await router.route(chat(question), travel_agents)
        assert decision.agents == expected, question
    assert no_network == []
    assert sockets == []


@pytest.mark.anyio
async def test_an_announced_extra_request_hands_off(local_router: LocalRouter) -> None:
    messages = chat(
        "Book me a table for four at an Italian place tonight.",
        "Done: Luigi's at 8pm, table for four.",
        "Great. I also need a ride there from my office.",
    )
    decision = await local_router.route(messages, AGENTS)
    assert decision.agents == ("taxi",)
    assert decision.reason == "follow_on"


@pytest.mark.anyio
async def test_an_off_topic_turn_mid_conversation_gets_no_agent(local_router: LocalRouter) -> None:
    messages = chat(
        "Can you book a table for two at an Italian place tonight?",
        "Done: Luigi's at 8pm, table for two.",
        "Thanks! Totally unrelated, but what's a good recipe for banana bread?",
    )
    decision = await local_router.route(messages, AGENTS)
    assert decision.agents == ()
    assert decision.reason == "off_topic_later"
    # The same conversation going on about the booking stays with the restaurant agent.
    follow = await local_router.route(
        [*messages[:2], chat("can we make it 9pm instead?")[0]], AGENTS
    )
    assert follow.agents == ("restaurants",)
    assert follow.reason == "follow_on"


@pytest.mark.anyio
async def test_the_seattle_atlanta_question_goes_to_both_travel_agents_in_order(
    local_router: LocalRouter, travel_agents: list[AgentCandidate]
) -> None:
    question = (
        "Can you get me flights from Seattle to Atlanta tomorrow, and also show me the "
        "weather there?"
    )
    decision = await local_router.route(chat(question), travel_agents)
    assert decision.agents == ("flight_agent", "weather_agent")
    assert decision.reason == "two_intents"
    assert decision.confidence is not None
    assert 0.0 < decision.confidence < 1.0


@pytest.mark.anyio
async def test_every_decision_says_why_and_how_sure(local_router: LocalRouter) -> None:
    cases = [
        chat("I'd like a table for two tonight"),
        chat("who painted the mona lisa"),
        chat("I need a cab to the airport", "Booked for 6am.", "great, thanks"),
    ]
    reasons = []
    for messages in cases:
        decision = await local_router.route(messages, AGENTS)
        assert decision.confidence is not None
        assert 0.0 <= decision.confidence <= 1.0
        assert isinstance(decision.details["margin"], float)
        reasons.append(decision.reason)
    assert reasons == ["first_turn", "off_topic", "follow_on"]


@pytest.mark.anyio
async def test_a_short_off_topic_question_after_a_travel_answer_gets_no_agent(
    local_router: LocalRouter, travel_agents: list[AgentCandidate]
) -> None:
    history = chat(
        "What's the weather in Atlanta tomorrow?",
        "Atlanta (ATL) tomorrow: 14°C, light rain in the afternoon.",
    )
    recipe = await local_router.route(
        [*history, *chat("what is a good recipe for banana bread?")], travel_agents
    )
    assert recipe.agents == ()
    follow = await local_router.route([*history, *chat("and the day after?")], travel_agents)
    assert follow.agents == ("weather_agent",)
