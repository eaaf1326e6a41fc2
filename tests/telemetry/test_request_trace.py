"""``RequestTrace``: Plano's span names and attributes, metrics and the log line, per request."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Literal

import anyio
import httpx2
import pytest
from opentelemetry.trace import SpanKind, StatusCode
from starlette.types import Receive, Scope, Send

from plano_asgi.config.models import SpanAttributes, Tracing
from plano_asgi.errors import FilterRejectedError, RoutingError, UpstreamError
from plano_asgi.filters.base import FilterCall
from plano_asgi.routing.base import RouteDecision
from plano_asgi.telemetry.logs import ACCESS_LOGGER
from plano_asgi.telemetry.metrics import PlanoMetrics
from plano_asgi.telemetry.propagation import extract_context, inject_headers
from plano_asgi.telemetry.request import RequestTrace
from tests.support.servers import serve
from tests.telemetry.conftest import Recorder, start_span
from tests.telemetry.prom import parse, value

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
CLIENT_PARENT = f"00-{TRACE_ID}-b7ad6b7169203331-01"
TRACING = Tracing(
    random_sampling=100,
    span_attributes=SpanAttributes(header_prefixes=("x-plano-",), static={"env": "test"}),
)


def _scope(headers: dict[str, str] | None = None) -> Scope:
    raw = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    return {
        "type": "http",
        "method": "POST",
        "path": "/v1/chat/completions",
        "root_path": "",
        "headers": raw,
    }


def _start(recorder: Recorder, metrics: PlanoMetrics, **headers: str) -> RequestTrace:
    return RequestTrace.start(
        _scope({"traceparent": CLIENT_PARENT, **headers}),
        listener="travel",
        request_id="req-1",
        tracing=TRACING,
        metrics=metrics,
        tracer=recorder.tracer,
        log=False,
    )


def test_agent_path_spans_have_plano_names_and_attributes(
    recorder: Recorder, metrics: PlanoMetrics
) -> None:
    rt = _start(recorder, metrics, **{"x-plano-tenant-id": "acme"})
    with rt.routing() as routing:
        routing.decided(
            RouteDecision(
                agents=("weather", "flights"),
                router="local_v1",
                confidence=0.91,
                reason="two_intents",
            )
        )
    with rt.filter("pii", filter_type="http", agent_id="weather"):
        pass
    with rt.filter("guard", filter_type="mcp"):
        pass
    agent = rt.start_agent("weather", message_count=3)
    agent.end(status=200)
    rt.first_byte()
    record = rt.end(status=200)

    server = recorder.by_name("travel")
    assert server.kind is SpanKind.SERVER
    assert format(server.context.trace_id, "032x") == TRACE_ID
    assert server.parent is not None
    assert format(server.parent.span_id, "016x") == "b7ad6b7169203331"
    assert server.attributes is not None
    assert server.attributes["service.name.override"] == "plano(orchestrator)"
    assert server.attributes["request_id"] == "req-1"
    assert server.attributes["http.path"] == "/v1/chat/completions"
    assert server.attributes["tenant.id"] == "acme"
    assert server.attributes["env"] == "test"
    assert server.attributes["selection.agents"] == "weather,flights"

    routing_span = recorder.by_name("routing")
    attrs = routing_span.attributes
    assert attrs is not None
    assert attrs["selection.listener"] == "travel"
    assert attrs["selection.agent_count"] == 2
    assert attrs["selection.agents"] == "weather,flights"
    assert isinstance(attrs["selection.determination_ms"], str)
    assert float(attrs["selection.determination_ms"]) >= 0
    assert attrs["plano.router"] == "local_v1"
    assert attrs["plano.router.escalated"] is False
    assert attrs["plano.router.confidence"] == 0.91
    assert attrs["plano.router.reason"] == "two_intents"
    assert "plano.router.fallback" not in attrs

    raw_filter = recorder.by_name("execute_raw_filter (pii)")
    assert raw_filter.attributes is not None
    assert raw_filter.attributes["service.name.override"] == "plano(filter)"
    assert raw_filter.attributes["filter_name"] == "pii"
    assert raw_filter.attributes["agent_id"] == "weather"
    assert raw_filter.attributes["plano.filter.outcome"] == "passed"
    assert recorder.by_name("execute_mcp_filter (guard)").kind is SpanKind.CLIENT

    agent_span = recorder.by_name("weather /v1/chat/completions")
    assert agent_span.attributes is not None
    assert agent_span.attributes["agent_id"] == "weather"
    assert agent_span.attributes["message_count"] == 3
    assert agent_span.attributes["tenant.id"] == "acme"
    assert agent_span.attributes["service.name.override"] == "plano(agent)"

    for child in recorder.spans():
        if child is not server:
            assert child.parent is not None
            assert child.parent.span_id == server.context.span_id
            assert child.context.trace_id == server.context.trace_id

    assert record.agents == ("weather", "flights")
    assert record.router == "local_v1"
    assert record.trace_id == TRACE_ID
    assert record.ttft_ms is not None
    assert record.ttft_ms <= record.duration_ms
    families = parse(metrics.render())
    labels = {"listener": "travel", "router": "local_v1"}
    assert value(families, "plano_routing_decisions_total", agent="weather", **labels) == 1
    assert value(families, "plano_routing_decisions_total", agent="flights", **labels) == 1
    assert (
        value(
            families,
            "plano_http_requests_total",
            listener="travel",
            handler="agent_chat",
            method="POST",
            status_class="2xx",
        )
        == 1
    )
    assert value(families, "plano_http_in_flight_requests", listener="travel") == 0
    assert (
        value(
            families,
            "plano_time_to_first_token_seconds_count",
            listener="travel",
            handler="agent_chat",
        )
        == 1
    )


def test_router_failure_is_on_the_routing_span_and_fallback_is_counted(
    recorder: Recorder, metrics: PlanoMetrics
) -> None:
    rt = _start(recorder, metrics)
    with rt.routing() as routing:
        routing.fail(RoutingError("orchestrator timed out"))
        routing.decided(
            RouteDecision(
                agents=("weather",), router="plano_orchestrator_v1", fallback="router_error"
            )
        )
    rt.end(status=200)
    span = recorder.by_name("routing")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["plano.router.fallback"] == "router_error"
    assert (
        metrics.router_fallbacks.value(
            listener="travel", router="plano_orchestrator_v1", reason="router_error"
        )
        == 1
    )
    assert recorder.by_name("travel").status.status_code is StatusCode.UNSET


def test_filter_rejection_and_failure_are_recorded_on_the_filter_span(
    recorder: Recorder, metrics: PlanoMetrics
) -> None:
    rt = _start(recorder, metrics)
    with pytest.raises(FilterRejectedError), rt.filter("pii"):
        raise FilterRejectedError("pii", 400, "contains a card number")
    with pytest.raises(UpstreamError), rt.filter("guard", on_error="allow"):
        raise UpstreamError("down", hop="filter", target="guard")
    rejection = FilterRejectedError("pii", 400, "x")
    rt.end(status=400, error=rejection)

    rejected = recorder.by_name("execute_raw_filter (pii)")
    assert rejected.status.status_code is StatusCode.ERROR
    assert rejected.attributes is not None
    assert rejected.attributes["plano.filter.outcome"] == "rejected"
    assert rejected.attributes["http.status_code"] == 400
    failed = recorder.by_name("execute_raw_filter (guard)")
    assert failed.status.status_code is StatusCode.ERROR
    assert [e.name for e in failed.events] == ["exception"]
    assert metrics.filter_rejections.value(filter="pii") == 1
    assert metrics.filter_failures.value(filter="guard", outcome="continue") == 1
    assert (
        metrics.upstream_errors.value(hop="filter", target="guard", error_class="upstream_failed")
        == 1
    )
    assert (
        metrics.upstream_errors.value(hop="filter", target="pii", error_class="filter_rejected")
        == 0
    )


def test_llm_span_name_attributes_retries_and_metrics(
    recorder: Recorder, metrics: PlanoMetrics
) -> None:
    rt = RequestTrace.start(
        _scope(),
        listener="llm",
        request_id="req-2",
        handler="llm_chat",
        service="plano(llm)",
        component="gateway",
        metrics=metrics,
        tracer=recorder.tracer,
        log=False,
    )
    with rt.model_routing() as routing:
        routing.resolved("fast", alias_resolved="openai/gpt-4o-mini", selected="openai/gpt-4o-mini")
    llm = rt.start_llm("fast", stream=True, temperature=0.2)
    llm.resolved("gpt-4o-mini", "openai")
    llm.retry(status=503)
    llm.fallback("claude-haiku", "anthropic", UpstreamError("x", hop="provider", target="openai"))
    llm.first_token()
    llm.first_token()
    llm.usage(12, 30)
    llm.end(status=200)
    record = rt.end(status=200)

    assert recorder.by_name("POST /v1/chat/completions").kind is SpanKind.SERVER
    span = recorder.by_name("POST /v1/chat/completions fast -> claude-haiku")
    attrs = span.attributes
    assert attrs is not None
    assert attrs["llm.model"] == "claude-haiku"
    assert attrs["llm.provider"] == "anthropic"
    assert attrs["llm.usage.prompt_tokens"] == 12
    assert attrs["llm.usage.completion_tokens"] == 30
    assert attrs["llm.usage.total_tokens"] == 42
    assert isinstance(attrs["llm.time_to_first_token"], int)
    assert isinstance(attrs["llm.duration_ms"], int)
    assert attrs["llm.time_to_first_token"] <= attrs["llm.duration_ms"]
    assert attrs["http.status_code"] == 200
    assert attrs["plano.retries"] == 1
    assert attrs["plano.fallbacks"] == "gpt-4o-mini"
    assert attrs["service.name.override"] == "plano(llm)"
    assert [e.name for e in span.events] == ["retry", "fallback"]
    model_routing = recorder.by_name("routing")
    assert model_routing.attributes is not None
    assert model_routing.attributes["route.selected_model"] == "openai/gpt-4o-mini"
    assert record.model == "claude-haiku"
    labels = {"provider": "anthropic", "model": "claude-haiku"}
    assert metrics.llm_tokens.value(kind="prompt", **labels) == 12
    assert metrics.llm_tokens.value(kind="completion", **labels) == 30
    assert metrics.llm_requests.value(status_class="2xx", **labels) == 1
    assert metrics.llm_retries.value(provider="openai", model="gpt-4o-mini") == 1
    assert metrics.llm_fallbacks.value(from_model="gpt-4o-mini", to_model="claude-haiku") == 1
    assert metrics.llm_time_to_first_token.count(**labels) == 1


def test_failed_agent_counts_an_upstream_error_and_end_is_once(
    recorder: Recorder, metrics: PlanoMetrics, caplog: pytest.LogCaptureFixture
) -> None:
    rt = RequestTrace.start(
        _scope({"authorization": "Bearer sk-secret"}),
        listener="travel",
        request_id="req-3",
        metrics=metrics,
        tracer=recorder.tracer,
    )
    agent = rt.start_agent("flights", message_count=1)
    error = UpstreamError("agent down", hop="agent", target="flights", upstream_status=503)
    agent.end(error=error)
    with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
        first = rt.end(status=502, error=error)
        second = rt.end(status=200)
    assert first is second
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert "status=502" in message
    assert "error=upstream_failed" in message
    assert "sk-secret" not in message
    assert recorder.by_name("flights /v1/chat/completions").status.status_code is StatusCode.ERROR
    assert recorder.by_name("travel").status.status_code is StatusCode.ERROR
    assert (
        metrics.upstream_errors.value(hop="agent", target="flights", error_class="upstream_failed")
        == 1
    )


@pytest.mark.anyio
async def test_traced_filter_gives_the_filter_hop_its_own_span_context(
    recorder: Recorder, metrics: PlanoMetrics
) -> None:
    seen: list[FilterCall] = []

    class Echo:
        id = "pii"
        on_error: Literal["fail", "allow"] = "fail"

        async def apply(self, payload: dict[str, object], call: FilterCall) -> dict[str, object]:
            seen.append(call)
            return payload

        async def aclose(self) -> None:
            return None

    rt = _start(recorder, metrics)
    (traced,) = rt.traced_filters([Echo()], types={"pii": "mcp"})
    payload = {"messages": [{"role": "user", "content": "hi"}]}
    assert (
        await traced.apply(payload, FilterCall("/v1/chat/completions", {"x-request-id": "r"}))
        == payload
    )
    rt.end(status=200)
    span = recorder.by_name("execute_mcp_filter (pii)")
    span_id = format(span.context.span_id, "016x")
    assert seen[0].headers["traceparent"] == f"00-{TRACE_ID}-{span_id}-01"
    assert seen[0].headers["x-request-id"] == "r"
    assert span.attributes is not None
    assert span.attributes["message_count"] == 1


@pytest.mark.anyio
async def test_one_trace_across_an_httpx_hop_to_a_loopback_agent(
    recorder: Recorder, metrics: PlanoMetrics
) -> None:
    """client -> listener (server span) -> agent span -> httpx -> agent server span."""

    async def agent_app(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        parent = extract_context(scope["headers"])
        served = start_span(
            "agent handler", context=parent, kind=SpanKind.SERVER, tracer=recorder.tracer
        )
        served.end(status=200)
        body = json.dumps({"ok": True}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    with anyio.fail_after(10):
        async with serve(agent_app) as agent_server, httpx2.AsyncClient() as client:

            async def listener_app(scope: Scope, receive: Receive, send: Send) -> None:
                assert scope["type"] == "http"
                rt = RequestTrace.start(
                    scope,
                    listener="travel",
                    request_id="r",
                    metrics=metrics,
                    tracer=recorder.tracer,
                    log=False,
                )
                status = 500
                try:
                    with rt.routing() as routing:
                        routing.decided(RouteDecision(agents=("weather",), router="static"))
                    agent = rt.start_agent("weather", message_count=1)
                    try:
                        headers = inject_headers(
                            {"content-type": "application/json"}, agent.context
                        )
                        reply = await client.post(agent_server.url, headers=headers, content=b"{}")
                        status = reply.status_code
                    finally:
                        agent.end(status=status)
                    await send({"type": "http.response.start", "status": status, "headers": []})
                    rt.first_byte()
                    await send({"type": "http.response.body", "body": reply.content})
                finally:
                    rt.end(status=status)

            async with serve(listener_app) as listener:
                response = await client.post(
                    listener.url + "/v1/chat/completions",
                    headers={"traceparent": CLIENT_PARENT},
                    content=b"{}",
                )
    assert response.json() == {"ok": True}
    spans = {s.name: s for s in recorder.spans()}
    assert set(spans) == {"travel", "routing", "weather /v1/chat/completions", "agent handler"}
    assert {format(s.context.trace_id, "032x") for s in spans.values()} == {TRACE_ID}

    def parent_of(name: str) -> int | None:
        parent = spans[name].parent
        return parent.span_id if parent else None

    assert parent_of("travel") == int("b7ad6b7169203331", 16)
    assert parent_of("routing") == spans["travel"].context.span_id
    assert parent_of("weather /v1/chat/completions") == spans["travel"].context.span_id
    assert parent_of("agent handler") == spans["weather /v1/chat/completions"].context.span_id
    # the agent span ends after the hop's reply, the server span after the last byte
    assert spans["agent handler"].end_time <= spans["weather /v1/chat/completions"].end_time  # type: ignore[operator]
    assert spans["weather /v1/chat/completions"].end_time <= spans["travel"].end_time  # type: ignore[operator]


def test_decided_accepts_any_decision_shape_and_a_measured_time(
    recorder: Recorder, metrics: PlanoMetrics
) -> None:
    @dataclass(frozen=True)
    class Selection:
        agents: tuple[str, ...]
        router: str
        fallback: str | None = None

    rt = _start(recorder, metrics)
    with rt.routing() as routing:
        routing.decided(Selection(("flights",), "single_agent"), elapsed_ms=12.345)
    record = rt.end(status=200)
    attrs = recorder.by_name("routing").attributes
    assert attrs is not None
    assert attrs["selection.determination_ms"] == "12.35"
    assert attrs["plano.router"] == "single_agent"
    assert "plano.router.confidence" not in attrs
    assert record.agents == ("flights",)
    assert metrics.routing_duration.count(listener="travel", router="single_agent") == 1
