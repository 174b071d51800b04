"""The fallback chain (v3 -> v2 -> v1) and ``build_router(config)``.

The chain asks its routers in order; a router whose model is missing, fails to load or raises at run time is
skipped (logged, and named in the decision's ``fallbacks``). A request with ``workflow`` set is not routed: the
decision says ``router_version="forced"``. RouterV1 never needs files, so a chain ending in it always answers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mm_orch.exceptions import ConfigError, RoutingError
from mm_orch.routing.config import RouterConfig
from mm_orch.routing.costs import CostTable
from mm_orch.routing.decision import Router, RoutingDecision, as_request
from mm_orch.routing.router_v1 import RouterV1
from mm_orch.routing.router_v2 import RouterV2
from mm_orch.routing.router_v3 import RouterV3
from mm_orch.schemas import UserRequest

__all__ = ["RouterChain", "build_router"]

logger = logging.getLogger(__name__)


class RouterChain:
    """Routers tried in order until one answers; the decision records which one did and who failed before."""

    def __init__(self, routers: Sequence[Router]) -> None:
        if not routers:
            raise ConfigError("RouterChain needs at least one router; e.g. RouterChain([RouterV1()])")
        self.routers = list(routers)
        self.version = self.routers[0].version

    def warm_up(self) -> None:
        """Load every router's model now (failures are logged; routing will fall back past them)."""
        for router in self.routers:
            warm = getattr(router, "warm_up", None)
            if warm is None:
                continue
            try:
                warm()
            except Exception as exc:
                logger.warning(
                    "router %s failed to warm up (%s: %s); will fall back", router.version, type(exc).__name__, exc
                )

    def route(self, request: UserRequest | str) -> RoutingDecision:
        """Route with the first router that succeeds."""
        req = as_request(request)
        if req.workflow:
            return RoutingDecision(
                workflow=req.workflow,
                confidence=1.0,
                alternatives={req.workflow: 1.0},
                router_version="forced",
                reason="workflow chosen by the caller",
            )
        failures: list[str] = []
        errors: list[str] = []
        for router in self.routers:
            try:
                decision = router.route(req)
            except Exception as exc:
                logger.warning("router %s failed (%s: %s); falling back", router.version, type(exc).__name__, exc)
                failures.append(router.version)
                errors.append(f"{router.version}: {type(exc).__name__}: {exc}")
                continue
            if not failures:
                return decision
            return decision.model_copy(
                update={
                    "fallbacks": [*failures, *decision.fallbacks],
                    "reason": f"fell back past {', '.join(failures)} ({'; '.join(errors)}); {decision.reason}",
                }
            )
        raise RoutingError(
            f"every router in the chain failed for {req.query[:80]!r}: {'; '.join(errors)}. "
            "Add RouterV1 at the end of the chain (build_router does) so routing cannot fail."
        )


def build_router(config: RouterConfig | Mapping[str, Any] | None = None) -> RouterChain:
    """The configured chain: v3 -> v2 -> v1, v2 -> v1 or v1, sharing one loaded model between v3 and v2."""
    try:
        cfg = config if isinstance(config, RouterConfig) else RouterConfig.model_validate(dict(config or {}))
    except ValidationError as exc:
        raise ConfigError(f"invalid router config: {exc}") from exc
    v1 = RouterV1(default_workflow=cfg.default_workflow)
    if cfg.version == "v1":
        return RouterChain([v1])
    v2 = RouterV2(
        cfg.model_path,
        abstain_threshold=cfg.abstain_threshold,
        abstain_to=v1 if cfg.abstain_to == "v1" else None,
        default_workflow=cfg.default_workflow,
        bootstrap=cfg.bootstrap,
        bootstrap_path=Path(cfg.bootstrap_path) if cfg.bootstrap_path else None,
    )
    if cfg.version == "v2":
        return RouterChain([v2, v1])
    costs = CostTable()
    if cfg.cost_traces:
        try:
            from mm_orch.routing.trace_io import read_trace_records

            costs = CostTable.from_traces(read_trace_records(cfg.cost_traces))
        except Exception as exc:
            logger.warning("could not read cost traces %s (%s); using built-in cost priors", cfg.cost_traces, exc)
    # v3 scores with v2's probabilities; its own abstain never triggers (v3 always decides), so v2 in the chain
    # only runs when v3 itself failed.
    v3 = RouterV3(v2, costs=costs, cost_lambda=cfg.cost_lambda)
    return RouterChain([v3, v2, v1])
