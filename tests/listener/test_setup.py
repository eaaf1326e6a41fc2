"""The listener's configuration resolved once, by ListenerSetup.from_config."""

from __future__ import annotations

import httpx2
import pytest
from starlette.types import Receive, Scope, Send

from plano_asgi.errors import ConfigError
from plano_asgi.listener.setup import ListenerSetup
from plano_asgi.middleware import PlanoMiddleware
from tests.listener.conftest import ScriptedRouter, listener_config

pytestmark = pytest.mark.anyio


async def test_from_config_resolves_once_and_the_constructor_serves_a_resolved_setup() -> None:
    config = listener_config({"weather": "http://127.0.0.1:9"})
    router = ScriptedRouter(("weather",), name="local_v1")  # no fallback to load
    setup = ListenerSetup.from_config(config, router=router)
    middleware = PlanoMiddleware(setup=setup)
    assert middleware.runtime is setup.runtime
    assert middleware.listener is setup.listener
    assert list(setup.runtime.targets) == ["weather"]
    assert setup.runtime.targets["weather"].url == "http://127.0.0.1:9"
    client = setup.runtime.client
    await middleware.aclose()
    assert client.is_closed  # the setup made it, so closing the middleware closed it
    built = PlanoMiddleware.from_config(config, router=router)
    assert built.setup is not setup
    await built.aclose()
    with pytest.raises(TypeError, match="config= or setup="):
        PlanoMiddleware(config=config, setup=setup)
    with pytest.raises(TypeError, match="needs config="):
        PlanoMiddleware()
    with pytest.raises(TypeError, match=r"options \(router\) go with config=, not setup="):
        PlanoMiddleware(setup=setup, router=router)


async def test_a_setup_leaves_your_client_open() -> None:
    config = listener_config({"weather": "http://127.0.0.1:9"})
    async with httpx2.AsyncClient() as yours:
        async with PlanoMiddleware.from_config(
            config, client=yours, router=ScriptedRouter(name="local_v1")
        ):
            pass
        assert not yours.is_closed


async def _nobody(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("never called")


def test_an_agent_the_listener_does_not_have_is_a_config_error() -> None:
    config = listener_config({"weather": "http://127.0.0.1:9"})
    with pytest.raises(ConfigError) as caught:
        ListenerSetup.from_config(
            config, agents={"nobody": _nobody}, router=ScriptedRouter(name="local_v1")
        )
    assert [issue.path for issue in caught.value.issues] == ["agents="]
