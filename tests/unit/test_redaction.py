"""The redactor on its own: every form of a key, streams cut anywhere, the log filter."""

from __future__ import annotations

import json
import logging
import random
from urllib.parse import quote

import pytest

from plano_asgi.config import PlanoConfig
from plano_asgi.redaction import (
    MIN_SECRET_LENGTH,
    REDACTED,
    Redactor,
    install_log_redaction,
    redacting,
)

KEY = "sk-proj/AbC+def_0123456789"
OTHER = "AIzaSyA-0123456789abcdefghij"

FORMS = {
    "raw": KEY,
    "json": json.dumps(KEY)[1:-1],
    "json slash": KEY.replace("/", "\\/"),
    "u002d": KEY.replace("-", "\\u002d"),
    "U002D": KEY.replace("-", "\\u002D"),
    "all escaped": "".join(f"\\u{ord(c):04x}" for c in KEY),
    "all escaped upper": "".join(f"\\u{ord(c):04X}" for c in KEY),
    "url": quote(KEY, safe=""),
    "url lower": quote(KEY, safe="").replace("%2F", "%2f").replace("%2B", "%2b"),
    "url every byte": "".join(f"%{ord(c):02X}" for c in KEY),
    "mixed": "s\\u006b-proj%2FAbC\\u002bdef_0123456789",
}


@pytest.mark.parametrize("form", list(FORMS))
def test_every_form_is_replaced_and_the_rest_kept(form: str) -> None:
    redactor = Redactor([KEY])
    text = f'{{"content": "key {FORMS[form]}, done"}}'
    assert redactor.text(text) == f'{{"content": "key {REDACTED}, done"}}'
    assert redactor.body(text.encode()) == f'{{"content": "key {REDACTED}, done"}}'.encode()


def test_several_secrets_and_the_clients_own() -> None:
    redactor = Redactor([KEY, None, "", OTHER]).with_secret("client-token-0123456789")
    text = f"{KEY} {OTHER} client-token-0123456789 {quote(OTHER)}"
    assert redactor.text(text) == " ".join([REDACTED] * 4)
    assert len(redactor.secrets) == 3


def test_short_secrets_are_not_looked_for() -> None:
    short = "x" * (MIN_SECRET_LENGTH - 1)
    redactor = Redactor([short])
    assert not redactor
    assert redactor.text(f"an {short} text") == f"an {short} text"
    assert redactor.with_secret(short) is redactor


def test_with_secret_reuses_compiled_redactors() -> None:
    base = Redactor([KEY])
    assert base.with_secret(None) is base
    assert base.with_secret(KEY) is base
    assert base.with_secret("client-token-0123456789") is base.with_secret(
        "client-token-0123456789"
    )


def test_text_without_a_key_is_returned_as_is() -> None:
    redactor = Redactor([KEY])
    body = b'{"content": "sk-proj is a prefix, \\u00e9 an escape, 100% text"}'
    assert redactor.body(body) == body
    assert redactor.json({"a": ["sk-proj", 1, None]}) == {"a": ["sk-proj", 1, None]}


def test_json_values_are_redacted_everywhere() -> None:
    value = {"error": {"message": f"bad {KEY}", "list": [KEY, 3], "n": None}}
    redacted = Redactor([KEY]).json(value)
    assert redacted == {"error": {"message": f"bad {REDACTED}", "list": [REDACTED, 3], "n": None}}


def test_the_repr_never_shows_a_secret() -> None:
    assert KEY not in repr(Redactor([KEY]))


def _pieces(data: bytes, rng: random.Random) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 12))))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


@pytest.mark.parametrize("seed", range(4))
def test_a_stream_cut_anywhere_comes_out_as_the_whole_body_would(seed: int) -> None:
    rng = random.Random(seed)
    redactor = Redactor([KEY, OTHER])
    for _ in range(300):
        form = rng.choice(list(FORMS.values()))
        text = f'data: {{"c": "s sk-pro \\u00 %2 {form} sk-proj/ tail"}}\n\n' * rng.randint(1, 3)
        data = text.encode()
        stream = redactor.stream()
        out = b"".join(stream.feed(piece) for piece in _pieces(data, rng)) + stream.flush()
        assert out == redactor.body(data)
        assert KEY.encode() not in out


def test_a_chunk_is_held_back_only_where_a_key_could_start() -> None:
    stream = Redactor([KEY]).stream()
    event = b'data: {"c": "sss sk-proj"}\n\n'
    assert stream.feed(event) == event  # an event ends with a blank line: nothing held
    assert stream.feed(b'data: {"c": "brown') == b'data: {"c": "brown'
    assert stream.feed(b" fox is") == b" fox i"  # "s" may start "sk-..."
    assert stream.feed(b" sk-proj\\u00") == b"s "  # "sk-proj\u00" may be the key cut short
    assert stream.feed(b'2e"}\n\n') == b'sk-proj\\u002e"}\n\n'  # it was not
    assert stream.flush() == b""


def test_what_is_held_back_never_exceeds_the_longest_form_of_a_key() -> None:
    redactor = Redactor([KEY])
    longest = len(FORMS["all escaped"])
    cut = FORMS["all escaped"].encode()[:-1]
    assert redactor.held_back(b"x" * 100 + cut) == longest - 1
    assert redactor.held_back(b"x" * 100 + KEY.encode()[:-1]) == len(KEY) - 1
    assert redactor.held_back(b"x" * 100) == 0


def test_a_redactor_without_secrets_passes_streams_untouched() -> None:
    stream = Redactor().stream()
    assert stream.feed(b"sk-") == b"sk-"
    assert stream.flush() == b""


def test_the_log_filter_redacts_during_a_request(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction(["plano_asgi.test_redaction"])
    logger = logging.getLogger("plano_asgi.test_redaction")
    caplog.set_level(logging.INFO, logger="plano_asgi.test_redaction")
    logger.info("outside %s", "plain")
    with redacting(Redactor([KEY])):
        logger.info("key %s echoed", FORMS["json slash"])
        try:
            raise ValueError(f"boom {KEY}")
        except ValueError:
            logger.exception("failed")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["outside plain", f"key {REDACTED} echoed", "failed"]
    assert KEY not in (caplog.records[2].exc_text or "x")
    assert "ValueError: boom [redacted]" in caplog.text
    assert KEY not in caplog.text


def test_the_config_lists_its_secrets() -> None:
    config = PlanoConfig.from_dict(
        {
            "version": "v0.4.0",
            "model_providers": [
                {"model": "openai/gpt-4o", "access_key": KEY, "default": True},
                {
                    "model": "openai/gpt-4o-mini",
                    "base_url": "http://127.0.0.1:9",
                    "headers": {"Authorization": "Bearer hdr-token-0123", "x-org": "o"},
                },
            ],
        }
    )
    assert config.secrets == (KEY, "hdr-token-0123")
