"""Workflow definitions built from Python or YAML fail with WorkflowDefinitionError / ConfigError messages that
name the field, the bad value and the fix, never raw pydantic text."""

from __future__ import annotations

from pathlib import Path

import pytest

from mm_orch.exceptions import ConfigError, WorkflowDefinitionError
from mm_orch.orchestration import GraphNode
from mm_orch.registries.workflow_registry import WorkflowDefinition


def test_a_misspelt_graph_node_field_lists_the_known_fields() -> None:
    with pytest.raises(WorkflowDefinitionError, match=r"(?s)step_name: missing \(Name of a registered step\.\); add it.*"
                       r"step: unknown key \(value 'search'\); remove it or fix its spelling; known keys: branches,"):  # fmt: skip
        GraphNode(step="search")  # type: ignore[call-arg]


def test_graph_node_value_errors_keep_their_own_fix_without_pydantic_prefixes() -> None:
    with pytest.raises(
        WorkflowDefinitionError, match=r"next_nodes: next_nodes lists \['a'\] more than once"
    ) as info:
        GraphNode(step_name="s", next_nodes=["a", "a"])
    assert "Value error" not in str(info.value)
    assert "errors.pydantic.dev" not in str(info.value)
    with pytest.raises(WorkflowDefinitionError, match=r"timeout_s: Input should be greater than 0 \(got 0\)"):
        GraphNode(step_name="s", timeout_s=0)


def test_a_bad_merge_rule_is_reported_once_under_its_key() -> None:
    with pytest.raises(
        WorkflowDefinitionError, match=r"merge_rules\.x: Input should be 'append'.* \(got 'concat'\)"
    ) as info:
        WorkflowDefinition(name="w", graph={"start": GraphNode(step_name="a")}, merge_rules={"x": "concat"})  # type: ignore[dict-item]
    assert "literal[" not in str(info.value)


def test_a_workflow_yaml_with_a_misspelt_node_field_names_file_key_and_known_keys(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("name: w\ngraph:\n  start: {step_name: a, next: [end]}\n")
    with pytest.raises(ConfigError, match=r"w\.yaml is invalid:\n  graph\.start\.next: unknown key \(value \['end'\]\);"
                       r" remove it or fix its spelling; known keys: .*next_nodes"):  # fmt: skip
        WorkflowDefinition.from_yaml(path)


def test_a_nested_node_error_keeps_its_full_key() -> None:
    with pytest.raises(
        WorkflowDefinitionError, match=r"invalid WorkflowDefinition\(\.\.\.\):\n  graph\.start\.step_name: missing"
    ):
        WorkflowDefinition(name="w", graph={"start": {"step": "x"}})  # type: ignore[dict-item]
