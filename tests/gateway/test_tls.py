"""Provider calls over real TLS: a fake OpenAI provider on uvicorn with a trustme CA.

With and without proxy variables in the environment (``NO_PROXY`` exempts loopback there,
so nothing is proxied and the gateway's client must still reach the provider directly).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import openai
import pytest
import trustme
import uvicorn
from starlette.types import Receive, Scope, Send

from plano_asgi.errors import ConfigError
from plano_asgi.gateway.app import ModelGateway
from tests.gateway.fakes import openai_chunk, openai_completion
from tests.gateway.helpers import make_config, openai_client, provider, running

pytestmark = pytest.mark.anyio

MESSAGES: Any = [{"role": "user", "content": "hi"}]


@dataclass
class TlsProvider:
    """An OpenAI-compatible ASGI app: records each request's Host and client port."""

    hosts: list[str] = field(default_factory=list)
    client_ports: list[int] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = dict(scope["headers"])
        self.hosts.append(headers[b"host"].decode())
        self.client_ports.append(scope["client"][1])
        body = json.loads(raw)
        self.bodies.append(body)
        if not body.get("stream"):
            data = openai_completion("secure hello")
            start = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 200, "headers": start})
            await send({"type": "http.response.body", "body": data})
            return
        start = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": start})
        chunks = [
            openai_chunk({"role": "assistant", "content": ""}),
            openai_chunk({"content": "secure "}),
            openai_chunk({"content": "stream"}),
            openai_chunk({}, "stop"),
            b"data: [DONE]\n\n",
        ]
        for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


@dataclass(frozen=True)
class Pki:
    ca_path: Path
    cert_path: Path
    key_path: Path


def make_pki(tmp: Path, *names: str) -> Pki:
    """A fresh CA and a server certificate for ``names``, as PEM files."""
    ca = trustme.CA()
    cert = ca.issue_cert(*names)
    pki = Pki(tmp / "ca.pem", tmp / "server.pem", tmp / "server.key")
    ca.cert_pem.write_to_path(str(pki.ca_path))
    for index, pem in enumerate(cert.cert_chain_pems):
        pem.write_to_path(str(pki.cert_path), append=index > 0)
    cert.private_key_pem.write_to_path(str(pki.key_path))
    return pki


@contextlib.asynccontextmanager
async def serve_tls(app: TlsProvider, pki: Pki) -> AsyncIterator[int]:
    """Run ``app`` under uvicorn over TLS on 127.0.0.1; yields the port."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        lifespan="off",
        log_level="critical",  # handshake failures are the point of some tests
        access_log=False,
        ssl_certfile=str(pki.cert_path),
        ssl_keyfile=str(pki.key_path),
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn exited before it started")
            await asyncio.sleep(0.005)
        yield int(server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=10)


@pytest.fixture
def clean_tls_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def proxy_env_exempting_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Proxy variables set, with loopback exempted by ``NO_PROXY``."""
    for name in ("HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")


def tls_config(port: int, ca: Path | None, **extra: Any) -> Any:
    entry = provider("openai/gpt-4o", f"https://127.0.0.1:{port}/v1", **extra)
    top = {"overrides": {"upstream_tls_ca_path": str(ca)}} if ca else {}
    return make_config([entry], **top)


async def ask(url: str, *, stream: bool) -> str:
    async with openai_client(url) as client:
        if not stream:
            reply = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
            return reply.choices[0].message.content or ""
        parts = []
        events = await client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True
        )
        async for chunk in events:
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
        return "".join(parts)


@pytest.mark.parametrize("env", ["plain", "no_proxy"])
async def test_tls_streaming_and_not_with_keep_alive_reuse(
    tmp_path: Path, clean_tls_env: None, env: str, request: pytest.FixtureRequest
) -> None:
    if env == "no_proxy":
        request.getfixturevalue("proxy_env_exempting_loopback")
    pki = make_pki(tmp_path, "127.0.0.1")
    fake = TlsProvider()
    with anyio.fail_after(20):
        async with serve_tls(fake, pki) as port:
            config = tls_config(port, pki.ca_path)
            async with running(config) as url:
                answers = [
                    await ask(url, stream=False),
                    await ask(url, stream=True),
                    await ask(url, stream=False),
                    await ask(url, stream=True),
                ]
    assert answers == ["secure hello", "secure stream", "secure hello", "secure stream"]
    assert [body.get("stream", False) for body in fake.bodies] == [False, True, False, True]
    assert fake.hosts == [f"127.0.0.1:{port}"] * 4
    # One TLS connection served all four calls, streamed ones included.
    assert len(set(fake.client_ports)) == 1, fake.client_ports


async def test_ssl_cert_file_is_trusted_without_the_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pki = make_pki(tmp_path, "127.0.0.1")
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_path))
    with anyio.fail_after(20):
        async with serve_tls(TlsProvider(), pki) as port, running(tls_config(port, None)) as url:
            assert await ask(url, stream=False) == "secure hello"


@pytest.mark.parametrize("trusted", [True, False])
async def test_a_certificate_that_fails_verification_is_a_clear_502(
    tmp_path: Path, clean_tls_env: None, trusted: bool
) -> None:
    # trusted: the CA is ours but the certificate names another host;
    # not trusted: the right host, but nobody told the gateway about the CA.
    pki = make_pki(tmp_path, "other.test" if trusted else "127.0.0.1")
    fake = TlsProvider()
    with anyio.fail_after(20):
        async with serve_tls(fake, pki) as port:
            config = tls_config(port, pki.ca_path if trusted else None)
            async with running(config) as url, openai_client(url) as client:
                with pytest.raises(openai.APIStatusError) as caught:
                    await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert caught.value.status_code == 502
    error = caught.value.body
    assert isinstance(error, dict)
    message = error["message"]
    assert message.startswith("Provider 'openai/gpt-4o' could not be reached securely")
    assert "TLS certificate verification failed" in message
    reason = "mismatch" if trusted else "unable to get local issuer certificate"
    assert reason in message.lower() or reason in message
    assert error["target"] == "openai/gpt-4o"
    assert fake.bodies == []  # nothing was sent over an unverified connection


@pytest.mark.parametrize("env", ["plain", "no_proxy"])
async def test_http_host_sets_host_header_and_sni(
    tmp_path: Path, clean_tls_env: None, env: str, request: pytest.FixtureRequest
) -> None:
    if env == "no_proxy":
        request.getfixturevalue("proxy_env_exempting_loopback")
    # The certificate names only provider.test: verification passes only if the gateway
    # sends (and checks) that name although it connects to 127.0.0.1.
    pki = make_pki(tmp_path, "provider.test")
    fake = TlsProvider()
    with anyio.fail_after(20):
        async with serve_tls(fake, pki) as port:
            config = tls_config(port, pki.ca_path, http_host="provider.test")
            async with running(config) as url:
                assert await ask(url, stream=True) == "secure stream"
                assert await ask(url, stream=False) == "secure hello"
    assert fake.hosts == ["provider.test", "provider.test"]


def test_unreadable_ca_bundle_fails_at_startup(tmp_path: Path) -> None:
    config = tls_config(443, tmp_path / "missing.pem")
    with pytest.raises(ConfigError) as caught:
        ModelGateway(None, config=config)
    assert "overrides.upstream_tls_ca_path" in str(caught.value)
    assert "missing.pem" in str(caught.value)
