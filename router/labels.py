"""Training labels from outcomes, not from what the old router picked.

A traced run becomes a training example only when its outcome says the workflow was right for the request:

1. the run failed, or the user gave negative feedback (``feedback < 0``)   -> no label;
2. the caller forced the workflow (``workflow_forced``) and it succeeded     -> label, weight ``forced_weight``;
3. a routed run succeeded and either got positive feedback (``> 0``) or its quality signals average at least
   ``min_quality``                                                           -> label, weight 1;
4. a routed run that merely succeeded, with no feedback and no quality signals -> no label (that would only
   teach the new router to imitate the old one).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mm_orch.observability.records import WorkflowTrace
from mm_orch.routing.features import context_from_metadata
from mm_orch.routing.training import LabelledExample

__all__ = ["LabelRule", "label_from_row", "label_from_trace"]


class LabelRule(BaseModel):
    """Thresholds of the outcome-labelling rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_quality: float = Field(default=0.6, ge=0, le=1, description="Mean quality signal a routed run needs.")
    forced_weight: float = Field(default=2.0, gt=0, description="Weight of an explicit, successful choice.")
    feedback_weight: float = Field(default=1.5, gt=0, description="Weight of a run with positive feedback.")


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
    if not question or not workflow or not row.get("success", False):
        return None
    feedback = row.get("feedback")
    if feedback is not None and feedback < 0:
        return None
    signals = row.get("quality_signals")
    metadata = row.get("metadata")
    if isinstance(signals, list):
        signals = dict(signals)
    if isinstance(metadata, list):
        metadata = dict(metadata)
    if row.get("workflow_forced", False):
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
