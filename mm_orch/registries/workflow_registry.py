"""WorkflowDefinition (a named, described graph) and WorkflowRegistry (which proves graphs sound on entry)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from mm_orch.exceptions import RegistrationError, WorkflowDefinitionError, WorkflowNotFoundError
from mm_orch.orchestration.compiler import CompiledGraph, compile_graph
from mm_orch.orchestration.graph_node import END, DefinitionModel, GraphNode, MergeRule
from mm_orch.registries.base import Registry
from mm_orch.registries.step_registry import StepRegistry
from mm_orch.singletons import ProcessSingleton
from mm_orch.yaml_config import load_yaml_model

__all__ = ["WorkflowDefinition", "WorkflowRegistry", "get_workflow_registry", "set_workflow_registry"]


class WorkflowDefinition(DefinitionModel):
    """A workflow: its name, what it is for, its graph, and what it needs to run."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    name: str = Field(min_length=1, description="Unique workflow name, e.g. 'search_qa'.")
    description: str = Field(default="", description="One line on what the workflow is for.")
    graph: dict[str, GraphNode] = Field(description="Node name -> GraphNode; 'start' is the entry.")
    required_capabilities: list[str] = Field(
        default_factory=list, description="Capabilities the runtime must offer, e.g. ['search', 'generate']."
    )
    input_keys: list[str] = Field(
        default_factory=lambda: ["question"], description="State keys the caller provides at the start."
    )
    merge_rules: dict[str, MergeRule] = Field(
        default_factory=dict, description="State key -> how writes to it combine (append, merge, sum, ...)."
    )
    version: str = Field(default="1", description="Bump when the graph changes meaning.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="Free-form tags (cost hints, owner).")

    @field_validator("graph")
    @classmethod
    def _graph_not_empty(cls, value: dict[str, GraphNode]) -> dict[str, GraphNode]:
        if not value:
            raise ValueError("graph is empty; give at least a 'start' node")
        return value

    @classmethod
    def from_yaml(cls, path: str | Path) -> WorkflowDefinition:
        """Load a definition from a YAML file (``yaml.safe_load``); errors name the file and the bad field."""
        return load_yaml_model(path, cls)

    def to_mermaid(self) -> str:
        """The graph as Mermaid flowchart text (conditional edges labelled, loop bounds shown)."""
        lines = ["flowchart TD"]
        for name, node in self.graph.items():
            if name == END:
                continue
            bound = f"<br/>max {node.max_iterations}x" if node.max_iterations else ""
            lines.append(f'    {_mermaid_id(name)}["{name}: {node.step_name}{bound}"]')
        lines.append(f"    {_mermaid_id(END)}([{END}])")
        for name, node in self.graph.items():
            if name == END:
                continue
            labels = {v: k for k, v in (node.branches or {}).items()}
            for target in node.next_nodes:
                label = labels.get(target, "?" if node.condition is not None else "")
                arrow = f"-- {label} -->" if label else "-->"
                lines.append(f"    {_mermaid_id(name)} {arrow} {_mermaid_id(target)}")
            if node.loop_exit:
                lines.append(f"    {_mermaid_id(name)} -. max reached .-> {_mermaid_id(node.loop_exit)}")
        return "\n".join(lines) + "\n"


def _mermaid_id(name: str) -> str:
    """A Mermaid-safe node id ('end' is a Mermaid keyword, and ids allow only word characters)."""
    return "n_" + re.sub(r"\W", "_", name)


class WorkflowRegistry(Registry[WorkflowDefinition]):
    """Validated workflows by name. ``register`` compiles the graph and refuses unsound ones."""

    kind = "workflow"
    not_found_error = WorkflowNotFoundError
    register_hint = "Check the spelling, or register it with workflow_registry.register(WorkflowDefinition(...))"

    def __init__(self, step_registry: StepRegistry) -> None:
        super().__init__()
        self.step_registry = step_registry
        self._compiled: dict[str, CompiledGraph] = {}

    def register(self, definition: WorkflowDefinition, *, replace: bool = False) -> CompiledGraph:
        """Prove ``definition`` sound (WorkflowDefinitionError otherwise) and store it."""
        if not isinstance(definition, WorkflowDefinition):
            raise RegistrationError(
                f"register() takes a WorkflowDefinition, got {type(definition).__name__}; build one with "
                f"WorkflowDefinition(name=..., graph={{...}}) or WorkflowDefinition.from_yaml(path)"
            )
        compiled = compile_graph(
            definition.graph,
            self.step_registry,
            name=definition.name,
            input_keys=definition.input_keys,
            merge_rules=definition.merge_rules,
        )
        self._store(definition.name, definition, replace=replace)
        self._compiled[definition.name] = compiled
        return compiled

    def register_many(self, definitions: Iterable[WorkflowDefinition], *, replace: bool = False) -> None:
        for definition in definitions:
            self.register(definition, replace=replace)

    def load_dir(self, directory: str | Path, *, replace: bool = False) -> list[str]:
        """Register every ``*.yaml`` workflow in ``directory``; return their names."""
        names = []
        for path in sorted(Path(directory).glob("*.yaml")):
            definition = WorkflowDefinition.from_yaml(path)
            try:
                self.register(definition, replace=replace)
            except WorkflowDefinitionError as exc:  # name the file to edit
                raise WorkflowDefinitionError(f"{path}: {exc}") from exc
            names.append(definition.name)
        return names

    def compiled(self, name: str) -> CompiledGraph:
        """The validated, ready-to-run graph of workflow ``name``."""
        self.get(name)
        return self._compiled[name]

    def unregister(self, name: str) -> None:
        super().unregister(name)
        self._compiled.pop(name, None)

    def available(self, capabilities: Iterable[str]) -> list[str]:
        """Workflows whose required_capabilities are all in ``capabilities``."""
        offered = set(capabilities)
        return sorted(n for n, d in self._items.items() if set(d.required_capabilities) <= offered)


def _build_default_registry() -> WorkflowRegistry:
    from mm_orch.orchestration.wiring import build_configured_workflow_registry

    return build_configured_workflow_registry()


_default = ProcessSingleton(_build_default_registry)


def set_workflow_registry(
    registry: WorkflowRegistry | None, *, factory: Callable[[], WorkflowRegistry] | None = None
) -> None:
    """Install the process-wide registry (or a factory that builds it on first use); ``None`` resets."""
    _default.set(registry)
    if factory is not None:
        _default.set_factory(factory)
    elif registry is None:
        _default.set_factory(_build_default_registry)


def get_workflow_registry() -> WorkflowRegistry:
    """The process-wide workflow registry: the step sources and workflows dir of config/phase_b.yaml (the
    defaults without one), the same workflows the Phase B orchestrator runs."""
    return _default.get()
