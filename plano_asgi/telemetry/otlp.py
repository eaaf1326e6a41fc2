"""Decode OTLP/HTTP trace export bodies (protobuf or JSON) into plain span records.

Used by ``plano-asgi trace``. Protobuf needs ``opentelemetry-proto`` (installed with the
OTLP/HTTP exporter); JSON follows the OTLP JSON mapping (hex ids, camelCase keys, 64-bit
integers as strings), and snake_case keys are accepted too.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from plano_asgi.errors import PayloadTooLargeError

__all__ = ["OTLPDecodeError", "ReceivedSpan", "decode_export", "encode_response"]

STATUS_ERROR = 2


class OTLPDecodeError(ValueError):
    """The body is not an OTLP trace export we understand (answered with 400)."""


@dataclass(frozen=True, slots=True)
class ReceivedSpan:
    """One exported span, reduced to what the trace printer needs."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: int
    start_ns: int
    end_ns: int
    service: str
    attributes: dict[str, Any] = field(default_factory=dict)
    status_code: int = 0
    status_message: str = ""
    events: tuple[tuple[str, dict[str, Any]], ...] = ()

    @property
    def duration_ms(self) -> float:
        """End minus start, in milliseconds."""
        return max(0, self.end_ns - self.start_ns) / 1e6

    @property
    def failed(self) -> bool:
        """Whether the span's status is ERROR."""
        return self.status_code == STATUS_ERROR


#: zlib's window bits per ``content-encoding``: gzip framing, zlib framing.
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def decode_export(
    body: bytes, content_type: str, content_encoding: str = "", *, max_size: int = 32 << 20
) -> list[ReceivedSpan]:
    """The spans of one ``POST /v1/traces`` body; raises :class:`OTLPDecodeError`.

    A ``gzip`` or ``deflate`` body is inflated to at most ``max_size`` bytes: past that,
    :class:`~plano_asgi.errors.PayloadTooLargeError` (a small bomb never fills memory).
    """
    encoding = content_encoding.strip().lower()
    if encoding in _WBITS:
        body = _inflate(body, _WBITS[encoding], max_size)
    try:
        if "json" in content_type.lower():
            import json

            return _from_json(json.loads(body))
        return _from_protobuf(body)
    except OTLPDecodeError:
        raise
    except Exception as exc:
        raise OTLPDecodeError(f"cannot decode OTLP body: {exc}") from exc


def _inflate(body: bytes, wbits: int, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise OTLPDecodeError(f"cannot decode OTLP body: {exc}") from exc
    if len(out) > limit or inflater.unconsumed_tail:
        raise PayloadTooLargeError(limit)
    return out


def encode_response(content_type: str) -> tuple[bytes, str]:
    """An empty ``ExportTraceServiceResponse`` in the request's encoding."""
    if "json" in content_type.lower():
        return b"{}", "application/json"
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

    return trace_service_pb2.ExportTraceServiceResponse().SerializeToString(), (
        "application/x-protobuf"
    )


def _from_protobuf(body: bytes) -> list[ReceivedSpan]:
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

    request = trace_service_pb2.ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans: list[ReceivedSpan] = []
    for resource_spans in request.resource_spans:
        resource = _pb_attributes(resource_spans.resource.attributes)
        service = str(resource.get("service.name", "unknown"))
        for scope_spans in resource_spans.scope_spans:
            for s in scope_spans.spans:
                spans.append(
                    ReceivedSpan(
                        trace_id=s.trace_id.hex(),
                        span_id=s.span_id.hex(),
                        parent_id=s.parent_span_id.hex() or None,
                        name=s.name,
                        kind=int(s.kind),
                        start_ns=int(s.start_time_unix_nano),
                        end_ns=int(s.end_time_unix_nano),
                        service=service,
                        attributes=_pb_attributes(s.attributes),
                        status_code=int(s.status.code),
                        status_message=s.status.message,
                        events=tuple((e.name, _pb_attributes(e.attributes)) for e in s.events),
                    )
                )
    return spans


def _pb_attributes(items: Any) -> dict[str, Any]:
    return {kv.key: _pb_value(kv.value) for kv in items}


def _pb_value(value: Any) -> Any:
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [_pb_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return _pb_attributes(value.kvlist_value.values)
    return getattr(value, which)


def _get(obj: Mapping[str, Any], camel: str, snake: str, default: Any = None) -> Any:
    if camel in obj:
        return obj[camel]
    return obj.get(snake, default)


def _from_json(payload: Any) -> list[ReceivedSpan]:
    if not isinstance(payload, dict):
        raise OTLPDecodeError("OTLP JSON body must be an object")
    spans: list[ReceivedSpan] = []
    for resource_spans in _get(payload, "resourceSpans", "resource_spans", []):
        resource = _json_attributes((resource_spans.get("resource") or {}).get("attributes", []))
        service = str(resource.get("service.name", "unknown"))
        for scope_spans in _get(resource_spans, "scopeSpans", "scope_spans", []):
            for s in scope_spans.get("spans", []):
                status = s.get("status") or {}
                spans.append(
                    ReceivedSpan(
                        trace_id=str(_get(s, "traceId", "trace_id", "")).lower(),
                        span_id=str(_get(s, "spanId", "span_id", "")).lower(),
                        parent_id=str(_get(s, "parentSpanId", "parent_span_id", "")).lower()
                        or None,
                        name=str(s.get("name", "")),
                        kind=_json_kind(s.get("kind", 0)),
                        start_ns=int(_get(s, "startTimeUnixNano", "start_time_unix_nano", 0)),
                        end_ns=int(_get(s, "endTimeUnixNano", "end_time_unix_nano", 0)),
                        service=service,
                        attributes=_json_attributes(s.get("attributes", [])),
                        status_code=_json_status(status.get("code", 0)),
                        status_message=str(status.get("message", "")),
                        events=tuple(
                            (str(e.get("name", "")), _json_attributes(e.get("attributes", [])))
                            for e in s.get("events", [])
                        ),
                    )
                )
    return spans


_KINDS = {"SPAN_KIND_INTERNAL": 1, "SPAN_KIND_SERVER": 2, "SPAN_KIND_CLIENT": 3}
_STATUSES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}


def _json_kind(value: Any) -> int:
    return _KINDS.get(value, 0) if isinstance(value, str) else int(value)


def _json_status(value: Any) -> int:
    return _STATUSES.get(value, 0) if isinstance(value, str) else int(value)


def _json_attributes(items: Any) -> dict[str, Any]:
    return {str(kv.get("key")): _json_value(kv.get("value") or {}) for kv in items}


def _json_value(value: Mapping[str, Any]) -> Any:
    for key in ("stringValue", "string_value"):
        if key in value:
            return str(value[key])
    for key in ("boolValue", "bool_value"):
        if key in value:
            return bool(value[key])
    for key in ("intValue", "int_value"):
        if key in value:
            return int(value[key])
    for key in ("doubleValue", "double_value"):
        if key in value:
            return float(value[key])
    array = _get(value, "arrayValue", "array_value")
    if array is not None:
        return [_json_value(v) for v in array.get("values", [])]
    kvlist = _get(value, "kvlistValue", "kvlist_value")
    if kvlist is not None:
        return _json_attributes(kvlist.get("values", []))
    return None
