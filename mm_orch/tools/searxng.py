"""``SearxNGSearch``: a search provider backed by a SearxNG instance's JSON API (``GET /search?format=json``).

The instance must allow the JSON format (``search.formats: [html, json]`` in its ``settings.yml``); when it does
not, SearxNG answers 403 and this provider says exactly that.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mm_orch.tools.config import SearchConfig
from mm_orch.tools.errors import SearchError
from mm_orch.tools.local_wiki import snippet_of
from mm_orch.tools.types import SearchResult

__all__ = ["SearxNGSearch"]

SOURCE = "searxng"


class _Hit(BaseModel):
    # A third party's wire format: ignore fields we do not use rather than break when SearxNG adds some.
    model_config = ConfigDict(extra="ignore")

    url: str
    title: str = ""
    content: str | None = ""
    engine: str | None = None
    score: float | None = None


class _Response(BaseModel):
    model_config = ConfigDict(extra="ignore")

    results: list[_Hit] = Field(default_factory=list)


class SearxNGSearch:
    """Web search through SearxNG. ``base_url`` is the instance root, e.g. ``http://127.0.0.1:8888``."""

    def __init__(self, base_url: str, config: SearchConfig | None = None) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise SearchError(f"SearxNG base_url must start with http:// or https://, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.config = config or SearchConfig(provider="searxng", url=base_url)
        self._headers = {"Accept": "application/json", "User-Agent": "mm-orch/0.1"}

    def warm_up(self) -> None:
        """Nothing to load; present so every provider can be warmed the same way."""

    def _params(self, query: str) -> dict[str, str]:
        params = {"q": query, "format": "json"}
        if self.config.categories:
            params["categories"] = self.config.categories
        if self.config.language:
            params["language"] = self.config.language
        return params

    def search(self, query: str, k: int | None = None) -> list[SearchResult]:
        """Up to ``k`` (default ``config.k``) results for ``query``, in the instance's order."""
        if not query.strip():
            return []
        try:
            with httpx.Client(timeout=self.config.timeout_s, headers=self._headers) as client:
                response = client.get(f"{self.base_url}/search", params=self._params(query))
        except httpx.HTTPError as err:
            raise self._network_error(err) from err
        return self._parse(response, k or self.config.k)

    async def asearch(self, query: str, k: int | None = None) -> list[SearchResult]:
        """Async :meth:`search`."""
        if not query.strip():
            return []
        try:
            async with httpx.AsyncClient(timeout=self.config.timeout_s, headers=self._headers) as client:
                response = await client.get(f"{self.base_url}/search", params=self._params(query))
        except httpx.HTTPError as err:
            raise self._network_error(err) from err
        return self._parse(response, k or self.config.k)

    def _network_error(self, err: httpx.HTTPError) -> SearchError:
        kind = "timed out" if isinstance(err, httpx.TimeoutException) else "failed"
        return SearchError(
            f"SearxNG request to {self.base_url}/search {kind} ({type(err).__name__}: {err}). "
            f"Check that the instance is running and reachable, or raise search.timeout_s "
            f"(now {self.config.timeout_s} s), or use provider 'local_wiki' offline."
        )

    def _parse(self, response: httpx.Response, k: int) -> list[SearchResult]:
        if response.status_code == 403:
            raise SearchError(
                f"SearxNG at {self.base_url} refused format=json (HTTP 403). Enable it in the instance's "
                "settings.yml: search: formats: [html, json]"
            )
        if response.status_code != 200:
            raise SearchError(
                f"SearxNG at {self.base_url} answered HTTP {response.status_code}: {response.text[:200]!r}"
            )
        try:
            payload: Any = response.json()
            hits = _Response.model_validate(payload).results
        except (ValueError, ValidationError) as err:
            raise SearchError(
                f"SearxNG at {self.base_url} returned a body that is not its JSON result format: {err}"
            ) from err
        results = []
        for rank, hit in enumerate(hits[:k], start=1):
            score = hit.score if hit.score is not None else 1.0 / rank
            results.append(
                SearchResult(
                    title=hit.title or hit.url,
                    url=hit.url,
                    snippet=snippet_of(hit.content or "", self.config.snippet_chars),
                    score=float(score),
                    doc_id=hit.url,
                    source=f"{SOURCE}:{hit.engine}" if hit.engine else SOURCE,
                )
            )
        return results
