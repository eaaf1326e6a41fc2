"""Turns that ask several agents: split into clauses, routed in the order asked; turns that
join two things for one agent ("Paris and London") stay with that one agent."""

from __future__ import annotations

from pathlib import Path

import pytest

from plano_asgi.chat import ChatMessage
from plano_asgi.config import PlanoConfig
from plano_asgi.routing.base import AgentCandidate
from plano_asgi.routing.local import LocalRouter, split_clauses

TRAVEL = Path(__file__).resolve().parents[2] / "examples" / "travel" / "plano_config.yaml"


@pytest.fixture(scope="module")
def travel_agents() -> list[AgentCandidate]:
    config = PlanoConfig.from_yaml(TRAVEL, allow_missing_env=True)
    return [AgentCandidate(a.id, a.description or "") for a in config.agent_listeners[0].agents]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What's the weather in Paris, and are there direct flights from Seattle to Atlanta "
         "on Friday?", ("weather_agent", "flight_agent")),
        ("Are there flights from Boston to Chicago tomorrow and what will the weather be like "
         "there?", ("flight_agent", "weather_agent")),
        ("Book me a flight to Denver and tell me the forecast", ("flight_agent", "weather_agent")),
        ("What's the weather in Paris and London?", ("weather_agent",)),
        ("weather in Paris and London", ("weather_agent",)),
        ("Are there flights from Seattle and Portland to Denver?", ("flight_agent",)),
        ("flights from Seattle and Portland to Denver", ("flight_agent",)),
    ],
)  # fmt: skip
async def test_travel_turns_go_to_every_agent_asked_in_order(
    local_router: LocalRouter,
    travel_agents: list[AgentCandidate],
    question: str,
    expected: tuple[str, ...],
) -> None:
    decision = await local_router.route([ChatMessage(role="user", content=question)], travel_agents)
    assert decision.agents == expected
    assert (decision.reason == "two_intents") == (len(expected) > 1)


@pytest.mark.parametrize(
    ("text", "clauses"),
    [
        # A prepositional phrase after "and" still describes the same request.
        ("a hotel and in the same area as the restaurant",
         ["a hotel and in the same area as the restaurant"]),
        ("from Seattle and to Denver", ["from Seattle and to Denver"]),
        # A bare "also" is an adverb inside the clause; after "and" or a comma it joins two.
        ("I am also looking for a train to Ely", ["I am also looking for a train to Ely"]),
        ("the train number and am also seeking a cheap restaurant",
         ["the train number", "am also seeking a cheap restaurant"]),
        ("I need a hotel, also a taxi please", ["I need a hotel", "a taxi please"]),
        ("What's the weather in Paris, and are there flights to Rome?",
         ["What's the weather in Paris", "are there flights to Rome?"]),
    ],
)  # fmt: skip
def test_split_clauses_cuts_between_requests_only(text: str, clauses: list[str]) -> None:
    assert split_clauses(text) == clauses
