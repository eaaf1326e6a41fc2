"""Fixtures of the fuzz suite: the apps, built once per module on a blocking portal."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal

from tests.fuzz.apps import Apps, running_apps
from tests.support.servers import serve


@pytest.fixture(scope="module")
def portal() -> Iterator[BlockingPortal]:
    with start_blocking_portal(backend="asyncio") as portal:
        yield portal


@pytest.fixture(scope="module")
def apps(portal: BlockingPortal) -> Iterator[Apps]:
    with portal.wrap_async_context_manager(running_apps()) as apps:
        yield apps


@pytest.fixture(scope="module")
def served(portal: BlockingPortal, apps: Apps) -> Iterator[dict[str, str]]:
    """The same gateway and listener on real uvicorn servers on 127.0.0.1: name -> URL."""
    with (
        portal.wrap_async_context_manager(serve(apps.gateway)) as gateway,
        portal.wrap_async_context_manager(serve(apps.listener)) as listener,
    ):
        yield {"gateway": gateway.url, "listener": listener.url}
