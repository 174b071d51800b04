"""Observability: typed trace records, the tracer with its JSONL and Parquet sinks, readers and cost statistics.

::

    from mm_orch.observability import Tracer, read_traces, CostStatistics

    with Tracer("data/traces/traces.jsonl") as tracer:   # Parquet goes to data/traces/parquet/
        ...                                             # GraphExecutor(step_registry, tracer=tracer)
    stats = CostStatistics.from_traces(read_traces("data/traces/traces.jsonl"))
"""

from mm_orch.observability.arrow_schema import trace_arrow_schema
from mm_orch.observability.config import TracerConfig
from mm_orch.observability.cost_stats import CostStatistics, WorkflowCostStats
from mm_orch.observability.readers import SUPPORTED_SCHEMA_VERSIONS, read_traces, read_traces_table, trace_files
from mm_orch.observability.records import TRACE_SCHEMA_VERSION, Citation, CostStats, StepTrace, WorkflowTrace
from mm_orch.observability.tracer import Tracer, TracerStats

__all__ = [
    "SUPPORTED_SCHEMA_VERSIONS",
    "TRACE_SCHEMA_VERSION",
    "Citation",
    "CostStatistics",
    "CostStats",
    "StepTrace",
    "Tracer",
    "TracerConfig",
    "TracerStats",
    "WorkflowCostStats",
    "WorkflowTrace",
    "read_traces",
    "read_traces_table",
    "trace_arrow_schema",
    "trace_files",
]
