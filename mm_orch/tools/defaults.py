"""The offline default tool set: what a fresh install registers in the ToolRegistry."""

from __future__ import annotations

from typing import Any

from mm_orch.tools.config import ToolsConfig
from mm_orch.tools.corpus_fetch import CorpusFetcher, CorpusFirstFetcher
from mm_orch.tools.document_store import DocumentStore
from mm_orch.tools.embedders import SentenceTransformerEmbedder
from mm_orch.tools.search import build_search_provider
from mm_orch.tools.types import Embedder, ToolMetadata

__all__ = ["default_tools"]


def default_tools(
    config: ToolsConfig | dict[str, Any] | None = None, *, embedder: Embedder | None = None
) -> dict[str, tuple[Any, ToolMetadata]]:
    """``{name: (tool, metadata)}`` for ``web_search``, ``fetch`` and ``document_store``.

    Nothing heavy happens here: indexes, the corpus and models load on first use (or on each tool's
    ``warm_up()``). ``embedder`` serves hybrid search and the document store; without one the store uses the
    embedded all-MiniLM-L6-v2, loaded when first needed.
    """
    if config is None:
        config = ToolsConfig()
    elif isinstance(config, dict):
        config = ToolsConfig.from_mapping(config)
    search = build_search_provider(config.search, embedder=embedder)
    corpus_path = config.search.corpus_path
    fetch = CorpusFirstFetcher(config.fetch, local=CorpusFetcher(corpus_path=corpus_path))
    store = DocumentStore(
        config.documents.resolved_path(config.search.cache_dir),
        embedder if embedder is not None else SentenceTransformerEmbedder(),
        chunk_chars=config.documents.chunk_chars,
        chunk_overlap=config.documents.chunk_overlap,
    )
    local = config.search.provider == "local_wiki"
    return {
        "web_search": (
            search,
            ToolMetadata(
                name="web_search",
                description="Search for documents relevant to a question; returns ranked titles, URLs and snippets.",
                capabilities=["search"],
                cost_per_call=0.0 if local else 1.0,
                expected_latency_ms=5.0 if local else 800.0,
                requires_network=not local,
                provider=config.search.provider,
            ),
        ),
        "fetch": (
            fetch,
            ToolMetadata(
                name="fetch",
                description="Fetch a URL as readable text; local-corpus Wikipedia URLs are served offline.",
                capabilities=["fetch"],
                cost_per_call=0.1,
                expected_latency_ms=1.0,
                requires_network=not config.fetch.offline,
                provider="corpus_first",
            ),
        ),
        "document_store": (
            store,
            ToolMetadata(
                name="document_store",
                description="Ingest documents into named collections and retrieve the most similar chunks.",
                capabilities=["retrieve", "ingest"],
                cost_per_call=0.1,
                expected_latency_ms=20.0,
                requires_network=False,
                provider="sqlite-vec",
            ),
        ),
    }
