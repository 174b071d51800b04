"""``retrieve`` (document-store chunks as sources) and ``rerank`` (lexical + retrieval rank fusion)."""

from __future__ import annotations

import asyncio
from typing import Any

from mm_orch.orchestration import BaseStep, State
from mm_orch.tools import CollectionNotFoundError, reciprocal_rank_fusion
from steps.common import read_sources
from steps.text import content_words

__all__ = ["RerankStep", "RetrieveStep", "nothing_ingested"]


def nothing_ingested(collection: str) -> str:
    """What a RAG answer says when ``collection`` holds nothing: the fact and the command that fixes it."""
    return (
        f"Nothing has been ingested into the document collection {collection!r} yet, so there are no documents "
        f"of yours to answer from. Ingest a folder of .txt/.md/.html files first: "
        f"`python -m mm_orch.main ingest docs/ --collection {collection}`, then ask again."
    )


class RetrieveStep(BaseStep):
    """``question`` (+ optional ``collection``) -> ``sources`` and ``docs`` from the document store.

    The collection is ``state['collection']``, else the runtime setting ``rag_collection``, else
    ``"default"``; ``retrieve_k`` (default 8) chunks are returned (``retrieved_titles`` lists their documents).
    When the collection does not exist (or is empty) the step falls back to the search tool, so a question routed
    to RAG before anything was ingested still gets an answer, records the fallback in ``failures`` and
    ``retrieval_fallback``, and sets ``notice`` (:func:`nothing_ingested`), which the answer leads with.
    """

    name = "retrieve"
    description = "Retrieve the chunks of an ingested document collection most similar to the question."
    input_keys = ["question"]
    output_keys = ["sources", "docs"]
    optional_input_keys = ["collection", "failures"]
    optional_output_keys = ["failures", "retrieval_fallback", "retrieved_titles", "notice"]
    required_capabilities = ["retrieve"]

    async def execute(self, state: State, runtime: Any) -> dict[str, Any]:
        question = str(state["question"])
        collection = str(state.get("collection") or runtime.setting("rag_collection", "default"))
        k = int(runtime.setting("retrieve_k", 8))
        store = runtime.tool("document_store")
        try:
            chunks = await asyncio.to_thread(store.retrieve, question, collection, k)
            problem = "" if chunks else f"collection {collection!r} is empty"
        except CollectionNotFoundError as exc:
            chunks, problem = [], str(exc)
        if problem:
            hits = await asyncio.to_thread(runtime.tool("web_search").search, question, k)
            sources = [{"title": h.title, "url": h.url, "doc_id": h.doc_id, "text": h.snippet} for h in hits]
            failures = [*list(state.get("failures") or []), f"retrieve: {problem}"[:300]]
            return {
                "sources": sources,
                "docs": {s["url"]: s["text"] for s in sources},
                "failures": failures,
                "retrieval_fallback": True,
                "notice": nothing_ingested(collection),
            }
        sources = [{"title": c.title, "url": "", "doc_id": c.doc_id, "text": c.text} for c in chunks]
        return {
            "retrieved_titles": list(dict.fromkeys(c.title for c in chunks)),
            "sources": sources,
            "docs": {f"{c.doc_id}#{c.chunk_id}": c.text for c in chunks},
            "retrieval_fallback": False,
        }


class RerankStep(BaseStep):
    """``question``, ``sources`` -> ``sources`` reordered and cut to ``rerank_k`` (default 3).

    Fuses (reciprocal rank fusion) the incoming order, which is the retriever's similarity ranking, with a
    lexical ranking by the share of the question's content words in each source's title and text. Dense
    retrieval with a small encoder misses exact names and numbers; the lexical ranking restores them.
    """

    name = "rerank"
    description = "Rerank retrieved sources by fusing retrieval order with question-word overlap."
    input_keys = ["question", "sources"]
    output_keys = ["sources", "docs"]

    def execute(self, state: State, runtime: Any) -> dict[str, Any]:
        sources = read_sources(state)
        wanted = set(content_words(str(state["question"])))

        def overlap(i: int) -> float:
            words = set(content_words(f"{sources[i].title} {sources[i].text}"))
            return len(wanted & words) / max(1, len(wanted))

        lexical = sorted(range(len(sources)), key=lambda i: (-overlap(i), i))
        fused = reciprocal_rank_fusion([list(range(len(sources))), lexical], k=10)
        keep = [sources[i] for i, _ in fused[: int(runtime.setting("rerank_k", 3))]]
        dumped = [s.model_dump() for s in keep]
        return {"sources": dumped, "docs": {(s.url or s.doc_id): s.text for s in keep}}
