"""The MCP endpoint of an agent listener: one tool per exposed agent (streamable HTTP).

Stateless and plain JSON: every POST carries one JSON-RPC request and gets one JSON reply,
so any number of listener workers can serve it and nothing is kept between calls. The
official ``mcp`` client speaks it unchanged.

``tools/list`` lists ``<agent id>`` with the agent's description and the input schema of
:mod:`plano_asgi.agent_tools.arguments`. ``tools/call`` runs the turn
(:mod:`plano_asgi.agent_tools.turn`) and returns the answer as text; a failed hop, a
blocked filter or bad arguments come back as a tool error (``isError``) naming the hop,
which a calling model can read. An unknown tool is a JSON-RPC ``invalid params`` error.

The session manager's task group must be entered and left by one task, so a runner task
owns it (started on the first request, stopped by :meth:`AgentToolServer.aclose`), as the
MCP filter client does with its sessions. Unlike the SDK's own app, there is no Host check:
the listener's chat endpoint on the same port has none either, and agent listeners are
addressed by service names.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from plano_asgi._asgi import send_json
from plano_asgi.agent_tools.arguments import TOOL_INPUT_SCHEMA, ToolArgumentError, tool_messages
from plano_asgi.agent_tools.origin import LISTENER_URL, listener_url
from plano_asgi.agent_tools.turn import ToolAnswer, pinned_runtime, run_tool_turn
from plano_asgi.errors import error_body
from plano_asgi.listener.runtime import ListenerRuntime
from plano_asgi.listener.transport import collapse_groups
from plano_asgi.telemetry.propagation import valid_traceparent

if TYPE_CHECKING:
    import mcp_types
    from mcp.server.context import ServerRequestContext
    from mcp.server.lowlevel import Server

__all__ = ["AgentToolServer"]

logger = logging.getLogger("plano_asgi.agent_tools")

_NEEDS_EXTRA = "The MCP endpoint needs the mcp extra: pip install 'plano-asgi[mcp]'."


class AgentToolServer:
    """The ``/mcp`` app of one listener; ``agents`` are the ids offered as tools."""

    def __init__(self, runtime: ListenerRuntime, agents: tuple[str, ...]) -> None:
        self.listener = runtime.listener.name
        described = {agent.id: agent.description for agent in runtime.listener.agents}
        self._runtimes = {agent: pinned_runtime(runtime, agent) for agent in agents}
        self._descriptions = {agent: " ".join(described[agent].split()) for agent in agents}
        self._app: ASGIApp | None = None
        self._missing = False
        self._lock = anyio.Lock()
        self._ready = anyio.Event()
        self._stop = anyio.Event()
        self._done = anyio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._error: BaseException | None = None

    @property
    def tools(self) -> tuple[str, ...]:
        """The tool names (agent ids), in the listener's order."""
        return tuple(self._runtimes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = await self._started()
        if app is None:
            message = _NEEDS_EXTRA if self._missing else "The MCP endpoint is not available."
            await send_json(send, 501, error_body(message, type="not_implemented"))
            return
        await app(scope, receive, send)

    async def aclose(self) -> None:
        """Stop the runner (and with it the session manager), if it was started."""
        self._stop.set()
        if self._runner is not None:
            with anyio.move_on_after(5.0):
                await self._done.wait()
            if not self._done.is_set():
                self._runner.cancel()

    # -- startup ----------------------------------------------------------------------------

    async def _started(self) -> ASGIApp | None:
        if self._app is not None or self._missing or self._stop.is_set():
            return self._app
        async with self._lock:
            if self._app is None and not self._missing:
                try:
                    manager = self._manager()
                except ImportError:
                    logger.warning("listener %s: %s", self.listener, _NEEDS_EXTRA)
                    self._missing = True
                    return None
                # An empty context: the runner must not inherit the request that started it.
                self._runner = asyncio.get_running_loop().create_task(
                    self._run(manager),
                    name=f"mcp-tools-{self.listener}",
                    context=contextvars.Context(),
                )
                await self._ready.wait()
                if self._error is None:
                    from mcp.server.streamable_http_manager import StreamableHTTPASGIApp

                    self._app = StreamableHTTPASGIApp(manager)
        return self._app

    async def _run(self, manager: Any) -> None:
        try:
            async with manager.run():
                self._ready.set()
                await self._stop.wait()
        except Exception as exc:
            self._error = exc
            logger.exception("listener %s: the MCP endpoint stopped", self.listener)
        finally:
            self._ready.set()
            self._done.set()

    def _manager(self) -> Any:
        from mcp.server.lowlevel import Server
        from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
        from mcp.server.transport_security import TransportSecuritySettings

        server: Server[Any] = Server(
            self.listener,
            version="1",
            instructions="Each tool is an agent of this listener; call it with a message.",
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
        )
        # The tool turn records its own spans (under the caller's trace); the SDK's server
        # span would start a separate trace when the caller sends no trace in ``_meta``.
        server.middleware.clear()
        return StreamableHTTPSessionManager(
            app=server,
            stateless=True,
            json_response=True,
            security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )

    # -- handlers ---------------------------------------------------------------------------

    async def _list_tools(
        self, ctx: ServerRequestContext[Any, Any], params: Any
    ) -> mcp_types.ListToolsResult:
        import mcp_types

        tools = [
            mcp_types.Tool(
                name=name, description=self._descriptions[name], input_schema=TOOL_INPUT_SCHEMA
            )
            for name in self._runtimes
        ]
        return mcp_types.ListToolsResult(tools=tools)

    async def _call_tool(
        self, ctx: ServerRequestContext[Any, Any], params: mcp_types.CallToolRequestParams
    ) -> mcp_types.CallToolResult:
        import mcp_types
        from mcp.shared.exceptions import MCPError

        runtime = self._runtimes.get(params.name)
        if runtime is None:
            known = ", ".join(self._runtimes) or "none"
            raise MCPError(
                mcp_types.INVALID_PARAMS, f"Unknown tool '{params.name}'; the tools are: {known}."
            )
        try:
            messages = tool_messages(params.name, params.arguments)
        except ToolArgumentError as exc:
            return _result(str(exc), error=True)
        request = ctx.request
        scope: Scope = request.scope if request is not None else {"headers": []}
        answer: ToolAnswer | None = None
        token = LISTENER_URL.set(listener_url(scope))
        try:
            with collapse_groups():
                async with anyio.create_task_group() as group:
                    if request is not None:
                        group.start_soon(_cancel_on_disconnect, request.receive, group.cancel_scope)
                    answer = await run_tool_turn(
                        runtime,
                        messages,
                        raw_headers=scope.get("headers", ()),
                        traceparent=_trace(ctx.meta or params.meta, scope.get("headers", ())),
                        server=scope.get("server"),
                    )
                    group.cancel_scope.cancel()
        finally:
            LISTENER_URL.reset(token)
        if answer is None:  # the caller left: nobody reads this
            return _result("The caller disconnected; the agent call was cancelled.", error=True)
        return _result(answer.text, error=answer.error)


async def _cancel_on_disconnect(receive: Receive, turn: anyio.CancelScope) -> None:
    """Cancel the turn when the caller's HTTP request goes away, as a chat turn is.

    The MCP SDK runs tool handlers in its session manager's task group, so a caller that
    gives up (a timeout, a cancelled call) would otherwise leave the agent running and
    spending tokens. The body was read before the handler ran, so ``receive`` only has a
    disconnect left to give.
    """
    while (await receive())["type"] != "http.disconnect":
        pass
    logger.info("MCP caller left; cancelling the tool call")
    turn.cancel()


def _result(text: str, *, error: bool) -> mcp_types.CallToolResult:
    import mcp_types

    return mcp_types.CallToolResult(
        content=[mcp_types.TextContent(type="text", text=text)], is_error=error
    )


def _trace(meta: Mapping[str, Any] | None, raw: Any) -> dict[str, str]:
    """The caller's trace: ``_meta`` (the MCP client's span) first, else the HTTP headers."""
    carriers: list[Mapping[str, Any]] = [meta] if meta else []
    carriers.append({k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw})
    for carrier in carriers:
        parent = carrier.get("traceparent")
        if isinstance(parent, str) and valid_traceparent(parent):
            out = {"traceparent": parent}
            state = carrier.get("tracestate")
            if isinstance(state, str) and state:
                out["tracestate"] = state
            return out
    return {}
