"""The trace report built from real Tracer output and from synthetic traces: content, suggestions, the lambda
curve, the CLI (``mm-orch report``) and its messages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mm_orch.main import main
from mm_orch.reporting import NoTracesError, build_report
from mm_orch.reporting.data import load_runs
from mm_orch.reporting.optimise import cheaper_alternatives, lambda_curve, measured_costs


def test_report_of_tracer_output_names_failures_and_workflows(traced_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "r" / "report.html"
    summary = build_report(traced_folder, out)
    html = out.read_text(encoding="utf-8")
    assert summary.runs == 40
    assert summary.feedback_records == 6
    assert summary.figures >= 10
    for failed in ("t0007", "t0017", "t0027", "t0037"):  # the runs whose answer step timed out
        assert failed in html
    assert "answer timed out after 30 s" in html
    assert "StepTimeoutError" in html
    assert html.count('class="plotly-graph-div"') == summary.figures
    for section in ("traffic", "latency", "cost", "quality", "router", "optimise", "lambda", "steps", "failures"):
        assert f'<section id="{section}">' in html


def test_page_is_self_contained(traced_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    build_report(traced_folder, out)
    html = out.read_text(encoding="utf-8")
    assert not re.search(r"""<(script|link|img|iframe)[^>]+(src|href)\s*=\s*["']?(https?:)?//""", html, re.I)
    assert "@import" not in html
    assert "Plotly.newPlot" in html


def test_questions_and_messages_are_escaped(tmp_path: Path) -> None:
    from mm_orch.observability.tracer import Tracer
    from tests.reporting.conftest import run_record

    with Tracer(None, parquet_dir=tmp_path / "t" / "parquet") as tracer:
        record = run_record(7, "rag_qa", ok=False)
        tracer.write(record.model_copy(update={"error_message": "<script>alert(1)</script>"}))
    html = build_report(tmp_path / "t", tmp_path / "r.html").output.read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_cheaper_workflow_found_for_factoids_not_explanations(synthetic_folder: Path) -> None:
    runs = load_runs(synthetic_folder)
    found = {(s.kind, s.instead_of): s for s in cheaper_alternatives(runs, tolerance=0.05)}
    fast_for = {kind for (kind, dearer), s in found.items() if dearer == "search_qa" and s.use == "search_qa_fast"}
    assert fast_for & {"who", "when", "where", "what"}  # the generator makes fast as good on factoids
    assert not fast_for & {"how", "why"}  # ... and clearly worse on explanations
    assert all(s.cost_use < s.cost_instead and s.diff_upper <= 0.05 for s in found.values())


def test_lambda_curve_trades_quality_for_cost(synthetic_folder: Path) -> None:
    runs = load_runs(synthetic_folder)
    curve = lambda_curve(runs, current=0.3)
    assert curve.lambdas[0] == 0.0
    assert 0.3 in curve.lambdas
    assert curve.quality[0] >= curve.quality[-1]
    assert curve.cost_units[0] > curve.cost_units[-1]
    assert all(b <= a + 1e-9 for a, b in zip(curve.cost_units, curve.cost_units[1:], strict=False))
    for i in range(len(curve.lambdas)):
        assert sum(share[i] for share in curve.shares.values()) == pytest.approx(1.0)
    assert measured_costs(runs).get("search_qa_fast").runs > 0


def test_cli_writes_the_report(synthetic_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.html"
    assert main(["report", str(synthetic_folder), "-o", str(out), "--lambda", "0.5"]) == 0
    assert "20,000 runs in 4 Parquet files" in capsys.readouterr().out
    assert "lambda=0.5" in out.read_text(encoding="utf-8")


def test_cli_says_clearly_when_there_are_no_traces(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path), "-o", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert "No Parquet traces under" in err
    assert "Run some requests" in err
    assert not (tmp_path / "r.html").exists()
    with pytest.raises(NoTracesError, match="does not exist"):
        build_report(tmp_path / "missing", tmp_path / "r.html")


def test_cli_refuses_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path), "--lambda", "-1"]) == 2
    assert "--lambda must be >= 0" in capsys.readouterr().err


def test_unwritable_output_is_a_clear_error(traced_folder: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    from mm_orch.exceptions import TracingError

    with pytest.raises(TracingError, match="cannot write the report"):
        build_report(traced_folder, blocker / "report.html")
