"""The travel booking assistant: a weather agent and a flight agent behind one listener.

Plano's ``travel_agents`` demo rebuilt on ``plano_agent_sdk``. This folder shows what
touches the SDK: the agents (``weather_agent``, ``flight_agent``, with ``agents`` for what
they share and ``weather_tool`` for the flight agent's call of the weather agent's tool),
each agent's answer (``weather``, ``flights``, ``answer``), the services one request uses
(``services``) and the config. The helpers live in :mod:`examples.travel.lib` and work
without the SDK, an LLM or any key.
"""
