"""The report's data layer over real Tracer output and synthetic traces."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pytest

from mm_orch.observability.tracer import Tracer
from mm_orch.reporting.data import KINDS, NoTracesError, find_parquet, load_runs, quantiles_by
from tests.reporting.conftest import run_record


def test_load_runs_reads_tracer_output_and_joins_feedback(traced_folder: Path) -> None:
    runs = load_runs(traced_folder)
    t = runs.table
    assert t.num_rows == 40
    assert runs.files == 3
    assert runs.feedback_records == 6
    assert runs.steps.num_rows == 80
    rows = {r["trace_id"]: r for r in t.to_pylist()}
    assert rows["t0000"]["rating"] == 1.0
    assert rows["t0000"]["quality"] == 1.0
    assert rows["t0001"]["rating"] == -1.0
    assert rows["t0001"]["quality"] == 0.0
    assert rows["t0017"]["success"] is False
    assert rows["t0017"]["quality"] == 0.0
    assert rows["t0020"]["rating"] is None
    assert rows["t0020"]["quality"] == 1.0
    assert rows["t0000"]["kind"] == "who"
    assert rows["t0001"]["kind"] == "how"
    assert rows["t0003"]["cost_units"] == pytest.approx(0.123 + 0.05)


def test_question_kinds_cover_yes_no_and_other(tmp_path: Path) -> None:
    questions = ["is water wet?", "  Why not?", "Tell me about Rome", "", "WHEN did it end?"]
    with Tracer(None, parquet_dir=tmp_path / "pq") as tracer:
        for i, q in enumerate(questions):
            tracer.write(run_record(i, "rag_qa", question=q))
    kinds = load_runs(tmp_path).table.sort_by("trace_id").column("kind").to_pylist()
    assert kinds == ["yes/no", "why", "other", "other", "when"]
    assert set(kinds) <= set(KINDS)


def test_latest_feedback_wins(traced_folder: Path) -> None:
    from mm_orch.observability.feedback import FeedbackRecord, FeedbackStore

    store = FeedbackStore(traced_folder / "feedback" / "feedback.jsonl")
    store.append(FeedbackRecord(trace_id="t0000", rating=-1.0, workflow="rag_qa"))
    row = load_runs(traced_folder).table.filter(pc.equal(pc.field("trace_id"), "t0000")).to_pylist()[0]
    assert row["rating"] == -1.0
    assert row["fb_workflow"] == "rag_qa"


def test_missing_folder_says_what_to_pass(tmp_path: Path) -> None:
    with pytest.raises(NoTracesError, match=r"does not exist.*data/traces"):
        find_parquet(tmp_path / "nope")


def test_empty_folder_says_how_to_get_traces(tmp_path: Path) -> None:
    with pytest.raises(NoTracesError, match=r"No Parquet traces under.*Run some requests"):
        load_runs(tmp_path)


def test_jsonl_only_folder_points_at_parquet_sink(tmp_path: Path) -> None:
    with Tracer(tmp_path / "traces.jsonl", parquet=False) as tracer:
        tracer.write(run_record(0, "rag_qa"))
    with pytest.raises(NoTracesError, match=r"JSONL traces.*parquet"):
        load_runs(tmp_path)


def test_non_parquet_file_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("a\n")
    with pytest.raises(NoTracesError, match="not a Parquet file"):
        find_parquet(f)


def test_quantiles_by_workflow_on_synthetic(synthetic_folder: Path) -> None:
    runs = load_runs(synthetic_folder)
    assert runs.table.num_rows == 20_000
    assert runs.files == 4
    q = quantiles_by(runs.table, ["workflow"], "latency_ms", [0.5, 0.95])
    assert q[("search_qa_fast",)][0] < q[("search_qa",)][0] < q[("lesson_pack",)][0]
    assert all(p50 < p95 for p50, p95 in q.values())
