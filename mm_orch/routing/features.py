"""Request -> feature vector, shared by training (batch) and routing (one request at a time).

A request becomes two texts: a *word* text (the question plus context tokens such as ``ctxmodechat`` or
``ctxdocs``) and a *char* text (the question alone). Each is hashed with scikit-learn's stateless
:class:`~sklearn.feature_extraction.text.HashingVectorizer` (no vocabulary, so Ray workers featurize shards
independently), and the two blocks are stacked side by side.

:meth:`Featurizer.transform_one` is an exact re-implementation of that transform for a single request with a
token -> column cache: sklearn's ``transform`` costs ~0.2 ms per call in input validation and sparse-matrix
construction alone, more than the whole routing budget. ``tests/routing/test_features.py`` proves both paths
produce identical vectors.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.utils import murmurhash3_32

from mm_orch.schemas import UserRequest

__all__ = ["Featurizer", "FeaturizerConfig", "RequestContext", "context_from_metadata", "context_from_request"]


@dataclass(frozen=True, slots=True)
class RequestContext:
    """The parts of a request besides its text that the router uses as features."""

    mode: str = "default"
    has_collection: bool = False
    has_documents: bool = False
    history_turns: int = 0

    def tokens(self) -> str:
        """Context as word tokens appended to the question (word n-grams pick them up as features)."""
        parts = [f"ctxmode{self.mode}"]
        if self.has_collection:
            parts.append("ctxcollection")
        if self.has_documents:
            parts.append("ctxdocs")
        if self.history_turns > 0:
            parts.append("ctxhistory")
            parts.append(f"ctxhist{min(self.history_turns, 4)}")
        return " ".join(parts)


def context_from_request(request: UserRequest) -> RequestContext:
    """The router context of a live request."""
    return RequestContext(
        mode=request.mode,
        has_collection=bool(request.collection),
        has_documents=bool(request.documents),
        history_turns=len(request.history),
    )


def _truthy(value: str | None) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "y"}


def context_from_metadata(mode: str, metadata: Mapping[str, str] | None) -> RequestContext:
    """The router context of a traced run (the orchestrator stores it in ``WorkflowTrace.metadata``)."""
    meta = metadata or {}
    try:
        turns = int(float(meta.get("history_turns", "0") or 0))
    except ValueError:
        turns = 0
    return RequestContext(
        mode=mode or "default",
        has_collection=_truthy(meta.get("has_collection")),
        has_documents=_truthy(meta.get("has_documents")),
        history_turns=max(turns, 0),
    )


class FeaturizerConfig(BaseModel):
    """How requests are hashed into features; stored in each model's manifest so routing matches training."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    word_features: int = Field(default=2**17, gt=0, description="Hash buckets for word n-grams.")
    char_features: int = Field(default=2**17, gt=0, description="Hash buckets for character n-grams.")
    word_ngram_max: int = Field(default=2, ge=1, le=3, description="Longest word n-gram.")
    char_ngram_min: int = Field(default=3, ge=1, le=6, description="Shortest character n-gram (char_wb).")
    char_ngram_max: int = Field(default=4, ge=1, le=6, description="Longest character n-gram (char_wb).")

    @property
    def n_features(self) -> int:
        """Width of the stacked feature vector."""
        return self.word_features + self.char_features


class _HashBlock:
    """One HashingVectorizer plus the exact single-document fast path for it."""

    def __init__(self, vectorizer: HashingVectorizer, offset: int) -> None:
        self.vectorizer = vectorizer
        self.offset = offset
        self.n_features = int(vectorizer.n_features)
        self.analyzer: Callable[[str], list[str]] = vectorizer.build_analyzer()
        self._cache: dict[str, int] = {}

    def column(self, token: str) -> int:
        col = self._cache.get(token)
        if col is None:
            # Mirrors sklearn.feature_extraction._hashing_fast.transform (alternate_sign=False).
            h = murmurhash3_32(token, seed=0, positive=False)
            col = (
                (2147483647 - (self.n_features - 1)) % self.n_features
                if h == -2147483648
                else abs(h) % self.n_features
            )
            col += self.offset
            if len(self._cache) < 500_000:
                self._cache[token] = col
        return col

    def one(self, text: str) -> tuple[list[int], list[float]]:
        counts = Counter(self.column(t) for t in self.analyzer(text))
        if not counts:
            return [], []
        norm = float(np.sqrt(sum(c * c for c in counts.values())))
        return list(counts.keys()), [c / norm for c in counts.values()]


class Featurizer:
    """Stateless request featurizer: batch (sklearn) and single-request (cached) paths give equal vectors."""

    def __init__(self, config: FeaturizerConfig | None = None) -> None:
        self.config = config or FeaturizerConfig()
        c = self.config
        word = HashingVectorizer(
            n_features=c.word_features, ngram_range=(1, c.word_ngram_max), alternate_sign=False, norm="l2"
        )
        char = HashingVectorizer(
            n_features=c.char_features,
            analyzer="char_wb",
            ngram_range=(c.char_ngram_min, c.char_ngram_max),
            alternate_sign=False,
            norm="l2",
        )
        self._word = _HashBlock(word, 0)
        self._char = _HashBlock(char, c.word_features)

    @property
    def n_features(self) -> int:
        """Width of the feature vector."""
        return self.config.n_features

    @staticmethod
    def texts(query: str, context: RequestContext) -> tuple[str, str]:
        """The (word text, char text) pair a request is hashed from."""
        return f"{query} {context.tokens()}", query

    def transform(self, queries: Sequence[str], contexts: Iterable[RequestContext]) -> sp.csr_matrix:
        """Featurize many requests at once (training and batch evaluation)."""
        ctx = list(contexts)
        if len(ctx) != len(queries):
            raise ValueError(f"got {len(queries)} queries but {len(ctx)} contexts; pass one context per query")
        if not queries:  # sklearn's hasher cannot take an empty batch
            return sp.csr_matrix((0, self.n_features), dtype=np.float64)
        words = [f"{q} {c.tokens()}" for q, c in zip(queries, ctx, strict=True)]
        left = self._word.vectorizer.transform(words)
        right = self._char.vectorizer.transform(list(queries))
        return sp.hstack([left, right], format="csr", dtype=np.float64)

    def transform_one(self, query: str, context: RequestContext) -> tuple[np.ndarray, np.ndarray]:
        """Featurize one request: (column indices, values) of its sparse row, equal to ``transform``'s row."""
        word_text, char_text = self.texts(query, context)
        wi, wv = self._word.one(word_text)
        ci, cv = self._char.one(char_text)
        return np.asarray(wi + ci, dtype=np.int64), np.asarray(wv + cv, dtype=np.float64)

    def transform_rows(self, queries: Sequence[str], contexts: Iterable[RequestContext]) -> dict[str, Any]:
        """Featurize a batch into per-row ``indices``/``values`` arrays (what a Ray Data block can hold)."""
        m = self.transform(queries, contexts)
        bounds = m.indptr
        indices = [m.indices[bounds[i] : bounds[i + 1]].astype(np.int32) for i in range(m.shape[0])]
        values = [m.data[bounds[i] : bounds[i + 1]].astype(np.float32) for i in range(m.shape[0])]
        return {"indices": indices, "values": values}

    def rows_to_csr(self, indices: Sequence[np.ndarray], values: Sequence[np.ndarray]) -> sp.csr_matrix:
        """Re-assemble ``transform_rows`` output into one CSR matrix for fitting."""
        lengths = np.fromiter((len(r) for r in indices), dtype=np.int64, count=len(indices))
        indptr = np.zeros(len(indices) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        cols = np.concatenate(indices).astype(np.int32) if len(indices) else np.zeros(0, np.int32)
        data = np.concatenate(values).astype(np.float64) if len(values) else np.zeros(0)
        return sp.csr_matrix((data, cols, indptr), shape=(len(indices), self.n_features))
