"""The Ray Data training pipeline end to end on a real local Ray cluster (session fixture)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mm_orch.observability.arrow_schema import trace_arrow_schema
from mm_orch.observability.records import WorkflowTrace
from mm_orch.routing.persistence import current_version, load_published
from mm_orch.routing.training import evaluate_model, load_examples
from router.pipeline import TrainSettings, run_training
from router.synthetic import synthetic_traces, write_parquet
from router.train import NOT_PUBLISHED_EXIT, main

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def parquet_traces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("traces")
    write_parquet(synthetic_traces(4000, seed=3).drop_columns(["truth"]), out, rows_per_file=1000)
    return out


def test_learns_outcomes_not_imitation(ray_cluster: Any, parquet_traces: Path, tmp_path: Path) -> None:
    """Half the synthetic runs went to the wrong workflow (and failed or were disliked). Training only on traces,
    the new router must still route the held-out bootstrap requests far better than the routes it was shown."""
    report = run_training(
        TrainSettings(traces=str(parquet_traces), output=str(tmp_path), use_bootstrap=False, progress=False)
    )
    assert report.published and report.rows_read == 4000
    assert report.rows_labelled < 0.7 * report.rows_read  # failures, dislikes and no-evidence runs dropped
    model, manifest = load_published(tmp_path)
    assert manifest.version == report.version == current_version(tmp_path)
    heldout = [e for e in load_examples() if e.split == "test"]
    assert evaluate_model(model, heldout).accuracy > 0.45
    table = pq.read_table(parquet_traces)
    imitated = sum(
        w == t
        for w, t in zip(
            table["workflow"].to_pylist(), synthetic_traces(4000, seed=3)["truth"].to_pylist(), strict=True
        )
    )
    assert imitated / table.num_rows < 0.65  # the routes in the traces were often wrong


def test_publishes_only_if_at_least_as_good(ray_cluster: Any, parquet_traces: Path, tmp_path: Path) -> None:
    first = run_training(TrainSettings(traces=str(parquet_traces), output=str(tmp_path), progress=False))
    assert first.published
    # Traces whose outcomes point at the wrong workflows: the new model is worse and must not be published.
    rows = synthetic_traces(3000, seed=5)
    wrong = pa.array(["chat_generate"] * rows.num_rows)
    bad = rows.drop_columns(["truth", "workflow", "workflow_forced"]).append_column("workflow", wrong)
    bad = bad.append_column("workflow_forced", pa.array([True] * rows.num_rows))
    bad_dir = tmp_path / "bad"
    write_parquet(bad, bad_dir)
    second = run_training(
        TrainSettings(traces=str(bad_dir), output=str(tmp_path), use_bootstrap=False, progress=False)
    )
    assert not second.published and second.current_version == first.version
    assert current_version(tmp_path) == first.version
    assert "<" in second.reason


def test_cli_reads_jsonl_and_tracer_parquet(
    ray_cluster: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    examples = [e for e in load_examples() if e.split == "train"][:300]
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
    assert code == 0 and report["published"] and report["rows_read"] == 300
    assert report["rows_labelled"] == 300
    code = main(["--traces", str(jsonl), "--output", str(out), "--no-progress", "--no-bootstrap"])
    assert code in (0, NOT_PUBLISHED_EXIT)
