"""Preference-based model routing: the model for a request, chosen by what the request asks.

Plano calls it preference-aligned routing. ``routing_preferences`` in the config name task
categories in plain words, each with its candidate models in order::

    routing_preferences:
      - name: code_generation
        description: generating new code, writing functions, or creating boilerplate
        models: [anthropic/claude-sonnet-4-6, openai/gpt-4o]

For every request on the model listener the router reads the conversation and picks the
category its latest user turn belongs to, if any; the request then goes to that
category's first model, and (ours) to the next ones when the first fails before answering.
No category fits: the model the client asked for answers, as in Plano. A client may ask
for ``"model": "auto"`` to say it has no model of its own; with no category fitting, the
``default: true`` provider answers.

The decision maker is a :class:`~plano_asgi.routing.base.Router`, the same interface the
agent listener uses, reading the categories as candidates: ``local_v1`` (embedded,
offline, a few milliseconds) unless ``routing.router`` (ours) names another, or
``overrides.llm_routing_model`` is set (then ``hybrid_v1``: the local router first, the
model when it is unsure). A request may bring its own ``routing_preferences`` (same
shape), which replace the configured ones for that request; a malformed list is a 400
naming the field (Plano drops it silently).

``selection_policy.prefer`` (``cheapest``/``fastest``) is accepted, but the live cost and
latency sources Plano ranks by are not fetched: candidates keep their declared order.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import httpx2

from plano_asgi.chat import ChatMessage, message_text
from plano_asgi.config import PlanoConfig
from plano_asgi.errors import ModelNotFoundError, PlanoError, RequestError
from plano_asgi.gateway.affinity import Session, Sessions
from plano_asgi.gateway.resolution import ModelResolver, Target
from plano_asgi.outbound import HttpClient
from plano_asgi.routing.base import AgentCandidate, RouteDecision, Router

__all__ = [
    "AUTO_MODELS",
    "ModelChoice",
    "ModelRoute",
    "PreferenceRouter",
    "conversation",
    "inline_routes",
    "local_preference_router",
    "targets_for",
]

logger = logging.getLogger("plano_asgi.gateway")

AUTO_MODELS = frozenset({"auto", "plano/auto"})
"""Model names that ask the gateway to choose (unless a provider is named so)."""

# With a single category, the local router has nothing to compare the turn with; this
# stands for "anything else", so a turn that fits the category less than it fits everyday
# talk gets no category.
_ANYTHING_ELSE = AgentCandidate(
    id="",
    description="Small talk, greetings, thanks and everyday questions on other subjects",
)
_MAX_INLINE_ROUTES = 64
# What a turn is judged by: its start says what is asked, and the encoder's cost grows with
# the text (a pasted file would cost a second).
_TURN_CHARS = 400


def local_preference_router() -> Router | None:
    """``local_v1`` with the settings of preference routing, or ``None`` without the
    ``router`` extra.

    A routing preference names a kind of task in a few abstract words ("generating new
    code snippets, functions, or boilerplate"), so a request that fits it scores lower
    than one that fits an agent naming its topics; the bar for "no preference fits" is
    lower accordingly (chosen on half of ``bench/data/preferences.jsonl``, reported on the
    other half in ``bench/results/preferences.md``).
    """
    try:
        from plano_asgi.routing.local import LocalRouter, LocalRouterSettings
    except ImportError as exc:
        logger.info("local router unavailable: %s", exc)
        return None
    router: Router = LocalRouter(
        settings=LocalRouterSettings(oos_threshold=0.3, offtopic_margin=0.1)
    )
    return router


@dataclass(frozen=True, slots=True)
class ModelRoute:
    """One routing preference: a task category and its candidate models, best first."""

    name: str
    description: str
    models: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ModelChoice:
    """What the router chose for one request."""

    route: str | None
    """The category's name, ``None`` when no category fits the turn."""
    models: tuple[str, ...]
    """The category's models in the order to try them (empty when ``route`` is ``None``)."""
    router: str
    confidence: float | None = None
    fallback: str | None = None
    """Why another router decided (the primary failed), as the agent listener reports it."""
    session_id: str | None = None
    """The request's session (:mod:`plano_asgi.gateway.affinity`), when it has one."""
    pinned: bool = False
    """The session's category decided (kept, or replayed without asking the router)."""
    switched: bool = False
    """The turn moved the session to another category."""


class PreferenceRouter:
    """Chooses a :class:`ModelRoute` for a conversation. Built once per gateway.

    ``router`` decides; ``fallback`` decides when it raises (``None``: no category, and
    the request keeps its model). ``sessions`` keeps a session's category between its
    requests (:mod:`plano_asgi.gateway.affinity`).
    """

    def __init__(
        self,
        routes: Sequence[ModelRoute],
        router: Router,
        *,
        fallback: Router | None = None,
        sessions: Sessions | None = None,
    ) -> None:
        self.routes = tuple(routes)
        self.router = router
        self.fallback = fallback
        self.sessions = sessions

    @classmethod
    def from_config(
        cls, config: PlanoConfig, *, client: httpx2.AsyncClient | HttpClient
    ) -> PreferenceRouter:
        """The router for ``config``'s ``routing_preferences`` (also used for requests
        that bring their own), with the sessions of ``routing``.

        Raises :class:`~plano_asgi.errors.ConfigError` when the configured router model
        cannot be used (no matching provider).
        """
        router = cls._from_config(config, client)
        router.sessions = Sessions.from_config(config)
        return router

    @classmethod
    def _from_config(
        cls, config: PlanoConfig, client: httpx2.AsyncClient | HttpClient
    ) -> PreferenceRouter:
        routes = tuple(
            ModelRoute(p.name, p.description, p.models) for p in config.routing_preferences
        )
        model = config.overrides.llm_routing_model
        if not routes and model is None:
            # Only requests that bring their own preferences are routed: load the embedded
            # router (numpy, onnxruntime) when the first one comes, not with every gateway.
            return cls((), _LazyLocalRouter())
        local = local_preference_router()
        kind = config.routing.router or ("hybrid_v1" if model else "local_v1")
        if kind != "local_v1" and not model:
            logger.warning(
                "routing.router %s needs overrides.llm_routing_model; preference routing "
                "uses local_v1",
                kind,
            )
            kind = "local_v1"
        if kind == "local_v1" or model is None:
            if local is None and routes:
                logger.warning(
                    "preference routing needs local_v1 (pip install 'plano-asgi[router]'); "
                    "requests keep the model they ask for"
                )
            return cls(routes, local or _NoRouter())
        from plano_asgi.routing.orchestrator import OrchestratorRouter, resolve_orchestrator

        llm: Router = OrchestratorRouter(resolve_orchestrator(config, model), client=client)
        if kind == "plano_orchestrator_v1" or local is None:
            return cls(routes, llm, fallback=local)
        from plano_asgi.routing.hybrid import HybridRouter

        threshold = config.overrides.local_router_threshold
        hybrid: Router = (
            HybridRouter(local=local, llm=llm)
            if threshold is None
            else HybridRouter(local=local, llm=llm, threshold=threshold)
        )
        return cls(routes, hybrid, fallback=local)

    async def choose(
        self,
        messages: Sequence[ChatMessage],
        routes: Sequence[ModelRoute] | None = None,
        *,
        session: Session | None = None,
    ) -> ModelChoice:
        """The category of the latest user turn of ``messages`` among ``routes`` (default:
        the configured ones), kept or replayed for ``session`` as
        :mod:`~plano_asgi.gateway.affinity` says."""
        routes = self.routes if routes is None else tuple(routes)
        if not routes:
            return ModelChoice(None, (), self.router.name)
        if session is None or self.sessions is None:
            return await self._route(messages, routes)
        by_name = {r.name: r for r in routes}
        bound = await self.sessions.store.get(session.key)
        route = by_name.get(bound) if bound is not None else None
        if route is not None and self.sessions.route_on_user_only and not session.user_turn:
            return ModelChoice(
                route.name, route.models, "session", session_id=session.id, pinned=True
            )
        choice = await self._route(messages, routes)
        if choice.route is None and route is not None:  # nothing fits: the session's stays
            choice = dataclasses.replace(choice, route=route.name, models=route.models)
        if choice.route is not None:
            await self.sessions.store.put(session.key, choice.route)
        return dataclasses.replace(
            choice,
            session_id=session.id,
            pinned=route is not None and choice.route == route.name,
            switched=route is not None and choice.route != route.name,
        )

    async def _route(
        self, messages: Sequence[ChatMessage], routes: Sequence[ModelRoute]
    ) -> ModelChoice:
        candidates = [AgentCandidate(r.name, r.description) for r in routes]
        if len(candidates) == 1:
            candidates.append(_ANYTHING_ELSE)
        fallback: str | None = None
        try:
            decision = await self.router.route(messages, candidates)
        except PlanoError as exc:
            if self.fallback is None:
                logger.warning("preference router failed (%s); keeping the requested model", exc)
                return ModelChoice(None, (), self.router.name, fallback=str(exc))
            logger.warning("preference router failed (%s); using %s", exc, self.fallback.name)
            fallback = f"{self.router.name} failed: {exc}"
            decision = await self.fallback.route(messages, candidates)
        by_name = {r.name: r for r in routes}
        # The first category named wins (a two-intent turn still makes one request).
        route = next((by_name[a] for a in decision.agents if a in by_name), None)
        if route is None:
            return ModelChoice(
                None, (), decision.router, decision.confidence, fallback or decision.fallback
            )
        return ModelChoice(
            route.name,
            route.models,
            decision.router,
            decision.confidence,
            fallback or decision.fallback,
        )


class _LazyLocalRouter:
    """``local_v1``, imported and built on its first turn (in a worker thread)."""

    name = "local_v1"

    def __init__(self) -> None:
        self._router: Router | None = None

    async def route(
        self, messages: Sequence[ChatMessage], agents: Sequence[AgentCandidate]
    ) -> RouteDecision:
        if self._router is None:
            self._router = await anyio.to_thread.run_sync(local_preference_router) or _NoRouter()
        return await self._router.route(messages, agents)


class _NoRouter:
    """Stands in when no router can be loaded: never picks a category."""

    name = "none"

    async def route(
        self, messages: Sequence[ChatMessage], agents: Sequence[AgentCandidate]
    ) -> RouteDecision:
        return RouteDecision(agents=(), router=self.name)


def targets_for(
    resolver: ModelResolver, model: str | None, choice: ModelChoice | None
) -> tuple[Target, ...]:
    """The providers to try, in order: the chosen category's models, else what ``model``
    resolves to (``auto``: the default provider, unless a provider is named so).

    Raises :class:`~plano_asgi.errors.ModelNotFoundError` for a model no provider serves.
    """
    if choice is not None and choice.route is not None:
        targets: dict[str, Target] = {}
        for name in choice.models:
            for target in resolver.resolve(name):
                targets.setdefault(target.name, target)
        return tuple(targets.values())
    if model in AUTO_MODELS:
        try:
            return resolver.resolve(model)
        except ModelNotFoundError:
            return resolver.resolve(None)
    return resolver.resolve(model)


def inline_routes(value: object) -> tuple[ModelRoute, ...]:
    """A request's own ``routing_preferences``: ``[{name, description, models}]``.

    Raises :class:`RequestError` (400) naming the first bad entry.
    """
    if not isinstance(value, list) or not value:
        raise RequestError(
            "Invalid request: routing_preferences: expected a non-empty list of "
            "{name, description, models}",
            param="routing_preferences",
        )
    if len(value) > _MAX_INLINE_ROUTES:
        raise RequestError(
            f"Invalid request: routing_preferences: at most {_MAX_INLINE_ROUTES} entries",
            param="routing_preferences",
        )
    routes: list[ModelRoute] = []
    seen: set[str] = set()
    for index, entry in enumerate(value):
        where = f"routing_preferences[{index}]"
        if not isinstance(entry, dict):
            raise RequestError(f"Invalid request: {where}: expected an object", param=where)
        name, description, models = entry.get("name"), entry.get("description"), entry.get("models")
        if not isinstance(name, str) or not name.strip():
            raise RequestError(f"Invalid request: {where}.name: expected a string", param=where)
        if name in seen:
            raise RequestError(
                f"Invalid request: {where}.name: '{name}' appears twice", param=where
            )
        if not isinstance(description, str) or not description.strip():
            raise RequestError(
                f"Invalid request: {where}.description: expected a string", param=where
            )
        if (
            not isinstance(models, list)
            or not models
            or not all(isinstance(m, str) and m for m in models)
        ):
            raise RequestError(
                f"Invalid request: {where}.models: expected a non-empty list of model names",
                param=where,
            )
        seen.add(name)
        routes.append(ModelRoute(name, description, tuple(models)))
    return tuple(routes)


def conversation(api: str, body: Mapping[str, Any]) -> list[ChatMessage]:
    """The user and assistant turns of a request body, as the router reads them.

    ``api`` is ``openai`` (chat completions), ``anthropic`` (messages) or ``responses``.
    Parts that are not text (images, tool calls) are skipped; a body without readable
    turns gives ``[]``, which no category fits.
    """
    if api != "responses":
        return _turns(body.get("messages"))
    items = body.get("input")
    if isinstance(items, str):
        text = _lead(items.strip())
        return [ChatMessage(role="user", content=text)] if text else []
    return _turns(items)


def _turns(items: object) -> list[ChatMessage]:
    # Chat and Anthropic messages have no "type"; Responses input items of other types
    # (function calls and their outputs) are not turns.
    turns: list[ChatMessage] = []
    if not isinstance(items, list):
        return turns
    for item in items:
        if not isinstance(item, dict) or item.get("type", "message") != "message":
            continue
        role = item.get("role")
        if role not in ("user", "assistant"):
            continue
        text = _text(item.get("content"))
        if text:
            turns.append(ChatMessage(role=role, content=text))
    return turns


def _text(content: object) -> str:
    if isinstance(content, str):
        return _lead(content.strip())
    if not isinstance(content, list):
        return ""
    parts = [
        {"type": "text", "text": part.get("text")}
        for part in content
        if isinstance(part, dict)
        and part.get("type", "text") in ("text", "input_text", "output_text")
    ]
    return _lead(message_text(parts).strip())


def _lead(text: str) -> str:
    """The first :data:`_TURN_CHARS` characters of ``text``, cut at a space when one is near."""
    if len(text) <= _TURN_CHARS:
        return text
    cut = text.rfind(" ", _TURN_CHARS // 2, _TURN_CHARS)
    return text[: cut if cut > 0 else _TURN_CHARS]
