"""What both SDK agents share: building the services for one request, and a safe stream."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING

import httpx2

from examples.travel.lib.conversation import Turn, turns_from_messages
from examples.travel.lib.dates import Clock, system_clock
from examples.travel.lib.settings import TravelSettings
from examples.travel.services import TravelServices

if TYPE_CHECKING:
    from plano_agent_sdk.context import Context
    from plano_agent_sdk.request import AgentRequest

__all__ = ["Answerer", "run_answer"]

logger = logging.getLogger("examples.travel")

Answerer = Callable[[TravelServices, Sequence[Turn]], AsyncIterator[str]]
"""``answer_weather`` or ``answer_flights``."""


async def run_answer(
    answer: Answerer,
    request: AgentRequest,
    ctx: Context,
    *,
    settings: TravelSettings | None,
    clock: Clock | None,
    apology: str,
) -> AsyncIterator[str]:
    """Run ``answer`` for one request with fresh services; never let an error escape.

    Settings are read from the environment per request unless given, so a changed
    ``AEROAPI_KEY`` takes effect without a restart. ``TRAVEL_USE_LLM=0`` skips the model.
    """
    current = settings or TravelSettings.from_env()
    llm = ctx.llm if current.use_llm else None
    async with httpx2.AsyncClient(follow_redirects=True) as http:
        services = TravelServices(http, current, llm, clock or system_clock)
        try:
            async for text in answer(services, turns_from_messages(request.messages)):
                yield text
        except Exception:  # the edge: a user gets words, the log gets the traceback
            logger.exception("%s failed", ctx.agent)
            yield apology
