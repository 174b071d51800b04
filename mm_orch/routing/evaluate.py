"""Scoring routers on a labelled set in aggregate: the validation split and the independent held-out set.

Everything here returns or prints *aggregates only* (accuracy, macro-F1 over workflows and over the five
families, per-family precision/recall, ECE, abstention share): the held-out file
(data/router/requests/heldout.jsonl) may be scored but never looked at line by line, so no function here
returns a per-request prediction for it. ``benchmarks/bench_routing.py --split heldout`` and the CI floor
(``tests/routing/test_heldout_floor.py``) go through :func:`score`.

:func:`seen_in_training` marks held-out requests whose word-token set equals a training request's (a handful
of short greetings such as "thanks!" exist in both, written independently); figures are reported with and
without them so nobody mistakes a memorised greeting for generalisation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

from mm_orch.routing.dataset import LabelledExample
from mm_orch.routing.decision import FAMILIES, WORKFLOWS, Router
from mm_orch.routing.metrics import RouterMetrics, evaluate_predictions, expected_calibration_error

__all__ = ["FAMILY_ORDER", "Score", "format_score", "header", "score", "seen_in_training", "token_set"]

FAMILY_ORDER: tuple[str, ...] = ("search", "multi_hop", "rag", "lesson", "chat")
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def token_set(text: str) -> frozenset[str]:
    """The lower-cased word tokens of ``text`` as a set (punctuation and order ignored)."""
    return frozenset(_TOKEN.findall(text.lower()))


def seen_in_training(examples: Sequence[LabelledExample], train: Sequence[LabelledExample]) -> list[bool]:
    """For each of ``examples``: is its token set equal to the token set of some training request?"""
    known = {token_set(e.query) for e in train}
    return [token_set(e.query) in known for e in examples]


@dataclass(frozen=True)
class Score:
    """Aggregate quality of one router on one labelled set."""

    metrics: RouterMetrics
    family_precision: dict[str, float]
    abstained: float
    sources: dict[str, int] = field(default_factory=dict)
    #: ECE of the model's top probability before temperature calibration (None for rules-only routers).
    ece_uncalibrated: float | None = None

    @property
    def worst_family(self) -> tuple[str, float]:
        """The family with the lowest recall, and that recall."""
        return min(self.metrics.family_recall.items(), key=lambda kv: kv[1])


def score(router: Router, examples: Sequence[LabelledExample], mask: Sequence[bool] | None = None) -> Score:
    """Route every example (``mask``: only those marked True) and return aggregate metrics only."""
    chosen = [e for e, keep in zip(examples, mask or [True] * len(examples), strict=True) if keep]
    decisions = [router.route(e.to_request()) for e in chosen]
    truth = [e.workflow for e in chosen]
    pred = [d.workflow for d in decisions]
    labels = sorted(set(WORKFLOWS) | set(truth))
    metrics = evaluate_predictions(truth, pred, [d.confidence for d in decisions], labels)
    ft = [FAMILIES.get(w, w) for w in truth]
    fp = [FAMILIES.get(w, w) for w in pred]
    families = [f for f in FAMILY_ORDER if f in set(ft)]
    precision, _, _, _ = precision_recall_fscore_support(ft, fp, labels=families, zero_division=0)
    sources: dict[str, int] = {}
    for d in decisions:
        sources[d.source] = sources.get(d.source, 0) + 1
    raw = [next(iter(d.explanation.uncalibrated.items()), None) if d.explanation else None for d in decisions]
    ece_raw = None
    if raw and all(r is not None for r in raw):
        top = [r for r in raw if r is not None]
        ece_raw = expected_calibration_error(
            np.asarray([p for _, p in top]), np.asarray([w == t for (w, _), t in zip(top, truth, strict=True)])
        )
    return Score(
        metrics=metrics,
        family_precision={f: round(float(p), 4) for f, p in zip(families, precision, strict=True)},
        abstained=float(np.mean([d.abstained for d in decisions])) if decisions else 0.0,
        sources=dict(sorted(sources.items())),
        ece_uncalibrated=ece_raw,
    )


def format_score(name: str, s: Score) -> str:
    """One table row: name, n, accuracy, workflow/family macro-F1, ECE, abstained, per-family recall."""
    m = s.metrics
    recalls = " ".join(f"{m.family_recall.get(f, float('nan')):>6.3f}" for f in FAMILY_ORDER)
    return (
        f"{name:<24} {m.n:>4} {m.accuracy:>6.3f} {m.macro_f1:>6.3f} {m.family_macro_f1:>6.3f} {m.ece:>6.3f} "
        f"{s.abstained:>6.3f}  {recalls}"
    )


def header() -> str:
    """The column names of :func:`format_score`."""
    fams = " ".join(f"{f[:6]:>6}" for f in FAMILY_ORDER)
    return f"{'router':<24} {'n':>4} {'acc':>6} {'wfF1':>6} {'famF1':>6} {'ECE':>6} {'abst':>6}  {fams}"
