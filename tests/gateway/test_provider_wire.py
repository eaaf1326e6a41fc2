"""The provider call on the wire, against a raw TCP server on loopback that answers bytes we choose.

Regression tests for the faults of the hand-written HTTP/1.1 client the gateway had before
(``plano_asgi/gateway/http1.py``): proxy variables ignored, a socket leaked on a malformed
``content-length``, HTTP/1.0 connections reused (a POST could be sent twice), and CR/LF in a
header value written to the wire.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio
import httpx2
import openai
import pytest

from tests.gateway.fakes import openai_completion
from tests.gateway.helpers import make_config, openai_client, provider, running
from tests.support.raw_http import RawServer

pytestmark = pytest.mark.anyio

MESSAGES: list[Any] = [{"role": "user", "content": "hi"}]
ANSWER = openai_completion("wire ok", model="gpt-4o")


def reply(status_line: bytes = b"HTTP/1.1 200 OK", *extra: bytes, body: bytes = ANSWER) -> bytes:
    head = [status_line, b"content-type: application/json", *extra]
    if not any(line.lower().startswith(b"content-length") for line in extra):
        head.append(b"content-length: %d" % len(body))
    return b"\r\n".join(head) + b"\r\n\r\n" + body


async def ask(url: str) -> str | None:
    async with openai_client(url) as client:
        answer = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    return answer.choices[0].message.content


async def ask_error(url: str) -> tuple[int, dict[str, Any]]:
    with pytest.raises(openai.APIStatusError) as caught:
        await ask(url)
    assert isinstance(caught.value.body, dict)
    return caught.value.status_code, caught.value.body


@pytest.fixture
def proxy_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Point HTTP_PROXY and HTTPS_PROXY at a loopback port; the test client's own calls to
    the gateway on 127.0.0.1 stay direct through NO_PROXY."""

    def point(port: int) -> None:
        for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{port}")
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.setenv(name, "127.0.0.1,localhost")
        for name in ("ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)

    return point


async def test_http_proxy_from_the_environment_carries_the_provider_call(
    proxy_env: Callable[[int], None],
) -> None:
    proxy = RawServer(lambda n: reply())
    with anyio.fail_after(20):
        async with proxy.serving():
            proxy_env(proxy.port)
            config = make_config([provider("openai/gpt-4o", "http://provider.test/v1")])
            async with running(config) as url:
                assert await ask(url) == "wire ok"
    assert len(proxy.requests) == 1
    request = proxy.requests[0][1]
    assert request.startswith(b"POST http://provider.test/v1/chat/completions HTTP/1.1\r\n")
    assert b"\r\nhost: provider.test\r\n" in request.lower()
    assert json.loads(proxy.bodies()[0])["model"] == "gpt-4o"


async def test_https_proxy_from_the_environment_gets_a_connect(
    proxy_env: Callable[[int], None],
) -> None:
    # The proxy refuses the tunnel: the gateway must have asked it (CONNECT), not the host.
    proxy = RawServer(lambda n: b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
    with anyio.fail_after(20):
        async with proxy.serving():
            proxy_env(proxy.port)
            config = make_config([provider("openai/gpt-4o", "https://provider.test/v1")])
            async with running(config) as url:
                status, error = await ask_error(url)
    assert proxy.requests, "the provider call did not go to the proxy"
    assert proxy.requests[0][1].startswith(b"CONNECT provider.test:443 HTTP/1.1\r\n")
    assert status == 502
    assert error["target"] == "openai/gpt-4o"
    assert "Provider 'openai/gpt-4o' could not be reached" in error["message"]


async def test_a_bad_content_length_is_a_502_and_the_connection_is_closed() -> None:
    server = RawServer(lambda n: reply(b"HTTP/1.1 200 OK", b"content-length: abc"))
    with anyio.fail_after(20):
        async with server.serving():
            config = make_config([provider("openai/gpt-4o", f"http://127.0.0.1:{server.port}/v1")])
            async with running(config) as url:
                status, error = await ask_error(url)
                # While the gateway still runs: none of its connections is left open.
                with anyio.fail_after(5):
                    await server.none_open.wait()
    assert status == 502
    assert error["target"] == "openai/gpt-4o"
    assert error["message"] == (
        "Provider 'openai/gpt-4o' could not be reached: a malformed or broken reply."
    )
    assert server.connections == len(server.requests) >= 1  # one connection per attempt


@pytest.mark.parametrize(
    "answer",
    [reply(b"HTTP/1.0 200 OK"), reply(b"HTTP/1.1 200 OK", b"connection: close")],
    ids=["http-1.0", "connection-close"],
)
async def test_a_connection_the_server_will_close_is_not_reused(answer: bytes) -> None:
    # The server keeps the connection open after answering, so a client that reused it
    # would send the next POST there; each POST must go once, on a new connection.
    server = RawServer(lambda n: answer)
    with anyio.fail_after(20):
        async with server.serving():
            config = make_config([provider("openai/gpt-4o", f"http://127.0.0.1:{server.port}/v1")])
            async with running(config) as url:
                assert await ask(url) == "wire ok"
                assert await ask(url) == "wire ok"
    assert [number for number, _ in server.requests] == [0, 1]
    assert server.connections == 2


async def test_keep_alive_reuses_one_connection() -> None:
    server = RawServer(lambda n: reply())
    with anyio.fail_after(20):
        async with server.serving():
            config = make_config([provider("openai/gpt-4o", f"http://127.0.0.1:{server.port}/v1")])
            async with running(config) as url:
                for _ in range(3):
                    assert await ask(url) == "wire ok"
    assert [number for number, _ in server.requests] == [0, 0, 0]


@pytest.mark.parametrize("own_client", [False, True], ids=["gateway-client", "injected-client"])
async def test_a_line_break_in_a_header_value_is_never_sent(own_client: bool) -> None:
    server = RawServer(lambda n: reply())
    key = "sk-good\r\nx-injected: yes"
    with anyio.fail_after(20):
        async with server.serving(), httpx2.AsyncClient() as client:
            entry = provider("openai/gpt-4o", f"http://127.0.0.1:{server.port}/v1", access_key=key)
            options: dict[str, Any] = {"client": client} if own_client else {}
            async with running(make_config([entry]), **options) as url:
                status, error = await ask_error(url)
    assert server.requests == []  # nothing reached the provider, injected or not
    assert status == 502
    assert error["target"] == "openai/gpt-4o"
    assert error["message"].startswith("Provider 'openai/gpt-4o' was not called: a request header")
    assert "sk-good" not in json.dumps(error)
