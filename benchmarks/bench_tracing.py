"""Tracing cost: throughput of building + writing 5-step WorkflowTraces, and memory over many runs.

    python benchmarks/bench_tracing.py                    # (a) throughput, then (b) 1,000,000 runs to Parquet
    python benchmarks/bench_tracing.py --runs 20000 --memory-runs 100000   # quicker

(a) In one process, for each sink setup: N runs of "decide sampling, build the 5-step record the way the
executor does (model_construct), tracer.write(record)", then tracer.close() (which drains the background
Parquet writer, so its work is inside the timing). The baseline builds the same records and writes nothing.
Prints the median of --repeats rounds: wall-clock runs/s, CPU time per run summed over all threads (the writer
thread included; robust when other processes share the cores), each as a ratio to the baseline, and the mean
time spent inside write() on the calling thread, as wall time and as that thread's own CPU time (the wall
figure also counts waiting for the GIL while the writer thread converts a batch). ``pq-pylist`` is ``parquet``
with the writer forced onto the converter's slow path (pydantic_core.from_json + pa.Table.from_pylist, the
conversion used before the Arrow JSON reader), so the two can be compared within one run.

(b) In a fresh child process: --memory-runs runs to the Parquet sink only, sampling RSS every 50 ms; prints
RSS before, at 10/50/100 % of the runs, the peak, and ru_maxrss. A bounded sink shows a flat curve.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from mm_orch.observability import CostStats, StepTrace, Tracer, WorkflowTrace
from mm_orch.observability.json_to_arrow import JsonBatchConverter

STEPS = ("search", "fetch", "summarize", "answer", "check")


def build(i: int) -> WorkflowTrace:
    """A 5-step run record, built like the executor builds it (already-typed values, no re-validation)."""
    t0 = time.time()
    steps = [
        StepTrace.model_construct(
            node=name,
            step_name=name,
            started_at=t0 + j * 0.001,
            ended_at=t0 + (j + 1) * 0.001,
            latency_ms=1.0 + j,
            success=True,
            attempts=1,
            error_type=None,
            error_message=None,
            used_fallback=False,
            model_loads=["smollm2-135m"] if j == 3 else [],
            tokens=40 if j == 3 else 0,
        )
        for j, name in enumerate(STEPS)
    ]
    return WorkflowTrace.model_construct(
        schema_version=1,
        trace_id=uuid.uuid4().hex,
        request_id=f"req-{i}",
        timestamp=t0,
        question="What is the capital of France and why is it famous?",
        workflow="search_qa",
        workflow_forced=False,
        router_version="v2",
        router_confidence=0.82,
        router_alternatives={"search_qa": 0.82, "rag_qa": 0.12, "chat": 0.06},
        mode="default",
        phase="b",
        success=True,
        error_type=None,
        error_message=None,
        steps=steps,
        final_answer="Paris is the capital of France, famous for the Eiffel Tower and the Louvre. [1][2]",
        citations=[],
        quality_signals={"has_citations": 1.0, "answer_words": 15.0},
        feedback=None,
        cost=CostStats.model_construct(latency_ms=15.0, tokens=40, model_loads=1, steps=5),
        metadata={"replica": "local"},
    )


def one_round(mode: str, runs: int, root: Path) -> tuple[float, float, float, float]:
    """For one round of ``mode``: runs/s end to end, CPU us per run over all threads, and the mean wall and
    calling-thread CPU us inside write()."""
    if mode == "baseline":
        c0, t0 = time.process_time(), time.perf_counter()
        for i in range(runs):
            build(i)
        return runs / (time.perf_counter() - t0), (time.process_time() - c0) / runs * 1e6, 0.0, 0.0
    kwargs: dict[str, Any] = {
        "jsonl": {"jsonl": True, "parquet": False},
        "parquet": {"jsonl": False, "parquet": True},
        "both": {},
        "both@10%": {"sample_rate": 0.1, "seed": 0},
        "pq-pylist": {"jsonl": False, "parquet": True},
    }[mode]
    folder = Path(tempfile.mkdtemp(dir=root))
    in_write = 0.0
    in_write_cpu = 0.0
    perf, thread_cpu = time.perf_counter, time.thread_time
    c0, t0 = time.process_time(), perf()
    tracer = Tracer(folder / "traces.jsonl", **kwargs)
    if mode == "pq-pylist":  # the previous converter, for comparison: from_json + from_pylist, GIL held throughout
        sink = tracer._parquet
        assert sink is not None
        sink._converter = JsonBatchConverter(sink.schema, sink._bad_record, fast=False)
    for i in range(runs):
        if tracer.sampled():
            trace = build(i)
            w0, u0 = perf(), thread_cpu()
            tracer.write(trace)
            in_write_cpu += thread_cpu() - u0
            in_write += perf() - w0
    tracer.close()
    elapsed, cpu = perf() - t0, time.process_time() - c0
    written = max(1, tracer.stats().written)
    return runs / elapsed, cpu / runs * 1e6, in_write / written * 1e6, in_write_cpu / written * 1e6


def throughput(runs: int, repeats: int) -> None:
    modes = ["baseline", "jsonl", "parquet", "both", "both@10%", "pq-pylist"]
    results: dict[str, list[tuple[float, float, float, float]]] = {m: [] for m in modes}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeats):  # interleave modes so drift hits all of them alike
            for mode in modes:
                results[mode].append(one_round(mode, runs, Path(tmp)))
    base = statistics.median(r[0] for r in results["baseline"])
    base_cpu = statistics.median(r[1] for r in results["baseline"])
    print(
        f"(a) throughput, {runs} runs x {repeats} rounds, median (Python {sys.version.split()[0]}, pid {os.getpid()})"
    )
    print(
        f"{'mode':<10} {'runs/s':>9} {'vs base':>8} {'CPU us/run':>11} {'CPU vs base':>12} "
        f"{'added CPU us':>13} {'write() us':>11} {'write() CPU':>12}"
    )
    for mode in modes:
        rate = statistics.median(r[0] for r in results[mode])
        cpu = statistics.median(r[1] for r in results[mode])
        write_us = statistics.median(r[2] for r in results[mode])
        write_cpu = statistics.median(r[3] for r in results[mode])
        print(
            f"{mode:<10} {rate:>9,.0f} {rate / base:>7.2f}x {cpu:>11.1f} {cpu / base_cpu:>11.2f}x "
            f"{cpu - base_cpu:>13.1f} {write_us:>11.1f} {write_cpu:>12.1f}"
        )


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory_child(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tracer = Tracer(Path(tmp) / "traces.jsonl", jsonl=False)
        build(0)
        before = _rss_bytes()
        peak = [before]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.05):
                peak[0] = max(peak[0], _rss_bytes())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        marks = {runs // 10: "10%", runs // 2: "50%", runs: "100%"}
        t0 = time.perf_counter()
        for i in range(1, runs + 1):
            tracer.write(build(i))
            if i in marks:
                print(f"    RSS at {marks[i]:>4} of runs: {_rss_bytes() / 2**20:7.1f} MiB", flush=True)
        tracer.close()
        elapsed = time.perf_counter() - t0
        stop.set()
        sampler.join()
        stats = tracer.stats()
        rows_on_disk = sum(f.stat().st_size for f in (Path(tmp) / "parquet").glob("*.parquet"))
    maxrss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"    RSS before the loop: {before / 2**20:.1f} MiB; peak during: {peak[0] / 2**20:.1f} MiB "
        f"(+{(peak[0] - before) / 2**20:.1f} MiB); ru_maxrss {maxrss_mib:.1f} MiB"
    )
    print(
        f"    {stats.parquet_rows_written:,} rows in {stats.parquet_files_written} files "
        f"({rows_on_disk / 2**20:.1f} MiB, {rows_on_disk / max(1, stats.parquet_rows_written):.0f} B/row), "
        f"dropped {stats.dropped}, queue high water {stats.queue_high_water}, "
        f"{runs / elapsed:,.0f} runs/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20_000, help="runs per throughput round")
    parser.add_argument("--repeats", type=int, default=5, help="throughput rounds per mode")
    parser.add_argument("--memory-runs", type=int, default=1_000_000, help="runs for the memory test (0 skips)")
    parser.add_argument("--memory-child", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return
    throughput(args.runs, args.repeats)
    if args.memory_runs:
        print(f"(b) memory, {args.memory_runs:,} runs to Parquet (default settings), fresh process")
        subprocess.run([sys.executable, __file__, "--memory-child", str(args.memory_runs)], check=True)


if __name__ == "__main__":
    main()
