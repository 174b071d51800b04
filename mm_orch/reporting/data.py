"""The report's numbers: Parquet traces (and feedback records) reduced with pyarrow compute, never row by row.

:func:`load_runs` reads only the columns the report needs, joins the feedback records on ``trace_id`` and derives
one row per run of plain columns (latency, cost units, question kind, quality). Every aggregate below is an Arrow
``group_by`` (with t-digest quantiles) or a numpy reduction over those columns.

Definitions, stated once (docs/observability.md repeats them):

* cost units of a run: ``latency_s + tokens / 1000 + 0.5 * model_loads``, the scalar of
  :meth:`mm_orch.routing.costs.WorkflowCost.units`;
* quality of a run: the user's rating mapped to 0..1 when there is feedback; otherwise 0 for a failed run, else
  the ``grounded`` signal (1 when the workflow reports none) times ``1 - refused``;
* question kind: the question's first word (what, who, when, where, which, how, why; is/are/does/... -> yes/no;
  anything else -> other).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pds

from mm_orch.exceptions import TracingError
from mm_orch.observability.arrow_schema import trace_arrow_schema
from mm_orch.observability.feedback import read_feedback

__all__ = ["KINDS", "NoTracesError", "Runs", "find_parquet", "load_runs", "quantiles_by"]

_COLUMNS = [
    "trace_id", "timestamp", "question", "workflow", "workflow_forced", "router_version", "router_confidence",
    "success", "error_type", "error_message", "steps", "quality_signals", "feedback", "cost",
]  # fmt: skip
KINDS = ("what", "who", "when", "where", "which", "how", "why", "yes/no", "other")
_YES_NO = ("is", "are", "does", "do", "can", "was", "were", "did", "will", "should", "could", "has", "have")


class NoTracesError(TracingError):
    """The folder holds no Parquet traces to report on."""


def find_parquet(path: str | Path) -> list[Path]:
    """The Parquet trace files under ``path`` (a file or a folder searched recursively; hidden/_ names skipped)."""
    root = Path(path)
    if root.is_file():
        if root.suffix != ".parquet":
            raise NoTracesError(f"{str(root)!r} is not a Parquet file; pass the trace folder (e.g. data/traces).")
        return [root]
    if not root.is_dir():
        raise NoTracesError(
            f"Trace folder {str(root)!r} does not exist. Pass the folder the tracer writes (data/traces by default)."
        )
    files = sorted(
        p
        for p in root.rglob("*.parquet")
        if p.is_file() and not any(part.startswith((".", "_")) for part in p.relative_to(root).parts)
    )
    if not files:
        jsonl = sorted(root.rglob("*.jsonl"))
        hint = (
            f" It holds JSONL traces ({jsonl[0]}); the report reads the Parquet sink: keep the tracer's parquet "
            "option on (the default) and point the report at the folder holding parquet/."
            if jsonl
            else ' Run some requests with tracing on first (mm-orch --phase-b --trace "...", or the Serve app).'
        )
        raise NoTracesError(f"No Parquet traces under {str(root)!r}.{hint}")
    return files


@dataclass
class Runs:
    """One row per run (``table``), one row per executed step (``steps``) and one per quality signal
    (``signals``: workflow, key, value), plain columns only."""

    table: pa.Table
    steps: pa.Table
    signals: pa.Table
    files: int
    feedback_records: int


def _question_kind(question: pa.ChunkedArray) -> pa.Array:
    first = pc.struct_field(pc.extract_regex(pc.utf8_lower(question), r"^\W*(?P<w>[a-z]+)"), "w")
    first = pc.fill_null(first, "")
    kind = pc.if_else(pc.is_in(first, pa.array(KINDS[:7])), first, pa.scalar("other"))
    return pc.if_else(pc.is_in(first, pa.array(_YES_NO)), pa.scalar("yes/no"), kind)


def _signal(signals: pa.ChunkedArray, key: str) -> pa.Array:
    return pc.map_lookup(signals, pa.scalar(key), "first")


def _feedback_table(path: Path | None) -> pa.Table:
    records = read_feedback(path) if path is not None else []
    if not records:
        return pa.table({"trace_id": pa.array([], pa.string()), "fb_rating": pa.array([], pa.float64()),
                         "fb_workflow": pa.array([], pa.string())})  # fmt: skip
    latest: dict[str, tuple[float, float, str | None]] = {}
    for r in records:  # the latest record per run wins (feedback is sparse: thousands, not millions)
        if r.trace_id not in latest or r.created_at >= latest[r.trace_id][0]:
            latest[r.trace_id] = (r.created_at, r.rating, r.workflow)
    return pa.table(
        {
            "trace_id": pa.array(list(latest), pa.string()),
            "fb_rating": pa.array([v[1] for v in latest.values()], pa.float64()),
            "fb_workflow": pa.array([v[2] for v in latest.values()], pa.string()),
        }
    )


def load_runs(path: str | Path, feedback: str | Path | None = None) -> Runs:
    """Read every Parquet trace under ``path`` and the feedback under ``feedback`` (default: ``<path>/feedback``)."""
    files = find_parquet(path)
    raw = pds.dataset([str(f) for f in files], schema=trace_arrow_schema(), format="parquet").to_table(
        columns=_COLUMNS
    )
    if raw.num_rows == 0:
        raise NoTracesError(f"The Parquet traces under {str(path)!r} hold no runs yet.")
    fb_path = Path(feedback) if feedback is not None else Path(path) / "feedback"
    fb = _feedback_table(fb_path if fb_path.exists() else None)
    cost = raw.column("cost")
    latency = pc.struct_field(cost, "latency_ms")
    tokens = pc.struct_field(cost, "tokens")
    loads = pc.struct_field(cost, "model_loads")
    units = pc.add(pc.add(pc.divide(latency, 1000.0), pc.divide(pc.cast(tokens, pa.float64()), 1000.0)),
                   pc.multiply(pc.cast(loads, pa.float64()), 0.5))  # fmt: skip
    signals = raw.column("quality_signals")
    grounded = pc.fill_null(_signal(signals, "grounded"), 1.0)
    refused = pc.fill_null(_signal(signals, "refused"), 0.0)
    runs = pa.table(
        {
            "trace_id": raw.column("trace_id"),
            "timestamp": raw.column("timestamp"),
            "workflow": raw.column("workflow"),
            "forced": raw.column("workflow_forced"),
            "router": pc.fill_null(raw.column("router_version"), "none"),
            "confidence": raw.column("router_confidence"),
            "success": raw.column("success"),
            "error_type": raw.column("error_type"),
            "error_message": raw.column("error_message"),
            "latency_ms": latency,
            "tokens": tokens,
            "model_loads": loads,
            "cost_units": units,
            "kind": _question_kind(raw.column("question")),
            "signal_quality": pc.if_else(
                raw.column("success"), pc.multiply(grounded, pc.subtract(1.0, refused)), pa.scalar(0.0)
            ),
            "trace_feedback": raw.column("feedback"),
        }
    )
    runs = runs.join(fb, keys="trace_id", join_type="left outer")
    rating = pc.coalesce(runs.column("fb_rating"), runs.column("trace_feedback"))
    quality = pc.coalesce(pc.divide(pc.add(rating, 1.0), 2.0), runs.column("signal_quality"))
    runs = runs.append_column("rating", rating).append_column("quality", quality)
    return Runs(runs.combine_chunks(), _steps(raw), _signals(raw), len(files), fb.num_rows)


def _steps(raw: pa.Table) -> pa.Table:
    steps = raw.column("steps").combine_chunks()
    parents = pc.list_parent_indices(steps)
    flat = pc.list_flatten(steps)
    return pa.table(
        {
            "workflow": raw.column("workflow").combine_chunks().take(parents),
            "trace_id": raw.column("trace_id").combine_chunks().take(parents),
            "step": pc.struct_field(flat, "step_name"),
            "latency_ms": pc.struct_field(flat, "latency_ms"),
            "success": pc.struct_field(flat, "success"),
        }
    )


def _signals(raw: pa.Table) -> pa.Table:
    signals = raw.column("quality_signals").combine_chunks()
    offsets = signals.offsets.to_numpy()
    parents = np.repeat(np.arange(len(signals)), np.diff(offsets))
    return pa.table(
        {
            "workflow": raw.column("workflow").combine_chunks().take(pa.array(parents)),
            "key": signals.keys.slice(int(offsets[0]), int(offsets[-1] - offsets[0])),
            "value": signals.items.slice(int(offsets[0]), int(offsets[-1] - offsets[0])),
        }
    )


def quantiles_by(
    table: pa.Table, keys: list[str], column: str, q: list[float]
) -> dict[tuple[str, ...], list[float]]:
    """t-digest quantiles ``q`` of ``column`` per group of ``keys``."""
    grouped = table.group_by(keys).aggregate([(column, "tdigest", pc.TDigestOptions(q=q))])
    values = grouped.column(f"{column}_tdigest").to_pylist()
    groups = zip(*(grouped.column(k).to_pylist() for k in keys), strict=True)
    return {tuple(g): [float(x) for x in v] for g, v in zip(groups, values, strict=True)}


def as_numpy(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A numeric column as float64 numpy (nulls -> nan)."""
    return pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
