"""Routing: pick the workflow for a request.

``RouterV1`` (rules, always available), ``RouterV2`` (trained, calibrated, abstains when unsure),
``RouterV3`` (cost-aware over workflow variants) and the fallback chain ``build_router(config)`` builds.
Every router answers ``route(request) -> RoutingDecision``.
"""

# Lazy exports (PEP 562): importing a light submodule such as mm_orch.routing.config or router_v1 must not pull
# in scikit-learn and skops (several seconds of import), which only the trained routers need.
from mm_orch._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "CostTable": "mm_orch.routing.costs",
    "Featurizer": "mm_orch.routing.features",
    "FeaturizerConfig": "mm_orch.routing.features",
    "LabelledExample": "mm_orch.routing.training",
    "ModelManifest": "mm_orch.routing.persistence",
    "RequestContext": "mm_orch.routing.features",
    "Router": "mm_orch.routing.decision",
    "RouterChain": "mm_orch.routing.chain",
    "RouterConfig": "mm_orch.routing.config",
    "RouterMetrics": "mm_orch.routing.metrics",
    "RouterModel": "mm_orch.routing.model",
    "RouterV1": "mm_orch.routing.router_v1",
    "RouterV2": "mm_orch.routing.router_v2",
    "RouterV3": "mm_orch.routing.router_v3",
    "RoutingDecision": "mm_orch.routing.decision",
    "WORKFLOWS": "mm_orch.routing.decision",
    "WorkflowCost": "mm_orch.routing.costs",
    "as_request": "mm_orch.routing.decision",
    "build_router": "mm_orch.routing.chain",
    "load_examples": "mm_orch.routing.training",
    "load_published": "mm_orch.routing.persistence",
    "publish": "mm_orch.routing.persistence",
    "train_bootstrap": "mm_orch.routing.training",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
