"""The flight agent asking the weather agent itself, through the listener's agent tools.

When the user asks about flights *and* the weather but the weather agent did not answer in
this turn (the router sent the turn to the flight agent alone, or the flight agent was
called on its own, e.g. as a tool), the flight agent asks the weather agent for the
destination's weather over MCP (:func:`plano_agent_sdk.agent_tools`). The call
runs through the listener, with the weather agent's filters, in the same trace. When the
weather agent already answered in this turn (:mod:`examples.travel.lib.handoff`) nothing is
asked. Works offline and keyless: the weather agent's data answer is parsed the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from examples.travel.lib.airports import Airport
from examples.travel.lib.conversation import Turn
from examples.travel.lib.handoff import WEATHER_AGENT, weather_note
from examples.travel.lib.places import WEATHER_WORDS, is_about
from plano_agent_sdk import agent_tools
from plano_asgi.agent_tools.origin import LISTENER_URL
from plano_asgi.config.settings import PlanoSettings

__all__ = ["asks_weather", "weather_from_tool"]

logger = logging.getLogger("examples.travel")


def asks_weather(turns: Sequence[Turn]) -> bool:
    """Whether the latest user message asks about the weather too."""
    last = next((turn for turn in reversed(turns) if turn.role == "user"), None)
    return last is not None and is_about(last.text, WEATHER_WORDS)


async def weather_from_tool(turns: Sequence[Turn], destination: Airport) -> str | None:
    """One line on the weather at ``destination``, asked of the weather agent's tool.

    ``None`` when the user did not ask about the weather, no listener is reachable (the
    agent runs alone), or the weather agent failed (the flight answer stands on its own).
    """
    if not asks_weather(turns):
        return None
    if LISTENER_URL.get() is None and PlanoSettings().listener_url is None:
        return None
    question = f"What is the weather in {destination.city} right now?"
    try:
        async with agent_tools() as tools:
            if WEATHER_AGENT not in tools.names:
                return None
            text = await tools.ask(WEATHER_AGENT, question)
    except Exception as exc:  # ImportError (no mcp extra), a failed hop, a lost listener
        logger.warning("could not ask %s through its tool: %s", WEATHER_AGENT, exc)
        return None
    asked = [Turn("assistant", text, name=WEATHER_AGENT), Turn("user", question)]
    note = weather_note(asked, (destination,))
    if note is None and text.strip():
        first = text.strip().splitlines()[0]
        note = f"Weather at {destination.label} (from the weather agent): {first}"
    return note
