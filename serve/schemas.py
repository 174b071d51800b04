"""Wire schemas of the HTTP API (besides UserRequest/WorkflowResult/RoutingDecision, which mm_orch owns)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ErrorResponse",
    "FieldError",
    "HealthResponse",
    "StatsResponse",
    "WorkflowInfo",
    "WorkflowsResponse",
]


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
