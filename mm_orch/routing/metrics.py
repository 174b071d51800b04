"""Classification metrics for routers: accuracy, macro-F1 (over workflows and over the five families of
LABELS.md), per-family recall, confusion matrix, expected calibration error."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score

from mm_orch.routing.decision import FAMILIES

__all__ = ["RouterMetrics", "evaluate_predictions", "expected_calibration_error"]


class RouterMetrics(BaseModel):
    """How well a router did on a labelled set."""

    model_config = ConfigDict(extra="forbid")

    n: int = Field(description="Number of evaluated requests.")
    accuracy: float = Field(description="Share of requests routed to their labelled workflow.")
    macro_f1: float = Field(description="Unweighted mean of per-workflow F1.")
    ece: float = Field(description="Expected calibration error of the top-1 confidence (15 equal-width bins).")
    labels: list[str] = Field(description="Row/column order of the confusion matrix.")
    confusion: list[list[int]] = Field(description="confusion[i][j]: true labels[i] routed to labels[j].")
    family_accuracy: float = Field(default=0.0, description="Share routed to a workflow of the right family.")
    family_macro_f1: float = Field(default=0.0, description="Macro-F1 over the five families (the target metric).")
    family_recall: dict[str, float] = Field(default_factory=dict, description="Recall per family present.")


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 15) -> float:
    """Weighted mean |accuracy - confidence| over equal-width confidence bins."""
    if len(confidence) == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.mean() * abs(float(correct[mask].mean()) - float(confidence[mask].mean()))
    return float(total)


def evaluate_predictions(
    y_true: Sequence[str], y_pred: Sequence[str], confidence: Sequence[float], labels: Sequence[str]
) -> RouterMetrics:
    """Metrics for predictions ``y_pred`` (with top-1 ``confidence``) against ``y_true``."""
    t, p = np.asarray(y_true), np.asarray(y_pred)
    conf = np.asarray(confidence, dtype=np.float64)
    label_list = list(labels)
    ft = np.asarray([FAMILIES.get(str(v), str(v)) for v in t.tolist()])
    fp = np.asarray([FAMILIES.get(str(v), str(v)) for v in p.tolist()])
    families = sorted(set(ft.tolist()))
    recall = recall_score(ft, fp, labels=families, average=None, zero_division=0) if len(t) else []
    return RouterMetrics(
        family_accuracy=float(accuracy_score(ft, fp)) if len(t) else 0.0,
        family_macro_f1=float(f1_score(ft, fp, labels=families, average="macro", zero_division=0))
        if len(t)
        else 0.0,
        family_recall={f: round(float(r), 4) for f, r in zip(families, recall, strict=True)},
        n=len(t),
        accuracy=float(accuracy_score(t, p)) if len(t) else 0.0,
        macro_f1=float(f1_score(t, p, labels=label_list, average="macro", zero_division=0)) if len(t) else 0.0,
        ece=expected_calibration_error(conf, t == p),
        labels=label_list,
        confusion=confusion_matrix(t, p, labels=label_list).tolist() if len(t) else [],
    )
