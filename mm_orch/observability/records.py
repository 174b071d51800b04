"""Typed trace records: one :class:`WorkflowTrace` per run, holding its :class:`StepTrace` list.

These models are the single schema of every sink (JSONL lines and Parquet rows are the same records) and of
the router-training pipeline that reads them back. Bump :data:`TRACE_SCHEMA_VERSION` on any incompatible
change; readers refuse versions they do not know.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["TRACE_SCHEMA_VERSION", "Citation", "CostStats", "StepTrace", "WorkflowTrace"]

TRACE_SCHEMA_VERSION = 1


class _Record(BaseModel):
    # NaN/Infinity are written as JSON constants (not null) so every record survives a JSONL round trip.
    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants")


class StepTrace(_Record):
    """What happened at one node of one run."""

    node: str = Field(description="Graph node name.")
    step_name: str = Field(description="Registered step the node ran (the fallback's name if one ran).")
    started_at: float = Field(description="Unix time (s) the node started.")
    ended_at: float = Field(description="Unix time (s) the node ended.")
    latency_ms: float = Field(description="Wall time of the node including retries, milliseconds.")
    success: bool
    attempts: int = Field(default=1, description="Calls made, retries included.")
    error_type: str | None = Field(default=None, description="Exception class name when the node failed.")
    error_message: str | None = None
    used_fallback: bool = Field(
        default=False, description="True when the node's fallback step produced the output."
    )
    model_loads: list[str] = Field(default_factory=list, description="Models loaded while this node ran.")
    tokens: int = Field(
        default=0, description="Tokens generated while this node ran, where the runtime counts them."
    )


class Citation(_Record):
    """A source an answer cites: the one citation type of results, traces, the HTTP API and the steps
    (``mm_orch.schemas.Citation`` and ``steps.Citation`` are this class)."""

    title: str = Field(default="", description="Title of the cited source.")
    url: str | None = Field(default=None, description="URL of the cited source (None or '' when it has none).")
    doc_id: str | None = Field(default=None, description="Provider-stable document id of the cited source.")


class CostStats(_Record):
    """What a run cost."""

    latency_ms: float = 0.0
    tokens: int = 0
    model_loads: int = 0
    steps: int = 0


class WorkflowTrace(_Record):
    """One workflow run: the request, the routing decision, every step, the outcome and its quality."""

    schema_version: int = TRACE_SCHEMA_VERSION
    trace_id: str = Field(description="Unique id of this run.")
    request_id: str = Field(description="Caller's request id (equals trace_id when the caller gave none).")
    timestamp: float = Field(description="Unix time (s) the run started.")
    question: str = ""
    workflow: str = Field(description="Workflow that ran.")
    workflow_forced: bool = Field(
        default=False, description="True when the caller chose the workflow explicitly (a training label)."
    )
    router_version: str | None = None
    router_confidence: float | None = None
    router_alternatives: dict[str, float] = Field(default_factory=dict, description="Workflow -> probability.")
    mode: str = Field(default="default", description="Request mode, e.g. 'default' or 'chat'.")
    phase: str = Field(default="b", description="'a' for a Phase A pipeline, 'b' for a Phase B graph.")
    success: bool = True
    error_type: str | None = None
    error_message: str | None = None
    steps: list[StepTrace] = Field(default_factory=list)
    final_answer: str | None = None
    citations: list[Citation] = Field(default_factory=list)
    quality_signals: dict[str, float] = Field(
        default_factory=dict, description="Numeric quality signals (booleans stored as 0/1)."
    )
    feedback: float | None = Field(default=None, description="User feedback in [-1, 1] when given.")
    cost: CostStats = Field(default_factory=CostStats)
    metadata: dict[str, str] = Field(default_factory=dict)

    def to_row(self) -> dict[str, Any]:
        """This record as a plain dict (the shape of a JSONL line and a Parquet row)."""
        return self.model_dump(mode="python")
