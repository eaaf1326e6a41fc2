"""One long-lived filter object per configured filter id, and chains built from them.

The agent listener and the model gateway each hold one :class:`FilterRegistry` for the
lifetime of the app. Filters are built lazily on first use and shared by every request and
every chain that names them, so an MCP filter keeps one session no matter how many agents
list it in their ``input_filters``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import httpx2

from plano_asgi.config import FilterDef, PlanoConfig
from plano_asgi.errors import ConfigError, ConfigIssue
from plano_asgi.filters.base import Filter
from plano_asgi.filters.chain import FilterChain
from plano_asgi.filters.http import HttpFilter
from plano_asgi.outbound import AiohttpClient, HttpClient, as_http_client

__all__ = ["FilterRegistry", "build_filter"]

logger = logging.getLogger("plano_asgi.filters")


def build_filter(definition: FilterDef, *, client: HttpClient) -> Filter:
    """The filter object for one ``filters[]`` entry (``type`` defaults to ``mcp``, as in Plano)."""
    if definition.type == "http":
        return HttpFilter(definition, client=client)
    try:
        from plano_asgi.filters.mcp import McpFilter  # the `mcp` extra is optional
    except ImportError as exc:
        message = f"filter '{definition.id}' is an MCP filter; install plano-asgi[mcp]"
        raise ConfigError([ConfigIssue(path="filters", message=message)]) from exc
    return McpFilter(definition)


class FilterRegistry:
    """Builds, caches and closes the filters a config declares.

    Pass ``client`` (an ``httpx2.AsyncClient`` or an :class:`~plano_asgi.outbound.HttpClient`)
    to share it with the rest of your app (HTTP filters use it; you keep ownership). Without
    it the registry makes an :class:`~plano_asgi.outbound.AiohttpClient` and closes it in
    :meth:`aclose`. MCP filters run on the MCP SDK's own HTTP stack and are always owned here.
    """

    def __init__(
        self, config: PlanoConfig, *, client: httpx2.AsyncClient | HttpClient | None = None
    ) -> None:
        self._config = config
        self._owns_client = client is None
        self._client = None if client is None else as_http_client(client)
        self._filters: dict[str, Filter] = {}
        self._chains: dict[tuple[str, ...], FilterChain] = {}
        self._closed = False

    @property
    def client(self) -> HttpClient:
        """The HTTP client HTTP filters use (created on first use when none was given)."""
        if self._client is None:
            self._client = AiohttpClient()
        return self._client

    def get(self, filter_id: str) -> Filter:
        """The shared filter object for ``filter_id`` (an id of ``filters[]`` or ``agents[]``)."""
        found = self._filters.get(filter_id)
        if found is not None:
            return found
        if self._closed:
            raise RuntimeError("FilterRegistry is closed")
        try:
            definition = self._config.filter(filter_id)
        except KeyError:
            issue = ConfigIssue(path="filters", message=f"unknown filter id '{filter_id}'")
            raise ConfigError([issue]) from None
        flt = build_filter(definition, client=self.client)
        self._filters[filter_id] = flt
        return flt

    def chain(self, ids: Sequence[str]) -> FilterChain:
        """The chain running ``ids`` in order (cached per tuple of ids; empty -> empty chain)."""
        key = tuple(ids)
        chain = self._chains.get(key)
        if chain is None:
            chain = FilterChain([self.get(fid) for fid in key])
            self._chains[key] = chain
        return chain

    async def aclose(self) -> None:
        """Close every MCP session and the owned HTTP client. Safe to call twice."""
        self._closed = True
        filters = list(self._filters.values())
        self._filters.clear()
        self._chains.clear()
        for flt in filters:
            try:
                await flt.aclose()
            except Exception:
                logger.warning("closing filter %s failed", flt.id, exc_info=True)
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None
