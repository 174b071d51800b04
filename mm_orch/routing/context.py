"""Request context for routing: session stickiness and the caller's workflow hint.

A route sees more than the text. :class:`RoutingContext` collects what the request carries besides its query:

* an open chat session (``session_id``, ``history``) and the workflow its previous turn ran
  (``context["previous_workflow"]``, else what this process's :class:`SessionMemory` remembers);
* whether the user has an ingested collection (``collection``, or ``context["has_collection"]``, which the
  orchestrator fills from the document store); the trained model uses it as a feature;
* an explicit hint (``context["workflow_hint"]``): a soft choice, unlike ``workflow`` which forces one.

:func:`apply_hint` and :func:`apply_stickiness` adjust a router's decision with that context, and always say
so in the decision (``source`` and ``reason``): a follow-up inside a session keeps its workflow unless the
new one is clearly more probable, and the decision records why it switched or stayed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from mm_orch.routing.decision import WORKFLOWS, ChainStep, RoutingDecision, RoutingExplanation, family_of
from mm_orch.schemas import UserRequest

__all__ = ["RoutingContext", "SessionMemory", "apply_hint", "apply_stickiness"]


def _truthy(value: object) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "y"}


@dataclass(frozen=True, slots=True)
class RoutingContext:
    """What a route knows about a request besides its text."""

    session_id: str | None = None
    history_turns: int = 0
    has_collection: bool = False
    hint: str | None = None
    previous_workflow: str | None = None

    @classmethod
    def of(cls, request: UserRequest, memory: SessionMemory | None = None) -> RoutingContext:
        """The context of ``request`` (the previous workflow from the request, else from ``memory``)."""
        extra = request.context
        previous = extra.get("previous_workflow")
        if not previous and request.session_id and memory is not None:
            previous = memory.get(request.session_id)
        hint = extra.get("workflow_hint")
        return cls(
            session_id=request.session_id,
            history_turns=len(request.history),
            has_collection=bool(request.collection) or _truthy(extra.get("has_collection", False)),
            hint=str(hint) if hint else None,
            previous_workflow=str(previous) if previous else None,
        )

    @property
    def in_session(self) -> bool:
        """True for a follow-up inside an open session."""
        return self.previous_workflow is not None and (self.session_id is not None or self.history_turns > 0)

    def as_strings(self) -> dict[str, str]:
        """The context as the explanation records it (only what is set)."""
        out = {"has_collection": str(self.has_collection).lower(), "history_turns": str(self.history_turns)}
        for key in ("session_id", "hint", "previous_workflow"):
            value = getattr(self, key)
            if value:
                out[key] = str(value)
        return out


class SessionMemory:
    """The last workflow each session ran (bounded LRU, thread-safe; this process only)."""

    def __init__(self, max_sessions: int = 10_000) -> None:
        self.max_sessions = max_sessions
        self._data: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session_id: str) -> str | None:
        with self._lock:
            return self._data.get(session_id)

    def remember(self, session_id: str, workflow: str) -> None:
        with self._lock:
            self._data.pop(session_id, None)
            self._data[session_id] = workflow
            while len(self._data) > self.max_sessions:
                self._data.popitem(last=False)


def _with(decision: RoutingDecision, step: ChainStep, **update: object) -> RoutingDecision:
    explanation = decision.explanation or RoutingExplanation()
    return decision.model_copy(
        update={**update, "explanation": explanation.model_copy(update={"chain": [*explanation.chain, step]})}
    )


def _probabilities(decision: RoutingDecision) -> dict[str, float]:
    if decision.explanation and decision.explanation.probabilities:
        return decision.explanation.probabilities
    return decision.alternatives


def apply_hint(decision: RoutingDecision, ctx: RoutingContext, *, override: float = 0.9) -> RoutingDecision:
    """Follow the caller's hint unless the router is at least ``override`` sure of another family."""
    hint = ctx.hint
    if hint is None:
        return decision
    if hint not in WORKFLOWS:
        return _with(decision, ChainStep(router="hint", outcome="overruled", detail=f"unknown workflow {hint!r}"),
                     reason=f"{decision.reason}; ignored hint {hint!r} (not a workflow: {', '.join(WORKFLOWS)})")  # fmt: skip
    if hint == decision.workflow:
        return _with(decision, ChainStep(router="hint", outcome="answered", detail="agrees with the router"),
                     reason=f"{decision.reason}; the hint {hint!r} agrees")  # fmt: skip
    p_top = _probabilities(decision).get(decision.workflow, decision.confidence)
    if p_top >= override and family_of(decision.workflow) != family_of(hint):
        detail = f"hint {hint!r} overruled: p({decision.workflow})={p_top:.2f} >= {override:.2f}"
        return _with(decision, ChainStep(router="hint", outcome="overruled", detail=detail),
                     reason=f"{decision.reason}; {detail}")  # fmt: skip
    p_hint = _probabilities(decision).get(hint, 0.0)
    detail = f"caller's hint {hint!r} (router preferred {decision.workflow!r}, p={p_top:.2f}; hint p={p_hint:.2f})"
    return _with(decision, ChainStep(router="hint", outcome="answered", detail=detail),
                 workflow=hint, confidence=round(max(p_hint, 0.5), 6), source="hint", reason=detail)  # fmt: skip


def apply_stickiness(decision: RoutingDecision, ctx: RoutingContext, *, margin: float = 0.2) -> RoutingDecision:
    """Inside a session, keep the previous workflow unless the new one is ``margin`` more probable.

    Either way the decision's reason says what happened and why."""
    prev = ctx.previous_workflow
    if not ctx.in_session or prev is None or prev not in WORKFLOWS:
        return decision
    if prev == decision.workflow:
        return decision.model_copy(
            update={"reason": f"{decision.reason}; same workflow as the session's last turn"}
        )
    probs = _probabilities(decision)
    p_new, p_prev = probs.get(decision.workflow, decision.confidence), probs.get(prev, 0.0)
    if p_new - p_prev >= margin:
        detail = (
            f"switched from the session's {prev!r}: p({decision.workflow})={p_new:.2f} exceeds p({prev})={p_prev:.2f} "
            f"by >= {margin:.2f}"
        )
        return _with(decision, ChainStep(router="session", outcome="overruled", detail=detail),
                     reason=f"{decision.reason}; {detail}")  # fmt: skip
    detail = (
        f"kept the session's {prev!r}: p({decision.workflow})={p_new:.2f} is not {margin:.2f} above "
        f"p({prev})={p_prev:.2f}"
    )
    return _with(decision, ChainStep(router="session", outcome="answered", detail=detail),
                 workflow=prev, confidence=round(p_prev, 6), source="session", reason=detail)  # fmt: skip
