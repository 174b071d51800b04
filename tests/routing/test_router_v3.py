from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from mm_orch.observability.records import CostStats, WorkflowTrace
from mm_orch.routing.costs import DEFAULT_COSTS, CostTable
from mm_orch.routing.dataset import LabelledExample
from mm_orch.routing.model import RouterModel
from mm_orch.routing.persistence import ModelManifest
from mm_orch.routing.router_v2 import RouterV2
from mm_orch.routing.router_v3 import RouterV3, credit
from mm_orch.schemas import RequestConstraints, UserRequest


@pytest.fixture(scope="module")
def v3(published_router: tuple[Path, RouterModel, ModelManifest]) -> RouterV3:
    return RouterV3(RouterV2(published_router[0], abstain_threshold=0.0), cost_lambda=0.3)


def test_require_citations_picks_a_citing_variant(v3: RouterV3) -> None:
    req = UserRequest(
        query="Why did the Roman Empire fall?", constraints=RequestConstraints(require_citations=True)
    )
    d = v3.route(req)
    assert d.workflow == "search_qa_strict_citations"
    assert all(DEFAULT_COSTS[w].cites_sources for w in d.alternatives)
    assert "require_citations" in d.reason


def test_latency_budget_excludes_slow_workflows(v3: RouterV3) -> None:
    req = UserRequest(query="How does inflation work?", constraints=RequestConstraints(latency_budget_ms=2000))
    d = v3.route(req)
    assert d.workflow == "search_qa_fast"
    assert all(DEFAULT_COSTS[w].latency_ms <= 2000 for w in d.alternatives)
    none_fit = v3.route(UserRequest(query="hi", constraints=RequestConstraints(latency_budget_ms=1)))
    assert none_fit.workflow == "search_qa_fast"
    assert "fastest" in none_fit.reason


def test_cost_falls_as_lambda_rises(v3: RouterV3, validation_examples: list[LabelledExample]) -> None:
    test = validation_examples[:120]
    means = []
    for lam in (0.0, 0.5, 2.0):
        chosen = [next(iter(v3.scores(e.to_request(), cost_lambda=lam)[0])) for e in test]
        means.append(float(np.mean([v3.costs.normalized(w) for w in chosen])))
    assert means[0] > means[1] > means[2]


def test_credit_rules() -> None:
    assert credit("search_qa", "search_qa") == 1.0
    assert credit("lesson_pack", "search_qa") == 0.0
    assert 0 < credit("search_qa_fast", "search_qa") < credit("search_qa", "search_qa_fast") < 1


def test_cost_table_learns_from_traces() -> None:
    now = time.time()
    traces = [
        WorkflowTrace(trace_id=f"t{i}", request_id=f"r{i}", timestamp=now, workflow="rag_qa",
                      cost=CostStats(latency_ms=500.0, tokens=100, model_loads=0), quality_signals={"q": 0.5})
        for i in range(95)
    ]  # fmt: skip
    table = CostTable.from_traces(traces)
    rag = table.get("rag_qa")
    assert rag.runs == 95
    assert 500 < rag.latency_ms < 0.1 * DEFAULT_COSTS["rag_qa"].latency_ms + 500
    assert rag.quality == pytest.approx((0.85 * 5 + 0.5 * 95) / 100)
    assert table.get("search_qa") == DEFAULT_COSTS["search_qa"]
    assert table.normalized("unknown_workflow") == pytest.approx(1.0)
