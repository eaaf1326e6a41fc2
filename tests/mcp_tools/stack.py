"""A config with agent tools, ``plano-asgi serve`` in a subprocess, and an MCP client session."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx2
import yaml
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

STARTUP_LIMIT = 60.0
AGENTS = {
    "echo_agent": "Repeats what you say.",
    "broken_agent": "Always fails.",
    "caller_agent": "Asks the echo agent.",
    "guarded_agent": "Repeats, behind a filter that blocks passwords.",
}


def tools_config(ports: Mapping[str, int], guard_url: str) -> dict[str, Any]:
    """Three listeners: ``tools`` (every agent, defaults), ``open`` (only ``echo_agent``,
    credentials forwarded) and ``closed`` (agent tools off)."""
    apps = {"echo_agent": "echo", "broken_agent": "broken", "caller_agent": "caller"}
    agents = [
        {"id": aid, "app": f"tests.mcp_tools.agents:{apps.get(aid, 'echo')}"} for aid in AGENTS
    ]
    every: list[dict[str, Any]] = [{"id": aid, "description": text} for aid, text in AGENTS.items()]
    every[-1]["input_filters"] = ["no_passwords"]
    return {
        "version": "v0.3.0",
        "agents": agents,
        "filters": [{"id": "no_passwords", "url": guard_url, "type": "http"}],
        "listeners": [
            {
                "type": "agent",
                "name": "tools",
                "port": ports["tools"],
                "router": "local_v1",
                "agents": every,
            },
            {
                "type": "agent",
                "name": "open",
                "port": ports["open"],
                "router": "local_v1",
                "agents": every[:2],
                "forward_headers": ["authorization"],
                "agent_tools": {"agents": ["echo_agent"]},
            },
            {
                "type": "agent",
                "name": "closed",
                "port": ports["closed"],
                "agents": every[:1],
                "agent_tools": {"enabled": False},
            },
        ],
    }


def write_config(path: Path, data: Mapping[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(dict(data), sort_keys=False), encoding="utf-8")
    return path


@contextlib.contextmanager
def running(args: list[str], log: Path, health: list[str]) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``python -m <args>`` until every ``health`` URL answers; stop it afterwards."""
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", *args], stdout=out, stderr=out)
        try:
            deadline = time.monotonic() + STARTUP_LIMIT
            with httpx2.Client(timeout=1.0) as client:
                for url in health:
                    while True:
                        assert proc.poll() is None, log.read_text()
                        assert time.monotonic() < deadline, f"{url} not up: {log.read_text()}"
                        with contextlib.suppress(httpx2.TransportError):
                            client.get(url)
                            break
                        time.sleep(0.05)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.asynccontextmanager
async def mcp_session(
    url: str, headers: Mapping[str, str] | None = None
) -> AsyncIterator[ClientSession]:
    """An initialized official MCP client session with ``url`` (``.../mcp``)."""
    async with (
        httpx2.AsyncClient(headers=dict(headers or {}), timeout=30.0) as client,
        streamable_http_client(url, http_client=client) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def text_of(result: Any) -> str:
    return "".join(getattr(part, "text", "") for part in result.content)
