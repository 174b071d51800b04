"""Workflow speed: warm search_qa latency split by step, index build time, and CLI cold start.

Run: HF_HUB_OFFLINE=1 python benchmarks/bench_workflows.py [--repeats 5]
Ratios are against baselines measured in the same run: each step's share of the warm search_qa total; the
BM25 index load (cached) against a fresh build; a full cold start against a bare ``import mm_orch``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

QUESTIONS = ["What is the capital of France?", "Who wrote Hamlet?", "Who painted the Mona Lisa?"]


def warm_split(repeats: int) -> None:
    from mm_orch.orchestration import GraphExecutor
    from mm_orch.orchestration.wiring import build_default_runtime, build_default_workflow_registry

    registry = build_default_workflow_registry()
    runtime = build_default_runtime()
    executor = GraphExecutor(registry.step_registry)
    graph = registry.compiled("search_qa")
    executor.run(graph, {"question": QUESTIONS[0]}, runtime, record=True)  # warm: model and index loaded
    per_step: dict[str, list[float]] = defaultdict(list)
    totals = []
    for i in range(repeats):
        result = executor.run(graph, {"question": QUESTIONS[i % len(QUESTIONS)]}, runtime, record=True)
        totals.append(result.latency_ms)
        for rec in result.records:
            per_step[rec.step_name].append(rec.latency_ms)
    total = statistics.median(totals)
    print(f"warm search_qa, median of {repeats} runs: {total:.1f} ms")
    for step, values in per_step.items():
        med = statistics.median(values)
        print(f"  {step:<10} {med:9.1f} ms   {med / total:6.1%} of total")


def index_build() -> None:
    from mm_orch.tools import LocalWikiSearch, SearchConfig

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        LocalWikiSearch(SearchConfig(cache_dir=tmp, show_progress=False)).warm_up()
        build = time.perf_counter() - start
        start = time.perf_counter()
        LocalWikiSearch(SearchConfig(cache_dir=tmp, show_progress=False)).warm_up()
        load = time.perf_counter() - start
    print(
        f"BM25 index over the corpus: build {build:.2f} s, cached load {load:.2f} s (build/load {build / load:.1f}x)"
    )


def cold_start() -> None:
    def timed(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        return time.perf_counter() - start

    bare = timed("import mm_orch")
    full = timed(
        "from mm_orch.orchestration import GraphExecutor\n"
        "from mm_orch.orchestration.wiring import build_default_runtime, build_default_workflow_registry\n"
        "r = build_default_workflow_registry(); rt = build_default_runtime()\n"
        "GraphExecutor(r.step_registry).execute(r.compiled('search_qa'), {'question': 'Who wrote Hamlet?'}, rt)"
    )
    print(f"cold start: import mm_orch {bare:.2f} s; first search_qa answer in a fresh process {full:.2f} s "
          f"({full / bare:.1f}x the bare import)")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    warm_split(args.repeats)
    index_build()
    cold_start()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
