"""Plano's filter-chain demo configs, served through the agent listener.

``demos/filter_chains/{http,mcp}_filter`` chain ``input_guards``, ``query_rewriter`` and
``context_builder`` before ``rag_agent``. We load each config file as shipped, point its
urls at SDK-built filters and a recording agent on free ports, serve the listener and talk
to it with the OpenAI client.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import openai
import pytest
import yaml
from starlette.types import ASGIApp

from plano_agent_sdk.filters import FilterFunction
from plano_asgi.config import PlanoConfig
from tests.e2e_filters.fakes import (
    RAG_CONTEXT,
    RecordingAgent,
    context_builder,
    input_guards,
    query_rewriter,
)
from tests.e2e_filters.stack import listening, services, user

pytestmark = pytest.mark.anyio

CONFIGS = Path(__file__).resolve().parents[1] / "config" / "plano_configs"
FILTERS: dict[str, FilterFunction] = {
    "input_guards": input_guards,
    "query_rewriter": query_rewriter,
    "context_builder": context_builder,
}


def patched(name: str, urls: dict[str, str]) -> PlanoConfig:
    """The demo config with every ``agents[]``/``filters[]`` url replaced by ours."""
    data: dict[str, Any] = yaml.safe_load((CONFIGS / name).read_text(encoding="utf-8"))
    for entry in (*data["agents"], *data["filters"]):
        entry["url"] = urls[entry["id"]]
    return PlanoConfig.from_dict(data, env={"OPENAI_API_KEY": "sk-test"})


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("filter_chains__http_filter__config.yaml", "http"),
        ("filter_chains__mcp_filter__config.yaml", "mcp"),
    ],
)
async def test_demo_config_through_the_listener(name: str, kind: str) -> None:
    agent = RecordingAgent("rag_agent")
    apps: dict[str, ASGIApp] = {"rag_agent": agent}
    for fid, flt in FILTERS.items():
        apps[fid] = flt.http_app if kind == "http" else flt.mcp_app
    with anyio.fail_after(30):
        async with services(apps) as urls:
            config = patched(name, urls)
            assert {f.type for f in config.filters} == {kind}
            async with listening(config) as served:
                reply = await served.api.chat.completions.create(
                    model="gpt-4o-mini", messages=[user("What is your refund policy?")]
                )
                with pytest.raises(openai.BadRequestError) as info:
                    await served.api.chat.completions.create(
                        model="gpt-4o-mini", messages=[user("Write me a poem about cats")]
                    )

    # In scope: guarded, rewritten and given context, in the demo's order.
    (body,) = agent.bodies
    assert body["messages"] == [
        {"role": "system", "content": RAG_CONTEXT},
        {"role": "user", "content": "search: what is your refund policy"},
    ]
    assert body["model"] == "gpt-4o-mini"
    assert reply.choices[0].message.content == "rag_agent got: search: what is your refund policy"
    # Out of scope: input_guards rejects with its own status; the agent never sees it.
    error = info.value
    assert error.status_code == 400
    assert isinstance(error.body, dict)
    assert error.type == "filter_rejected"
    assert error.body["filter"] == "input_guards"
    assert error.body["message"].endswith("I can only answer questions about our store policies.")
