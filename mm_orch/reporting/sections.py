"""The report's sections as small, plain results: each function reduces :class:`~mm_orch.reporting.data.Runs`
with Arrow ``group_by``/``select_k`` or numpy ``bincount`` (never a Python loop over rows), so the output is a
few hundred numbers whatever the trace volume -- what the page embeds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mm_orch.reporting.data import Runs, as_numpy, quantiles_by

__all__ = [
    "Binned",
    "Confusion",
    "Overview",
    "binned_by_workflow",
    "confidence_section",
    "confusion_section",
    "failures_section",
    "overview_section",
    "quality_section",
    "slow_steps_section",
    "volume_over_time",
]

QUANTILES = [0.5, 0.9, 0.95, 0.99]
UNKNOWN_RIGHT = "(wrong; none named)"


@dataclass
class Overview:
    """Headline numbers."""

    runs: int
    files: int
    first: float
    last: float
    success_rate: float
    feedback_records: int
    rated_runs: int
    workflows: list[str]
    step_rows: int


@dataclass
class Binned:
    """Counts of a value per workflow over shared bins (``counts[i][j]``: workflow i, bin j) and quantiles."""

    edges: list[float]
    workflows: list[str]
    counts: list[list[int]]
    quantiles: dict[str, list[float]] = field(default_factory=dict)  # workflow -> QUANTILES values
    means: dict[str, float] = field(default_factory=dict)


@dataclass
class Confusion:
    """Runs the router chose (rows) against the workflow feedback says was right (columns)."""

    chosen: list[str]
    right: list[str]
    counts: list[list[int]]
    rated: int
    agreement: float | None


def _codes(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, list[str]]:
    """Integer codes and the sorted distinct values of a string column (nulls -> 'none')."""
    values = pc.fill_null(column, "none")
    names = sorted(pc.unique(values).to_pylist())
    codes = pc.index_in(values, value_set=pa.array(names, pa.string()))
    return as_numpy(codes).astype(np.int64), names


def overview_section(runs: Runs) -> Overview:
    t = runs.table
    ts = pc.min_max(t.column("timestamp")).as_py()
    return Overview(
        runs=t.num_rows,
        files=runs.files,
        first=float(ts["min"]),
        last=float(ts["max"]),
        success_rate=float(pc.mean(pc.cast(t.column("success"), pa.float64())).as_py() or 0.0),
        feedback_records=runs.feedback_records,
        rated_runs=int(pc.count(t.column("rating")).as_py()),
        workflows=sorted(pc.unique(t.column("workflow")).to_pylist()),
        step_rows=runs.steps.num_rows,
    )


def volume_over_time(runs: Runs, bins: int = 48) -> Binned:
    """Runs per workflow in ``bins`` equal time slices (edges are Unix seconds)."""
    t = runs.table
    ts = as_numpy(t.column("timestamp"))
    lo, hi = float(ts.min()), float(ts.max())
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
    return _bin(t.column("workflow"), ts, edges)


def binned_by_workflow(table: pa.Table, column: str, edges: np.ndarray) -> Binned:
    """Counts of ``column`` per workflow over ``edges`` (values outside go to the end bins), with quantiles
    and means per workflow."""
    out = _bin(table.column("workflow"), as_numpy(table.column(column)), edges)
    out.quantiles = {k[0]: v for k, v in quantiles_by(table, ["workflow"], column, QUANTILES).items()}
    means = table.group_by("workflow").aggregate([(column, "mean")])
    out.means = dict(
        zip(means.column("workflow").to_pylist(), means.column(f"{column}_mean").to_pylist(), strict=True)
    )
    return out


def _bin(workflow: pa.ChunkedArray, values: np.ndarray, edges: np.ndarray) -> Binned:
    codes, names = _codes(workflow)
    nb = len(edges) - 1
    idx = np.clip(np.searchsorted(edges, np.nan_to_num(values, nan=edges[0]), side="right") - 1, 0, nb - 1)
    counts = np.bincount(codes * nb + idx, minlength=len(names) * nb).reshape(len(names), nb)
    return Binned([float(e) for e in edges], names, counts.tolist())


def quality_section(runs: Runs) -> dict[str, dict[str, Any]]:
    """Per workflow: runs, success rate, mean quality, rated runs, share of positive ratings, mean cost units,
    and the mean of every quality signal the workflow reports."""
    t = runs.table.append_column("positive", pc.greater(runs.table.column("rating"), 0.0))
    g = t.group_by("workflow").aggregate(
        [
            ("workflow", "count"),
            ("success", "mean"),
            ("quality", "mean"),
            ("rating", "count"),
            ("positive", "mean"),
            ("cost_units", "mean"),
            ("latency_ms", "mean"),
        ]
    )
    out: dict[str, dict[str, Any]] = {}
    for row in g.to_pylist():
        out[row["workflow"]] = {
            "runs": row["workflow_count"],
            "success_rate": row["success_mean"],
            "quality": row["quality_mean"],
            "rated": row["rating_count"],
            "positive_share": row["positive_mean"],
            "cost_units": row["cost_units_mean"],
            "latency_ms": row["latency_ms_mean"],
            "signals": {},
        }
    if runs.signals.num_rows:
        s = runs.signals.group_by(["workflow", "key"]).aggregate([("value", "mean")])
        for wf, key, value in zip(
            *(s.column(c).to_pylist() for c in ("workflow", "key", "value_mean")), strict=True
        ):
            out.setdefault(wf, {"signals": {}})["signals"][key] = value
    return out


def confidence_section(runs: Runs, bins: int = 20) -> dict[str, Any]:
    """Confidence histograms per router version (forced runs left out) and, per confidence bin, the mean
    quality of the runs it routed (a reliability curve)."""
    t = runs.table.filter(
        pc.and_(pc.invert(runs.table.column("forced")), pc.is_valid(runs.table.column("confidence")))
    )
    edges = np.linspace(0.0, 1.0, bins + 1)
    if t.num_rows == 0:
        return {"edges": edges.tolist(), "routers": [], "counts": [], "quality": [], "runs": 0}
    conf = as_numpy(t.column("confidence"))
    idx = np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, bins - 1)
    codes, routers = _codes(t.column("router"))
    counts = np.bincount(codes * bins + idx, minlength=len(routers) * bins).reshape(len(routers), bins)
    per_bin = np.bincount(idx, minlength=bins)
    q_sum = np.bincount(idx, weights=np.nan_to_num(as_numpy(t.column("quality"))), minlength=bins)
    quality = np.where(per_bin > 0, q_sum / np.maximum(per_bin, 1), np.nan)
    mix = t.group_by(["router", "workflow"]).aggregate([("workflow", "count")])
    return {
        "edges": edges.tolist(),
        "routers": routers,
        "counts": counts.tolist(),
        "quality": [None if np.isnan(q) else float(q) for q in quality],
        "bin_runs": per_bin.tolist(),
        "runs": t.num_rows,
        "mix": [
            (r, w, n)
            for r, w, n in zip(
                *(mix.column(c).to_pylist() for c in ("router", "workflow", "workflow_count")), strict=True
            )
        ],
    }


def confusion_section(runs: Runs) -> Confusion:
    """Routed (not forced) runs with feedback: the workflow chosen against the one feedback says was right --
    its ``workflow`` field when given, else the chosen one for a non-negative rating, else 'wrong; none named'."""
    t = runs.table.filter(
        pc.and_(pc.invert(runs.table.column("forced")), pc.is_valid(runs.table.column("rating")))
    )
    if t.num_rows == 0:
        return Confusion([], [], [], 0, None)
    chosen = t.column("workflow")
    named = t.column("fb_workflow")
    fallback = pc.if_else(pc.greater_equal(t.column("rating"), 0.0), chosen, pa.scalar(UNKNOWN_RIGHT))
    right = pc.coalesce(named, fallback)
    c_codes, c_names = _codes(chosen)
    r_codes, r_names = _codes(right)
    counts = np.bincount(c_codes * len(r_names) + r_codes, minlength=len(c_names) * len(r_names))
    agree = float(pc.mean(pc.cast(pc.equal(chosen, right), pa.float64())).as_py() or 0.0)
    return Confusion(c_names, r_names, counts.reshape(len(c_names), len(r_names)).tolist(), t.num_rows, agree)


def slow_steps_section(runs: Runs, top: int = 15, slowest: int = 12) -> dict[str, Any]:
    """The ``top`` (workflow, step) pairs by p95 latency, and the ``slowest`` single step executions."""
    s = runs.steps
    if s.num_rows == 0:
        return {"steps": [], "slowest": []}
    g = s.group_by(["workflow", "step"]).aggregate(
        [("latency_ms", "count"), ("latency_ms", "mean"), ("latency_ms", "tdigest", pc.TDigestOptions(q=QUANTILES)),
         ("success", "mean")]
    )  # fmt: skip
    rows = []
    for wf, step, n, mean, qs, ok in zip(
        *(g.column(c).to_pylist() for c in ("workflow", "step", "latency_ms_count", "latency_ms_mean",
                                              "latency_ms_tdigest", "success_mean")),
        strict=True,
    ):  # fmt: skip
        rows.append({"workflow": wf, "step": step, "runs": n, "mean_ms": mean, "p50_ms": qs[0], "p95_ms": qs[2],
                     "p99_ms": qs[3], "success_rate": ok})  # fmt: skip
    rows.sort(key=lambda r: -r["p95_ms"])
    worst = pc.select_k_unstable(s, k=min(slowest, s.num_rows), sort_keys=[("latency_ms", "descending")])
    return {
        "steps": rows[:top],
        "slowest": s.take(worst).select(["trace_id", "workflow", "step", "latency_ms"]).to_pylist(),
    }


def failures_section(runs: Runs, latest: int = 50) -> dict[str, Any]:
    """Failures by workflow and error type, and the ``latest`` failed runs with their trace ids."""
    t = runs.table
    failed = t.filter(pc.invert(t.column("success")))
    if failed.num_rows == 0:
        return {"total": 0, "by_type": [], "latest": []}
    failed = failed.set_column(
        failed.schema.get_field_index("error_type"),
        "error_type",
        pc.fill_null(failed.column("error_type"), "unknown"),
    )
    g = failed.group_by(["workflow", "error_type"]).aggregate([("trace_id", "count")])
    by_type = sorted(
        zip(*(g.column(c).to_pylist() for c in ("workflow", "error_type", "trace_id_count")), strict=True),
        key=lambda r: -r[2],
    )
    order = pc.select_k_unstable(failed, k=min(latest, failed.num_rows), sort_keys=[("timestamp", "descending")])
    cols = ["timestamp", "trace_id", "workflow", "error_type", "error_message", "latency_ms"]
    return {"total": failed.num_rows, "by_type": by_type, "latest": failed.take(order).select(cols).to_pylist()}
