"""Tools benchmark: BM25 index build vs cached load, search latency and hit@5, document-store retrieval.

Every figure is measured in this one run against a baseline measured in the same run, and printed as a ratio:

* index: cold build of the two-field BM25 index over the embedded corpus vs loading it from the disk cache;
* search: this provider (title + body fields, stemming, question stopwords) vs a plain one-field bm25s index
  over title + text with bm25s's default English stopwords and no stemmer (latency per query and hit@5 over
  22 questions whose right article is known);
* store: DocumentStore.retrieve (SQLite + sqlite-vec, exact KNN) vs a NumPy brute-force dot product over the
  same vectors, with a fast hashing embedder so the embedder's cost does not hide the store's.

    python benchmarks/bench_tools.py [--rounds 5] [--chunks 5000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import statistics
import tempfile
import time
from pathlib import Path

import bm25s
import numpy as np

from mm_orch.tools import DocumentStore, LocalWikiSearch, SearchConfig, load_corpus
from mm_orch.tools.bm25_index import FieldedBM25

# question -> titles that count as a hit; the same file tests/tools/test_tools_search_quality.py checks
QUESTIONS: dict[str, set[str]] = {
    q: set(titles)
    for q, titles in json.loads(
        (Path(__file__).resolve().parents[1] / "data" / "search" / "questions.json").read_text()
    ).items()
}


class HashingEmbedder:
    model_id = "hashing-256"

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 256), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % 256] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def median_time(fn, rounds: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_index(rounds: int) -> LocalWikiSearch:
    corpus = load_corpus()
    with tempfile.TemporaryDirectory() as tmp:
        titles = [a.title for a in corpus.articles]
        bodies = [f"{a.title}. {a.description}. {a.extract}" for a in corpus.articles]
        build = median_time(lambda: FieldedBM25.build(titles, bodies, show_progress=False), max(1, rounds // 2))
        FieldedBM25.build(titles, bodies, show_progress=False).save(Path(tmp) / "idx")
        load = median_time(lambda: FieldedBM25.load(Path(tmp) / "idx"), rounds)
    print(f"index  build (cold)    {build * 1000:9.1f} ms   [{len(corpus)} articles]")
    print(f"index  load (cached)   {load * 1000:9.1f} ms   build/load = {build / load:.1f}x")
    search = LocalWikiSearch(SearchConfig(cache_dir=Path(tempfile.mkdtemp()), show_progress=False))
    search.warm_up()
    return search


def bench_search(search: LocalWikiSearch, rounds: int) -> None:
    corpus = search.corpus
    plain = bm25s.BM25()
    texts = [f"{a.title} {a.extract}" for a in corpus.articles]
    plain.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)

    def plain_search(q: str, k: int = 5) -> list[str]:
        docs, _ = plain.retrieve(
            bm25s.tokenize([q], stopwords="en", show_progress=False), k=k, show_progress=False
        )
        return [corpus.articles[int(i)].title for i in docs[0]]

    def ours(q: str, k: int = 5) -> list[str]:
        return [r.title for r in search.search(q, k)]

    qs = list(QUESTIONS)
    t_plain = median_time(lambda: [plain_search(q) for q in qs], rounds) / len(qs)
    t_ours = median_time(lambda: [ours(q) for q in qs], rounds) / len(qs)
    hit_plain = sum(bool(set(plain_search(q)) & ok) for q, ok in QUESTIONS.items())
    hit_ours = sum(bool(set(ours(q)) & ok) for q, ok in QUESTIONS.items())
    print(f"search plain bm25s     {t_plain * 1000:9.3f} ms/query   hit@5 {hit_plain}/{len(qs)}")
    print(
        f"search LocalWikiSearch {t_ours * 1000:9.3f} ms/query   hit@5 {hit_ours}/{len(qs)}   "
        f"latency ratio ours/plain = {t_ours / t_plain:.2f}"
    )


def bench_store(chunks: int, rounds: int) -> None:
    corpus = load_corpus()
    embedder = HashingEmbedder()
    texts = [a.extract[:400] for a in corpus.articles[:chunks]]
    with tempfile.TemporaryDirectory() as tmp:
        store = DocumentStore(Path(tmp) / "s.sqlite", embedder, chunk_chars=1000, chunk_overlap=0)
        start = time.perf_counter()
        store.ingest_texts(texts, "bench")
        ingest = time.perf_counter() - start
        matrix = embedder.embed(texts)
        queries = list(QUESTIONS)
        t_store = median_time(lambda: [store.retrieve(q, "bench", 5) for q in queries], rounds) / len(queries)

        def brute() -> None:
            for q in queries:
                scores = matrix @ embedder.embed([q])[0]
                np.argsort(-scores)[:5]

        t_numpy = median_time(brute, rounds) / len(queries)
        store.close()
    print(f"store  ingest          {ingest:9.2f} s    [{len(texts)} chunks, {len(texts) / ingest:.0f} chunks/s]")
    print(f"store  numpy brute     {t_numpy * 1000:9.3f} ms/query")
    print(f"store  retrieve        {t_store * 1000:9.3f} ms/query   ratio store/numpy = {t_store / t_numpy:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--chunks", type=int, default=5000)
    args = parser.parse_args()
    search = bench_index(args.rounds)
    bench_search(search, args.rounds)
    bench_store(args.chunks, args.rounds)


if __name__ == "__main__":
    main()
