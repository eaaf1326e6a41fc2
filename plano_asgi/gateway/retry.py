"""When to retry a provider call, when to fall back to the next model, and how long to wait.

Our rules (Plano retries only when ``max_retries`` is set, same model only, no
``Retry-After``):

* **retry the same model** on 408, 429, 500, 502, 503, 504, connection errors and
  timeouts, with exponential backoff (jittered between half and the
  full step), honouring ``Retry-After`` /
  ``retry-after-ms``;
* **fall back to the next alias target** on those, and also on 401/403/404 (that provider
  cannot serve us, another may);
* **give up at once** on every other 4xx (bad request, context length exceeded, content
  filter): the same request cannot succeed anywhere, so the provider's error goes to the
  client with its status.

Retries and fallbacks happen only before the first byte reaches the client.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from time import time

import httpx2

__all__ = ["RetryPolicy", "retry_after_seconds", "should_fall_back", "should_retry"]

#: Retries per target when neither the policy nor the listener sets ``max_retries``.
DEFAULT_MAX_RETRIES = 2
#: Seconds to the first byte of a stream, all attempts and fallbacks together, when
#: neither the policy nor the listener sets ``failover_budget``.
DEFAULT_FAILOVER_BUDGET = 30.0
#: A ``Retry-After`` longer than this is not waited for while another model can answer.
QUICK_RETRY_AFTER = 1.0
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
FALLBACK_STATUSES = RETRY_STATUSES | {401, 403, 404}


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retry knobs. ``max_retries`` is per target; ``x-envoy-max-retries`` may lower it.

    ``max_retries=None`` takes the model listener's ``max_retries``, else
    :data:`DEFAULT_MAX_RETRIES`.
    """

    max_retries: int | None = None
    backoff_base: float = 0.25
    """First backoff in seconds; doubled per attempt, then jittered."""
    backoff_max: float = 5.0
    max_retry_after: float = 30.0
    """A ``Retry-After`` longer than this is not waited for: fall back or give up instead."""
    failover_budget: float | None = None
    """Seconds until the answer starts, every attempt and fallback together
    (:data:`DEFAULT_FAILOVER_BUDGET` when ``None``); see :meth:`budget_for`."""
    max_retries_cap: int | None = None
    """Upper bound for the client's ``x-envoy-max-retries`` header; ``None``: the
    configured budget, so a client can ask for fewer retries but never for more calls to
    a provider than the operator allows."""

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        if retry_after is not None:
            return retry_after
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)

    def budget_for(self, *, stream: bool, first_byte: float) -> float:
        """The failover budget of one request.

        A stream's first byte is its first event, which a healthy model sends within
        seconds. A non-streaming answer arrives whole, so a healthy model's whole
        generation counts: it gets at least ``first_byte``, its target's own timeout.
        """
        budget = DEFAULT_FAILOVER_BUDGET if self.failover_budget is None else self.failover_budget
        return budget if stream else max(budget, first_byte)

    def retries_for(self, header_value: str | None) -> int:
        """The retry budget for one request: the client's header if valid, else ours."""
        configured = DEFAULT_MAX_RETRIES if self.max_retries is None else self.max_retries
        if header_value is not None:
            cap = configured if self.max_retries_cap is None else self.max_retries_cap
            value = header_value.strip()
            if value.isascii() and value.isdigit() and len(value) <= 4:
                return min(int(value), cap)
        return configured


def should_retry(status: int) -> bool:
    """True when the same provider may succeed on a second try."""
    return status in RETRY_STATUSES


def should_fall_back(status: int) -> bool:
    """True when another provider may succeed where this one failed."""
    return status in FALLBACK_STATUSES


def retry_after_seconds(headers: httpx2.Headers) -> float | None:
    """The wait the provider asked for, from ``retry-after-ms`` or ``retry-after``."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time())
    except (TypeError, ValueError):
        return None
