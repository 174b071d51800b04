"""Phase A pipelines: each workflow as a fixed Python sequence of built-in step calls.

A pipeline is a function of a :class:`PipelineRunner`; ``run("search")`` runs the registered step ``search``
on the current state (with the executor's own contract checks and run policy) and returns the new state.
The step names match the nodes of config/workflows/*.yaml, so Phase A and Phase B compute the same thing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mm_orch.orchestration.compiler import compile_graph
from mm_orch.orchestration.executor import GraphExecutor, new_run_id
from mm_orch.orchestration.graph_node import GraphNode
from mm_orch.orchestration.node_runner import NodeRecord
from mm_orch.orchestration.state import State
from mm_orch.registries.step_registry import StepRegistry

__all__ = ["PIPELINES", "PipelineRunner"]


class PipelineRunner:
    """Runs single steps in order over one state; records per-step timings."""

    def __init__(self, workflow: str, steps: StepRegistry, runtime: Any, state: dict[str, Any]) -> None:
        self.workflow = workflow
        self.state = State(state)
        self.timings_ms: dict[str, float] = {}
        self.records: list[NodeRecord] = []
        self.trace_id = new_run_id("a")
        self._steps = steps
        self._runtime = runtime
        self._executor = GraphExecutor(steps)

    def __call__(self, step_name: str) -> State:
        step = self._steps.get(step_name)
        graph = compile_graph(
            {"start": GraphNode(step_name=step_name)},
            self._steps,
            name=self.workflow,
            input_keys=tuple(step.input_keys),
        )
        run = self._executor.run(graph, self.state, self._runtime, record=True)
        self.records.extend(run.records)
        self.state = run.state
        key = step_name if step_name not in self.timings_ms else f"{step_name}#{len(self.timings_ms)}"
        self.timings_ms[key] = round(run.latency_ms, 3)
        return self.state


def search_qa(run: PipelineRunner) -> None:
    """Search, fetch the hits, summarise them, answer with citations."""
    run("search")
    run("fetch")
    run("summarize")
    run("answer")


def rag_qa(run: PipelineRunner) -> None:
    """Retrieve from the user's collection, rerank, extract evidence, answer with citations."""
    run("retrieve")
    run("rerank")
    run("summarize")
    run("answer")


def lesson_pack(run: PipelineRunner) -> None:
    """Research the topic, then write a structured lesson."""
    run("search")
    run("fetch")
    run("lesson")


def chat_generate(run: PipelineRunner) -> None:
    """One chat turn with the session's history."""
    run("chat")


def self_ask_search_qa(run: PipelineRunner, max_hops: int = 3) -> None:
    """Decompose into sub-questions, answer them one hop at a time from search, compose the final answer."""
    run("self_ask_decompose")
    state = run("self_ask_hop")
    hops = 1
    while state.get("self_ask_continue") and hops < max_hops:
        state = run("self_ask_hop")
        hops += 1
    run("self_ask_compose")


PIPELINES: dict[str, Callable[[PipelineRunner], None]] = {
    "search_qa": search_qa,
    "rag_qa": rag_qa,
    "lesson_pack": lesson_pack,
    "chat_generate": chat_generate,
    "self_ask_search_qa": self_ask_search_qa,
}
