"""Wire schemas shared by the CLI, the orchestrators, the routers and the HTTP API."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from mm_orch.observability.records import Citation
from mm_orch.text_checks import check_finite, check_identifier, check_text, check_tree

__all__ = ["ChatTurn", "Citation", "RequestConstraints", "UserRequest", "WorkflowResult"]


#: What the OpenAPI schema declares for ids (check_identifier enforces it with a message naming the fix).
_PRINTABLE = "^[^\\u0000-\\u001f\\u007f]*$"


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChatTurn(_Schema):
    """One turn of a chat history."""

    role: Literal["user", "assistant", "system"]
    content: str

    @field_validator("content")
    @classmethod
    def _valid_unicode(cls, value: str) -> str:
        return check_text(value, "content")


class RequestConstraints(_Schema):
    """What the caller demands of the answer; cost-aware routing honours these."""

    latency_budget_ms: float | None = Field(
        default=None, gt=0, allow_inf_nan=False, description="Upper bound on expected latency."
    )
    require_citations: bool = Field(default=False, description="Every claim must cite a source.")
    max_cost: float | None = Field(
        default=None, ge=0, allow_inf_nan=False, description="Upper bound on expected cost units."
    )


class UserRequest(_Schema):
    """A question and its context. Only ``query`` is required."""

    query: str = Field(min_length=1, description="The user's question or instruction.")
    request_id: str = Field(
        default_factory=lambda: uuid.uuid4().hex,
        description="Caller's id, echoed back (printable text: no control characters).",
        json_schema_extra={"pattern": _PRINTABLE},
    )
    workflow: str | None = Field(default=None, description="Force this workflow instead of routing.")
    mode: Literal["default", "chat"] = Field(default="default", description="'chat' keeps session history.")
    session_id: str | None = Field(
        default=None,
        description="Chat session whose history to use (printable text: no control characters).",
        json_schema_extra={"pattern": _PRINTABLE},
    )
    history: list[ChatTurn] = Field(default_factory=list, description="Prior turns, oldest first.")
    collection: str | None = Field(default=None, description="Document collection to answer from (RAG).")
    documents: list[str] = Field(default_factory=list, description="Attached document texts or ids.")
    constraints: RequestConstraints = Field(default_factory=RequestConstraints)
    context: dict[str, Any] = Field(default_factory=dict, description="Extra caller context.")

    # Text that is not valid Unicode would pass a plain str field and break the trace and the answer later.
    @field_validator("request_id", "session_id")
    @classmethod
    def _valid_identifier(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else check_identifier(value, str(info.field_name))

    @field_validator("query", "workflow", "collection", "documents", "context")
    @classmethod
    def _valid_unicode(cls, value: Any, info: ValidationInfo) -> Any:
        return check_tree(value, str(info.field_name))

    # Python's json.loads takes NaN and Infinity; standard JSON (the answer, the JSONL trace) cannot carry them.
    @field_validator("context")
    @classmethod
    def _finite_numbers(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_finite(value, "context")


class WorkflowResult(_Schema):
    """What a request returns, from either phase."""

    answer: str = Field(description="The final answer text ('' when the workflow produced none).")
    workflow: str = Field(description="The workflow that produced the answer.")
    citations: list[Citation] = Field(default_factory=list, description="Sources the answer cites.")
    trace_id: str = Field(description="Id of this run's trace record.")
    request_id: str = ""
    success: bool = True
    error: str | None = Field(default=None, description="Why the run failed, when it did.")
    outputs: dict[str, Any] = Field(default_factory=dict, description="Workflow-specific outputs (e.g. lesson).")
    metadata: dict[str, Any] = Field(
        default_factory=dict,
        description="router_version, router_confidence, using_phase_b, fallback_reason, timings_ms, ...",
    )
