"""Resolving the orchestrator model and choosing routers from the config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from plano_asgi.chat import ChatMessage
from plano_asgi.config import PlanoConfig
from plano_asgi.errors import ConfigError, RoutingError
from plano_asgi.routing.base import AgentCandidate
from plano_asgi.routing.factory import build_routers, router_kind
from plano_asgi.routing.orchestrator import OrchestratorRouter, resolve_orchestrator
from tests.listener.agents import FakeOrchestrator
from tests.support.servers import serve

LISTENER = {
    "type": "agent",
    "name": "travel",
    "port": 8001,
    "agents": [{"id": "a", "description": "A"}, {"id": "b", "description": "B"}],
}


def config(
    providers: list[dict[str, Any]], overrides: dict[str, Any] | None = None, **listener: Any
) -> PlanoConfig:
    return PlanoConfig.from_dict(
        {
            "version": "v0.4.0",
            "agents": [
                {"id": "a", "url": "http://127.0.0.1:1"},
                {"id": "b", "url": "http://127.0.0.1:2"},
            ],
            "listeners": [{**LISTENER, **listener}],
            "model_providers": providers,
            **({"overrides": overrides} if overrides else {}),
        }
    )


@pytest.mark.parametrize(
    ("provider", "override", "url", "model"),
    [
        pytest.param(
            {"model": "plano/katanemo/Plano-Orchestrator-4B", "base_url": "http://127.0.0.1:8000"},
            "plano/katanemo/Plano-Orchestrator-4B",
            "http://127.0.0.1:8000/v1/chat/completions",
            "katanemo/Plano-Orchestrator-4B",
            id="plano-local-vllm",
        ),
        pytest.param(
            {"model": "openai/gpt-4o-mini", "access_key": "k"},
            "openai/gpt-4o-mini",
            "https://api.openai.com/v1/chat/completions",
            "gpt-4o-mini",
            id="openai-known-base",
        ),
        pytest.param(
            {"model": "groq/llama-3.1-8b", "name": "router-llm", "access_key": "k"},
            "router-llm",
            "https://api.groq.com/openai/v1/chat/completions",
            "llama-3.1-8b",
            id="by-provider-name",
        ),
        pytest.param(
            {
                "model": "custom/router",
                "base_url": "http://127.0.0.1:9000/api/openai",
                "provider_interface": "openai",
            },
            "custom/router",
            "http://127.0.0.1:9000/api/openai/chat/completions",
            "router",
            id="base-url-path-replaces-v1",
        ),
    ],
)
def test_orchestrator_resolution(
    provider: dict[str, Any], override: str, url: str, model: str
) -> None:
    endpoint = resolve_orchestrator(config([provider], {"agent_orchestration_model": override}))
    assert endpoint.url == url
    assert endpoint.model == model


def test_orchestrator_key_never_shows_in_repr() -> None:
    provider = {"model": "openai/gpt-4o-mini", "access_key": "sk-very-secret"}
    endpoint = resolve_orchestrator(
        config([provider], {"agent_orchestration_model": "openai/gpt-4o-mini"})
    )
    assert endpoint.api_key == "sk-very-secret"
    assert "sk-very-secret" not in repr(endpoint)


def test_unknown_orchestrator_model_is_a_config_error() -> None:
    cfg = config(
        [{"model": "openai/gpt-4o", "access_key": "k"}], {"agent_orchestration_model": "x/nope"}
    )
    with pytest.raises(ConfigError, match="matches no model_providers"):
        resolve_orchestrator(cfg)


def test_custom_prompt_template_from_file(tmp_path: Path) -> None:
    template = tmp_path / "prompt.txt"
    template.write_text("ROUTES:{routes}\nCONV:{conversation}\n", encoding="utf-8")
    cfg = config(
        [{"model": "openai/gpt-4o-mini", "access_key": "k"}],
        {
            "agent_orchestration_model": "openai/gpt-4o-mini",
            "orchestrator_prompt_path": str(template),
            "orchestrator_model_context_length": 1000,
        },
    )
    router = OrchestratorRouter.from_config(cfg, client=httpx2.AsyncClient())
    prompt = router.prompt.build(
        [ChatMessage(role="user", content="hi")], [AgentCandidate("a", "A")]
    )
    assert prompt.startswith('ROUTES:{"name": "a"')
    assert router.prompt.context_length == 1000
    bad = tmp_path / "bad.txt"
    bad.write_text("no placeholders", encoding="utf-8")
    cfg_bad = config(
        [{"model": "openai/gpt-4o-mini", "access_key": "k"}],
        {"agent_orchestration_model": "openai/gpt-4o-mini", "orchestrator_prompt_path": str(bad)},
    )
    with pytest.raises(ConfigError, match="placeholder"):
        OrchestratorRouter.from_config(cfg_bad, client=httpx2.AsyncClient())


@pytest.mark.anyio
async def test_orchestrator_call_shape_and_choices_handling() -> None:
    fake = FakeOrchestrator('```json\n{"route": ["b", "a", "b"]}\n```')
    empty = FakeOrchestrator(raw_body=b'{"choices": []}')
    with anyio.fail_after(10):
        async with serve(fake) as one, serve(empty) as two, httpx2.AsyncClient() as http:
            providers: list[dict[str, Any]] = [
                {"model": "vllm/router", "base_url": one.url, "headers": {"x-team": "t"}},
                {"model": "vllm/empty", "base_url": two.url},
            ]
            cfg = config(providers, {"agent_orchestration_model": "vllm/router"})
            router = OrchestratorRouter.from_config(cfg, client=http)
            messages = [ChatMessage(role="user", content="go")]
            agents = [AgentCandidate("a", "A"), AgentCandidate("b", "B")]
            decision = await router.route(messages, agents)
            empty_router = OrchestratorRouter(resolve_orchestrator(cfg, "vllm/empty"), client=http)
            nothing = await empty_router.route(messages, agents)
            no_user = await router.route([ChatMessage(role="system", content="x")], agents)
    assert decision.agents == ("b", "a")
    assert decision.router == "plano_orchestrator_v1"
    assert nothing.agents == ()
    assert no_user.agents == ()
    assert len(fake.seen) == 1  # no call without a user turn
    body = fake.seen[0].body
    assert set(body) == {"messages", "model", "temperature"}
    assert body["model"] == "router"
    assert fake.seen[0].headers["x-team"] == "t"
    assert "authorization" not in fake.seen[0].headers


@pytest.mark.anyio
async def test_orchestrator_non_chat_json_is_routing_error() -> None:
    fake = FakeOrchestrator(raw_body=b'{"hello": "world"}')
    with anyio.fail_after(10):
        async with serve(fake) as srv, httpx2.AsyncClient() as http:
            cfg = config(
                [{"model": "vllm/r", "base_url": srv.url}], {"agent_orchestration_model": "vllm/r"}
            )
            router = OrchestratorRouter.from_config(cfg, client=http)
            with pytest.raises(RoutingError, match="not a chat completion"):
                await router.route(
                    [ChatMessage(role="user", content="x")], [AgentCandidate("a", "A")]
                )


@pytest.mark.parametrize(
    ("router", "orchestrator", "kind"),
    [
        pytest.param(None, False, "local_v1", id="default-without-model"),
        pytest.param(None, True, "hybrid_v1", id="default-with-model"),
        pytest.param("plano_orchestrator_v1", True, "plano_orchestrator_v1", id="explicit"),
        pytest.param("local_v1", True, "local_v1", id="explicit-local"),
    ],
)
def test_router_kind_defaults(router: str | None, orchestrator: bool, kind: str) -> None:
    overrides = {"agent_orchestration_model": "openai/gpt-4o-mini"} if orchestrator else None
    extra = {"router": router} if router else {}
    cfg = config([{"model": "openai/gpt-4o-mini", "access_key": "k"}], overrides, **extra)
    assert router_kind(cfg, cfg.agent_listeners[0]) == kind


@pytest.mark.anyio
async def test_router_plan_for_orchestrator_without_model_never_calls_hosted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("plano_asgi.routing.factory.load_local_router", lambda: None)
    cfg = config([], router="plano_orchestrator_v1")
    async with httpx2.AsyncClient() as http:
        plan = build_routers(cfg, cfg.agent_listeners[0], client=http)
    assert plan.primary is None
    assert plan.note is not None
    assert "never called implicitly" in plan.note


@pytest.mark.anyio
async def test_router_plan_for_orchestrator_falls_back_to_local(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sentinel = object()
    monkeypatch.setattr("plano_asgi.routing.factory.load_local_router", lambda: sentinel)
    cfg = config(
        [{"model": "openai/gpt-4o-mini", "access_key": "k"}],
        {"agent_orchestration_model": "openai/gpt-4o-mini"},
        router="plano_orchestrator_v1",
    )
    async with httpx2.AsyncClient() as http:
        plan = build_routers(cfg, cfg.agent_listeners[0], client=http)
    assert isinstance(plan.primary, OrchestratorRouter)
    assert plan.fallback is sentinel
