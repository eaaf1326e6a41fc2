"""Starting the pieces of an end-to-end run: services on their own uvicorn, configs that
point at them, and the listener served the way ``plano-asgi serve`` serves it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import openai
from starlette.types import ASGIApp

from plano_asgi.config import PlanoConfig
from plano_asgi.serving import build_listener_app
from tests.support.servers import free_port, serve

ORCHESTRATOR_MODEL = "plano/katanemo/Plano-Orchestrator-4B"


@dataclass(frozen=True)
class Listening:
    """A served listener: its ``url``, the app, and the OpenAI client pointed at it."""

    url: str
    api: openai.AsyncOpenAI
    app: ASGIApp


@contextlib.asynccontextmanager
async def services(apps: Mapping[str, ASGIApp | None]) -> AsyncIterator[dict[str, str]]:
    """Serve each app on its own uvicorn (lifespan on when the app speaks it; MCP apps need
    it); yields name -> base URL. ``None`` gets a port where nothing listens (refused)."""
    urls: dict[str, str] = {}
    async with contextlib.AsyncExitStack() as stack:
        for name, app in apps.items():
            if app is None:
                urls[name] = f"http://127.0.0.1:{free_port()}"
                continue
            served = await stack.enter_async_context(serve(app, lifespan="auto"))
            urls[name] = served.url
        yield urls


@contextlib.asynccontextmanager
async def listening(config: PlanoConfig, name: str | None = None) -> AsyncIterator[Listening]:
    """Serve a listener of ``config`` (the first agent listener, or ``name``) on uvicorn with
    lifespan on, exactly as ``plano-asgi serve`` builds it; closes everything afterwards."""
    listener = next(
        lst
        for lst in (*config.agent_listeners, config.model_listener)
        if lst is not None and (name is None or lst.name == name)
    )
    app = build_listener_app(config, listener)
    async with (
        serve(app, lifespan="on") as srv,
        openai.AsyncOpenAI(base_url=f"{srv.url}/v1", api_key="client-key", max_retries=0) as api,
    ):
        yield Listening(srv.url, api, app)


def agent_config(
    agents: Mapping[str, str],
    filters: Sequence[dict[str, Any]] = (),
    *,
    agent_filters: Mapping[str, Sequence[str]] | None = None,
    listener_filters: Sequence[str] = (),
    orchestrator_url: str | None = None,
) -> PlanoConfig:
    """One agent listener ``e2e`` over ``agents`` (id -> url), with the filters given.

    With ``orchestrator_url`` the listener uses ``plano_orchestrator_v1`` against an
    OpenAI-compatible server there.
    """
    agent_filters = agent_filters or {}
    listener: dict[str, Any] = {
        "type": "agent",
        "name": "e2e",
        "port": 8001,
        "agents": [
            {
                "id": aid,
                "description": f"answers questions about {aid}",
                **({"input_filters": list(agent_filters[aid])} if aid in agent_filters else {}),
            }
            for aid in agents
        ],
    }
    if listener_filters:
        listener["input_filters"] = list(listener_filters)
    data: dict[str, Any] = {
        "version": "v0.4.0",
        "agents": [{"id": aid, "url": url} for aid, url in agents.items()],
        "filters": list(filters),
        "listeners": [listener],
    }
    if orchestrator_url is not None:
        listener["router"] = "plano_orchestrator_v1"
        data["model_providers"] = [
            {"model": ORCHESTRATOR_MODEL, "base_url": orchestrator_url, "access_key": "k"}
        ]
        data["overrides"] = {"agent_orchestration_model": ORCHESTRATOR_MODEL}
    return PlanoConfig.from_dict(data)


def user(text: str) -> Any:
    """A user message (typed loosely to fit the OpenAI client's TypedDicts)."""
    return {"role": "user", "content": text}
