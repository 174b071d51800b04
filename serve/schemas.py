"""Wire schemas of the HTTP API (besides UserRequest/WorkflowResult/RoutingDecision, which mm_orch owns)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from mm_orch.schemas import WorkflowResult
from mm_orch.text_checks import check_identifier, check_text

__all__ = [
    "AnswerEvent",
    "ErrorEvent",
    "ErrorResponse",
    "FeedbackRequest",
    "FieldError",
    "FinalEvent",
    "HealthResponse",
    "NodeFinishedEvent",
    "NodeStartedEvent",
    "ReadyResponse",
    "StatsResponse",
    "TokenEvent",
    "WorkflowInfo",
    "WorkflowsResponse",
]


# What FeedbackRequest declares in OpenAPI: ids without control characters and not blank; text without control
# characters other than tab and newlines (the validators enforce both with messages naming the fix).
_ID_PATTERN = "^[^\\u0000-\\u001f\\u007f]*[^\\s\\u0000-\\u001f\\u007f][^\\u0000-\\u001f\\u007f]*$"
_TEXT_PATTERN = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f]*$"
_CONTROL = re.compile("[\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f]")


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldError(_Wire):
    """One invalid field of a request body."""

    field: str = Field(description="Dotted path of the field, e.g. 'body.query'.")
    message: str = Field(description="What is wrong with it.")
    type: str = Field(description="Pydantic error type, e.g. 'missing' or 'string_too_long'.")


class ErrorResponse(_Wire):
    """Every 4xx/5xx body: a stable code, a sentence saying what failed and how to fix it, and details."""

    error: str = Field(
        description="Stable error code, e.g. 'unauthorized', 'validation_error', 'workflow_not_found'."
    )
    message: str = Field(description="What failed and how to fix it.")
    fields: list[FieldError] = Field(default_factory=list, description="Invalid fields (validation errors).")
    options: list[str] = Field(default_factory=list, description="Valid choices, e.g. the registered workflows.")


class WorkflowInfo(_Wire):
    """One registered workflow."""

    name: str = Field(description="Workflow name to pass as UserRequest.workflow.")
    description: str = Field(description="What the workflow is for.")
    required_capabilities: list[str] = Field(description="Capabilities the runtime must offer.")
    steps: list[str] = Field(description="Step names of its graph nodes, in graph order.")


class WorkflowsResponse(_Wire):
    """GET /v1/workflows."""

    workflows: list[WorkflowInfo] = Field(description="Every registered workflow, by name.")


class HealthResponse(_Wire):
    """GET /healthz."""

    status: Literal["ok", "degraded"] = Field(description="'degraded' when Phase B fell back to Phase A.")
    using_phase_b: bool = Field(description="False when requests run through the Phase A pipelines.")
    auth_enabled: bool = Field(description="Whether /v1 routes require a bearer API key.")
    replica: dict[str, Any] = Field(default_factory=dict, description="Which ingress replica answered.")


class StatsResponse(_Wire):
    """GET /v1/stats."""

    ingress: dict[str, Any] = Field(description="HTTP counters of this replica: requests and errors by status.")
    orchestrator: dict[str, Any] = Field(description="PhaseBOrchestrator.get_statistics() of this replica.")
    router: dict[str, Any] = Field(default_factory=dict, description="The router deployment's info.")
    models: dict[str, Any] = Field(default_factory=dict, description="Info of the LLM and embedder deployments.")


class ReadyResponse(_Wire):
    """GET /readyz: 200 when the router and every model deployment can serve, else 503."""

    status: Literal["ready", "not_ready"] = Field(description="'ready' only when every deployment answered.")
    deployments: dict[str, str] = Field(description="Per deployment: 'ok', or why it cannot serve.")


class FeedbackRequest(_Wire):
    """POST /v1/feedback: how a run went, after the fact (stored durably; the router retraining reads it)."""

    trace_id: str = Field(
        min_length=1,
        max_length=128,
        description="The run's trace id (WorkflowResult.trace_id).",
        json_schema_extra={"pattern": _ID_PATTERN},
    )
    rating: float = Field(ge=-1.0, le=1.0, description="-1 (bad) .. 1 (good); thumbs are -1 and 1.")
    workflow: str | None = Field(
        default=None,
        max_length=128,
        description="The workflow that should have been chosen, if not the one run.",
        json_schema_extra={"pattern": _TEXT_PATTERN},
    )
    comment: str = Field(
        default="", max_length=4000, description="Free text.", json_schema_extra={"pattern": _TEXT_PATTERN}
    )

    # The stored FeedbackRecord refuses these too: refused here they are a 422 naming the field, not a 500.
    @field_validator("trace_id")
    @classmethod
    def _trace_id(cls, value: str) -> str:
        if not check_identifier(value, "trace_id").strip():
            raise ValueError("trace_id is blank; pass the trace_id of the run (WorkflowResult.trace_id)")
        return value

    @field_validator("workflow", "comment")
    @classmethod
    def _text(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        bad = next((c for c in check_text(value, str(info.field_name)) if _CONTROL.match(c)), None)
        if bad is not None:
            raise ValueError(
                f"{info.field_name} holds the control character U+{ord(bad):04X}; send printable text "
                "(tabs and newlines are fine)"
            )
        return value


# --- the event stream of POST /v1/answer?stream=true (Server-Sent Events, `event: <type>`) -------------------


class NodeStartedEvent(_Wire):
    """A workflow node started."""

    type: Literal["node_started"] = "node_started"
    node: str = Field(description="Graph node name.")
    step: str = Field(description="The step it runs.")


class NodeFinishedEvent(_Wire):
    """A workflow node finished (successfully or not)."""

    type: Literal["node_finished"] = "node_finished"
    node: str = Field(description="Graph node name.")
    step: str = Field(description="The step that ran (the fallback's name if one ran).")
    success: bool = Field(description="False when the node failed.")
    latency_ms: float = Field(description="Wall time of the node.")
    error: str | None = Field(default=None, description="Why it failed, when it did.")


class TokenEvent(_Wire):
    """Reply text as it is generated (or the whole extracted answer once it exists)."""

    type: Literal["token"] = "token"
    text: str = Field(description="New text; the tokens joined are the final answer.")


class FinalEvent(_Wire):
    """The run's result; the last event of a successful stream."""

    type: Literal["final"] = "final"
    result: WorkflowResult = Field(description="What POST /v1/answer returns without stream.")


class ErrorEvent(_Wire):
    """The run failed after the stream started; the last event."""

    type: Literal["error"] = "error"
    status: int = Field(description="The HTTP status the error would have had before the stream started.")
    error: ErrorResponse = Field(description="The error body.")


AnswerEvent = Annotated[
    NodeStartedEvent | NodeFinishedEvent | TokenEvent | FinalEvent | ErrorEvent, Field(discriminator="type")
]
