"""The gateway's small promises, over real sockets: every response names its request id,
mistyped fields are a 400 naming the field, an unknown path is an OpenAI-style 404."""

from __future__ import annotations

import uuid
from typing import Any

import anyio
import httpx2
import pytest

from tests.gateway.fakes import FakeProvider, Reply, openai_completion, openai_stream
from tests.gateway.helpers import make_config, provider, running

pytestmark = pytest.mark.anyio

MESSAGES: Any = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_gateway_answers_with_the_clients_request_id(stream: bool) -> None:
    reply = (
        Reply(stream=openai_stream(["hel", "lo"]), headers={"content-type": "text/event-stream"})
        if stream
        else Reply(body=openai_completion("hello"), headers={"x-request-id": "req_provider_1"})
    )
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            fake.then(reply)
            config = make_config([provider("openai/gpt-4o", fake.url)])
            async with running(config) as url, httpx2.AsyncClient(base_url=url) as client:
                response = await client.post(
                    "/v1/chat/completions",
                    json={"model": "gpt-4o", "messages": MESSAGES, "stream": stream},
                    headers={"x-request-id": "client-id-42"},
                )
    assert response.status_code == 200, response.text
    assert response.headers.get_list("x-request-id") == ["client-id-42"]
    assert fake.requests[0].headers["x-request-id"] == "client-id-42"
    if not stream:  # the provider's own id is kept under another name
        assert response.headers["x-upstream-request-id"] == "req_provider_1"


async def test_gateway_makes_a_request_id_and_sends_it_to_the_provider() -> None:
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            fake.then(Reply(body=openai_completion("hello")))
            config = make_config([provider("openai/gpt-4o", fake.url)])
            async with running(config) as url, httpx2.AsyncClient(base_url=url) as client:
                response = await client.post(
                    "/v1/chat/completions",
                    json={"model": "gpt-4o", "messages": MESSAGES},
                    headers={"x-request-id": "not a sane id\t!"},
                )
    assert response.status_code == 200
    made = response.headers["x-request-id"]
    assert str(uuid.UUID(made)) == made
    assert fake.requests[0].headers["x-request-id"] == made


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [
        pytest.param("stream", "yes", "boolean", id="stream-yes"),
        pytest.param("stream", 1, "boolean", id="stream-1"),
        pytest.param("model", 5, "string", id="model-number"),
    ],
)
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
async def test_gateway_rejects_a_mistyped_field_naming_it(
    path: str, field: str, value: object, kind: str
) -> None:
    body: dict[str, Any] = {"model": "gpt-4o", "messages": MESSAGES, "max_tokens": 5}
    body[field] = value
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            config = make_config([provider("openai/gpt-4o", fake.url)])
            async with running(config) as url, httpx2.AsyncClient(base_url=url) as client:
                response = await client.post(path, json=body)
    assert response.status_code == 400
    assert fake.requests == []  # never reached the provider
    assert response.headers["x-request-id"]
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"] == f"Invalid request: {field}: Input should be a valid {kind}"
    if path == "/v1/chat/completions":
        assert error["param"] == field


@pytest.mark.parametrize(
    "model",
    ["azure_openai/../x", "openai/%2e%2e/x", "openai/gpt 4o", "openai/gpt-4o\r\nx: y", "/etc"],
)
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
async def test_gateway_refuses_a_model_name_that_could_bend_a_provider_url(
    path: str, model: str
) -> None:
    body = {"model": model, "messages": MESSAGES, "max_tokens": 5}
    with anyio.fail_after(10):
        async with FakeProvider("p") as fake:
            config = make_config(
                [provider("openai/gpt-4o", fake.url), provider("azure_openai/x", fake.url)]
            )
            async with running(config) as url, httpx2.AsyncClient(base_url=url) as client:
                response = await client.post(path, json=body)
    assert response.status_code == 400
    assert fake.requests == []
    error = response.json()["error"]
    assert error["message"].startswith("Invalid request: model: expected a model name")
    if path == "/v1/chat/completions":
        assert error["param"] == "model"


async def test_gateway_unknown_path_is_an_openai_404() -> None:
    config = make_config([provider("openai/gpt-4o", "http://127.0.0.1:9")])
    with anyio.fail_after(10):
        async with running(config) as url, httpx2.AsyncClient(base_url=url) as client:
            response = await client.get("/v2/nothing")
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "message": "Not found.",
            "type": "invalid_request_error",
            "code": "not_found",
            "param": None,
        }
    }
