"""Lifecycle hooks, cancelling a run, and timed-out blocking steps that must not hold threads."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping
from typing import Any

import pytest

from mm_orch.exceptions import StepExecutionError, StepTimeoutError
from mm_orch.orchestration import BaseStep, GraphExecutor, GraphNode, LifecycleHook, State
from mm_orch.orchestration.cancellation import abandoned_threads, current_token, raise_if_cancelled
from mm_orch.registries import StepRegistry


class Recorder(LifecycleHook):
    """Keeps every event as (name, fields)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def run_started(self, **fields: Any) -> None:
        self.events.append(("run_started", fields))

    def node_started(self, **fields: Any) -> None:
        self.events.append(("node_started", fields))

    def node_finished(self, **fields: Any) -> None:
        self.events.append(("node_finished", fields))

    def run_finished(self, **fields: Any) -> None:
        self.events.append(("run_finished", fields))

    def names(self) -> list[str]:
        return [f"{name}:{fields.get('node', '')}" for name, fields in self.events]


class Write(BaseStep):
    def __init__(self, name: str, key: str, fail: bool = False) -> None:
        self.name, self.output_keys, self.fail = name, (key,), fail

    def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
        if self.fail:
            raise ValueError("broken on purpose")
        return {self.output_keys[0]: self.name}


def _two_nodes(registry: StepRegistry, fail: bool = False) -> dict[str, GraphNode]:
    registry.register(Write("first", "a"))
    registry.register(Write("second", "b", fail=fail))
    return {"start": GraphNode(step_name="first", next_nodes=["n2"]), "n2": GraphNode(step_name="second")}


def test_hooks_see_every_event_in_order_with_keyword_fields(registry: StepRegistry) -> None:
    graph = _two_nodes(registry)
    for_all, for_one = Recorder(), Recorder()
    executor = GraphExecutor(registry, hooks=[for_all])
    result = executor.run(graph, {}, hooks=[for_one])
    expected = ["run_started:", "node_started:start", "node_finished:start", "node_started:n2",
                "node_finished:n2", "run_finished:"]  # fmt: skip
    assert for_all.names() == expected
    assert for_one.names() == expected
    finished = dict(for_one.events)["node_finished"]  # the last node_finished (n2)
    assert finished["step"] == "second"
    assert finished["written_keys"] == ("b",)
    assert finished["error"] is None
    assert finished["duration_ms"] >= 0
    assert finished["attempts"] == 1
    assert finished["run_id"] == result.trace_id
    done = for_one.events[-1][1]
    assert done["error"] is None
    assert not done["cancelled"]
    assert done["state"]["b"] == "second"
    executor.run(graph, {})  # a per-run hook observes only its own run
    assert len(for_one.events) == 6
    assert len(for_all.events) == 12


def test_a_failed_node_is_reported_and_a_raising_hook_changes_nothing(registry: StepRegistry) -> None:
    class Broken(LifecycleHook):
        def node_started(self, **fields: Any) -> None:
            raise RuntimeError("hook bug")

    graph = _two_nodes(registry, fail=True)
    seen = Recorder()
    with pytest.raises(StepExecutionError, match=r"Step 'second' failed \(node 'n2'\): ValueError: broken"):
        GraphExecutor(registry, hooks=[Broken(), seen]).run(graph, {})
    node = next(f for name, f in seen.events if name == "node_finished" and f["node"] == "n2")
    assert isinstance(node["error"], StepExecutionError)
    assert node["written_keys"] == ()
    assert isinstance(seen.events[-1][1]["error"], StepExecutionError)


def test_hooks_with_async_steps_see_both_parallel_nodes(registry: StepRegistry) -> None:
    class AWrite(Write):
        async def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
            await asyncio.sleep(0.01)
            return {self.output_keys[0]: self.name}

    registry.register(Write("split", "s"))
    registry.register(AWrite("left", "l"))
    registry.register(AWrite("right", "r"))
    graph = {
        "start": GraphNode(step_name="split", next_nodes=["l", "r"]),
        "l": GraphNode(step_name="left"),
        "r": GraphNode(step_name="right"),
    }
    seen = Recorder()
    state = asyncio.run(GraphExecutor(registry).aexecute(graph, {}, hooks=[seen]))
    assert state["l"] == "left"
    assert state["r"] == "right"
    finished = sorted(f["node"] for name, f in seen.events if name == "node_finished")
    assert finished == ["l", "r", "start"]


class Tracer:
    def __init__(self) -> None:
        self.traces: list[Any] = []

    def sampled(self) -> bool:
        return True

    def write(self, trace: Any) -> None:
        self.traces.append(trace)


def test_cancelling_the_task_stops_scheduling_cancels_in_flight_nodes_and_traces_the_run(
    registry: StepRegistry,
) -> None:
    started = threading.Event()
    ran_after: list[str] = []

    class Hang(BaseStep):
        output_keys = ("x",)

        def __init__(self, name: str) -> None:
            self.name = name

        async def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
            started.set()
            await asyncio.sleep(30)
            return {"x": 1}

    class After(BaseStep):
        name = "after"

        def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
            ran_after.append("after")
            return {}

    registry.register(Write("split", "s"))
    registry.register(Hang("hang_a"))
    registry.register(After())

    class HangB(Hang):
        output_keys = ("y",)

    registry.register(HangB("hang_b"))
    graph = {
        "start": GraphNode(step_name="split", next_nodes=["a", "b"]),
        "a": GraphNode(step_name="hang_a", next_nodes=["after"]),
        "b": GraphNode(step_name="hang_b", next_nodes=["after"]),
        "after": GraphNode(step_name="after"),
    }
    tracer, seen = Tracer(), Recorder()
    executor = GraphExecutor(registry, tracer=tracer)

    async def main() -> None:
        task = asyncio.create_task(executor.arun(graph, {}, hooks=[seen]))
        while not started.is_set():
            await asyncio.sleep(0.005)
        t0 = time.perf_counter()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.perf_counter() - t0 < 1.0

    asyncio.run(main())
    assert ran_after == []
    (trace,) = tracer.traces
    assert not trace.success
    assert trace.error_type == "RunCancelledError"
    cancelled_nodes = sorted(s.node for s in trace.steps if s.error_type == "RunCancelledError")
    assert cancelled_nodes == ["a", "b"]
    assert seen.events[-1][0] == "run_finished"
    assert seen.events[-1][1]["cancelled"] is True


class Sleepy(BaseStep):
    """Blocks for ``seconds`` unless its cancel token is set (cooperative) or always (stubborn)."""

    output_keys = ("answer",)

    def __init__(self, name: str, seconds: float, cooperative: bool) -> None:
        self.name, self.seconds, self.cooperative = name, seconds, cooperative
        self.stopped_early = threading.Event()

    def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
        token = current_token()
        if self.cooperative and token is not None:
            if token.wait(self.seconds):
                self.stopped_early.set()
                raise_if_cancelled()
        else:
            time.sleep(self.seconds)
        return {"answer": self.name}


def test_a_timed_out_sync_step_gets_its_cancel_token_set(registry: StepRegistry) -> None:
    step = registry.register(Sleepy("coop", 5.0, cooperative=True))
    graph = {"start": GraphNode(step_name="coop", timeout_s=0.05)}
    with pytest.raises(StepTimeoutError, match=r"Step 'coop' failed \(node 'start'\): timed out"):
        GraphExecutor(registry).execute(graph, {})
    assert step.stopped_early.wait(2.0)  # type: ignore[attr-defined]


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_stubborn_timed_out_steps_cannot_fill_a_pool(registry: StepRegistry, driver: str) -> None:
    name = f"stuck_{driver}"
    registry.register(Sleepy(name, 1.5, cooperative=False))
    registry.register(Sleepy("quick", 0.0, cooperative=False))
    stuck = {"start": GraphNode(step_name=name, timeout_s=0.02)}
    quick = {"start": GraphNode(step_name="quick", timeout_s=1.0)}
    executor = GraphExecutor(registry)

    async def arun(graph: dict[str, GraphNode]) -> State:
        return await executor.aexecute(graph, {})

    def run(graph: dict[str, GraphNode]) -> State:
        return executor.execute(graph, {}) if driver == "sync" else asyncio.run(arun(graph))

    for _ in range(40):  # more stuck calls than any fixed pool here had workers
        with pytest.raises(StepTimeoutError, match="timed out"):
            run(stuck)
    still_running = [t for t in threading.enumerate() if t.name.startswith(f"mm-orch-{name}-")]
    assert len(still_running) >= 30
    assert all(t.daemon for t in still_running)
    assert abandoned_threads() >= len(still_running)
    t0 = time.perf_counter()
    assert run(quick)["answer"] == "quick"
    assert time.perf_counter() - t0 < 0.5
