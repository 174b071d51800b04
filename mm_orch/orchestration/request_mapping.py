"""From a UserRequest to a workflow's initial state, and from a final state to a WorkflowResult.

Both phases use these, so the same question reaches the same steps with the same inputs either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mm_orch.orchestration.runtime import Runtime
from mm_orch.orchestration.trace_builder import citations_from
from mm_orch.schemas import UserRequest, WorkflowResult

__all__ = ["RESULT_KEYS", "as_user_request", "initial_state", "result_from_state", "trace_metadata"]

#: State keys that become WorkflowResult fields rather than ``outputs``.
RESULT_KEYS = frozenset({"answer", "citations", "question"})
#: Extra state keys surfaced in ``WorkflowResult.outputs`` when a workflow writes them.
OUTPUT_KEYS = (
    "lesson",
    "quality_signals",
    "sub_questions",
    "sub_answers",
    "refused",
    "sources",
    "retrieved_titles",
)


def as_user_request(request: UserRequest | str | Mapping[str, Any]) -> UserRequest:
    """Accept a UserRequest, a question string, or a dict of UserRequest fields."""
    if isinstance(request, UserRequest):
        return request
    if isinstance(request, str):
        return UserRequest(query=request)
    if isinstance(request, Mapping):
        return UserRequest.model_validate(dict(request))
    raise TypeError(
        f"process_request() takes a UserRequest, a question string or a dict, got {type(request).__name__}"
    )


def initial_state(request: UserRequest, runtime: Runtime | None) -> dict[str, Any]:
    """The state a workflow starts from: the question plus whatever context the request carries."""
    state: dict[str, Any] = {"question": request.query}
    history = [t.model_dump() for t in request.history]
    if request.session_id:
        state["session_id"] = request.session_id
        if not history and runtime is not None:
            history = [t.model_dump() for t in runtime.sessions.history(request.session_id)]
    if history:
        state["history"] = history
    if request.collection:
        state["collection"] = request.collection
    if request.documents:
        state["documents"] = list(request.documents)
    constraints = request.constraints.model_dump(exclude_defaults=True)
    if constraints:
        state["constraints"] = constraints
    return state


def trace_metadata(request: UserRequest) -> dict[str, str]:
    """Request context the router learns from, recorded in the trace's metadata."""
    return {
        "has_collection": str(bool(request.collection)).lower(),
        "has_documents": str(bool(request.documents)).lower(),
        "history_turns": str(len(request.history)),
        "require_citations": str(request.constraints.require_citations).lower(),
    }


def result_from_state(
    state: Mapping[str, Any],
    *,
    workflow: str,
    trace_id: str,
    request: UserRequest,
    metadata: dict[str, Any],
) -> WorkflowResult:
    """A successful run's WorkflowResult."""
    answer = state.get("answer")
    outputs = {k: _plain(state[k]) for k in OUTPUT_KEYS if k in state}
    return WorkflowResult(
        answer=answer if isinstance(answer, str) else "",
        workflow=workflow,
        citations=citations_from(state.get("citations")),
        trace_id=trace_id,
        request_id=request.request_id,
        outputs=outputs,
        metadata=metadata,
    )


def _plain(value: Any) -> Any:
    from mm_orch.orchestration.state import thaw

    return thaw(value)
