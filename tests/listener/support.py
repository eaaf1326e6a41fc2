"""Serving a listener under real uvicorn, and the official OpenAI client pointed at it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import openai
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp

from plano_asgi.config import PlanoConfig
from plano_asgi.middleware import PlanoMiddleware
from tests.support.servers import free_port, serve


@dataclass(frozen=True)
class Listening:
    """A served listener: its ``url`` and an OpenAI client ``api`` pointed at it."""

    url: str
    api: openai.AsyncOpenAI
    app: PlanoMiddleware


@contextlib.asynccontextmanager
async def listener(config: PlanoConfig, **kwargs: Any) -> AsyncIterator[Listening]:
    """``PlanoMiddleware(None, config=...)`` on a real uvicorn, closed afterwards."""
    async with (
        PlanoMiddleware(None, config=config, **kwargs) as app,
        serve(app) as srv,
        client(srv.url) as api,
    ):
        yield Listening(srv.url, api, app)


def client(url: str, **kwargs: Any) -> openai.AsyncOpenAI:
    """The OpenAI client as a user would point it at the listener."""
    return openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="client-key", max_retries=0, **kwargs)


def user(text: str) -> Any:
    """A user message (typed loosely so it fits the OpenAI client's TypedDicts)."""
    return {"role": "user", "content": text}


@contextlib.asynccontextmanager
async def fakes(**apps: ASGIApp | None) -> AsyncIterator[dict[str, str]]:
    """Serve several fakes on one uvicorn, each under ``/<name>``; yields name -> base URL.

    A ``None`` app gets the URL of a port where nothing listens (connection refused).
    """
    routes = [Mount(f"/{name}", app=app) for name, app in apps.items() if app is not None]
    async with serve(Starlette(routes=routes)) as srv:
        dead = f"http://127.0.0.1:{free_port()}"
        yield {
            name: (f"{srv.url}/{name}" if app is not None else dead) for name, app in apps.items()
        }
