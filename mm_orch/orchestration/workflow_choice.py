"""Which workflow a request runs: the one rule for forced, routed, unregistered and Phase A fallback choices.

Both orchestrators (and through them the CLI and the Serve app) decide with these functions:

- **forced** (``request.workflow`` set): that workflow runs, or :class:`~mm_orch.exceptions.WorkflowNotFoundError`
  lists the registered ones. A forced workflow is never substituted.
- **routed**: the router's choice runs when it is registered. When it is not, its *stand-in* runs — the first
  registered workflow of the same family (``search_qa_fast`` -> ``search_qa``; see
  :data:`~mm_orch.routing.decision.FAMILIES`), else ``search_qa``, else the first registered one — and the
  substitution is logged and recorded in the trace (``router_reason`` and ``metadata['router_chose']``).
- **Phase A fallback** (a Phase B run failed, or Phase B is off): the Phase A pipeline for the *same* workflow
  runs (:func:`phase_a_pipeline_for`); the request is never routed again, so the fallback cannot answer with a
  different kind of workflow than the one that failed.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from mm_orch.exceptions import WorkflowNotFoundError, format_options
from mm_orch.routing.decision import WORKFLOWS, RoutingDecision, family_of
from mm_orch.schemas import UserRequest

__all__ = ["DEFAULT_WORKFLOW", "WorkflowChoice", "choose_workflow", "phase_a_pipeline_for", "stand_in_for"]

log = logging.getLogger(__name__)

#: What runs when nothing better is available.
DEFAULT_WORKFLOW = "search_qa"


@dataclass(frozen=True, slots=True)
class WorkflowChoice:
    """The workflow to run and how it was chosen (the trace's routing fields)."""

    workflow: str
    forced: bool
    router_version: str
    confidence: float
    alternatives: Mapping[str, float] = field(default_factory=dict)
    reason: str = ""
    #: The workflow the router named when it is not registered and ``workflow`` stands in for it.
    substituted_for: str | None = None

    def trace_fields(self) -> dict[str, Any]:
        """The routing fields of the run's trace context."""
        return {
            "router_version": self.router_version,
            "router_confidence": self.confidence,
            "router_alternatives": dict(self.alternatives),
            "router_reason": self.reason,
            "workflow_forced": self.forced,
        }


def stand_in_for(workflow: str, available: Collection[str]) -> str | None:
    """The workflow to run in place of ``workflow`` when it is unavailable: itself if available, else the first
    available workflow of its family (in :data:`WORKFLOWS` order), else ``search_qa``, else None."""
    if workflow in available:
        return workflow
    family = family_of(workflow)
    for candidate in (*WORKFLOWS, *sorted(available)):
        if candidate in available and family_of(candidate) == family:
            return candidate
    return DEFAULT_WORKFLOW if DEFAULT_WORKFLOW in available else None


def choose_workflow(
    request: UserRequest, registered: Collection[str], decision: RoutingDecision | None
) -> WorkflowChoice:
    """Apply the rule above. ``decision`` is the router's answer; it is not consulted for a forced request."""
    if request.workflow is not None:
        if request.workflow not in registered:
            raise WorkflowNotFoundError(
                f"workflow {request.workflow!r} is not registered; registered workflows: "
                f"{format_options(registered)}. Check the spelling, or register it with "
                f"workflow_registry.register(WorkflowDefinition(...))"
            )
        return WorkflowChoice(request.workflow, forced=True, router_version="forced", confidence=1.0)
    if decision is None:
        raise ValueError("choose_workflow() needs the router's decision for a request that forces no workflow")
    chosen = decision.workflow
    routed = WorkflowChoice(
        chosen,
        forced=False,
        router_version=decision.router_version,
        confidence=decision.confidence,
        alternatives=dict(decision.alternatives),
        reason=decision.reason,
    )
    if chosen in registered:
        return routed
    stand_in = stand_in_for(chosen, registered) or min(registered, default=None)
    if stand_in is None:
        raise WorkflowNotFoundError(
            f"the router chose {chosen!r} but no workflow is registered; register workflows (config/workflows/) "
            f"or check registries.workflows_dir in phase_b.yaml"
        )
    log.warning(
        "router %s chose %r, which is not registered; running %r", decision.router_version, chosen, stand_in
    )
    reason = f"{decision.reason}; the router chose {chosen!r}, which is not registered: ran {stand_in!r} instead"
    return replace(routed, workflow=stand_in, reason=reason.lstrip("; "), substituted_for=chosen)


def phase_a_pipeline_for(workflow: str, pipelines: Collection[str]) -> str:
    """The Phase A pipeline that answers what ``workflow`` answers: itself, else its family's stand-in."""
    pipeline = stand_in_for(workflow, pipelines)
    if pipeline is None or family_of(pipeline) != family_of(workflow):
        raise WorkflowNotFoundError(
            f"workflow {workflow!r} has no Phase A pipeline among the enabled ones ({format_options(pipelines)}); "
            f"enable its pipeline in config/system.yaml (workflows:) or force a workflow that has one"
        )
    return pipeline
