"""Group received spans by trace and print each finished trace as a tree.

A trace is printed once it has a root span (no parent) and no new span arrived for
``quiet`` seconds. A trace whose root never comes (the client sent its own
``traceparent``, or its process exports later) is printed after ``orphan_timeout`` seconds
of silence, with the spans whose parent is missing as roots. Spans arriving after their
trace was printed are printed as a continuation.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from plano_asgi.telemetry.otlp import ReceivedSpan

__all__ = ["TraceBuffer", "render_trace"]


@dataclass(slots=True)
class _Pending:
    spans: list[ReceivedSpan] = field(default_factory=list)
    last: float = 0.0


class TraceBuffer:
    """Spans waiting for their trace to finish (single event loop; not thread-safe)."""

    def __init__(
        self,
        *,
        quiet: float = 1.0,
        orphan_timeout: float = 8.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.quiet = quiet
        self.orphan_timeout = orphan_timeout
        self._clock = clock
        self._pending: dict[str, _Pending] = {}
        self._printed: set[str] = set()

    def add(self, spans: Iterable[ReceivedSpan]) -> None:
        """Queue spans from one export."""
        now = self._clock()
        for span in spans:
            pending = self._pending.setdefault(span.trace_id, _Pending())
            pending.spans.append(span)
            pending.last = now

    def ready(self) -> list[tuple[list[ReceivedSpan], bool]]:
        """Finished traces, oldest first, as ``(spans, continued)``; they leave the buffer."""
        now = self._clock()
        done: list[tuple[list[ReceivedSpan], bool]] = []
        for trace_id, pending in list(self._pending.items()):
            has_root = any(s.parent_id is None for s in pending.spans)
            wait = self.quiet if has_root else self.orphan_timeout
            if now - pending.last >= wait:
                del self._pending[trace_id]
                done.append((pending.spans, trace_id in self._printed))
                self._printed.add(trace_id)
        return done

    def drain(self) -> list[tuple[list[ReceivedSpan], bool]]:
        """Everything still pending (at shutdown)."""
        done = [(p.spans, tid in self._printed) for tid, p in self._pending.items()]
        self._pending.clear()
        return done


_UNICODE = ("├── ", "└── ", "│   ", "    ", "✗")
_ASCII = ("|-- ", "`-- ", "|   ", "    ", "x")


def render_trace(
    spans: Sequence[ReceivedSpan], *, continued: bool = False, ascii: bool = False
) -> str:
    """A trace as an indented tree: names, durations in ms, decisions, and errors marked."""
    tee, last, pipe, blank, cross = _ASCII if ascii else _UNICODE
    ids = {s.span_id for s in spans}
    children: dict[str | None, list[ReceivedSpan]] = {}
    for span in spans:
        parent = span.parent_id if span.parent_id in ids else None
        children.setdefault(parent, []).append(span)
    for group in children.values():
        group.sort(key=lambda s: (s.start_ns, s.name))
    roots = children.get(None, [])
    start = min(s.start_ns for s in spans)
    end = max(s.end_ns for s in spans)
    errors = sum(1 for s in spans if s.failed)
    title = f"trace {spans[0].trace_id}"
    if continued:
        title += " (continued)"
    summary = f"{title}  {(end - start) / 1e6:.1f} ms  {len(spans)} spans"
    if errors:
        summary += f"  {cross} {errors} error{'s' if errors > 1 else ''}"
    lines = [summary]

    def walk(span: ReceivedSpan, prefix: str, is_last: bool) -> None:
        lines.append(prefix + (last if is_last else tee) + _describe(span, cross))
        below = prefix + (blank if is_last else pipe)
        kids = children.get(span.span_id, [])
        for index, child in enumerate(kids):
            walk(child, below, index == len(kids) - 1)

    for index, root in enumerate(roots):
        walk(root, "", index == len(roots) - 1)
    return "\n".join(lines)


def _describe(span: ReceivedSpan, cross: str) -> str:
    a = span.attributes
    parts = [span.name, f"{span.duration_ms:.1f} ms"]
    service = a.get("service.name.override")
    if service:
        parts.append(f"[{service}]")
    if "selection.agents" in a:
        agents = a.get("selection.agents") or "(none)"
        detail = [f"router={a['plano.router']}"] if "plano.router" in a else []
        if "plano.router.confidence" in a:
            detail.append(f"confidence={float(a['plano.router.confidence']):.2f}")
        if a.get("plano.router.fallback"):
            detail.append(f"fallback={a['plano.router.fallback']}")
        if a.get("plano.router.escalated"):
            detail.append("escalated")
        if span.kind != 2:  # the server span repeats the decision; show it on the routing span
            parts.append(f"-> {agents}" + (f" ({', '.join(detail)})" if detail else ""))
    if "plano.filter.outcome" in a:
        parts.append(str(a["plano.filter.outcome"]))
    if "llm.provider" in a:
        parts.append(f"provider={a['llm.provider']}")
    if "llm.time_to_first_token" in a:
        parts.append(f"ttft={a['llm.time_to_first_token']} ms")
    if "llm.usage.prompt_tokens" in a or "llm.usage.completion_tokens" in a:
        prompt = a.get("llm.usage.prompt_tokens", "?")
        completion = a.get("llm.usage.completion_tokens", "?")
        parts.append(f"tokens={prompt}+{completion}")
    if a.get("plano.retries"):
        parts.append(f"retries={a['plano.retries']}")
    if a.get("plano.fallbacks"):
        parts.append(f"fell back from {a['plano.fallbacks']}")
    if "http.status_code" in a:
        parts.append(f"HTTP {a['http.status_code']}")
    text = "  ".join(parts)
    if span.failed:
        reason = span.status_message or str(a.get("error.type", "error"))
        text += f"  {cross}" if reason in parts else f"  {cross} {reason}"
    return text
