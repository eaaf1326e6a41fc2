"""Helpers for gateway tests: configs pointing at fake providers, a served gateway, clients."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import openai

from plano_asgi.config import PlanoConfig
from plano_asgi.gateway.app import ModelGateway
from plano_asgi.gateway.retry import RetryPolicy
from tests.support.servers import serve

#: Small timeouts keep the fault suite fast; every test is bounded by them.
TIMEOUTS = {"connect": 0.5, "first_byte": 0.4, "idle": 0.3}
FAST_RETRY = RetryPolicy(backoff_base=0.01, backoff_max=0.05, max_retry_after=2.0)


def provider(model: str, url: str, **extra: Any) -> dict[str, Any]:
    """A ``model_providers[]`` entry served by a fake at ``url``."""
    return {
        "model": model,
        "base_url": url,
        "access_key": f"sk-{model.replace('/', '-')}-secret",
        **extra,
    }


def make_config(
    providers: list[dict[str, Any]], *, listener: dict[str, Any] | None = None, **top: Any
) -> PlanoConfig:
    return PlanoConfig.from_dict(
        {
            "version": "v0.4.0",
            "listeners": [
                {
                    "type": "model",
                    "name": "llm",
                    "port": 12000,
                    "timeouts": TIMEOUTS,
                    **(listener or {}),
                }
            ],
            "model_providers": providers,
            **top,
        }
    )


@contextlib.asynccontextmanager
async def running(config: PlanoConfig, **options: Any) -> AsyncIterator[str]:
    """Serve a gateway for ``config`` on real uvicorn; yields its base URL."""
    options.setdefault("retry", FAST_RETRY)
    async with ModelGateway(config=config, **options) as gateway, serve(gateway) as server:
        yield server.url


def openai_client(url: str, **options: Any) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="client-key", max_retries=0, **options)


def anthropic_client(url: str) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=url, api_key="client-key", max_retries=0)
