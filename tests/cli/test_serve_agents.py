"""In-process agents (``agents[].app``) under ``plano-asgi serve`` and ``validate``, for real.

Each test writes an agent module next to a config in a temporary folder and runs the
command as a subprocess from *another* folder, so the import can only succeed through the
config's folder. The agent calls the model gateway through ``ctx.llm``; the gateway's
provider is a :class:`ScriptedLLM` on loopback, so an answer that arrives proves the agent
found the gateway where ``serve`` put it (``--port-offset`` included).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx2
import pytest
from anyio.abc import Process

from plano_agent_sdk.testing import ScriptedLLM
from tests.support.servers import bindable, free_port, serve

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

RUN_LIMIT = 60.0  # seconds: a cold start imports everything and loads the router

AGENT_MODULE = """\
from plano_agent_sdk import Agent, AgentRequest, Context

agent = Agent("relay", description="passes every question to the model")


@agent.handler
async def handle(request: AgentRequest, ctx: Context) -> str:
    reply = await ctx.llm.chat.completions.create(
        model="openai/scripted-model", messages=request.llm_messages()
    )
    return "relayed: " + (reply.choices[0].message.content or "")
"""


def config_text(agent_port: int, model_port: int, provider_url: str, app: str) -> str:
    return f"""\
version: v0.3.0
agents:
  - id: relay
    app: {app}
model_providers:
  - model: openai/scripted-model
    base_url: {provider_url}
    access_key: sk-test
    default: true
listeners:
  - type: agent
    name: front
    port: {agent_port}
    router: local_v1
    agents:
      - id: relay
        description: answers everything
        default: true
  - type: model
    name: gateway
    port: {model_port}
"""


def clean_env() -> dict[str, str]:
    """The environment without anything that tells agents or serve where things are."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("LLM_GATEWAY_ENDPOINT", "PYTHONPATH")
        and not key.startswith(("PLANO_", "OTEL_"))
    }
    env["OTEL_SDK_DISABLED"] = "true"
    return env


def free_offset_pair() -> tuple[int, int, int]:
    """Config ports (agent, model) and an offset: the shifted ports are free, and nothing
    listens on the unshifted model port (an agent calling it would fail)."""
    for _ in range(50):
        agent_port, model_port = free_port(), free_port()
        offset = 137
        if all(0 < port - offset and bindable(port - offset) for port in (agent_port, model_port)):
            return agent_port - offset, model_port - offset, offset
    raise AssertionError("no free ports found")


def write_project(tmp_path: Path, text: str, module: str = AGENT_MODULE) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "relay_agent.py").write_text(module, encoding="utf-8")
    path = project / "plano_config.yaml"
    path.write_text(text, encoding="utf-8")
    (tmp_path / "elsewhere").mkdir()
    return path


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "plano_asgi", *args]


@contextlib.asynccontextmanager
async def running(path: Path, tmp_path: Path, *args: str) -> AsyncIterator[Process]:
    process = await anyio.open_process(
        command("serve", str(path), "--host", "127.0.0.1", *args),
        cwd=tmp_path / "elsewhere",
        env=clean_env(),
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            with anyio.move_on_after(15):
                await process.wait()
        if process.returncode is None:
            process.kill()
            await process.wait()
        await process.aclose()


async def wait_healthy(client: httpx2.AsyncClient, process: Process, url: str) -> None:
    while True:
        assert process.returncode is None, "serve exited before it was healthy"
        with contextlib.suppress(httpx2.TransportError):
            if (await client.get(f"{url}/healthz")).status_code == 200:
                return
        await anyio.sleep(0.05)


async def test_serve_imports_the_agent_next_to_the_config_and_shifts_its_gateway(
    tmp_path: Path,
) -> None:
    agent_port, model_port, offset = free_offset_pair()
    llm = ScriptedLLM(["sunny"])
    async with serve(llm) as provider:
        path = write_project(
            tmp_path,
            config_text(agent_port, model_port, f"{provider.url}/v1", "relay_agent:agent"),
        )
        with anyio.fail_after(RUN_LIMIT):
            async with (
                running(path, tmp_path, "--port-offset", str(offset)) as process,
                httpx2.AsyncClient(timeout=30, trust_env=False) as client,
            ):
                listener = f"http://127.0.0.1:{agent_port + offset}"
                await wait_healthy(client, process, listener)
                await wait_healthy(client, process, f"http://127.0.0.1:{model_port + offset}")
                response = await client.post(
                    f"{listener}/v1/chat/completions",
                    json={"messages": [{"role": "user", "content": "weather?"}]},
                )
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "relayed: sunny"
    llm.verify()


async def test_serve_chat_with_a_port_offset_reaches_the_shifted_gateway(tmp_path: Path) -> None:
    agent_port, model_port, offset = free_offset_pair()
    llm = ScriptedLLM(["sunny"])
    async with serve(llm) as provider:
        path = write_project(
            tmp_path,
            config_text(agent_port, model_port, f"{provider.url}/v1", "relay_agent:agent"),
        )
        argv = command("serve", str(path), "--chat", "--port-offset", str(offset))
        argv += ["--log-file", str(tmp_path / "serve.log")]
        with anyio.fail_after(RUN_LIMIT):
            done = await anyio.run_process(
                argv,
                input=b"weather?\n",
                cwd=tmp_path / "elsewhere",
                env=clean_env(),
                check=False,
                stderr=subprocess.PIPE,
            )
    assert done.returncode == 0, done.stderr.decode()
    assert "relayed: sunny" in done.stdout.decode()
    llm.verify()


async def test_serve_reports_an_agent_it_cannot_import(tmp_path: Path) -> None:
    path = write_project(
        tmp_path, config_text(free_port(), free_port(), "http://127.0.0.1:9/v1", "missing:agent")
    )
    with anyio.fail_after(RUN_LIMIT):
        done = await anyio.run_process(
            command("serve", str(path)),
            cwd=tmp_path / "elsewhere",
            env=clean_env(),
            check=False,
            stderr=subprocess.PIPE,
        )
    assert done.returncode == 2
    err = done.stderr.decode()
    assert "agents.relay.app: cannot import 'missing:agent': ModuleNotFoundError" in err
    assert "Traceback" not in err


BROKEN = "raise RuntimeError('the agent module failed to import')\n"


@pytest.mark.parametrize(
    ("app", "module", "expected"),
    [
        pytest.param("relay_agent:agent", AGENT_MODULE, None, id="imports-next-to-the-config"),
        pytest.param(
            "relay_agent:agent",
            BROKEN,
            "agents.relay.app: cannot import 'relay_agent:agent': RuntimeError: "
            "the agent module failed to import",
            id="module-raises",
        ),
        pytest.param(
            "relay_agent:nothing",
            AGENT_MODULE,
            "agents.relay.app: cannot import 'relay_agent:nothing': AttributeError:",
            id="missing-attribute",
        ),
        pytest.param(
            "not_there:agent",
            AGENT_MODULE,
            "agents.relay.app: cannot import 'not_there:agent': ModuleNotFoundError: "
            "No module named 'not_there'",
            id="missing-module",
        ),
    ],
)
async def test_validate_imports_every_agent_app(
    tmp_path: Path, app: str, module: str, expected: str | None
) -> None:
    text = config_text(8001, 12000, "http://127.0.0.1:9/v1", app)
    path = write_project(tmp_path, text, module)
    with anyio.fail_after(RUN_LIMIT):
        done = await anyio.run_process(
            command("validate", str(path)),
            cwd=tmp_path / "elsewhere",
            env=clean_env(),
            check=False,
            stderr=subprocess.PIPE,
        )
    out, err = done.stdout.decode(), done.stderr.decode()
    if expected is None:
        assert done.returncode == 0, err
        assert f"{path}: valid (version v0.3.0)" in out
    else:
        assert done.returncode == 2
        assert out == ""
        assert f"{path}: 1 problem in the configuration:" in err
        assert f"  - {expected}" in err
        assert "Traceback" not in err


async def test_validate_finds_agents_on_pythonpath(tmp_path: Path) -> None:
    text = config_text(8001, 12000, "http://127.0.0.1:9/v1", "elsewhere_agent:agent")
    path = write_project(tmp_path, text)
    library = tmp_path / "library"
    library.mkdir()
    (library / "elsewhere_agent.py").write_text(AGENT_MODULE, encoding="utf-8")
    env = clean_env() | {"PYTHONPATH": str(library)}
    with anyio.fail_after(RUN_LIMIT):
        done = await anyio.run_process(
            command("validate", str(path)),
            cwd=tmp_path / "elsewhere",
            env=env,
            check=False,
            stderr=subprocess.PIPE,
        )
    assert done.returncode == 0, done.stderr.decode()
