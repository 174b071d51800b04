"""Metrics recorded inside a Ray actor appear on the node's Prometheus export port, under the exported names."""

from __future__ import annotations

import time
import urllib.request
from typing import Any

import pytest

from mm_orch.observability import metrics

pytestmark = pytest.mark.integration


def _scrape(port: int) -> dict[str, list[Any]]:
    from prometheus_client.parser import text_string_to_metric_families

    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("ray_mm_orch_"):
                out.setdefault(sample.name, []).append(sample)
    return out


def _value(samples: dict[str, list[Any]], name: str, **labels: str) -> float:
    return sum(s.value for s in samples.get(name, []) if all(s.labels.get(k) == v for k, v in labels.items()))


def test_metrics_from_an_actor_reach_the_node_metrics_port(ray_cluster: Any) -> None:
    ray = ray_cluster

    @ray.remote(num_cpus=0)
    class Recorder:
        def record(self) -> str:
            from mm_orch.observability import metrics as m

            mode = m.mode()  # "auto": a Ray worker process exports to Ray by itself
            for _ in range(3):
                m.record_run("rag_qa", "success", 0.3)
            m.record_run("rag_qa", "error", 7.0)
            m.record_step("rag_qa", "retrieve", "success", 0.004)
            m.record_route("v3", "model", "rag_qa", 0.82)
            m.record_route("v2", "abstention", "search_qa", 0.31)
            m.record_model_call("smollm2", input_tokens=40, output_tokens=17, seconds=1.2, first_token_s=0.09)
            m.count_trace_rows("parquet", 5)
            m.count_feedback("http", -1.0)
            m.flush()
            return mode

    actor = Recorder.remote()
    try:
        assert ray.get(actor.record.remote(), timeout=120) == "ray"
        port = int(ray.nodes()[0]["MetricsExportPort"])
        wanted = "ray_mm_orch_feedback_received_total"
        deadline = time.monotonic() + 60
        samples = _scrape(port)
        while wanted not in samples and time.monotonic() < deadline:
            time.sleep(1)
            samples = _scrape(port)
    finally:
        ray.kill(actor)

    runs = "ray_mm_orch_workflow_duration_seconds_count"
    assert _value(samples, runs, workflow="rag_qa", outcome="success") == 3
    assert _value(samples, runs, workflow="rag_qa", outcome="error") == 1
    bucket = "ray_mm_orch_workflow_duration_seconds_bucket"
    assert _value(samples, bucket, workflow="rag_qa", outcome="success", le="0.5") == 3
    assert _value(samples, bucket, workflow="rag_qa", outcome="error", le="5.0") == 0
    assert _value(samples, "ray_mm_orch_step_duration_seconds_count", step="retrieve") == 1
    decisions = "ray_mm_orch_router_decisions_total"
    assert _value(samples, decisions, router="v2", source="abstention", workflow="search_qa") == 1
    assert _value(samples, "ray_mm_orch_router_confidence_ratio_count", router="v3") == 1
    assert _value(samples, "ray_mm_orch_model_tokens_total", model="smollm2", direction="output") == 17
    assert _value(samples, "ray_mm_orch_model_time_to_first_token_seconds_count", model="smollm2") == 1
    assert _value(samples, "ray_mm_orch_trace_rows_written_total", sink="parquet") == 5
    assert _value(samples, wanted, source="http", rating="negative") == 1
    exported = set(samples)
    not_recorded = {"mm_orch_request_duration_seconds", "mm_orch_trace_rows_dropped_total"}
    for name, spec in metrics.METRICS.items():
        if name not in not_recorded:
            assert set(spec.series_names()) <= exported, f"{name}: exported {sorted(exported)}"
