"""Where ``plano-asgi serve`` binds each listener: this machine only, unless told otherwise."""

from __future__ import annotations

from typing import Any

from plano_asgi.config import PlanoConfig
from plano_asgi.serving import DEFAULT_HOST, plan_servers


def _config(**agent_listener: Any) -> PlanoConfig:
    return PlanoConfig.from_dict(
        {
            "version": "v0.3.0",
            "agents": [{"id": "a", "url": "http://127.0.0.1:9"}],
            "listeners": [
                {
                    "type": "agent",
                    "name": "front",
                    "port": 8001,
                    "agents": [{"id": "a", "description": "anything"}],
                    **agent_listener,
                },
                {"type": "model", "name": "llm", "port": 12000, "address": "0.0.0.0"},
            ],
            "model_providers": [{"model": "openai/gpt-4o", "access_key": "sk-x"}],
        }
    )


def test_a_listener_without_address_is_served_on_loopback_only() -> None:
    hosts = {s.name: s.host for s in plan_servers(_config())}
    assert DEFAULT_HOST == "127.0.0.1"
    assert hosts == {"front": "127.0.0.1", "llm": "0.0.0.0"}  # llm says 0.0.0.0 itself


def test_an_address_in_the_config_or_a_host_override_is_honoured() -> None:
    assert {s.host for s in plan_servers(_config(address="10.1.2.3"))} == {"10.1.2.3", "0.0.0.0"}
    assert {s.host for s in plan_servers(_config(), host="0.0.0.0")} == {"0.0.0.0"}
