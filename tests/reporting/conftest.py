"""Trace folders for the report tests: real Tracer output (Parquet sink) and synthetic Parquet files."""

from __future__ import annotations

from pathlib import Path

import pytest

from mm_orch.observability.feedback import FeedbackRecord, FeedbackStore
from mm_orch.observability.records import CostStats, StepTrace, WorkflowTrace
from mm_orch.observability.tracer import Tracer
from mm_orch.reporting.synthetic import write_synthetic_traces


def run_record(i: int, workflow: str, *, ok: bool = True, question: str = "Who wrote Hamlet?") -> WorkflowTrace:
    """One finished run: two steps (search 20 ms, answer 100+i ms), grounded unless it failed."""
    t0 = 1_700_000_000.0 + i
    steps = [
        StepTrace(node="s", step_name="search", started_at=t0, ended_at=t0 + 0.02, latency_ms=20.0, success=True),
        StepTrace(
            node="a",
            step_name="answer",
            started_at=t0 + 0.02,
            ended_at=t0 + 0.12,
            latency_ms=100.0 + i,
            success=ok,
            error_type=None if ok else "StepTimeoutError",
            error_message=None if ok else "answer timed out after 30 s",
            tokens=50,
        ),
    ]
    return WorkflowTrace(
        trace_id=f"t{i:04d}",
        request_id=f"t{i:04d}",
        timestamp=t0,
        question=question,
        workflow=workflow,
        router_version="v3",
        router_confidence=0.5 + (i % 5) / 10,
        success=ok,
        error_type=None if ok else "StepTimeoutError",
        error_message=None if ok else "answer timed out after 30 s",
        steps=steps,
        quality_signals={"grounded": 1.0 if ok else 0.0},
        cost=CostStats(latency_ms=120.0 + i, tokens=50, model_loads=0, steps=2),
    )


@pytest.fixture
def traced_folder(tmp_path: Path) -> Path:
    """``data/traces`` written by a real Tracer: 40 runs (search_qa, search_qa_fast, rag_qa; 4 failures) and
    feedback on 6 of them through a real FeedbackStore."""
    root = tmp_path / "traces"
    with Tracer(root / "traces.jsonl", parquet_rows_per_file=16, parquet_row_group_size=8) as tracer:
        for i in range(40):
            workflow = ("search_qa", "search_qa_fast", "rag_qa")[i % 3]
            question = "How does a jet engine work?" if i % 2 else "Who wrote Hamlet?"
            tracer.write(run_record(i, workflow, ok=i % 10 != 7, question=question))
    store = FeedbackStore(root / "feedback" / "feedback.jsonl")
    for i in range(6):
        store.append(FeedbackRecord(trace_id=f"t{i:04d}", rating=-1.0 if i % 2 else 1.0, workflow=None))
    return root


@pytest.fixture(scope="session")
def synthetic_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20,000 synthetic runs in 4 Parquet files, with feedback."""
    root = tmp_path_factory.mktemp("synthetic")
    write_synthetic_traces(root, 20_000, rows_per_file=5_000)
    return root
