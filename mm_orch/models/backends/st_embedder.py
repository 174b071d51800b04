"""Embeddings with sentence-transformers (CPU or GPU)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import numpy as np

from mm_orch.exceptions import ModelLoadError, ModelUnavailableError
from mm_orch.models.backends.base import BaseEmbedder
from mm_orch.models.backends.devices import resolve_torch_device
from mm_orch.models.metadata import ModelMetadata
from mm_orch.models.sources import hub_revision

__all__ = ["SentenceTransformerEmbedder"]


class SentenceTransformerEmbedder(BaseEmbedder):
    """A ``SentenceTransformer`` from a local folder or Hub id; encode calls are serialised by a lock."""

    backend = "sentence_transformers"

    def __init__(self, metadata: ModelMetadata, folder: Path | str, batch_size: int = 32) -> None:
        super().__init__(metadata)
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ModelUnavailableError(
                f"model {metadata.name!r} needs sentence-transformers ({exc}); install `mm-orch[cpu]` or `[gpu]`"
            ) from exc
        device = resolve_torch_device(metadata)
        kwargs: dict[str, Any] = {**hub_revision(metadata), **metadata.engine_args}
        try:
            self._model = SentenceTransformer(str(folder), device=device, **kwargs)
        except MemoryError as exc:
            raise ModelLoadError(
                f"model {metadata.name!r} ran out of memory loading (needs about {metadata.memory_gb} GiB); "
                "unload other models or pick a smaller embedder"
            ) from exc
        except (OSError, ValueError) as exc:
            raise ModelLoadError(
                f"model {metadata.name!r}: cannot load a sentence-transformers model from {str(folder)!r} "
                f"({exc}); check source in the models config"
            ) from exc
        self._model.max_seq_length = min(
            self._model.max_seq_length or metadata.context_length, metadata.context_length
        )
        self._batch_size = batch_size
        self._lock = threading.Lock()
        # sentence-transformers 5 renamed the method (the old name warns); older releases have only the old one
        width = (
            getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        )
        dim = width()
        self._dimension = int(dim) if dim else int(self._model.encode(["x"]).shape[1])

    @property
    def dimension(self) -> int:
        """Embedding width (384 for all-MiniLM-L6-v2)."""
        return self._dimension

    def _encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(
                self._model.encode(
                    texts,
                    batch_size=self._batch_size,
                    convert_to_numpy=True,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                ),
                dtype=np.float32,
            )

    async def _aencode(self, texts: list[str]) -> np.ndarray:
        return await asyncio.to_thread(self._encode, texts)
