"""Cost statistics: hand-checked numbers, and the record, table and path routes agree."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mm_orch.exceptions import TracingError
from mm_orch.observability import CostStatistics, Tracer, trace_arrow_schema
from mm_orch.observability.records import CostStats, WorkflowTrace


def _run(workflow: str, latency: float, success: bool = True, **extra) -> WorkflowTrace:
    return WorkflowTrace(
        trace_id=f"{workflow}-{latency}",
        request_id="r",
        timestamp=0.0,
        workflow=workflow,
        success=success,
        cost=CostStats(
            latency_ms=latency,
            tokens=extra.pop("tokens", 0),
            model_loads=extra.pop("loads", 0),
            steps=extra.pop("steps", 1),
        ),
        **extra,
    )


HAND = [
    _run("a", 10.0, tokens=1, loads=1, quality_signals={"x": 1.0}),
    _run("a", 20.0, tokens=2, quality_signals={"x": 0.0, "y": 4.0}, feedback=1.0),
    _run("a", 30.0, success=False, tokens=3),
    _run("a", 40.0, tokens=4, steps=3),
    _run("b", 100.0, feedback=-0.5),
]


def _table(traces: list[WorkflowTrace]) -> pa.Table:
    return pa.Table.from_pylist([t.to_row() for t in traces], schema=trace_arrow_schema())


@pytest.mark.parametrize("route", ["traces", "table"])
def test_hand_checked_numbers(route: str) -> None:
    stats = CostStatistics.from_traces(HAND) if route == "traces" else CostStatistics.from_table(_table(HAND))
    assert stats.total_runs == 5
    assert list(stats.workflows) == ["a", "b"]
    a = stats.workflows["a"]
    assert (a.runs, a.successes, a.success_rate) == (4, 3, 0.75)
    assert a.latency_mean_ms == 25.0
    assert a.latency_p50_ms == 25.0
    assert a.latency_p95_ms == pytest.approx(38.5)  # linear interpolation at rank 0.95 * 3 = 2.85
    assert (a.mean_tokens, a.mean_model_loads, a.mean_steps) == (2.5, 0.25, 1.5)
    assert a.mean_quality_signals == {"x": 0.5, "y": 4.0}  # over the runs that reported each signal
    assert (a.feedback_count, a.mean_feedback) == (1, 1.0)
    b = stats.get("b")
    assert b is not None
    assert b.latency_p95_ms == 100.0
    assert b.mean_feedback == -0.5
    assert b.mean_quality_signals == {}
    assert stats.get("c") is None


def test_records_table_and_path_agree(tmp_path: Path, make_trace) -> None:
    traces = [make_trace(i) for i in range(300)]
    with Tracer(tmp_path / "t.jsonl", jsonl=False) as tracer:
        for trace in traces:
            tracer.write(trace)
    from_traces = CostStatistics.from_traces(traces)
    from_table = CostStatistics.from_table(_table(traces))
    from_path = CostStatistics.from_path(tmp_path)
    assert _nested_close(from_traces.model_dump(), from_table.model_dump())
    assert from_path == from_table
    assert from_traces.workflows["search_qa"].runs == 100
    assert from_traces.workflows["search_qa"].success_rate == 0.9  # i % 33 == 0 fails: 10 of 100


def test_a_table_without_the_needed_columns_names_them() -> None:
    table = pa.table({"workflow": ["a"], "success": [True]})
    with pytest.raises(TracingError, match=r"lacks trace column\(s\) \['cost', 'quality_signals', 'feedback'\]"):
        CostStatistics.from_table(table)


def test_no_runs_give_empty_statistics() -> None:
    assert CostStatistics.from_traces([]) == CostStatistics.from_table(_table([])) == CostStatistics()


_signals = st.dictionaries(st.sampled_from(["q1", "q2", "q3"]), st.floats(-10, 10), max_size=3)
_runs = st.builds(
    _run,
    workflow=st.sampled_from(["w1", "w2", "w3"]),
    latency=st.floats(0, 1e5),
    success=st.booleans(),
    tokens=st.integers(0, 10_000),
    loads=st.integers(0, 3),
    quality_signals=_signals,
    feedback=st.none() | st.floats(-1, 1),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_runs, max_size=40))
def test_vectorised_table_route_equals_the_streaming_route(traces: list[WorkflowTrace]) -> None:
    streamed = CostStatistics.from_traces(traces).model_dump()
    vectorised = CostStatistics.from_table(_table(traces)).model_dump()
    assert _nested_close(streamed, vectorised)


def _nested_close(a: object, b: object) -> bool:
    """Equal, with floats compared to 1e-9 (summation order differs between the two routes)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_nested_close(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=1e-9, abs=1e-9)
    return a == b
