"""The one registry base, as every registry uses it: names, duplicates, not-found messages."""

from __future__ import annotations

import pytest

from mm_orch.exceptions import (
    ModelNotFoundError,
    RegistrationError,
    StepNotFoundError,
    ToolNotFoundError,
    WorkflowNotFoundError,
)
from mm_orch.models import fake_metadata
from mm_orch.orchestration import BaseStep
from mm_orch.registries import ModelRegistry, StepRegistry, ToolRegistry, WorkflowRegistry
from mm_orch.registries.base import Registry


class Noop(BaseStep):
    name = "noop"

    def execute(self, state, runtime):  # type: ignore[no-untyped-def]
        return {}


def test_every_registry_shares_the_base() -> None:
    for cls in (StepRegistry, ToolRegistry, ModelRegistry, WorkflowRegistry):
        assert issubclass(cls, Registry)


@pytest.mark.parametrize(
    ("registry", "error", "message"),
    [
        (StepRegistry(), StepNotFoundError, r"step 'x' is not registered; registered steps: \(none\)\. Register"),
        (ToolRegistry(), ToolNotFoundError, r"tool 'x' is not registered; registered tools: \(none\)\. Register"),
        (ModelRegistry(), ModelNotFoundError, r"model 'x' is not registered; registered models: \(none\)\. Add"),
        (
            WorkflowRegistry(StepRegistry()),
            WorkflowNotFoundError,
            r"workflow 'x' is not registered; registered workflows: \(none\)\. Check the spelling",
        ),
    ],
)
def test_not_found_names_the_kind_the_options_and_the_fix(registry: Registry, error: type, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(error, match=message):
        registry.get("x")
    with pytest.raises(error, match=message):
        registry.unregister("x")


def test_duplicates_need_replace_and_the_same_step_twice_is_fine() -> None:
    steps = StepRegistry()
    step = steps.register(Noop())
    assert steps.register(step) is step  # the very same instance again: no clash
    with pytest.raises(RegistrationError, match=r"a step named 'noop' is already registered; pass replace=True"):
        steps.register(Noop())
    replacement = Noop()
    assert steps.register(replacement, replace=True) is replacement
    assert steps.get("noop") is replacement
    assert list(steps) == ["noop"]
    assert len(steps) == 1


def test_tools_keep_metadata_and_models_keep_metadata_records() -> None:
    tools = ToolRegistry()
    tools.register("search", object(), {"capabilities": ["search"]})
    assert tools.find("search") == ["search"]
    assert tools.capabilities() == {"search"}
    tools.unregister("search")
    assert "search" not in tools
    assert tools.capabilities() == set()
    with pytest.raises(RegistrationError, match=r"tool names must be non-empty strings, got ''"):
        tools.register("", object())

    models = ModelRegistry([fake_metadata("gen"), fake_metadata("emb", embed=True)])
    assert models.list_all() == ["emb", "gen"]
    assert models.find("embed") == ["emb"]
    assert [m.name for m in models.models()] == ["emb", "gen"]
    with pytest.raises(RegistrationError, match=r"register\(\) takes a ModelMetadata"):
        models.register({"name": "dict"})  # type: ignore[arg-type]
