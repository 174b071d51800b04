"""Training exemplars kept beside a model: the nearest labelled requests explain a decision.

Model selection (benchmarks/bench_router_models.py) found a linear head over n-grams + embeddings better than
nearest-centroid or nearest-exemplar routing, so exemplars do not decide; they show *which* training requests
a new one resembles. Stored as ``exemplars.npy`` (float16 embeddings, read with ``allow_pickle=False``) and
``exemplars.jsonl`` (query and workflow per row), both hashed in the model's manifest.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mm_orch.exceptions import ModelLoadError

__all__ = ["EXEMPLAR_TEXTS", "EXEMPLAR_VECTORS", "Exemplars"]

EXEMPLAR_VECTORS = "exemplars.npy"
EXEMPLAR_TEXTS = "exemplars.jsonl"


@dataclass(frozen=True)
class Exemplars:
    """Labelled requests and their (L2-normalised) embeddings."""

    queries: tuple[str, ...]
    workflows: tuple[str, ...]
    vectors: np.ndarray

    def nearest(self, vector: np.ndarray, k: int = 3) -> list[tuple[str, str, float]]:
        """The ``k`` most similar exemplars: (query, workflow, cosine similarity), most similar first."""
        if not len(self.queries):
            return []
        sims = self.vectors @ vector.astype(np.float32)
        k = min(k, len(sims))
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.argsort(-sims[top])]
        return [(self.queries[i], self.workflows[i], round(float(sims[i]), 4)) for i in top]

    def save(self, directory: Path) -> list[str]:
        """Write both files into ``directory``; returns their names."""
        np.save(directory / EXEMPLAR_VECTORS, self.vectors.astype(np.float16), allow_pickle=False)
        with (directory / EXEMPLAR_TEXTS).open("w", encoding="utf-8") as fh:
            for q, w in zip(self.queries, self.workflows, strict=True):
                fh.write(json.dumps({"query": q, "workflow": w}, ensure_ascii=False) + "\n")
        return [EXEMPLAR_VECTORS, EXEMPLAR_TEXTS]

    @classmethod
    def load(cls, directory: Path) -> Exemplars | None:
        """The exemplars saved in ``directory``, or None when the model has none."""
        vec_path, text_path = directory / EXEMPLAR_VECTORS, directory / EXEMPLAR_TEXTS
        if not vec_path.is_file():
            return None
        try:
            vectors = np.load(vec_path, allow_pickle=False).astype(np.float32)
            rows = [json.loads(line) for line in text_path.read_text(encoding="utf-8").splitlines() if line]
        except (OSError, ValueError) as exc:
            raise ModelLoadError(
                f"router exemplars in {directory} are unreadable ({exc}); retrain the router"
            ) from exc
        if len(rows) != len(vectors):
            raise ModelLoadError(f"router exemplars in {directory}: {len(rows)} texts but {len(vectors)} vectors")
        return cls(tuple(r["query"] for r in rows), tuple(r["workflow"] for r in rows), vectors)

    @classmethod
    def build(cls, queries: Sequence[str], workflows: Sequence[str], vectors: np.ndarray) -> Exemplars:
        """Exemplars from parallel sequences (vectors are re-normalised)."""
        v = np.asarray(vectors, dtype=np.float32)
        v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        return cls(tuple(queries), tuple(workflows), v)
