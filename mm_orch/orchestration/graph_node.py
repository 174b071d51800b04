"""GraphNode: one node of a workflow graph, and the merge rules state keys may declare.

A graph is a ``dict[str, GraphNode]``. ``"start"`` is the entry node. The node name ``"end"`` is a terminal
marker: an edge to it ends that branch and it never executes (it may be listed in the graph or not). A node
with no ``next_nodes`` also ends its branch.

Edges out of a node:

- one next node: run it next;
- several next nodes and no ``condition``: fan out, all of them run (concurrently for async steps); a node
  reached by several branches runs once, after every branch that can still reach it has finished;
- ``condition`` set: choose exactly one of ``next_nodes`` from the state after this node ran. A condition is
  either a callable ``(state) -> node name`` (Python API) or the name of a state key (YAML): the key's value
  is mapped through ``branches`` when given (``True``/``False`` are looked up as ``"true"``/``"false"``), else
  it must itself be a node name.

Loops: a node may be re-entered only if it declares ``max_iterations`` (registration refuses any cycle with
no bounded node). Entering it once more than allowed goes to ``loop_exit`` when set, else raises
:class:`~mm_orch.exceptions.LoopLimitError`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mm_orch.exceptions import WorkflowDefinitionError
from mm_orch.yaml_config import explain_validation_error

__all__ = ["BUILTIN_MERGE_RULES", "END", "START", "DefinitionModel", "GraphNode", "MergeRule", "merge_values"]

#: True while a DefinitionModel is being validated (then a nested __init__ leaves errors to the outer call).
_VALIDATING: ContextVar[bool] = ContextVar("mm_orch_definition_validating", default=False)

START = "start"
END = "end"

MergeRule = Literal["append", "merge", "union", "sum", "max", "min", "last"] | Callable[[Any, Any], Any]
BUILTIN_MERGE_RULES = ("append", "merge", "union", "sum", "max", "min", "last")


class DefinitionModel(BaseModel):
    """Base of the workflow-definition models built from Python: a bad argument raises
    :class:`~mm_orch.exceptions.WorkflowDefinitionError` naming each bad field and the fix, not raw pydantic
    text. (YAML files go through :func:`mm_orch.yaml_config.load_yaml_model`, which reports the same way.)"""

    def __init__(self, **data: Any) -> None:
        # pydantic also calls __init__ for nested models and from model_validate: only the outermost call of a
        # Python-API construction converts, so nested errors keep their full dotted key.
        token = _VALIDATING.set(True)
        try:
            super().__init__(**data)
        except ValidationError as exc:
            if token.old_value is True:
                raise
            raise WorkflowDefinitionError(
                f"invalid {type(self).__name__}(...):\n{explain_validation_error(exc, type(self))}"
            ) from None
        finally:
            _VALIDATING.reset(token)

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Self:
        """Validate ``obj``; errors stay pydantic ValidationErrors for the caller to explain (load_yaml_model)."""
        token = _VALIDATING.set(True)
        try:
            return super().model_validate(obj, **kwargs)
        finally:
            _VALIDATING.reset(token)


class GraphNode(DefinitionModel):
    """One node: which step it runs, where it goes next, and its run policy overrides."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    step_name: str = Field(description="Name of a registered step.")
    next_nodes: list[str] = Field(default_factory=list, description="Successor node names ('end' ends).")
    condition: str | Callable[..., Any] | None = Field(
        default=None, description="Chooses one of next_nodes: a state key name, or a callable(state) -> node."
    )
    branches: dict[str, str] | None = Field(
        default=None, description="Maps the condition key's value (as text) to a node in next_nodes."
    )
    max_iterations: int | None = Field(default=None, ge=1, description="Times this node may run in one run.")
    loop_exit: str | None = Field(default=None, description="Node to go to once max_iterations is used up.")
    timeout_s: float | None = Field(default=None, gt=0, description="Overrides the step's timeout_s.")
    retries: int | None = Field(default=None, ge=0, description="Overrides the step's retries.")
    retry_backoff_s: float | None = Field(default=None, ge=0, description="Overrides the step's backoff base.")
    fallback_step: str | None = Field(default=None, description="Overrides the step's fallback_step.")
    description: str = ""

    @field_validator("next_nodes")
    @classmethod
    def _no_duplicate_edges(cls, value: list[str]) -> list[str]:
        seen = {n for n in value if value.count(n) > 1}
        if seen:
            raise ValueError(f"next_nodes lists {sorted(seen)} more than once; list each successor once")
        return value


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def merge_values(rule: MergeRule, key: str, old: Any, new: Any) -> Any:
    """Combine an existing state value with a new write under ``rule``."""
    if callable(rule):
        return rule(old, new)
    if rule == "last":
        return new
    if rule == "append":
        return _as_list(old) + _as_list(new)
    if rule == "union":
        merged = _as_list(old)
        merged.extend(v for v in _as_list(new) if v not in merged)
        return merged
    if rule == "merge":
        if not isinstance(old, dict) or not isinstance(new, dict):
            raise TypeError(
                f"merge rule 'merge' for key {key!r} needs dicts, got {type(old).__name__} "
                f"and {type(new).__name__}; use 'append' or 'last' for other values"
            )
        return {**old, **new}
    if rule == "sum":
        return old + new
    if rule == "max":
        return max(old, new)
    if rule == "min":
        return min(old, new)
    raise ValueError(
        f"unknown merge rule {rule!r} for key {key!r}; use one of {', '.join(BUILTIN_MERGE_RULES)}"
        " or a callable(old, new)"
    )
