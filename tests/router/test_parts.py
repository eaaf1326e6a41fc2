"""The router's parts on their own: description pieces, BM25, clauses, topic tracking."""

from __future__ import annotations

import numpy as np
import pytest

from plano_asgi.routing.local import TopicSettings, split_clauses
from plano_asgi.routing.local.lexical import BM25Index, description_pieces, words
from plano_asgi.routing.local.state import TopicTracker

DESCRIPTION = (
    "WeatherAgent gives forecasts. It knows every city (services: forecasts; alerts).\n"
    "Capabilities:\n  * Get the weather for a city\n  * Provides sunrise times\n"
    "When queries mix weather and other topics (e.g., flights, currency), it answers the weather."
)


def test_description_pieces_split_sentences_bullets_and_asides() -> None:
    pieces = description_pieces(DESCRIPTION)
    assert "Get the weather for a city" in pieces
    assert "Provides sunrise times" in pieces
    assert "forecasts" in pieces
    assert "alerts" in pieces
    assert not any("currency" in p for p in pieces)  # "e.g." asides say what it does NOT do
    assert "Capabilities" not in pieces


def test_words_drop_stopwords_and_stem() -> None:
    assert words("Are there any flights to Boston?") == ["flight", "boston"]


def test_bm25_ranks_the_agent_whose_words_match() -> None:
    index = BM25Index.build(["book flights and airline tickets", "weather forecasts for a city"])
    scores = index.scores("cheap flights please")
    assert scores[0] > 0
    assert scores[1] == 0
    assert index.scores("nothing matches here").tolist() == [0.0, 0.0]


@pytest.mark.parametrize(
    ("text", "clauses"),
    [
        ("flights to Atlanta and the weather there", ["flights to Atlanta", "the weather there"]),
        ("Book a table. Also get me a taxi", ["Book a table.", "get me a taxi"]),
        ("What is the weather in Paris and London?", ["What is the weather in Paris and London?"]),
        ("yes please", ["yes please"]),
    ],
)
def test_split_clauses_keeps_the_order_asked(text: str, clauses: list[str]) -> None:
    assert split_clauses(text) == clauses


def test_split_clauses_caps_the_number_of_clauses() -> None:
    text = "find a hotel and a flight and a car and a table and a taxi and a museum"
    assert len(split_clauses(text, max_clauses=3)) == 3


def test_topic_sticks_through_vague_turns_and_moves_on_a_clear_one() -> None:
    tracker = TopicTracker(3, TopicSettings(temperature=0.1, switch=0.3))
    tracker.user_turn(np.array([1.2, 0.4, 0.3]))  # clearly agent 0
    vague = tracker.user_turn(np.array([0.30, 0.36, 0.32]))  # "yes please": leans to 1 a bit
    assert int(np.argmax(vague)) == 0
    moved = tracker.user_turn(np.array([0.3, 0.4, 1.3]))  # clearly agent 2
    assert int(np.argmax(moved)) == 2
    assert moved.sum() == pytest.approx(1.0)


def test_assistant_turns_weigh_in_without_moving_the_topic() -> None:
    tracker = TopicTracker(2, TopicSettings(assistant_temperature=0.2))
    before = tracker.belief.copy()
    after = tracker.assistant_turn(np.array([0.5, 0.0]))
    assert after[0] > before[0]
    ignored = TopicTracker(2, TopicSettings(assistant_temperature=0.0))
    assert ignored.assistant_turn(np.array([0.5, 0.0])).tolist() == [0.5, 0.5]
