"""``listeners[].agent_tools``: defaults, and a clear error naming the key for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from plano_asgi.config import AgentTools, PlanoConfig, load_config
from plano_asgi.errors import ConfigError

BASE = """\
version: v0.3.0
agents:
  - id: weather_agent
    url: http://127.0.0.1:9
  - id: flight_agent
    url: http://127.0.0.1:9
listeners:
  - type: agent
    name: travel
    agents:
      - id: weather_agent
        description: weather
      - id: flight_agent
        description: flights
"""


def load(tmp_path: Path, tools: str) -> PlanoConfig:
    path = tmp_path / "plano_config.yaml"
    path.write_text(BASE + tools, encoding="utf-8")
    return load_config(path, env={})


def test_agent_tools_are_on_for_every_agent_by_default(tmp_path: Path) -> None:
    config = load(tmp_path, "")
    assert config.agent_listener("travel").agent_tools == AgentTools()
    assert AgentTools() == AgentTools(enabled=True, path="/mcp", agents=None)


def test_agent_tools_keys_load(tmp_path: Path) -> None:
    text = "    agent_tools:\n      enabled: false\n      path: /tools/mcp\n"
    text += "      agents: [flight_agent]\n"
    tools = load(tmp_path, text).agent_listener("travel").agent_tools
    assert tools == AgentTools(enabled=False, path="/tools/mcp", agents=("flight_agent",))


@pytest.mark.parametrize(
    ("tools", "path", "message"),
    [
        (
            "    agent_tools:\n      agents: [wether_agent]\n",
            "listeners[0].agent_tools.agents[0]",
            "'wether_agent' is not an agent of this listener (did you mean 'weather_agent'?); "
            "its agents: flight_agent, weather_agent",
        ),
        (
            "    agent_tools:\n      path: /v1/models\n",
            "listeners[0].agent_tools.path",
            "'/v1/models' is already a listener endpoint; choose another path, e.g. /mcp",
        ),
        (
            "    agent_tools:\n      path: mcp\n",
            "listeners[0].agent_tools.path",
            "not a path like /mcp",
        ),
        (
            "    agent_tools:\n      enabled: maybe\n",
            "listeners[0].agent_tools.enabled",
            "true or false",
        ),
        ("    agent_tools:\n      expose: all\n", "listeners[0].agent_tools.expose", "unknown"),
    ],
    ids=["unknown-agent", "taken-path", "relative-path", "not-a-bool", "unknown-key"],
)
def test_bad_agent_tools_are_config_errors(
    tmp_path: Path, tools: str, path: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, tools)
    issues = [(issue.path, issue.message) for issue in caught.value.issues]
    assert len(issues) == 1, issues
    assert issues[0][0] == path
    assert message in issues[0][1]
