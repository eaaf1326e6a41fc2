"""The travel example's plano_config.yaml matches the agents this package serves."""

from __future__ import annotations

import importlib
from pathlib import Path

from examples.travel.flight_agent import agent as flight_agent
from examples.travel.weather_agent import agent as weather_agent
from plano_asgi.config import load_config

CONFIG = Path(__file__).resolve().parents[2] / "examples" / "travel" / "plano_config.yaml"


def test_config_names_the_example_agents():
    config = load_config(CONFIG, env={"OPENAI_API_KEY": "sk-test"})

    listener = config.agent_listener("travel_booking_service")
    assert {agent.id for agent in listener.agents} == {weather_agent.name, flight_agent.name}
    assert {agent.id for agent in config.agents} >= {"weather_agent", "flight_agent"}


def test_in_process_app_entries_point_at_the_matching_agent():
    config = load_config(CONFIG, env={"OPENAI_API_KEY": "sk-test"})

    for agent in config.agents:
        if agent.app is None:
            continue
        module, _, attribute = agent.app.partition(":")
        served = getattr(importlib.import_module(module), attribute)
        assert served.name == agent.id
