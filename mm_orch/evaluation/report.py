"""Aggregate per-question results into rows per target and kind, and print them as one table.

Groups: ``single``, ``bridge``, ``comparison``, ``two-hop`` (bridge + comparison), ``unanswerable`` and
``answerable`` (every kind but unanswerable: the "overall" answer figures). Answer metrics are over answerable
questions; refusal precision and recall are over all questions of the target (a refusal of an answerable
question is a false refusal).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from mm_orch.evaluation.runner import PromptResult, QuestionResult

__all__ = ["GroupRow", "PromptRow", "aggregate", "aggregate_prompts", "format_prompt_table", "format_table"]

GROUPS: dict[str, tuple[str, ...]] = {
    "single": ("single",),
    "bridge": ("bridge",),
    "comparison": ("comparison",),
    "two-hop": ("bridge", "comparison"),
    "unanswerable": ("unanswerable",),
    "answerable": ("single", "bridge", "comparison"),
}


class GroupRow(BaseModel):
    """The metrics of one target on one group of questions."""

    model_config = ConfigDict(extra="forbid")

    target: str
    group: str
    n: int
    recall: float | None = Field(description="Needed gold articles retrieved (the citation ceiling).")
    cited: float | None = Field(description="Answer-bearing gold article cited (comparison: both sides).")
    contains: float | None = Field(description="A gold answer occurs in the answer text.")
    exact: float | None = Field(description="Headline equals a gold answer.")
    f1: float | None = Field(description="Mean token F1 of the headline.")
    from_model: float = Field(description="Share of replies whose headline came from the model.")
    refused: float = Field(description="Share of replies that refused.")
    refusal_precision: float | None = Field(description="Refusals that were of unanswerable questions.")
    refusal_recall: float | None = Field(description="Unanswerable questions that were refused.")
    p50_ms: float
    p95_ms: float
    errors: int
    workflows: dict[str, int] = Field(default_factory=dict, description="Workflow -> questions it answered.")


class PromptRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: str
    kind: str
    n: int
    passed: float = Field(description="Share of prompts passing every check.")
    checks: float = Field(description="Share of all checks passed.")
    p50_ms: float
    errors: int


def _mean(values: Sequence[bool | float]) -> float | None:
    return round(sum(float(v) for v in values) / len(values), 3) if values else None


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))], 1)


def aggregate(results: Sequence[QuestionResult]) -> list[GroupRow]:
    """One row per (target, group) that has questions."""
    rows = []
    for target in dict.fromkeys(r.target for r in results):
        mine = [r for r in results if r.target == target]
        refusals = [r for r in mine if r.refused]
        unanswerable = [r for r in mine if r.kind == "unanswerable"]
        precision = _mean([r.kind == "unanswerable" for r in refusals])
        recall = _mean([r.refused for r in unanswerable])
        for group, kinds in GROUPS.items():
            sel = [r for r in mine if r.kind in kinds]
            if not sel:
                continue
            answerable = [r for r in sel if r.kind != "unanswerable"]
            latencies = [r.latency_ms for r in sel]
            workflows: dict[str, int] = {}
            for r in sel:
                workflows[r.workflow or "?"] = workflows.get(r.workflow or "?", 0) + 1
            rows.append(
                GroupRow(
                    target=target,
                    group=group,
                    n=len(sel),
                    recall=_mean([r.recall for r in answerable]),
                    cited=_mean([r.cited for r in answerable]),
                    contains=_mean([r.contains for r in answerable]),
                    exact=_mean([r.exact for r in answerable]),
                    f1=_mean([r.f1 for r in answerable]),
                    from_model=_mean([r.from_model for r in sel]) or 0.0,
                    refused=_mean([r.refused for r in sel]) or 0.0,
                    refusal_precision=precision if group in ("unanswerable", "answerable") else None,
                    refusal_recall=recall if group in ("unanswerable", "answerable") else None,
                    p50_ms=round(statistics.median(latencies), 1),
                    p95_ms=_percentile(latencies, 0.95),
                    errors=sum(bool(r.error) for r in sel),
                    workflows=workflows,
                )
            )
    return rows


def aggregate_prompts(results: Sequence[PromptResult]) -> list[PromptRow]:
    rows = []
    for target in dict.fromkeys(r.target for r in results):
        for kind in ("lesson", "chat"):
            sel = [r for r in results if r.target == target and r.kind == kind]
            if not sel:
                continue
            checks = [v for r in sel for v in r.checks.values()]
            rows.append(
                PromptRow(
                    target=target,
                    kind=kind,
                    n=len(sel),
                    passed=_mean([r.passed for r in sel]) or 0.0,
                    checks=_mean(checks) or 0.0,
                    p50_ms=round(statistics.median(r.latency_ms for r in sel), 1),
                    errors=sum(bool(r.error) for r in sel),
                )
            )
    return rows


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


_COLUMNS = ("target", "group", "n", "recall", "cited", "contains", "exact", "F1", "model", "refused", "ref.P",
            "ref.R", "p50 ms", "p95 ms", "err")  # fmt: skip


def format_table(rows: Sequence[GroupRow], *, markdown: bool = False) -> str:
    """The question table, plain text or Markdown."""
    cells = [
        [r.target, r.group, str(r.n), _cell(r.recall), _cell(r.cited), _cell(r.contains), _cell(r.exact),
         _cell(r.f1), _cell(r.from_model), _cell(r.refused), _cell(r.refusal_precision),
         _cell(r.refusal_recall), f"{r.p50_ms:.0f}", f"{r.p95_ms:.0f}", str(r.errors)]
        for r in rows
    ]  # fmt: skip
    return _render(list(_COLUMNS), cells, markdown)


def format_prompt_table(rows: Sequence[PromptRow], *, markdown: bool = False) -> str:
    """The lesson/chat structure table."""
    cells = [
        [r.target, r.kind, str(r.n), _cell(r.passed), _cell(r.checks), f"{r.p50_ms:.0f}", str(r.errors)]
        for r in rows
    ]
    return _render(["target", "kind", "n", "all checks", "checks", "p50 ms", "err"], cells, markdown)


def _render(head: list[str], cells: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(row) + " |" for row in cells]
        return "\n".join(lines)
    widths = [max(len(h), *(len(row[i]) for row in cells)) if cells else len(h) for i, h in enumerate(head)]
    fmt = "  ".join(f"{{:<{w}}}" if i < 2 else f"{{:>{w}}}" for i, w in enumerate(widths))
    lines = [fmt.format(*head), "-" * (sum(widths) + 2 * (len(widths) - 1))]
    return "\n".join([*lines, *(fmt.format(*row) for row in cells)])
