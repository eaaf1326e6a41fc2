"""The model gateway's spans and metrics: fallbacks, failures and a client leaving mid-stream."""

from __future__ import annotations

import anyio
import httpx2
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from plano_asgi.telemetry.metrics import PlanoMetrics
from tests.gateway.fakes import FakeProvider, Reply, error_reply, openai_stream
from tests.gateway.helpers import make_config, openai_client, provider, running
from tests.telemetry.conftest import Recorder
from tests.telemetry.prom import parse, value

pytestmark = pytest.mark.anyio


def _llm(recorder: Recorder) -> tuple[dict[str, object], ReadableSpan]:
    (llm,) = [s for s in recorder.spans() if s.kind == SpanKind.CLIENT]
    return dict(llm.attributes or {}), llm


async def test_an_alias_fallback_is_on_the_llm_span_and_in_metrics(
    recorder: Recorder, metrics: PlanoMetrics
) -> None:
    with anyio.fail_after(10):
        async with FakeProvider("a") as first, FakeProvider("b") as second:
            first.then(error_reply(503, "overloaded"), error_reply(503, "overloaded"))
            config = make_config(
                [provider("openai/gpt-4o", first.url), provider("openai/gpt-4o-mini", second.url)],
                model_aliases={"fast": {"target": ["openai/gpt-4o", "openai/gpt-4o-mini"]}},
                listener={"max_retries": 1},
            )
            async with running(config, tracer=recorder.tracer, metrics=metrics) as url:
                async with openai_client(url) as client:
                    await client.chat.completions.create(
                        model="fast", messages=[{"role": "user", "content": "hi"}]
                    )
                async with httpx2.AsyncClient() as http:
                    page = await http.get(f"{url}/metrics")
    attributes, llm = _llm(recorder)
    assert llm.name == "POST /v1/chat/completions fast -> openai/gpt-4o-mini"
    assert attributes["plano.fallbacks"] == "openai/gpt-4o"
    assert attributes["plano.retries"] == 1
    assert [e.name for e in llm.events] == ["retry", "fallback"]
    routing = recorder.by_name("routing")
    assert dict(routing.attributes or {})["model.alias_resolved"] == (
        "openai/gpt-4o,openai/gpt-4o-mini"
    )
    families = parse(page.text)
    fallback = {"from_model": "openai/gpt-4o", "to_model": "openai/gpt-4o-mini"}
    assert value(families, "plano_llm_fallbacks_total", **fallback) == 1
    retried = {"provider": "openai", "model": "openai/gpt-4o"}
    assert value(families, "plano_llm_retries_total", **retried) == 1
    served = {"provider": "openai", "model": "openai/gpt-4o-mini", "status_class": "2xx"}
    assert value(families, "plano_llm_requests_total", **served) == 1


async def test_a_provider_failure_is_recorded_on_the_llm_span(
    recorder: Recorder, metrics: PlanoMetrics
) -> None:
    with anyio.fail_after(10):
        async with FakeProvider("a") as fake:
            fake.then(error_reply(400, "bad tool schema"))
            config = make_config([provider("openai/gpt-4o", fake.url)])
            async with running(config, tracer=recorder.tracer, metrics=metrics) as url:
                async with httpx2.AsyncClient() as http:
                    reply = await http.post(
                        f"{url}/v1/chat/completions",
                        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]},
                    )
    assert reply.status_code == 400
    attributes, llm = _llm(recorder)
    assert llm.status.status_code == StatusCode.ERROR
    assert attributes["http.status_code"] == 400
    server = recorder.by_name("POST /v1/chat/completions")
    assert dict(server.attributes or {})["http.status_code"] == 400
    families = parse(metrics.render())
    labels = {"listener": "llm", "handler": "llm_chat", "method": "POST", "status_class": "4xx"}
    assert value(families, "plano_http_requests_total", **labels) == 1


async def test_a_client_leaving_mid_stream_ends_the_gateway_spans(
    recorder: Recorder, metrics: PlanoMetrics
) -> None:
    with anyio.fail_after(10):
        async with FakeProvider("a") as fake:
            fake.then(Reply(stream=openai_stream(["one", "two"], gap=30.0)))
            config = make_config(
                [provider("openai/gpt-4o", fake.url)],
                listener={"timeouts": {"connect": 1, "first_byte": 5, "idle": 60}},
            )
            async with running(config, tracer=recorder.tracer, metrics=metrics) as url:
                async with httpx2.AsyncClient() as http:
                    async with http.stream(
                        "POST",
                        f"{url}/v1/chat/completions",
                        json={
                            "model": "gpt-4o",
                            "stream": True,
                            "messages": [{"role": "user", "content": "x"}],
                        },
                    ) as response:
                        async for _chunk in response.aiter_raw():
                            break
                await fake.client_gone.wait()
                while len(recorder.spans()) < 3:  # noqa: ASYNC110 (span export has no event)
                    await anyio.sleep(0.01)
    attributes, _llm_span = _llm(recorder)
    assert attributes["plano.cancelled"] is True
    server = dict(recorder.by_name("POST /v1/chat/completions").attributes or {})
    assert server["plano.client_disconnected"] is True
    assert server["http.status_code"] == 200
    families = parse(metrics.render())
    assert value(families, "plano_http_in_flight_requests", listener="llm") == 0
