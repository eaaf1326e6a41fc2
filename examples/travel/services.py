"""What an answer needs from the outside world, bundled so tests can swap each part."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx2

from examples.travel.lib.dates import Clock, system_clock
from examples.travel.lib.settings import TravelSettings

if TYPE_CHECKING:
    from openai import AsyncOpenAI

__all__ = ["TravelServices"]


@dataclass(frozen=True, slots=True)
class TravelServices:
    """The HTTP client for web APIs, settings, the LLM client (None: no model) and the clock."""

    http: httpx2.AsyncClient
    settings: TravelSettings
    llm: AsyncOpenAI | None = None
    clock: Clock = system_clock
