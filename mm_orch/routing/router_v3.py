"""RouterV3: cost-aware routing over workflows and their variants.

For each candidate workflow ``a`` the score is ``expected_quality(a) - lambda * normalized_cost(a)``, where

* ``expected_quality(a) = success_rate(a) * quality(a) * sum_w p(w | request) * credit(a, w)``: ``p`` comes
  from the trained RouterV2 model, ``credit(a, w)`` is how well ``a`` serves a request whose best workflow is
  ``w`` (1 for ``a == w``; partial between the search-backed workflows - the three search variants and
  self-ask - see :data:`CREDIT`; 0 otherwise);
* ``normalized_cost(a)`` comes from :class:`~mm_orch.routing.costs.CostTable` (trace statistics: latency,
  tokens, model loads), scaled so the most expensive workflow costs 1.

Request constraints filter candidates first: ``require_citations`` keeps only workflows that cite sources and
moves the plain-search mass to ``search_qa_strict_citations``; ``latency_budget_ms`` drops workflows whose
expected latency exceeds it (if none fits, the fastest one is chosen).
"""

from __future__ import annotations

from mm_orch.routing.costs import CostTable
from mm_orch.routing.decision import ChainStep, RoutingDecision, as_request
from mm_orch.routing.router_v2 import RouterV2
from mm_orch.schemas import UserRequest

__all__ = ["CREDIT", "RouterV3", "credit"]

#: credit[(chosen, best)]: share of the ideal answer quality a variant delivers for another variant's request.
CREDIT: dict[tuple[str, str], float] = {
    ("search_qa_fast", "search_qa"): 0.6,
    ("search_qa_strict_citations", "search_qa"): 0.9,
    ("self_ask_search_qa", "search_qa"): 0.8,
    ("search_qa", "search_qa_fast"): 0.95,
    ("search_qa_strict_citations", "search_qa_fast"): 0.9,
    ("self_ask_search_qa", "search_qa_fast"): 0.85,
    ("search_qa", "search_qa_strict_citations"): 0.5,
    ("search_qa_fast", "search_qa_strict_citations"): 0.2,
    ("self_ask_search_qa", "search_qa_strict_citations"): 0.45,
    ("search_qa", "self_ask_search_qa"): 0.4,
    ("search_qa_fast", "self_ask_search_qa"): 0.1,
    ("search_qa_strict_citations", "self_ask_search_qa"): 0.4,
}


def credit(chosen: str, best: str) -> float:
    """How well ``chosen`` serves a request whose best workflow is ``best`` (0..1)."""
    if chosen == best:
        return 1.0
    return CREDIT.get((chosen, best), 0.0)


class RouterV3:
    """Cost-aware router on top of a RouterV2 probability model."""

    version = "v3"

    def __init__(self, v2: RouterV2, *, costs: CostTable | None = None, cost_lambda: float = 0.3) -> None:
        self.v2 = v2
        self.costs = costs or CostTable()
        self.cost_lambda = cost_lambda

    def warm_up(self) -> None:
        """Load the underlying probability model."""
        self.v2.warm_up()

    def scores(
        self, request: UserRequest | str, cost_lambda: float | None = None, probs: dict[str, float] | None = None
    ) -> tuple[dict[str, float], list[str]]:
        """Score of every allowed candidate, and notes on the constraints applied.

        ``probs`` (workflow -> probability) skips the model call when the caller already has them.
        """
        req = as_request(request)
        lam = self.cost_lambda if cost_lambda is None else cost_lambda
        probs = self.v2.probabilities(req) if probs is None else probs
        candidates = list(probs)
        notes: list[str] = []
        if req.constraints.require_citations:
            moved = probs.get("search_qa", 0.0) + probs.get("search_qa_fast", 0.0)
            probs = {w: p for w, p in probs.items() if w not in ("search_qa", "search_qa_fast")}
            probs["search_qa_strict_citations"] = probs.get("search_qa_strict_citations", 0.0) + moved
            candidates = [w for w in candidates if self.costs.get(w).cites_sources and w != "search_qa_fast"]
            candidates = [w for w in candidates if w != "search_qa"] or candidates
            notes.append("require_citations")
        budget = req.constraints.latency_budget_ms
        if budget is not None:
            fits = [w for w in candidates if self.costs.get(w).latency_ms <= budget]
            if fits:
                candidates = fits
            else:
                candidates = [min(candidates, key=lambda w: self.costs.get(w).latency_ms)]
                notes.append(f"no workflow fits {budget:.0f} ms; using the fastest")
            notes.append(f"latency_budget_ms={budget:.0f}")
        out: dict[str, float] = {}
        for a in candidates:
            c = self.costs.get(a)
            eq = c.success_rate * c.quality * sum(p * credit(a, w) for w, p in probs.items())
            out[a] = eq - lam * self.costs.normalized(a)
        return dict(sorted(out.items(), key=lambda kv: -kv[1])), notes

    def route(self, request: UserRequest | str) -> RoutingDecision:
        """The candidate with the best quality-minus-cost score."""
        req = as_request(request)
        probs, raw = self.v2.scored(req)
        scores, notes = self.scores(req, probs=probs)
        best, score = next(iter(scores.items()))
        conf = sum(p * credit(best, w) for w, p in probs.items())
        extra = f"; constraints: {', '.join(notes)}" if notes else ""
        model_choice = next(iter(probs))
        detail = f"score={score:.3f} (quality - {self.cost_lambda:g} x cost){extra}"
        if model_choice != best:
            detail += f"; the classifier's top was {model_choice!r}"
        explanation = self.v2.explain(req, probs, raw)
        return RoutingDecision(
            workflow=best,
            confidence=round(min(max(conf, 0.0), 1.0), 6),
            alternatives={w: round(s, 6) for w, s in scores.items()},
            router_version=self.version,
            reason=f"model {self.v2.model_version or 'in-memory'}: {detail}",
            explanation=explanation.model_copy(
                update={"chain": [ChainStep(router=self.version, outcome="answered", detail=detail)]}
            ),
        )
