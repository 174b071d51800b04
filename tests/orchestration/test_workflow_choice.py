"""The one rule for which workflow runs (mm_orch.orchestration.workflow_choice) and the orchestrators keeping it:
forced, routed, a stand-in for an unregistered choice (recorded in the trace), and the Phase A fallback running
the workflow that failed rather than routing again; the cheap constructor and explicit warm_up()."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from mm_orch.configuration import PhaseBConfig, SystemConfig
from mm_orch.exceptions import WorkflowNotFoundError
from mm_orch.orchestration import BaseStep, GraphNode, Runtime, State
from mm_orch.orchestration.phase_b_orchestrator import PhaseBOrchestrator
from mm_orch.orchestration.workflow_choice import choose_workflow, phase_a_pipeline_for, stand_in_for
from mm_orch.orchestrator import Orchestrator
from mm_orch.registries import StepRegistry, WorkflowDefinition, WorkflowRegistry
from mm_orch.routing.decision import RoutingDecision
from mm_orch.schemas import UserRequest


class Search(BaseStep):
    name, input_keys, output_keys = "search", ("question",), ("results",)

    def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
        return {"results": [state["question"]]}


class Answer(BaseStep):
    name, input_keys, output_keys = "answer", ("results",), ("answer",)

    def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
        return {"answer": f"searched {state['results'][0]}"}


class Chat(BaseStep):
    """A chat step that fails the first ``failures`` times it runs."""

    name, input_keys, output_keys = "chat", ("question",), ("answer",)

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures

    def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("chat model down")
        return {"answer": f"chatted about {state['question']}"}


class FixedRouter:
    """Always names ``workflow``; counts its calls; records warm-up."""

    def __init__(self, workflow: str) -> None:
        self.workflow = workflow
        self.calls = 0
        self.warmed = 0

    def warm_up(self) -> None:
        self.warmed += 1

    def route(self, request: UserRequest) -> RoutingDecision:
        self.calls += 1
        return RoutingDecision(workflow=self.workflow, confidence=0.9, router_version="fixed", reason="test rule")


class ListTracer:
    def __init__(self) -> None:
        self.traces: list[Any] = []

    def sampled(self) -> bool:
        return True

    def write(self, trace: Any) -> None:
        self.traces.append(trace)


def _orchestrators(router: FixedRouter, chat: Chat) -> tuple[PhaseBOrchestrator, ListTracer]:
    steps = StepRegistry()
    for step in (Search(), Answer(), chat):
        steps.register(step)
    workflows = WorkflowRegistry(steps)
    workflows.register(
        WorkflowDefinition(
            name="search_qa",
            graph={
                "start": GraphNode(step_name="search", next_nodes=["answer"]),
                "answer": GraphNode(step_name="answer", next_nodes=["end"]),
            },
        )
    )
    workflows.register(
        WorkflowDefinition(name="chat_generate", graph={"start": GraphNode(step_name="chat", next_nodes=["end"])})
    )
    runtime, tracer = Runtime(), ListTracer()
    phase_a = Orchestrator(
        SystemConfig(workflows=["search_qa", "chat_generate"]), runtime=runtime, step_registry=steps, tracer=tracer
    )
    orchestrator = PhaseBOrchestrator(
        PhaseBConfig(),
        runtime=runtime,
        step_registry=steps,
        workflow_registry=workflows,
        router=router,
        tracer=tracer,
        phase_a=phase_a,
    )
    return orchestrator, tracer


def _decision(workflow: str) -> RoutingDecision:
    return RoutingDecision(workflow=workflow, confidence=0.8, router_version="v9", reason="because")


def test_the_rule_forced_routed_and_stand_in() -> None:
    registered = ["search_qa", "chat_generate"]
    forced = choose_workflow(UserRequest(query="q", workflow="chat_generate"), registered, _decision("search_qa"))
    assert (forced.workflow, forced.forced, forced.router_version) == ("chat_generate", True, "forced")
    routed = choose_workflow(UserRequest(query="q"), registered, _decision("chat_generate"))
    assert (routed.workflow, routed.substituted_for, routed.reason) == ("chat_generate", None, "because")
    stand_in = choose_workflow(UserRequest(query="q"), registered, _decision("search_qa_fast"))
    assert stand_in.workflow == "search_qa"
    assert stand_in.substituted_for == "search_qa_fast"
    assert "'search_qa_fast', which is not registered: ran 'search_qa'" in stand_in.reason
    with pytest.raises(WorkflowNotFoundError, match=r"'serch_qa' is not registered; registered workflows: "):
        choose_workflow(UserRequest(query="q", workflow="serch_qa"), registered, None)
    with pytest.raises(WorkflowNotFoundError, match=r"no workflow is registered; register workflows"):
        choose_workflow(UserRequest(query="q"), [], _decision("rag_qa"))


def test_stand_ins_stay_in_the_family() -> None:
    assert stand_in_for("search_qa_strict_citations", ["search_qa_fast", "chat_generate"]) == "search_qa_fast"
    assert stand_in_for("lesson_pack", ["chat_generate", "search_qa"]) == "search_qa"
    assert stand_in_for("lesson_pack", ["chat_generate"]) is None
    assert phase_a_pipeline_for("search_qa_fast", ["search_qa", "chat_generate"]) == "search_qa"
    with pytest.raises(WorkflowNotFoundError, match=r"'lesson_pack' has no Phase A pipeline.*enable its pipeline"):
        phase_a_pipeline_for("lesson_pack", ["search_qa", "chat_generate"])


def test_an_unregistered_router_choice_is_substituted_visibly_in_result_and_trace() -> None:
    orchestrator, tracer = _orchestrators(FixedRouter("search_qa_strict_citations"), Chat())
    result = orchestrator.process_request("What is Python?")
    assert result.workflow == "search_qa"
    assert result.answer == "searched What is Python?"
    assert result.metadata["router_chose"] == "search_qa_strict_citations"
    (trace,) = tracer.traces
    assert trace.workflow == "search_qa"
    assert trace.metadata["router_chose"] == "search_qa_strict_citations"
    assert "which is not registered: ran 'search_qa' instead" in trace.metadata["router_reason"]


def test_the_phase_a_fallback_runs_the_workflow_that_failed_without_routing_again() -> None:
    router = FixedRouter("chat_generate")  # the rules router would send "What is Python?" to search_qa
    orchestrator, tracer = _orchestrators(router, Chat(failures=1))
    result = orchestrator.process_request("What is Python?")
    assert router.calls == 1
    assert result.workflow == "chat_generate"
    assert result.answer == "chatted about What is Python?"
    assert result.metadata["using_phase_b"] is False
    assert "'chat_generate' failed" in result.metadata["fallback_reason"]
    failed_b, phase_a = tracer.traces
    assert (failed_b.phase, failed_b.success, failed_b.workflow) == ("b", False, "chat_generate")
    assert (phase_a.phase, phase_a.workflow) == ("a", "chat_generate")
    assert phase_a.metadata["fallback_from"] == "b"
    assert phase_a.metadata["phase_b_trace_id"] == failed_b.trace_id
    assert result.metadata["phase_b_trace_id"] == failed_b.trace_id


def test_the_async_path_keeps_the_same_rule() -> None:
    import asyncio

    router = FixedRouter("chat_generate")
    orchestrator, tracer = _orchestrators(router, Chat(failures=1))
    result = asyncio.run(orchestrator.aprocess_request("What is Python?"))
    assert result.workflow == "chat_generate"
    assert result.metadata["using_phase_b"] is False
    assert [t.phase for t in tracer.traces] == ["b", "a"]
    assert router.calls == 1


def test_construction_builds_nothing_and_warm_up_builds_once() -> None:
    router = FixedRouter("search_qa")
    orchestrator, _ = _orchestrators(router, Chat())
    assert orchestrator.components == {}
    assert orchestrator.executor is None
    assert router.warmed == 0
    orchestrator.warm_up()
    orchestrator.warm_up()
    assert orchestrator.executor is not None
    assert router.warmed == 1
    essential = ("step_registry", "workflow_registry", "router", "tracer", "executor")
    assert all(orchestrator.components[name] is None for name in essential)
    assert orchestrator.process_request("q").metadata["using_phase_b"] is True


def test_the_first_request_warms_up_a_cold_orchestrator() -> None:
    router = FixedRouter("search_qa")
    orchestrator, _ = _orchestrators(router, Chat())
    assert orchestrator.process_request("q").answer == "searched q"
    assert router.warmed == 1
