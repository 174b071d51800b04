"""The public names of mm_orch.observability change only on purpose."""

from __future__ import annotations

import mm_orch.observability as observability


def test_public_api_is_pinned() -> None:
    assert sorted(observability.__all__) == sorted(
        [
            "SUPPORTED_SCHEMA_VERSIONS",
            "TRACE_SCHEMA_VERSION",
            "Citation",
            "CostStatistics",
            "CostStats",
            "FeedbackRecord",
            "FeedbackStore",
            "StepTrace",
            "Tracer",
            "TracerConfig",
            "TracerStats",
            "WorkflowCostStats",
            "WorkflowTrace",
            "default_feedback_path",
            "read_feedback",
            "read_traces",
            "read_traces_table",
            "trace_arrow_schema",
            "trace_files",
        ]
    )
    for name in observability.__all__:
        assert getattr(observability, name) is not None


def test_guide_import_path_works() -> None:
    from mm_orch.observability.tracer import Tracer

    assert Tracer is observability.Tracer
