"""Build the WorkflowTrace of a finished run from its final State and node records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from mm_orch.observability.records import TRACE_SCHEMA_VERSION, Citation, CostStats, StepTrace, WorkflowTrace
from mm_orch.orchestration.node_runner import NodeRecord
from mm_orch.orchestration.state import State

__all__ = ["build_trace", "citations_from", "quality_from"]

_M = TypeVar("_M", bound=BaseModel)
_setattr = object.__setattr__


def _construct(cls: type[_M], values: dict[str, Any]) -> _M:
    """``cls.model_construct(**values)`` for a complete set of already-typed fields, minus its per-field loop.

    This is the hot path of every traced run (seven records for a 5-step run), where pydantic's generic
    ``model_construct`` cost ~3 us a record. It sets the same slots model_construct sets; a test checks the
    result equals ``model_validate`` of its own dump, so a pydantic change that breaks this fails loudly.
    """
    obj = cls.__new__(cls)
    _setattr(obj, "__dict__", values)
    _setattr(obj, "__pydantic_fields_set__", set(values))
    _setattr(obj, "__pydantic_extra__", None)
    _setattr(obj, "__pydantic_private__", None)
    return obj


def citations_from(value: Any) -> list[Citation]:
    """Normalise what a workflow wrote under ``citations`` (dicts, Citations or strings) to Citations."""
    out: list[Citation] = []
    for item in value or ():
        if isinstance(item, Citation):
            out.append(item)
        elif isinstance(item, Mapping):
            doc_id = item.get("doc_id")
            out.append(
                Citation(
                    title=str(item.get("title") or ""),
                    url=item.get("url"),
                    doc_id=None if doc_id is None else str(doc_id),
                )
            )
        else:
            out.append(Citation(title=str(item)))
    return out


def quality_from(value: Any) -> dict[str, float]:
    """Numeric quality signals (booleans as 0/1); non-numeric entries are dropped."""
    if not isinstance(value, Mapping):
        return {}
    return {str(k): float(v) for k, v in value.items() if isinstance(v, int | float)}


def _step(rec: NodeRecord) -> StepTrace:
    return _construct(
        StepTrace,
        {
            "node": rec.node,
            "step_name": rec.step_name,
            "started_at": rec.started_at,
            "ended_at": rec.ended_at,
            "latency_ms": rec.latency_ms,
            "success": rec.success,
            "attempts": rec.attempts,
            "error_type": rec.error_type,
            "error_message": rec.error_message,
            "used_fallback": rec.used_fallback,
            "model_loads": rec.model_loads,
            "tokens": rec.tokens,
        },
    )


def build_trace(
    workflow: str,
    state: State,
    records: list[NodeRecord],
    *,
    trace_id: str,
    started: float,
    latency_ms: float,
    context: Mapping[str, Any],
    error: BaseException | None,
) -> WorkflowTrace:
    """One run's trace; ``context`` carries the request fields the executor cannot know."""
    answer = state.get("answer")
    alternatives = context.get("router_alternatives") or {}
    cost = _construct(
        CostStats,
        {
            "latency_ms": latency_ms,
            "tokens": sum(r.tokens for r in records),
            "model_loads": sum(len(r.model_loads) for r in records),
            "steps": len(records),
        },
    )
    return _construct(
        WorkflowTrace,
        {
            "schema_version": TRACE_SCHEMA_VERSION,
            "trace_id": trace_id,
            "request_id": str(context.get("request_id") or trace_id),
            "timestamp": started,
            "question": str(context.get("question") or state.get("question") or ""),
            "workflow": str(context.get("workflow") or workflow),
            "workflow_forced": bool(context.get("workflow_forced", False)),
            "router_version": context.get("router_version"),
            "router_confidence": context.get("router_confidence"),
            "router_alternatives": {str(k): float(v) for k, v in alternatives.items()},
            "mode": str(context.get("mode") or "default"),
            "phase": str(context.get("phase") or "b"),
            "success": error is None,
            "error_type": None if error is None else type(error).__name__,
            "error_message": None if error is None else str(error),
            "steps": [_step(r) for r in records],
            "final_answer": answer if isinstance(answer, str) else None,
            "citations": citations_from(state.get("citations")),
            "quality_signals": quality_from(state.get("quality_signals")),
            "feedback": context.get("feedback"),
            "cost": cost,
            "metadata": {str(k): str(v) for k, v in (context.get("metadata") or {}).items()},
        },
    )
