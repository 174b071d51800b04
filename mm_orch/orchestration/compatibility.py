"""Phase A code inside Phase B: wrap a plain pipeline function as a step, or run a Phase A pipeline by name.

::

    adapter = LegacyWorkflowAdapter(my_search_qa)          # def my_search_qa(question): ... -> answer
    step_registry.register("legacy_workflow", adapter)     # reads state["question"], writes state["answer"]
    definition = legacy_workflow_definition("legacy_qa", adapter, step_name="legacy_workflow")

    run_legacy_workflow("search_qa", {"question": "What is Python?"})   # the Phase A pipeline
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mm_orch.orchestration.base_step import BaseStep
from mm_orch.orchestration.graph_node import GraphNode
from mm_orch.orchestration.state import State, thaw
from mm_orch.schemas import WorkflowResult

__all__ = ["LegacyWorkflowAdapter", "legacy_workflow_definition", "run_legacy_workflow"]

_PLAIN_PARAMS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


class LegacyWorkflowAdapter(BaseStep):
    """A step that calls a plain function with state values as keyword arguments.

    Parameters without defaults become ``input_keys``, parameters with defaults ``optional_input_keys``
    (passed when present in the state); the return value is written to ``output_key`` (default ``"answer"``).
    The function gets plain mutable copies, so legacy code that modifies its arguments keeps working.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        input_keys: Sequence[str] | None = None,
        output_key: str = "answer",
        description: str = "",
    ) -> None:
        if not callable(fn):
            raise TypeError(f"LegacyWorkflowAdapter needs a function, got {fn!r}")
        if inspect.iscoroutinefunction(fn):
            raise TypeError(f"{fn.__name__} is async; write it as a BaseStep with `async def execute` instead")
        params = [p for p in inspect.signature(fn).parameters.values() if p.kind in _PLAIN_PARAMS]
        required = [p.name for p in params if p.default is inspect.Parameter.empty]
        self.fn = fn
        self.name = name or str(getattr(fn, "__name__", "legacy_workflow"))
        self.description = description or (inspect.getdoc(fn) or "").split("\n", 1)[0]
        self.input_keys = tuple(input_keys) if input_keys is not None else tuple(required)
        self.optional_input_keys = tuple(p.name for p in params if p.name not in self.input_keys)
        self.output_keys = (output_key,)
        self._output_key = output_key

    def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
        kwargs = {k: thaw(state[k]) for k in self.input_keys}
        kwargs.update({k: thaw(state[k]) for k in self.optional_input_keys if k in state})
        return {self._output_key: self.fn(**kwargs)}


def legacy_workflow_definition(
    name: str, adapter: LegacyWorkflowAdapter, *, step_name: str | None = None, description: str = ""
) -> Any:
    """A one-node WorkflowDefinition running ``adapter``, registered as ``step_name`` (default: its own name)."""
    from mm_orch.registries.workflow_registry import WorkflowDefinition

    return WorkflowDefinition(
        name=name,
        description=description or adapter.description or f"Legacy workflow {adapter.step_name}",
        graph={"start": GraphNode(step_name=step_name or adapter.step_name, next_nodes=["end"])},
        input_keys=list(adapter.input_keys),
    )


def run_legacy_workflow(name: str, inputs: Mapping[str, Any]) -> WorkflowResult:
    """Run the Phase A pipeline ``name`` on ``inputs`` (at least ``question``) and return its result."""
    from mm_orch.orchestrator import get_orchestrator

    return get_orchestrator().run_workflow(name, **dict(inputs))
