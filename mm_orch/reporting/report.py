"""``build_report(traces, output)``: the trace report as one self-contained HTML file.

::

    from mm_orch.reporting import build_report
    summary = build_report("data/traces", "report.html")   # feedback from data/traces/feedback/ when present

Sections: overview, traffic (volume per workflow and over time), latency and cost distributions, quality signals,
router confidence, the router against feedback, cost-guided optimisation (cheaper workflows at equal quality and
RouterV3's lambda curve), the slowest steps, and failures with their trace ids. Definitions of cost units,
quality and question kind: :mod:`mm_orch.reporting.data`.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from mm_orch.exceptions import TracingError
from mm_orch.reporting import figures as F
from mm_orch.reporting import optimise, sections
from mm_orch.reporting.data import load_runs
from mm_orch.reporting.html import render_page

__all__ = ["ReportSummary", "build_report"]

LATENCY_EDGES_MS = np.geomspace(1.0, 200_000.0, 61)
COST_EDGES = np.geomspace(0.001, 400.0, 61)


@dataclass
class ReportSummary:
    """What a build produced."""

    output: Path
    runs: int
    files: int
    feedback_records: int
    suggestions: int
    figures: int
    bytes: int
    seconds: float


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def _num(x: float | None, digits: int = 0) -> float | str:
    return "-" if x is None else round(float(x), digits) if digits else round(float(x))


def build_report(
    traces: str | Path,
    output: str | Path,
    *,
    feedback: str | Path | None = None,
    cost_lambda: float = 0.3,
    tolerance: float = 0.03,
) -> ReportSummary:
    """Read every Parquet trace under ``traces`` and write the report to ``output`` (see the module docstring).

    Raises :class:`~mm_orch.reporting.data.NoTracesError` (a TracingError) when there is nothing to report.
    """
    t0 = time.perf_counter()
    runs = load_runs(traces, feedback)
    ov = sections.overview_section(runs)
    colours = F.palette(ov.workflows)
    quality = sections.quality_section(runs)
    volume = sections.volume_over_time(runs)
    latency = sections.binned_by_workflow(runs.table, "latency_ms", LATENCY_EDGES_MS)
    cost = sections.binned_by_workflow(runs.table, "cost_units", COST_EDGES)
    conf = sections.confidence_section(runs)
    confusion = sections.confusion_section(runs)
    slow = sections.slow_steps_section(runs)
    failures = sections.failures_section(runs)
    suggestions = optimise.cheaper_alternatives(runs, tolerance=tolerance)
    cells = optimise.quality_cost_by_kind(runs)
    curve = optimise.lambda_curve(runs, current=cost_lambda)

    page_sections: list[dict[str, Any]] = [
        {
            "id": "traffic",
            "title": "Traffic",
            "note": "Runs per workflow (hover for the success rate) and over time.",
            "figures": [
                (F.volume_figure(quality, colours), "fig-volume"),
                (F.volume_time_figure(volume, colours), "fig-volume-time"),
            ],
        },
        {
            "id": "latency",
            "title": "Latency",
            "note": "Wall time of whole runs: the distribution per workflow (log scale) and its percentiles.",
            "figures": [
                (F.distribution_figure(latency, colours, "Run latency distribution", "ms"), "fig-latency"),
                (F.quantiles_figure(latency, colours, "Run latency percentiles", "ms"), "fig-latency-q"),
            ],
        },
        {
            "id": "cost",
            "title": "Cost",
            "note": "Cost units per run = seconds + thousands of tokens + 0.5 per model load (RouterV3's scalar).",
            "figures": [
                (F.distribution_figure(cost, colours, "Cost distribution", "cost units"), "fig-cost"),
                (F.quantiles_figure(cost, colours, "Cost percentiles", "cost units"), "fig-cost-q"),
            ],
        },
        {
            "id": "quality",
            "title": "Quality",
            "note": "Quality of a run: the user's rating (mapped to 0..1) when there is feedback, else 0 for a "
            "failure and grounded x (1 - refused) for a success.",
            "figures": [(F.quality_figure(quality), "fig-quality")],
            "tables": [_quality_table(quality)],
        },
        {
            "id": "router",
            "title": "Router",
            "note": f"{conf['runs']:,} routed runs (forced workflows left out). A calibrated router's line rises "
            "from left to right: confident decisions should go well more often.",
            "figures": [(F.confidence_figure(conf), "fig-confidence")]
            + ([(F.confusion_figure(confusion), "fig-confusion")] if confusion.rated else []),
            "tables": []
            if confusion.rated
            else [
                {
                    "caption": "No feedback on routed runs yet: the confusion "
                    "matrix needs feedback records (POST /v1/feedback).",
                    "header": [],
                    "rows": [],
                }
            ],
        },
        {
            "id": "optimise",
            "title": "Cheaper workflows",
            "note": f"A cheaper workflow of the same family is suggested for a question kind when the 95% upper "
            f"bound of its quality shortfall is at most {tolerance:.2f}. Observational (the router chose who ran "
            "what): confirm a switch with forced runs before changing the router.",
            "figures": [(F.kind_scatter_figure(cells, suggestions, colours), "fig-kinds")],
            "tables": [_suggestion_table(suggestions)],
        },
        {
            "id": "lambda",
            "title": "Lambda curve",
            "note": "RouterV3 picks the workflow maximising expected quality - lambda x normalised cost. The curve "
            "replays its scoring over this traffic mix with the costs and quality measured here; the star marks "
            f"lambda={cost_lambda:g}.",
            "figures": [(F.lambda_figure(curve, colours), "fig-lambda")],
        },
        {
            "id": "steps",
            "title": "Slowest steps",
            "figures": [(F.slow_steps_figure(slow["steps"], colours), "fig-steps")] if slow["steps"] else [],
            "tables": [_steps_table(slow["steps"]), _slowest_table(slow["slowest"])],
        },
        {
            "id": "failures",
            "title": "Failures",
            "note": f"{failures['total']:,} failed runs ({1 - ov.success_rate:.2%}).",
            "figures": [(F.failures_figure(failures["by_type"]), "fig-failures")] if failures["total"] else [],
            "tables": [_failures_table(failures["latest"])],
        },
    ]
    cards = [
        ("runs", f"{ov.runs:,}"),
        ("succeeded", _pct(ov.success_rate)),
        ("workflows", str(len(ov.workflows))),
        ("steps executed", f"{ov.step_rows:,}"),
        ("runs with feedback", f"{ov.rated_runs:,}"),
        (
            "p95 latency, all runs",
            f"{float(np.percentile(runs.table.column('latency_ms').to_numpy(), 95)) / 1000:.2f} s",
        ),
        ("cheaper-workflow suggestions", str(len(suggestions))),
    ]
    n_figures = sum(len(s.get("figures", [])) for s in page_sections)
    build_s = time.perf_counter() - t0
    html = render_page(
        title="mm-orch trace report",
        subtitle=f"{ov.runs:,} runs in {ov.files} Parquet files, {_when(ov.first)} to {_when(ov.last)}",
        cards=cards,
        sections=page_sections,
        generated=_when(time.time()),
        build_s=f"{build_s:.1f}",
        source=str(traces),
    )
    out = Path(output)
    _write_atomically(out, html)
    return ReportSummary(out, ov.runs, ov.files, ov.feedback_records, len(suggestions), n_figures,
                         out.stat().st_size, time.perf_counter() - t0)  # fmt: skip


def _write_atomically(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise TracingError(
            f"cannot write the report to {str(path)!r} ({exc}); pass -o with a writable path"
        ) from exc


def _quality_table(quality: dict[str, dict[str, Any]]) -> dict[str, Any]:
    keys = sorted({k for q in quality.values() for k in q.get("signals", {})})
    rows = [
        [w, q["runs"], _pct(q["success_rate"]), _num(q["quality"], 3), q["rated"], _pct(q["positive_share"]),
         _num(q["cost_units"], 2), *(_num(q["signals"].get(k), 3) for k in keys)]
        for w, q in sorted(quality.items())
    ]  # fmt: skip
    header = [
        "workflow",
        "runs",
        "success",
        "quality",
        "rated",
        "positive",
        "cost units",
        *(f"mean {k}" for k in keys),
    ]
    return {
        "caption": "Per workflow, with the mean of every quality signal it reports.",
        "header": header,
        "rows": rows,
    }


def _suggestion_table(suggestions: list[optimise.Suggestion]) -> dict[str, Any]:
    rows = [
        [s.kind, s.instead_of, s.use, _num(s.quality_instead, 3), _num(s.quality_use, 3), _num(s.diff_upper, 3),
         _pct(s.saving_share), s.runs_instead, _num(s.total_saving, 1)]
        for s in suggestions
    ]  # fmt: skip
    caption = "Where a cheaper workflow would have served at equal quality:" if rows else (
        "No cheaper workflow matched the quality of a dearer one on any question kind (or too few runs to tell).")  # fmt: skip
    header = ["question kind", "ran", "cheaper alternative", "quality (ran)", "quality (alternative)",
              "shortfall, 95% upper", "cost saved per run", "runs affected", "cost units saved"]  # fmt: skip
    return {"caption": caption, "header": header if rows else [], "rows": rows}


def _steps_table(steps: list[dict[str, Any]]) -> dict[str, Any]:
    rows = [[r["workflow"], r["step"], r["runs"], _num(r["p50_ms"]), _num(r["p95_ms"]), _num(r["p99_ms"]),
             _pct(r["success_rate"])] for r in steps]  # fmt: skip
    return {
        "caption": "Steps by p95 latency (ms):",
        "header": ["workflow", "step", "executions", "p50", "p95", "p99", "success"],
        "rows": rows,
    }


def _slowest_table(slowest: list[dict[str, Any]]) -> dict[str, Any]:
    rows = [[r["trace_id"], r["workflow"], r["step"], _num(r["latency_ms"])] for r in slowest]
    return {
        "caption": "The slowest single step executions:",
        "header": ["trace id", "workflow", "step", "ms"],
        "rows": rows,
    }


def _failures_table(latest: list[dict[str, Any]]) -> dict[str, Any]:
    rows = [[_when(r["timestamp"]), r["trace_id"], r["workflow"], r["error_type"], (r["error_message"] or "")[:300],
             _num(r["latency_ms"])] for r in latest]  # fmt: skip
    return {"caption": "Latest failures (look a run up by its trace id in the JSONL/Parquet traces):" if rows else "No failures.",
            "header": ["when", "trace id", "workflow", "error", "message", "ms"] if rows else [], "rows": rows}  # fmt: skip
