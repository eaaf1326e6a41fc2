"""The outbound seam's aiohttp client against a raw loopback server: what it refuses, keeps
and maps (no cookies, no redirects, CR/LF refused, unreachable hosts, one error vocabulary)."""

from __future__ import annotations

import gzip
import socket

import anyio
import httpx2
import pytest

from plano_asgi.errors import OutboundConnectError, OutboundProtocolError, OutboundRequestError
from plano_asgi.outbound import AiohttpClient, HttpClient, HttpxClient, Phases
from tests.support.raw_http import RawServer

pytestmark = pytest.mark.anyio


def answer(*head: bytes, body: bytes = b"ok") -> bytes:
    lines = [b"HTTP/1.1 200 OK", *head, b"content-length: %d" % len(body)]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


async def test_status_headers_and_body_chunks_come_back_and_cookies_are_not_kept() -> None:
    server = RawServer(lambda n: answer(b"set-cookie: session=abc; Path=/", b"x-n: %d" % n))
    client = AiohttpClient(trust_env=False)
    url = ""
    with anyio.fail_after(10):
        async with server.serving():
            url = f"http://127.0.0.1:{server.port}/p"
            for _ in range(2):
                async with client.open("POST", url, headers={"a": "b"}, body=b"{}") as reply:
                    assert reply.status == 200
                    body = b"".join([c async for c in reply.chunks()])
                    assert body == b"ok"
            await client.aclose()
    assert ("x-n", "2") in reply.headers
    assert b"cookie:" not in server.requests[1][1].lower()
    assert [n for n, _ in server.requests] == [0, 0]


async def test_a_redirect_is_returned_not_followed() -> None:
    server = RawServer(lambda n: answer(b"location: http://elsewhere.test/", body=b""))
    server_answer = server.answer
    server.answer = lambda n: server_answer(n).replace(b"200 OK", b"307 Temporary Redirect", 1)
    client = AiohttpClient(trust_env=False)
    with anyio.fail_after(10):
        async with server.serving():
            url = f"http://127.0.0.1:{server.port}/"
            async with client.open("POST", url, headers={}) as reply:
                status = reply.status
            await client.aclose()
    assert status == 307
    assert len(server.requests) == 1


async def test_a_line_break_in_a_header_value_is_refused_before_sending() -> None:
    server = RawServer(lambda n: answer())
    client = AiohttpClient(trust_env=False)
    with anyio.fail_after(10):
        async with server.serving():
            url = f"http://127.0.0.1:{server.port}/"
            with pytest.raises(OutboundRequestError):
                async with client.open("POST", url, headers={"x": "a\r\nx-injected: yes"}):
                    pass
            await client.aclose()
    assert server.requests == []


async def test_a_bad_content_length_is_a_protocol_error() -> None:
    server = RawServer(lambda n: b"HTTP/1.1 200 OK\r\ncontent-length: abc\r\n\r\nok")
    client = AiohttpClient(trust_env=False)
    with anyio.fail_after(10):
        async with server.serving():
            url = f"http://127.0.0.1:{server.port}/"
            with pytest.raises(OutboundProtocolError) as caught:
                async with client.open("POST", url, headers={}):
                    pass
            await client.aclose()
    assert caught.value.what == "a malformed or broken reply"


async def test_nothing_listening_is_a_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = AiohttpClient(trust_env=False)
    with pytest.raises(OutboundConnectError):
        async with client.open("POST", f"http://127.0.0.1:{port}/", headers={}, phases=Phases()):
            pass
    await client.aclose()


@pytest.mark.parametrize("library", ["aiohttp", "httpx2"])
async def test_decoding_is_chosen_per_call_on_one_client(library: str) -> None:
    plain = b'{"ok": true}' * 50
    packed = gzip.compress(plain)
    server = RawServer(lambda n: answer(b"content-encoding: gzip", body=packed))
    borrowed = httpx2.AsyncClient(trust_env=False)
    client: HttpClient = (
        AiohttpClient(trust_env=False) if library == "aiohttp" else HttpxClient(borrowed)
    )
    bodies: list[bytes] = []
    with anyio.fail_after(10):
        async with server.serving():
            url = f"http://127.0.0.1:{server.port}/"
            for decode in (True, False, True):
                async with client.open("POST", url, headers={}, decode=decode) as reply:
                    bodies.append(b"".join([c async for c in reply.chunks()]))
            await client.aclose()
    await borrowed.aclose()
    assert bodies == [plain, packed, plain]
    assert client.is_closed
