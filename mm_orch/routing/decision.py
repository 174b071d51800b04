"""The routing contract: the seven workflows, :class:`RoutingDecision` and the :class:`Router` protocol.

Every router (rules, trained, cost-aware, the fallback chain) answers ``route(request) -> RoutingDecision``;
``request`` is a :class:`~mm_orch.schemas.UserRequest` or a plain question string.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from mm_orch.exceptions import RoutingError
from mm_orch.schemas import UserRequest

__all__ = [
    "FAMILIES",
    "WORKFLOWS",
    "Router",
    "RoutingDecision",
    "as_request",
    "family_of",
]

#: The seven built-in workflows, in a fixed order (class order of every trained model).
WORKFLOWS: tuple[str, ...] = (
    "search_qa",
    "search_qa_fast",
    "search_qa_strict_citations",
    "self_ask_search_qa",
    "rag_qa",
    "lesson_pack",
    "chat_generate",
)

#: Workflows that answer the same kind of request at different quality/cost points (variants of one family).
FAMILIES: dict[str, str] = {
    "search_qa": "search",
    "search_qa_fast": "search",
    "search_qa_strict_citations": "search",
    "self_ask_search_qa": "search",
    "rag_qa": "rag",
    "lesson_pack": "lesson",
    "chat_generate": "chat",
}


def family_of(workflow: str) -> str:
    """The family a workflow belongs to; an unknown workflow is its own family."""
    return FAMILIES.get(workflow, workflow)


class RoutingDecision(BaseModel):
    """Which workflow to run, how sure the router is, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    workflow: str = Field(description="The chosen workflow name.")
    confidence: float = Field(ge=0.0, le=1.0, description="Probability (or rule strength) of the choice.")
    alternatives: dict[str, float] = Field(
        default_factory=dict, description="Workflow -> score for every candidate, highest first."
    )
    router_version: str = Field(description="Which router answered: 'v1', 'v2', 'v3' or 'forced'.")
    reason: str = Field(default="", description="Human-readable why, including any fallbacks taken.")
    abstained: bool = Field(default=False, description="True when the router was unsure and a fallback decided.")
    fallbacks: list[str] = Field(
        default_factory=list, description="Routers that failed or abstained before this one answered."
    )


@runtime_checkable
class Router(Protocol):
    """Anything that routes a request to a workflow."""

    version: str

    def route(self, request: UserRequest | str) -> RoutingDecision:
        """Pick a workflow for ``request``."""
        ...


def as_request(request: UserRequest | str) -> UserRequest:
    """Accept a :class:`UserRequest` or a plain question string; reject anything else with a clear error."""
    if isinstance(request, UserRequest):
        return request
    if isinstance(request, str):
        if not request.strip():
            raise RoutingError("Cannot route an empty question: got ''. Pass a non-empty string or a UserRequest.")
        return UserRequest(query=request)
    raise RoutingError(
        f"Cannot route a {type(request).__name__}: expected mm_orch.schemas.UserRequest or str. "
        "Wrap the question as UserRequest(query=...)."
    )
