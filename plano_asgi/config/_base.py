"""Building blocks shared by every config model: base classes, durations, hop timeouts."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

__all__ = ["Duration", "HopTimeouts", "OpenModel", "StrictModel", "parse_duration"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(value: Any) -> Any:
    """Turn an Envoy-style duration into float seconds.

    ``"30s"`` -> 30.0, ``"250ms"`` -> 0.25, ``"5m"`` -> 300.0, ``"0.005s"`` -> 0.005 and a
    bare number (``12``) is seconds. Plano writes durations as strings; you may write either.
    """
    if isinstance(value, bool):
        raise ValueError("expected a duration such as '30s', '250ms' or a number of seconds")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match is None:
            raise ValueError(
                f"'{value}' is not a duration; use e.g. '30s', '250ms', '5m' or a number of seconds"
            )
        return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    raise ValueError("expected a duration such as '30s', '250ms' or a number of seconds")


Duration = Annotated[float, BeforeValidator(parse_duration)]
"""A duration in float seconds, written ``30s``, ``250ms``, ``5m``, ``1h`` or as a number."""


class StrictModel(BaseModel):
    """A config object whose keys are fixed (Plano's ``additionalProperties: false``)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class OpenModel(BaseModel):
    """A config object that keeps keys it does not know (Plano's schema leaves it open)."""

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)


class HopTimeouts(StrictModel):
    """Timeouts of one upstream hop, in seconds (*ours*: Plano has one whole-response timeout)."""

    connect: Duration = 5.0
    """Time to establish the TCP/TLS connection."""
    first_byte: Duration = 60.0
    """Time from sending the request to the response headers and first body bytes."""
    idle: Duration = 60.0
    """Longest gap allowed between two pieces of data of a response. On an agent's event
    stream only data events count: SSE comments (``: ping``) keep the connection open but
    are not progress."""
    total: Duration = 600.0
    """Longest a whole agent reply may take from the request, pings or not (agent hops)."""
