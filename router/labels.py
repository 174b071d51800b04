"""Training labels from outcomes, not from what the old router picked.

A traced run becomes a training example only when its outcome says the workflow was right for the request:

0. the user named the workflow that should have run (a feedback correction) -> that label, weight
   ``forced_weight``, whatever the run's outcome;
1. the run failed, or the user gave negative feedback (``feedback < 0``)   -> no label;
2. the caller forced the workflow (``workflow_forced``) and it succeeded     -> label, weight ``forced_weight``;
3. a routed run succeeded and either got positive feedback (``> 0``) or its quality signals average at least
   ``min_quality``                                                           -> label, weight 1;
4. a routed run that merely succeeded, with no feedback and no quality signals -> no label (that would only
   teach the new router to imitate the old one).

Feedback arrives after the run, in the feedback store (``POST /v1/feedback``, ``mm-orch feedback``):
:func:`feedback_by_trace` folds those records into ``{trace_id: (rating, corrected workflow)}`` (the latest
record of a trace wins) and :func:`apply_feedback` writes them into a batch of trace rows before labelling.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from mm_orch.observability.feedback import FeedbackRecord
from mm_orch.observability.records import WorkflowTrace
from mm_orch.routing.features import context_from_metadata
from mm_orch.routing.training import LabelledExample

__all__ = [
    "Feedback",
    "LabelRule",
    "apply_feedback",
    "feedback_by_trace",
    "label_from_row",
    "label_from_trace",
    "label_table",
]

#: trace_id -> (rating in [-1, 1], the workflow that should have run or None).
Feedback = dict[str, tuple[float, str | None]]


class LabelRule(BaseModel):
    """Thresholds of the outcome-labelling rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_quality: float = Field(default=0.6, ge=0, le=1, description="Mean quality signal a routed run needs.")
    forced_weight: float = Field(default=2.0, gt=0, description="Weight of an explicit, successful choice.")
    feedback_weight: float = Field(default=1.5, gt=0, description="Weight of a run with positive feedback.")


def feedback_by_trace(records: Iterable[FeedbackRecord], workflows: Collection[str] | None = None) -> Feedback:
    """The latest feedback of each trace; a correction naming no known workflow is kept as a rating only."""
    out: Feedback = {}
    for record in sorted(records, key=lambda r: r.created_at):
        workflow = (
            record.workflow if record.workflow and (workflows is None or record.workflow in workflows) else None
        )
        out[record.trace_id] = (record.rating, workflow)
    return out


def apply_feedback(table: pa.Table, feedback: Mapping[str, tuple[float, str | None]]) -> pa.Table:
    """``table`` (trace rows) with the store's feedback written in: ``feedback`` set to the rating, ``workflow``
    replaced by a correction, and a ``corrected`` column marking the corrected rows."""
    n = table.num_rows
    if not feedback or n == 0:
        return table.append_column("corrected", pa.array(np.zeros(n, dtype=bool)))
    ids = table["trace_id"].to_pylist()
    found = [feedback.get(t) if t is not None else None for t in ids]
    old = table["feedback"].to_pylist()
    rating = [f[0] if f is not None else v for f, v in zip(found, old, strict=True)]
    corrected = np.array([bool(f and f[1]) for f in found], dtype=bool)
    workflow = [f[1] if f and f[1] else w for f, w in zip(found, table["workflow"].to_pylist(), strict=True)]
    out = table.set_column(table.schema.get_field_index("feedback"), "feedback", pa.array(rating, pa.float64()))
    out = out.set_column(out.schema.get_field_index("workflow"), "workflow", pa.array(workflow, type=pa.string()))
    return out.append_column("corrected", pa.array(corrected))


def _mean(signals: Mapping[str, float] | None) -> float | None:
    if not signals:
        return None
    vals = [min(max(float(v), 0.0), 1.0) for v in signals.values() if v is not None]
    return sum(vals) / len(vals) if vals else None


def label_from_row(row: Mapping[str, Any], rule: LabelRule | None = None) -> LabelledExample | None:
    """Apply the rule to one trace row (a ``WorkflowTrace`` dict; map columns may be dicts or pair lists)."""
    r = rule or LabelRule()
    question = (row.get("question") or "").strip()
    workflow = row.get("workflow") or ""
    corrected = bool(row.get("corrected", False))
    if not question or not workflow or not (corrected or row.get("success", False)):
        return None
    feedback = row.get("feedback")
    if not corrected and feedback is not None and feedback < 0:
        return None
    signals = row.get("quality_signals")
    metadata = row.get("metadata")
    if isinstance(signals, list):
        signals = dict(signals)
    if isinstance(metadata, list):
        metadata = dict(metadata)
    if corrected or row.get("workflow_forced", False):
        weight = r.forced_weight
    elif feedback is not None and feedback > 0:
        weight = r.feedback_weight
    else:
        quality = _mean(signals)
        if quality is None or quality < r.min_quality:
            return None
        weight = 1.0
    ctx = context_from_metadata(str(row.get("mode") or "default"), metadata)
    return LabelledExample(
        query=question,
        workflow=str(workflow),
        mode=ctx.mode,
        has_collection=ctx.has_collection,
        has_documents=ctx.has_documents,
        history_turns=ctx.history_turns,
        group=str(row.get("trace_id") or ""),
        weight=weight,
    )


def label_from_trace(trace: WorkflowTrace, rule: LabelRule | None = None) -> LabelledExample | None:
    """Apply the rule to one validated trace."""
    return label_from_row(trace.to_row(), rule)


def _map_entries(column: pa.ChunkedArray | pa.Array, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row index, key, value) of every entry of a map column; null maps have no entries."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if len(arr) == 0:
        empty = np.zeros(0)
        return empty.astype(np.int64), empty.astype(object), empty
    if not pa.types.is_map(arr.type):  # e.g. a JSONL reader's struct-less fallback: go row by row
        pairs = [(i, k, v) for i, m in enumerate(arr.to_pylist()) for k, v in (dict(m or {})).items()]
        rows = np.array([p[0] for p in pairs], dtype=np.int64)
        return rows, np.array([p[1] for p in pairs], dtype=object), np.array([p[2] for p in pairs], dtype=object)
    offsets = arr.offsets.to_numpy()
    lo, hi = int(offsets[0]), int(offsets[-1])
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets))
    keys = arr.keys.slice(lo, hi - lo).to_numpy(zero_copy_only=False)
    values = arr.items.slice(lo, hi - lo).to_numpy(zero_copy_only=False)
    return rows, keys, values


def label_table(table: pa.Table, rule: LabelRule | None = None) -> pa.Table:
    """The same rule as :func:`label_from_row`, vectorized over an Arrow table of trace rows.

    Returns the labelled rows only, with columns query, workflow, weight, mode, has_collection, has_documents,
    history_turns. ``tests/router/test_labels.py`` checks it agrees with :func:`label_from_row` row by row.
    """
    r = rule or LabelRule()
    n = table.num_rows
    question = pc.utf8_trim_whitespace(pc.fill_null(table["question"], ""))
    workflow = pc.fill_null(table["workflow"], "")
    success = pc.fill_null(table["success"], False).to_numpy(zero_copy_only=False)
    forced = pc.fill_null(table["workflow_forced"], False).to_numpy(zero_copy_only=False)
    feedback = pc.fill_null(table["feedback"], 0.0).to_numpy(zero_copy_only=False)
    has_text = pc.greater(pc.utf8_length(question), 0).to_numpy(zero_copy_only=False)
    has_wf = pc.greater(pc.utf8_length(workflow), 0).to_numpy(zero_copy_only=False)

    q_rows, _, q_vals = _map_entries(table["quality_signals"], n)
    q_vals = np.clip(np.asarray(q_vals, dtype=np.float64), 0.0, 1.0)
    q_sum = np.bincount(q_rows, weights=q_vals, minlength=n)
    q_cnt = np.bincount(q_rows, minlength=n)
    quality_ok = (q_cnt > 0) & (q_sum >= r.min_quality * np.maximum(q_cnt, 1))

    corrected = (
        pc.fill_null(table["corrected"], False).to_numpy(zero_copy_only=False)
        if "corrected" in table.column_names
        else np.zeros(n, dtype=bool)
    )
    base = success & has_text & has_wf & (feedback >= 0)
    weight = np.where(forced | corrected, r.forced_weight, np.where(feedback > 0, r.feedback_weight, 1.0))
    keep = (base & (forced | (feedback > 0) | quality_ok)) | (corrected & has_text & has_wf)

    m_rows, m_keys, m_vals = _map_entries(table["metadata"], n)
    truthy = np.isin(np.char.lower(np.asarray(m_vals, dtype=str)), ["1", "true", "yes", "y"])
    has_coll = np.zeros(n, dtype=bool)
    has_docs = np.zeros(n, dtype=bool)
    has_coll[m_rows[(m_keys == "has_collection") & truthy]] = True
    has_docs[m_rows[(m_keys == "has_documents") & truthy]] = True
    turns = np.zeros(n, dtype=np.int64)
    hist = m_keys == "history_turns"
    for row, value in zip(m_rows[hist], m_vals[hist], strict=True):
        try:
            turns[row] = max(int(float(value or 0)), 0)
        except ValueError:
            turns[row] = 0
    mode = pc.fill_null(table["mode"], "default")
    mode = pc.if_else(pc.equal(mode, ""), "default", mode)

    idx = pa.array(np.flatnonzero(keep))
    return pa.table(
        {
            "query": question.take(idx),
            "workflow": workflow.take(idx),
            "weight": pa.array(weight[keep], type=pa.float64()),
            "mode": mode.take(idx),
            "has_collection": pa.array(has_coll[keep]),
            "has_documents": pa.array(has_docs[keep]),
            "history_turns": pa.array(turns[keep], type=pa.int64()),
        }
    )
