"""One connected trace per turn, through real servers from the client to the provider.

client -> agent listener (+ listener filter ``pii``) -> ``flights`` -> ``weather`` (+ agent
filter ``context``), each agent calling the model gateway through ``ctx.llm`` -> fake
provider. Every span must share one trace id and hang in the right place.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import anyio
import httpx2
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import NoOpTracer, SpanKind

from plano_asgi.telemetry.logs import ACCESS_LOGGER
from tests.e2e.conftest import Spans
from tests.e2e.stack import COMPLETION_TOKENS, MODEL, PROMPT_TOKENS, Stack, running_stack
from tests.telemetry.prom import parse, value

pytestmark = pytest.mark.anyio

CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"
AGENT_PATH = "/v1/chat/completions"
LLM_NAME = f"POST /v1/chat/completions {MODEL} -> openai/{MODEL}"


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def access_lines() -> Iterator[list[str]]:
    # Our own handler: caplog misses records if a logger stopped propagating.
    handler = _Lines()
    logger = logging.getLogger(ACCESS_LOGGER)
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield handler.lines
    logger.removeHandler(handler)
    logger.setLevel(previous)


def hex_trace(span: ReadableSpan) -> str:
    return format(span.context.trace_id, "032x")


def hex_span(span: ReadableSpan) -> str:
    return format(span.context.span_id, "016x")


def parent_of(span: ReadableSpan) -> str | None:
    return None if span.parent is None else format(span.parent.span_id, "016x")


def attrs(span: ReadableSpan) -> dict[str, object]:
    return dict(span.attributes or {})


async def ask(stack: Stack, headers: dict[str, str]) -> str:
    stream = await stack.api.chat.completions.create(
        model="travel",
        messages=[{"role": "user", "content": "Fly me to Paris on card 4111, weather?"}],
        stream=True,
        extra_headers=headers,
    )
    parts = [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]
    return "".join(parts)


def check_turn(spans: Spans, stack: Stack) -> ReadableSpan:
    """Every structural and attribute assertion of one turn; returns the listener span."""
    everything = spans.all()
    trace_ids = {hex_trace(s) for s in everything}
    assert len(trace_ids) == 1, trace_ids

    server = spans.one("travel", SpanKind.SERVER)
    (routing,) = [s for s in spans.children(server) if s.name == "routing"]
    pii = spans.one("execute_raw_filter (pii)")
    context = spans.one("execute_raw_filter (context)")
    for child in (routing, pii, context):
        assert parent_of(child) == hex_span(server), child.name

    # Routing: Plano's selection.* on the routing span and the server span, plus ours.
    for span in (routing, server):
        got = attrs(span)
        assert got["selection.listener"] == "travel"
        assert got["selection.agent_count"] == 2
        assert got["selection.agents"] == "flights,weather"
        assert float(str(got["selection.determination_ms"])) >= 0.0
        assert got["plano.router"] == "scripted"
        assert got["plano.router.confidence"] == 0.875
        assert got["plano.router.escalated"] is False
    assert "plano.router.fallback" not in attrs(routing)

    # Custom attributes (tracing.span_attributes) on every listener-side span.
    for span in (server, routing, pii, context):
        got = attrs(span)
        assert got["env"] == "e2e", span.name
        assert got["team"] == "blue", span.name
    assert attrs(server)["http.status_code"] == 200
    assert attrs(server)["service.name.override"] == "plano(orchestrator)"

    # Filters: one span each, and the filter hop carries that span as its parent.
    assert attrs(pii)["filter_name"] == "pii"
    assert attrs(pii)["plano.filter.outcome"] == "passed"
    assert attrs(context)["agent_id"] == "weather"
    for name, span in (("pii", pii), ("context", context)):
        (sent,) = stack.filters[name].headers
        assert sent["traceparent"].split("-")[1:3] == [hex_trace(span), hex_span(span)]

    # Agents: the listener's client span, the SDK's server span under it, then the
    # gateway's server span under that, and the model call under the gateway span.
    for index, agent in enumerate(("flights", "weather")):
        hop = spans.one(f"{agent} {AGENT_PATH}", SpanKind.CLIENT)
        assert parent_of(hop) == hex_span(server)
        got = attrs(hop)
        assert got["agent_id"] == agent
        assert got["message_count"] == (1 if agent == "flights" else 3)
        assert got["http.status_code"] == 200
        assert got["env"] == "e2e"

        sdk = spans.one(f"{agent} {AGENT_PATH}", SpanKind.SERVER)
        assert parent_of(sdk) == hex_span(hop)
        assert attrs(sdk)["service.name.override"] == "plano(agent)"
        assert attrs(sdk)["http.status_code"] == 200

        (gateway,) = [s for s in spans.children(sdk) if s.kind == SpanKind.SERVER]
        assert gateway.name == "POST /v1/chat/completions"
        assert attrs(gateway)["service.name.override"] == "plano(llm)"
        assert attrs(gateway)["env"] == "e2e"  # static attributes reach the gateway too

        (model_routing,) = [s for s in spans.children(gateway) if s.name == "routing"]
        got = attrs(model_routing)
        assert got["service.name.override"] == "plano(routing)"
        assert got["model.requested"] == MODEL
        assert got["model.alias_resolved"] == f"openai/{MODEL}"
        assert got["route.selected_model"] == f"openai/{MODEL}"

        (llm,) = [s for s in spans.children(gateway) if s.name == LLM_NAME]
        got = attrs(llm)
        assert got["llm.model"] == f"openai/{MODEL}"
        assert got["llm.provider"] == "openai"
        assert got["llm.usage.prompt_tokens"] == PROMPT_TOKENS
        assert got["llm.usage.completion_tokens"] == COMPLETION_TOKENS
        assert got["http.status_code"] == 200
        assert got["plano.retries"] == 0
        assert isinstance(got["llm.time_to_first_token"], int)
        headers, body = stack.provider.requests[index]
        assert body.get("stream", False) is (agent == "weather")
        assert headers["traceparent"].split("-")[1:3] == [hex_trace(llm), hex_span(llm)]
        assert "sk-provider-secret" in headers["authorization"]

    # The listener span is the last to end: after the final agent's last byte.
    assert server.end_time is not None
    assert all(s.end_time is not None and s.end_time <= server.end_time for s in everything)
    return server


async def test_one_trace_from_client_to_provider(spans: Spans, access_lines: list[str]) -> None:
    with anyio.fail_after(20):
        async with running_stack(spans.tracer) as stack:
            text = await ask(stack, {"x-acme-team": "blue"})
    assert text == "Flight BA123 at 9:00.\n\nSunny in Paris."  # both agents answer
    server = check_turn(spans, stack)
    assert server.parent is None  # no client trace: the listener starts it

    (line,) = [line for line in access_lines if "listener=travel" in line]
    assert f"trace_id={hex_trace(server)}" in line
    assert "agents=flights,weather" in line
    assert "router=scripted" in line
    assert "status=200" in line
    assert "Paris" not in line  # never prompt or response text


async def test_the_clients_own_trace_is_continued(spans: Spans) -> None:
    traceparent = f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"
    with anyio.fail_after(20):
        async with running_stack(spans.tracer) as stack:
            await ask(
                stack, {"x-acme-team": "blue", "traceparent": traceparent, "baggage": "tenant=t1"}
            )
    server = check_turn(spans, stack)
    assert stack.provider.requests[-1][0]["baggage"] == "tenant=t1"
    assert hex_trace(server) == CLIENT_TRACE
    assert parent_of(server) == CLIENT_SPAN
    assert server.parent is not None
    assert server.parent.is_remote


async def test_without_tracing_the_clients_traceparent_still_reaches_every_hop(
    spans: Spans,
) -> None:
    traceparent = f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"
    with anyio.fail_after(20):
        async with running_stack(NoOpTracer()) as stack:
            await ask(
                stack, {"traceparent": traceparent, "tracestate": "acme=1", "baggage": "tenant=t1"}
            )
    assert spans.all() == []
    seen = [
        *(r.headers[0] for r in stack.filters.values()),
        *(r.headers[0] for r in stack.agents.values()),
        *(headers for headers, _ in stack.provider.requests),
    ]
    assert len(seen) == 6
    for headers in seen:
        assert headers["traceparent"] == traceparent
        assert headers["baggage"] == "tenant=t1"
    assert stack.filters["pii"].headers[0]["tracestate"] == "acme=1"


async def test_metrics_on_the_listener_count_requests_routing_and_rejections(
    spans: Spans,
) -> None:
    with anyio.fail_after(20):
        async with running_stack(spans.tracer) as stack:
            for _ in range(3):
                await ask(stack, {})
            async with httpx2.AsyncClient(base_url=stack.listener_url) as http:
                rejected = await http.post(
                    AGENT_PATH,
                    json={"messages": [{"role": "user", "content": "my password is x"}]},
                )
                page = await http.get("/metrics")
            async with httpx2.AsyncClient(base_url=stack.gateway_url) as http:
                gateway_page = await http.get("/metrics")
    assert rejected.status_code == 403
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = parse(page.text)
    listener = {"listener": "travel", "handler": "agent_chat", "method": "POST"}
    assert value(families, "plano_http_requests_total", **listener, status_class="2xx") == 3
    assert value(families, "plano_http_requests_total", **listener, status_class="4xx") == 1
    for agent in ("flights", "weather"):
        labels = {"listener": "travel", "router": "scripted", "agent": agent}
        assert value(families, "plano_routing_decisions_total", **labels) == 3
    assert value(families, "plano_filter_rejections_total", filter="pii") == 1
    duration = {"listener": "travel", "handler": "agent_chat"}
    assert value(families, "plano_http_request_duration_seconds_count", **duration) == 4
    assert value(families, "plano_time_to_first_token_seconds_count", **duration) == 3
    assert value(families, "plano_http_in_flight_requests", listener="travel") == 0

    # The gateway serves the same process-wide set: requests and tokens by model.
    assert gateway_page.status_code == 200
    families = parse(gateway_page.text)
    gateway = {"listener": "llm", "handler": "llm_chat", "method": "POST"}
    assert value(families, "plano_http_requests_total", **gateway, status_class="2xx") == 6
    model = {"provider": "openai", "model": f"openai/{MODEL}"}
    assert value(families, "plano_llm_requests_total", **model, status_class="2xx") == 6
    assert value(families, "plano_llm_tokens_total", **model, kind="prompt") == 6 * PROMPT_TOKENS
    assert value(families, "plano_llm_tokens_total", **model, kind="completion") == (
        6 * COMPLETION_TOKENS
    )
    assert value(families, "plano_llm_time_to_first_token_seconds_count", **model) == 6
