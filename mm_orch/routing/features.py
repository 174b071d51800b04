"""Request -> feature vector, shared by training (batch) and routing (one request at a time).

A request becomes two texts: a *word* text (the question plus context tokens such as ``ctxmodechat`` or
``ctxdocs``) and a *char* text (the question alone). Each is hashed with scikit-learn's stateless
:class:`~sklearn.feature_extraction.text.HashingVectorizer` (no vocabulary, so Ray workers featurize shards
independently), and the two blocks are stacked side by side. When the config names an ``embedding`` model, a
third, dense block follows: the question's sentence embedding (all-MiniLM-L6-v2, 384 values) times
``embedding_weight``.

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

__all__ = [
    "Analysis",
    "Featurizer",
    "FeaturizerConfig",
    "RequestContext",
    "context_from_metadata",
    "context_from_request",
]


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
        # Attached documents are a collection for this request: the curated data labels only
        # ``has_collection``, so that is the token the model has learnt for both.
        if self.has_collection or self.has_documents:
            parts.append("ctxcollection")
        if self.has_documents:
            parts.append("ctxdocs")
        if self.history_turns > 0:
            parts.append("ctxhistory")
            parts.append(f"ctxhist{min(self.history_turns, 4)}")
        return " ".join(parts)


def _truthy(value: object) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "y"}


def context_from_request(request: UserRequest) -> RequestContext:
    """The router context of a live request (``context["has_collection"]``: the user has ingested documents)."""
    return RequestContext(
        mode=request.mode,
        has_collection=bool(request.collection) or _truthy(request.context.get("has_collection", False)),
        has_documents=bool(request.documents),
        history_turns=len(request.history),
    )


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


@dataclass(frozen=True, slots=True)
class Analysis:
    """One request through the hashing featurizer: its sparse row, and per block its tokens' columns."""

    columns: np.ndarray
    values: np.ndarray
    tokens: list[tuple[str, dict[str, int]]]

    def names(self, columns: Iterable[int]) -> dict[int, str]:
        """A token naming each of ``columns`` (``chars:`` marks character n-grams; first token on a collision)."""
        want = set(columns)
        out: dict[int, str] = {}
        for prefix, cols in self.tokens:
            for token, col in cols.items():
                if col in want and col not in out:
                    out[col] = prefix + token
        return out


class FeaturizerConfig(BaseModel):
    """How requests are hashed into features; stored in each model's manifest so routing matches training."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    word_features: int = Field(default=2**17, gt=0, description="Hash buckets for word n-grams.")
    char_features: int = Field(default=2**17, gt=0, description="Hash buckets for character n-grams.")
    word_ngram_max: int = Field(default=2, ge=1, le=3, description="Longest word n-gram.")
    char_ngram_min: int = Field(default=3, ge=1, le=6, description="Shortest character n-gram (char_wb).")
    char_ngram_max: int = Field(default=4, ge=1, le=6, description="Longest character n-gram (char_wb).")
    embedding: str | None = Field(
        default=None,
        description="Model-manager embedder whose sentence embedding is appended (None: n-grams only).",
    )
    embedding_dim: int = Field(default=0, ge=0, description="Width of the embedding block (0 without embedding).")
    embedding_int8: bool = Field(
        default=False, description="The embedding block comes from the int8 copy of the embedder (faster on CPU)."
    )
    embedding_weight: float = Field(default=1.0, gt=0, description="Scale of the embedding block vs the n-grams.")
    embedding_probe: list[float] = Field(
        default_factory=list, description="Probe embedding of the training embedder (refuses a different model)."
    )

    @property
    def hashed_features(self) -> int:
        """Width of the two hashed blocks."""
        return self.word_features + self.char_features

    @property
    def n_features(self) -> int:
        """Width of the stacked feature vector."""
        return self.hashed_features + self.embedding_dim


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
        self._embedder: Any = None

    @property
    def uses_embedding(self) -> bool:
        """True when the feature vector ends in a sentence-embedding block."""
        return self.config.embedding is not None and self.config.embedding_dim > 0

    @property
    def embedder(self) -> Any:
        """The :class:`~mm_orch.routing.embeddings.RouterEmbedder` of the embedding block (loaded lazily)."""
        if self._embedder is None:
            from mm_orch.routing.embeddings import get_router_embedder

            if self.config.embedding is None:
                raise ValueError("this featurizer has no embedding block (FeaturizerConfig.embedding is None)")
            self._embedder = get_router_embedder(self.config.embedding, quantized=self.config.embedding_int8)
        return self._embedder

    def dense(self, queries: Sequence[str]) -> np.ndarray:
        """The scaled embedding block of many questions (shape ``(n, embedding_dim)``)."""
        return self.embedder.encode(list(queries)) * np.float32(self.config.embedding_weight)

    def dense_one(self, query: str) -> np.ndarray:
        """The scaled embedding block of one question (cached)."""
        return self.embedder.encode_one(query) * self.config.embedding_weight

    @property
    def n_features(self) -> int:
        """Width of the feature vector."""
        return self.config.n_features

    @staticmethod
    def texts(query: str, context: RequestContext) -> tuple[str, str]:
        """The (word text, char text) pair a request is hashed from."""
        return f"{query} {context.tokens()}", query

    def transform_hashed(self, queries: Sequence[str], contexts: Iterable[RequestContext]) -> sp.csr_matrix:
        """The two hashed blocks of many requests (what the Ray pipeline computes in its workers)."""
        ctx = list(contexts)
        if len(ctx) != len(queries):
            raise ValueError(f"got {len(queries)} queries but {len(ctx)} contexts; pass one context per query")
        if not queries:  # sklearn's hasher cannot take an empty batch
            return sp.csr_matrix((0, self.config.hashed_features), dtype=np.float64)
        words = [f"{q} {c.tokens()}" for q, c in zip(queries, ctx, strict=True)]
        left = self._word.vectorizer.transform(words)
        right = self._char.vectorizer.transform(list(queries))
        return sp.hstack([left, right], format="csr", dtype=np.float64)

    def with_dense(self, hashed: sp.csr_matrix, dense: np.ndarray | None) -> sp.csr_matrix:
        """Append the (already scaled) embedding block to hashed rows; a no-op without embedding."""
        if not self.uses_embedding:
            return hashed
        if dense is None or dense.shape != (hashed.shape[0], self.config.embedding_dim):
            raise ValueError(
                f"expected an embedding block of shape ({hashed.shape[0]}, {self.config.embedding_dim}), got "
                f"{None if dense is None else dense.shape}"
            )
        return sp.hstack([hashed, sp.csr_matrix(dense.astype(np.float64))], format="csr", dtype=np.float64)

    def transform(
        self, queries: Sequence[str], contexts: Iterable[RequestContext], dense: np.ndarray | None = None
    ) -> sp.csr_matrix:
        """Featurize many requests at once (training and batch evaluation); ``dense`` skips re-embedding."""
        hashed = self.transform_hashed(queries, contexts)
        if not self.uses_embedding:
            return hashed
        if dense is None:
            dense = self.dense(queries) if len(queries) else np.zeros((0, self.config.embedding_dim), np.float32)
        return self.with_dense(hashed, dense)

    def transform_one(self, query: str, context: RequestContext) -> tuple[np.ndarray, np.ndarray]:
        """The hashed part of one request: (column indices, values), equal to ``transform_hashed``'s row."""
        word_text, char_text = self.texts(query, context)
        wi, wv = self._word.one(word_text)
        ci, cv = self._char.one(char_text)
        return np.asarray(wi + ci, dtype=np.int64), np.asarray(wv + cv, dtype=np.float64)

    def analyze_one(self, query: str, context: RequestContext) -> Analysis:
        """One analysis of one request for routing *and* explaining it: (columns, values) exactly as
        ``transform_one`` gives them, plus each block's distinct tokens and their columns (to name features)."""
        word_text, char_text = self.texts(query, context)
        idx: list[int] = []
        val: list[float] = []
        named: list[tuple[str, dict[str, int]]] = []
        for block, text, prefix in ((self._word, word_text, ""), (self._char, char_text, "chars:")):
            tokens = block.analyzer(text)
            if not tokens:
                continue
            cache, column = block._cache, block.column
            cols: dict[str, int] = {}
            for t in tokens:
                if t not in cols:
                    c = cache.get(t)
                    cols[t] = column(t) if c is None else c
            counts = Counter(map(cols.__getitem__, tokens))
            norm = float(np.sqrt(sum(c * c for c in counts.values())))
            idx.extend(counts)
            val.extend(c / norm for c in counts.values())
            named.append((prefix, cols))
        return Analysis(np.asarray(idx, dtype=np.int64), np.asarray(val, dtype=np.float64), named)

    def tokens_one(self, query: str, context: RequestContext) -> list[tuple[str, int, float]]:
        """(token, column, value) of every hashed feature of one request, for explanations."""
        word_text, char_text = self.texts(query, context)
        out: list[tuple[str, int, float]] = []
        for block, text, prefix in ((self._word, word_text, ""), (self._char, char_text, "chars:")):
            tokens = block.analyzer(text)
            counts = Counter(tokens)
            norm = float(np.sqrt(sum(c * c for c in Counter(block.column(t) for t in tokens).values()))) or 1.0
            out.extend((prefix + t, block.column(t), c / norm) for t, c in counts.items())
        return out

    def transform_rows(self, queries: Sequence[str], contexts: Iterable[RequestContext]) -> dict[str, Any]:
        """Featurize a batch into per-row ``indices``/``values`` arrays (what a Ray Data block can hold)."""
        m = self.transform_hashed(queries, contexts)
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
        return sp.csr_matrix((data, cols, indptr), shape=(len(indices), self.config.hashed_features))
