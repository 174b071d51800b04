"""Result and metadata types the tools return, plus the :class:`Embedder` protocol they accept.

Every type is a pydantic v2 model with ``extra="forbid"`` so that a step, a trace record or an HTTP response can
carry it across a process boundary and get it back validated.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Embedder", "FetchedDocument", "RetrievedChunk", "SearchResult", "ToolMetadata"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SearchResult(_Model):
    """One hit from a search provider, best first within a result list."""

    title: str = Field(description="Title of the page or article.")
    url: str = Field(description="Where the full document lives; pass it to a fetcher.")
    snippet: str = Field(description="A short extract of the document (the lead for the local wiki).")
    score: float = Field(description="Provider-specific relevance; higher is better, comparable within one list.")
    doc_id: str = Field(description="Provider-stable id of the document (the article title for the local wiki).")
    source: str = Field(description="Which provider produced the hit, e.g. 'local_wiki' or 'searxng'.")


class FetchedDocument(_Model):
    """The readable text of a fetched URL."""

    url: str = Field(description="The URL that was asked for.")
    final_url: str = Field(description="The URL after redirects (equal to ``url`` when none were followed).")
    title: str = Field(description="Document title ('' when the document has none).")
    text: str = Field(description="Readable text: HTML is reduced to its visible text, paragraphs kept.")
    status_code: int = Field(description="HTTP status of the final response (200 for local corpus documents).")
    content_type: str = Field(description="Media type of the body, without parameters, e.g. 'text/html'.")
    bytes: int = Field(ge=0, description="Number of body bytes read.")
    truncated: bool = Field(default=False, description="True when the body was cut at the configured max_bytes.")


class RetrievedChunk(_Model):
    """One chunk returned by a document-store query, best first."""

    doc_id: str = Field(description="Id of the document the chunk came from (its path for ingested files).")
    chunk_id: str = Field(description="Content-hash id of the chunk; stable across re-ingestion.")
    title: str = Field(description="Title of the source document.")
    text: str = Field(description="The chunk text.")
    score: float = Field(description="Cosine similarity between query and chunk, in [-1, 1]; higher is better.")
    source: str = Field(description="Where the document came from (file path or caller-given source).")


class ToolMetadata(_Model):
    """What a registry knows about a tool: used for routing, capability checks and cost estimates."""

    name: str = Field(min_length=1, description="Registry name, e.g. 'web_search'.")
    description: str = Field(description="One sentence saying what the tool does.")
    capabilities: list[str] = Field(
        default_factory=list, description="Capabilities the tool provides, e.g. ['search'] or ['retrieve']."
    )
    cost_per_call: float = Field(default=0.0, ge=0, description="Relative cost units per call (0 = free, local).")
    expected_latency_ms: float | None = Field(
        default=None, ge=0, description="Typical latency of one call on the reference machine, if known."
    )
    requires_network: bool = Field(default=False, description="True when a call leaves this machine.")
    provider: str = Field(default="", description="Implementation behind the tool, e.g. 'local_wiki', 'searxng'.")


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 vectors, one row per text."""

    def embed(self, texts: list[str]) -> np.ndarray:
        """Return an array of shape ``(len(texts), dim)``, dtype float32, rows of unit length."""
        ...
