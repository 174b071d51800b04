"""Phase A and Phase B orchestrators over small deterministic steps (the real workflows: tests/workflows)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from mm_orch.configuration import PhaseBConfig, SystemConfig, load_phase_b_config
from mm_orch.exceptions import ConfigError, StepExecutionError, WorkflowNotFoundError
from mm_orch.orchestration import BaseStep, GraphNode, Runtime, State
from mm_orch.orchestration.compatibility import LegacyWorkflowAdapter, legacy_workflow_definition
from mm_orch.orchestration.phase_b_orchestrator import PhaseBOrchestrator
from mm_orch.orchestrator import Orchestrator
from mm_orch.registries import StepRegistry, WorkflowDefinition, WorkflowRegistry
from mm_orch.routing.router_v1 import RouterV1
from mm_orch.schemas import UserRequest


class Search(BaseStep):
    name, input_keys, output_keys = "search", ("question",), ("results",)

    def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
        return {"results": [{"title": f"About {state['question']}", "url": "http://x/1"}]}


class Fetch(BaseStep):
    name, input_keys, output_keys = "fetch", ("results",), ("docs",)

    def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
        return {"docs": {r["url"]: f"text on {r['title']}" for r in state["results"]}}


class Summarize(BaseStep):
    name, input_keys, output_keys = "summarize", ("docs",), ("summaries",)

    def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
        return {"summaries": {u: t.upper() for u, t in state["docs"].items()}}


class Answer(BaseStep):
    name, input_keys = "answer", ("question", "summaries")
    output_keys = ("answer", "citations", "quality_signals")
    fail = False

    def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
        if Answer.fail:
            raise RuntimeError("model server down")
        text = " ".join(state["summaries"].values())
        return {
            "answer": f"{state['question']} -> {text}",
            "citations": [{"title": "About", "url": "http://x/1"}],
            "quality_signals": {"citations": 1, "grounded": True},
        }


@pytest.fixture
def steps() -> StepRegistry:
    registry = StepRegistry()
    for step in (Search(), Fetch(), Summarize(), Answer()):
        registry.register(step)
    Answer.fail = False
    return registry


@pytest.fixture
def workflows(steps: StepRegistry) -> WorkflowRegistry:
    registry = WorkflowRegistry(steps)
    registry.register(
        WorkflowDefinition(
            name="search_qa",
            description="search-based QA",
            graph={
                "start": GraphNode(step_name="search", next_nodes=["fetch"]),
                "fetch": GraphNode(step_name="fetch", next_nodes=["summarize"]),
                "summarize": GraphNode(step_name="summarize", next_nodes=["answer"]),
                "answer": GraphNode(step_name="answer", next_nodes=["end"]),
            },
        )
    )
    return registry


class _Tracer:
    def __init__(self) -> None:
        self.traces: list[Any] = []

    def sampled(self) -> bool:
        return True

    def write(self, trace: Any) -> None:
        self.traces.append(trace)


@pytest.fixture
def phase_b(steps: StepRegistry, workflows: WorkflowRegistry) -> PhaseBOrchestrator:
    runtime = Runtime()
    phase_a = Orchestrator(SystemConfig(workflows=["search_qa"]), runtime=runtime, step_registry=steps)
    return PhaseBOrchestrator(
        PhaseBConfig(),
        runtime=runtime,
        step_registry=steps,
        workflow_registry=workflows,
        router=RouterV1(),
        tracer=_Tracer(),
        phase_a=phase_a,
    )


def test_phase_b_routes_runs_traces_and_reports(phase_b: PhaseBOrchestrator) -> None:
    result = phase_b.process_request(UserRequest(query="What is Python?"))
    assert result.workflow == "search_qa"
    assert result.answer == "What is Python? -> TEXT ON ABOUT WHAT IS PYTHON?"
    assert result.citations[0].url == "http://x/1"
    assert result.metadata["using_phase_b"] is True
    assert result.metadata["router_version"] == "v1"
    assert 0 <= result.metadata["router_confidence"] <= 1
    assert set(result.metadata["timings_ms"]) == {"start", "fetch", "summarize", "answer"}
    (trace,) = phase_b.tracer.traces  # type: ignore[union-attr]
    assert trace.trace_id == result.trace_id
    assert trace.workflow == "search_qa"
    assert trace.router_version == "v1"
    assert trace.metadata["has_collection"] == "false"
    stats = phase_b.get_statistics()
    assert stats["requests"] == 1
    assert stats["workflows"] == {"search_qa": stats["workflows"]["search_qa"]}
    assert stats["workflows"]["search_qa"]["success_rate"] == 1.0


def test_phase_a_and_phase_b_give_the_same_answer(phase_b: PhaseBOrchestrator) -> None:
    request = UserRequest(query="What is Python?", workflow="search_qa")
    b = phase_b.process_request(request)
    a = phase_b._phase_a_orchestrator().process_request(request)
    assert a.answer == b.answer
    assert a.metadata["using_phase_b"] is False


def test_unknown_forced_workflow_lists_the_registered_ones(phase_b: PhaseBOrchestrator) -> None:
    with pytest.raises(
        WorkflowNotFoundError,
        match=r"workflow 'serch_qa' is not registered; registered "
        r"workflows: 'search_qa'",
    ):
        phase_b.process_request(UserRequest(query="q", workflow="serch_qa"))


def test_a_failed_phase_b_run_falls_back_to_phase_a_visibly(phase_b: PhaseBOrchestrator) -> None:
    Answer.fail = True
    with pytest.raises(StepExecutionError, match="model server down"):  # Phase A fails the same way
        phase_b.process_request("What is Python?")
    Answer.fail = False

    class BrokenOnce(Answer):
        calls = 0

        def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
            BrokenOnce.calls += 1
            if BrokenOnce.calls == 1:
                raise RuntimeError("transient failure")
            return super().execute(state, runtime)

    phase_b.step_registry.register("answer", BrokenOnce(), replace=True)  # type: ignore[union-attr]
    phase_b.workflow_registry.register(phase_b.workflow_registry.get("search_qa"), replace=True)  # type: ignore[union-attr]
    result = phase_b.process_request("What is Python?")
    assert result.metadata["using_phase_b"] is False
    assert "Phase B run of 'search_qa' failed" in result.metadata["fallback_reason"]
    assert "transient failure" in result.metadata["fallback_reason"]
    assert result.answer.startswith("What is Python?")
    assert phase_b.get_statistics()["fallbacks"] >= 1


def test_rollback_flag_switches_to_phase_a(phase_b: PhaseBOrchestrator) -> None:
    phase_b.using_phase_b = False
    result = phase_b.process_request("What is Python?")
    assert result.metadata["using_phase_b"] is False
    assert result.metadata["phase"] == "a"


def test_missing_phase_b_config_means_phase_a(tmp_path: Path) -> None:
    orchestrator = PhaseBOrchestrator(config_path=tmp_path / "phase_b.yaml")
    assert orchestrator.using_phase_b is False
    stats = orchestrator.get_statistics()
    assert "phase_b.yaml not found" in stats["fallback_reason"]
    assert stats["using_phase_b"] is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("router:\n  version: v9\n", r"router\.version: Input should be 'v1', 'v2' or 'v3' \(got 'v9'\)"),
        ("tracer:\n  enabled: maybe\n", r"tracer\.enabled: Input should be a valid boolean.*\(got 'maybe'\)"),
        ("registries:\n  tool_registri: {enabled: true}\n", r"registries\.tool_registri: unknown key"),
        ("- just\n- a list\n", r"must hold a mapping"),
    ],
)
def test_invalid_phase_b_config_names_key_value_and_options(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "phase_b.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_phase_b_config(path)


def test_component_failures_show_in_statistics(steps: StepRegistry) -> None:
    config = PhaseBConfig.model_validate({"registries": {"workflows_dir": "/nonexistent/workflows"}})
    orchestrator = PhaseBOrchestrator(
        config, runtime=Runtime(), step_registry=steps, router=RouterV1(), tracer=_Tracer()
    )
    stats = orchestrator.get_statistics()
    assert stats["using_phase_b"] is False
    assert stats["components"]["workflow_registry"]["available"] is False
    assert "does not exist" in stats["components"]["workflow_registry"]["error"]
    assert stats["components"]["router"]["available"] is True


def test_legacy_function_runs_as_a_phase_b_step(steps: StepRegistry) -> None:
    def search_qa_workflow(question: str, top_k: int = 3) -> str:
        return f"legacy answer to {question} (k={top_k})"

    adapter = LegacyWorkflowAdapter(search_qa_workflow)
    assert adapter.input_keys == ("question",)
    assert adapter.optional_input_keys == ("top_k",)
    steps.register("legacy_workflow", adapter)
    workflows = WorkflowRegistry(steps)
    compiled = workflows.register(legacy_workflow_definition("legacy_qa", adapter, step_name="legacy_workflow"))
    from mm_orch.orchestration import GraphExecutor

    assert GraphExecutor(steps).execute(compiled, {"question": "Q"})["answer"] == "legacy answer to Q (k=3)"
    assert GraphExecutor(steps).execute(compiled, {"question": "Q", "top_k": 9})["answer"].endswith("(k=9)")


def test_async_path_awaits_an_async_router_and_keeps_the_loop_free(phase_b: PhaseBOrchestrator) -> None:
    import asyncio

    class AsyncRouter:
        version = "remote"

        def __init__(self) -> None:
            self.calls = 0

        def route(self, request: Any) -> Any:
            raise AssertionError("the async path must use aroute")

        async def aroute(self, request: Any) -> Any:
            self.calls += 1
            await asyncio.sleep(0)
            return RouterV1().route(request).model_copy(update={"router_version": "remote"})

    router = AsyncRouter()
    phase_b.router = router
    result = asyncio.run(phase_b.aprocess_request("What is Python?"))
    assert router.calls == 1
    assert result.metadata["router_version"] == "remote"
    assert result.workflow == "search_qa"

    phase_b.using_phase_b = False

    async def while_phase_a_runs() -> tuple[Any, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        out = await phase_b.aprocess_request("What is Python?")
        task.cancel()
        return out, ticks

    fallback, ticks = asyncio.run(while_phase_a_runs())
    assert fallback.metadata["using_phase_b"] is False
    assert ticks > 0


def test_phase_a_runs_are_traced_with_their_steps(steps: StepRegistry) -> None:
    tracer = _Tracer()
    phase_a = Orchestrator(
        SystemConfig(workflows=["search_qa"]), runtime=Runtime(), step_registry=steps, tracer=tracer
    )
    result = phase_a.process_request(UserRequest(query="What is Python?", request_id="r-7"))
    (trace,) = tracer.traces
    assert trace.phase == "a"
    assert trace.trace_id == result.trace_id
    assert trace.request_id == "r-7"
    assert [s.step_name for s in trace.steps] == ["search", "fetch", "summarize", "answer"]
    assert trace.final_answer == result.answer
    assert trace.success
    assert trace.workflow_forced is False
    Answer.fail = True
    with pytest.raises(StepExecutionError, match="model server down"):
        phase_a.process_request("What is Python?")
    assert tracer.traces[-1].success is False
    assert tracer.traces[-1].error_type == "StepExecutionError"
