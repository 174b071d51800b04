"""Plotly figures of the report's sections (each built from a section's few hundred numbers, never from rows).

Every workflow keeps one colour across all figures (:func:`palette`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mm_orch.reporting.optimise import LambdaCurve, Suggestion
from mm_orch.reporting.sections import Binned, Confusion

__all__ = [
    "confidence_figure",
    "confusion_figure",
    "distribution_figure",
    "failures_figure",
    "kind_scatter_figure",
    "lambda_figure",
    "palette",
    "quality_figure",
    "quantiles_figure",
    "slow_steps_figure",
    "volume_figure",
    "volume_time_figure",
]

_COLOURS = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2", "#EECA3B", "#9D755D", "#BAB0AC",
            "#FF9DA6", "#79706E", "#D67195")  # fmt: skip


def palette(workflows: list[str]) -> dict[str, str]:
    """A fixed colour per workflow (sorted order, so every figure agrees)."""
    return {w: _COLOURS[i % len(_COLOURS)] for i, w in enumerate(sorted(workflows))}


def _layout(fig: go.Figure, title: str, height: int = 380, **kw: Any) -> go.Figure:
    settings: dict[str, Any] = {
        "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
        "legend": {"orientation": "h", "y": -0.2},
        **kw,
    }
    fig.update_layout(
        title={"text": title, "x": 0.01, "font": {"size": 15}}, template="plotly_white", height=height, **settings
    )
    return fig


def volume_figure(quality: dict[str, dict[str, Any]], colours: dict[str, str]) -> go.Figure:
    names = sorted(quality, key=lambda w: -quality[w]["runs"])
    fig = go.Figure(
        go.Bar(
            x=names,
            y=[quality[w]["runs"] for w in names],
            marker_color=[colours[w] for w in names],
            customdata=[[quality[w]["success_rate"]] for w in names],
            hovertemplate="%{x}: %{y:,} runs, %{customdata[0]:.1%} succeeded<extra></extra>",
        )
    )
    return _layout(fig, "Runs per workflow", yaxis_title="runs")


def volume_time_figure(volume: Binned, colours: dict[str, str]) -> go.Figure:
    edges = np.asarray(volume.edges)
    centres = [datetime.fromtimestamp(float(x), UTC) for x in (edges[:-1] + edges[1:]) / 2]
    fig = go.Figure()
    for w, counts in zip(volume.workflows, volume.counts, strict=True):
        fig.add_trace(
            go.Scatter(x=centres, y=counts, name=w, stackgroup="one", mode="lines", line={"color": colours.get(w)})
        )
    width_h = (edges[1] - edges[0]) / 3600 if len(edges) > 1 else 0
    return _layout(fig, f"Traffic over time (runs per {width_h:.3g} h slice, UTC)", yaxis_title="runs")


def distribution_figure(binned: Binned, colours: dict[str, str], title: str, unit: str) -> go.Figure:
    """Share of each workflow's runs per (log-spaced) bin, one line per workflow."""
    edges = np.asarray(binned.edges)
    centres = np.sqrt(edges[:-1] * edges[1:]) if edges[0] > 0 else (edges[:-1] + edges[1:]) / 2
    fig = go.Figure()
    for w, counts in zip(binned.workflows, binned.counts, strict=True):
        c = np.asarray(counts, dtype=float)
        share = c / c.sum() if c.sum() else c
        fig.add_trace(
            go.Scatter(x=centres, y=share, name=w, mode="lines", line={"color": colours.get(w), "shape": "spline"},
                       hovertemplate=f"{w}: %{{y:.1%}} of runs near %{{x:.3g}} {unit}<extra></extra>")
        )  # fmt: skip
    return _layout(
        fig, title, xaxis={"type": "log", "title": unit}, yaxis={"title": "share of runs", "tickformat": ".0%"}
    )


def quantiles_figure(binned: Binned, colours: dict[str, str], title: str, unit: str) -> go.Figure:
    """p50 / p90 / p95 / p99 per workflow as grouped bars."""
    names = sorted(binned.quantiles, key=lambda w: binned.quantiles[w][0])
    fig = go.Figure()
    for i, (label, opacity) in enumerate((("p50", 1.0), ("p90", 0.75), ("p95", 0.55), ("p99", 0.35))):
        fig.add_trace(
            go.Bar(x=names, y=[binned.quantiles[w][i] for w in names], name=label, opacity=opacity,
                   marker_color=[colours.get(w) for w in names], hovertemplate=f"%{{x}} {label}: %{{y:,.0f}} {unit}<extra></extra>")
        )  # fmt: skip
    return _layout(fig, title, barmode="group", yaxis={"title": unit, "type": "log"})


def quality_figure(quality: dict[str, dict[str, Any]]) -> go.Figure:
    names = sorted(quality)
    fig = go.Figure()
    for key, label in (
        ("success_rate", "success rate"),
        ("quality", "mean quality"),
        ("positive_share", "positive feedback"),
    ):
        fig.add_trace(go.Bar(x=names, y=[quality[w].get(key) for w in names], name=label))
    return _layout(
        fig, "Quality signals per workflow", barmode="group", yaxis={"tickformat": ".0%", "range": [0, 1.05]}
    )


def confidence_figure(conf: dict[str, Any]) -> go.Figure:
    edges = np.asarray(conf["edges"])
    centres = (edges[:-1] + edges[1:]) / 2
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    for i, (router, counts) in enumerate(zip(conf["routers"], conf["counts"], strict=True)):
        fig.add_trace(go.Bar(x=centres, y=counts, name=f"router {router}", marker_color=_COLOURS[i % len(_COLOURS)],
                             opacity=0.8), secondary_y=False)  # fmt: skip
    fig.add_trace(
        go.Scatter(x=centres, y=conf["quality"], name="mean quality of those runs", mode="lines+markers",
                   line={"color": "#222", "width": 2}),
        secondary_y=True,
    )  # fmt: skip
    fig.update_yaxes(title_text="routed runs", secondary_y=False)
    fig.update_yaxes(title_text="mean quality", range=[0, 1.05], tickformat=".0%", secondary_y=True)
    return _layout(fig, "Router confidence (routed runs) and how well those runs went", barmode="stack",
                   xaxis={"title": "confidence", "range": [0, 1]})  # fmt: skip


def confusion_figure(c: Confusion) -> go.Figure:
    counts = np.asarray(c.counts, dtype=float)
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    fig = go.Figure(
        go.Heatmap(
            z=share, x=c.right, y=c.chosen, colorscale="Blues", zmin=0, zmax=1, customdata=counts,
            text=[[f"{int(v)}" if v else "" for v in row] for row in counts], texttemplate="%{text}",
            hovertemplate="router chose %{y}, feedback says %{x}: %{customdata:,} runs (%{z:.0%} of the row)<extra></extra>",
        )
    )  # fmt: skip
    title = f"Router against feedback ({c.rated:,} rated routed runs; agreement {c.agreement or 0:.1%})"
    return _layout(
        fig, title, height=460, xaxis={"title": "right workflow (feedback)"}, yaxis={"title": "router chose"}
    )


def slow_steps_figure(steps: list[dict[str, Any]], colours: dict[str, str]) -> go.Figure:
    rows = steps[::-1]
    labels = [f"{r['workflow']} / {r['step']}" for r in rows]
    fig = go.Figure()
    for key, label, opacity in (("p50_ms", "p50", 1.0), ("p95_ms", "p95", 0.6), ("p99_ms", "p99", 0.35)):
        fig.add_trace(
            go.Bar(y=labels, x=[r[key] for r in rows], name=label, orientation="h", opacity=opacity,
                   marker_color=[colours.get(r["workflow"]) for r in rows])
        )  # fmt: skip
    return _layout(fig, "Slowest steps (by p95)", height=max(360, 28 * len(rows) + 120), barmode="overlay",
                   xaxis={"title": "ms"}, margin={"l": 260, "r": 20, "t": 50, "b": 50})  # fmt: skip


def failures_figure(by_type: list[tuple[str, str, int]]) -> go.Figure:
    types = sorted({t for _, t, _ in by_type})
    workflows = sorted({w for w, _, _ in by_type})
    cell = {(w, t): n for w, t, n in by_type}
    fig = go.Figure()
    for i, t in enumerate(types):
        fig.add_trace(go.Bar(x=workflows, y=[cell.get((w, t), 0) for w in workflows], name=t,
                             marker_color=_COLOURS[(i + 3) % len(_COLOURS)]))  # fmt: skip
    return _layout(fig, "Failures by workflow and error type", barmode="stack", yaxis_title="failed runs")


def kind_scatter_figure(
    cells: list[dict[str, Any]], suggestions: list[Suggestion], colours: dict[str, str]
) -> go.Figure:
    """Quality against cost per (question kind, workflow), search family; arrows mark the suggestions."""
    from mm_orch.routing.decision import family_of

    fig = go.Figure()
    for w in sorted({str(c["workflow"]) for c in cells if family_of(str(c["workflow"])) == "search"}):
        mine = [c for c in cells if c["workflow"] == w]
        fig.add_trace(
            go.Scatter(
                x=[c["cost_units_mean"] for c in mine], y=[c["quality_mean"] for c in mine], text=[c["kind"] for c in mine],
                mode="markers+text", textposition="top center", name=w,
                marker={"color": colours.get(w), "size": [8 + 14 * np.sqrt(c["quality_count"] / max(x["quality_count"] for x in cells)) for c in mine]},
                hovertemplate=w + " on '%{text}' questions: quality %{y:.3f}, %{x:.2f} cost units<extra></extra>",
            )
        )  # fmt: skip
    for s in suggestions[:12]:
        fig.add_annotation(x=s.cost_use, y=s.quality_use, ax=s.cost_instead, ay=s.quality_instead, xref="x", yref="y",
                           axref="x", ayref="y", showarrow=True, arrowhead=3, arrowcolor="#2a9d8f", opacity=0.7, text="")  # fmt: skip
    return _layout(fig, "Search workflows by question kind: quality against cost (arrows: suggested switches)",
                   height=460, xaxis={"title": "mean cost units per run"}, yaxis={"title": "mean quality"})  # fmt: skip


def lambda_figure(curve: LambdaCurve, colours: dict[str, str]) -> go.Figure:
    fig = make_subplots(rows=1, cols=2, column_widths=[0.55, 0.45],
                        subplot_titles=("quality against cost as lambda grows", "what RouterV3 picks, by lambda"))  # fmt: skip
    fig.add_trace(
        go.Scatter(x=curve.cost_units, y=curve.quality, mode="lines+markers", name="lambda curve",
                   text=[f"lambda={x:g}" for x in curve.lambdas], line={"color": "#264653"},
                   hovertemplate="%{text}: quality %{y:.3f}, %{x:.2f} cost units<extra></extra>"),
        row=1, col=1,
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(x=[curve.current_cost], y=[curve.current_quality], mode="markers+text", name=f"configured lambda={curve.current:g}",
                   text=[f"lambda={curve.current:g}"], textposition="bottom right", marker={"size": 14, "color": "#e76f51", "symbol": "star"}),
        row=1, col=1,
    )  # fmt: skip
    for w, share in sorted(curve.shares.items()):
        fig.add_trace(
            go.Scatter(x=curve.lambdas, y=share, name=w, stackgroup="mix", mode="lines", line={"color": colours.get(w)}),
            row=1, col=2,
        )  # fmt: skip
    fig.update_xaxes(title_text="mean cost units per run", row=1, col=1)
    fig.update_yaxes(title_text="expected quality", row=1, col=1)
    fig.update_xaxes(title_text="lambda", row=1, col=2)
    fig.update_yaxes(title_text="share of traffic", tickformat=".0%", row=1, col=2)
    return _layout(fig, "Cost-aware router (RouterV3): the lambda curve", height=440)
