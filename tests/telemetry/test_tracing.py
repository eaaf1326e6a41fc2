"""Trace context propagation (``telemetry.propagation``) and ``StreamSpan``."""

from __future__ import annotations

import pytest
from opentelemetry import baggage
from opentelemetry.trace import NoOpTracer, SpanKind, StatusCode

from plano_asgi.telemetry.propagation import extract_context, inject_headers, valid_traceparent
from plano_asgi.telemetry.stream_span import trace_id_of
from tests.telemetry.conftest import Recorder, start_span

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        pytest.param(PARENT, True, id="valid"),
        pytest.param(f" {PARENT} ", True, id="surrounding-space"),
        pytest.param(f"00-{TRACE_ID}-00f067aa0ba902b7-00", True, id="not-sampled"),
        pytest.param(f"01-{TRACE_ID}-00f067aa0ba902b7-01-extra", True, id="future-version-extra"),
        pytest.param(f"00-{TRACE_ID}-00f067aa0ba902b7-01-extra", False, id="v00-extra-field"),
        pytest.param(f"ff-{TRACE_ID}-00f067aa0ba902b7-01", False, id="version-ff"),
        pytest.param(f"00-{'0' * 32}-00f067aa0ba902b7-01", False, id="zero-trace-id"),
        pytest.param(f"00-{TRACE_ID}-{'0' * 16}-01", False, id="zero-span-id"),
        pytest.param(f"00-{TRACE_ID.upper()}-00f067aa0ba902b7-01", False, id="upper-case"),
        pytest.param(f"00-{TRACE_ID[:-1]}-00f067aa0ba902b7-01", False, id="short-trace-id"),
        pytest.param("garbage", False, id="garbage"),
        pytest.param("", False, id="empty"),
    ],
)
def test_valid_traceparent(value: str, valid: bool) -> None:
    assert valid_traceparent(value) is valid


def test_extract_context_continues_a_valid_traceparent() -> None:
    context = extract_context([(b"traceparent", PARENT.encode()), (b"tracestate", b"k=v")])
    assert trace_id_of(context) == TRACE_ID


def test_extract_context_ignores_an_invalid_traceparent_but_keeps_baggage() -> None:
    bad = f"00-{TRACE_ID}-{'0' * 16}-01"
    context = extract_context({"TraceParent": bad, "baggage": "user=alice"})
    assert trace_id_of(context) is None
    assert baggage.get_baggage("user", context) == "alice"


def test_inject_headers_without_sdk_carries_the_clients_traceparent_through_a_span() -> None:
    # With no SDK (the API's no-op tracer) the client's context must still be passed on.
    parent = extract_context({"traceparent": PARENT, "baggage": "user=alice"})
    hop = start_span("agent", context=parent, kind=SpanKind.CLIENT, tracer=NoOpTracer())
    headers = inject_headers({"traceparent": "stale"}, hop.context)
    hop.end()
    assert headers["traceparent"] == PARENT
    assert headers["baggage"] == "user=alice"


def test_inject_headers_falls_back_to_incoming_only_when_valid() -> None:
    good = inject_headers({}, None, incoming={"traceparent": PARENT, "tracestate": "a=1"})
    assert good == {"traceparent": PARENT, "tracestate": "a=1"}
    bad = inject_headers({"traceparent": "junk", "tracestate": "a=1", "x": "y"}, None, incoming={})
    assert bad == {"x": "y"}


def test_inject_headers_with_sdk_writes_the_new_span_as_parent(recorder: Recorder) -> None:
    parent = extract_context({"traceparent": PARENT})
    hop = start_span("agent", context=parent, kind=SpanKind.CLIENT, tracer=recorder.tracer)
    headers = inject_headers({"TraceParent": PARENT}, hop.context)
    hop.end()
    (finished,) = recorder.spans()
    span_id = format(finished.context.span_id, "016x")
    assert headers == {"traceparent": f"00-{TRACE_ID}-{span_id}-01"}
    assert finished.parent is not None
    assert format(finished.parent.span_id, "016x") == "00f067aa0ba902b7"


def test_stream_span_end_is_idempotent_and_marks_status(recorder: Recorder) -> None:
    client = start_span("call", context=None, kind=SpanKind.CLIENT, tracer=recorder.tracer)
    server = start_span("serve", context=None, kind=SpanKind.SERVER, tracer=recorder.tracer)
    client.end(status=404)
    client.end(status=200)
    server.end(status=404)
    spans = {s.name: s for s in recorder.spans()}
    assert len(recorder.spans()) == 2
    assert spans["call"].status.status_code is StatusCode.ERROR
    assert spans["call"].attributes is not None
    assert spans["call"].attributes["http.status_code"] == 404
    assert spans["serve"].status.status_code is StatusCode.UNSET


def test_stream_span_end_with_error_records_the_exception(recorder: Recorder) -> None:
    started = start_span("x", context=None, tracer=recorder.tracer)
    started.end(error=ValueError("boom"))
    (finished,) = recorder.spans()
    assert finished.status.status_code is StatusCode.ERROR
    assert finished.status.description == "boom"
    assert [e.name for e in finished.events] == ["exception"]


def test_span_children_share_the_trace(recorder: Recorder) -> None:
    parent = start_span("parent", context=None, tracer=recorder.tracer)
    child = start_span("child", context=parent.context, tracer=recorder.tracer)
    child.set_attributes({"a": 1, "skipped": None})
    child.end()
    parent.end()
    assert parent.trace_id is not None
    assert child.trace_id == parent.trace_id
    finished = recorder.by_name("child")
    assert finished.parent is not None
    assert finished.parent.span_id == parent.span.get_span_context().span_id
    assert finished.attributes == {"a": 1}


def test_span_without_a_parent_and_without_sdk_injects_nothing() -> None:
    hop = start_span("agent", context=None, tracer=NoOpTracer())
    assert hop.trace_id is None
    assert inject_headers({}, hop.context) == {}
    hop.end()
