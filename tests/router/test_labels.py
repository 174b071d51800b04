from __future__ import annotations

import time
from typing import Any

import pytest

from mm_orch.observability.records import WorkflowTrace
from router.labels import LabelRule, label_from_row, label_from_trace


def _trace(**kw: Any) -> WorkflowTrace:
    base: dict[str, Any] = {"trace_id": "t", "request_id": "r", "timestamp": time.time(),
                            "question": "Quiz me on volcanoes", "workflow": "lesson_pack"}  # fmt: skip
    base.update(kw)
    return WorkflowTrace(**base)


@pytest.mark.parametrize(
    ("kw", "weight"),
    [
        ({"workflow_forced": True}, 2.0),  # explicit choice that succeeded
        ({"feedback": 1.0}, 1.5),  # routed, user liked it
        ({"quality_signals": {"relevance": 0.9, "grounded": 1.0}}, 1.0),  # routed, good quality
    ],
)
def test_outcomes_that_make_a_label(kw: dict[str, Any], weight: float) -> None:
    ex = label_from_trace(_trace(**kw))
    assert ex is not None
    assert ex.workflow == "lesson_pack"
    assert ex.weight == weight


@pytest.mark.parametrize(
    "kw",
    [
        {"success": False, "workflow_forced": True},  # failed, even if chosen explicitly
        {"feedback": -0.5, "workflow_forced": True},  # user disliked it
        {"quality_signals": {"relevance": 0.2}},  # poor quality
        {},  # routed and succeeded, but no evidence: would only imitate the old router
        {"question": ""},
    ],
)
def test_outcomes_that_make_no_label(kw: dict[str, Any]) -> None:
    assert label_from_trace(_trace(**kw)) is None


def test_context_comes_from_metadata_and_parquet_pairs() -> None:
    row = _trace(workflow="rag_qa", workflow_forced=True, mode="chat").to_row()
    row["metadata"] = [("has_documents", "true"), ("history_turns", "2")]  # Parquet map column shape
    ex = label_from_row(row)
    assert ex is not None
    assert (ex.mode, ex.has_documents, ex.has_collection, ex.history_turns) == ("chat", True, False, 2)


def test_threshold_is_configurable() -> None:
    t = _trace(quality_signals={"relevance": 0.5})
    assert label_from_trace(t) is None
    assert label_from_trace(t, LabelRule(min_quality=0.4)) is not None


def test_vectorized_labels_agree_with_row_rule() -> None:
    import pyarrow as pa

    from mm_orch.observability.arrow_schema import trace_arrow_schema
    from router.labels import label_table
    from router.synthetic import synthetic_traces

    table = synthetic_traces(600, seed=4).drop_columns(["truth"])
    extra = [
        _trace(feedback=0.0, quality_signals={"a": 0.7}, metadata={"has_collection": "yes"}),
        _trace(feedback=0.5, metadata={"history_turns": "3"}, mode="chat"),
        _trace(question="   ", workflow_forced=True),
        _trace(quality_signals={"a": 0.9, "b": 0.2}),  # mean 0.55 < 0.6
        _trace(quality_signals={"a": 1.4}, metadata={"history_turns": "x"}),  # clipped to 1; bad int -> 0
    ]
    extra_table = pa.Table.from_pylist([t.to_row() for t in extra], schema=trace_arrow_schema())
    for t in (table, extra_table.select(table.column_names)):
        expected = [ex for ex in (label_from_row(r) for r in t.to_pylist()) if ex is not None]
        got = label_table(t).to_pylist()
        assert len(got) == len(expected) > 0
        for g, e in zip(got, expected, strict=True):
            assert (g["query"], g["workflow"], g["weight"], g["mode"]) == (e.query, e.workflow, e.weight, e.mode)
            assert (g["has_collection"], g["has_documents"], g["history_turns"]) == (
                e.has_collection,
                e.has_documents,
                e.history_turns,
            )
