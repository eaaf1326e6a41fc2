"""The agent listener records its spans, metrics and log line through ``RequestTrace``.

Real uvicorn servers on loopback: the listener, fake agents and a fake orchestrator model.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import anyio
import httpx2
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from plano_asgi.telemetry.logs import ACCESS_LOGGER
from plano_asgi.telemetry.metrics import PlanoMetrics
from tests.listener.agents import FakeAgent, FakeOrchestrator
from tests.listener.conftest import ScriptedRouter, listener_config
from tests.listener.support import fakes, listener, user
from tests.telemetry.conftest import Recorder
from tests.telemetry.prom import parse, value

pytestmark = pytest.mark.anyio

CHAT = "/v1/chat/completions"


class _Lines(logging.Handler):
    """Collects access lines; ``logged`` is set by the first (it is the request's last act)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.logged = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        self.logged.set()


@pytest.fixture
def no_local_router(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``local_v1`` fallback, so a failing router falls back to the default agent."""
    monkeypatch.setattr("plano_asgi.listener.setup.load_local_router", lambda: None)


@pytest.fixture
def access() -> Iterator[_Lines]:
    handler = _Lines()
    logger = logging.getLogger(ACCESS_LOGGER)
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(previous)


async def test_spans_stay_open_until_the_last_byte_of_the_stream(
    recorder: Recorder, metrics: PlanoMetrics
) -> None:
    gate = asyncio.Event()
    agent = FakeAgent("weather", gate=gate)
    with anyio.fail_after(10):
        async with fakes(weather=agent) as url:
            config = listener_config({"weather": url["weather"]})
            async with listener(config, tracer=recorder.tracer, metrics=metrics) as srv:
                async with httpx2.AsyncClient() as http:
                    async with http.stream(
                        "POST", srv.url + CHAT, json={"messages": [user("hi")], "stream": True}
                    ) as response:
                        chunks = response.aiter_raw()
                        await anext(chunks)
                        # First chunk is out, the agent holds the rest: still streaming.
                        assert [s.name for s in recorder.spans()] == ["routing"]
                        gate.set()
                        rest = b"".join([chunk async for chunk in chunks])
    assert rest.endswith(b"data: [DONE]\n\n")
    server = recorder.by_name("travel")
    hop = recorder.by_name(f"weather {CHAT}")
    assert server.end_time is not None
    assert hop.end_time is not None
    assert hop.end_time <= server.end_time
    assert server.status.status_code != StatusCode.ERROR
    assert dict(server.attributes or {})["selection.agents"] == "weather"
    assert dict(server.attributes or {})["plano.router"] == "single_agent"


async def test_a_client_that_leaves_mid_stream_still_gets_its_spans_ended(
    recorder: Recorder, metrics: PlanoMetrics, access: _Lines
) -> None:
    agent = FakeAgent("weather", gate=asyncio.Event())  # never released
    with anyio.fail_after(10):
        async with fakes(weather=agent) as url:
            config = listener_config({"weather": url["weather"]})
            async with listener(config, tracer=recorder.tracer, metrics=metrics) as srv:
                async with httpx2.AsyncClient() as http:
                    async with http.stream(
                        "POST", srv.url + CHAT, json={"messages": [user("hi")], "stream": True}
                    ) as response:
                        async for _chunk in response.aiter_raw():
                            break
                await agent.disconnected.wait()
                await access.logged.wait()  # written after the server span ended
    server = dict(recorder.by_name("travel").attributes or {})
    hop = recorder.by_name(f"weather {CHAT}")
    assert server["plano.client_disconnected"] is True
    assert server["http.status_code"] == 200
    assert dict(hop.attributes or {})["plano.cancelled"] is True
    assert hop.status.status_code != StatusCode.ERROR  # leaving is not an agent failure
    (line,) = access.lines
    assert "status=200" in line
    assert "agents=weather" in line
    assert value(parse(metrics.render()), "plano_http_in_flight_requests", listener="travel") == 0


async def test_a_failing_agent_is_recorded_on_its_own_span_and_counted(
    recorder: Recorder, metrics: PlanoMetrics, access: _Lines
) -> None:
    agent = FakeAgent("weather", status=500)
    with anyio.fail_after(10):
        async with fakes(weather=agent) as url:
            config = listener_config({"weather": url["weather"]})
            async with listener(config, tracer=recorder.tracer, metrics=metrics) as srv:
                async with httpx2.AsyncClient() as http:
                    reply = await http.post(srv.url + CHAT, json={"messages": [user("hi")]})
    assert reply.status_code == 502
    hop = recorder.by_name(f"weather {CHAT}")
    assert hop.status.status_code == StatusCode.ERROR
    assert dict(hop.attributes or {})["error.type"] == "UpstreamError"
    assert dict(hop.attributes or {})["http.status_code"] == 500
    assert [event.name for event in hop.events] == ["exception"]
    server = recorder.by_name("travel")
    assert server.status.status_code == StatusCode.ERROR
    assert dict(server.attributes or {})["http.status_code"] == 502
    families = parse(metrics.render())
    errors = {"hop": "agent", "target": "weather", "error_class": "upstream_failed"}
    assert value(families, "plano_upstream_errors_total", **errors) == 1
    (line,) = access.lines
    assert "status=502" in line
    assert "error=upstream_failed" in line


async def test_router_failure_and_fallback_show_on_the_routing_span_and_metrics(
    recorder: Recorder, metrics: PlanoMetrics, no_local_router: None
) -> None:
    weather, flights = FakeAgent("weather"), FakeAgent("flights")
    router = ScriptedRouter(RuntimeError("model down"), name="scripted")
    with anyio.fail_after(10):
        async with fakes(weather=weather, flights=flights) as url:
            config = listener_config(
                {"weather": url["weather"], "flights": url["flights"]}, default="flights"
            )
            async with listener(
                config, router=router, tracer=recorder.tracer, metrics=metrics
            ) as srv:
                await srv.api.chat.completions.create(model="m", messages=[user("hi")])
    routing = recorder.by_name("routing")
    attributes = dict(routing.attributes or {})
    assert attributes["plano.router"] == "default"
    assert "scripted failed" in str(attributes["plano.router.fallback"])
    (event,) = routing.events
    assert event.name == "router_failed"
    assert dict(event.attributes or {}) == {"router": "scripted", "error.type": "RuntimeError"}
    families = parse(metrics.render())
    labels = {"listener": "travel", "router": "default"}
    assert value(families, "plano_routing_decisions_total", **labels, agent="flights") == 1
    fallbacks = families["plano_router_fallbacks_total"].samples
    assert [(s[1]["router"], s[1]["reason"], s[2]) for s in fallbacks] == [
        ("default", "router_error", 1.0)
    ]


async def test_the_orchestrator_call_is_a_child_of_the_routing_span(
    recorder: Recorder, metrics: PlanoMetrics
) -> None:
    weather, flights = FakeAgent("weather"), FakeAgent("flights")
    orchestrator = FakeOrchestrator('{"route": ["flights"]}')
    with anyio.fail_after(10):
        async with fakes(weather=weather, flights=flights, orch=orchestrator) as url:
            config = listener_config(
                {"weather": url["weather"], "flights": url["flights"]},
                router="plano_orchestrator_v1",
                orchestrator_url=url["orch"],
            )
            async with listener(config, tracer=recorder.tracer, metrics=metrics) as srv:
                await srv.api.chat.completions.create(model="m", messages=[user("fly")])
    routing = recorder.by_name("routing")
    sent = orchestrator.seen[0].headers["traceparent"].split("-")
    assert sent[1] == format(routing.context.trace_id, "032x")
    assert sent[2] == format(routing.context.span_id, "016x")
    assert dict(routing.attributes or {})["plano.router"] == "plano_orchestrator_v1"
    hop = recorder.by_name(f"flights {CHAT}")
    assert hop.kind == SpanKind.CLIENT


async def test_metrics_path_can_be_turned_off_for_a_wrapped_app(metrics: PlanoMetrics) -> None:
    config = listener_config({"weather": "http://127.0.0.1:9"})
    with anyio.fail_after(10):
        async with listener(config, metrics=metrics, metrics_path=None) as srv:
            async with httpx2.AsyncClient() as http:
                off = await http.get(srv.url + "/metrics")
        async with listener(config, metrics=metrics, metrics_path="/plano/metrics") as srv:
            async with httpx2.AsyncClient() as http:
                moved = await http.get(srv.url + "/plano/metrics")
                wrong = await http.post(srv.url + "/plano/metrics")
    assert off.status_code == 404
    assert moved.status_code == 200
    assert "plano_http_requests_total" in moved.text
    assert wrong.status_code == 405
