"""Validation first: a malformed body is a 400 naming the field, whatever else is wrong.

The provider without a key (401), the unknown model (404) and the exhausted rate limit
(429) would each answer a well-formed request; a malformed one never gets that far. Over a
real uvicorn server, in each path's own envelope.
"""

from __future__ import annotations

from typing import Any

import anyio
import httpx2
import pytest

from plano_asgi.json_body import MAX_JSON_DEPTH
from tests.gateway.fakes import FakeProvider
from tests.gateway.helpers import make_config, provider, running

pytestmark = pytest.mark.anyio

HI: Any = [{"role": "user", "content": "hi"}]

# (path, body, the field named): each body is malformed in exactly one field.
MALFORMED = [
    ("/v1/chat/completions", {"model": "gpt-4o", "messages": 5}, "messages"),
    ("/v1/chat/completions", {"model": "gpt-4o"}, "messages"),
    ("/v1/chat/completions", {"model": "gpt-4o", "messages": [{"content": "x"}]},
     "messages[0].role"),
    ("/v1/chat/completions", {"model": "gpt-4o", "messages": HI, "temperature": 7}, "temperature"),
    ("/v1/chat/completions", {"model": "gpt-4o", "messages": HI, "max_tokens": 0}, "max_tokens"),
    ("/v1/messages", {"model": "gpt-4o", "messages": "hi", "max_tokens": 5}, "messages"),
    ("/v1/messages", {"model": "gpt-4o", "messages": HI}, "max_tokens"),
    (
        "/v1/messages",
        {"model": "gpt-4o", "messages": [{"role": "user", "content": [{"type": "text"}]}],
         "max_tokens": 5},
        "messages[0].content[0].text",
    ),
    ("/v1/responses", {"model": "gpt-4o", "input": 5}, "input"),
    ("/routing/v1/chat/completions", {"model": "gpt-4o", "messages": {}}, "messages"),
    ("/routing/v1/messages", {"model": "gpt-4o", "messages": HI, "max_tokens": 5, "top_p": 3},
     "top_p"),
]  # fmt: skip


def _keyless_limited_config(fake: FakeProvider) -> Any:
    # openai/gpt-4o has no key and a hosted API (401 before any call); the rate limit has
    # no tokens left for anyone (429).
    return make_config(
        [provider("openai/gpt-4o", fake.url), {"model": "openai/gpt-4o-mini"}],
        model_aliases={"gpt-4o": {"target": "openai/gpt-4o-mini"}},
        ratelimits=[
            {
                "model": "openai/gpt-4o",
                "selector": {"key": "x-user", "value": "*"},
                "limit": {"tokens": 1, "unit": "hour"},
            }
        ],
    )


def _named(response: httpx2.Response, path: str) -> str:
    body = response.json()
    if path.endswith("/messages"):
        assert body["type"] == "error", body
    error = body["error"]
    assert error["type"] == "invalid_request_error", body
    message: str = error["message"]
    return message


async def test_a_malformed_body_is_a_400_before_keys_models_and_limits() -> None:
    with anyio.fail_after(30):
        async with FakeProvider("p") as fake:
            async with running(_keyless_limited_config(fake)) as url:
                async with httpx2.AsyncClient(base_url=url) as http:
                    well_formed = await http.post(
                        "/v1/chat/completions", json={"model": "gpt-4o", "messages": HI}
                    )
                    unknown = await http.post(
                        "/v1/chat/completions", json={"model": "nope/x", "messages": HI}
                    )
                    answers = [
                        (path, field, await http.post(path, json=body))
                        for path, body, field in MALFORMED
                    ]
                    unknown_and_bad = await http.post(
                        "/v1/chat/completions", json={"model": "nope/x", "messages": 5}
                    )
    # The well-formed requests meet the key check and the unknown model.
    assert well_formed.status_code == 401, well_formed.text
    assert well_formed.json()["error"]["code"] == "missing_api_key"
    assert unknown.status_code == 404
    for path, field, response in answers:
        assert response.status_code == 400, (path, field, response.text)
        assert field in _named(response, path), (path, response.text)
    assert unknown_and_bad.status_code == 400
    assert unknown_and_bad.json()["error"]["param"] == "messages"
    assert fake.requests == []


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages", "/v1/responses"])
@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'{"messages": ' + b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH + b"}",
                     id="one-level-too-deep"),
        pytest.param(b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", id="recursion-deep"),
        pytest.param(b'{"messages": [], "temperature": NaN}', id="nan"),
        pytest.param(b'{"messages": [], "temperature": 1e999}', id="overflowing-float"),
        pytest.param(b'{"max_tokens": ' + b"9" * 5000 + b"}", id="int-too-long"),
        pytest.param(b'{"model": "\xff"}', id="not-utf-8"),
        pytest.param(b"[1]", id="not-an-object"),
    ],
)  # fmt: skip
async def test_a_body_the_json_parser_refuses_is_a_400(path: str, raw: bytes) -> None:
    with anyio.fail_after(30):
        async with FakeProvider("p") as fake:
            config = make_config([provider("openai/gpt-4o", fake.url)])
            async with running(config) as url, httpx2.AsyncClient(base_url=url) as http:
                response = await http.post(path, content=raw)
    assert response.status_code == 400, response.text
    message = _named(response, path)
    assert message.startswith("Request body "), message
    assert fake.requests == []


def test_the_depth_cap_counts_the_body_as_level_one() -> None:
    from plano_asgi.json_body import parse_json_object

    deepest = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
    assert parse_json_object('{"a": ' + deepest + "}")["a"]
    with pytest.raises(Exception, match="nested too deeply"):
        parse_json_object('{"a": [' + deepest + "]}")


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages", "/v1/responses"])
async def test_a_lone_surrogate_is_a_400_naming_where_it_is(path: str) -> None:
    # Found by the fuzz suite: "\ud800" parses, then cannot be encoded to send on (a 500).
    raw = b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi \\ud800"}]}'
    with anyio.fail_after(30):
        async with FakeProvider("p") as fake:
            config = make_config([provider("openai/gpt-4o", fake.url)])
            async with running(config) as url, httpx2.AsyncClient(base_url=url) as http:
                response = await http.post(path, content=raw)
                paired = await http.post(
                    "/v1/chat/completions",
                    content=raw.replace(b"\\ud800", b"\\ud83d\\ude00"),  # an emoji, escaped
                )
    assert response.status_code == 400, response.text
    assert "messages[0].content: a string holds a lone UTF-16 surrogate" in _named(response, path)
    assert paired.status_code == 200, paired.text
    assert fake.requests[0].json()["messages"][0]["content"] == "hi \U0001f600"


async def test_wrong_methods_are_a_405_in_the_paths_own_shape() -> None:
    # Found by the fuzz suite: GET /v1/messages had OpenAI's shape, PUT /v1/models a 200.
    with anyio.fail_after(30):
        async with FakeProvider("p") as fake:
            config = make_config([provider("openai/gpt-4o", fake.url)])
            async with running(config) as url, httpx2.AsyncClient(base_url=url) as http:
                messages = await http.get("/v1/messages")
                models = await http.put("/v1/models")
                health = await http.post("/healthz")
                listed = await http.get("/v1/models")
    assert messages.status_code == 405
    assert messages.json()["type"] == "error"
    assert messages.headers["allow"] == "POST"
    assert (models.status_code, health.status_code) == (405, 405)
    assert models.headers["allow"] == "GET, HEAD"
    assert listed.status_code == 200
