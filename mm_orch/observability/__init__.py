"""Observability: typed trace records, the tracer with its JSONL and Parquet sinks, readers and cost statistics.

::

    from mm_orch.observability import Tracer, read_traces, CostStatistics

    with Tracer("data/traces/traces.jsonl") as tracer:   # Parquet goes to data/traces/parquet/
        ...                                             # GraphExecutor(step_registry, tracer=tracer)
    stats = CostStatistics.from_traces(read_traces("data/traces/traces.jsonl"))
"""

# Lazy exports (PEP 562): the executor imports mm_orch.observability.records on every start, and that must not
# import pyarrow (the sinks' dependency) for processes that never trace.
from mm_orch._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "Citation": "mm_orch.observability.records",
    "CostStatistics": "mm_orch.observability.cost_stats",
    "CostStats": "mm_orch.observability.records",
    "FeedbackRecord": "mm_orch.observability.feedback",
    "FeedbackStore": "mm_orch.observability.feedback",
    "SUPPORTED_SCHEMA_VERSIONS": "mm_orch.observability.readers",
    "StepTrace": "mm_orch.observability.records",
    "TRACE_SCHEMA_VERSION": "mm_orch.observability.records",
    "Tracer": "mm_orch.observability.tracer",
    "TracerConfig": "mm_orch.observability.config",
    "TracerStats": "mm_orch.observability.tracer",
    "WorkflowCostStats": "mm_orch.observability.cost_stats",
    "WorkflowTrace": "mm_orch.observability.records",
    "default_feedback_path": "mm_orch.observability.feedback",
    "read_feedback": "mm_orch.observability.feedback",
    "read_traces": "mm_orch.observability.readers",
    "read_traces_table": "mm_orch.observability.readers",
    "trace_arrow_schema": "mm_orch.observability.arrow_schema",
    "trace_files": "mm_orch.observability.readers",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
