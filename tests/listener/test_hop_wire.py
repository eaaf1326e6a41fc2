"""The listener's outbound hops on the wire (the agent hop and an HTTP filter), against a raw
TCP server on loopback that answers bytes we choose.

The same regressions as the provider call (``tests/gateway/test_provider_wire.py``), since all
three go through the one outbound seam (:mod:`plano_asgi.outbound`): proxy variables honoured,
a malformed ``content-length`` a 502 with the connection closed, and a connection the server
will close (HTTP/1.0, ``connection: close``) never reused.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import openai
import pytest

from plano_asgi.config import PlanoConfig
from tests.listener.agents import FakeAgent
from tests.listener.conftest import listener_config
from tests.listener.support import fakes, listener, user
from tests.support.raw_http import RawServer

pytestmark = pytest.mark.anyio

HOPS = ["agent", "filter"]
ANSWER = json.dumps(
    {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "wire ok"},
                "finish_reason": "stop",
            }
        ],
    }
).encode()
FILTERED = json.dumps({"model": "m", "messages": [user("filtered")]}).encode()


def reply(hop: str, status_line: bytes = b"HTTP/1.1 200 OK", *extra: bytes) -> bytes:
    """What the raw server sends: a completion as the agent, a rewritten request as filter."""
    body = ANSWER if hop == "agent" else FILTERED
    head = [status_line, b"content-type: application/json", *extra]
    if not any(line.lower().startswith(b"content-length") for line in extra):
        head.append(b"content-length: %d" % len(body))
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def expected(hop: str) -> str:
    return "wire ok" if hop == "agent" else "weather says: filtered"


@contextlib.asynccontextmanager
async def hop_config(hop: str, raw_url: str) -> AsyncIterator[PlanoConfig]:
    """A listener whose ``hop`` goes to ``raw_url``; with ``filter``, a real agent behind it."""
    if hop == "agent":
        yield listener_config({"weather": raw_url})
        return
    async with fakes(weather=FakeAgent("weather")) as url:
        yield listener_config(
            {"weather": url["weather"]},
            filters=[{"id": "guard", "url": raw_url, "type": "http"}],
            agent_filters={"weather": ["guard"]},
        )


async def ask(url: str) -> str | None:
    async with openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="k", max_retries=0) as api:
        answer = await api.chat.completions.create(model="m", messages=[user("hi")])
    return answer.choices[0].message.content


@pytest.fixture
def proxy_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """HTTP_PROXY at a loopback port; calls to 127.0.0.1 stay direct through NO_PROXY."""

    def point(port: int) -> None:
        for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{port}")
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.setenv(name, "127.0.0.1,localhost")
        for name in ("ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)

    return point


@pytest.mark.parametrize("hop", HOPS)
async def test_http_proxy_from_the_environment_carries_the_hop(
    hop: str, proxy_env: Callable[[int], None]
) -> None:
    proxy = RawServer(lambda n: reply(hop))
    with anyio.fail_after(20):
        async with proxy.serving():
            proxy_env(proxy.port)
            async with hop_config(hop, f"http://{hop}.test/hop") as config:
                async with listener(config) as srv:
                    assert await ask(srv.url) == expected(hop)
    assert len(proxy.requests) == 1
    request = proxy.requests[0][1]
    assert request.startswith(
        f"POST http://{hop}.test/hop/v1/chat/completions HTTP/1.1\r\n".encode()
    )
    assert f"\r\nhost: {hop}.test\r\n".encode() in request.lower()


@pytest.mark.parametrize("hop", HOPS)
async def test_a_bad_content_length_is_a_502_naming_the_hop_and_the_connection_closes(
    hop: str,
) -> None:
    server = RawServer(lambda n: reply(hop, b"HTTP/1.1 200 OK", b"content-length: abc"))
    with anyio.fail_after(20):
        async with server.serving(), hop_config(hop, f"http://127.0.0.1:{server.port}") as config:
            async with listener(config) as srv:
                with pytest.raises(openai.APIStatusError) as caught:
                    await ask(srv.url)
                with anyio.fail_after(5):
                    await server.none_open.wait()
    assert caught.value.status_code == 502
    body: Any = caught.value.body
    assert body["hop"] == hop
    assert body["target"] == ("weather" if hop == "agent" else "guard")
    assert "a malformed or broken reply" in body["message"]
    assert server.connections == len(server.requests) == 1


@pytest.mark.parametrize("hop", HOPS)
@pytest.mark.parametrize(
    ("status_line", "extra"),
    [(b"HTTP/1.0 200 OK", ()), (b"HTTP/1.1 200 OK", (b"connection: close",))],
    ids=["http-1.0", "connection-close"],
)
async def test_a_connection_the_server_will_close_is_not_reused(
    hop: str, status_line: bytes, extra: tuple[bytes, ...]
) -> None:
    # The server keeps the connection open after answering; a client that reused it would
    # send the next POST there. Each POST must go once, on a new connection.
    server = RawServer(lambda n: reply(hop, status_line, *extra))
    with anyio.fail_after(20):
        async with server.serving(), hop_config(hop, f"http://127.0.0.1:{server.port}") as config:
            async with listener(config) as srv:
                assert await ask(srv.url) == expected(hop)
                assert await ask(srv.url) == expected(hop)
    assert [number for number, _ in server.requests] == [0, 1]
    assert server.connections == 2


@pytest.mark.parametrize("hop", HOPS)
async def test_keep_alive_reuses_one_connection(hop: str) -> None:
    server = RawServer(lambda n: reply(hop))
    with anyio.fail_after(20):
        async with server.serving(), hop_config(hop, f"http://127.0.0.1:{server.port}") as config:
            async with listener(config) as srv:
                for _ in range(3):
                    assert await ask(srv.url) == expected(hop)
    assert [number for number, _ in server.requests] == [0, 0, 0]
