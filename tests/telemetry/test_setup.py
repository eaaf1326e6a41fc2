"""``setup_tracing``: sampler, endpoint and service name from config and environment."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from plano_asgi.config import PlanoConfig
from plano_asgi.config.models import Tracing
from plano_asgi.telemetry.setup import (
    DEFAULT_ENDPOINT,
    resolve_endpoint,
    sampler_for,
    setup_tracing,
)

OTEL_VARS = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_SERVICE_NAME",
    "OTEL_SDK_DISABLED",
)


@pytest.fixture(autouse=True)
def clean_otel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OTEL_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(("percent", "ratio"), [(1, 0.01), (25, 0.25), (99, 0.99)])
def test_sampler_is_parent_based_trace_id_ratio(percent: int, ratio: float) -> None:
    sampler = sampler_for(percent)
    assert isinstance(sampler, ParentBased)
    root = sampler._root  # the SDK keeps the delegate here; checked against the SDK version we pin
    assert isinstance(root, TraceIdRatioBased)
    assert root.rate == ratio


def test_sampler_for_100_always_samples_roots() -> None:
    assert "AlwaysOnSampler" in sampler_for(100).get_description()


def test_sampler_for_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError):
        sampler_for(101)


@pytest.mark.parametrize(
    ("tracing", "argument", "env", "expected"),
    [
        pytest.param(None, None, {}, None, id="nothing"),
        pytest.param(
            Tracing(otlp_endpoint="http://collector:4318"),
            None,
            {},
            "http://collector:4318/v1/traces",
            id="config-base-url",
        ),
        pytest.param(
            Tracing(otlp_endpoint="http://c:4318"),
            "http://arg:9999/v1/traces",
            {},
            "http://arg:9999/v1/traces",
            id="argument-wins",
        ),
        pytest.param(
            Tracing(opentracing_grpc_endpoint="http://jaeger:4317"),
            None,
            {},
            "http://jaeger:4318/v1/traces",
            id="grpc-port-mapped-to-http",
        ),
        pytest.param(
            None,
            None,
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318/"},
            "http://env:4318/v1/traces",
            id="otel-base-env",
        ),
        pytest.param(
            None,
            None,
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces:1/custom",
            },
            "http://traces:1/custom",
            id="otel-traces-env-used-as-is",
        ),
        pytest.param(
            Tracing(otlp_endpoint="http://cfg:4318"),
            None,
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318"},
            "http://cfg:4318/v1/traces",
            id="config-before-env",
        ),
    ],
)
def test_resolve_endpoint(
    monkeypatch: pytest.MonkeyPatch,
    tracing: Tracing | None,
    argument: str | None,
    env: dict[str, str],
    expected: str | None,
) -> None:
    for name, val in env.items():
        monkeypatch.setenv(name, val)
    assert resolve_endpoint(tracing, argument) == expected


def test_no_sampling_and_no_endpoint_installs_nothing() -> None:
    handle = setup_tracing(PlanoConfig.from_dict(_config(None)))
    assert not handle.enabled
    assert handle.provider is None
    handle.shutdown()  # safe when disabled


def test_explicit_zero_sampling_is_off_even_with_an_endpoint() -> None:
    tracing = Tracing(random_sampling=0, otlp_endpoint="http://c:4318")
    assert not setup_tracing(tracing, install_global=False).enabled


def test_otel_sdk_disabled_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert not setup_tracing(Tracing(random_sampling=100), install_global=False).enabled


def test_sampling_without_endpoint_defaults_to_local_collector() -> None:
    handle = setup_tracing(Tracing(random_sampling=10), install_global=False)
    try:
        assert handle.enabled
        assert handle.endpoint == DEFAULT_ENDPOINT
        assert handle.sampling_percent == 10
    finally:
        handle.shutdown()


def test_endpoint_without_sampling_means_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    handle = setup_tracing(None, install_global=False)
    try:
        assert handle.sampling_percent == 100
        assert handle.endpoint == "http://127.0.0.1:9/v1/traces"
    finally:
        handle.shutdown()


@pytest.mark.parametrize(
    ("argument", "env", "configured", "expected"),
    [
        pytest.param(None, None, None, "plano-asgi", id="default"),
        pytest.param(None, None, "from-config", "from-config", id="config"),
        pytest.param(None, "from-env", "from-config", "from-env", id="env-over-config"),
        pytest.param("from-arg", "from-env", "from-config", "from-arg", id="argument-first"),
    ],
)
def test_service_name_and_export(
    monkeypatch: pytest.MonkeyPatch,
    argument: str | None,
    env: str | None,
    configured: str | None,
    expected: str,
) -> None:
    if env:
        monkeypatch.setenv("OTEL_SERVICE_NAME", env)
    exporter = InMemorySpanExporter()
    tracing = Tracing(random_sampling=100, service_name=configured)
    handle = setup_tracing(tracing, service_name=argument, exporter=exporter, install_global=False)
    handle.tracer().start_span("x").end()
    assert handle.force_flush()
    (span,) = exporter.get_finished_spans()
    assert span.resource.attributes["service.name"] == expected
    handle.shutdown()


def test_install_global_makes_the_library_tracer_record() -> None:
    # The global provider can be set once per process, so check it in a fresh interpreter.
    script = textwrap.dedent(
        """
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from plano_asgi.config.models import Tracing
        from plano_asgi.telemetry.setup import setup_tracing
        from plano_asgi.telemetry.stream_span import tracer

        exporter = InMemorySpanExporter()
        handle = setup_tracing(Tracing(random_sampling=100), exporter=exporter)
        tracer().start_span("hello").end()
        handle.shutdown()
        print([s.name for s in exporter.get_finished_spans()])
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "['hello']"


def _config(tracing: dict[str, object] | None) -> dict[str, object]:
    config: dict[str, object] = {
        "version": "v0.3.0",
        "listeners": [{"type": "model", "name": "llm", "port": 12000}],
        "model_providers": [{"model": "openai/gpt-4o", "access_key": "k", "default": True}],
    }
    if tracing is not None:
        config["tracing"] = tracing
    return config


def test_service_overrides_report_spans_under_their_plano_service() -> None:
    exporter = InMemorySpanExporter()
    handle = setup_tracing(
        Tracing(random_sampling=100),
        exporter=exporter,
        install_global=False,
        service_overrides=True,
    )
    tracer = handle.tracer()
    tracer.start_span("agent", attributes={"service.name.override": "plano(agent)"}).end()
    tracer.start_span("plain").end()
    assert handle.force_flush()
    services = {
        s.name: s.resource.attributes["service.name"] for s in exporter.get_finished_spans()
    }
    assert services == {"agent": "plano(agent)", "plain": "plano-asgi"}
    handle.shutdown()


def test_importing_the_telemetry_package_loads_no_sdk() -> None:
    script = (
        "import sys, plano_asgi.telemetry, plano_asgi.telemetry.propagation, "
        "plano_asgi.telemetry.stream_span, plano_asgi.cli.trace; "
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry.sdk')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
