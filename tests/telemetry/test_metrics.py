"""The metrics registry, its exposition format read back, and ``GET /metrics`` on a real server."""

from __future__ import annotations

import math

import anyio
import httpx2
import pytest
from starlette.types import Receive, Scope, Send

from plano_asgi.telemetry.metrics import (
    METRICS_CONTENT_TYPE,
    MetricsApp,
    PlanoMetrics,
    get_metrics,
    serve_metrics,
    status_class,
)
from plano_asgi.telemetry.registry import Counter, Histogram, Registry
from tests.support.servers import serve
from tests.telemetry.prom import parse, value


def test_counter_and_gauge_render_and_parse_back() -> None:
    registry = Registry()
    requests = registry.counter("app_requests_total", "Requests.\nSecond line.", ("route",))
    inflight = registry.gauge("app_in_flight", "In flight.")
    requests.inc(route="/a")
    requests.inc(2, route='we"ird\\path\n')
    inflight.inc()
    inflight.inc()
    inflight.dec()
    families = parse(registry.render())
    assert families["app_requests_total"].type == "counter"
    assert families["app_requests_total"].help == "Requests.\nSecond line."
    assert value(families, "app_requests_total", route="/a") == 1.0
    assert value(families, "app_requests_total", route='we"ird\\path\n') == 2.0
    assert families["app_in_flight"].type == "gauge"
    assert value(families, "app_in_flight") == 1.0


def test_histogram_buckets_are_cumulative_with_sum_and_count() -> None:
    registry = Registry()
    latency = registry.histogram("lat_seconds", "Latency.", ("h",), buckets=(0.1, 1, 0.5))
    for observed in (0.05, 0.1, 0.3, 2.0):
        latency.observe(observed, h="x")
    families = parse(registry.render())
    buckets = [
        (labels["le"], number)
        for name, labels, number in families["lat_seconds"].samples
        if name == "lat_seconds_bucket"
    ]
    assert buckets == [("0.1", 2.0), ("0.5", 3.0), ("1.0", 3.0), ("+Inf", 4.0)]
    assert value(families, "lat_seconds_count", h="x") == 4.0
    assert math.isclose(value(families, "lat_seconds_sum", h="x"), 2.45)
    assert latency.count(h="x") == 4


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda: Counter("bad name", "h"), id="metric-name"),
        pytest.param(lambda: Counter("ok_total", "h", ("le",)), id="reserved-le"),
        pytest.param(lambda: Counter("ok_total", "h", ("__x",)), id="reserved-prefix"),
        pytest.param(lambda: Histogram("h", "h", buckets=()), id="no-buckets"),
    ],
)
def test_invalid_metric_definitions_are_refused(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]


def test_wrong_labels_and_negative_counts_are_refused() -> None:
    counter = Counter("c_total", "h", ("a",))
    with pytest.raises(ValueError):
        counter.inc(b="x")
    with pytest.raises(ValueError):
        counter.inc(-1, a="x")
    registry = Registry()
    registry.register(counter)
    with pytest.raises(ValueError):
        registry.register(Counter("c_total", "again"))


def test_series_past_the_cap_are_folded_into_other() -> None:
    counter = Counter("models_total", "h", ("model",), max_series=2)
    for model in ("a", "b", "c", "d"):
        counter.inc(model=model)
    counter.inc(model="a")
    assert counter.value(model="a") == 2.0
    assert counter.value(model="other") == 2.0
    assert counter.value(model="c") == 0.0


def test_plano_metrics_exposition_parses_and_has_the_metric_set(metrics: PlanoMetrics) -> None:
    metrics.requests.inc(listener="l", handler="agent_chat", method="POST", status_class="2xx")
    metrics.routing_decisions.inc(listener="l", router="local_v1", agent="weather")
    metrics.llm_tokens.inc(12, provider="openai", model="gpt-4o", kind="prompt")
    families = parse(metrics.render())
    assert {
        "plano_http_requests_total",
        "plano_http_request_duration_seconds",
        "plano_http_in_flight_requests",
        "plano_time_to_first_token_seconds",
        "plano_routing_decisions_total",
        "plano_routing_duration_seconds",
        "plano_router_fallbacks_total",
        "plano_router_escalations_total",
        "plano_filter_rejections_total",
        "plano_filter_failures_total",
        "plano_upstream_errors_total",
        "plano_llm_requests_total",
        "plano_llm_duration_seconds",
        "plano_llm_time_to_first_token_seconds",
        "plano_llm_tokens_total",
        "plano_llm_retries_total",
        "plano_llm_fallbacks_total",
    } <= set(families)
    assert (
        value(families, "plano_llm_tokens_total", provider="openai", model="gpt-4o", kind="prompt")
        == 12.0
    )


@pytest.mark.parametrize(
    ("status", "label"), [(200, "2xx"), (404, "4xx"), (503, "5xx"), (0, "none")]
)
def test_status_class(status: int, label: str) -> None:
    assert status_class(status) == label


def test_get_metrics_is_one_process_wide_set() -> None:
    assert get_metrics() is get_metrics()


@pytest.mark.anyio
async def test_serve_metrics_answers_get_and_head_on_a_real_server(metrics: PlanoMetrics) -> None:
    metrics.router_escalations.inc(listener="l", router="hybrid")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if await serve_metrics(scope, receive, send, metrics):
            return
        await send({"type": "http.response.start", "status": 418, "headers": []})
        await send({"type": "http.response.body", "body": b"app"})

    with anyio.fail_after(10):
        async with serve(app) as srv, httpx2.AsyncClient(base_url=srv.url) as client:
            got = await client.get("/metrics")
            head = await client.head("/metrics")
            post = await client.post("/metrics")
            other = await client.get("/v1/chat/completions")
    assert got.status_code == 200
    assert got.headers["content-type"] == METRICS_CONTENT_TYPE
    assert (
        value(parse(got.text), "plano_router_escalations_total", listener="l", router="hybrid") == 1
    )
    assert head.status_code == 200
    assert head.content == b""
    assert post.status_code == 418
    assert other.status_code == 418


@pytest.mark.anyio
async def test_metrics_app_serves_only_metrics(metrics: PlanoMetrics) -> None:
    metrics.filter_rejections.inc(filter="pii")
    with anyio.fail_after(10):
        async with (
            serve(MetricsApp(metrics)) as srv,
            httpx2.AsyncClient(base_url=srv.url) as client,
        ):
            got = await client.get("/metrics")
            missing = await client.get("/")
    assert value(parse(got.text), "plano_filter_rejections_total", filter="pii") == 1
    assert missing.status_code == 404
