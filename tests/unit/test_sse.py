"""SSE encoding and incremental decoding, including chunk boundaries anywhere."""

from __future__ import annotations

import pytest

from plano_asgi.sse import DONE, ServerSentEvent, SSEDecoder, encode_data, encode_event, encode_json


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(b"data: a\n\n", [ServerSentEvent("a")], id="lf"),
        pytest.param(b"data: a\r\n\r\n", [ServerSentEvent("a")], id="crlf"),
        pytest.param(b"data: a\r\r", [ServerSentEvent("a")], id="cr"),
        pytest.param(b"data: a\ndata: b\n\n", [ServerSentEvent("a\nb")], id="multi-line"),
        pytest.param(b": keep-alive\n\ndata: x\n\n", [ServerSentEvent("x")], id="comment"),
        pytest.param(b"data:nospace\n\n", [ServerSentEvent("nospace")], id="no-space"),
        pytest.param(b"data:  two\n\n", [ServerSentEvent(" two")], id="one-space-dropped"),
        pytest.param(
            b"event: message\nid: 7\nretry: 10\ndata: {}\n\n",
            [ServerSentEvent("{}", event="message", id="7", retry=10)],
            id="fields",
        ),
        pytest.param(b"data: [DONE]\n\n", [ServerSentEvent(DONE)], id="done"),
        pytest.param(b"data: a\n", [], id="unterminated"),
        pytest.param(b"\n\n\n", [], id="blank-lines"),
        pytest.param(b"retry: soon\n\n", [], id="bad-retry-alone"),
    ],
)
def test_decoder_table(raw: bytes, expected: list[ServerSentEvent]) -> None:
    decoder = SSEDecoder()
    assert decoder.feed(raw) == expected


def test_decoder_handles_every_split_point() -> None:
    raw = 'data: {"x": "é"}\r\n\r\nevent: e\ndata: 2\n\ndata: [DONE]\n\n'.encode()
    whole = SSEDecoder().feed(raw)
    for cut in range(1, len(raw)):
        decoder = SSEDecoder()
        events = decoder.feed(raw[:cut]) + decoder.feed(raw[cut:])
        assert events == whole, cut
    assert [e.data for e in whole] == ['{"x": "é"}', "2", DONE]
    assert whole[2].is_done


def test_decoder_one_byte_at_a_time() -> None:
    raw = b"data: a\r\n\r\ndata: b\r\rdata: c\n\n"
    decoder = SSEDecoder()
    events = [event for i in range(len(raw)) for event in decoder.feed(raw[i : i + 1])]
    assert [e.data for e in events] == ["a", "b", "c"]


def test_flush_reports_partial_event_only_when_asked() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: cut") == []
    assert decoder.has_partial_event
    assert decoder.flush() == []
    decoder = SSEDecoder()
    decoder.feed(b"data: cut")
    assert decoder.flush(dispatch_unterminated=True) == [ServerSentEvent("cut")]


def test_encode_roundtrip_multiline() -> None:
    raw = encode_event("line1\nline2\r\nline3", event="note", id="1")
    assert raw == b"id: 1\nevent: note\ndata: line1\ndata: line2\ndata: line3\n\n"
    assert SSEDecoder().feed(raw) == [ServerSentEvent("line1\nline2\nline3", event="note", id="1")]


def test_encode_data_and_json() -> None:
    assert encode_data("x") == b"data: x\n\n"
    assert encode_data("a\nb") == b"data: a\ndata: b\n\n"
    assert encode_json({"a": "é"}) == 'data: {"a":"é"}\n\n'.encode()
    assert encode_event("x", event="a\nb") == b"event: a b\ndata: x\n\n"


def test_only_cr_and_lf_break_lines() -> None:
    # Vertical tab, form feed, NEL and U+2028 are line breaks to str.splitlines, not to SSE.
    raw = "data: a\x0bb\x0cc\x85d\u2028e\n\n".encode()
    assert SSEDecoder().feed(raw) == [ServerSentEvent("a\x0bb\x0cc\x85d\u2028e")]


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    assert SSEDecoder().feed(b"data: \xff\xfe ok\n\n") == [ServerSentEvent("\ufffd\ufffd ok")]
