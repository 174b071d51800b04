"""SearxNG provider against a real local HTTP endpoint; the factory; the offline corpus-first fetcher."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from mm_orch.tools import (
    CorpusFetcher,
    CorpusFirstFetcher,
    FetchConfig,
    FetchError,
    LocalWikiSearch,
    SearchConfig,
    SearchError,
    SearchProvider,
    SearxNGSearch,
    build_search_provider,
)


def test_searxng_results_are_parsed_and_cut_to_k(http_server) -> None:  # type: ignore[no-untyped-def]
    provider = build_search_provider({"provider": "searxng", "url": http_server.url("/searxng")})
    assert isinstance(provider, SearxNGSearch)
    assert isinstance(provider, SearchProvider)
    results = provider.search("volcano", k=2)
    assert [r.title for r in results] == ["Volcano", "Etna"]
    assert results[0].url == results[0].doc_id == "https://example.org/volcano"
    assert results[0].score == 3.5
    assert results[1].score == 0.5
    assert [r.source for r in results] == ["searxng:wikipedia", "searxng:ddg"]
    assert results[1].snippet == "Etna is in Sicily."


def test_searxng_async_and_null_content(http_server) -> None:  # type: ignore[no-untyped-def]
    provider = SearxNGSearch(http_server.url("/searxng"))
    results = asyncio.run(provider.asearch("volcano", k=5))
    assert len(results) == 3
    assert results[2].snippet == ""
    assert results[2].source == "searxng"


def test_searxng_json_disabled_is_explained(http_server) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SearchError, match=r"refused format=json \(HTTP 403\).*formats: \[html, json\]"):
        SearxNGSearch(http_server.url("/searxng-off")).search("x")


def test_searxng_non_json_body(http_server) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SearchError, match="not its JSON result format"):
        SearxNGSearch(http_server.url("/searxng-bad")).search("x")


def test_searxng_unreachable() -> None:
    with pytest.raises(SearchError, match=r"failed \(ConnectError.*Check that the instance is running"):
        SearxNGSearch("http://127.0.0.1:9").search("x")
    with pytest.raises(SearchError, match="must start with http"):
        SearxNGSearch("127.0.0.1:9")


def test_search_config_validation() -> None:
    with pytest.raises(ValidationError, match="provider 'searxng' needs url"):
        SearchConfig(provider="searxng")
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        SearchConfig(provder="local_wiki")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="Input should be 'local_wiki' or 'searxng'"):
        SearchConfig(provider="google")  # type: ignore[arg-type]
    assert isinstance(build_search_provider(), LocalWikiSearch)


# --- offline fetching --------------------------------------------------------------------------------------------


def test_search_then_fetch_works_offline(wiki_search: LocalWikiSearch) -> None:
    fetch = CorpusFirstFetcher(FetchConfig(offline=True))
    hit = wiki_search.search("Who painted the Mona Lisa?", k=1)[0]
    doc = fetch.fetch(hit.url)
    assert (doc.title, doc.status_code, doc.content_type) == ("Mona Lisa", 200, "text/plain")
    assert "Leonardo da Vinci" in doc.text
    assert doc.bytes == len(doc.text.encode())
    assert asyncio.run(fetch.afetch(hit.url)) == doc


@pytest.mark.parametrize(
    "url",
    [
        "https://en.wikipedia.org/wiki/Eiffel_Tower",
        "http://en.m.wikipedia.org/wiki/Eiffel%20Tower",
        "https://en.wikipedia.org/wiki/eiffel_tower",
    ],
)
def test_corpus_fetcher_url_variants(url: str) -> None:
    doc = CorpusFetcher().fetch(url)
    assert doc.title == "Eiffel Tower"
    assert doc.final_url == "https://en.wikipedia.org/wiki/Eiffel_Tower"


def test_offline_refuses_other_urls() -> None:
    with pytest.raises(FetchError, match=r"not in the local corpus and fetch\.offline is true"):
        CorpusFirstFetcher(FetchConfig(offline=True)).fetch("https://example.org/")
    with pytest.raises(FetchError, match="not in the local Wikipedia corpus") as info:
        CorpusFetcher().fetch("https://en.wikipedia.org/wiki/No_such_article_here")
    assert info.value.status_code == 404


def test_non_corpus_urls_go_over_http(http_server) -> None:  # type: ignore[no-untyped-def]
    fetch = CorpusFirstFetcher(FetchConfig(allow_private_addresses=True))
    assert fetch.fetch(http_server.url("/page")).title == "Local Test Page"
    assert asyncio.run(fetch.afetch(http_server.url("/text"))).text == "Plain text body, café."
