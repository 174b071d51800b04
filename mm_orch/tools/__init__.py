"""Tools the steps use: search providers, the guarded fetcher and the RAG document store.

Offline defaults: :class:`LocalWikiSearch` (BM25, optionally hybrid, over the embedded Wikipedia extracts),
:class:`CorpusFirstFetcher` (serves that corpus' URLs locally, others over HTTP) and :class:`DocumentStore`
(SQLite + sqlite-vec). :func:`default_tools` builds all three for the ToolRegistry; :func:`build_search_provider`
switches search to a SearxNG service by config alone.
"""

from mm_orch.tools.address_guard import AddressGuard
from mm_orch.tools.config import (
    CACHE_DIR_ENV,
    DocumentStoreConfig,
    FetchConfig,
    SearchConfig,
    ToolsConfig,
    resolve_cache_dir,
)
from mm_orch.tools.corpus_fetch import CorpusFetcher, CorpusFirstFetcher
from mm_orch.tools.defaults import default_tools
from mm_orch.tools.document_store import DocumentStore, IngestReport
from mm_orch.tools.embedders import SentenceTransformerEmbedder
from mm_orch.tools.errors import CollectionNotFoundError, FetchError, SearchError
from mm_orch.tools.fetch import Fetcher
from mm_orch.tools.html_text import extract_html
from mm_orch.tools.local_wiki import LocalWikiSearch, reciprocal_rank_fusion
from mm_orch.tools.search import SearchProvider, build_search_provider
from mm_orch.tools.searxng import SearxNGSearch
from mm_orch.tools.types import Embedder, FetchedDocument, RetrievedChunk, SearchResult, ToolMetadata
from mm_orch.tools.wiki_corpus import WikiCorpus, load_corpus, wiki_url

__all__ = [
    "CACHE_DIR_ENV",
    "AddressGuard",
    "CollectionNotFoundError",
    "CorpusFetcher",
    "CorpusFirstFetcher",
    "DocumentStore",
    "DocumentStoreConfig",
    "Embedder",
    "FetchConfig",
    "FetchError",
    "FetchedDocument",
    "Fetcher",
    "IngestReport",
    "LocalWikiSearch",
    "RetrievedChunk",
    "SearchConfig",
    "SearchError",
    "SearchProvider",
    "SearchResult",
    "SearxNGSearch",
    "SentenceTransformerEmbedder",
    "ToolMetadata",
    "ToolsConfig",
    "WikiCorpus",
    "build_search_provider",
    "default_tools",
    "extract_html",
    "load_corpus",
    "reciprocal_rank_fusion",
    "resolve_cache_dir",
    "wiki_url",
]
