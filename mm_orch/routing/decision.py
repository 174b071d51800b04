"""The routing contract: the seven workflows, :class:`RoutingDecision` and the :class:`Router` protocol.

Every router (rules, trained, cost-aware, the fallback chain) answers ``route(request) -> RoutingDecision``;
``request`` is a :class:`~mm_orch.schemas.UserRequest` or a plain question string.
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from mm_orch.exceptions import RoutingError
from mm_orch.schemas import UserRequest

__all__ = [
    "FAMILIES",
    "WORKFLOWS",
    "ChainStep",
    "DecisionSource",
    "Router",
    "RoutingDecision",
    "RoutingExplanation",
    "SecondOpinion",
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

#: The five request families of data/router/requests/LABELS.md: the search variants answer the same kind of
#: request at different quality/cost points; quality targets (recall per family) are stated over families.
FAMILIES: dict[str, str] = {
    "search_qa": "search",
    "search_qa_fast": "search",
    "search_qa_strict_citations": "search",
    "self_ask_search_qa": "multi_hop",
    "rag_qa": "rag",
    "lesson_pack": "lesson",
    "chat_generate": "chat",
}


def family_of(workflow: str) -> str:
    """The family a workflow belongs to; an unknown workflow is its own family."""
    return FAMILIES.get(workflow, workflow)


#: Who made the final choice: a trained model, the rules, the language model's second opinion, the session
#: (stickiness), the caller's hint, the caller's forced workflow, or the configured default.
DecisionSource = Literal["model", "rules", "lm", "session", "hint", "forced", "default"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChainStep(_Frozen):
    """What one router of the chain did with the request."""

    router: str = Field(description="Router version ('v3', 'v2', 'v1', 'lm', ...).")
    outcome: Literal["answered", "abstained", "failed", "overruled"] = Field(description="What happened.")
    detail: str = Field(default="", description="Why (error, probability against threshold, ...).")


class SecondOpinion(_Frozen):
    """The language model's constrained zero-shot choice for a request the router was unsure about."""

    model: str = Field(description="Configured model that answered.")
    choice: str | None = Field(description="The workflow it chose (None when its answer was unusable).")
    candidates: list[str] = Field(description="The workflow names it was allowed to choose from.")
    text: str = Field(default="", description="Its raw output.")
    latency_ms: float = Field(default=0.0, ge=0.0, description="Wall time of the call.")
    error: str | None = Field(default=None, description="Why no opinion came back, when none did.")


class RoutingExplanation(_Frozen):
    """Why a decision came out as it did: every field is cheap enough to compute on every request."""

    chain: list[ChainStep] = Field(default_factory=list, description="Each router asked, in order.")
    probabilities: dict[str, float] = Field(
        default_factory=dict, description="Calibrated probability of the top workflows (highest first)."
    )
    uncalibrated: dict[str, float] = Field(
        default_factory=dict, description="The same before temperature calibration."
    )
    features: list[tuple[str, float]] = Field(
        default_factory=list,
        description="Features that pushed the model's choice over the runner-up: (feature, logit margin).",
    )
    exemplars: list[tuple[str, str, float]] = Field(
        default_factory=list, description="Most similar training requests: (query, workflow, cosine)."
    )
    rules: list[str] = Field(default_factory=list, description="Rules that fired (RouterV1).")
    model_version: str | None = Field(default=None, description="Published model version that scored it.")
    model_choice: str | None = Field(default=None, description="What the model alone would have chosen.")
    threshold: float | None = Field(default=None, description="Calibrated confidence below which it abstains.")
    second_opinion: SecondOpinion | None = Field(default=None, description="The LM's opinion, when asked.")
    context: dict[str, str] = Field(default_factory=dict, description="Request context the route used.")


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
    source: DecisionSource = Field(default="model", description="Who made the final choice.")
    explanation: RoutingExplanation | None = Field(default=None, description="Why; see RoutingExplanation.")


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
