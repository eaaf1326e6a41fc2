"""Listeners served in a background thread, for a command that owns the foreground.

:class:`BackgroundServers` runs :func:`~plano_asgi.serving.serve_config` on its own event
loop in a daemon thread and stops it gracefully from any thread; :func:`ports_in_use` finds
taken ports before startup, so the user hears which one instead of reading a log.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import threading
import time

import httpx2

from plano_asgi.outbound import outbound_sync_client
from plano_asgi.serving import ListenerServer, serve_config

__all__ = ["STARTUP_LIMIT", "BackgroundServers", "client_url", "ports_in_use"]

logger = logging.getLogger("plano_asgi.serving")

STARTUP_LIMIT = 120.0
"""Seconds to wait for every listener's ``/healthz`` (a cold start loads the router model)."""
_STOP_LIMIT = 15.0


class BackgroundServers:
    """:func:`~plano_asgi.serving.serve_config` in a daemon thread, stoppable from any thread."""

    def __init__(self, servers: list[ListenerServer], *, log_level: str) -> None:
        self.servers = servers
        self.log_level = log_level
        self.status: int | None = None
        """``serve_config``'s result once the thread ends (1 if it raised)."""
        self._loop = asyncio.new_event_loop()
        self._until = asyncio.Event()
        self._thread = threading.Thread(target=self._run, name="plano-listeners", daemon=True)

    def start(self) -> None:
        """Start serving in the background; returns at once (poll :meth:`wait_ready`)."""
        self._thread.start()

    @property
    def running(self) -> bool:
        """Whether the listeners' thread is still alive."""
        return self._thread.is_alive()

    def stop(self, timeout: float = _STOP_LIMIT) -> bool:
        """Stop every listener gracefully; True once the thread has ended within ``timeout``."""
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            self._loop.call_soon_threadsafe(self._until.set)
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def wait_ready(self, limit: float = STARTUP_LIMIT) -> bool:
        """Poll every listener's ``/healthz`` until all answer 200; False if serving stopped
        or ``limit`` seconds passed first."""
        pending = {server.name: f"{client_url(server)}/healthz" for server in self.servers}
        deadline = time.monotonic() + limit
        with outbound_sync_client(timeout=1.0, trust_env=False) as client:
            while pending:
                if not self.running or time.monotonic() > deadline:
                    return False
                for name, url in list(pending.items()):
                    with contextlib.suppress(httpx2.HTTPError):
                        if client.get(url).status_code == 200:
                            del pending[name]
                if pending:
                    time.sleep(0.05)
        return True

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self.status = self._loop.run_until_complete(
                serve_config(
                    self.servers,
                    log_level=self.log_level,
                    configure_logging=False,
                    until=self._until,
                )
            )
        except BaseException:  # the chat must see "stopped", the log gets why
            logger.exception("the listeners stopped with an error")
            self.status = 1
        finally:
            self._loop.close()


def client_url(server: ListenerServer) -> str:
    """The URL a local client uses for ``server`` (a wildcard bind is reached on loopback)."""
    host = server.host
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{server.port}"


def ports_in_use(servers: list[ListenerServer]) -> list[ListenerServer]:
    """The servers whose address and port cannot be bound right now."""
    busy: list[ListenerServer] = []
    for server in servers:
        if not server.port:
            continue
        family = socket.AF_INET6 if ":" in server.host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            try:
                probe.bind((server.host, server.port))
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:  # other failures: uvicorn reports them
                    busy.append(server)
    return busy
