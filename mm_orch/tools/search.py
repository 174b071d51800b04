"""The search-provider contract and the factory that turns a :class:`SearchConfig` into a provider.

Switching from the embedded index to a web search service is a config change only::

    search: {provider: searxng, url: "http://127.0.0.1:8888"}
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from mm_orch.exceptions import ConfigError, format_options
from mm_orch.tools.config import SearchConfig
from mm_orch.tools.local_wiki import LocalWikiSearch
from mm_orch.tools.searxng import SearxNGSearch
from mm_orch.tools.types import Embedder, SearchResult

__all__ = ["PROVIDERS", "SearchProvider", "build_search_provider"]

PROVIDERS = ("local_wiki", "searxng")


@runtime_checkable
class SearchProvider(Protocol):
    """What every search provider offers: sync and async search returning ranked :class:`SearchResult` s."""

    def search(self, query: str, k: int = 5) -> list[SearchResult]:
        """The ``k`` best results for ``query``, best first."""
        ...

    async def asearch(self, query: str, k: int = 5) -> list[SearchResult]:
        """Async :meth:`search`."""
        ...


def build_search_provider(
    config: SearchConfig | dict[str, object] | None = None, *, embedder: Embedder | None = None
) -> LocalWikiSearch | SearxNGSearch:
    """Build the provider ``config`` names. ``embedder`` is used by ``local_wiki`` with ``hybrid: true``."""
    if config is None:
        config = SearchConfig()
    elif isinstance(config, dict):
        config = SearchConfig.model_validate(config)
    if config.provider == "local_wiki":
        return LocalWikiSearch(config, embedder=embedder)
    if config.provider == "searxng":
        assert config.url is not None  # guaranteed by SearchConfig's validator
        return SearxNGSearch(config.url, config)
    raise ConfigError(  # unreachable while SearchConfig's Literal matches PROVIDERS; kept for clarity
        f"Unknown search provider {config.provider!r}; choose one of {format_options(PROVIDERS)}"
    )
