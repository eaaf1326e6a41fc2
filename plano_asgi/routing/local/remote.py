"""An :class:`~plano_asgi.routing.local.encoder.Encoder` backed by an embeddings endpoint.

Any OpenAI-compatible ``POST {base_url}/embeddings`` (OpenAI, vLLM, Ollama, LM Studio,
text-embeddings-inference, LiteLLM) can stand in for the embedded model. The call is
blocking by design (the encoder protocol is synchronous); the local router runs every
encoder in a worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx2
import numpy as np

from plano_asgi.errors import RoutingError
from plano_asgi.outbound import outbound_sync_client
from plano_asgi.routing.local.encoder import Vectors, normalize

__all__ = ["OpenAIEmbeddingsEncoder"]


class OpenAIEmbeddingsEncoder:
    """Embed texts with ``POST {base_url}/embeddings``; rows come back L2-normalised.

    ``base_url`` ends where ``/embeddings`` is appended (e.g. ``http://localhost:11434/v1``).
    Pass your own ``client`` to share a connection pool or set a transport; you keep
    ownership of it. Failures raise :class:`~plano_asgi.errors.RoutingError`, so a listener
    falls back as it does for any router failure.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        batch_size: int = 64,
        client: httpx2.Client | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + "/embeddings"
        self.model = model
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout = timeout
        self._batch = batch_size
        self._client = client

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` in batches of ``batch_size``, keeping their order."""
        rows: list[list[float]] = []
        for start in range(0, len(texts), self._batch):
            rows.extend(self._request(list(texts[start : start + self._batch])))
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        return normalize(np.asarray(rows, dtype=np.float32))

    def _request(self, batch: list[str]) -> list[list[float]]:
        body = {"model": self.model, "input": batch}
        try:
            if self._client is not None:
                response = self._client.post(
                    self.url, json=body, headers=self._headers, timeout=self._timeout
                )
            else:
                with outbound_sync_client(timeout=self._timeout) as client:
                    response = client.post(self.url, json=body, headers=self._headers)
        except httpx2.HTTPError as exc:
            raise RoutingError(f"embeddings endpoint {self.url} failed: {exc}") from None
        if response.status_code != 200:
            raise RoutingError(
                f"embeddings endpoint {self.url} answered HTTP {response.status_code}: "
                f"{response.text[:200]}"
            )
        try:
            data = sorted(response.json()["data"], key=lambda item: item.get("index", 0))
            vectors = [[float(x) for x in item["embedding"]] for item in data]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RoutingError(
                f"embeddings endpoint {self.url} sent no embeddings: {exc}"
            ) from None
        if len(vectors) != len(batch):
            raise RoutingError(
                f"embeddings endpoint {self.url} sent {len(vectors)} vectors for {len(batch)} texts"
            )
        return vectors
