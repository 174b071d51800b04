"""Cost-guided optimisation from the traces: where a cheaper workflow served at equal quality, and the cost-aware
router's lambda curve.

**Cheaper alternatives.** Runs are grouped by question kind and workflow (Arrow ``group_by``: count, mean and
variance of quality, mean cost units). Within each family (:data:`mm_orch.routing.decision.FAMILIES`), a cheaper
workflow ``a`` is suggested for the kind's runs of a dearer ``b`` when both have at least ``min_runs`` runs and
the 95% upper bound of ``quality(b) - quality(a)`` is at most ``tolerance``: "equal quality" means "not
measurably worse by more than ``tolerance``". This is observational -- the router chose who ran what -- so a
suggestion is a candidate to confirm with forced runs (``workflow=...``), not proof.

**Lambda curve.** RouterV3 scores ``expected_quality(a) - lambda * normalized_cost(a)``. The curve replays
RouterV3's own :meth:`~mm_orch.routing.router_v3.RouterV3.scores` over the traced traffic mix: a
:class:`~mm_orch.routing.costs.CostTable` measured from these traces (latency, tokens, model loads, success rate,
mean quality per workflow), each traced workflow ``w`` standing for requests whose best workflow is ``w``
(probability one), and, for every lambda on a grid, the mean expected quality and mean cost units of what
RouterV3 would pick. Lambda 0 buys the best quality; raising it trades quality for cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mm_orch.reporting.data import Runs
from mm_orch.routing.costs import DEFAULT_COSTS, CostTable, WorkflowCost
from mm_orch.routing.decision import family_of
from mm_orch.routing.router_v2 import RouterV2
from mm_orch.routing.router_v3 import RouterV3, credit
from mm_orch.schemas import UserRequest

__all__ = ["LambdaCurve", "Suggestion", "cheaper_alternatives", "lambda_curve", "measured_costs"]


@dataclass
class Suggestion:
    """Route ``kind`` questions from ``instead_of`` to the cheaper ``use``."""

    kind: str
    use: str
    instead_of: str
    quality_use: float
    quality_instead: float
    diff_upper: float
    cost_use: float
    cost_instead: float
    runs_use: int
    runs_instead: int

    @property
    def saving_per_run(self) -> float:
        return self.cost_instead - self.cost_use

    @property
    def saving_share(self) -> float:
        return self.saving_per_run / self.cost_instead if self.cost_instead > 0 else 0.0

    @property
    def total_saving(self) -> float:
        """Cost units the traced runs of ``instead_of`` on this kind would have saved."""
        return self.saving_per_run * self.runs_instead


@dataclass
class LambdaCurve:
    """Mean expected quality and cost units of RouterV3's choices per lambda, with the mix it chose."""

    lambdas: list[float]
    quality: list[float]
    cost_units: list[float]
    shares: dict[str, list[float]]  # workflow -> share of traffic chosen at each lambda
    current: float
    current_quality: float
    current_cost: float


def _by_kind(runs: Runs) -> list[dict[str, float | str | int]]:
    g = runs.table.group_by(["kind", "workflow"]).aggregate(
        [("quality", "count"), ("quality", "mean"), ("quality", "variance"), ("cost_units", "mean")]
    )
    rows: list[dict[str, float | str | int]] = g.to_pylist()
    return rows


def cheaper_alternatives(runs: Runs, *, tolerance: float = 0.03, min_runs: int = 30) -> list[Suggestion]:
    """Suggestions, largest total saving first (see the module docstring)."""
    cells: dict[str, dict[str, dict[str, float | str | int]]] = {}
    for row in _by_kind(runs):
        cells.setdefault(str(row["kind"]), {})[str(row["workflow"])] = row
    out = []
    for kind, by_wf in cells.items():
        for b, rb in by_wf.items():
            for a, ra in by_wf.items():
                if (
                    a == b
                    or family_of(a) != family_of(b)
                    or float(ra["cost_units_mean"]) >= float(rb["cost_units_mean"])
                ):
                    continue
                na, nb = int(ra["quality_count"]), int(rb["quality_count"])
                if na < min_runs or nb < min_runs:
                    continue
                qa, qb = float(ra["quality_mean"]), float(rb["quality_mean"])
                se = math.sqrt(
                    float(ra["quality_variance"] or 0.0) / na + float(rb["quality_variance"] or 0.0) / nb
                )
                upper = qb - qa + 1.96 * se
                if upper <= tolerance:
                    out.append(
                        Suggestion(
                            kind,
                            a,
                            b,
                            qa,
                            qb,
                            upper,
                            float(ra["cost_units_mean"]),
                            float(rb["cost_units_mean"]),
                            na,
                            nb,
                        )
                    )
    # Keep the cheapest adequate alternative per (kind, dearer workflow).
    best: dict[tuple[str, str], Suggestion] = {}
    for s in out:
        key = (s.kind, s.instead_of)
        if key not in best or s.cost_use < best[key].cost_use:
            best[key] = s
    return sorted(best.values(), key=lambda s: -s.total_saving)


def quality_cost_by_kind(runs: Runs) -> list[dict[str, float | str | int]]:
    """Per question kind and workflow: runs, mean quality and mean cost units (the scatter behind suggestions)."""
    return _by_kind(runs)


def measured_costs(runs: Runs) -> CostTable:
    """A :class:`CostTable` of what the traces measured per workflow (priors for workflows never traced)."""
    t = runs.table
    g = t.group_by("workflow").aggregate(
        [
            ("workflow", "count"),
            ("latency_ms", "mean"),
            ("tokens", "mean"),
            ("model_loads", "mean"),
            ("success", "mean"),
        ]
    )
    ok = t.filter(t.column("success")).group_by("workflow").aggregate([("quality", "mean")])
    quality_ok = dict(zip(ok.column("workflow").to_pylist(), ok.column("quality_mean").to_pylist(), strict=True))
    costs = dict(DEFAULT_COSTS)
    for row in g.to_pylist():
        wf = row["workflow"]
        prior = DEFAULT_COSTS.get(wf, WorkflowCost(latency_ms=row["latency_ms_mean"]))
        costs[wf] = WorkflowCost(
            latency_ms=row["latency_ms_mean"],
            tokens=row["tokens_mean"] or 0.0,
            model_loads=row["model_loads_mean"] or 0.0,
            success_rate=row["success_mean"],
            quality=min(max(quality_ok.get(wf) or 0.0, 0.0), 1.0),
            cites_sources=prior.cites_sources,
            runs=row["workflow_count"],
        )
    return CostTable(costs)


def lambda_curve(runs: Runs, *, current: float = 0.3, lambdas: np.ndarray | None = None) -> LambdaCurve:
    """RouterV3's quality/cost trade-off over the traced traffic (see the module docstring)."""
    grid = np.round(np.linspace(0.0, 2.0, 41) if lambdas is None else np.asarray(lambdas, dtype=float), 4)
    if current not in grid:
        grid = np.sort(np.append(grid, current))
    costs = measured_costs(runs)
    router = RouterV3(RouterV2(None, bootstrap=False), costs=costs)
    mix_t = runs.table.group_by("workflow").aggregate([("workflow", "count")])
    mix = dict(zip(mix_t.column("workflow").to_pylist(), mix_t.column("workflow_count").to_pylist(), strict=True))
    total = sum(mix.values())
    request = UserRequest(query="lambda curve")
    quality, cost = [], []
    shares: dict[str, list[float]] = {}
    for lam in grid:
        q = c = 0.0
        chosen: dict[str, float] = {}
        for best, n in mix.items():
            probs = {w: 1.0 if w == best else 0.0 for w in mix}  # every traced workflow is a candidate
            scores, _ = router.scores(request, cost_lambda=float(lam), probs=probs)
            pick = next(iter(scores))
            wc = costs.get(pick)
            q += n * wc.success_rate * wc.quality * credit(pick, best)
            c += n * wc.units()
            chosen[pick] = chosen.get(pick, 0.0) + n
        quality.append(q / total)
        cost.append(c / total)
        for wf in set(shares) | set(chosen):
            shares.setdefault(wf, [0.0] * (len(quality) - 1)).append(chosen.get(wf, 0.0) / total)
    i = int(np.flatnonzero(grid == current)[0])
    return LambdaCurve([float(x) for x in grid], quality, cost, shares, current, quality[i], cost[i])
