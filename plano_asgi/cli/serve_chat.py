"""``plano-asgi serve CONFIG --chat``: every listener in the background, a chat in front.

The listeners run in a worker thread with their own event loop, exactly as ``serve`` runs
them; the chat owns the main thread, so the terminal keeps line editing and Ctrl-C lands
where the user is. Ctrl-C, Ctrl-D, ``exit``, SIGTERM or the end of piped input stop the
chat and then every listener, gracefully. While the chat runs, the server logs go to a file
so they never interleave with the answers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from plano_asgi.cli.background import STARTUP_LIMIT, BackgroundServers, client_url, ports_in_use
from plano_asgi.cli.chat import ChatSession, converse, read_lines
from plano_asgi.cli.terminal import Style, wants_color
from plano_asgi.config import AgentListener, PlanoConfig
from plano_asgi.outbound import outbound_sync_client
from plano_asgi.serving import ListenerServer

__all__ = ["DEFAULT_LOG_FILE", "logs_to", "serve_and_chat"]

logger = logging.getLogger("plano_asgi.serving")

DEFAULT_LOG_FILE = Path(".plano") / "serve.log"


def serve_and_chat(
    config: PlanoConfig,
    servers: list[ListenerServer],
    *,
    log_level: str,
    log_file: Path,
    intro: str | None = None,
    timeout: float = 120.0,
    started: float | None = None,
) -> int:
    """Serve ``servers``, chat with the first agent listener, then stop them all.

    ``started`` (a :func:`time.monotonic` value) is when the command began, for the
    "ready in" line. Returns the chat's status (0: every turn answered, 1: a turn failed),
    1 when a listener cannot start, 130 after Ctrl-C, 143 after SIGTERM.
    """
    err = sys.stderr
    target = next((s for s in servers if s.kind == "agent"), None)
    if target is None:
        err.write("--chat needs an agent listener to talk to; this config has none\n")
        return 2
    busy = ports_in_use(servers)
    if busy:
        for server in busy:
            err.write(
                f"error: port {server.port} ({server.kind} listener '{server.name}') is in use "
                f"on {server.host}.\n"
            )
        err.write(
            "Another copy may still be running: stop it, or shift every port with "
            "--port-offset N (e.g. --port-offset 100).\n"
        )
        return 1
    styled = Style(wants_color(err))
    err.write(_banner(config, servers, log_file))
    err.write("Starting the listeners (and the router model)...")
    err.flush()
    runner = BackgroundServers(servers, log_level=log_level)
    started = time.monotonic() if started is None else started
    with _sigterm_interrupts():
        ready = False
        try:
            with _startup_warnings() as warnings:
                runner.start()
                if not runner.wait_ready():
                    err.write(" failed.\n")
                    err.write(_startup_failure(runner, log_file))
                    return 1
            ready = True
            err.write(styled.bold(f" ready in {time.monotonic() - started:.1f} s.") + "\n")
            for message in warnings:  # e.g. a router that could not load: say so up front
                err.write(f"  warning: {message}\n")
            interactive = sys.stdin.isatty()
            if intro:
                err.write("\n" + intro.rstrip("\n") + "\n")
            if interactive:
                err.write(styled.dim("\nCtrl-D, Ctrl-C or 'exit' quits.") + "\n\n")
            err.flush()
            return _chat(client_url(target), interactive, timeout)
        except KeyboardInterrupt as interrupt:
            if not ready:
                err.write("\n")  # end the "Starting..." line
            return 143 if isinstance(interrupt, _Terminated) else 130
        finally:
            if runner.running:
                err.write(styled.dim("Stopping the listeners...") + "\n")
                err.flush()
            with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C: just leave
                if not runner.stop():
                    err.write("the listeners did not stop in time; leaving anyway\n")


def _chat(url: str, interactive: bool, timeout: float) -> int:
    session = ChatSession(url=url, timeout=timeout, color=interactive and wants_color(sys.stdout))
    with outbound_sync_client(timeout=None, trust_env=False) as client:
        return converse(session, client, read_lines(interactive), interactive=interactive)


@contextlib.contextmanager
def _startup_warnings() -> Iterator[list[str]]:
    """Collect the distinct WARNING+ messages logged during the block (they also reach the
    log file): a normal start logs none, so each one is worth showing on the terminal."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            if message not in messages:
                messages.append(message)

    handler = Collect(logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield messages
    finally:
        root.removeHandler(handler)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be so the same clean shutdown runs (exit 143)."""


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Let SIGTERM end the chat the way Ctrl-C does, so the listeners stop gracefully."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise _Terminated

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def logs_to(path: Path, level: str) -> Iterator[None]:
    """Send every log record of the process (uvicorn's and the exporter's included) to
    ``path`` for the block, warnings too: while the chat owns the terminal, nothing else
    writes to it. Wrap it around everything that may log, shutdown included."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    previous_level = root.level
    quiet = [logging.getLogger(name) for name in ("httpx", "httpcore", "httpx2", "httpcore2")]
    quiet_levels = [each.level for each in quiet]
    root.addHandler(handler)
    root.setLevel(level.upper())
    for each in quiet:  # their INFO lines carry request URLs (places the user asked about)
        each.setLevel(logging.WARNING)
    logging.captureWarnings(True)
    logger.info("serve --chat: logging here (pid %d)", os.getpid())
    try:
        yield
    finally:
        logging.captureWarnings(False)
        for each, each_level in zip(quiet, quiet_levels, strict=True):
            each.setLevel(each_level)
        root.setLevel(previous_level)
        root.removeHandler(handler)
        handler.close()


def _banner(config: PlanoConfig, servers: list[ListenerServer], log_file: Path) -> str:
    from plano_asgi.routing.factory import router_kind

    urls = [client_url(server) for server in servers]
    width = max(len(url) for url in urls) + 2
    lines: list[str] = []
    for server, url in zip(servers, urls, strict=True):
        lines.append(f"  {url:<{width}}{server.kind} listener {server.name}")
        if server.kind == "agent":
            listener = config.listener(server.name)
            assert isinstance(listener, AgentListener)
            agents = ", ".join(agent.id for agent in listener.agents)
            lines.append(f"  {'':<{width}}router {router_kind(config, listener)}: {agents}")
        else:
            lines.append(f"  {'':<{width}}{_providers(config)}")
    lines.append(f"  {'logs':<{width}}{log_file}")
    return "\n".join(lines) + "\n"


def _providers(config: PlanoConfig) -> str:
    names = ", ".join(p.display_name for p in config.model_providers) or "no providers"
    keyless = [p for p in config.model_providers if not p.access_key and not p.passthrough_auth]
    if config.model_providers and len(keyless) == len(config.model_providers):
        return f"{names} (no access key)"
    return names


def _startup_failure(runner: BackgroundServers, log_file: Path) -> str:
    if runner.running:
        runner.stop()
        return f"The listeners did not answer /healthz within {STARTUP_LIMIT:.0f} s.\n"
    lines = _tail_errors(log_file)
    details = "".join(f"  {line}\n" for line in lines)
    return f"A listener could not start:\n{details}(full log: {log_file})\n"


def _tail_errors(path: Path, count: int = 5) -> list[str]:
    with contextlib.suppress(OSError):
        text = path.read_text(encoding="utf-8", errors="replace")
        session = text.rsplit("serve --chat: logging here", 1)[-1]
        errors = [line.split(" ERROR ", 1)[1] for line in session.splitlines() if " ERROR " in line]
        return errors[-count:]
    return []
