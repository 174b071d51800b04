"""Per-step timeout, retries with backoff, fallback steps, and node records."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import pytest

from mm_orch.exceptions import StepExecutionError, StepTimeoutError
from mm_orch.orchestration import BaseStep, GraphExecutor, GraphNode, State
from mm_orch.registries import StepRegistry


class Flaky(BaseStep):
    """Fails ``failures`` times, then answers."""

    name, output_keys = "flaky", ("answer",)

    def __init__(self, failures: int) -> None:
        self.failures, self.calls = failures, 0

    def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError(f"attempt {self.calls} failed")
        return {"answer": f"ok after {self.calls}"}


class Slow(BaseStep):
    name, output_keys = "slow", ("answer",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
        time.sleep(self.seconds)
        return {"answer": "slow"}


class AsyncSlow(Slow):
    name = "aslow"

    async def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
        await asyncio.sleep(self.seconds)
        return {"answer": "slow"}


class Backup(BaseStep):
    name, output_keys = "backup", ("answer",)

    def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
        return {"answer": "from backup"}


def test_retries_with_backoff_then_success(registry: StepRegistry) -> None:
    flaky = registry.register(Flaky(failures=2))
    graph = {"start": GraphNode(step_name="flaky", retries=2, retry_backoff_s=0.01)}
    result = GraphExecutor(registry).run(graph, {}, record=True)
    assert result.state["answer"] == "ok after 3"
    assert flaky.calls == 3
    assert result.records[0].attempts == 3
    assert result.records[0].success


def test_retries_exhausted_raise_with_the_attempt_count(registry: StepRegistry) -> None:
    registry.register(Flaky(failures=5))
    graph = {"start": GraphNode(step_name="flaky", retries=1, retry_backoff_s=0.0)}
    with pytest.raises(
        Exception,
        match=r"Step 'flaky' failed \(node 'start'\): ConnectionError: attempt 2 "
        r"failed after 2 attempts",
    ):
        GraphExecutor(registry).execute(graph, {})


def test_fallback_step_answers_when_the_step_fails(registry: StepRegistry) -> None:
    registry.register(Flaky(failures=99))
    registry.register(Backup())
    graph = {"start": GraphNode(step_name="flaky", fallback_step="backup")}
    result = GraphExecutor(registry).run(graph, {}, record=True)
    assert result.state["answer"] == "from backup"
    assert result.records[0].used_fallback
    assert result.records[0].step_name == "backup"


@pytest.mark.parametrize("step", [Slow(2.0), AsyncSlow(2.0)], ids=["sync", "async"])
def test_timeout_stops_waiting_and_raises(registry: StepRegistry, step: BaseStep) -> None:
    registry.register(step)
    graph = {"start": GraphNode(step_name=step.step_name, timeout_s=0.05)}
    t0 = time.perf_counter()
    with pytest.raises(StepTimeoutError, match=rf"Step '{step.step_name}' failed \(node 'start'\): timed out"):
        GraphExecutor(registry).execute(graph, {})
    assert time.perf_counter() - t0 < 1.0


def test_timeout_then_fallback(registry: StepRegistry) -> None:
    registry.register(AsyncSlow(2.0))
    registry.register(Backup())
    graph = {"start": GraphNode(step_name="aslow", timeout_s=0.05, fallback_step="backup")}
    assert GraphExecutor(registry).execute(graph, {})["answer"] == "from backup"


class _Tracer:
    def __init__(self, rate: bool = True) -> None:
        self.rate = rate
        self.traces: list[Any] = []

    def sampled(self) -> bool:
        return self.rate

    def write(self, trace: Any) -> None:
        self.traces.append(trace)


def test_traced_runs_record_steps_outcome_and_context(registry: StepRegistry, step_types) -> None:  # type: ignore[no-untyped-def]
    KeyStep, _ = step_types

    class Answer(BaseStep):
        name, input_keys, output_keys = "ans", ("question",), ("answer", "citations", "quality_signals")

        def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
            return {
                "answer": "42",
                "citations": [{"title": "Doc", "url": "http://x"}],
                "quality_signals": {"grounded": True, "sources": 1, "note": "text is dropped"},
            }

    registry.register(KeyStep("pre", ["question"], ["x"]))
    registry.register(Answer())
    tracer = _Tracer()
    graph = {"start": GraphNode(step_name="pre", next_nodes=["a"]), "a": GraphNode(step_name="ans")}
    result = GraphExecutor(registry, tracer=tracer).run(
        graph,
        {"question": "why?"},
        trace_context={"request_id": "r1", "router_version": "v1", "router_confidence": 0.9, "workflow": "wf"},
    )
    (trace,) = tracer.traces
    assert trace is result.trace
    assert trace.trace_id == result.trace_id
    assert [s.node for s in trace.steps] == ["start", "a"]
    assert all(s.success for s in trace.steps)
    assert trace.question == "why?"
    assert trace.final_answer == "42"
    assert trace.request_id == "r1"
    assert trace.citations[0].title == "Doc"
    assert trace.quality_signals == {"grounded": 1.0, "sources": 1.0}
    assert trace.cost.steps == 2
    assert trace.router_version == "v1"
    assert trace.success
    assert type(trace).model_validate(trace.model_dump()) == trace  # the record is valid as built


def test_failed_runs_are_traced_too_and_unsampled_runs_not_at_all(registry: StepRegistry) -> None:
    registry.register(Flaky(failures=9))
    tracer = _Tracer()
    with pytest.raises(StepExecutionError, match="Step 'flaky' failed"):
        GraphExecutor(registry, tracer=tracer).execute({"start": GraphNode(step_name="flaky")}, {})
    (trace,) = tracer.traces
    assert not trace.success
    assert trace.error_type == "StepExecutionError"
    assert trace.steps[0].error_type == "StepExecutionError"
    assert not trace.steps[0].success
    off = _Tracer(rate=False)
    registry.register(Backup())
    GraphExecutor(registry, tracer=off).execute({"start": GraphNode(step_name="backup")}, {})
    assert off.traces == []


def test_model_loads_and_tokens_are_attributed_to_the_step(registry: StepRegistry) -> None:
    class Manager:
        def __init__(self) -> None:
            self.load_history: list[Any] = []
            self.token_count = 0

    class Gen(BaseStep):
        name, output_keys = "gen", ("answer",)

        def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
            runtime.model_manager.load_history.append(type("Load", (), {"name": "tiny-lm"})())
            runtime.model_manager.token_count += 17
            return {"answer": "x"}

    runtime = type("Runtime", (), {"model_manager": Manager()})()
    registry.register(Gen())
    tracer = _Tracer()
    GraphExecutor(registry, tracer=tracer).execute({"start": GraphNode(step_name="gen")}, {}, runtime)
    step = tracer.traces[0].steps[0]
    assert step.model_loads == ["tiny-lm"]
    assert step.tokens == 17
    assert tracer.traces[0].cost.model_loads == 1
    assert tracer.traces[0].cost.tokens == 17
