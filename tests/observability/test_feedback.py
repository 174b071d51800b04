"""FeedbackStore: durable append, validation that names the fix, tolerant reading."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest
from pydantic import ValidationError

from mm_orch.observability.feedback import (
    FeedbackRecord,
    FeedbackStore,
    default_feedback_path,
    read_feedback,
)


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb")
    a = store.append(FeedbackRecord(trace_id="t1", rating=-1, workflow="rag_qa", comment="wrong", source="cli"))
    b = store.append(FeedbackRecord(trace_id="t2", rating=1))
    store.close()
    assert store.path == tmp_path / "fb" / "feedback.jsonl"
    assert read_feedback(tmp_path / "fb") == [a, b]
    assert read_feedback(store.path)[0].workflow == "rag_qa"


def test_absent_path_reads_as_no_feedback(tmp_path: Path) -> None:
    assert read_feedback(tmp_path / "nothing-here") == []


def test_default_path_sits_beside_the_traces() -> None:
    assert default_feedback_path("data/traces/traces.jsonl") == Path("data/traces/feedback/feedback.jsonl")
    assert default_feedback_path("data/traces") == Path("data/traces/feedback/feedback.jsonl")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"trace_id": "t", "rating": 2}, "less than or equal to 1"),
        ({"trace_id": "  ", "rating": 1}, "trace_id is blank"),
        ({"trace_id": "x\udfff", "rating": 1}, "surrogate|unicode string"),
        ({"trace_id": "t", "rating": 1, "workflow": "a\x00b"}, "control characters"),
        ({"trace_id": "t", "rating": 1, "extra": 1}, "Extra inputs are not permitted"),
    ],
)
def test_bad_records_are_refused_with_the_reason(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FeedbackRecord.model_validate(fields)


def test_torn_and_invalid_lines_are_skipped_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    good = FeedbackRecord(trace_id="t1", rating=1)
    path.write_bytes(good.model_dump_json().encode() + b"\n" + json.dumps({"rating": 5}).encode() + b'\n{"trace')
    assert read_feedback(path) == [good]


def _append_many(path: str, worker: int) -> None:
    store = FeedbackStore(path)
    for i in range(50):
        store.append(FeedbackRecord(trace_id=f"w{worker}-{i}", rating=1, comment="x" * 500))
    store.close()


def test_several_processes_append_without_losing_or_tearing_lines(tmp_path: Path) -> None:
    path = str(tmp_path / "feedback.jsonl")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(path, w)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    ids = {r.trace_id for r in read_feedback(path)}
    assert ids == {f"w{w}-{i}" for w in range(3) for i in range(50)}
