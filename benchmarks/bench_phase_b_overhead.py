"""What the Phase B orchestrator adds over running the same workflow graph directly.

One process, interleaved rounds: (a) ``GraphExecutor.execute`` of a 4-node search_qa-shaped graph of trivial
steps; (b) ``PhaseBOrchestrator.process_request`` of the same question, which also routes (with the configured
router chain, or RouterV1 with ``--router v1``), builds the initial state, records statistics and builds the
result. Tracing is off in both. Prints medians and the added microseconds (target: <= 1 ms).

    python benchmarks/bench_phase_b_overhead.py [--calls 500] [--rounds 5] [--router v3|v1]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping
from typing import Any

from mm_orch.configuration import PhaseBConfig
from mm_orch.orchestration import BaseStep, GraphExecutor, GraphNode, Runtime, State
from mm_orch.orchestration.phase_b_orchestrator import PhaseBOrchestrator
from mm_orch.registries import StepRegistry, WorkflowDefinition, WorkflowRegistry
from mm_orch.schemas import UserRequest


class Trivial(BaseStep):
    def __init__(self, name: str, reads: tuple[str, ...], writes: tuple[str, ...]) -> None:
        self.name, self.input_keys, self.output_keys = name, reads, writes

    def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
        return {k: f"{self.name}:{k}" for k in self.output_keys}


def build(router_version: str, model_dir: str) -> tuple[Callable[[], Any], Callable[[], Any]]:
    steps = StepRegistry()
    steps.register(Trivial("search", ("question",), ("search_results",)))
    steps.register(Trivial("fetch", ("search_results",), ("docs",)))
    steps.register(Trivial("summarize", ("docs",), ("summaries",)))
    steps.register(Trivial("answer", ("question", "summaries"), ("answer", "citations", "quality_signals")))
    workflows = WorkflowRegistry(steps)
    graph = {
        "start": GraphNode(step_name="search", next_nodes=["fetch"]),
        "fetch": GraphNode(step_name="fetch", next_nodes=["summarize"]),
        "summarize": GraphNode(step_name="summarize", next_nodes=["answer"]),
        "answer": GraphNode(step_name="answer"),
    }
    for name in (
        "search_qa",
        "search_qa_fast",
        "search_qa_strict_citations",
        "self_ask_search_qa",
        "rag_qa",
        "lesson_pack",
        "chat_generate",
    ):
        workflows.register(WorkflowDefinition(name=name, graph=graph))
    config = PhaseBConfig.model_validate(
        {"router": {"version": router_version, "model_path": model_dir}, "tracer": {"enabled": False}}
    )
    orchestrator = PhaseBOrchestrator(config, runtime=Runtime(), step_registry=steps, workflow_registry=workflows)
    assert orchestrator.using_phase_b, orchestrator.get_statistics()
    executor = GraphExecutor(steps)
    compiled = workflows.compiled("search_qa")
    question = "What is the capital of France?"
    request = UserRequest(query=question)
    return (
        lambda: executor.execute(compiled, {"question": question}, orchestrator.runtime),
        lambda: orchestrator.process_request(request),
    )


def per_call_us(fn: Callable[[], Any], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--router", choices=["v1", "v2", "v3"], default="v3")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as model_dir:
        direct, phase_b = build(args.router, model_dir)
        direct(), phase_b()  # warm-up (a v2/v3 router trains its bootstrap model here, once)
        samples: dict[str, list[float]] = {"executor.execute (direct)": [], "process_request (Phase B)": []}
        for _ in range(args.rounds):
            samples["executor.execute (direct)"].append(per_call_us(direct, args.calls))
            samples["process_request (Phase B)"].append(per_call_us(phase_b, args.calls))
    med = {k: statistics.median(v) for k, v in samples.items()}
    base = med["executor.execute (direct)"]
    print(f"4-node graph, router {args.router}, {args.calls} calls x {args.rounds} rounds, median us per call")
    for name, value in med.items():
        print(f"{name:30} {value:9.1f} us  {value / base:6.2f}x")
    added = med["process_request (Phase B)"] - base
    print(f"Phase B adds {added:.1f} us per request (target <= 1000 us)")


if __name__ == "__main__":
    main()
