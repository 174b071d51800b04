"""The executor's lifecycle hook that records live metrics: every node (per-step latency by outcome) and run.

Installed by the orchestrators through :func:`metrics_hooks` (an empty list while metrics are off, so an executor
pays nothing then)::

    GraphExecutor(steps, tracer, hooks=metrics_hooks())
"""

from __future__ import annotations

from typing import Any

from mm_orch.exceptions import StepTimeoutError
from mm_orch.observability import metrics
from mm_orch.orchestration.hooks import LifecycleHook

__all__ = ["MetricsHook", "metrics_hooks"]


class MetricsHook(LifecycleHook):
    """Records ``node_finished`` as ``mm_orch_step_duration_seconds`` and ``run_finished`` as
    ``mm_orch_workflow_duration_seconds`` (see :mod:`mm_orch.observability.metrics`)."""

    def node_finished(
        self,
        *,
        workflow: str | None,
        step: str,
        duration_ms: float,
        error: BaseException | None,
        used_fallback: bool,
        **future_kwargs: Any,
    ) -> None:
        outcome = "success" if error is None and not used_fallback else "fallback" if error is None else "error"
        metrics.record_step(workflow, step, outcome, duration_ms / 1000.0)

    def run_finished(
        self,
        *,
        workflow: str | None,
        duration_ms: float,
        error: BaseException | None,
        cancelled: bool,
        **future_kwargs: Any,
    ) -> None:
        metrics.record_run(workflow, _outcome(error, cancelled), duration_ms / 1000.0)


def _outcome(error: BaseException | None, cancelled: bool) -> str:
    if error is None:
        return "success"
    if cancelled:
        return "cancelled"
    if isinstance(error, StepTimeoutError) or isinstance(getattr(error, "cause", None), StepTimeoutError):
        return "timeout"
    return "error"


def metrics_hooks() -> list[LifecycleHook]:
    """``[MetricsHook()]`` while metrics are recorded (local or ray mode), else ``[]``."""
    return [MetricsHook()] if metrics.mode() != "off" else []
