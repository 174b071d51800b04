"""WorkflowDefinition (a named, described graph) and WorkflowRegistry (which proves graphs sound on entry)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mm_orch.exceptions import RegistrationError, WorkflowNotFoundError, format_options
from mm_orch.orchestration.compiler import CompiledGraph, compile_graph
from mm_orch.orchestration.graph_node import END, GraphNode, MergeRule
from mm_orch.registries.step_registry import StepRegistry
from mm_orch.yaml_config import load_yaml_model

__all__ = ["WorkflowDefinition", "WorkflowRegistry", "get_workflow_registry", "set_workflow_registry"]


class WorkflowDefinition(BaseModel):
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


class WorkflowRegistry:
    """Validated workflows by name. ``register`` compiles the graph and refuses unsound ones."""

    def __init__(self, step_registry: StepRegistry) -> None:
        self.step_registry = step_registry
        self._definitions: dict[str, WorkflowDefinition] = {}
        self._compiled: dict[str, CompiledGraph] = {}
        self._lock = threading.Lock()

    def register(self, definition: WorkflowDefinition, *, replace: bool = False) -> CompiledGraph:
        """Prove ``definition`` sound (WorkflowDefinitionError otherwise) and store it."""
        if not isinstance(definition, WorkflowDefinition):
            raise TypeError(f"register() takes a WorkflowDefinition, got {type(definition).__name__}")
        compiled = compile_graph(
            definition.graph,
            self.step_registry,
            name=definition.name,
            input_keys=definition.input_keys,
            merge_rules=definition.merge_rules,
        )
        with self._lock:
            if definition.name in self._definitions and not replace:
                raise RegistrationError(
                    f"workflow {definition.name!r} is already registered; pass replace=True to swap it"
                )
            self._definitions[definition.name] = definition
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
            self.register(definition, replace=replace)
            names.append(definition.name)
        return names

    def get(self, name: str) -> WorkflowDefinition:
        """The definition registered as ``name``; WorkflowNotFoundError lists the registered ones."""
        try:
            return self._definitions[name]
        except KeyError:
            raise WorkflowNotFoundError(
                f"workflow {name!r} is not registered; registered workflows: {format_options(self._definitions)}."
                f" Check the spelling, or register it with workflow_registry.register(WorkflowDefinition(...))"
            ) from None

    def compiled(self, name: str) -> CompiledGraph:
        """The validated, ready-to-run graph of workflow ``name``."""
        self.get(name)
        return self._compiled[name]

    def unregister(self, name: str) -> None:
        with self._lock:
            self.get(name)
            del self._definitions[name], self._compiled[name]

    def available(self, capabilities: Iterable[str]) -> list[str]:
        """Workflows whose required_capabilities are all in ``capabilities``."""
        offered = set(capabilities)
        return sorted(n for n, d in self._definitions.items() if set(d.required_capabilities) <= offered)

    def list_all(self) -> list[str]:
        """Registered workflow names, sorted."""
        return sorted(self._definitions)

    def __contains__(self, name: object) -> bool:
        return name in self._definitions

    def __len__(self) -> int:
        return len(self._definitions)


_default_registry: WorkflowRegistry | None = None
_default_factory: Callable[[], WorkflowRegistry] | None = None
_default_lock = threading.Lock()


def set_workflow_registry(
    registry: WorkflowRegistry | None, *, factory: Callable[[], WorkflowRegistry] | None = None
) -> None:
    """Install the process-wide registry (or a factory that builds it on first use); ``None`` resets."""
    global _default_registry, _default_factory
    with _default_lock:
        _default_registry = registry
        if factory is not None or registry is None:
            _default_factory = factory


def get_workflow_registry() -> WorkflowRegistry:
    """The process-wide workflow registry: the built-in workflows of the default Phase B wiring."""
    global _default_registry
    with _default_lock:
        if _default_registry is None:
            if _default_factory is not None:
                _default_registry = _default_factory()
            else:
                from mm_orch.orchestration.wiring import build_default_workflow_registry

                _default_registry = build_default_workflow_registry()
        return _default_registry
