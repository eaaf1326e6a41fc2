"""The travel booking assistant: a weather agent and a flight agent behind one listener.

Plano's ``travel_agents`` demo rebuilt on ``plano_agent_sdk``. The domain modules
(``openmeteo``, ``aeroapi``, ``airports``, ``dates``, ``extract``, ``render``) work without the
SDK, an LLM or any key; the agent modules wire them into SDK agents.
"""
