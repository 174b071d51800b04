"""The public API of mm_orch.tools is pinned, and default_tools builds the offline tool set cheaply."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

import mm_orch.tools as tools
from mm_orch.exceptions import ConfigError
from mm_orch.tools import (
    CorpusFirstFetcher,
    DocumentStore,
    FetchedDocument,
    LocalWikiSearch,
    SearchResult,
    SearxNGSearch,
    ToolMetadata,
    ToolsConfig,
    default_tools,
)

PUBLIC = {
    "CACHE_DIR_ENV", "AddressGuard", "CollectionNotFoundError", "CorpusFetcher", "CorpusFirstFetcher",
    "DocumentStore", "DocumentStoreConfig", "Embedder", "FetchConfig", "FetchError", "FetchedDocument", "Fetcher",
    "IngestReport", "LocalWikiSearch", "RetrievedChunk", "SearchConfig", "SearchError", "SearchProvider",
    "SearchResult", "SearxNGSearch", "SentenceTransformerEmbedder", "ToolMetadata", "ToolsConfig", "WikiCorpus",
    "build_search_provider", "default_tools", "extract_html", "load_corpus", "reciprocal_rank_fusion",
    "resolve_cache_dir", "wiki_url",
}  # fmt: skip


def test_public_api_is_pinned() -> None:
    assert set(tools.__all__) == PUBLIC
    for name in tools.__all__:
        assert getattr(tools, name) is not None


def test_default_tools_offline_set(wiki_cache: Path, hashing_embedder) -> None:  # type: ignore[no-untyped-def]
    tmp_path = wiki_cache  # reuse the session's cached index
    built = default_tools(
        {"search": {"cache_dir": str(tmp_path), "show_progress": False}, "fetch": {"offline": True}},
        embedder=hashing_embedder,
    )
    assert set(built) == {"web_search", "fetch", "document_store"}
    search, search_meta = built["web_search"]
    fetch, fetch_meta = built["fetch"]
    store, store_meta = built["document_store"]
    assert isinstance(search, LocalWikiSearch)
    assert search_meta.capabilities == ["search"]
    assert isinstance(fetch, CorpusFirstFetcher)
    assert fetch_meta.capabilities == ["fetch"]
    assert isinstance(store, DocumentStore)
    assert "retrieve" in store_meta.capabilities
    assert store.path == tmp_path / "documents" / "store.sqlite"
    assert not store.path.exists()  # cheap: nothing opened yet
    assert not search_meta.requires_network
    assert not fetch_meta.requires_network
    assert {name for name, (_, meta) in built.items() if meta.name == name} == set(built)
    # the three tools work together with no network: search -> fetch
    hit = search.search("Eiffel Tower", k=1)[0]
    assert "Paris" in fetch.fetch(hit.url).text


def test_default_tools_with_searxng_needs_network(tmp_path: Path) -> None:
    built = default_tools(ToolsConfig.model_validate({"search": {"provider": "searxng", "url": "http://s:8888"}}))
    search, meta = built["web_search"]
    assert isinstance(search, SearxNGSearch)
    assert meta.requires_network
    assert meta.provider == "searxng"


def test_tools_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"(?s)Invalid tools config.*search\.provider"):
        ToolsConfig.from_mapping({"search": {"provider": "bing"}})
    with pytest.raises(ValidationError, match=r"chunk_overlap \(200\) must be smaller than chunk_chars \(100\)"):
        ToolsConfig.model_validate({"documents": {"chunk_chars": 100, "chunk_overlap": 200}})


def test_result_models_are_strict() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        SearchResult(title="t", url="u", snippet="s", score=1, doc_id="d", source="x", extra=1)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        FetchedDocument(url="u", final_url="u", title="", text="", status_code=200, content_type="t", bytes=-1)
    meta = ToolMetadata(name="web_search", description="d", capabilities=["search"])
    assert ToolMetadata.model_validate_json(meta.model_dump_json()) == meta
