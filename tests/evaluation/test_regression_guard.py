"""CI's answer-quality regression guard: a small fixed dev subset end to end through the Phase B orchestrator
with the real embedded models (SmolLM2-135M, all-MiniLM-L6-v2) and the real corpus, scored by the same code as
``python -m mm_orch.evaluation``. The floors sit just below what this subset measured (docs/quality.md), so a
change that breaks retrieval, bridging, comparisons or refusals fails here. Dev split only: the held-out test
split is never used for tuning or guarding.
"""

from __future__ import annotations

from typing import Any

import pytest

from mm_orch.evaluation.dataset import first_per_kind, load_questions, split_paths
from mm_orch.evaluation.report import GroupRow, aggregate
from mm_orch.evaluation.runner import EvalConfig, build_orchestrator, run_questions
from mm_orch.paths import resource_path

pytestmark = pytest.mark.integration

PER_KIND = 5  # the first five dev questions of each kind: 20 questions, about a minute on two cores
# group -> metric -> floor: what this subset measured minus about one question's worth (a kind has five)
FLOORS: dict[str, dict[str, float]] = {  # measured at cecad3f: docs/quality.md, "the CI regression guard"
    "single": {"recall": 0.8, "cited": 0.8, "contains": 0.8},  # measured 1.0 / 1.0 / 1.0
    "bridge": {"recall": 0.8, "cited": 0.6, "contains": 0.4},  # measured 1.0 / 0.8 / 0.6
    "comparison": {"recall": 0.8, "cited": 0.2, "contains": 0.6},  # measured 1.0 / 0.4 / 0.8
    "unanswerable": {"refusal_recall": 0.2},  # measured 0.4
    "answerable": {"cited": 0.6, "contains": 0.66},  # measured 0.733 / 0.8
}


@pytest.fixture(scope="module")
def rows() -> dict[str, GroupRow]:
    config = EvalConfig(targets=["default"], limit=PER_KIND)
    qa_path, _ = split_paths("dev", resource_path("data/eval"))
    questions = first_per_kind(load_questions(qa_path), PER_KIND)
    orchestrator: Any = build_orchestrator(config)
    try:
        results = run_questions(orchestrator, questions, config)
    finally:
        orchestrator.close()
    assert len(results) == 4 * PER_KIND
    assert not [r for r in results if r.error]
    return {row.group: row for row in aggregate(results)}


@pytest.mark.parametrize("group", sorted(FLOORS))
def test_quality_stays_above_the_measured_floor(rows: dict[str, GroupRow], group: str) -> None:
    row = rows[group]
    for metric, floor in FLOORS[group].items():
        value = getattr(row, metric)
        assert value is not None, f"{group} {metric} was not measured"
        assert value >= floor, f"{group} {metric} = {value}, floor {floor}"


def test_refusals_stay_precise(rows: dict[str, GroupRow]) -> None:
    row = rows["answerable"]
    assert row.refused <= 0.15, f"answerable questions refused: {row.refused}"
