"""Reading traces back for routing statistics: one seam over the tracer's reader (swap it here)."""

from __future__ import annotations

from pathlib import Path

from mm_orch.observability import read_traces
from mm_orch.observability.records import WorkflowTrace

__all__ = ["read_trace_records"]


def read_trace_records(path: str | Path) -> list[WorkflowTrace]:
    """Every validated :class:`WorkflowTrace` in a JSONL/Parquet file or a directory of them."""
    return list(read_traces(path))
