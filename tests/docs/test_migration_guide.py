"""The migration guide's own snippets (shared/reference/phase_a_to_phase_b_migration_guide.md), as written,
with only the obvious placeholders filled in (a search tool, model metadata, a question, a legacy function)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Dict  # noqa: UP035 - the guide's own spelling

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def guide(project_dir: Path) -> dict[str, Any]:
    """Shared objects the guide's sections build on."""
    from mm_orch.orchestration.wiring import build_step_registry

    return {"step_registry": build_step_registry()}


def test_enable_phase_b(guide: dict[str, Any]) -> None:
    from mm_orch.orchestration.phase_b_orchestrator import get_phase_b_orchestrator
    from mm_orch.schemas import UserRequest

    user_request = UserRequest(query="What is the capital of France?")
    # Initialize Phase B orchestrator
    orchestrator = get_phase_b_orchestrator()
    # Process requests (automatically uses Phase B if available)
    result = orchestrator.process_request(user_request)
    assert result.metadata["using_phase_b"] is True
    assert "Paris" in result.answer
    assert any("France" in c.title or "Paris" in c.title for c in result.citations)


def test_cli_usage(project_dir: Path, shell: Any) -> None:
    code, out, err = shell('python -m mm_orch.main --phase-b "What is Python?"', project_dir)
    assert code == 0, err[-2000:]
    assert "Python" in out
    assert "Sources:" in out
    assert "phase=B" in err
    code, out, err = shell('python -m mm_orch.main --trace "What is Python?"', project_dir)
    assert code == 0, err[-2000:]
    assert "Python" in out
    assert "phase=A" in err
    from mm_orch.observability import read_traces

    phase_a = [t for t in read_traces(project_dir / "data/traces/traces.jsonl") if t.phase == "a"]
    assert phase_a
    assert phase_a[-1].question == "What is Python?"
    assert phase_a[-1].steps


def test_convert_workflows_to_graphs_and_register(guide: dict[str, Any]) -> None:
    from mm_orch.orchestration import GraphNode
    from mm_orch.registries.workflow_registry import WorkflowDefinition

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

    from mm_orch.models import get_model_manager
    from mm_orch.registries import ModelRegistry, ToolRegistry, WorkflowRegistry
    from mm_orch.tools import LocalWikiSearch, ToolMetadata

    search_tool = LocalWikiSearch()
    metadata = ToolMetadata(name="web_search", description="offline Wikipedia search", capabilities=["search"])
    model_metadata = get_model_manager().metadata("default")
    step_registry = guide["step_registry"]
    workflow_definition = definition

    # Tool registry
    tool_registry = ToolRegistry()
    tool_registry.register("web_search", search_tool, metadata)
    # Model registry
    model_registry = ModelRegistry()
    model_registry.register(model_metadata)
    # Workflow registry
    workflow_registry = WorkflowRegistry(step_registry)
    workflow_registry.register(workflow_definition)

    assert workflow_registry.list_all() == ["search_qa"]
    assert tool_registry.find("search") == ["web_search"]
    assert model_registry.list_all() == [model_metadata.name]


def test_phase_b_step_implementation(guide: dict[str, Any]) -> None:
    from mm_orch.orchestration import GraphExecutor, GraphNode
    from mm_orch.orchestration.base_step import BaseStep
    from mm_orch.orchestration.state import State
    from mm_orch.orchestration.wiring import build_default_runtime

    class SummarizeStep(BaseStep):
        name = "summarize"
        input_keys = ["docs"]
        output_keys = ["summaries"]

        def execute(self, state: State, runtime: Any) -> Dict[str, Any]:  # noqa: UP006
            docs = state["docs"]
            summaries = {}

            for url, content in docs.items():
                model = runtime.model_manager.get_model(self.model_name)
                summary = model.summarize(content)
                summaries[url] = summary

            return {"summaries": summaries}

    step_registry = guide["step_registry"]
    step_registry.register("guide_summarize", SummarizeStep())
    text = (
        "Paris is the capital and largest city of France. It is on the river Seine. The city has been a "
        "centre of finance, diplomacy, commerce and the arts for centuries."
    )
    from mm_orch.registries import WorkflowDefinition

    summarize_docs = WorkflowDefinition(
        name="summarize_docs", graph={"start": GraphNode(step_name="guide_summarize")}, input_keys=["docs"]
    )
    state = GraphExecutor(step_registry).execute(
        summarize_docs,
        {"docs": {"https://en.wikipedia.org/wiki/Paris": text}},
        build_default_runtime(),
    )
    summary = state["summaries"]["https://en.wikipedia.org/wiki/Paris"]
    assert isinstance(summary, str)
    assert "Paris" in summary


def test_enable_tracing_and_sampling(guide: dict[str, Any], project_dir: Path) -> None:
    from mm_orch.observability import read_traces
    from mm_orch.observability.tracer import Tracer
    from mm_orch.orchestration import GraphExecutor, GraphNode, Runtime

    step_registry = guide["step_registry"]
    tracer = Tracer("data/traces/traces.jsonl")
    # Tracer is automatically used by GraphExecutor
    executor = GraphExecutor(step_registry, tracer=tracer)
    from mm_orch.orchestration.compatibility import LegacyWorkflowAdapter

    step_registry.register("echo", LegacyWorkflowAdapter(lambda question: f"echo {question}", name="echo"))
    graph = {"start": GraphNode(step_name="echo")}
    executor.execute(graph, {"question": "traced"}, Runtime())
    # Sample 10% of requests
    for _ in range(20):
        if random.random() < 0.1:
            executor = GraphExecutor(step_registry, tracer=tracer)
        else:
            executor = GraphExecutor(step_registry)  # No tracing
        executor.execute(graph, {"question": "maybe traced"}, Runtime())
    tracer.close()
    traces = [t for t in read_traces("data/traces/traces.jsonl") if (t.final_answer or "").startswith("echo")]
    assert traces[0].final_answer == "echo traced"
    assert 1 <= len(traces) <= 21


def test_train_router_from_traces(project_dir: Path, shell: Any) -> None:
    code, _, err = shell('python -m mm_orch.main --phase-b --trace "Question 1"', project_dir)
    assert code == 0, err[-2000:]
    code, _, err = shell('python -m mm_orch.main --phase-b --trace "Question 2"', project_dir)
    assert code == 0, err[-2000:]
    traces = project_dir / "data/traces/traces.jsonl"
    assert len(traces.read_text().splitlines()) >= 2
    code, out, err = shell(
        f"python {project_dir}/scripts/train_router_v2.py --traces {traces} --output models/router_v2", project_dir
    )
    assert code == 0, (out + err)[-3000:]
    assert (project_dir / "models/router_v2").is_dir()


def test_compatibility_layer(guide: dict[str, Any]) -> None:
    from mm_orch.orchestration.compatibility import LegacyWorkflowAdapter

    def legacy_workflow_function(question: str) -> str:
        return f"legacy answer to {question}"

    step_registry = guide["step_registry"]
    # Wrap Phase A workflow
    adapter = LegacyWorkflowAdapter(legacy_workflow_function)
    # Use as Phase B step
    step_registry.register("legacy_workflow", adapter)
    assert step_registry.get("legacy_workflow") is adapter


def test_troubleshooting(project_dir: Path) -> None:
    import logging

    from mm_orch.exceptions import WorkflowNotFoundError
    from mm_orch.orchestration.phase_b_orchestrator import get_phase_b_orchestrator
    from mm_orch.registries.workflow_registry import get_workflow_registry
    from mm_orch.routing.router_v1 import RouterV1
    from mm_orch.schemas import UserRequest

    orchestrator = get_phase_b_orchestrator()
    stats = orchestrator.get_statistics()
    print(stats)  # Check which components are available
    assert stats["components"]["workflow_registry"]["available"]
    assert stats["components"]["router"]["available"]

    workflow_registry = get_workflow_registry()
    print(workflow_registry.list_all())  # List registered workflows
    assert len(workflow_registry.list_all()) == 7
    with pytest.raises(WorkflowNotFoundError, match=r"'nope' is not registered; registered workflows: 'chat_gen"):
        orchestrator.process_request(UserRequest(query="q", workflow="nope"))

    logging.basicConfig(level=logging.DEBUG)
    router = RouterV1()  # Always works, no training needed
    assert router.route("Write a poem about the sea").workflow == "chat_generate"


def test_unit_test_parity() -> None:
    """Test Phase B workflow produces same output as Phase A."""
    from mm_orch.orchestration.phase_b_orchestrator import get_phase_b_orchestrator
    from mm_orch.orchestrator import Orchestrator
    from mm_orch.schemas import UserRequest

    def legacy_search_qa(question: str) -> str:
        return Orchestrator().run_workflow("search_qa", question=question).answer

    question = "What is Python?"

    # Phase A
    phase_a_result = legacy_search_qa(question)

    # Phase B
    orchestrator = get_phase_b_orchestrator()
    phase_b_result = orchestrator.process_request(UserRequest(query=question, workflow="search_qa"))

    # Compare
    assert phase_b_result.answer == phase_a_result


def test_backward_compatibility() -> None:
    """Test Phase A code works with Phase B."""
    from mm_orch.orchestration.compatibility import run_legacy_workflow

    result = run_legacy_workflow("search_qa", {"question": "Test"})
    assert result.workflow == "search_qa"
    assert result.metadata["using_phase_b"] is False
    assert result.answer.strip()


def test_rollback(project_dir: Path) -> None:
    from mm_orch.orchestration.phase_b_orchestrator import get_phase_b_orchestrator, reset_phase_b_orchestrator
    from mm_orch.schemas import UserRequest

    orchestrator = get_phase_b_orchestrator()
    orchestrator.using_phase_b = False
    assert orchestrator.process_request(UserRequest(query="What is Python?")).metadata["using_phase_b"] is False

    (project_dir / "config/phase_b.yaml").unlink()  # rm config/phase_b.yaml
    reset_phase_b_orchestrator()
    assert get_phase_b_orchestrator().using_phase_b is False

    from mm_orch.orchestrator import Orchestrator  # Phase A

    orchestrator = Orchestrator()
    assert orchestrator.process_request(UserRequest(query="What is Python?")).workflow == "search_qa"
