"""Trace grouping and the tree rendering, with a fake clock."""

from __future__ import annotations

from plano_asgi.telemetry.otlp import ReceivedSpan
from plano_asgi.telemetry.tree import TraceBuffer, render_trace


def _span(
    span_id: str, parent: str | None, start: int, end: int, attrs: dict[str, object] | None = None
) -> ReceivedSpan:
    return ReceivedSpan(
        trace_id="t1",
        span_id=span_id,
        parent_id=parent,
        name=f"span-{span_id}",
        kind=1,
        start_ns=start * 1_000_000,
        end_ns=end * 1_000_000,
        service="svc",
        attributes=dict(attrs or {}),
    )


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_trace_with_root_waits_for_the_quiet_period() -> None:
    clock = Clock()
    buffer = TraceBuffer(quiet=1.0, orphan_timeout=5.0, clock=clock)
    buffer.add([_span("b", "a", 1, 2)])
    clock.now += 0.9
    buffer.add([_span("a", None, 0, 3)])
    clock.now += 0.9
    assert buffer.ready() == []
    clock.now += 0.2
    ((spans, continued),) = buffer.ready()
    assert [s.span_id for s in spans] == ["b", "a"]
    assert continued is False
    assert buffer.ready() == []


def test_trace_without_root_waits_for_the_orphan_timeout_then_late_spans_continue() -> None:
    clock = Clock()
    buffer = TraceBuffer(quiet=1.0, orphan_timeout=5.0, clock=clock)
    buffer.add([_span("b", "remote", 1, 2)])
    clock.now += 4.0
    assert buffer.ready() == []
    clock.now += 1.0
    ((_, continued),) = buffer.ready()
    assert continued is False
    buffer.add([_span("c", "b", 1, 2)])
    assert buffer.drain() == [([_span("c", "b", 1, 2)], True)]


def test_render_orders_children_by_start_and_uses_missing_parents_as_roots() -> None:
    spans = [
        _span("c2", "r", 5, 6),
        _span("c1", "r", 1, 4),
        _span("r", "remote-parent", 0, 10),
        _span("g", "c1", 2, 3, {"http.status_code": 200}),
    ]
    assert render_trace(spans, ascii=True).splitlines() == [
        "trace t1  10.0 ms  4 spans",
        "`-- span-r  10.0 ms",
        "    |-- span-c1  3.0 ms",
        "    |   `-- span-g  1.0 ms  HTTP 200",
        "    `-- span-c2  1.0 ms",
    ]


def test_render_shows_decisions_filters_and_llm_details() -> None:
    routing = _span(
        "r",
        None,
        0,
        2,
        {
            "selection.agents": "",
            "plano.router": "hybrid",
            "plano.router.fallback": "no_agent",
            "plano.router.escalated": True,
        },
    )
    llm = _span("l", "r", 0, 1, {"llm.time_to_first_token": 12, "plano.retries": 2})
    lines = render_trace([routing, llm], continued=True).splitlines()
    assert lines[0].startswith("trace t1 (continued)")
    assert "-> (none) (router=hybrid, fallback=no_agent, escalated)" in lines[1]
    assert "ttft=12 ms" in lines[2]
    assert "retries=2" in lines[2]
