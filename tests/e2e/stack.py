"""The whole chain on real loopback servers, as a user would deploy it.

client (openai) -> agent listener (PlanoMiddleware, listener filter ``pii``) -> agents
``flights`` then ``weather`` (SDK :class:`Agent`, ``weather`` behind agent filter
``context``) -> model gateway (``ModelGateway``) -> a fake OpenAI-compatible provider.
Filters are SDK filter functions served as HTTP filters. Only the provider is fake.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import openai
from opentelemetry.trace import Tracer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from plano_agent_sdk import Agent
from plano_agent_sdk.context import Context
from plano_agent_sdk.filters import FilterRejection, filter_function
from plano_agent_sdk.request import AgentRequest
from plano_asgi.chat import ChatMessage
from plano_asgi.config import PlanoConfig
from plano_asgi.gateway.app import ModelGateway
from plano_asgi.middleware import PlanoMiddleware
from plano_asgi.routing.base import AgentCandidate, RouteDecision
from plano_asgi.telemetry.metrics import PlanoMetrics
from tests.support.servers import serve

MODEL = "gpt-4o-mini"
PROMPT_TOKENS = 11
COMPLETION_TOKENS = 7


class Recorder:
    """Wraps an ASGI app and records the headers of every HTTP request it gets."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers: list[dict[str, str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.headers.append(
                {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            )
        await self.app(scope, receive, send)


class FakeProvider:
    """An OpenAI-compatible provider: JSON or SSE with usage; records what it was sent."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.app = Starlette(routes=[Route("/v1/chat/completions", self.chat, methods=["POST"])])

    async def chat(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append((dict(request.headers), body))
        usage = {
            "prompt_tokens": PROMPT_TOKENS,
            "completion_tokens": COMPLETION_TOKENS,
            "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
        }
        if not body.get("stream"):
            return JSONResponse(
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": "Flight BA123 at 9:00."},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": usage,
                }
            )

        async def events() -> AsyncIterator[bytes]:
            for piece in ("Sunny ", "in ", "Paris."):
                chunk = {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": body["model"],
                    "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
                }
                yield f"data: {json.dumps(chunk)}\n\n".encode()
            last = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": body["model"],
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                "usage": usage,
            }
            yield f"data: {json.dumps(last)}\n\n".encode()
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")


class TwoAgentRouter:
    """Always both agents, flights first (a router with a confidence, like the local one)."""

    name = "scripted"

    async def route(
        self, messages: list[ChatMessage] | Any, agents: tuple[AgentCandidate, ...] | Any
    ) -> RouteDecision:
        return RouteDecision(agents=("flights", "weather"), router=self.name, confidence=0.875)


def build_agents(gateway_url: str, tracer: Tracer | None) -> tuple[Agent, Agent]:
    """``flights`` asks the gateway for JSON; ``weather`` streams from it to the client."""
    flights = Agent("flights", description="flights", gateway_url=gateway_url, tracer=tracer)
    weather = Agent("weather", description="weather", gateway_url=gateway_url, tracer=tracer)

    @flights.handler
    async def plan(request: AgentRequest, ctx: Context) -> str:
        reply = await ctx.llm.chat.completions.create(
            model=MODEL, messages=request.llm_messages(), temperature=0.2
        )
        return reply.choices[0].message.content or ""

    @weather.handler
    async def forecast(request: AgentRequest, ctx: Context) -> AsyncIterator[str]:
        stream = await ctx.llm.chat.completions.create(
            model=MODEL,
            messages=request.llm_messages(),
            stream=True,
            stream_options={"include_usage": True},
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content

    return flights, weather


@filter_function
def pii(body: dict[str, Any], path: str) -> dict[str, Any]:
    """The listener filter: rejects passwords, masks a card number."""
    text = str(body["messages"][-1].get("content", ""))
    if "password" in text:
        raise FilterRejection(403, "Please do not share passwords.")
    body["messages"][-1]["content"] = text.replace("4111", "[card]")
    return body


@filter_function
def context(body: dict[str, Any], path: str) -> dict[str, Any]:
    """The weather agent's filter: adds a system hint."""
    return {**body, "messages": [{"role": "system", "content": "metric"}, *body["messages"]]}


def stack_config(services: str, provider_url: str, gateway_port: int = 12000) -> PlanoConfig:
    """One config for both listeners (as ``plano-asgi serve`` would run them)."""
    return PlanoConfig.from_dict(
        {
            "version": "v0.4.0",
            "agents": [
                {"id": "flights", "url": f"{services}/flights"},
                {"id": "weather", "url": f"{services}/weather"},
            ],
            "filters": [
                {"id": "pii", "url": f"{services}/pii", "type": "http"},
                {"id": "context", "url": f"{services}/context", "type": "http"},
            ],
            "listeners": [
                {
                    "type": "agent",
                    "name": "travel",
                    "port": 8001,
                    "input_filters": ["pii"],
                    "agents": [
                        {"id": "flights", "description": "flights"},
                        {"id": "weather", "description": "weather", "input_filters": ["context"]},
                    ],
                },
                {"type": "model", "name": "llm", "port": gateway_port},
            ],
            "model_providers": [
                {
                    "model": f"openai/{MODEL}",
                    "base_url": provider_url,
                    "access_key": "sk-provider-secret",
                    "default": True,
                }
            ],
            "tracing": {
                "random_sampling": 100,
                "span_attributes": {"header_prefixes": ["x-acme-"], "static": {"env": "e2e"}},
            },
        }
    )


@dataclass
class Stack:
    """The running chain: an OpenAI client ``api`` on the listener and every recorder."""

    listener_url: str
    gateway_url: str
    api: openai.AsyncOpenAI
    provider: FakeProvider
    filters: dict[str, Recorder]
    metrics: PlanoMetrics
    agents: dict[str, Recorder] = field(default_factory=dict)


@contextlib.asynccontextmanager
async def running_stack(tracer: Tracer | None) -> AsyncIterator[Stack]:
    """Start provider, gateway, agents, filters and listener on loopback; stop them after."""
    provider = FakeProvider()
    metrics = PlanoMetrics()  # one set for both listeners, as in one serve process
    async with serve(provider.app) as fake:
        # The gateway reads only the model listener and providers of the config.
        config = stack_config("http://127.0.0.1:9", f"{fake.url}/v1")
        gateway = ModelGateway(config=config, tracer=tracer, metrics=metrics)
        async with gateway, serve(gateway) as gw:
            flights, weather = build_agents(f"{gw.url}/v1", tracer)
            recorders = {
                "flights": Recorder(flights),
                "weather": Recorder(weather),
                "pii": Recorder(pii.http_app),
                "context": Recorder(context.http_app),
            }
            services = Starlette(routes=[Mount(f"/{n}", app=a) for n, a in recorders.items()])
            async with serve(services) as svc, flights, weather:
                config = stack_config(svc.url, f"{fake.url}/v1", gw.port)
                middleware = PlanoMiddleware(
                    config=config, router=TwoAgentRouter(), tracer=tracer, metrics=metrics
                )
                async with middleware, serve(middleware) as lst:
                    api = openai.AsyncOpenAI(
                        base_url=f"{lst.url}/v1", api_key="client-key", max_retries=0
                    )
                    async with api:
                        yield Stack(
                            listener_url=lst.url,
                            gateway_url=gw.url,
                            api=api,
                            provider=provider,
                            filters={k: recorders[k] for k in ("pii", "context")},
                            agents={k: recorders[k] for k in ("flights", "weather")},
                            metrics=metrics,
                        )
