"""Serve every listener of a config in one process, each on its own port, with uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from plano_asgi._asgi import route_path, send_json
from plano_asgi.config import AgentListener, ModelListener, PlanoConfig
from plano_asgi.errors import error_body

__all__ = ["ListenerServer", "build_listener_app", "serve_config"]

logger = logging.getLogger("plano_asgi.serving")


@dataclass(frozen=True, slots=True)
class ListenerServer:
    """One listener bound to an address and port."""

    name: str
    kind: str
    host: str
    port: int
    app: ASGIApp


def build_listener_app(config: PlanoConfig, listener: AgentListener | ModelListener) -> ASGIApp:
    """The ASGI app that serves ``listener``."""
    # Lazy imports: each listener kind pulls in only what it needs.
    try:
        if isinstance(listener, AgentListener):
            from plano_asgi.middleware import PlanoMiddleware

            return PlanoMiddleware(None, config=config, listener=listener.name)
        from plano_asgi.gateway.app import ModelGateway

        return ModelGateway(config)
    except ModuleNotFoundError as exc:
        if exc.name not in ("plano_asgi.middleware", "plano_asgi.gateway.app"):
            raise
        return _NotYetApp(listener.name, listener.type)


class _NotYetApp:
    """A listener whose feature is not built yet: ``/healthz`` answers, the rest is 501."""

    def __init__(self, name: str, kind: str) -> None:
        self.name = name
        self.kind = kind

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if route_path(scope) == "/healthz":
            await send_json(send, 200, {"status": "ok", "listener": self.name})
            return
        await send_json(
            send,
            501,
            error_body(
                f"{self.kind} listeners are not implemented in this version of plano-asgi",
                type="not_implemented",
                code="not_implemented",
            ),
        )


def plan_servers(
    config: PlanoConfig, *, host: str | None = None, port_offset: int = 0
) -> list[ListenerServer]:
    """One :class:`ListenerServer` per listener (agent listeners need a ``port``)."""
    servers: list[ListenerServer] = []
    for listener in config.listeners:
        if listener.port is None:
            raise ValueError(f"listener '{listener.name}' has no port; give it one to serve it")
        servers.append(
            ListenerServer(
                name=listener.name,
                kind=listener.type,
                host=host or listener.address,
                port=listener.port + port_offset if listener.port else 0,
                app=build_listener_app(config, listener),
            )
        )
    return servers


async def serve_config(servers: Sequence[ListenerServer], *, log_level: str = "info") -> None:
    """Run all ``servers`` until interrupted; if one fails to start, stop the others."""
    instances = [
        uvicorn.Server(
            uvicorn.Config(
                server.app,
                host=server.host,
                port=server.port,
                log_level=log_level,
                lifespan="auto",
                timeout_graceful_shutdown=5,
            )
        )
        for server in servers
    ]
    # uvicorn installs signal handlers per server; only the first needs them.
    tasks = [asyncio.create_task(instance.serve()) for instance in instances]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        for instance in instances:
            instance.should_exit = True
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, SystemExit):
                await task
