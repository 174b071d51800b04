"""The Ray Data training pipeline end to end on a real local Ray cluster (session fixture)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mm_orch.observability.arrow_schema import trace_arrow_schema
from mm_orch.observability.records import WorkflowTrace
from mm_orch.routing.decision import WORKFLOWS
from mm_orch.routing.features import RequestContext
from mm_orch.routing.model import RouterModel, RouterTrainingError
from mm_orch.routing.persistence import current_version, load_published
from mm_orch.routing.training import evaluate_model, load_split
from router.pipeline import TrainSettings, run_training
from router.synthetic import synthetic_traces, write_parquet
from router.train import NOT_PUBLISHED_EXIT, main

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def parquet_traces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("traces")
    write_parquet(synthetic_traces(4000, seed=3).drop_columns(["truth"]), out, rows_per_file=1000)
    return out


def _biased_router_traces(directory: Path) -> list[WorkflowTrace]:
    """The old router sent every lesson request to search_qa and users disliked it; a few users forced
    lesson_pack and were happy. Every other request was routed right and scored well."""
    rng = random.Random(11)
    traces = []
    for i, e in enumerate(load_split()[0]):
        common = {"trace_id": f"t{i}", "request_id": f"r{i}", "timestamp": 1.7e9 + i, "question": e.query,
                  "mode": e.mode, "metadata": {"has_documents": str(e.has_documents).lower(),
                                               "has_collection": str(e.has_collection).lower(),
                                               "history_turns": str(e.history_turns)}}  # fmt: skip
        if e.workflow != "lesson_pack":
            traces.append(WorkflowTrace(workflow=e.workflow, quality_signals={"relevance": 0.9}, **common))
        elif rng.random() < 0.7:
            traces.append(WorkflowTrace(workflow="search_qa", feedback=-1.0, **common))
        else:
            traces.append(WorkflowTrace(workflow="lesson_pack", workflow_forced=True, **common))
    table = pa.Table.from_pylist([t.to_row() for t in traces], schema=trace_arrow_schema())
    directory.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, directory / "traces.parquet")
    return traces


def test_learns_outcomes_not_imitation(ray_cluster: Any, tmp_path: Path) -> None:
    traces = _biased_router_traces(tmp_path / "traces")
    report = run_training(
        TrainSettings(traces=str(tmp_path / "traces"), output=str(tmp_path / "m"), use_bootstrap=False,
                      progress=False)
    )  # fmt: skip
    assert report.published
    assert report.rows_read == len(traces)
    assert report.rows_labelled < len(traces)  # the disliked runs are not labels
    model, manifest = load_published(tmp_path / "m")
    assert manifest.version == report.version == current_version(tmp_path / "m")
    lessons = [e for e in load_split()[1] if e.workflow == "lesson_pack"]
    learned = evaluate_model(model, lessons).accuracy
    # Imitating the old router (label = the workflow that ran) mostly keeps sending lessons to search_qa.
    imitation = RouterModel.fit([t.question for t in traces], [RequestContext() for _ in traces],
                                [t.workflow for t in traces])  # fmt: skip
    imitated = evaluate_model(imitation, lessons).accuracy
    assert learned > 0.5, learned
    assert learned > imitated + 0.25, (learned, imitated)


def test_publishes_only_if_at_least_as_good(ray_cluster: Any, parquet_traces: Path, tmp_path: Path) -> None:
    first = run_training(TrainSettings(traces=str(parquet_traces), output=str(tmp_path), progress=False))
    assert first.published
    # Traces whose outcomes point at the wrong workflows (each label shifted to another workflow): the new model
    # fits them, but regresses on the curated split, so it must not be published.
    rows = synthetic_traces(3000, seed=5)
    shift = {w: WORKFLOWS[(i + 1) % len(WORKFLOWS)] for i, w in enumerate(WORKFLOWS)}
    wrong = pa.array([shift[t] for t in rows["truth"].to_pylist()])
    bad = rows.drop_columns(["truth", "workflow", "workflow_forced"]).append_column("workflow", wrong)
    bad = bad.append_column("workflow_forced", pa.array([True] * rows.num_rows))
    bad_dir = tmp_path / "bad"
    write_parquet(bad, bad_dir)
    second = run_training(
        TrainSettings(traces=str(bad_dir), output=str(tmp_path), use_bootstrap=False, progress=False)
    )
    assert not second.published
    assert second.current_version == first.version
    assert current_version(tmp_path) == first.version
    assert "curated split regressed" in second.reason
    assert second.new_curated is not None
    assert second.current_curated is not None
    assert second.new_curated.macro_f1 < second.current_curated.macro_f1


def test_cli_reads_jsonl_and_tracer_parquet(
    ray_cluster: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    examples = load_split()[0][::6][:300]  # every family (the files are grouped by workflow)
    traces = [
        WorkflowTrace(trace_id=f"t{i}", request_id=f"r{i}", timestamp=1.7e9 + i, question=e.query,
                      workflow=e.workflow, workflow_forced=True, mode=e.mode,
                      metadata={"has_documents": str(e.has_documents).lower()})
        for i, e in enumerate(examples)
    ]  # fmt: skip
    jsonl = tmp_path / "traces" / "traces.jsonl"
    jsonl.parent.mkdir()
    jsonl.write_text("".join(t.model_dump_json() + "\n" for t in traces[:150]))
    table = pa.Table.from_pylist([t.to_row() for t in traces[150:]], schema=trace_arrow_schema())
    pq.write_table(table, tmp_path / "traces" / "part-0.parquet")
    out = tmp_path / "models"
    code = main(["--traces", str(tmp_path / "traces"), "--output", str(out), "--no-progress"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["published"]
    assert report["rows_read"] == 300
    assert report["rows_labelled"] == 300
    code = main(["--traces", str(jsonl), "--output", str(out), "--no-progress", "--no-bootstrap"])
    assert code in (0, NOT_PUBLISHED_EXIT)


def test_too_little_data_fails_clearly(ray_cluster: Any, tmp_path: Path) -> None:
    rows = synthetic_traces(40, seed=9).drop_columns(["truth", "workflow_forced"])
    rows = rows.append_column("workflow_forced", pa.array([False] * rows.num_rows))
    rows = rows.drop_columns(["quality_signals"]).append_column(
        "quality_signals", pa.array([[] for _ in range(rows.num_rows)], type=pa.map_(pa.string(), pa.float64()))
    )
    write_parquet(rows, tmp_path / "t")
    with pytest.raises(RouterTrainingError, match=r"cannot train a router from 0 labelled rows"):
        run_training(TrainSettings(traces=str(tmp_path / "t"), output=str(tmp_path / "m"), use_bootstrap=False,
                                   progress=False))  # fmt: skip
