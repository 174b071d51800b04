"""``mm-orch route`` (explain, batch) and ``mm-orch feedback`` (the CLI twin of POST /v1/feedback)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from mm_orch.main import EXIT_OK, EXIT_USAGE, main
from mm_orch.observability.feedback import read_feedback
from mm_orch.routing.model import RouterModel
from mm_orch.routing.persistence import ModelManifest

Published = tuple[Path, RouterModel, ModelManifest]


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def _config(tmp_path: Path, published: Published) -> str:
    cfg = tmp_path / "phase_b.yaml"
    cfg.write_text(f"router:\n  version: v3\n  model_path: {published[0]}\n  abstain_to: default\n")
    return str(cfg)


def test_route_explain_prints_alternatives_features_exemplars_and_chain(
    tmp_path: Path, published_router: Published
) -> None:
    code, out = run("route", "--explain", "--config", _config(tmp_path, published_router),
                    "make flashcards about the french revolution for my 9th graders")  # fmt: skip
    assert code == EXIT_OK
    assert out.startswith("workflow: lesson_pack")
    assert "top alternatives (calibrated probabilities):" in out
    assert "deciding features (logit margin of lesson_pack over" in out
    assert "nearest training requests (cosine):" in out
    assert "chain: v3 answered" in out
    assert "reason: model" in out


def test_route_batch_with_explain_and_context_flags(tmp_path: Path, published_router: Published) -> None:
    cfg = _config(tmp_path, published_router)
    batch = tmp_path / "in.jsonl"
    batch.write_text(json.dumps({"id": 1, "query": "what does it say about refunds?",
                                 "context": {"has_collection": True}}) + "\n")  # fmt: skip
    code, out = run("route", "--jsonl", str(batch), "--explain", "--config", cfg)
    row = json.loads(out)
    assert code == EXIT_OK
    assert row["id"] == 1
    assert row["workflow"] == "rag_qa"
    assert row["source"] == "model"
    assert row["explanation"]["context"]["has_collection"] == "true"
    code, out = run("route", "--config", cfg, "--has-collection", "what does it say about refunds?")
    assert code == EXIT_OK
    assert out.split("\t")[0] == "rag_qa"
    code, out = run("route", "--config", cfg, "--json", "--hint", "search_qa_fast", "what is the capital of peru")
    hinted = json.loads(out)
    assert code == EXIT_OK
    assert hinted["source"] == "hint"
    assert hinted["workflow"] == "search_qa_fast"
    assert run("route", "--config", cfg, "--hint", "nope", "x")[0] == EXIT_USAGE


def test_feedback_cli_appends_a_record_the_trainer_reads(tmp_path: Path) -> None:
    store = tmp_path / "feedback.jsonl"
    code, out = run("feedback", "trace-123", "--down", "--workflow", "rag_qa", "--comment", "my files!",
                    "--path", str(store))  # fmt: skip
    assert code == EXIT_OK
    assert json.loads(out)["stored"] == str(store)
    code, _ = run("feedback", "trace-456", "--rating", "0.5", "--path", str(store))
    assert code == EXIT_OK
    records = read_feedback(store)
    assert [(r.trace_id, r.rating, r.workflow, r.source) for r in records] == [
        ("trace-123", -1.0, "rag_qa", "cli"),
        ("trace-456", 0.5, None, "cli"),
    ]
    assert run("feedback", "t", "--up", "--workflow", "not_a_flow", "--path", str(store))[0] == EXIT_USAGE
    assert run("feedback", "t", "--rating", "3", "--path", str(store))[0] == EXIT_USAGE
    assert run("feedback", "t", "--path", str(store))[0] == EXIT_USAGE  # no rating given
    assert len(read_feedback(store)) == 2
