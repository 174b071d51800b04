"""Registration proves graphs sound or refuses them with a message that names the fix."""

from __future__ import annotations

import pytest

from mm_orch.exceptions import RegistrationError, WorkflowDefinitionError
from mm_orch.orchestration import GraphNode, compile_graph
from mm_orch.registries import StepRegistry, WorkflowDefinition, WorkflowRegistry


@pytest.fixture
def workflows(registry: StepRegistry, step_types) -> WorkflowRegistry:  # type: ignore[no-untyped-def]
    KeyStep, _ = step_types
    registry.register(KeyStep("search", ["question"], ["results"]))
    registry.register(KeyStep("fetch", ["results"], ["docs"]))
    registry.register(KeyStep("answer", ["question", "docs"], ["answer"]))
    registry.register(KeyStep("left", ["question"], ["shared"]))
    registry.register(KeyStep("right", ["question"], ["shared"]))
    registry.register(KeyStep("noop", [], []))
    return WorkflowRegistry(registry)


def _wf(graph: dict[str, GraphNode], **kw) -> WorkflowDefinition:  # type: ignore[no-untyped-def]
    return WorkflowDefinition(name="wf", graph=graph, **kw)


def test_the_guide_example_registers(workflows: WorkflowRegistry, registry: StepRegistry, step_types) -> None:  # type: ignore[no-untyped-def]
    KeyStep, _ = step_types
    registry.register(KeyStep("summarize", ["docs"], ["summaries"]))
    definition = WorkflowDefinition(
        name="search_qa",
        description="Search-based Q&A",
        graph={
            "start": GraphNode(step_name="search", next_nodes=["fetch"]),
            "fetch": GraphNode(step_name="fetch", next_nodes=["summarize"]),
            "summarize": GraphNode(step_name="summarize", next_nodes=["answer"]),
            "answer": GraphNode(step_name="answer", next_nodes=["end"]),
            "end": GraphNode(step_name="answer", next_nodes=[]),
        },
        required_capabilities=["search", "generate"],
    )
    workflows.register(definition)
    assert workflows.list_all() == ["search_qa"]
    assert "end" not in workflows.compiled("search_qa").nodes


@pytest.mark.parametrize(
    ("graph", "message"),
    [
        ({"first": GraphNode(step_name="search")}, r"no 'start' node; name the entry node 'start'"),
        (
            {"start": GraphNode(step_name="nope")},
            r"uses step 'nope', which is not registered; registered steps: "
            r"'answer', .*step_registry.register",
        ),
        (
            {"start": GraphNode(step_name="search", next_nodes=["fetchh"])},
            r"points to 'fetchh', which is not a node of this graph.*Add a node 'fetchh' or point to 'end'",
        ),
        (
            {"start": GraphNode(step_name="search"), "orphan": GraphNode(step_name="fetch")},
            r"'orphan' cannot be reached from 'start'",
        ),
        (
            {
                "start": GraphNode(step_name="search", next_nodes=["a"]),
                "a": GraphNode(step_name="fetch", next_nodes=["b"]),
                "b": GraphNode(step_name="noop", next_nodes=["a"]),
            },
            r"the cycle a -> b -> a has no bound; set max_iterations",
        ),
        ({"start": GraphNode(step_name="fetch")}, r"needs input key\(s\) \['results'\]"),
        (
            {
                "start": GraphNode(step_name="noop", next_nodes=["l", "r"]),
                "l": GraphNode(step_name="left"),
                "r": GraphNode(step_name="right"),
            },
            r"'l' and 'r' may run in parallel and both write 'shared'; give 'shared' a merge rule",
        ),
        (
            {
                "start": GraphNode(step_name="search", next_nodes=["a", "b"], condition="x", branches={"1": "zz"}),
                "a": GraphNode(step_name="noop"),
                "b": GraphNode(step_name="noop"),
            },
            r"points to 'zz'",
        ),
        ({"start": GraphNode(step_name="search", loop_exit="end")}, r"sets loop_exit but not max_iterations"),
    ],
)
def test_unsound_graphs_are_refused(workflows: WorkflowRegistry, graph, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(WorkflowDefinitionError, match=message):
        workflows.register(_wf(graph))
    assert "wf" not in workflows


def test_an_input_missing_on_one_branch_only_is_refused(workflows: WorkflowRegistry) -> None:
    graph = {
        "start": GraphNode(step_name="search", next_nodes=["fetch", "skip"], condition=lambda s: "skip"),
        "fetch": GraphNode(step_name="fetch", next_nodes=["answer"]),
        "skip": GraphNode(step_name="noop", next_nodes=["answer"]),
        "answer": GraphNode(step_name="answer"),
    }
    with pytest.raises(WorkflowDefinitionError, match=r"node 'answer' .* needs input key\(s\) \['docs'\]"):
        workflows.register(_wf(graph))


def test_parallel_branches_together_provide_a_join_input(
    workflows: WorkflowRegistry, registry, step_types
) -> None:  # type: ignore[no-untyped-def]
    KeyStep, _ = step_types
    registry.register(KeyStep("join", ["shared", "docs"], ["answer"]))
    graph = {
        "start": GraphNode(step_name="search", next_nodes=["fetch", "left"]),
        "fetch": GraphNode(step_name="fetch", next_nodes=["join"]),
        "left": GraphNode(step_name="left", next_nodes=["join"]),
        "join": GraphNode(step_name="join"),
    }
    compiled = workflows.register(_wf(graph))
    assert compiled.reach["start"] >= {"fetch", "left", "join"}


def test_a_merge_rule_allows_parallel_writers(workflows: WorkflowRegistry) -> None:
    graph = {
        "start": GraphNode(step_name="noop", next_nodes=["l", "r"]),
        "l": GraphNode(step_name="left"),
        "r": GraphNode(step_name="right"),
    }
    compiled = workflows.register(_wf(graph, merge_rules={"shared": "append"}))
    assert compiled.merge_rules == {"shared": "append"}
    with pytest.raises(WorkflowDefinitionError, match="shared"):  # the same graph without the rule is refused
        workflows.register(_wf(graph), replace=True)


def test_initial_input_keys_satisfy_inputs(workflows: WorkflowRegistry) -> None:
    compiled = workflows.register(_wf({"start": GraphNode(step_name="fetch")}, input_keys=["results"]))
    assert compiled.input_keys == ("results",)
    with pytest.raises(WorkflowDefinitionError, match=r"needs input key\(s\) \['results'\]"):
        workflows.register(_wf({"start": GraphNode(step_name="fetch")}), replace=True)


def test_unknown_fallback_and_incomplete_fallback_are_refused(workflows: WorkflowRegistry) -> None:
    with pytest.raises(WorkflowDefinitionError, match=r"fallback step 'ghost', which is not registered"):
        workflows.register(_wf({"start": GraphNode(step_name="search", fallback_step="ghost")}))
    with pytest.raises(WorkflowDefinitionError, match=r"fallback step 'noop' does not produce \['results'\]"):
        workflows.register(_wf({"start": GraphNode(step_name="search", fallback_step="noop")}))


def test_unknown_merge_rule_is_refused(registry: StepRegistry, workflows: WorkflowRegistry) -> None:
    with pytest.raises(WorkflowDefinitionError, match=r"merge_rules.x: Input should be .append., .merge."):
        _wf({"start": GraphNode(step_name="noop")}, merge_rules={"x": "concat"})
    with pytest.raises(WorkflowDefinitionError, match=r"merge rule 'concat' for key 'x' is unknown; use one of"):
        compile_graph({"start": GraphNode(step_name="noop")}, registry, merge_rules={"x": "concat"})  # type: ignore[dict-item]


def test_duplicate_registration_needs_replace(workflows: WorkflowRegistry) -> None:
    wf = _wf({"start": GraphNode(step_name="noop")})
    workflows.register(wf)
    with pytest.raises(RegistrationError, match=r"already registered; pass replace=True"):
        workflows.register(wf)
    workflows.register(wf, replace=True)


def test_step_key_declarations_are_checked(step_types) -> None:  # type: ignore[no-untyped-def]
    from mm_orch.orchestration import BaseStep

    with pytest.raises(
        TypeError, match=r"must be a list of state key names, not a string; write input_keys = \['q'\]"
    ):

        class Bad(BaseStep):
            input_keys = "q"  # type: ignore[assignment]


def test_mermaid_shows_nodes_branches_and_loops(workflows: WorkflowRegistry) -> None:
    graph = {
        "start": GraphNode(
            step_name="search",
            next_nodes=["start", "end"],
            condition="more",
            branches={"true": "start", "false": "end"},
            max_iterations=3,
            loop_exit="end",
        ),
    }
    text = _wf(graph).to_mermaid()
    assert text.startswith("flowchart TD")
    assert 'n_start["start: search<br/>max 3x"]' in text
    assert "n_start -- true --> n_start" in text
    assert "n_start -- false --> n_end" in text
    assert "n_start -. max reached .-> n_end" in text
