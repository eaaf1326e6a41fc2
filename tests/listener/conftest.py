"""Config builders and fixtures for the agent-listener tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from plano_asgi.config import PlanoConfig
from plano_asgi.routing.base import AgentCandidate, RouteDecision


def listener_config(
    agents: dict[str, str],
    *,
    router: str | None = None,
    orchestrator_url: str | None = None,
    descriptions: dict[str, str] | None = None,
    default: str | None = None,
    listener: dict[str, Any] | None = None,
    agent_extra: dict[str, dict[str, Any]] | None = None,
    overrides: dict[str, Any] | None = None,
    filters: Sequence[dict[str, Any]] = (),
    agent_filters: dict[str, list[str]] | None = None,
) -> PlanoConfig:
    """A config with one agent listener ``travel`` over ``agents`` (id -> url)."""
    descriptions = descriptions or {}
    agent_filters = agent_filters or {}
    agent_defs = [
        {"id": aid, "url": url, **(agent_extra or {}).get(aid, {})} for aid, url in agents.items()
    ]
    listener_agents = []
    for aid in agents:
        entry: dict[str, Any] = {"id": aid, "description": descriptions.get(aid, f"{aid} things")}
        if default == aid:
            entry["default"] = True
        if aid in agent_filters:
            entry["input_filters"] = agent_filters[aid]
        listener_agents.append(entry)
    data: dict[str, Any] = {
        "version": "v0.4.0",
        "agents": agent_defs,
        "filters": list(filters),
        "listeners": [
            {
                "type": "agent",
                "name": "travel",
                "port": 8001,
                "agents": listener_agents,
                **({"router": router} if router else {}),
                **(listener or {}),
            }
        ],
    }
    all_overrides = dict(overrides or {})
    if orchestrator_url is not None:
        data["model_providers"] = [
            {
                "model": "plano/katanemo/Plano-Orchestrator-4B",
                "base_url": orchestrator_url,
                "access_key": "orch-secret",
            }
        ]
        all_overrides.setdefault(
            "agent_orchestration_model", "plano/katanemo/Plano-Orchestrator-4B"
        )
    if all_overrides:
        data["overrides"] = all_overrides
    return PlanoConfig.from_dict(data)


class ScriptedRouter:
    """A router that answers from a script and records what it saw."""

    def __init__(self, *answers: tuple[str, ...] | Exception, name: str = "scripted") -> None:
        self.answers = list(answers)
        self.name = name
        self.calls: list[list[str]] = []

    async def route(
        self, messages: Sequence[Any], agents: Sequence[AgentCandidate]
    ) -> RouteDecision:
        self.calls.append([m.text for m in messages])
        if not self.answers:
            raise AssertionError("ScriptedRouter called more often than scripted")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return RouteDecision(agents=answer, router=self.name)


@pytest.fixture
def no_local_router(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``local_v1`` unavailable, so fallbacks go to the default agent deterministically."""
    monkeypatch.setattr("plano_asgi.routing.factory.load_local_router", lambda: None)
    monkeypatch.setattr("plano_asgi.listener.setup.load_local_router", lambda: None)
