"""Plano's filter-chain demo configs, run against filters built with our SDK.

The demos (``demos/filter_chains/{http,mcp}_filter``) declare ``input_guards``,
``query_rewriter`` and ``context_builder`` on ports 10500-10502 and chain them before
``rag_agent``. We serve SDK-built filters on free ports, point the config at them, and run
the agent's chain the way the agent listener does.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from plano_asgi.config import PlanoConfig
from plano_asgi.errors import FilterRejectedError
from plano_asgi.filters.registry import FilterRegistry
from tests.filters.helpers import CALL, chat, context_builder, input_guards, query_rewriter
from tests.support.servers import serve

pytestmark = pytest.mark.anyio

CONFIGS = Path(__file__).resolve().parents[1] / "config" / "plano_configs"
SDK_FILTERS = {
    "input_guards": input_guards,
    "query_rewriter": query_rewriter,
    "context_builder": context_builder,
}


@pytest.mark.parametrize(
    "name", ["filter_chains__http_filter__config.yaml", "filter_chains__mcp_filter__config.yaml"]
)
async def test_demo_config_runs_rag_agent_chain(name: str) -> None:
    config = PlanoConfig.from_yaml(CONFIGS / name, allow_missing_env=True)
    listener = config.agent_listeners[0]
    (agent,) = [a for a in listener.agents if a.id == "rag_agent"]
    assert agent.input_filters == ("input_guards", "query_rewriter", "context_builder")

    with anyio.fail_after(30):
        async with (
            serve(_app(config, "input_guards"), lifespan="on") as guards,
            serve(_app(config, "query_rewriter"), lifespan="on") as rewriter,
            serve(_app(config, "context_builder"), lifespan="on") as builder,
        ):
            urls = {
                "input_guards": guards.url,
                "query_rewriter": rewriter.url,
                "context_builder": builder.url,
            }
            patched = config.model_copy(
                update={
                    "filters": tuple(
                        f.model_copy(update={"url": urls[f.id]}) for f in config.filters
                    )
                }
            )
            registry = FilterRegistry(patched)
            try:
                chain = registry.chain(agent.input_filters)
                result = await chain.run(chat("What is our refund policy?"), CALL)
                with pytest.raises(FilterRejectedError) as info:
                    await chain.run(chat("here is my password"), CALL)
            finally:
                await registry.aclose()

    messages = result["messages"]
    assert messages[0] == {"role": "system", "content": "context for /v1/chat/completions"}
    assert messages[-1] == {"role": "user", "content": "What is our refund policy? [rewritten]"}
    assert info.value.filter_id == "input_guards"
    assert info.value.status_code == 403


def _app(config: PlanoConfig, filter_id: str):  # type: ignore[no-untyped-def]
    flt = SDK_FILTERS[filter_id]
    return flt.http_app if config.filter(filter_id).type == "http" else flt.mcp_app
