"""The two top-level config files: config/system.yaml (Phase A) and config/phase_b.yaml (Phase B).

Both are read with ``yaml.safe_load`` and validated by pydantic models with ``extra="forbid"``; a bad file
raises :class:`~mm_orch.exceptions.ConfigError` naming the file, the key, the bad value and what is allowed.
A missing phase_b.yaml is not an error: :func:`load_phase_b_config` returns ``None`` and the system runs
Phase A.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mm_orch.observability.config import TracerConfig
from mm_orch.paths import config_path
from mm_orch.routing.config import RouterConfig
from mm_orch.yaml_config import load_yaml_model

__all__ = [
    "PHASE_A_WORKFLOWS",
    "PHASE_B_CONFIG_PATH",
    "SYSTEM_CONFIG_PATH",
    "PhaseBConfig",
    "RegistriesConfig",
    "RegistryToggle",
    "SystemConfig",
    "load_phase_b_config",
    "load_system_config",
    "load_yaml_model",
]

SYSTEM_CONFIG_PATH = "config/system.yaml"
PHASE_B_CONFIG_PATH = "config/phase_b.yaml"

PhaseAWorkflow = Literal["search_qa", "rag_qa", "lesson_pack", "chat_generate", "self_ask_search_qa"]
PHASE_A_WORKFLOWS: tuple[PhaseAWorkflow, ...] = (
    "search_qa",
    "rag_qa",
    "lesson_pack",
    "chat_generate",
    "self_ask_search_qa",
)


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SystemConfig(_Config):
    """Phase A: which fixed pipelines are enabled, and where models and tools come from."""

    workflows: list[PhaseAWorkflow] = Field(
        default_factory=lambda: list(PHASE_A_WORKFLOWS), description="Fixed pipelines Phase A may run."
    )
    default_workflow: PhaseAWorkflow = Field(default="search_qa", description="Used when routing finds nothing.")
    models_config: str | None = Field(
        default=None, description="Path of a models YAML (default: config/models.yaml, then embedded defaults)."
    )
    tools: dict[str, Any] = Field(default_factory=dict, description="ToolsConfig overrides (search, fetch, ...).")
    sessions_path: str | None = Field(
        default="data/sessions/chat.jsonl", description="Where chat history persists; null keeps it in memory."
    )


class RegistryToggle(_Config):
    enabled: bool = Field(default=True, description="False leaves this registry out of Phase B.")


class RegistriesConfig(_Config):
    tool_registry: RegistryToggle = Field(default_factory=RegistryToggle)
    model_registry: RegistryToggle = Field(default_factory=RegistryToggle)
    workflow_registry: RegistryToggle = Field(default_factory=RegistryToggle)
    step_sources: list[str] = Field(
        default_factory=lambda: ["steps:BUILTIN_STEPS"],
        description="Import paths ('module:attr') of the steps to register; add your own here.",
    )
    workflows_dir: str = Field(default="config/workflows", description="Folder of workflow YAML files.")


class PhaseBConfig(_Config):
    """Phase B: registries, the router, the tracer, and the fallback policy."""

    registries: RegistriesConfig = Field(default_factory=RegistriesConfig)
    router: RouterConfig = Field(
        default_factory=RouterConfig, description="The routing chain: version v1|v2|v3, model_path, thresholds."
    )
    tracer: TracerConfig = Field(default_factory=TracerConfig)
    fallback_to_phase_a: bool = Field(
        default=True, description="Answer with the Phase A pipeline when a Phase B run fails."
    )


def load_system_config(path: str | Path | None = None) -> SystemConfig:
    """config/system.yaml, or the defaults when the file does not exist."""
    target = config_path(path or SYSTEM_CONFIG_PATH)
    return load_yaml_model(target, SystemConfig) if target.exists() else SystemConfig()


def load_phase_b_config(path: str | Path | None = None) -> PhaseBConfig | None:
    """config/phase_b.yaml, or ``None`` when the file does not exist (the system then runs Phase A)."""
    target = config_path(path or PHASE_B_CONFIG_PATH)
    return load_yaml_model(target, PhaseBConfig) if target.exists() else None
