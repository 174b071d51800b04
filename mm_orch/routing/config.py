"""``RouterConfig``: the ``router:`` block of config/phase_b.yaml."""

from __future__ import annotations

from pathlib import Path
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
        description=(
            "v2: the directory of published trained routers (versions + 'current' pointer). v3: v3's own "
            "directory; it reads the trained classifier from trained_model_path."
        ),
    )
    trained_model_path: str | None = Field(
        default=None,
        description=(
            "The published classifier v2 and v3 score with (what `scripts/train_router_v2.py --output` writes). "
            "Unset: v2 uses model_path; v3 uses model_path when a classifier is published there, else the "
            "sibling directory router_v2 (models/router_v3 -> models/router_v2)."
        ),
    )
    features: Literal["embedding", "ngram"] = Field(
        default="embedding",
        description="What a first-use model is trained on: n-grams + sentence embedding, or n-grams only.",
    )
    abstain_threshold: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Calibrated top probability below which the router asks for a second opinion (abstain_to).",
    )
    abstain_to: Literal["lm", "v1", "default"] = Field(
        default="lm",
        description=(
            "Who decides when the trained router is unsure: the language model choosing among the router's top "
            "candidates, the rules router, or default_workflow."
        ),
    )
    second_opinion_model: str = Field(
        default="default", description="Model-manager generator asked (abstain_to: lm)."
    )
    second_opinion_candidates: int = Field(
        default=3, ge=2, le=7, description="How many of the router's top workflows the LM may choose from."
    )
    stickiness_margin: float = Field(
        default=0.2,
        ge=0.0,
        le=1.0,
        description="Inside a session, switch workflows only when the new one is this much more probable.",
    )
    hint_override: float = Field(
        default=0.9,
        ge=0.0,
        le=1.0,
        description="A context workflow_hint is followed unless the router is this sure of another family.",
    )
    default_workflow: str = Field(default="search_qa", description="Workflow of last resort.")
    cost_lambda: float = Field(
        default=0.3, ge=0.0, alias="lambda", description="v3: weight of normalized cost against quality."
    )
    cost_traces: str | None = Field(
        default=None, description="v3: trace file/dir (JSONL or Parquet) to estimate per-workflow cost from."
    )
    bootstrap: bool = Field(
        default=True, description="Train from the curated dataset on first use when no model is published."
    )
    bootstrap_path: str | None = Field(
        default=None,
        description="First-use training data: a folder of train_*.jsonl or a JSONL file (default data/router/requests).",
    )

    def classifier_path(self) -> str:
        """The directory of the trained classifier this config's v2/v3 read (see trained_model_path)."""
        if self.trained_model_path:
            return self.trained_model_path
        if self.version != "v3":
            return self.model_path
        own = Path(self.model_path)
        if (own / "current").is_file() or (own / "manifest.json").is_file():
            return self.model_path
        return str(own.with_name("router_v2"))

    @field_validator("default_workflow")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("default_workflow must name a workflow, got ''")
        return value
