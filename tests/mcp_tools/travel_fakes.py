"""Open-Meteo and AeroAPI fakes in one app, for a ``uvicorn`` subprocess next to ``serve``."""

from __future__ import annotations

from starlette.applications import Starlette

from tests.examples.fakes import Recorder, aeroapi_app, open_meteo_app

app = Starlette(routes=[*open_meteo_app(Recorder()).routes, *aeroapi_app(Recorder()).routes])
