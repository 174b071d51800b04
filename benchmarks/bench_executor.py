"""Side by side: one 5-node linear graph of trivial steps through mm-orch, LangGraph, Haystack and plain calls.

Everything runs in ONE process, interleaved round by round, so the ratios hold on a noisy shared machine.
Prints the median microseconds per call of each contender and the ratios.

    python benchmarks/bench_executor.py [--calls 2000] [--rounds 7]

mm-orch is measured three ways: validation on with tracing off (the target: <= 25 us), validation off, and
validation on with a Parquet-only tracer (target: <= 60 us); plus JSONL+Parquet for reference, and a tracer that
samples every run and discards the record (the executor's own share of tracing: node records + build_trace);
an empty lifecycle hook (the executor's cost of observing nodes), and validation on with live metrics on
(``metrics.enable("local")`` for that contender only: each node timed and recorded as
mm_orch_step_duration_seconds, the run as mm_orch_workflow_duration_seconds; target: <= 25 us).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypedDict

from mm_orch.observability import Tracer, metrics
from mm_orch.orchestration import BaseStep, GraphExecutor, GraphNode, LifecycleHook, State
from mm_orch.registries import StepRegistry, WorkflowDefinition, WorkflowRegistry

NODES = 5
METERED = "mm-orch (validate, metrics on)"


class Inc(BaseStep):
    input_keys = ("x",)
    output_keys = ("x",)

    def __init__(self, name: str) -> None:
        self.name = name

    def execute(self, state: State, runtime: Any) -> Mapping[str, Any]:
        return {"x": state["x"] + 1}


class BuildOnlyTracer:
    """Samples every run and discards the record: isolates the executor's cost of building the trace."""

    def sampled(self) -> bool:
        return True

    def write(self, trace: Any) -> None:
        pass


def build_mm_orch(
    tracer: Tracer | BuildOnlyTracer | None, validate: bool = True, hooks: list[Any] | None = None
) -> Callable[[], Any]:
    registry = StepRegistry()
    graph = {}
    for i in range(NODES):
        registry.register(Inc(f"s{i}"))
        node = "start" if i == 0 else f"n{i}"
        graph[node] = GraphNode(step_name=f"s{i}", next_nodes=[f"n{i + 1}"] if i < NODES - 1 else ["end"])
    compiled = WorkflowRegistry(registry).register(
        WorkflowDefinition(name="linear", graph=graph, input_keys=["x"])
    )
    executor = GraphExecutor(registry, tracer=tracer, validate=validate, hooks=hooks or [])
    return lambda: executor.execute(compiled, {"x": 0})


class LGState(TypedDict):
    x: int


def build_langgraph() -> Callable[[], Any]:
    from langgraph.graph import END, START, StateGraph

    builder = StateGraph(LGState)
    for i in range(NODES):
        builder.add_node(f"s{i}", lambda s: {"x": s["x"] + 1})
    builder.add_edge(START, "s0")
    for i in range(NODES - 1):
        builder.add_edge(f"s{i}", f"s{i + 1}")
    builder.add_edge(f"s{NODES - 1}", END)
    app = builder.compile()
    return lambda: app.invoke({"x": 0})


def build_haystack() -> Callable[[], Any]:
    from haystack import Pipeline, component

    @component
    class HInc:
        @component.output_types(x=int)
        def run(self, x: int) -> dict[str, int]:
            return {"x": x + 1}

    pipe = Pipeline()
    for i in range(NODES):
        pipe.add_component(f"s{i}", HInc())
    for i in range(NODES - 1):
        pipe.connect(f"s{i}.x", f"s{i + 1}.x")
    return lambda: pipe.run({"s0": {"x": 0}})


def build_plain() -> Callable[[], Any]:
    def inc(state: dict[str, int]) -> dict[str, int]:
        return {"x": state["x"] + 1}

    def run() -> dict[str, int]:
        state = {"x": 0}
        for _ in range(NODES):
            state = inc(state)
        return state

    return run


@contextlib.contextmanager
def metered(on: bool) -> Iterator[None]:
    """Live metrics on (in-process aggregation, what a Serve replica records minus its flush thread) or off."""
    if on:
        metrics.enable("local")
    try:
        yield
    finally:
        metrics.disable()


def per_call_us(fn: Callable[[], Any], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000, help="calls per contender per round")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds; the median is reported")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        parquet_tracer = Tracer(None, parquet_dir=f"{tmp}/pq", jsonl=False)
        both_tracer = Tracer(f"{tmp}/traces.jsonl", parquet_dir=f"{tmp}/pq2")
        contenders: dict[str, Callable[[], Any]] = {
            "plain functions": build_plain(),
            "mm-orch (validate, no trace)": build_mm_orch(None),
            "mm-orch (no validate, no trace)": build_mm_orch(None, validate=False),
            "mm-orch (validate, trace built only)": build_mm_orch(BuildOnlyTracer()),
            "mm-orch (validate, Parquet trace)": build_mm_orch(parquet_tracer),
            "mm-orch (validate, JSONL+Parquet)": build_mm_orch(both_tracer),
            "mm-orch (validate, empty hook)": build_mm_orch(None, hooks=[LifecycleHook()]),
            METERED: build_mm_orch(None),
            "Haystack Pipeline.run": build_haystack(),
            "LangGraph StateGraph.invoke": build_langgraph(),
        }
        for name, fn in contenders.items():  # warm-up and a correctness check on the way
            with metered(name == METERED):
                out = fn()
            assert out["x"] == NODES if isinstance(out, Mapping) and "x" in out else True
        samples: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(args.rounds):
            for name, fn in contenders.items():
                with metered(name == METERED):
                    samples[name].append(per_call_us(fn, args.calls))
                    if name == METERED:  # every run was recorded, none elsewhere
                        assert metrics.snapshot().count("mm_orch_workflow_duration_seconds") == args.calls
        parquet_tracer.close()
        both_tracer.close()

    med = {name: statistics.median(v) for name, v in samples.items()}
    base = med["mm-orch (validate, no trace)"]
    print(f"{NODES}-node linear graph, {args.calls} calls x {args.rounds} rounds, median us per call")
    print(f"{'contender':38} {'us/call':>9} {'vs mm-orch':>11}")
    for name, value in med.items():
        print(f"{name:38} {value:9.1f} {value / base:10.2f}x")
    print()
    print(f"Haystack / mm-orch:  {med['Haystack Pipeline.run'] / base:.1f}x  (target >= 9x)")
    print(f"LangGraph / mm-orch: {med['LangGraph StateGraph.invoke'] / base:.1f}x  (target >= 30x)")
    print(f"mm-orch with live metrics: {med[METERED]:.1f} us (target <= 25 us)")
    print(f"mm-orch with Parquet tracing: {med['mm-orch (validate, Parquet trace)']:.1f} us (target <= 60 us)")


if __name__ == "__main__":
    main()
