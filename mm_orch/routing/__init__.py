"""Routing: pick the workflow for a request.

``RouterV1`` (rules, always available), ``RouterV2`` (trained, calibrated, abstains when unsure),
``RouterV3`` (cost-aware over workflow variants) and the fallback chain ``build_router(config)`` builds.
Every router answers ``route(request) -> RoutingDecision``.
"""

from mm_orch.routing.chain import RouterChain, build_router
from mm_orch.routing.config import RouterConfig
from mm_orch.routing.costs import CostTable, WorkflowCost
from mm_orch.routing.decision import WORKFLOWS, Router, RoutingDecision, as_request
from mm_orch.routing.features import Featurizer, FeaturizerConfig, RequestContext
from mm_orch.routing.metrics import RouterMetrics
from mm_orch.routing.model import RouterModel
from mm_orch.routing.persistence import ModelManifest, load_published, publish
from mm_orch.routing.router_v1 import RouterV1
from mm_orch.routing.router_v2 import RouterV2
from mm_orch.routing.router_v3 import RouterV3
from mm_orch.routing.training import LabelledExample, load_examples, train_bootstrap

__all__ = [
    "WORKFLOWS",
    "CostTable",
    "Featurizer",
    "FeaturizerConfig",
    "LabelledExample",
    "ModelManifest",
    "RequestContext",
    "Router",
    "RouterChain",
    "RouterConfig",
    "RouterMetrics",
    "RouterModel",
    "RouterV1",
    "RouterV2",
    "RouterV3",
    "RoutingDecision",
    "WorkflowCost",
    "as_request",
    "build_router",
    "load_examples",
    "load_published",
    "publish",
    "train_bootstrap",
]
