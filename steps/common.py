"""What the built-in steps share: the source record, citations, quality signals and model access.

State conventions (every built-in step follows them):

- ``sources``: list of ``{"title", "url", "doc_id", "text"}``, best first; ``[n]`` markers in an answer point at
  ``citations[n - 1]``.
- ``citations``: list of ``{"title", "url", "doc_id"}``, numbered by first use in the answer.
- ``quality_signals``: dict of numbers and booleans (``citations``, ``sources_used``, ``grounded``,
  ``structure_valid``, ``refused``, ``failures``, ...) recorded in the run's trace.
- ``failures``: list of short texts, one per soft failure (a fetch that failed, a model call that failed).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mm_orch.exceptions import ExecutionError
from mm_orch.schemas import Citation  # the one citation type (results, traces, the API)

__all__ = [
    "Citation",
    "SourceDoc",
    "StepInputError",
    "cite",
    "get_generator",
    "read_sources",
    "renumber_citations",
    "strip_markers",
]

_MARKER = re.compile(r"\s*\[(\d+)\]")


class StepInputError(ExecutionError):
    """A built-in step got a state value of the wrong shape (the message names the key and the fix)."""


class SourceDoc(BaseModel):
    """One source a step can cite."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(description="Document title.")
    url: str = Field(default="", description="Where the document lives ('' for ingested files without one).")
    doc_id: str = Field(default="", description="Provider-stable document id.")
    text: str = Field(default="", description="The document text the answer may draw on.")

    def citation(self) -> dict[str, str]:
        return {"title": self.title, "url": self.url, "doc_id": self.doc_id}


def read_sources(state: Mapping[str, Any]) -> list[SourceDoc]:
    """``state['sources']`` as SourceDoc objects; else built from ``state['docs']`` (url -> text), else []."""
    raw = state.get("sources")
    if raw is not None:
        if not isinstance(raw, list):
            raise StepInputError(
                f"state['sources'] must be a list of {{title, url, doc_id, text}} dicts, got {type(raw).__name__}"
            )
        out = []
        for i, item in enumerate(raw):
            try:
                out.append(SourceDoc.model_validate(dict(item)))
            except Exception as exc:
                raise StepInputError(
                    f"state['sources'][{i}] = {item!r} is not a source: give a dict with title, url, doc_id and "
                    f"text ({exc})"
                ) from exc
        return out
    docs = state.get("docs")
    if isinstance(docs, Mapping):
        return [
            SourceDoc(title=str(url), url=str(url), doc_id=str(url), text=str(text)) for url, text in docs.items()
        ]
    return []


def cite(sources: Sequence[SourceDoc], used: Sequence[int]) -> tuple[list[dict[str, str]], dict[int, int]]:
    """Citations for the source indexes in ``used`` (first use first) and the map index -> marker number."""
    numbers: dict[int, int] = {}
    citations: list[dict[str, str]] = []
    for index in used:
        if index in numbers or not 0 <= index < len(sources):
            continue
        numbers[index] = len(citations) + 1
        citations.append(sources[index].citation())
    return citations, numbers


def strip_markers(text: str) -> str:
    """``text`` without its ``[n]`` citation markers."""
    return _MARKER.sub("", text).strip()


def renumber_citations(text: str, mapping: Mapping[int, int]) -> str:
    """Rewrite ``[n]`` markers through ``mapping`` (markers not in it are dropped)."""

    def swap(match: re.Match[str]) -> str:
        new = mapping.get(int(match.group(1)))
        return f" [{new}]" if new is not None else ""

    return _MARKER.sub(swap, text)


async def get_generator(runtime: Any, name: str) -> Any:
    """The runtime's model ``name``, loaded in a worker thread so a first load never blocks the event loop."""
    manager = getattr(runtime, "model_manager", None)
    if manager is None:
        raise StepInputError(
            f"this step needs model {name!r} but the runtime has no model_manager; build the runtime with "
            "mm_orch.orchestration.wiring.build_default_runtime() or pass Runtime(model_manager=...)"
        )
    return await asyncio.to_thread(manager.get_model, name)
