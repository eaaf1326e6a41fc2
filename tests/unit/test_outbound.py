"""The httpx2 clients plano_asgi.outbound builds: the test seam, cookies, redirects, proxies."""

from __future__ import annotations

import asyncio

import httpx2
import pytest

from plano_asgi.outbound import outbound_client

pytestmark = pytest.mark.anyio


async def test_a_transport_replaces_the_network_and_cookies_are_never_kept() -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, headers={"set-cookie": "session=abc; Path=/"}, text="ok")

    async with outbound_client(transport=httpx2.MockTransport(handler)) as client:
        first = await client.get("http://agent.test/a")
        second = await client.get("http://agent.test/b")
    assert (first.text, second.text) == ("ok", "ok")
    assert [str(r.url) for r in seen] == ["http://agent.test/a", "http://agent.test/b"]
    assert "cookie" not in seen[1].headers
    assert dict(client.cookies) == {}


async def test_redirects_are_not_followed() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(307, headers={"location": "http://elsewhere.test/"})

    async with outbound_client(transport=httpx2.MockTransport(handler)) as client:
        response = await client.post("http://agent.test/", content=b"{}")
    assert response.status_code == 307


async def test_proxy_variables_route_the_call_through_the_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lines: list[bytes] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines.append(head.split(b"\r\n", 1)[0])
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\nproxied")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(proxy, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{port}")
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    async with server, outbound_client() as client:
        response = await client.get("http://agent.test/v1/models")
    assert response.text == "proxied"
    assert lines == [b"GET http://agent.test/v1/models HTTP/1.1"]
