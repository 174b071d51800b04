"""Run-time semantics of GraphExecutor: order, end marker, branching, fan-out/fan-in, loops, contracts."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from mm_orch.exceptions import (
    ExecutionError,
    LoopLimitError,
    MergeError,
    MissingInputError,
    StepExecutionError,
    StepOutputError,
    WorkflowDefinitionError,
)
from mm_orch.orchestration import BaseStep, GraphExecutor, GraphNode, State
from mm_orch.registries import StepRegistry, WorkflowDefinition, WorkflowRegistry


def test_linear_graph_runs_in_order_and_end_is_never_executed(registry, step_types, log) -> None:  # type: ignore[no-untyped-def]
    KeyStep, _ = step_types
    registry.register(KeyStep("a", ["question"], ["x"], log))
    registry.register(KeyStep("b", ["x"], ["y"], log))
    registry.register(KeyStep("never", [], [], log))
    graph = {
        "start": GraphNode(step_name="a", next_nodes=["b"]),
        "b": GraphNode(step_name="b", next_nodes=["end"]),
        "end": GraphNode(step_name="never"),
    }
    state = GraphExecutor(registry).execute(graph, {"question": "q"})
    assert log == ["a", "b"]
    assert state["y"] == "b(a(q))"


def test_a_node_without_next_nodes_ends_the_run(registry, step_types, log) -> None:  # type: ignore[no-untyped-def]
    KeyStep, _ = step_types
    registry.register(KeyStep("a", [], ["x"], log))
    assert GraphExecutor(registry).execute({"start": GraphNode(step_name="a")}, {})["x"] == "a()"
    assert log == ["a"]


@pytest.mark.parametrize("use_callable", [True, False])
def test_condition_picks_one_branch(registry, step_types, log, use_callable) -> None:  # type: ignore[no-untyped-def]
    KeyStep, _ = step_types
    registry.register(KeyStep("decide", [], [], log))
    registry.register(KeyStep("yes", [], ["out"], log))
    registry.register(KeyStep("no", [], ["out"], log))
    condition: Any = (lambda s: "y" if s["flag"] else "n") if use_callable else "flag"
    graph = {
        "start": GraphNode(
            step_name="decide",
            next_nodes=["y", "n"],
            condition=condition,
            branches=None if use_callable else {"true": "y", "false": "n"},
        ),
        "y": GraphNode(step_name="yes"),
        "n": GraphNode(step_name="no"),
    }
    ex = GraphExecutor(registry)
    assert (
        ex.execute(
            graph,
            {"flag": True},
        )["out"]
        == "yes()"
    )
    assert ex.execute(graph, {"flag": False})["out"] == "no()"
    assert log == ["decide", "yes", "decide", "no"]


def test_condition_value_with_no_branch_is_a_clear_error(registry, step_types) -> None:  # type: ignore[no-untyped-def]
    KeyStep, _ = step_types
    registry.register(KeyStep("s", [], []))
    graph = {
        "start": GraphNode(step_name="s", next_nodes=["a"], condition="kind", branches={"x": "a"}),
        "a": GraphNode(step_name="s"),
    }
    with pytest.raises(ExecutionError, match=r"state\['kind'\] = 'zzz' matches no branch; branches: 'x'"):
        GraphExecutor(registry).execute(graph, {"kind": "zzz"})


def test_fan_out_and_fan_in_runs_the_join_once_after_every_branch(registry, step_types, log) -> None:  # type: ignore[no-untyped-def]
    KeyStep, _ = step_types
    registry.register(KeyStep("split", ["question"], [], log))
    registry.register(KeyStep("left", ["question"], ["l"], log))
    registry.register(KeyStep("left2", ["l"], ["l2"], log))
    registry.register(KeyStep("right", ["question"], ["r"], log))
    registry.register(KeyStep("join", ["l2", "r"], ["answer"], log))
    graph = {
        "start": GraphNode(step_name="split", next_nodes=["left", "right"]),
        "left": GraphNode(step_name="left", next_nodes=["left2"]),
        "left2": GraphNode(step_name="left2", next_nodes=["join"]),
        "right": GraphNode(step_name="right", next_nodes=["join"]),
        "join": GraphNode(step_name="join"),
    }
    state = GraphExecutor(registry).execute(graph, {"question": "q"})
    assert log.count("join") == 1
    assert log[-1] == "join"
    assert state["answer"] == "join(left2(left(q)),right(q))"


def test_async_branches_run_concurrently(registry: StepRegistry, step_types) -> None:  # type: ignore[no-untyped-def]
    KeyStep, _ = step_types
    started: list[str] = []

    class Waiter(BaseStep):
        def __init__(self, name: str, event: asyncio.Event) -> None:
            self.name, self.output_keys, self.event = name, (name,), event

        async def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
            started.append(self.name)
            if len(started) == 2:
                self.event.set()
            await asyncio.wait_for(self.event.wait(), 2)  # times out unless both branches run at once
            return {self.name: True}

    async def main() -> State:
        event = asyncio.Event()
        registry.register(Waiter("a", event))
        registry.register(Waiter("b", event))
        registry.register(KeyStep("split", [], []))
        graph = {
            "start": GraphNode(step_name="split", next_nodes=["a", "b"]),
            "a": GraphNode(step_name="a"),
            "b": GraphNode(step_name="b"),
        }
        return await GraphExecutor(registry).aexecute(graph, {})

    state = asyncio.run(main())
    assert state["a"] is True
    assert state["b"] is True
    assert sorted(started) == ["a", "b"]


def test_merge_rules_combine_parallel_writes_in_declaration_order(registry: StepRegistry) -> None:
    class Emit(BaseStep):
        output_keys = ("items",)

        def __init__(self, name: str) -> None:
            self.name = name

        def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
            return {"items": [self.name]}

    for n in ("s", "x", "y", "z"):
        registry.register(Emit(n))
    graph = {
        "start": GraphNode(step_name="s", next_nodes=["z", "x", "y"]),
        "y": GraphNode(step_name="y"),
        "x": GraphNode(step_name="x"),
        "z": GraphNode(step_name="z"),
    }
    wf = WorkflowDefinition(name="m", graph=graph, input_keys=[], merge_rules={"items": "append"})
    assert GraphExecutor(registry).execute(wf, {})["items"] == ["s", "y", "x", "z"]
    assert asyncio.run(GraphExecutor(registry).aexecute(wf, {}))["items"] == ["s", "y", "x", "z"]


def test_loop_runs_to_max_iterations_then_takes_loop_exit(registry: StepRegistry, step_types, log) -> None:  # type: ignore[no-untyped-def]
    KeyStep, _ = step_types

    class Count(BaseStep):
        name, output_keys, optional_input_keys = "count", ("n",), ("n",)

        def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
            return {"n": state.get("n", 0) + 1}

    registry.register(Count())
    registry.register(KeyStep("done", ["n"], ["answer"], log))
    graph = {
        "start": GraphNode(step_name="count", next_nodes=["start"], max_iterations=4, loop_exit="finish"),
        "finish": GraphNode(step_name="done"),
    }
    state = GraphExecutor(registry).execute(WorkflowDefinition(name="loop", graph=graph, input_keys=[]), {})
    assert state["n"] == 4
    assert state["answer"] == "done(4)"
    bounded = {"start": GraphNode(step_name="count", next_nodes=["start"], max_iterations=2)}
    with pytest.raises(LoopLimitError, match=r"node 'start' already ran max_iterations=2 times"):
        GraphExecutor(registry).execute(bounded, {})


def test_conditional_loop_stops_when_the_state_says_so(registry: StepRegistry) -> None:
    class Count(BaseStep):
        name, output_keys, optional_input_keys = "count", ("n", "more"), ("n",)

        def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
            n = state.get("n", 0) + 1
            return {"n": n, "more": n < 3}

    registry.register(Count())
    graph = {
        "start": GraphNode(
            step_name="count",
            next_nodes=["start", "end"],
            condition="more",
            branches={"true": "start", "false": "end"},
            max_iterations=10,
        )
    }
    assert GraphExecutor(registry).execute(graph, {})["n"] == 3


def test_missing_input_names_the_keys(registry, step_types) -> None:  # type: ignore[no-untyped-def]
    KeyStep, _ = step_types
    registry.register(KeyStep("needs", ["question", "docs"], []))
    wf = WorkflowDefinition(
        name="wf", graph={"start": GraphNode(step_name="needs")}, input_keys=["question", "docs"]
    )
    with pytest.raises(
        MissingInputError,
        match=r"Step 'needs' failed \(workflow 'wf', node 'start'\): missing "
        r"input key\(s\) \['docs'\]",
    ) as info:
        GraphExecutor(registry).execute(wf, {"question": "q"})
    assert info.value.missing == ["docs"]
    assert info.value.step == "needs"


class _Returns(BaseStep):
    def __init__(self, name: str, value: Any, outputs: tuple[str, ...] = ("a",)) -> None:
        self.name, self.value, self.output_keys = name, value, outputs

    def execute(self, state: State, runtime: Any) -> Any:
        return self.value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"a": 1, "b": 2}, r"wrote undeclared key\(s\) \['b'\]; declared outputs: 'a'"),
        ({}, r"did not produce declared output key\(s\) \['a'\]"),
        ("oops", r"execute\(\) returned str; it must return a dict of updates"),
    ],
)
def test_output_contract_is_enforced(registry: StepRegistry, value: Any, message: str) -> None:
    registry.register(_Returns("s", value))
    with pytest.raises(StepOutputError, match=message):
        GraphExecutor(registry).execute({"start": GraphNode(step_name="s")}, {})


def test_a_step_cannot_mutate_what_another_step_sees(registry: StepRegistry) -> None:
    class Sneaky(BaseStep):
        name, input_keys, output_keys = "sneaky", ("docs",), ()

        def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
            state["docs"]["x"] = "changed"
            return {}

    registry.register(Sneaky())
    wf = WorkflowDefinition(name="wf", graph={"start": GraphNode(step_name="sneaky")}, input_keys=["docs"])
    with pytest.raises(StepExecutionError, match=r"Step 'sneaky' failed.*StateMutationError.*read-only"):
        GraphExecutor(registry).execute(wf, {"docs": {"x": "orig"}})


def test_step_errors_carry_workflow_node_step_and_cause(registry: StepRegistry) -> None:
    class Boom(BaseStep):
        name = "boom"

        def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
            raise ValueError("bad thing")

    registry.register(Boom())
    workflows = WorkflowRegistry(registry)
    compiled = workflows.register(
        WorkflowDefinition(name="wf", graph={"start": GraphNode(step_name="boom")}, input_keys=[])
    )
    with pytest.raises(
        StepExecutionError,
        match=r"^Step 'boom' failed \(workflow 'wf', node 'start'\): "
        r"ValueError: bad thing$",
    ) as info:
        GraphExecutor(registry).execute(compiled, {})
    err = info.value
    assert (err.workflow, err.node, err.step) == ("wf", "start", "boom")
    assert isinstance(err.cause, ValueError)
    assert err.__cause__ is err.cause
    assert err.trace_id


def test_runtime_reaches_the_steps(registry: StepRegistry) -> None:
    class UsesRuntime(BaseStep):
        name, output_keys = "r", ("seen",)

        def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
            return {"seen": runtime["marker"]}

    registry.register(UsesRuntime())
    assert GraphExecutor(registry).execute({"start": GraphNode(step_name="r")}, {}, {"marker": 7})["seen"] == 7


def test_sync_execute_runs_async_steps_even_inside_a_running_loop(registry, step_types) -> None:  # type: ignore[no-untyped-def]
    _, AsyncKeyStep = step_types
    registry.register(AsyncKeyStep("a", ["question"], ["answer"]))
    graph = {"start": GraphNode(step_name="a")}
    ex = GraphExecutor(registry)
    assert ex.execute(graph, {"question": "q"})["answer"] == "a(q)"

    async def inside() -> str:
        return str(ex.execute(graph, {"question": "z"})["answer"])

    assert asyncio.run(inside()) == "a(z)"


def test_a_plain_graphs_initial_keys_are_the_keys_it_is_called_with(registry, step_types) -> None:  # type: ignore[no-untyped-def]
    KeyStep, _ = step_types
    registry.register(KeyStep("uses_a", ["a"], ["out"]))
    graph = {"start": GraphNode(step_name="uses_a")}
    ex = GraphExecutor(registry)
    assert ex.execute(graph, {"a": 1})["out"] == "uses_a(1)"  # no 'question' needed
    with pytest.raises(
        WorkflowDefinitionError, match=r"node 'start' \(step 'uses_a'\) needs input key\(s\) \['a'\]"
    ):
        ex.execute(graph, {"question": "q"})  # the same graph called without 'a' is refused before it runs


def test_a_failing_merge_rule_names_the_node_the_key_and_the_workflow(registry: StepRegistry) -> None:
    class Emit(BaseStep):
        output_keys = ("items",)

        def __init__(self, name: str, value: Any) -> None:
            self.name, self.value = name, value

        def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
            return {"items": self.value}

    registry.register(Emit("s", {"a": 1}))
    registry.register(Emit("x", [1]))
    registry.register(Emit("y", {"b": 2}))
    graph = {
        "start": GraphNode(step_name="s", next_nodes=["x", "y"]),
        "x": GraphNode(step_name="x"),
        "y": GraphNode(step_name="y"),
    }
    wf = WorkflowDefinition(name="merging", graph=graph, input_keys=[], merge_rules={"items": "merge"})
    with pytest.raises(
        MergeError,
        match=r"workflow 'merging', node 'x': merge rule 'merge' for key 'items' could not combine the "
        r"state's ReadOnlyDict with the list the node wrote .*change merge_rules\['items'\]",
    ) as info:
        GraphExecutor(registry).execute(wf, {})
    assert (info.value.workflow, info.value.node) == ("merging", "x")
    assert info.value.trace_id
