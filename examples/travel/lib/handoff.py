"""What the flight agent takes from the weather agent's answer earlier in the same turn.

When a turn needs both agents, the listener runs the weather agent first and hands its answer
to the flight agent as ``{"role": "assistant", "name": "weather_agent"}`` just before the
user's question (Plano's layout). The flight agent reads the current conditions it reported
for the airports of the route, and adds one line about them to its own answer: useful on
its own (is weather likely to delay the flight?) and the whole weather part of the answer
when the listener shows only the last agent (``answers: last``). Works offline: the weather
agent's data answer has a fixed shape (:func:`examples.travel.lib.render.render_weather`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from examples.travel.lib.airports import Airport, fold
from examples.travel.lib.conversation import Turn

__all__ = ["WEATHER_AGENT", "weather_note", "weather_this_turn"]

WEATHER_AGENT = "weather_agent"

_BLOCK = re.compile(r"^Weather in (?P<place>[^\n:]+):\s*$", re.MULTILINE)
_NOW = re.compile(r"^- Right now: (?P<now>[^\n]+?)\.?\s*$", re.MULTILINE)
_DELAYING = ("rain", "snow", "thunder", "storm", "fog", "drizzle", "freezing", "hail", "showers")


def weather_this_turn(turns: Sequence[Turn]) -> str | None:
    """The weather agent's answer handed on in this turn (after the previous user message)."""
    last_user = next((i for i in range(len(turns) - 1, -1, -1) if turns[i].role == "user"), None)
    if last_user is None:
        return None
    for turn in reversed(turns[:last_user]):
        if turn.role == "user":
            return None
        if turn.role == "assistant" and turn.name == WEATHER_AGENT and turn.text.strip():
            return turn.text
    return None


def _now_by_place(text: str) -> dict[str, str]:
    blocks = list(_BLOCK.finditer(text))
    found: dict[str, str] = {}
    for index, block in enumerate(blocks):
        end = blocks[index + 1].start() if index + 1 < len(blocks) else len(text)
        now = _NOW.search(text, block.end(), end)
        if now is not None:
            found[block.group("place").strip()] = now.group("now").strip()
    return found


def weather_note(turns: Sequence[Turn], airports: Sequence[Airport]) -> str | None:
    """One line on the current weather at the route's airports, from the weather agent.

    ``None`` when the weather agent did not answer in this turn, or said nothing about
    these airports' cities in the data form.
    """
    text = weather_this_turn(turns)
    if text is None:
        return None
    now = _now_by_place(text)
    parts: list[str] = []
    delaying = False
    for airport in airports:
        city = fold(airport.city)
        for place, conditions in now.items():
            if fold(place).startswith(city):
                parts.append(f"{airport.label}: {conditions}")
                delaying = delaying or any(word in conditions.lower() for word in _DELAYING)
                break
    if not parts:
        return None
    advice = (
        " Weather like that can delay departures, so check the status before you go."
        if delaying
        else ""
    )
    return f"Weather right now (from the weather agent): {'; '.join(parts)}.{advice}"
