"""Per-workflow cost and quality statistics for cost-aware routing (RouterV3).

Built-in priors describe the seven workflows on the embedded CPU defaults; :meth:`CostTable.from_traces`
blends them with what traces measured (``prior_weight`` pseudo-runs of the prior per workflow), so a workflow
with few traces keeps sensible numbers. Swappable: anything with :meth:`CostTable.get` works.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from mm_orch.observability.records import WorkflowTrace

__all__ = ["DEFAULT_COSTS", "CostTable", "WorkflowCost"]


class WorkflowCost(BaseModel):
    """Expected cost and quality of one workflow."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: float = Field(ge=0, description="Mean wall time per run.")
    tokens: float = Field(default=0.0, ge=0, description="Mean generated tokens per run.")
    model_loads: float = Field(default=0.0, ge=0, description="Mean model loads per run.")
    success_rate: float = Field(default=1.0, ge=0, le=1, description="Share of runs that succeeded.")
    quality: float = Field(default=1.0, ge=0, le=1, description="Mean quality signal of successful runs.")
    cites_sources: bool = Field(default=False, description="Answers carry citations.")
    runs: int = Field(default=0, ge=0, description="Traced runs behind these numbers (0: prior only).")

    def units(self) -> float:
        """Cost in one scalar: seconds + thousands of tokens + half a unit per model load."""
        return self.latency_ms / 1000.0 + self.tokens / 1000.0 + 0.5 * self.model_loads


DEFAULT_COSTS: dict[str, WorkflowCost] = {
    "search_qa": WorkflowCost(latency_ms=6000, tokens=450, model_loads=0.1, quality=0.85, cites_sources=True),
    "search_qa_fast": WorkflowCost(
        latency_ms=1500, tokens=120, model_loads=0.05, quality=0.75, cites_sources=True
    ),
    "search_qa_strict_citations": WorkflowCost(
        latency_ms=8000, tokens=600, model_loads=0.1, quality=0.9, cites_sources=True
    ),
    "self_ask_search_qa": WorkflowCost(
        latency_ms=12000, tokens=900, model_loads=0.1, quality=0.8, cites_sources=True
    ),
    "rag_qa": WorkflowCost(latency_ms=3500, tokens=350, model_loads=0.2, quality=0.85, cites_sources=True),
    "lesson_pack": WorkflowCost(latency_ms=10000, tokens=1200, model_loads=0.1, quality=0.85),
    "chat_generate": WorkflowCost(latency_ms=2000, tokens=200, model_loads=0.05, quality=0.85),
}


class CostTable:
    """Workflow -> :class:`WorkflowCost`, with normalization helpers for RouterV3."""

    def __init__(self, costs: dict[str, WorkflowCost] | None = None) -> None:
        self.costs = dict(DEFAULT_COSTS if costs is None else costs)
        top = max((c.units() for c in self.costs.values()), default=1.0)
        self._scale = top if top > 0 else 1.0

    def get(self, workflow: str) -> WorkflowCost:
        """Cost of ``workflow``; an unknown one costs as much as the most expensive known one."""
        found = self.costs.get(workflow)
        if found is not None:
            return found
        worst = max(self.costs.values(), key=lambda c: c.units(), default=WorkflowCost(latency_ms=10_000))
        return worst.model_copy(update={"runs": 0, "cites_sources": False})

    def normalized(self, workflow: str) -> float:
        """Cost units of ``workflow`` divided by the most expensive workflow's (so in [0, 1] for known ones)."""
        return self.get(workflow).units() / self._scale

    @classmethod
    def from_traces(cls, traces: Iterable[WorkflowTrace], *, prior_weight: float = 5.0) -> CostTable:
        """Blend the priors with measured means per workflow."""
        sums: dict[str, dict[str, float]] = {}
        for t in traces:
            s = sums.setdefault(t.workflow, {"n": 0, "lat": 0, "tok": 0, "loads": 0, "ok": 0, "q": 0, "qn": 0})
            s["n"] += 1
            s["lat"] += t.cost.latency_ms
            s["tok"] += t.cost.tokens
            s["loads"] += t.cost.model_loads
            s["ok"] += 1 if t.success else 0
            if t.success and t.quality_signals:
                vals = [min(max(v, 0.0), 1.0) for v in t.quality_signals.values()]
                s["q"] += sum(vals) / len(vals)
                s["qn"] += 1
        out = dict(DEFAULT_COSTS)
        for wf, s in sums.items():
            prior = DEFAULT_COSTS.get(wf, WorkflowCost(latency_ms=s["lat"] / s["n"]))
            n, w = s["n"], prior_weight
            out[wf] = WorkflowCost(
                latency_ms=(prior.latency_ms * w + s["lat"]) / (w + n),
                tokens=(prior.tokens * w + s["tok"]) / (w + n),
                model_loads=(prior.model_loads * w + s["loads"]) / (w + n),
                success_rate=(prior.success_rate * w + s["ok"]) / (w + n),
                quality=(prior.quality * w + s["q"]) / (w + s["qn"]),
                cites_sources=prior.cites_sources,
                runs=int(n),
            )
        return cls(out)
