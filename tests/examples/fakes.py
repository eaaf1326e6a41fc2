"""Loopback fakes of the far edge: Open-Meteo, FlightAware AeroAPI and an OpenAI-style model.

Each is a small Starlette app serving the hand-written JSON in ``fixtures/`` and recording
every request it gets, so a test can assert what was asked (query params, headers, bodies).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

FIXTURES = Path(__file__).with_name("fixtures")
CITIES = ("paris", "atlanta", "seattle")


def fixture(name: str) -> Any:
    """A fixture file's JSON."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@dataclass
class Seen:
    """One request a fake received."""

    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: Any = None


@dataclass
class Recorder:
    """Everything a fake was asked, in order."""

    seen: list[Seen] = field(default_factory=list)

    def paths(self) -> list[str]:
        return [item.path for item in self.seen]

    def last(self, path_part: str) -> Seen:
        return [item for item in self.seen if path_part in item.path][-1]


async def _record(recorder: Recorder, request: Request) -> Seen:
    body = None
    if request.method == "POST":
        body = json.loads(await request.body() or b"null")
    seen = Seen(request.url.path, dict(request.query_params), dict(request.headers), body)
    recorder.seen.append(seen)
    return seen


def open_meteo_app(recorder: Recorder, *, status: int = 200) -> Starlette:
    """Geocoding at ``/v1/search`` and forecasts at ``/v1/forecast`` for the fixture cities.

    ``status`` other than 200 makes every endpoint fail that way (Open-Meteo "down").
    Forecasts keep only the ``forecast_days`` asked for, as the real API does.
    """

    async def search(request: Request) -> Response:
        seen = await _record(recorder, request)
        if status != 200:
            return JSONResponse({"error": True, "reason": "down"}, status_code=status)
        name = seen.params.get("name", "").strip().lower()
        file = f"geocoding_{name}.json" if name in CITIES else "geocoding_empty.json"
        return JSONResponse(fixture(file))

    async def forecast(request: Request) -> Response:
        seen = await _record(recorder, request)
        if status != 200:
            return JSONResponse({"error": True, "reason": "down"}, status_code=status)
        latitude = float(seen.params["latitude"])
        for city in CITIES:
            place = fixture(f"geocoding_{city}.json")["results"][0]
            if abs(place["latitude"] - latitude) < 0.01:
                body = fixture(f"forecast_{city}.json")
                days = int(seen.params.get("forecast_days", "7"))
                body["daily"] = {key: values[:days] for key, values in body["daily"].items()}
                return JSONResponse(body)
        return JSONResponse({"error": True, "reason": "no fixture"}, status_code=400)

    return Starlette(routes=[Route("/v1/search", search), Route("/v1/forecast", forecast)])


def aeroapi_app(recorder: Recorder, *, key: str = "test-aeroapi-key") -> Starlette:
    """``GET /airports/{origin}/flights/to/{dest}``: the SEA->ATL fixture, else no flights."""

    async def flights_to(request: Request) -> Response:
        await _record(recorder, request)
        if request.headers.get("x-apikey") != key:
            return JSONResponse({"title": "Unauthorized", "status": 401}, status_code=401)
        route = (request.path_params["origin"], request.path_params["dest"])
        if route == ("KSEA", "KATL"):
            return JSONResponse(fixture("aeroapi_sea_atl.json"))
        return JSONResponse({"flights": [], "links": None, "num_pages": 1})

    return Starlette(routes=[Route("/airports/{origin}/flights/to/{dest}", flights_to)])


Script = Callable[[dict[str, Any]], str]
"""Given a chat request body, the reply text (JSON text for extraction requests)."""


def openai_app(
    recorder: Recorder,
    script: Script,
    *,
    status: int = 200,
    stream_status: int = 200,
    cut_after: int | None = None,
) -> Starlette:
    """An OpenAI-compatible ``/v1/chat/completions``: JSON replies, or SSE when streaming.

    ``status`` fails every request, ``stream_status`` only streaming ones; ``cut_after``
    ends a stream after that many words with an in-band error event.
    """

    async def completions(request: Request) -> Response:
        seen = await _record(recorder, request)
        body = seen.body
        failing = status if status != 200 else stream_status if body.get("stream") else 200
        if failing != 200:
            error = {"error": {"message": "scripted failure", "type": "server_error"}}
            return JSONResponse(error, status_code=failing)
        text = script(body)
        model = body.get("model", "")
        if not body.get("stream"):
            message = {"role": "assistant", "content": text}
            return JSONResponse(
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": 0,
                    "model": model,
                    "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }
            )

        async def events() -> Any:
            words = text.split(" ")
            for index, word in enumerate(words):
                if cut_after is not None and index == cut_after:
                    error = {"error": {"message": "upstream went away", "type": "server_error"}}
                    yield f"data: {json.dumps(error)}\n\n"
                    return
                piece = word if index == 0 else " " + word
                chunk = {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": model,
                    "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
                }
                yield f"data: {json.dumps(chunk)}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])
