"""The metrics module: names and labels by Prometheus conventions, the three modes, bounded series, Ray deltas."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from mm_orch.exceptions import ConfigError, StepExecutionError
from mm_orch.observability import metrics
from mm_orch.observability.metrics_ray import RayExporter
from mm_orch.observability.metrics_store import MAX_LABEL_CHARS, MAX_SERIES, MetricsStore

STEP = "mm_orch_step_duration_seconds"
ROUTES = "mm_orch_router_decisions_total"
FORBIDDEN_LABELS = {
    "query",
    "question",
    "session",
    "session_id",
    "trace_id",
    "request_id",
    "run_id",
    "user",
    "text",
}


@pytest.fixture(autouse=True)
def local_metrics() -> Iterator[None]:
    metrics.disable()
    metrics.enable("local")
    yield
    metrics.disable()


def test_names_follow_prometheus_conventions() -> None:
    for name, spec in metrics.METRICS.items():
        assert re.fullmatch(r"mm_orch_[a-z0-9_]+", name), name
        if spec.kind == "counter":
            assert name.endswith("_total"), name
        else:
            assert name.endswith(("_seconds", "_ratio")), f"{name}: histograms carry their unit"
            assert list(spec.buckets) == sorted(spec.buckets)
            assert spec.buckets[0] > 0
        assert not FORBIDDEN_LABELS & set(spec.labels), f"{name} has an unbounded label"
        assert spec.description
        assert spec.exported_name == f"ray_{name}"


def test_off_mode_records_nothing_and_never_fails() -> None:
    metrics.disable()
    metrics.record_step("search_qa", "search", "success", 0.01)
    metrics.record_route("v3", "model", "search_qa", 0.9)
    metrics.record_model_call("m", input_tokens=3, output_tokens=4, seconds=0.2, first_token_s=0.05)
    metrics.count_trace_rows("parquet", 10)
    metrics.count_feedback("http", 1.0)
    assert metrics.mode() == "off"
    assert metrics.snapshot().counters == {}
    assert metrics.snapshot().histograms == {}
    assert metrics.flush() == 0


def test_histogram_buckets_are_less_or_equal_bounds() -> None:
    metrics.record_step("search_qa", "search", "success", 0.01)  # exactly a bound: that bucket
    metrics.record_step("search_qa", "search", "success", 0.0101)  # just above: the next
    metrics.record_step("search_qa", "search", "success", 500.0)  # above the last bound: +Inf
    hist = metrics.snapshot().histogram(STEP, workflow="search_qa", step="search")
    assert hist is not None
    assert hist.count == 3
    bounds = list(hist.buckets)
    assert hist.counts[bounds.index(0.01)] == 1
    assert hist.counts[bounds.index(0.025)] == 1
    assert hist.counts[-1] == 1
    assert hist.sum == pytest.approx(500.0201)


def test_counts_split_by_labels_and_outcomes() -> None:
    for _ in range(3):
        metrics.record_run("rag_qa", "success", 1.0)
    metrics.record_run("rag_qa", "error", 2.0)
    metrics.record_run("chat_generate", "success", 0.5)
    snap = metrics.snapshot()
    assert snap.count("mm_orch_workflow_duration_seconds", workflow="rag_qa") == 4
    assert snap.count("mm_orch_workflow_duration_seconds", workflow="rag_qa", outcome="error") == 1
    assert snap.count("mm_orch_workflow_duration_seconds", outcome="success") == 4


def test_closed_vocabularies_and_label_values_are_bounded() -> None:
    metrics.record_route("v3", "made-up-source", "search_qa", 0.4)
    metrics.record_route("v2", "abstention", "rag_qa", None)
    metrics.record_run(None, "success", 0.1)
    metrics.record_step("w" * 500, "answer", "success", 0.1)
    snap = metrics.snapshot()
    assert snap.label_values(ROUTES, "source") == {"other", "abstention"}
    assert snap.count("mm_orch_router_confidence_ratio") == 1  # None confidence: counted, not observed
    assert snap.label_values("mm_orch_workflow_duration_seconds", "workflow") == {"none"}
    assert snap.label_values(STEP, "workflow") == {"w" * MAX_LABEL_CHARS}


def test_series_per_metric_are_capped(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        for i in range(MAX_SERIES + 50):
            metrics.record_route("v3", "model", f"wf-{i}", 0.5)
    snap = metrics.snapshot()
    series = snap.counters[ROUTES]
    assert len(series) == MAX_SERIES + 1
    assert snap.counter(ROUTES, router="other", source="other", workflow="other") == 50
    assert snap.counter(ROUTES) == MAX_SERIES + 50
    assert "reached 500 label combinations" in caplog.text


def test_counters_from_many_threads_add_up_exactly() -> None:
    def work() -> None:
        for _ in range(5000):
            metrics.count_trace_rows("jsonl")
            metrics.record_step("search_qa", "fetch", "success", 0.2)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    snap = metrics.snapshot()
    assert snap.counter("mm_orch_trace_rows_written_total", sink="jsonl") == 20000
    assert snap.count(STEP, step="fetch") == 20000


def test_model_tokens_feedback_and_trace_drops() -> None:
    metrics.record_model_call("smollm2", input_tokens=30, output_tokens=12, seconds=0.8, first_token_s=0.1)
    metrics.record_model_call("smollm2", input_tokens=0, output_tokens=0, seconds=0.1, outcome="error")
    metrics.count_feedback("http", -1.0)
    metrics.count_feedback("cli", 0.0)
    metrics.count_feedback("http", 0.5)
    metrics.count_trace_drops("parquet", "queue_full", 3)
    snap = metrics.snapshot()
    assert snap.counter("mm_orch_model_tokens_total", direction="input") == 30
    assert snap.counter("mm_orch_model_tokens_total", direction="output") == 12
    assert snap.count("mm_orch_model_request_duration_seconds", outcome="error") == 1
    assert snap.count("mm_orch_model_time_to_first_token_seconds") == 1
    assert snap.counter("mm_orch_feedback_received_total", rating="negative") == 1
    assert snap.counter("mm_orch_feedback_received_total", rating="neutral", source="cli") == 1
    assert snap.counter("mm_orch_feedback_received_total", rating="positive") == 1
    assert snap.counter("mm_orch_trace_rows_dropped_total", reason="queue_full") == 3


def test_bad_modes_are_refused_with_the_options() -> None:
    with pytest.raises(ConfigError, match="'off', 'local' or 'ray'"):
        metrics.enable("prometheus")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="interval_s must be > 0"):
        metrics.enable("local", interval_s=0)


def test_wrong_label_count_names_the_labels() -> None:
    table = MetricsStore(metrics.METRICS.values()).table(metrics.STEP_DURATION)
    with pytest.raises(ValueError, match=r"takes labels \('workflow', 'step', 'outcome'\)"):
        table.observe(("only-one",), 0.1)


def test_reset_keeps_the_mode_and_forgets_values() -> None:
    metrics.count_trace_rows("parquet", 5)
    metrics.reset()
    assert metrics.mode() == "local"
    assert metrics.snapshot().counter("mm_orch_trace_rows_written_total") == 0


class _FakeRayMetric:
    def __init__(self) -> None:
        self.calls: list[tuple[str, float, dict[str, str]]] = []

    def inc(self, value: float, tags: dict[str, str]) -> None:
        self.calls.append(("inc", value, tags))

    def observe(self, value: float, tags: dict[str, str]) -> None:
        self.calls.append(("observe", value, tags))


def test_ray_exporter_pushes_only_what_changed() -> None:
    store = MetricsStore(metrics.METRICS.values())
    exporter = RayExporter(store, interval_s=3600)  # pushed by hand below
    fakes: dict[str, Any] = {name: _FakeRayMetric() for name in metrics.METRICS}
    exporter._objects = fakes
    try:
        store.table(metrics.ROUTER_DECISIONS).inc(("v3", "model", "rag_qa"), 2)
        steps = store.table(metrics.STEP_DURATION)
        for value in (0.003, 0.004, 0.3):
            steps.observe(("rag_qa", "retrieve", "success"), value)
        assert exporter.push() == 2
        decisions = fakes[ROUTES].calls
        assert decisions == [("inc", 2.0, {"router": "v3", "source": "model", "workflow": "rag_qa"})]
        observed = sorted(v for _, v, _ in fakes[STEP].calls)
        assert observed == pytest.approx([0.0035, 0.0035, 0.3])  # the mean of each bucket's new values
        assert exporter.push() == 0  # nothing new: nothing pushed twice
        store.table(metrics.ROUTER_DECISIONS).inc(("v3", "model", "rag_qa"))
        exporter.push()
        assert decisions[-1][:2] == ("inc", 1.0)
    finally:
        exporter.stop()


def test_env_selects_the_mode_at_import() -> None:
    code = "from mm_orch.observability import metrics; print(metrics.mode())"
    env = {**os.environ, "MM_ORCH_METRICS": "local"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "local"
    env["MM_ORCH_METRICS"] = "auto"  # outside Ray: off, and Ray is not imported for it
    code += "; import sys; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["off", "False"]
    env["MM_ORCH_METRICS"] = "loud"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split()[0] == "off"
    assert "MM_ORCH_METRICS='loud'" in out.stderr


def test_tracer_counts_rows_per_sink_and_drops(tmp_path: Any, make_trace: Any) -> None:
    from mm_orch.observability import Tracer

    with Tracer(tmp_path / "traces.jsonl", on_queue_full="drop") as tracer:
        for i in range(7):
            tracer.write(make_trace(i))
        tracer.flush()
        snap = metrics.snapshot()
        assert snap.counter("mm_orch_trace_rows_written_total", sink="jsonl") == 7
        assert snap.counter("mm_orch_trace_rows_written_total", sink="parquet") == 7
        assert tracer._parquet is not None
        tracer._parquet._buffer.put = lambda item: False  # type: ignore[method-assign]  # a full queue
        tracer.write(make_trace(8))
    snap = metrics.snapshot()
    assert snap.counter("mm_orch_trace_rows_dropped_total", sink="parquet", reason="queue_full") == 1
    assert snap.counter("mm_orch_trace_rows_written_total", sink="jsonl") == 8


def test_stored_feedback_is_counted_by_source_and_rating(tmp_path: Any) -> None:
    from mm_orch.observability import FeedbackRecord, FeedbackStore

    with FeedbackStore(tmp_path / "feedback") as store:
        store.append(FeedbackRecord(trace_id="t1", rating=-1, source="http"))
        store.append(FeedbackRecord(trace_id="t2", rating=1, source="cli"))
    snap = metrics.snapshot()
    assert snap.counter("mm_orch_feedback_received_total", source="http", rating="negative") == 1
    assert snap.counter("mm_orch_feedback_received_total", source="cli", rating="positive") == 1


def test_executor_records_every_node_and_run_while_metrics_are_on() -> None:
    from mm_orch.orchestration import BaseStep, GraphExecutor, GraphNode
    from mm_orch.registries import StepRegistry

    class Add(BaseStep):
        input_keys = ("x",)
        output_keys = ("x",)

        def __init__(self, name: str, fail: bool = False) -> None:
            self.name, self.fail = name, fail

        def execute(self, state: Any, runtime: Any) -> dict[str, int]:
            if self.fail:
                raise RuntimeError("boom")
            return {"x": state["x"] + 1}

    registry = StepRegistry()
    registry.register(Add("ok"))
    registry.register(Add("bad", fail=True))
    good = {"start": GraphNode(step_name="ok", next_nodes=["n1"]), "n1": GraphNode(step_name="ok")}
    broken = {"start": GraphNode(step_name="ok", next_nodes=["n1"]), "n1": GraphNode(step_name="bad")}
    executor = GraphExecutor(registry)
    for _ in range(3):
        executor.execute(good, {"x": 0})  # the plain path: nothing observed, only timed
    executor.execute(good, {"x": 0}, record=True)  # the observed path: metrics from the node records
    with pytest.raises(StepExecutionError, match="boom"):
        executor.execute(broken, {"x": 0})
    asyncio.run(executor.aexecute(good, {"x": 0}))
    snap = metrics.snapshot()
    assert snap.count(STEP, step="ok", outcome="success") == 2 * 5 + 1
    assert snap.count(STEP, step="bad", outcome="error") == 1
    assert snap.count("mm_orch_workflow_duration_seconds", outcome="success") == 5
    assert snap.count("mm_orch_workflow_duration_seconds", outcome="error") == 1
    metrics.disable()
    executor.execute(good, {"x": 0})
    assert metrics.snapshot().count(STEP) == 0  # off: nothing recorded


def test_run_outcomes() -> None:
    from mm_orch.exceptions import RunCancelledError, StepExecutionError, StepTimeoutError

    timeout = StepExecutionError("answer failed", step="answer", cause=StepTimeoutError("slow", step="answer"))
    assert metrics.run_outcome(None) == "success"
    assert metrics.run_outcome(RunCancelledError("gone")) == "cancelled"
    assert metrics.run_outcome(StepTimeoutError("slow", step="answer")) == "timeout"
    assert metrics.run_outcome(timeout) == "timeout"
    assert metrics.run_outcome(RuntimeError("x")) == "error"
