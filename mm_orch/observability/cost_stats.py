"""Per-workflow cost statistics from traces, the numbers the cost-aware router weighs workflows by.

Build them from records, a table or a path; the three give the same numbers::

    stats = CostStatistics.from_traces(read_traces("data/traces"))
    stats = CostStatistics.from_table(read_traces_table("data/traces"))
    stats = CostStatistics.from_path("data/traces")
    stats.workflows["search_qa"].latency_p95_ms

Definitions: latency is ``cost.latency_ms`` of each run (failed runs included); percentiles use linear
interpolation (numpy's default); a quality signal's mean is over the runs that reported that signal; feedback's
mean is over the runs that carry feedback (None when none do).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from mm_orch.exceptions import TracingError
from mm_orch.observability.records import WorkflowTrace

__all__ = ["CostStatistics", "WorkflowCostStats"]

_NEEDED_COLUMNS = ("workflow", "success", "cost", "quality_signals", "feedback")


class WorkflowCostStats(BaseModel):
    """What runs of one workflow cost and how well they went."""

    model_config = ConfigDict(extra="forbid")

    workflow: str = Field(description="Workflow name.")
    runs: int = Field(description="Runs seen.")
    successes: int = Field(description="Runs that succeeded.")
    success_rate: float = Field(description="successes / runs.")
    latency_mean_ms: float = Field(description="Mean run latency, milliseconds.")
    latency_p50_ms: float = Field(description="Median run latency, milliseconds.")
    latency_p95_ms: float = Field(description="95th percentile run latency, milliseconds.")
    mean_tokens: float = Field(description="Mean tokens generated per run.")
    mean_model_loads: float = Field(description="Mean model loads per run.")
    mean_steps: float = Field(description="Mean steps executed per run.")
    mean_quality_signals: dict[str, float] = Field(
        default_factory=dict, description="Signal name -> mean over the runs that reported it."
    )
    feedback_count: int = Field(default=0, description="Runs that carry user feedback.")
    mean_feedback: float | None = Field(default=None, description="Mean feedback in [-1, 1]; None without any.")


class CostStatistics(BaseModel):
    """Cost statistics keyed by workflow name."""

    model_config = ConfigDict(extra="forbid")

    total_runs: int = Field(default=0, description="Runs over all workflows.")
    workflows: dict[str, WorkflowCostStats] = Field(default_factory=dict, description="Workflow -> statistics.")

    def get(self, workflow: str) -> WorkflowCostStats | None:
        """Statistics of ``workflow``, or None when no run of it was seen."""
        return self.workflows.get(workflow)

    @classmethod
    def from_traces(cls, traces: Iterable[WorkflowTrace]) -> CostStatistics:
        """Aggregate an iterable of records in one pass (memory: 8 bytes per run for the latency percentiles)."""
        acc: dict[str, _Accumulator] = {}
        for trace in traces:
            a = acc.get(trace.workflow)
            if a is None:
                a = acc[trace.workflow] = _Accumulator()
            a.add(trace)
        return cls._build({name: a.finish(name) for name, a in acc.items()})

    @classmethod
    def from_table(cls, table: pa.Table) -> CostStatistics:
        """Aggregate a table with the trace schema (e.g. from ``read_traces_table``), vectorised."""
        missing = [c for c in _NEEDED_COLUMNS if c not in table.column_names]
        if missing:
            raise TracingError(
                f"The table lacks trace column(s) {missing}; cost statistics need {list(_NEEDED_COLUMNS)}. "
                "Read it with read_traces_table(path) or keep those columns."
            )
        if table.num_rows == 0:
            return cls()
        t = table.select(list(_NEEDED_COLUMNS)).combine_chunks()
        encoded = pc.dictionary_encode(t.column("workflow")).combine_chunks()
        codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        names: list[str] = encoded.dictionary.to_pylist()
        cost = t.column("cost").chunk(0)
        latency = pc.struct_field(cost, "latency_ms").to_numpy(zero_copy_only=False)
        per_run = {
            "success": t.column("success").to_numpy().astype(np.float64),
            "tokens": pc.struct_field(cost, "tokens").to_numpy(zero_copy_only=False).astype(np.float64),
            "loads": pc.struct_field(cost, "model_loads").to_numpy(zero_copy_only=False).astype(np.float64),
            "steps": pc.struct_field(cost, "steps").to_numpy(zero_copy_only=False).astype(np.float64),
        }
        k = len(names)
        runs = np.bincount(codes, minlength=k)
        sums = {key: np.bincount(codes, weights=values, minlength=k) for key, values in per_run.items()}
        signals = _signal_means(t.column("quality_signals").chunk(0), codes, names)
        feedback = t.column("feedback").to_numpy(zero_copy_only=False).astype(np.float64)  # nulls -> nan
        has_fb = ~np.isnan(feedback)
        fb_count = np.bincount(codes[has_fb], minlength=k)
        fb_sum = np.bincount(codes[has_fb], weights=feedback[has_fb], minlength=k)
        order = np.argsort(codes, kind="stable")
        groups = np.split(latency[order], np.cumsum(runs)[:-1])
        out = {}
        for i, name in enumerate(names):
            n = int(runs[i])
            p50, p95 = np.percentile(groups[i], [50, 95])
            out[name] = WorkflowCostStats(
                workflow=name,
                runs=n,
                successes=int(sums["success"][i]),
                success_rate=float(sums["success"][i] / n),
                latency_mean_ms=float(groups[i].mean()),
                latency_p50_ms=float(p50),
                latency_p95_ms=float(p95),
                mean_tokens=float(sums["tokens"][i] / n),
                mean_model_loads=float(sums["loads"][i] / n),
                mean_steps=float(sums["steps"][i] / n),
                mean_quality_signals=signals.get(name, {}),
                feedback_count=int(fb_count[i]),
                mean_feedback=float(fb_sum[i] / fb_count[i]) if fb_count[i] else None,
            )
        return cls._build(out)

    @classmethod
    def from_path(cls, path: str | Path) -> CostStatistics:
        """Aggregate every trace file under ``path`` (see ``read_traces_table``)."""
        from mm_orch.observability.readers import read_traces_table

        return cls.from_table(read_traces_table(path, columns=list(_NEEDED_COLUMNS)))

    @classmethod
    def _build(cls, workflows: dict[str, WorkflowCostStats]) -> CostStatistics:
        ordered = dict(sorted(workflows.items()))
        return cls(total_runs=sum(w.runs for w in ordered.values()), workflows=ordered)


def _signal_means(signals: pa.MapArray, codes: np.ndarray, names: list[str]) -> dict[str, dict[str, float]]:
    """Mean of each quality signal per workflow, over the runs that reported it."""
    # Map kernels are patchy in Arrow (list_parent_indices on a map aborts the process in pyarrow 26), so view
    # the map as the list<struct<key, value>> it is physically; the cast keeps slicing and nulls intact.
    entry = pa.struct([pa.field("key", signals.type.key_type), pa.field("value", signals.type.item_type)])
    as_list = signals.cast(pa.list_(entry))
    parents = pc.list_parent_indices(as_list).to_numpy(zero_copy_only=False)
    if parents.size == 0:
        return {}
    flat = pc.list_flatten(as_list)
    entries = pa.table(
        {
            "wf": pa.array(codes[parents]),
            "key": pc.struct_field(flat, "key"),
            "value": pc.struct_field(flat, "value"),
        }
    )
    grouped = entries.group_by(["wf", "key"]).aggregate([("value", "mean")]).sort_by([("wf", "ascending")])
    out: dict[str, dict[str, float]] = {}
    for wf, key, mean in zip(
        grouped.column("wf").to_pylist(),
        grouped.column("key").to_pylist(),
        grouped.column("value_mean").to_pylist(),
        strict=True,
    ):
        out.setdefault(names[wf], {})[key] = float(mean)
    return {name: dict(sorted(values.items())) for name, values in out.items()}


@dataclass
class _Accumulator:
    """Running sums of one workflow's runs."""

    runs: int = 0
    successes: int = 0
    tokens: int = 0
    loads: int = 0
    steps: int = 0
    latencies: array = field(default_factory=lambda: array("d"))
    signal_sums: dict[str, float] = field(default_factory=dict)
    signal_counts: dict[str, int] = field(default_factory=dict)
    feedback_sum: float = 0.0
    feedback_count: int = 0

    def add(self, trace: WorkflowTrace) -> None:
        self.runs += 1
        self.successes += int(trace.success)
        self.tokens += trace.cost.tokens
        self.loads += trace.cost.model_loads
        self.steps += trace.cost.steps
        self.latencies.append(trace.cost.latency_ms)
        for key, value in trace.quality_signals.items():
            self.signal_sums[key] = self.signal_sums.get(key, 0.0) + value
            self.signal_counts[key] = self.signal_counts.get(key, 0) + 1
        if trace.feedback is not None:
            self.feedback_sum += trace.feedback
            self.feedback_count += 1

    def finish(self, name: str) -> WorkflowCostStats:
        lat = np.frombuffer(self.latencies, dtype=np.float64)
        p50, p95 = np.percentile(lat, [50, 95])
        return WorkflowCostStats(
            workflow=name,
            runs=self.runs,
            successes=self.successes,
            success_rate=self.successes / self.runs,
            latency_mean_ms=float(lat.mean()),
            latency_p50_ms=float(p50),
            latency_p95_ms=float(p95),
            mean_tokens=self.tokens / self.runs,
            mean_model_loads=self.loads / self.runs,
            mean_steps=self.steps / self.runs,
            mean_quality_signals={
                k: self.signal_sums[k] / self.signal_counts[k] for k in sorted(self.signal_sums)
            },
            feedback_count=self.feedback_count,
            mean_feedback=self.feedback_sum / self.feedback_count if self.feedback_count else None,
        )
