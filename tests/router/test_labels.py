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
    assert ex is not None and ex.workflow == "lesson_pack" and ex.weight == weight


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
