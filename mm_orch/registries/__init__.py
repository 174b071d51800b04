"""Registries of steps, tools, models and workflows."""

from mm_orch.registries.model_registry import ModelRegistry
from mm_orch.registries.step_registry import StepRegistry
from mm_orch.registries.tool_registry import ToolRegistry
from mm_orch.registries.workflow_registry import (
    WorkflowDefinition,
    WorkflowRegistry,
    get_workflow_registry,
    set_workflow_registry,
)

__all__ = [
    "ModelRegistry",
    "StepRegistry",
    "ToolRegistry",
    "WorkflowDefinition",
    "WorkflowRegistry",
    "get_workflow_registry",
    "set_workflow_registry",
]
