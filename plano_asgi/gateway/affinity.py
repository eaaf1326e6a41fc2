"""Session affinity for preference routing: a conversation keeps the category it was routed to.

A *session* is named by the client's ``X-Model-Affinity`` header (up to 128 visible ASCII
characters). Without one, when ``prompt_caching.enabled`` with ``session_affinity`` or
``routing.route_on_user_only`` is configured, an implicit id is derived as Plano derives
it: ``implicit:`` and a 64-bit FNV-1a hash over the system/developer text, the tool names
and the first user message, so it stays the same as the conversation grows
(``x-plano-cache: off`` turns the implicit id off). The value of the header named by
``routing.session_cache.tenant_header`` scopes sessions per tenant.

What a session changes (:meth:`Sessions.apply`; every answer says ``pinned``/``switched``
on ``/routing/v1/*``):

* a turn no category fits keeps the session's category instead of falling back to the
  requested model (*ours*: a follow-up such as "make it shorter" stays with the model
  that wrote the code; Plano takes the fallback), ``pinned: true``;
* a turn that fits the session's category stays, ``pinned: true``; one that fits another
  category moves the session there, ``switched: true``;
* with ``route_on_user_only``, a request whose last message is not a user's own turn (a
  tool result, an assistant continuation) replays the session's category without asking
  the router.

Bindings are kept ``routing.session_ttl_seconds`` since last use (default 600 s): in this
process (at most ``session_max_entries``, least recently used out first), or in Redis
with ``routing.session_cache: {type: redis, url: ...}`` so every process and machine sees
the same binding. Redis keys are ``plano:affinity:`` and a SHA-256 of ``tenant:session``
(session ids never sit in Redis verbatim). A Redis that fails is logged and treated as a
miss: affinity is an optimisation, never a reason to fail a request.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from plano_asgi.errors import RequestError

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from plano_asgi.config import PlanoConfig

__all__ = [
    "AFFINITY_HEADER",
    "REDIS_PREFIX",
    "MemorySessions",
    "RedisSessions",
    "Session",
    "SessionStore",
    "Sessions",
    "implicit_session_id",
    "last_is_user_turn",
]

logger = logging.getLogger("plano_asgi.gateway")

AFFINITY_HEADER = "x-model-affinity"
_SESSION_ID = re.compile(r"[\x21-\x7e]{1,128}")
_SALT = b"plano-affinity-v1"
_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK = (1 << 64) - 1
REDIS_PREFIX = "plano:affinity:"


@dataclass(frozen=True, slots=True)
class Session:
    """The session of one request."""

    id: str
    """The client's id, or ``implicit:<16 hex>``."""
    key: str
    """Where its binding is kept: ``tenant:id``."""
    user_turn: bool
    """The last message is the user's own turn (not a tool result or a continuation)."""


class SessionStore(Protocol):
    """Where bindings (session key -> category name) live."""

    async def get(self, key: str) -> str | None: ...

    async def put(self, key: str, route: str) -> None: ...

    async def aclose(self) -> None: ...


class MemorySessions:
    """Bindings in this process: at most ``max_entries``, each for ``ttl`` seconds since use."""

    def __init__(
        self, *, max_entries: int, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_entries = max_entries
        self.ttl = ttl
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._entries[key]
            return None
        return entry[1]

    async def put(self, key: str, route: str) -> None:
        now = self._clock()
        self._entries[key] = (now + self.ttl, route)
        self._entries.move_to_end(key)
        while self._entries:
            expires, _ = next(iter(self._entries.values()))
            if expires > now and len(self._entries) <= self.max_entries:
                break
            self._entries.popitem(last=False)

    async def aclose(self) -> None:
        self._entries.clear()


class RedisSessions:
    """Bindings in Redis, shared by every process; failures are logged and read as misses."""

    def __init__(
        self,
        url: str,
        *,
        ttl: float,
        timeout: float = 0.25,
        client: Redis | None = None,
        log_interval: float = 30.0,
    ) -> None:
        from plano_asgi.state.redis import where

        self.ttl = ttl
        self.where = where(url)
        self._url = url
        self._timeout = timeout
        self._client = client
        self._owns_client = client is None
        self._log_interval = log_interval
        self._logged_at = -float("inf")

    def _redis(self) -> Redis:
        if self._client is None:
            from plano_asgi.state.redis import connect

            self._client = connect(self._url, timeout=self._timeout, what="routing.session_cache")
        return self._client

    @staticmethod
    def redis_key(key: str) -> str:
        """The Redis key holding the binding of session ``key``."""
        return REDIS_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:32]

    def _failed(self, doing: str, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self._logged_at >= self._log_interval:
            self._logged_at = now
            logger.warning(
                "routing session cache: cannot %s redis at %s (%s); routing without the "
                "session's binding",
                doing,
                self.where,
                type(exc).__name__,
            )

    async def get(self, key: str) -> str | None:
        from plano_asgi.state.redis import redis_errors

        client = self._redis()
        try:
            raw = await client.get(self.redis_key(key))
        except redis_errors() as exc:
            self._failed("read from", exc)
            return None
        if raw is None:
            return None
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    async def put(self, key: str, route: str) -> None:
        from plano_asgi.state.redis import redis_errors

        client = self._redis()
        try:
            await client.set(self.redis_key(key), route, px=max(1, int(self.ttl * 1000)))
        except redis_errors() as exc:
            self._failed("write to", exc)

    async def aclose(self) -> None:
        if self._client is not None and self._owns_client:
            client, self._client = self._client, None
            await client.aclose()


class Sessions:
    """The sessions of one gateway: how a request's session is found, and where bindings live."""

    def __init__(
        self,
        store: SessionStore,
        *,
        implicit: bool = False,
        route_on_user_only: bool = False,
        tenant_header: str | None = None,
    ) -> None:
        self.store = store
        self.implicit = implicit
        self.route_on_user_only = route_on_user_only
        self.tenant_header = tenant_header.lower() if tenant_header else None

    @classmethod
    def from_config(cls, config: PlanoConfig) -> Sessions:
        """The sessions ``config``'s ``routing`` and ``prompt_caching`` describe."""
        routing = config.routing
        ttl = float(routing.session_ttl_seconds)
        cache = routing.session_cache
        store: SessionStore
        if cache.type == "redis":
            assert cache.url is not None  # the config checks say so
            store = RedisSessions(cache.url, ttl=ttl)
        else:
            store = MemorySessions(max_entries=routing.session_max_entries, ttl=ttl)
        caching = config.prompt_caching
        return cls(
            store,
            implicit=(caching.enabled and caching.session_affinity) or routing.route_on_user_only,
            route_on_user_only=routing.route_on_user_only,
            tenant_header=cache.tenant_header,
        )

    def session(
        self, headers: Mapping[str, str], api: str, body: Mapping[str, Any]
    ) -> Session | None:
        """The session of a request (``headers`` with lower-case names), or ``None``.

        Raises :class:`~plano_asgi.errors.RequestError` (400) for an ``X-Model-Affinity``
        value that is not 1-128 visible ASCII characters.
        """
        explicit = headers.get(AFFINITY_HEADER)
        if explicit is not None:
            if not _SESSION_ID.fullmatch(explicit):
                raise RequestError(
                    "Invalid X-Model-Affinity header: expected 1-128 visible ASCII characters.",
                    param=AFFINITY_HEADER,
                )
            session_id: str | None = explicit
        elif self.implicit and headers.get("x-plano-cache", "").lower() != "off":
            session_id = implicit_session_id(api, body, self._tenant(headers))
        else:
            session_id = None
        if session_id is None:
            return None
        return Session(
            id=session_id,
            key=f"{self._tenant(headers)}:{session_id}",
            user_turn=last_is_user_turn(api, body),
        )

    def _tenant(self, headers: Mapping[str, str]) -> str:
        return headers.get(self.tenant_header, "") if self.tenant_header else ""

    async def aclose(self) -> None:
        await self.store.aclose()


def implicit_session_id(api: str, body: Mapping[str, Any], tenant: str = "") -> str | None:
    """``implicit:<16 hex>`` from what does not change as a conversation grows, or ``None``
    when the request has no user message to anchor it."""
    system, first_user = _anchors(api, body)
    if first_user is None:
        return None
    value = _FNV_OFFSET
    for part in (_SALT, tenant.encode(), system.encode(), *_tool_names(body), first_user.encode()):
        for byte in part + b"\x00":
            value = ((value ^ byte) * _FNV_PRIME) & _MASK
    return f"implicit:{value:016x}"


def _anchors(api: str, body: Mapping[str, Any]) -> tuple[str, str | None]:
    """The system/developer text and the first user message's text."""
    system = [_text(body.get("system")), _text(body.get("instructions"))]
    items = body.get("input") if api == "responses" else body.get("messages")
    if isinstance(items, str):
        return "\n".join(filter(None, system)), items
    first_user: str | None = None
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict):
            continue
        role = item.get("role")
        if role in ("system", "developer"):
            system.append(_text(item.get("content")))
        elif role == "user" and first_user is None and item.get("type", "message") == "message":
            first_user = _text(item.get("content"))
    return "\n".join(filter(None, system)), first_user


def _tool_names(body: Mapping[str, Any]) -> list[bytes]:
    names: list[bytes] = []
    tools = body.get("tools")
    for tool in tools if isinstance(tools, list) else ():
        if isinstance(tool, dict):
            function = tool.get("function")
            name = function.get("name") if isinstance(function, dict) else tool.get("name")
            if isinstance(name, str):
                names.append(name.encode())
    return names


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def last_is_user_turn(api: str, body: Mapping[str, Any]) -> bool:
    """The request's last message is a user's own words (not a tool result or a
    continuation of the assistant)."""
    items = body.get("input") if api == "responses" else body.get("messages")
    if isinstance(items, str):
        return True
    if not isinstance(items, list) or not items or not isinstance(items[-1], dict):
        return False
    last = items[-1]
    if last.get("type", "message") != "message" or last.get("role") != "user":
        return False  # function_call_output, a tool message, an assistant prefill
    content = last.get("content")
    if isinstance(content, list) and content:
        # Anthropic sends tool results as a user message made of tool_result blocks.
        return any(isinstance(part, dict) and part.get("type") != "tool_result" for part in content)
    return True
