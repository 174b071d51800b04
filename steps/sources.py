"""Steps that find documents: ``search``, ``search_fast``, ``fetch`` and ``snippets`` (search hits as sources)."""

from __future__ import annotations

import asyncio
from typing import Any

from mm_orch.exceptions import MMOrchError
from mm_orch.orchestration import BaseStep, State

__all__ = ["FetchStep", "SearchFastStep", "SearchStep", "SnippetSourcesStep"]


async def _search(runtime: Any, query: str, k: int) -> list[Any]:
    tool = runtime.tool("web_search")
    if hasattr(tool, "asearch"):
        return list(await tool.asearch(query, k))
    return list(await asyncio.to_thread(tool.search, query, k))


class SearchStep(BaseStep):
    """Search for the question: ``question`` -> ``search_results`` (title, url, snippet, score, doc_id).

    ``k`` comes from the runtime setting ``search_k`` (default 5).
    """

    name = "search"
    description = "Search the configured provider for documents about the question."
    input_keys = ["question"]
    output_keys = ["search_results"]
    required_capabilities = ["search"]
    k_setting = "search_k"
    default_k = 5

    async def execute(self, state: State, runtime: Any) -> dict[str, Any]:
        k = int(runtime.setting(self.k_setting, self.default_k))
        hits = await _search(runtime, str(state["question"]), k)
        return {
            "search_results": [
                {"title": h.title, "url": h.url, "snippet": h.snippet, "score": h.score, "doc_id": h.doc_id}
                for h in hits
            ]
        }


class SearchFastStep(SearchStep):
    """:class:`SearchStep` with fewer results (runtime setting ``search_fast_k``, default 3)."""

    name = "search_fast"
    description = "Search with fewer results, for the snippets-only fast path."
    k_setting = "search_fast_k"
    default_k = 3


class FetchStep(BaseStep):
    """Fetch every search hit: ``search_results`` -> ``sources`` and ``docs`` (url -> text).

    At most ``fetch_max_docs`` (runtime setting, default 3) hits are fetched, concurrently. A hit that cannot
    be fetched falls back to its snippet and is reported in ``failures``; nothing is raised for it.
    """

    name = "fetch"
    description = "Fetch the top search hits as readable text."
    input_keys = ["search_results"]
    output_keys = ["sources", "docs"]
    optional_input_keys = ["failures"]
    optional_output_keys = ["failures"]
    required_capabilities = ["fetch"]

    async def execute(self, state: State, runtime: Any) -> dict[str, Any]:
        hits = list(state["search_results"])[: int(runtime.setting("fetch_max_docs", 3))]
        tool = runtime.tool("fetch")
        results = await asyncio.gather(*(self._fetch(tool, h["url"]) for h in hits), return_exceptions=True)
        failures = list(state.get("failures") or [])
        sources, docs = [], {}
        for hit, result in zip(hits, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, MMOrchError | OSError | TimeoutError):
                    raise result
                failures.append(f"fetch {hit['url']}: {type(result).__name__}: {result}"[:300])
                text = str(hit.get("snippet", ""))
            else:
                text = result.text
            sources.append(
                {"title": hit["title"], "url": hit["url"], "doc_id": hit.get("doc_id", ""), "text": text}
            )
            docs[hit["url"]] = text
        out: dict[str, Any] = {"sources": sources, "docs": docs}
        if failures:
            out["failures"] = failures
        return out

    @staticmethod
    async def _fetch(tool: Any, url: str) -> Any:
        if hasattr(tool, "afetch"):
            return await tool.afetch(url)
        return await asyncio.to_thread(tool.fetch, url)


class SnippetSourcesStep(BaseStep):
    """Use the search snippets as the sources, fetching nothing: ``search_results`` -> ``sources``, ``docs``."""

    name = "snippets"
    description = "Turn search hits into sources from their snippets only (no fetch)."
    input_keys = ["search_results"]
    output_keys = ["sources", "docs"]

    def execute(self, state: State, runtime: Any) -> dict[str, Any]:
        hits = list(state["search_results"])
        sources = [
            {
                "title": h["title"],
                "url": h["url"],
                "doc_id": h.get("doc_id", ""),
                "text": str(h.get("snippet", "")),
            }
            for h in hits
        ]
        return {"sources": sources, "docs": {s["url"]: s["text"] for s in sources}}
