"""Turning fetched facts into the streamed answer: worded by the LLM when it is available,
else the facts themselves. Either way nothing is said that the facts do not contain.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence

from examples.travel.lib.conversation import Turn
from examples.travel.lib.llm import LLMUnavailableError, stream_answer
from examples.travel.services import TravelServices

__all__ = ["answer_from_facts"]

logger = logging.getLogger("examples.travel")

_RULES = """\
You are {role} inside a travel assistant. Answer the user's latest message using ONLY the
FACTS below, which were just fetched from {source}. Be friendly and concise.
- Answer only the {topic} part of the question; another assistant answers the rest
  (flights, weather, currency, ...), so do not mention that you cannot answer it.
- Never invent or estimate numbers, times, gates or flights that are not in the FACTS.
{extra}
FACTS:
{facts}
"""


async def answer_from_facts(
    services: TravelServices,
    turns: Sequence[Turn],
    facts: str,
    *,
    role: str,
    source: str,
    topic: str,
    extra: str,
    use_llm: bool,
) -> AsyncIterator[str]:
    """Stream the answer: the answer model grounded in ``facts``, or ``facts`` verbatim.

    If the model fails before saying anything you get the facts instead; if it fails midway
    the facts follow a short note, so the user never ends up with half an answer.
    """
    if not use_llm or services.llm is None:
        yield facts
        return
    system = _RULES.format(role=role, source=source, topic=topic, extra=extra, facts=facts)
    said = False
    try:
        async for text in stream_answer(
            services.llm,
            model=services.settings.answer_model,
            system=system,
            turns=turns,
            time_limit=services.settings.llm_timeout,
        ):
            said = True
            yield text
    except LLMUnavailableError:
        if said:
            yield "\n\n(The answer was cut off; here is the data it was based on.)\n" + facts
        else:
            yield facts
