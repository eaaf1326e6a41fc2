"""The travel assistant's helpers, none of which knows the SDK.

The parser (``conversation``, ``places``, ``extract``, ``dates``), the two web APIs
(``openmeteo``, ``aeroapi``, ``fetch``), the reference tables (``airports``, ``airlines``,
``wmo``), answers written from data (``render``), the model calls with their fallbacks
(``llm``), the handoff between the agents (``handoff``, ``scope``) and the settings read from
the environment (``settings``). Nothing here imports the modules above it.
"""
