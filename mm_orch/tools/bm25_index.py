"""A two-field BM25 index (title and body) built with ``bm25s`` and cached on disk without pickle.

A document's score is ``bm25(body) + title_weight * bm25(title)``: a query word that appears in the title counts
again, so "What is Python?" ranks articles *named* Python above articles that merely mention it.

Tokenisation is bm25s's (scikit-learn style word regex, lower case) with bm25s's extended English stopword list
(which also drops question words such as "who" and "what", so "Who wrote Hamlet?" does not rank "Doctor Who")
plus a few request verbs, and the Snowball English stemmer from PyStemmer when it is installed (a missing
PyStemmer only disables stemming).

On disk an index is a directory holding bm25s's own files (``.npy`` arrays saved with ``allow_pickle=False`` and
JSON vocab/params) for each field, plus ``meta.json``; loading passes ``allow_pickle=False`` so nothing is ever
unpickled. Directories are written to a temporary sibling and renamed into place, so a crash or two processes
building at once never leave a half-written index behind.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import bm25s
import numpy as np
from bm25s.stopwords import STOPWORDS_EN_PLUS

from mm_orch.tools.errors import SearchError

__all__ = ["INDEX_FORMAT", "STOPWORDS", "FieldedBM25", "make_stemmer", "tokenize"]

log = logging.getLogger(__name__)

INDEX_FORMAT = 2  # bump when tokenisation or the on-disk layout changes: old caches are then rebuilt
_FIELDS = ("title", "body")
STOPWORDS = sorted({*STOPWORDS_EN_PLUS, "whose", "tell", "explain", "describe"})


def make_stemmer() -> tuple[Callable[[list[str]], list[str]] | None, str]:
    """The English Snowball stemmer and its cache tag, or ``(None, 'nostem')`` without PyStemmer."""
    try:
        import Stemmer  # PyStemmer
    except ImportError:  # pragma: no cover - PyStemmer is a declared dependency
        log.warning("PyStemmer is not installed: BM25 runs without stemming (pip install PyStemmer)")
        return None, "nostem"
    return Stemmer.Stemmer("english").stemWords, "snowball-en"


def tokenize(
    texts: Sequence[str], stemmer: Callable[[list[str]], list[str]] | None, *, show_progress: bool = False
) -> list[list[str]]:
    """Tokens of each text: lower case, English stopwords removed, stemmed when a stemmer is given."""
    out = bm25s.tokenize(
        list(texts), stopwords=STOPWORDS, stemmer=stemmer, return_ids=False, show_progress=show_progress
    )
    return [list(doc) for doc in out]


class FieldedBM25:
    """BM25 over a title field and a body field of the same documents (same order in both)."""

    def __init__(self, indexes: dict[str, bm25s.BM25], *, n_docs: int, stem_tag: str) -> None:
        self._indexes = indexes
        self.n_docs = n_docs
        self.stem_tag = stem_tag
        self._stemmer, tag = make_stemmer()
        if tag != stem_tag:
            raise SearchError(
                f"Index was built with stemmer {stem_tag!r} but this process has {tag!r}; rebuild it"
            )

    @classmethod
    def build(cls, titles: Sequence[str], bodies: Sequence[str], *, show_progress: bool = True) -> FieldedBM25:
        """Tokenise and index both fields; shows bm25s's progress bars when ``show_progress``."""
        if len(titles) != len(bodies):
            raise ValueError(f"titles ({len(titles)}) and bodies ({len(bodies)}) must have the same length")
        stemmer, tag = make_stemmer()
        indexes: dict[str, bm25s.BM25] = {}
        for field, texts in zip(_FIELDS, (titles, bodies), strict=True):
            tokens = tokenize(texts, stemmer, show_progress=show_progress)
            index = bm25s.BM25()
            index.index(tokens, show_progress=show_progress)
            indexes[field] = index
        return cls(indexes, n_docs=len(titles), stem_tag=tag)

    def scores(self, query: str, *, title_weight: float = 1.0) -> np.ndarray:
        """BM25 score of every document for ``query`` (float32, length ``n_docs``; all zero if nothing matches)."""
        tokens = tokenize([query], self._stemmer)[0]
        total = np.zeros(self.n_docs, dtype=np.float32)
        if not tokens:
            return total
        for field, weight in (("body", 1.0), ("title", title_weight)):
            index = self._indexes[field]
            if weight == 0 or not index.get_tokens_ids(tokens):
                continue  # bm25s cannot score a query with no in-vocabulary token
            total += weight * np.asarray(index.get_scores(tokens), dtype=np.float32)
        return total

    # --- persistence -------------------------------------------------------------------------------------------

    def save(self, directory: Path, *, extra_meta: dict[str, object] | None = None) -> None:
        """Write the index to ``directory`` atomically (temp dir + rename); an existing one is kept."""
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
        try:
            for field, index in self._indexes.items():
                index.save(str(tmp / field), allow_pickle=False, show_progress=False)
            meta = {"format": INDEX_FORMAT, "n_docs": self.n_docs, "stem_tag": self.stem_tag, **(extra_meta or {})}
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
            try:
                os.rename(tmp, directory)
            except OSError:
                if not (directory / "meta.json").is_file():
                    raise
                # another process finished first; its index is equivalent
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path, *, expect: dict[str, object] | None = None) -> FieldedBM25 | None:
        """Load an index saved by :meth:`save`; ``None`` when absent, stale or unreadable (caller rebuilds)."""
        meta_file = directory / "meta.json"
        if not meta_file.is_file():
            return None
        try:
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
            wanted = {"format": INDEX_FORMAT, **(expect or {})}
            if any(meta.get(key) != value for key, value in wanted.items()):
                log.info("BM25 cache %s is stale (%s); rebuilding", directory, meta)
                return None
            indexes = {
                field: bm25s.BM25.load(str(directory / field), allow_pickle=False, mmap=False, show_progress=False)
                for field in _FIELDS
            }
            return cls(indexes, n_docs=int(meta["n_docs"]), stem_tag=str(meta["stem_tag"]))
        except (OSError, ValueError, KeyError, SearchError) as err:
            log.warning("BM25 cache %s is unreadable (%s); rebuilding", directory, err)
            return None
