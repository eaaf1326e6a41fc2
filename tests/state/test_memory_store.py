"""The in-process store: bounded by count (least recently used first) and by age."""

from __future__ import annotations

import pytest

from plano_asgi.config import PlanoConfig
from plano_asgi.errors import PreviousResponseNotFoundError
from plano_asgi.state import StoredResponse, expand_input, store_from_config
from plano_asgi.state.memory import DEFAULT_MAX_ENTRIES, DEFAULT_TTL, MemoryStore

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def turn(response_id: str, text: str = "hi") -> StoredResponse:
    return StoredResponse(
        id=response_id,
        input_items=({"type": "message", "role": "user", "content": text},),
        output_items=({"type": "message", "role": "assistant", "content": f"re: {text}"},),
        model="fake-model",
    )


async def test_a_stored_response_comes_back_equal_and_detached() -> None:
    store = MemoryStore()
    original = turn("resp_1", "where to?")
    await store.put(original)
    got = await store.get("resp_1")
    assert got == original
    assert got is not None
    got.input_items[0]["content"] = "changed by the caller"
    again = await store.get("resp_1")
    assert again is not None
    assert again.input_items[0]["content"] == "where to?"
    assert await store.get("resp_unknown") is None


async def test_past_max_entries_the_least_recently_used_goes() -> None:
    store = MemoryStore(max_entries=3)
    for name in ("a", "b", "c"):
        await store.put(turn(name))
    assert await store.get("a") is not None  # a is now the most recently used
    await store.put(turn("d"))
    assert len(store) == 3
    assert await store.get("b") is None
    assert [await store.get(n) is not None for n in ("a", "c", "d")] == [True, True, True]


async def test_a_response_expires_ttl_seconds_after_it_was_stored() -> None:
    clock = Clock()
    store = MemoryStore(ttl=60.0, clock=clock)
    await store.put(turn("old"))
    clock.now += 59.0
    assert await store.get("old") is not None
    await store.put(turn("new"))
    clock.now += 1.0  # "old" is 60 s old now, "new" 1 s
    assert await store.get("old") is None
    assert len(store) == 1
    assert await store.get("new") is not None


async def test_expired_entries_go_when_a_new_one_is_stored() -> None:
    clock = Clock()
    store = MemoryStore(ttl=10.0, clock=clock)
    await store.put(turn("a"))
    await store.put(turn("b"))
    clock.now += 11.0
    await store.put(turn("c"))
    assert len(store) == 1


def test_bounds_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        MemoryStore(max_entries=0)
    with pytest.raises(ValueError, match="ttl"):
        MemoryStore(ttl=0)


def config(storage: dict[str, object]) -> PlanoConfig:
    return PlanoConfig.from_dict(
        {
            "version": "v0.4.0",
            "listeners": [{"type": "model", "name": "llm", "port": 12000}],
            "model_providers": [{"model": "openai/gpt-4o", "access_key": "sk-x"}],
            "state_storage": storage,
        }
    )


def test_the_config_sets_the_bounds_and_the_defaults_are_stated() -> None:
    default = store_from_config(config({"type": "memory"}).state_storage)  # type: ignore[arg-type]
    assert isinstance(default, MemoryStore)
    assert (default.max_entries, default.ttl) == (DEFAULT_MAX_ENTRIES, DEFAULT_TTL)
    assert (DEFAULT_MAX_ENTRIES, DEFAULT_TTL) == (10_000, 86_400.0)
    storage = config({"type": "memory", "max_entries": 50, "ttl": "30m"}).state_storage
    assert storage is not None
    custom = store_from_config(storage)
    assert isinstance(custom, MemoryStore)
    assert (custom.max_entries, custom.ttl) == (50, 1800.0)


async def test_expand_input_puts_the_stored_conversation_first() -> None:
    store = MemoryStore()
    await store.put(turn("resp_1", "first"))
    new = [{"type": "message", "role": "user", "content": "second"}]
    assert await expand_input(store, None, new) == new
    expanded = await expand_input(store, "resp_1", new)
    assert [item["content"] for item in expanded] == ["first", "re: first", "second"]
    with pytest.raises(PreviousResponseNotFoundError) as caught:
        await expand_input(store, "resp_nope", new)
    assert caught.value.status_code == 400
    assert caught.value.to_dict()["error"]["param"] == "previous_response_id"
    assert caught.value.to_dict()["error"]["code"] == "previous_response_not_found"
