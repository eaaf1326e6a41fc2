"""What each travel agent can help with, and telling a turn that is not about it.

A turn reaches an agent that cannot answer it when the listener sends off-topic turns to a
default agent (``default: true``), or when a client calls the agent directly. The agent then
says what it can help with instead of guessing: offline, by the same topic words that pick
the part of a question it answers (:func:`examples.travel.lib.places.is_about`).
"""

from __future__ import annotations

from collections.abc import Sequence

from examples.travel.lib.conversation import Turn
from examples.travel.lib.places import is_about, split_clauses

__all__ = ["FLIGHT_HELP", "WEATHER_HELP", "is_off_topic"]

WEATHER_HELP = (
    "I'm the weather assistant: I can tell you the current weather and forecasts of up to 16 "
    "days for any city (temperature, conditions, rain chances, sunrise and sunset), for "
    'example "What\'s the weather in Paris tomorrow?".'
)
FLIGHT_HELP = (
    "I'm the flight assistant: I can look up nonstop flights between two airports for today "
    "and the next two days (times, status, delays, gates, aircraft), for example "
    '"Are there direct flights from Seattle to Atlanta tomorrow?".'
)


def is_off_topic(turns: Sequence[Turn], words: frozenset[str]) -> bool:
    """True when nothing in the conversation so far is about ``words``' topic.

    A follow-up without topic words ("And in Tokyo?") stays on topic through the earlier
    turns; a first message about something else ("Tell me a joke") is off topic.
    """
    for turn in turns:
        if turn.role in ("user", "assistant") and any(
            is_about(clause, words) for clause in split_clauses(turn.text)
        ):
            return False
    return True
