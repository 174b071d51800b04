"""cluster/grafana/mm-orch-dashboard.json: valid Grafana JSON whose every query parses as PromQL (promql-parser,
after Grafana's variables are substituted), names only series the code exports (Ray's ``ray_`` + the names in
mm_orch.observability.metrics) with labels those metrics have, and covers every metric and the issue's panels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mm_orch.observability.metrics import METRICS

promql_parser = pytest.importorskip("promql_parser")

DASHBOARD = Path(__file__).resolve().parents[2] / "cluster" / "grafana" / "mm-orch-dashboard.json"
# Grafana's built-in and dashboard variables, as Grafana would substitute them.
VARIABLES = {"$__rate_interval": "1m", "$__range": "1h", "$job": ".*"}
# Labels Prometheus/Ray add to every series (job from the scrape config), plus le on histogram buckets.
ADDED_LABELS = {"job", "instance", "le", "SessionName", "NodeAddress", "Component", "WorkerId"}


def _dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def _panels() -> list[dict[str, Any]]:
    return [p for p in _dashboard()["panels"] if p["type"] != "row"]


def _exprs() -> list[tuple[str, str]]:
    return [(p["title"], t["expr"]) for p in _panels() for t in p["targets"]]


def _parse(expr: str) -> Any:
    for name, value in VARIABLES.items():
        expr = expr.replace(name, value)
    assert "$" not in expr, f"unknown Grafana variable in {expr!r}"
    return promql_parser.parse(expr)


def _walk(node: Any) -> list[tuple[str, set[str]]]:
    """(series name, labels it is matched/grouped on) for every selector in the expression tree."""
    found: list[tuple[str, set[str]]] = []

    def visit(n: Any, grouping: set[str]) -> None:
        kind = type(n).__name__
        if kind == "VectorSelector":
            names = {m.name for m in n.matchers.matchers}
            found.append((n.name, names | grouping))
        elif kind == "MatrixSelector":
            visit(n.vector_selector, grouping)
        elif kind == "AggregateExpr":
            labels = set(n.modifier.labels) if n.modifier is not None else set()
            visit(n.expr, grouping | labels)
        elif kind == "Call":
            for a in n.args:
                visit(a, grouping)
        elif kind == "BinaryExpr":
            visit(n.lhs, grouping)
            visit(n.rhs, grouping)
        elif kind in ("ParenExpr", "UnaryExpr", "SubqueryExpr"):
            visit(n.expr, grouping)

    visit(node, set())
    return found


def _exported() -> dict[str, set[str]]:
    """Exported series name -> its labels."""
    return {series: set(spec.labels) for spec in METRICS.values() for series in spec.series_names()}


def test_dashboard_is_valid_grafana_json() -> None:
    d = _dashboard()
    assert d["uid"] == "mm-orch-overview"
    assert d["title"] == "mm-orch"
    assert d["schemaVersion"] >= 36
    names = {v["name"] for v in d["templating"]["list"]}
    assert {"datasource", "job"} <= names
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    cells: set[tuple[int, int]] = set()
    for p in d["panels"]:
        g = p["gridPos"]
        assert g["x"] >= 0, p["title"]
        assert g["x"] + g["w"] <= 24, p["title"]
        assert g["h"] > 0, p["title"]
        covered = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not covered & cells, f"panel {p['title']!r} overlaps another"
        cells |= covered
    for p in _panels():
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
        assert p["targets"], p["title"]
        assert all(t["refId"] and t["expr"] for t in p["targets"]), p["title"]


@pytest.mark.parametrize(("title", "expr"), _exprs())
def test_every_query_parses_and_names_exported_series(title: str, expr: str) -> None:
    exported = _exported()
    selectors = _walk(_parse(expr))
    assert selectors, f"{title}: no metric selector in {expr!r}"
    for series, labels in selectors:
        assert series in exported, f"{title}: {series} is not exported; exported: {sorted(exported)}"
        unknown = labels - exported[series] - ADDED_LABELS - {"__name__"}
        assert not unknown, f"{title}: {series} has no label(s) {sorted(unknown)}"


def test_every_metric_is_on_the_dashboard_and_the_issue_panels_exist() -> None:
    used = {series for _, expr in _exprs() for series, _ in _walk(_parse(expr))}
    for spec in METRICS.values():
        assert used & set(spec.series_names()), f"{spec.name} is exported but on no panel"
    rows = {p["title"] for p in _dashboard()["panels"] if p["type"] == "row"}
    assert rows == {"Traffic", "Errors", "Latency", "Router", "Models", "Trace health"}
    exprs = " ".join(e for _, e in _exprs())
    assert "histogram_quantile(0.95" in exprs
    assert "histogram_quantile(0.99" in exprs
    assert "ray_mm_orch_router_confidence_ratio_bucket" in exprs  # router confidence
    assert "rate(ray_mm_orch_model_tokens_total" in exprs  # tokens/s


def test_label_checks_catch_a_wrong_query() -> None:
    ((series, labels),) = _walk(_parse("sum by (query) (rate(ray_mm_orch_router_decisions_total[5m]))"))
    assert "query" in labels - _exported()[series]
    ((_, matched),) = _walk(_parse('rate(ray_mm_orch_router_decisions_total{session_id="x"}[5m])'))
    assert "session_id" in matched
    with pytest.raises(ValueError, match="unclosed left parenthesis"):
        promql_parser.parse("sum(rate(ray_mm_orch_router_decisions_total[5m])")
