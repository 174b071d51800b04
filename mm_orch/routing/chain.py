"""The fallback chain (v3 -> v2 -> v1), its context and abstention policy, and ``build_router(config)``.

The chain asks its routers in order; a router whose model is missing, fails to load or raises at run time is
skipped (logged, and named in the decision's ``fallbacks``). A request with ``workflow`` set is not routed: the
decision says ``router_version="forced"``. RouterV1 never needs files, so a chain ending in it always answers.

Then :class:`ChainPolicy` applies the request's context, in this order, each step recorded in the decision's
``source``, ``reason`` and ``explanation.chain``:

1. a ``context["workflow_hint"]`` is followed unless the router is very sure of another family;
2. inside a session, the previous workflow is kept unless the new one is clearly more probable;
3. when the trained router's calibrated confidence is below ``abstain_threshold``, the language model picks
   among the router's top candidates (or RouterV1 / the default workflow decides, as configured).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from mm_orch.exceptions import ConfigError, RoutingError
from mm_orch.routing.config import RouterConfig
from mm_orch.routing.context import RoutingContext, SessionMemory, apply_hint, apply_stickiness
from mm_orch.routing.costs import CostTable
from mm_orch.routing.decision import ChainStep, Router, RoutingDecision, RoutingExplanation, as_request
from mm_orch.routing.router_v1 import RouterV1
from mm_orch.routing.router_v2 import RouterV2
from mm_orch.routing.router_v3 import RouterV3
from mm_orch.routing.second_opinion import LMSecondOpinion
from mm_orch.schemas import UserRequest

__all__ = ["ChainPolicy", "RouterChain", "build_router"]

logger = logging.getLogger(__name__)


@dataclass
class ChainPolicy:
    """What the chain does with a router's answer (see the module docstring). The defaults change nothing."""

    abstain_threshold: float = 0.0
    abstain_to: Literal["lm", "v1", "default"] = "lm"
    second_opinion: LMSecondOpinion | None = None
    candidates: int = 3
    fallback: Router | None = None
    default_workflow: str = "search_qa"
    stickiness_margin: float = 0.2
    hint_override: float = 0.9
    memory: SessionMemory = field(default_factory=SessionMemory)

    def apply(self, decision: RoutingDecision, req: UserRequest, ctx: RoutingContext) -> RoutingDecision:
        """The final decision for ``req`` given the first router's ``decision``."""
        explanation = decision.explanation or RoutingExplanation()
        decision = decision.model_copy(
            update={"explanation": explanation.model_copy(update={"context": ctx.as_strings()})}
        )
        if ctx.hint is not None:
            hinted = apply_hint(decision, ctx, override=self.hint_override)
            if hinted.source == "hint":
                return hinted
            decision = hinted
        sticky = apply_stickiness(decision, ctx, margin=self.stickiness_margin)
        if sticky.source == "session" or ctx.in_session:
            return sticky
        return self._abstain(sticky, req)

    def _abstain(self, decision: RoutingDecision, req: UserRequest) -> RoutingDecision:
        exp = decision.explanation or RoutingExplanation()
        if decision.source != "model" or not exp.probabilities:
            return decision  # only a trained model's calibrated confidence is compared with the threshold
        best, p = next(iter(exp.probabilities.items()))
        if p >= self.abstain_threshold:
            return decision.model_copy(
                update={"explanation": exp.model_copy(update={"threshold": self.abstain_threshold})}
            )
        why = f"unsure: calibrated p({best})={p:.2f} < abstain_threshold {self.abstain_threshold:.2f}"
        exp = exp.model_copy(update={"threshold": self.abstain_threshold})
        if self.abstain_to == "lm" and self.second_opinion is not None:
            candidates = list(exp.probabilities)[: self.candidates]
            opinion = self.second_opinion.ask(req.query, candidates)
            exp = exp.model_copy(update={"second_opinion": opinion})
            if opinion.choice is None:
                step = ChainStep(router="lm", outcome="failed", detail=opinion.error or "no usable answer")
                return decision.model_copy(update={
                    "abstained": True, "explanation": exp.model_copy(update={"chain": [*exp.chain, step]}),
                    "reason": f"{decision.reason}; {why}; the LM gave no usable answer ({opinion.error}); "
                              f"kept {decision.workflow!r}",
                })  # fmt: skip
            agreed = "agrees" if opinion.choice == best else f"overrides the router's {best!r}"
            step = ChainStep(router="lm", outcome="answered", detail=f"chose {opinion.choice!r} ({agreed})")
            return decision.model_copy(update={
                "workflow": opinion.choice, "confidence": round(exp.probabilities.get(opinion.choice, p), 6),
                "abstained": True, "source": "lm", "fallbacks": [*decision.fallbacks, decision.router_version],
                "explanation": exp.model_copy(update={"chain": [*exp.chain, step]}),
                "reason": f"{decision.reason}; {why}; the LM {opinion.model} chose {opinion.choice!r} among "
                          f"{candidates} ({agreed})",
            })  # fmt: skip
        if self.abstain_to == "v1" and self.fallback is not None:
            inner = self.fallback.route(req)
            inner_steps = inner.explanation.chain if inner.explanation else []
            return inner.model_copy(update={
                "abstained": True, "fallbacks": [*decision.fallbacks, decision.router_version, *inner.fallbacks],
                "reason": f"{why}; {inner.router_version} decided: {inner.reason}",
                "explanation": exp.model_copy(update={"chain": [*exp.chain, *inner_steps],
                                                      "rules": inner.explanation.rules if inner.explanation else []}),
            })  # fmt: skip
        step = ChainStep(
            router="default", outcome="answered", detail=f"default_workflow {self.default_workflow!r}"
        )
        return decision.model_copy(update={
            "workflow": self.default_workflow, "abstained": True, "source": "default",
            "confidence": round(exp.probabilities.get(self.default_workflow, 0.0), 6),
            "fallbacks": [*decision.fallbacks, decision.router_version],
            "explanation": exp.model_copy(update={"chain": [*exp.chain, step]}),
            "reason": f"{why}; using default_workflow {self.default_workflow!r}",
        })  # fmt: skip


class RouterChain:
    """Routers tried in order until one answers; the decision records which one did and who failed before."""

    def __init__(self, routers: Sequence[Router], *, policy: ChainPolicy | None = None) -> None:
        if not routers:
            raise ConfigError("RouterChain needs at least one router; e.g. RouterChain([RouterV1()])")
        self.routers = list(routers)
        self.version = self.routers[0].version
        self.policy = policy or ChainPolicy()

    @property
    def model_version(self) -> str | None:
        """Version of the trained model the chain scores with (None for rules only or before warm-up)."""
        for router in self.routers:
            version = getattr(router, "model_version", None) or getattr(
                getattr(router, "v2", None), "model_version", None
            )
            if version:
                return str(version)
        return None

    def warm_up(self) -> None:
        """Load every router's model now (failures are logged; routing will fall back past them)."""
        for router in self.routers:
            warm = getattr(router, "warm_up", None)
            if warm is None:
                continue
            try:
                warm()
            except Exception as exc:  # noqa: BLE001 - logged; route() falls back past this router and records why
                logger.warning(
                    "router %s failed to warm up (%s: %s); will fall back", router.version, type(exc).__name__, exc
                )

    def route(self, request: UserRequest | str) -> RoutingDecision:
        """Route with the first router that succeeds, then apply the context/abstention policy."""
        req = as_request(request)
        if req.workflow:
            decision = RoutingDecision(
                workflow=req.workflow,
                confidence=1.0,
                alternatives={req.workflow: 1.0},
                router_version="forced",
                reason="workflow chosen by the caller",
                source="forced",
                explanation=RoutingExplanation(chain=[ChainStep(router="forced", outcome="answered")]),
            )
        else:
            ctx = RoutingContext.of(req, self.policy.memory)
            decision = self.policy.apply(self._first_answer(req), req, ctx)
        if req.session_id:
            self.policy.memory.remember(req.session_id, decision.workflow)
        return decision

    def _first_answer(self, req: UserRequest) -> RoutingDecision:
        failures: list[str] = []
        errors: list[str] = []
        steps: list[ChainStep] = []
        for router in self.routers:
            try:
                decision = router.route(req)
            except Exception as exc:  # noqa: BLE001 - any router failure means "ask the next one"; recorded in the decision
                logger.warning("router %s failed (%s: %s); falling back", router.version, type(exc).__name__, exc)
                failures.append(router.version)
                errors.append(f"{router.version}: {type(exc).__name__}: {exc}")
                steps.append(
                    ChainStep(router=router.version, outcome="failed", detail=f"{type(exc).__name__}: {exc}")
                )
                continue
            if not failures:
                return decision
            exp = decision.explanation or RoutingExplanation()
            return decision.model_copy(
                update={
                    "fallbacks": [*failures, *decision.fallbacks],
                    "reason": f"fell back past {', '.join(failures)} ({'; '.join(errors)}); {decision.reason}",
                    "explanation": exp.model_copy(update={"chain": [*steps, *exp.chain]}),
                }
            )
        raise RoutingError(
            f"every router in the chain failed for {req.query[:80]!r}: {'; '.join(errors)}. "
            "Add RouterV1 at the end of the chain (build_router does) so routing cannot fail."
        )


def _config(config: RouterConfig | Mapping[str, Any] | None) -> RouterConfig:
    if isinstance(config, RouterConfig):
        return config
    try:
        return RouterConfig.model_validate(dict(config or {}))
    except ValidationError as exc:
        from mm_orch.yaml_config import explain_validation_error

        problems = "; ".join(line.strip() for line in explain_validation_error(exc).splitlines())
        raise ConfigError(
            f"invalid router config: {problems}. Allowed keys: {', '.join(sorted(RouterConfig.model_fields))}"
        ) from exc


def build_router(config: RouterConfig | Mapping[str, Any] | None = None) -> RouterChain:
    """The configured chain: v3 -> v2 -> v1, v2 -> v1 or v1, sharing one loaded model between v3 and v2."""
    cfg = _config(config)
    v1 = RouterV1(default_workflow=cfg.default_workflow)
    if cfg.version == "v1":
        return RouterChain([v1])
    policy = ChainPolicy(
        abstain_threshold=cfg.abstain_threshold,
        abstain_to=cfg.abstain_to,
        second_opinion=LMSecondOpinion(cfg.second_opinion_model) if cfg.abstain_to == "lm" else None,
        candidates=cfg.second_opinion_candidates,
        fallback=v1,
        default_workflow=cfg.default_workflow,
        stickiness_margin=cfg.stickiness_margin,
        hint_override=cfg.hint_override,
    )
    # The chain owns abstention (it applies to v3 too), so v2 itself never defers.
    v2 = RouterV2(
        cfg.classifier_path(),
        abstain_threshold=0.0,
        default_workflow=cfg.default_workflow,
        bootstrap=cfg.bootstrap,
        bootstrap_path=Path(cfg.bootstrap_path) if cfg.bootstrap_path else None,
        features=cfg.features,
    )
    if cfg.version == "v2":
        return RouterChain([v2, v1], policy=policy)
    costs = CostTable()
    if cfg.cost_traces:
        try:
            from mm_orch.routing.trace_io import read_trace_records

            costs = CostTable.from_traces(read_trace_records(cfg.cost_traces))
        except Exception as exc:  # noqa: BLE001 - a broken cost file must not stop routing; the priors still work
            logger.warning("could not read cost traces %s (%s); using built-in cost priors", cfg.cost_traces, exc)
    v3 = RouterV3(v2, costs=costs, cost_lambda=cfg.cost_lambda)
    return RouterChain([v3, v2, v1], policy=policy)
