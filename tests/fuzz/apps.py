"""The apps the fuzz suite drives: one model gateway and one agent listener, built once.

Both run in one event loop on a blocking portal's thread, so every Hypothesis example (a
plain function) calls them with ``portal.call`` instead of paying for a gateway per example.
The gateway's providers are real loopback servers speaking OpenAI and Anthropic
(:class:`tests.gateway.fakes.FakeProvider`): a request that happens to be valid is
answered, translated both ways; the listener's one agent answers in-process.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from plano_asgi.config import PlanoConfig
from plano_asgi.gateway.app import ModelGateway
from plano_asgi.middleware import PlanoMiddleware
from tests.gateway.fakes import FakeProvider
from tests.gateway.helpers import FAST_RETRY, TIMEOUTS
from tests.listener.agents import FakeAgent

__all__ = ["GATEWAY_PATHS", "LISTENER_PATHS", "MODELS", "Apps", "running_apps"]

GATEWAY_PATHS = {
    "/v1/chat/completions": "chat",
    "/v1/messages": "messages",
    "/v1/responses": "responses",
    "/routing/v1/chat/completions": "chat",
    "/routing/v1/messages": "messages",
    "/routing/v1/responses": "responses",
}
"""Each POST path of the gateway -> the API whose body it takes."""
LISTENER_PATHS = {
    "/v1/chat/completions": "chat",
    "/v1/messages": "messages",
    "/v1/responses": "responses",
}
MODELS = ("gpt-4o", "claude", "openai/gpt-4o", "anthropic/claude-3-5-sonnet", "auto")
"""Model names the gateway knows (an OpenAI and an Anthropic provider, an alias)."""


@dataclass(frozen=True)
class Apps:
    gateway: ModelGateway
    listener: PlanoMiddleware


def _config(openai_url: str, anthropic_url: str) -> PlanoConfig:
    return PlanoConfig.from_dict(
        {
            "version": "v0.4.0",
            "agents": [{"id": "echo", "url": "http://127.0.0.1:9"}],
            "listeners": [
                {"type": "model", "name": "llm", "port": 12000, "timeouts": TIMEOUTS},
                {
                    "type": "agent",
                    "name": "travel",
                    "port": 8001,
                    "agents": [{"id": "echo", "description": "echoes", "default": True}],
                },
            ],
            "model_providers": [
                {"model": "openai/gpt-4o", "base_url": openai_url, "access_key": "sk-o-secret",
                 "default": True},
                {"model": "anthropic/claude-3-5-sonnet", "base_url": anthropic_url,
                 "access_key": "sk-a-secret"},
            ],
            "model_aliases": {"claude": {"target": "anthropic/claude-3-5-sonnet"}},
            "ratelimits": [
                {
                    "model": "openai/gpt-4o",
                    "selector": {"key": "x-user", "value": "*"},
                    "limit": {"tokens": 10**9, "unit": "minute"},
                }
            ],
            "state_storage": {"type": "memory"},
        }
    )  # fmt: skip


@contextlib.asynccontextmanager
async def running_apps() -> AsyncIterator[Apps]:
    """The gateway and the listener over fresh fake providers, closed afterwards."""
    async with (
        FakeProvider("openai") as openai_fake,
        FakeProvider("anthropic", api="anthropic") as anthropic_fake,
    ):
        config = _config(openai_fake.url, anthropic_fake.url)
        async with (
            ModelGateway(config=config, retry=FAST_RETRY) as gateway,
            PlanoMiddleware(
                None,
                config=config,
                listener="travel",
                agents={"echo": FakeAgent("echo", pieces=lambda _: ["ok"])},
            ) as listener,
        ):
            yield Apps(gateway, listener)
