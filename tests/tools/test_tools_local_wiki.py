"""LocalWikiSearch: results, caching on disk without pickle, rebuild on corpus change, hybrid fusion."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mm_orch.exceptions import ConfigError
from mm_orch.tools import (
    LocalWikiSearch,
    SearchConfig,
    SearchError,
    SearchResult,
    build_search_provider,
    reciprocal_rank_fusion,
    resolve_cache_dir,
    wiki_url,
)
from mm_orch.tools.bm25_index import FieldedBM25
from mm_orch.tools.local_wiki import snippet_of
from mm_orch.tools.wiki_corpus import load_corpus, title_from_wiki_url


def _search(corpus: Path, cache: Path, **kw: object) -> LocalWikiSearch:
    return LocalWikiSearch(SearchConfig(corpus_path=corpus, cache_dir=cache, show_progress=False, **kw))  # type: ignore[arg-type]


def test_result_fields_on_real_corpus(wiki_search: LocalWikiSearch) -> None:
    results = wiki_search.search("Who painted the Mona Lisa?", k=3)
    assert len(results) == 3
    top = results[0]
    assert isinstance(top, SearchResult)
    assert (top.title, top.doc_id, top.source) == ("Mona Lisa", "Mona Lisa", "local_wiki")
    assert top.url == "https://en.wikipedia.org/wiki/Mona_Lisa"
    assert "Leonardo" in top.snippet
    assert len(top.snippet) <= 320
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    assert top.score > 0


def test_k_and_default_k(wiki_search: LocalWikiSearch) -> None:
    assert len(wiki_search.search("war", k=7)) == 7
    assert len(wiki_search.search("war")) == 5  # SearchConfig.k


def test_empty_and_unmatched_queries_return_nothing(wiki_search: LocalWikiSearch) -> None:
    assert wiki_search.search("   ") == []
    assert wiki_search.search("the of and") == []  # only stopwords
    assert wiki_search.search("zzqxv qqqxj") == []  # no word in the vocabulary


def test_asearch_matches_search(wiki_search: LocalWikiSearch) -> None:
    assert asyncio.run(wiki_search.asearch("Eiffel Tower", 3)) == wiki_search.search("Eiffel Tower", 3)


def test_index_is_cached_and_reloaded_without_rebuild(
    tiny_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    first = _search(tiny_corpus, cache)
    expected = first.search("volcano lava")
    index_dirs = list((cache / "wiki_search").glob("bm25-*"))
    assert len(index_dirs) == 1

    def no_build(*args: object, **kwargs: object) -> FieldedBM25:
        raise AssertionError("index was rebuilt although a cached one exists")

    monkeypatch.setattr(FieldedBM25, "build", classmethod(no_build))
    assert _search(tiny_corpus, cache).search("volcano lava") == expected


def test_cache_holds_no_pickles(tiny_corpus: Path, tmp_path: Path) -> None:
    _search(tiny_corpus, tmp_path).warm_up()
    files = [p for p in (tmp_path / "wiki_search").rglob("*") if p.is_file()]
    assert files, files
    assert {p.suffix for p in files} <= {".npy", ".json"}, files
    for npy in (p for p in files if p.suffix == ".npy"):
        np.load(npy, allow_pickle=False)  # raises if an object array (a pickle) were stored


def test_changed_corpus_gets_a_new_index(tiny_corpus: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert [r.title for r in _search(tiny_corpus, cache).search("volcano")][:1] == ["Volcano"]
    data = json.loads(tiny_corpus.read_text())
    data["Krakatoa"] = {"title": "Krakatoa", "extract": "Krakatoa is a volcano volcano volcano in Indonesia."}
    tiny_corpus.write_text(json.dumps(data))
    titles = [r.title for r in _search(tiny_corpus, cache).search("volcano")]
    assert "Krakatoa" in titles
    assert len(list((cache / "wiki_search").glob("bm25-*"))) == 2


def test_broken_cache_is_rebuilt(tiny_corpus: Path, tmp_path: Path) -> None:
    _search(tiny_corpus, tmp_path).warm_up()
    (index_dir,) = (tmp_path / "wiki_search").glob("bm25-*")
    (index_dir / "body" / "vocab.index.json").write_text("{not json")
    assert _search(tiny_corpus, tmp_path).search("piano")[0].title == "Piano"


def test_title_weight_favours_title_matches(tiny_corpus: Path, tmp_path: Path) -> None:
    # "volcano" is in both extracts; only one article is *named* Volcano
    titles = [r.title for r in _search(tiny_corpus, tmp_path, title_weight=2.0).search("volcano")]
    assert titles[:2] == ["Volcano", "Lava"]


def test_cache_dir_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MM_ORCH_CACHE_DIR", str(tmp_path / "env"))
    assert resolve_cache_dir() == tmp_path / "env"
    assert resolve_cache_dir(tmp_path / "explicit") == tmp_path / "explicit"
    monkeypatch.delenv("MM_ORCH_CACHE_DIR")
    assert resolve_cache_dir().name == "mm-orch"


def test_wiki_url_round_trips_every_corpus_title() -> None:
    corpus = load_corpus()
    for article in corpus.articles:
        assert title_from_wiki_url(wiki_url(article.title)) == article.title
        assert corpus.get_by_url(wiki_url(article.title)) is article
    assert wiki_url("Café Müller") == "https://en.wikipedia.org/wiki/Caf%C3%A9_M%C3%BCller"
    assert title_from_wiki_url("https://example.org/wiki/Paris") is None


def test_bad_corpus_file_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"name": "no title"}]))
    with pytest.raises(SearchError, match="not a valid corpus"):
        load_corpus(bad)
    with pytest.raises(ConfigError, match="Cannot read corpus file"):
        load_corpus(tmp_path / "missing.json")


def test_reciprocal_rank_fusion() -> None:
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1, 4]], k=60)
    assert [doc for doc, _ in fused] == [1, 3, 2, 4]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    assert reciprocal_rank_fusion([]) == []


def test_snippet_cuts_at_word_boundary() -> None:
    text = "alpha beta gamma delta " * 30
    cut = snippet_of(text, 50)
    assert len(cut) <= 50
    assert cut.endswith("…")
    assert not cut[:-1].endswith(" ")
    assert snippet_of("short  text", 50) == "short text"


def test_hybrid_without_an_embedder_uses_the_embedded_minilm() -> None:
    search = build_search_provider(SearchConfig(hybrid=True))
    assert isinstance(search, LocalWikiSearch)
    assert search.hybrid
    assert "minilm" in getattr(search.embedder, "model_id", "").lower()


def test_hybrid_fuses_dense_ranking(tiny_corpus: Path, tmp_path: Path, hashing_embedder: object) -> None:
    search = LocalWikiSearch(
        SearchConfig(corpus_path=tiny_corpus, cache_dir=tmp_path, hybrid=True, show_progress=False),
        embedder=hashing_embedder,  # type: ignore[arg-type]
    )
    results = search.search("molten rock eruption", k=3)
    assert results[0].title == "Lava"
    assert all(0 < r.score <= round(2 / 61, 6) for r in results)  # RRF scores
    assert search.search("zzqxv qqqxj") == []  # no word in the corpus: the dense ranking alone is not trusted
    vectors = list((tmp_path / "wiki_search").glob("vectors-*.npy"))
    assert len(vectors) == 1
    assert np.load(vectors[0], allow_pickle=False).shape == (7, 64)


@pytest.mark.integration
def test_hybrid_with_real_embedder_finds_paraphrase(tiny_corpus: Path, tmp_path: Path, minilm: object) -> None:
    hybrid = LocalWikiSearch(
        SearchConfig(corpus_path=tiny_corpus, cache_dir=tmp_path, hybrid=True, show_progress=False),
        embedder=minilm,  # type: ignore[arg-type]
    )
    question = "Which animal barks and descends from wolves?"  # BM25 sees only "wolves"/"barks"/"animal"
    assert "Dog" in [r.title for r in hybrid.search(question, k=2)]
    assert hybrid.search("coding language for software", k=1)[0].title == "Python (programming language)"
    calls = minilm.calls  # type: ignore[attr-defined]
    LocalWikiSearch(
        SearchConfig(corpus_path=tiny_corpus, cache_dir=tmp_path, hybrid=True, show_progress=False),
        embedder=minilm,  # type: ignore[arg-type]
    ).warm_up()
    assert minilm.calls == calls + 1  # type: ignore[attr-defined]  # one dimension probe; vectors from the .npy


def test_cached_vectors_of_another_width_are_rebuilt_even_under_the_same_model_name(
    tiny_corpus: Path, tmp_path: Path, hashing_embedder_cls: Any
) -> None:
    config = SearchConfig(corpus_path=tiny_corpus, cache_dir=tmp_path, hybrid=True, show_progress=False)
    narrow = hashing_embedder_cls(dim=32, name="embedder")
    LocalWikiSearch(config, embedder=narrow).warm_up()
    wide = hashing_embedder_cls(dim=384, name="embedder")  # a different model answering to the same name
    search = LocalWikiSearch(config, embedder=wide)
    assert search.search("molten rock eruption", k=1)[0].title == "Lava"
    assert sum(len(texts) for texts in wide.calls) > 7  # the corpus was embedded again, not loaded
    (cached,) = (tmp_path / "wiki_search").glob("vectors-*.npy")
    assert np.load(cached, allow_pickle=False).shape == (7, 384)


def test_snippets_are_query_biased_and_keep_the_answer_sentence() -> None:
    from mm_orch.tools.local_wiki import query_snippet

    text = (
        "France is a country in Western Europe. It has many regions and a long coastline. "
        "Its capital and largest city is Paris. The currency is the euro."
    )
    snippet = query_snippet(text, {"capital", "franc"}, 90)
    assert snippet == "France is a country in Western Europe. Its capital and largest city is Paris."
    assert query_snippet(text, set(), 40) == snippet_of(text, 40)  # no query terms: the plain lead cut
    assert query_snippet("Short text.", {"x"}, 90) == "Short text."


def test_search_snippet_holds_the_sentence_that_answers() -> None:
    top = LocalWikiSearch(SearchConfig(show_progress=False)).search("What is the capital of France?", 3)[0]
    assert top.title == "France"
    assert "Paris" in top.snippet
    assert len(top.snippet) <= 320
