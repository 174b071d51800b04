"""``LocalWikiSearch``: the embedded, offline search provider over the local Wikipedia corpus.

Lexical search is the two-field BM25 of :mod:`mm_orch.tools.bm25_index`. With an embedder and ``hybrid=True`` the
BM25 ranking is fused with a dense ranking (cosine similarity of unit vectors) by reciprocal rank fusion
(``score = sum 1 / (rrf_k + rank)``; Cormack et al. 2009), which needs no score calibration between the two.

Indexes are built once, with progress bars, and cached under ``<cache dir>/wiki_search/``; the directory name
carries a hash of the corpus file, so a changed corpus gets a fresh index. Document vectors are cached as a plain
``.npy`` file loaded with ``allow_pickle=False``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from mm_orch.console import progress
from mm_orch.hashing import sha256_hex
from mm_orch.tools.bm25_index import INDEX_FORMAT, STOPWORDS, FieldedBM25, make_stemmer
from mm_orch.tools.config import SearchConfig, resolve_cache_dir
from mm_orch.tools.entities import TitleIndex, entity_query
from mm_orch.tools.errors import SearchError
from mm_orch.tools.types import Embedder, SearchResult
from mm_orch.tools.wiki_corpus import WikiArticle, WikiCorpus, load_corpus

__all__ = ["LocalWikiSearch", "embedder_id", "query_snippet", "reciprocal_rank_fusion", "snippet_of"]

log = logging.getLogger(__name__)

SOURCE = "local_wiki"
_EMBED_BATCH = 64
# What is embedded per article: title, short description and the lead's opening, about 45 tokens. Questions
# match an article by what it is about, which these say; the full 256-token window cost 4x the time on a
# 2-core CPU (the corpus is embedded once, but that once must stay short).
_EMBED_CHARS = 200
_EMBED_FORMAT = 2  # bump when the embedded text changes: cached vectors are then rebuilt


def reciprocal_rank_fusion(
    rankings: list[list[int]], *, k: int = 60, weights: Sequence[float] | None = None
) -> list[tuple[int, float]]:
    """Fuse ranked lists of document indices; returns ``(doc, score)`` best first (ties: lower index first).

    ``score = sum weight / (k + rank)``; every ranking weighs 1.0 unless ``weights`` says otherwise.
    """
    fused: dict[int, float] = {}
    for index, ranking in enumerate(rankings):
        weight = 1.0 if weights is None else float(weights[index])
        for rank, doc in enumerate(ranking, start=1):
            fused[doc] = fused.get(doc, 0.0) + weight / (k + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def snippet_of(text: str, max_chars: int) -> str:
    """``text`` cut at a word boundary to at most ``max_chars`` characters (with an ellipsis when cut)."""
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > max_chars // 2 else cut).rstrip(" ,;:") + "…"


_STOPWORD_SET = frozenset(STOPWORDS)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9])")
_WORD = re.compile(r"[a-z0-9]+")


def query_snippet(
    text: str, query_terms: set[str], max_chars: int, stem: Callable[[list[str]], list[str]] | None = None
) -> str:
    """A query-biased snippet, as web search engines show: the lead sentence plus the sentences that share
    the most query terms, in article order, within ``max_chars``.

    ``query_terms`` are (stemmed) query words without stopwords. With no overlap, or a short text, this is
    :func:`snippet_of`. A snippet-only workflow answers from this text, so the sentence holding the answer
    ("Its capital ... is Paris") must make it in even when it is not the first one.
    """
    text = " ".join(text.split())
    sentences = _SENTENCE_END.split(text)
    if len(text) <= max_chars or len(sentences) < 2 or not query_terms:
        return snippet_of(text, max_chars)

    def overlap(sentence: str) -> int:
        words = _WORD.findall(sentence.lower())
        return len(set(stem(words) if stem else words) & query_terms)

    scores = [overlap(sent) for sent in sentences]
    scores[0] += 1  # the lead sentence says what the article is about
    chosen: list[int] = []
    used = 0
    for i in sorted(range(len(sentences)), key=lambda i: (-scores[i], i)):
        if scores[i] <= 0:
            break
        cost = len(sentences[i]) + (1 if chosen else 0)
        if used + cost <= max_chars:
            chosen.append(i)
            used += cost
    if not chosen:
        return snippet_of(text, max_chars)
    return " ".join(sentences[i] for i in sorted(chosen))


def _embed_text(article: WikiArticle) -> str:
    head = f"{article.title}. {article.description}. " if article.description else f"{article.title}. "
    return snippet_of(head + article.extract, _EMBED_CHARS)


def is_proper_name(article: WikiArticle) -> bool:
    """Whether ``article`` is about a proper noun: its lead never writes its title in lower case (*Ecuador*,
    *Taj Mahal*), unlike common nouns (*Pope*: "The pope is ...", *War*: "... a war ...")."""
    base = article.title.split(" (", 1)[0]
    if base.lower().startswith("the "):
        base = base[4:]
    lower = base.lower()
    return lower != base and re.search(rf"\b{re.escape(lower)}\b", article.extract) is None


def embedder_id(embedder: Embedder) -> str:
    """A stable name for an embedder, used to key cached vectors (model id/name attribute, else class name)."""
    for attr in ("model_id", "model_name", "name"):
        value = getattr(embedder, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(embedder).__qualname__


def _top(scores: np.ndarray, n: int, *, positive_only: bool) -> list[int]:
    n = min(n, scores.shape[0])
    if n <= 0:
        return []
    idx = np.argpartition(-scores, n - 1)[:n]
    idx = idx[np.lexsort((idx, -scores[idx]))]  # by score desc, then index asc: deterministic
    return [int(i) for i in idx if not positive_only or scores[i] > 0]


class LocalWikiSearch:
    """Offline search over the local Wikipedia corpus. Cheap to construct; :meth:`warm_up` loads or builds."""

    def __init__(self, config: SearchConfig | None = None, *, embedder: Embedder | None = None) -> None:
        self.config = config or SearchConfig()
        if self.config.provider != "local_wiki":
            raise SearchError(f"LocalWikiSearch needs provider 'local_wiki', got {self.config.provider!r}")
        if self.config.hybrid and embedder is None:
            from mm_orch.tools.embedders import SentenceTransformerEmbedder

            embedder = SentenceTransformerEmbedder()  # the embedded all-MiniLM-L6-v2, loaded on first embed
        self.embedder = embedder
        self._titles: TitleIndex | None = None
        self._lock = threading.Lock()
        self._corpus: WikiCorpus | None = None
        self._bm25: FieldedBM25 | None = None
        self._vectors: np.ndarray | None = None
        self._stem, _ = make_stemmer()

    @property
    def hybrid(self) -> bool:
        return self.config.hybrid and self.embedder is not None

    @property
    def corpus(self) -> WikiCorpus:
        """The corpus (loaded on first use)."""
        if self._corpus is None:
            self._corpus = load_corpus(self.config.corpus_path)
        return self._corpus

    def cache_root(self) -> Path:
        return resolve_cache_dir(self.config.cache_dir) / "wiki_search"

    def warm_up(self) -> None:
        """Load the corpus and the cached index, building and caching whatever is missing (once)."""
        with self._lock:
            corpus = self.corpus
            if self._bm25 is None:
                self._bm25 = self._load_or_build_bm25(corpus)
            if self._titles is None:
                self._titles = TitleIndex(corpus.titles)
            if self.hybrid and self._vectors is None:
                self._vectors = self._load_or_build_vectors(corpus)

    # --- search ------------------------------------------------------------------------------------------------

    def search(self, query: str, k: int | None = None) -> list[SearchResult]:
        """The ``k`` (default ``config.k``) most relevant articles for ``query``, best first.

        Rankings fused by reciprocal rank fusion: BM25 of the query; with ``entity_rewrite``, BM25 of its names
        alone (:func:`~mm_orch.tools.entities.entity_query`) and the articles whose titles are spans of the
        query (:class:`~mm_orch.tools.entities.TitleIndex`); with ``hybrid``, the dense ranking. With nothing
        to fuse the BM25 order and scores are returned as they are.
        """
        k = k or self.config.k
        if not query.strip() or not self._query_terms(query):
            return []  # nothing but stopwords: no ranking means anything
        self.warm_up()
        assert self._bm25 is not None
        assert self._titles is not None
        corpus = self.corpus
        bm25 = self._bm25.scores(query, title_weight=self.config.title_weight)
        pool = max(50, 5 * k)
        rankings = [_top(bm25, pool, positive_only=True)]
        if not rankings[0]:
            return []  # no query word is in the corpus: a dense ranking alone would be noise ("zzqxv" -> Zinc)
        weights = [1.0]
        if self.config.entity_rewrite:
            rewritten = entity_query(query)
            if rewritten:
                names = self._bm25.scores(rewritten, title_weight=self.config.title_weight)
                rankings.append(_top(names, pool, positive_only=True))
                weights.append(self.config.entity_weight)
            for match in self._titles.matches(query):
                rankings.append(list(match.articles))
                weights.append(match.weight * self.config.entity_weight)
        if self.hybrid:
            assert self._vectors is not None
            assert self.embedder is not None
            q = np.asarray(self.embedder.embed([query]), dtype=np.float32).reshape(-1)
            rankings.append(_top(self._vectors @ q, pool, positive_only=False))
            weights.append(1.0)
        if len(rankings) == 1:
            ranked = [(i, float(bm25[i])) for i in rankings[0][:k]]
        else:
            ranked = reciprocal_rank_fusion(rankings, k=self.config.rrf_k, weights=weights)[:k]
        terms = self._query_terms(query)
        return [self._result(corpus.articles[i], score, terms) for i, score in ranked]

    def titles_in(self, text: str, limit: int = 16, *, senses: int = 1) -> list[SearchResult]:
        """Articles whose titles are capitalised spans of ``text``, in text order (the links a text makes by
        naming other articles: "... by the Spanish author Miguel de Cervantes" -> *Miguel de Cervantes*).
        ``senses`` > 1 also returns the other articles a span may mean ("Philip II" -> *Philip II of France*,
        *Philip II of Macedon*), for a caller that tells them apart."""
        self.warm_up()
        assert self._titles is not None
        found: list[tuple[int, int]] = []
        for match in self._titles.matches(text):
            if match.weight < 1.0:
                continue
            position = text.find(match.span)
            for article in match.articles[: max(1, senses)]:
                found.append((position if position >= 0 else len(text), article))
        found.sort(key=lambda item: item[0])
        terms = self._query_terms(text)
        hits = [self._result(self.corpus.articles[i], 1.0, terms) for _, i in found[:limit]]
        return list({h.title: h for h in hits}.values())

    def names_in(self, text: str) -> list[str]:
        """The spans of ``text`` that name something: capitalised title spans, and lower-case ones whose article
        is about a proper noun ("what is the capital of ecuador" -> ["ecuador"]; "capital" is no name)."""
        self.warm_up()
        assert self._titles is not None
        corpus = self.corpus
        spans = []
        for match in self._titles.matches(text):
            if match.weight >= 1.0 or is_proper_name(corpus.articles[match.articles[0]]):
                spans.append((text.lower().find(match.span.lower()), match.span))
        return [span for _, span in sorted(spans)]

    def article(self, title: str) -> WikiArticle | None:
        """The corpus article with this title (exact, then case-insensitive), or None."""
        return self.corpus.get(title)

    def _query_terms(self, query: str) -> set[str]:
        words = [w for w in _WORD.findall(query.lower()) if w not in _STOPWORD_SET]
        return set(self._stem(words) if self._stem else words)

    async def asearch(self, query: str, k: int | None = None) -> list[SearchResult]:
        """:meth:`search` in a worker thread, so the event loop stays free."""
        return await asyncio.to_thread(self.search, query, k)

    def _result(self, article: WikiArticle, score: float, terms: set[str]) -> SearchResult:
        return SearchResult(
            title=article.title,
            url=article.url,
            snippet=query_snippet(article.extract, terms, self.config.snippet_chars, self._stem),
            score=round(float(score), 6),
            doc_id=article.title,
            source=SOURCE,
        )

    # --- index building ----------------------------------------------------------------------------------------

    def _load_or_build_bm25(self, corpus: WikiCorpus) -> FieldedBM25:
        _, stem_tag = make_stemmer()
        directory = self.cache_root() / f"bm25-{corpus.sha256[:16]}-f{INDEX_FORMAT}-{stem_tag}"
        expect = {"n_docs": len(corpus), "corpus_sha256": corpus.sha256}
        index = FieldedBM25.load(directory, expect=expect)
        if index is not None:
            log.debug("Loaded BM25 index from %s", directory)
            return index
        shutil.rmtree(directory, ignore_errors=True)  # stale or broken: replace it
        log.info("Building the BM25 index over %d articles (once; cached in %s)", len(corpus), directory)
        titles = [a.title for a in corpus.articles]
        bodies = [f"{a.title}. {a.description}. {a.extract}" for a in corpus.articles]
        with progress(self.config.show_progress) as bar:
            bar.add_task(f"Building the search index over {len(corpus):,} articles (first run only)", total=None)
            index = FieldedBM25.build(titles, bodies, show_progress=False)
        index.save(directory, extra_meta={"corpus_sha256": corpus.sha256})
        return index

    def _embedding_dimension(self) -> int:
        """The embedder's vector length, probed with one text: a cache keyed by a model's name alone cannot tell
        two models that share a name (a test double called like the real one) apart, their widths can."""
        assert self.embedder is not None
        return int(np.asarray(self.embedder.embed(["dimension probe"]), dtype=np.float32).reshape(1, -1).shape[1])

    def _load_or_build_vectors(self, corpus: WikiCorpus) -> np.ndarray:
        assert self.embedder is not None
        model = sha256_hex(embedder_id(self.embedder))[:12]
        file = self.cache_root() / f"vectors-{corpus.sha256[:16]}-{model}-e{_EMBED_FORMAT}.npy"
        if file.is_file():
            try:
                vectors = np.load(file, allow_pickle=False)
                if (
                    vectors.ndim == 2
                    and vectors.shape[0] == len(corpus)
                    and vectors.dtype == np.float32
                    and vectors.shape[1] == self._embedding_dimension()
                ):
                    return vectors
                log.warning("Cached vectors %s have shape %s; rebuilding", file, vectors.shape)
            except (OSError, ValueError) as err:
                log.warning("Cached vectors %s are unreadable (%s); rebuilding", file, err)
        texts = [_embed_text(a) for a in corpus.articles]
        parts = []
        with progress(self.config.show_progress) as bar:
            task = bar.add_task(f"Embedding {len(texts):,} articles (first run only)", total=len(texts))
            for start in range(0, len(texts), _EMBED_BATCH):
                batch = texts[start : start + _EMBED_BATCH]
                parts.append(np.asarray(self.embedder.embed(batch), dtype=np.float32))
                bar.advance(task, len(batch))
        vectors = np.ascontiguousarray(np.vstack(parts), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors /= np.where(norms == 0, 1.0, norms)  # defensive: the protocol promises unit rows
        file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{file.name}.", suffix=".npy", dir=file.parent)
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, vectors, allow_pickle=False)
        os.replace(tmp, file)
        return vectors
