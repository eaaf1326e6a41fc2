"""`serve` runs its listeners on uvloop's event loop when uvloop is installed."""

from __future__ import annotations

import asyncio
import sys

import pytest
import uvloop

from plano_asgi.serving import event_loop_factory, run_served


async def loop_kind() -> int:
    return 1 if isinstance(asyncio.get_running_loop(), uvloop.Loop) else 2


def test_serve_runs_on_uvloop_when_it_is_installed() -> None:
    assert run_served(loop_kind()) == 1


def test_serve_falls_back_to_asyncio_without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop now raises ImportError
    assert event_loop_factory() is None
    assert run_served(loop_kind()) == 2
