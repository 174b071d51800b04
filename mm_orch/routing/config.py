"""``RouterConfig``: the ``router:`` block of config/phase_b.yaml."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["RouterConfig"]


class RouterConfig(BaseModel):
    """How to build the routing chain. ``{version: v3, model_path: models/router_v3}`` is a complete config."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    version: Literal["v1", "v2", "v3"] = Field(
        default="v3", description="Highest router in the chain; lower ones are its fallbacks (v3 -> v2 -> v1)."
    )
    model_path: str = Field(
        default="models/router_v2",
        description="Directory of published trained routers (versions + 'current' pointer) used by v2 and v3.",
    )
    abstain_threshold: float = Field(
        default=0.3, ge=0.0, le=1.0, description="v2 abstains when its top probability is below this."
    )
    abstain_to: Literal["v1", "default"] = Field(
        default="v1", description="Who decides when v2 abstains: the rules router or default_workflow."
    )
    default_workflow: str = Field(default="search_qa", description="Workflow of last resort.")
    cost_lambda: float = Field(
        default=0.3, ge=0.0, alias="lambda", description="v3: weight of normalized cost against quality."
    )
    cost_traces: str | None = Field(
        default=None, description="v3: trace file/dir (JSONL or Parquet) to estimate per-workflow cost from."
    )
    bootstrap: bool = Field(
        default=True, description="Train from the bundled dataset on first use when model_path has no model."
    )
    bootstrap_path: str | None = Field(
        default=None, description="Labelled JSONL for first-use training (default: data/router/bootstrap.jsonl)."
    )

    @field_validator("default_workflow")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("default_workflow must name a workflow, got ''")
        return value
