"""Trace records for the observability tests: a realistic 5-step run, varied by index."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mm_orch.observability.records import Citation, CostStats, StepTrace, WorkflowTrace

WORKFLOWS = ("search_qa", "rag_qa", "lesson_pack")
STEP_NAMES = ("search", "fetch", "summarize", "answer", "check")


def build_trace(i: int = 0, *, workflow: str | None = None, steps: int = 5) -> WorkflowTrace:
    """A complete run record whose every field depends on ``i`` (so distinct records compare unequal)."""
    t0 = 1_700_000_000.0 + i
    step_traces = [
        StepTrace(
            node=f"n{j}",
            step_name=STEP_NAMES[j % len(STEP_NAMES)],
            started_at=t0 + j * 0.01,
            ended_at=t0 + (j + 1) * 0.01,
            latency_ms=10.0 + j + (i % 7),
            success=not (i % 11 == 0 and j == steps - 1),
            attempts=1 + (i + j) % 2,
            error_type="StepTimeoutError" if i % 11 == 0 and j == steps - 1 else None,
            error_message="timed out" if i % 11 == 0 and j == steps - 1 else None,
            used_fallback=(i + j) % 13 == 0,
            model_loads=["smollm2-135m"] if j == 3 and i % 5 == 0 else [],
            tokens=12 * j,
        )
        for j in range(steps)
    ]
    wf = workflow or WORKFLOWS[i % len(WORKFLOWS)]
    return WorkflowTrace(
        trace_id=f"trace-{i:08d}",
        request_id=f"req-{i}",
        timestamp=t0,
        question=f"What is question number {i}?",
        workflow=wf,
        workflow_forced=i % 4 == 0,
        router_version="v2" if i % 2 else None,
        router_confidence=0.5 + (i % 5) / 10 if i % 2 else None,
        router_alternatives={"search_qa": 0.7, "rag_qa": 0.3} if i % 2 else {},
        mode="chat" if i % 9 == 0 else "default",
        success=i % 11 != 0,
        error_type="StepTimeoutError" if i % 11 == 0 else None,
        error_message="Step 'check' failed: timed out" if i % 11 == 0 else None,
        steps=step_traces,
        final_answer=None if i % 11 == 0 else f"Answer {i}: Python is a programming language.",
        citations=[Citation(title=f"Doc {i}", url=f"https://example.org/{i}", doc_id=None)] if i % 3 else [],
        quality_signals={"has_citations": float(i % 3 != 0), "answer_words": float(5 + i % 17)},
        feedback=((i % 5) - 2) / 2 if i % 2 == 0 else None,
        cost=CostStats(
            latency_ms=sum(s.latency_ms for s in step_traces),
            tokens=sum(s.tokens for s in step_traces),
            model_loads=sum(len(s.model_loads) for s in step_traces),
            steps=steps,
        ),
        metadata={"host": "test", "index": str(i)},
    )


@pytest.fixture
def make_trace() -> Callable[..., WorkflowTrace]:
    """``make_trace(i, workflow=None, steps=5)`` -> a full WorkflowTrace."""
    return build_trace
