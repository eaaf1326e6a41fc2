"""One guarded GET for the web APIs the agents call, so every failure looks the same.

Network errors, timeouts, non-2xx replies and non-JSON bodies all become
:class:`~plano_asgi.errors.UpstreamError` (or its timeout subclass) naming the service, so the
agents can say "I can't reach X right now" instead of showing a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx2

from plano_asgi.errors import UpstreamError, UpstreamTimeoutError

__all__ = ["get_json", "timeout_for"]

logger = logging.getLogger("examples.travel")


def timeout_for(seconds: float) -> httpx2.Timeout:
    """A short timeout: ``seconds`` overall, at most 3 s to connect."""
    return httpx2.Timeout(seconds, connect=min(3.0, seconds))


async def get_json(
    client: httpx2.AsyncClient,
    url: str,
    *,
    service: str,
    params: Mapping[str, str | int | float],
    headers: Mapping[str, str] | None = None,
    time_limit: float,
) -> Any:
    """GET ``url`` and return its JSON body, or raise ``UpstreamError`` naming ``service``."""
    try:
        response = await client.get(
            url, params=dict(params), headers=dict(headers or {}), timeout=timeout_for(time_limit)
        )
    except httpx2.TimeoutException as exc:
        logger.info("%s timed out: %s", service, type(exc).__name__)
        raise UpstreamTimeoutError(
            f"{service} did not answer in time", hop="api", target=service
        ) from exc
    except httpx2.HTTPError as exc:
        logger.info("%s unreachable: %s", service, type(exc).__name__)
        raise UpstreamError(f"{service} is unreachable", hop="api", target=service) from exc
    if response.status_code >= 400:
        logger.info("%s answered HTTP %d", service, response.status_code)
        raise UpstreamError(
            f"{service} answered HTTP {response.status_code}",
            hop="api",
            target=service,
            upstream_status=response.status_code,
        )
    try:
        return response.json()
    except ValueError as exc:
        raise UpstreamError(
            f"{service} sent a reply that is not JSON", hop="api", target=service
        ) from exc
