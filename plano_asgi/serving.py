"""Serve every listener of a config in one process, each on its own port, with uvicorn.

Every listener also answers ``GET /healthz`` with 200 (as Plano's listeners do), which is
what ``planoai up`` and container probes poll, and ``GET /metrics`` (Prometheus text, one
metric set shared by every listener of the process). Ctrl-C or SIGTERM stops all listeners
gracefully; a second Ctrl-C stops them at once.

:func:`observability` is what ``serve`` wraps around the servers: it installs the
OpenTelemetry SDK and exporter the config asks for, a log handler so the one access line
per request prints, and flushes and shuts the exporter down on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp

from plano_asgi.config import AgentListener, ModelListener, PlanoConfig
from plano_asgi.errors import ConfigError, ConfigIssue, MissingExtraError

try:
    import uvicorn
except ImportError as exc:
    raise MissingExtraError("server", "serving listeners (plano-asgi serve)", exc) from exc

if TYPE_CHECKING:
    from plano_asgi.telemetry.setup import TracingHandle

__all__ = [
    "DEFAULT_HOST",
    "ListenerServer",
    "build_listener_app",
    "observability",
    "event_loop_factory",
    "plan_servers",
    "run_served",
    "serve_config",
]

DEFAULT_HOST = "127.0.0.1"
"""Where a listener without ``address`` is served: this machine only, until you say so."""

logger = logging.getLogger("plano_asgi.serving")


@dataclass(frozen=True, slots=True)
class ListenerServer:
    """One listener bound to an address and port (``port`` 0: any free port)."""

    name: str
    kind: str
    host: str
    port: int
    app: ASGIApp
    implicit: bool = False
    """True for the model listener Plano adds when the config declares none."""


def build_listener_app(config: PlanoConfig, listener: AgentListener | ModelListener) -> ASGIApp:
    """The ASGI app that serves ``listener`` (each app answers its own ``/healthz``)."""
    # Lazy imports: each listener kind pulls in only what it needs.
    if isinstance(listener, AgentListener):
        from plano_asgi.middleware import PlanoMiddleware

        return PlanoMiddleware.from_config(config, listener=listener.name)
    from plano_asgi.gateway.app import ModelGateway

    return ModelGateway.from_config(config)


def plan_servers(
    config: PlanoConfig,
    *,
    host: str | None = None,
    port_offset: int = 0,
    implicit_model_listener: bool = True,
) -> list[ListenerServer]:
    """One :class:`ListenerServer` per listener, each app answering ``/healthz``.

    ``host`` overrides every listener's ``address`` (unset: :data:`DEFAULT_HOST`);
    ``port_offset`` is added to every port (not to 0). Like Plano, a config with
    providers but no model listener also gets one (``egress_traffic`` on 12000, see
    :attr:`PlanoConfig.implicit_model_listener`) unless ``implicit_model_listener`` is
    False. Raises :class:`ConfigError` for an agent
    listener without a port, or a port out of range after the offset.
    """
    listeners: list[AgentListener | ModelListener] = list(config.listeners)
    implicit = config.implicit_model_listener if implicit_model_listener else None
    if implicit is not None:
        listeners.append(implicit)
    issues: list[ConfigIssue] = []
    for index, listener in enumerate(listeners):
        if listener.port is None:
            issues.append(
                ConfigIssue(
                    f"listeners[{index}].port",
                    f"listener '{listener.name}' needs a port to be served",
                )
            )
        elif listener.port and not 0 < listener.port + port_offset < 65536:
            issues.append(
                ConfigIssue(
                    f"listeners[{index}].port",
                    f"port {listener.port} + offset {port_offset} is not a valid port",
                )
            )
    if issues:
        source = str(config.source) if config.source else None
        raise ConfigError(issues, source=source)
    servers: list[ListenerServer] = []
    for listener in listeners:
        port = listener.port or 0
        servers.append(
            ListenerServer(
                name=listener.name,
                kind=listener.type,
                host=host or listener.address or DEFAULT_HOST,
                port=port + port_offset if port else 0,
                app=build_listener_app(config, listener),
                implicit=listener is implicit,
            )
        )
    return servers


@contextlib.contextmanager
def observability(
    config: PlanoConfig,
    *,
    endpoint: str | None = None,
    log_level: str = "info",
    configure_logs: bool = True,
) -> Iterator[TracingHandle]:
    """Tracing, exporter and log handler from the config for the block; flushed on exit.

    ``endpoint`` (``PLANO_OTLP_ENDPOINT``) wins over ``tracing.otlp_endpoint``, then
    ``opentracing_grpc_endpoint``, then ``OTEL_EXPORTER_OTLP_*``; ``tracing.random_sampling``
    is the parent-based sampling percent (see :func:`~plano_asgi.telemetry.setup_tracing`).
    ``configure_logs=False`` leaves logging to you (e.g. when logs go to a file).
    """
    from plano_asgi.telemetry.logs import configure_logging
    from plano_asgi.telemetry.setup import setup_tracing

    if configure_logs:
        configure_logging(log_level)
    handle = setup_tracing(config, endpoint=endpoint)
    try:
        yield handle
    finally:
        handle.shutdown()


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals alone: :func:`serve_config` owns them for all."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_config(
    servers: Sequence[ListenerServer],
    *,
    log_level: str = "info",
    configure_logging: bool = True,
    until: asyncio.Event | None = None,
    sockets: Sequence[socket.socket] | None = None,
) -> int:
    """Run all ``servers`` until SIGINT/SIGTERM; return 0, or 1 if one failed to start.

    If one listener stops (e.g. its port is taken), the others are stopped too, so the
    process never runs half a config. ``configure_logging=False`` keeps uvicorn from
    installing its own handlers (its records then reach yours through the root logger).
    Setting ``until`` stops every listener gracefully, which is how a caller that runs this
    in a worker thread (no signal handlers there) stops it:
    ``loop.call_soon_threadsafe(until.set)``. ``sockets`` (one per server, in order) are
    listening sockets to serve on instead of binding (the workers of ``--workers``).
    """
    instances = [
        _Server(
            uvicorn.Config(
                server.app,
                host=server.host,
                port=server.port,
                log_level=log_level,
                log_config=uvicorn.config.LOGGING_CONFIG if configure_logging else None,
                access_log=False,  # each listener logs one richer line per request itself
                lifespan="auto",
                timeout_graceful_shutdown=5,
            )
        )
        for server in servers
    ]
    failed: list[str] = []

    def stop() -> None:
        for instance in instances:
            if instance.should_exit:
                instance.force_exit = True  # a second signal: stop now
            instance.should_exit = True

    bound = list(sockets) if sockets is not None else [None] * len(instances)

    async def run(server: ListenerServer, instance: _Server, sock: socket.socket | None) -> None:
        try:
            await instance.serve(sockets=[sock] if sock is not None else None)
        except SystemExit:  # uvicorn exits this way when it cannot bind or start up
            failed.append(server.name)
        finally:
            for other in instances:
                other.should_exit = True

    async def stop_when_set(event: asyncio.Event) -> None:
        await event.wait()
        stop()

    with _signals_stop(stop):
        watcher = asyncio.ensure_future(stop_when_set(until)) if until is not None else None
        try:
            async with asyncio.TaskGroup() as group:
                for server, instance, sock in zip(servers, instances, bound, strict=True):
                    group.create_task(run(server, instance, sock))
        finally:
            if watcher is not None:
                watcher.cancel()
                await asyncio.wait({watcher})
    if failed:
        logger.error("listener(s) %s could not start; stopped all listeners", ", ".join(failed))
        return 1
    return 0


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when it is installed (the ``server`` extra brings it), else ``None``.

    ``None`` means asyncio's default loop. uvloop runs the same code with less CPU per
    request; uvicorn picks its httptools parser on its own when that is installed.
    """
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run_served(main: Coroutine[Any, Any, int]) -> int:
    """Run ``main`` (a :func:`serve_config` call) on :func:`event_loop_factory`'s loop."""
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        return runner.run(main)


@contextlib.contextmanager
def _signals_stop(stop: Callable[[], None]) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, Windows
            continue
        installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
