import mm_orch.routing as routing
import router


def test_routing_public_api_is_pinned() -> None:
    assert sorted(routing.__all__) == sorted([
        "WORKFLOWS", "CostTable", "Featurizer", "FeaturizerConfig", "LabelledExample", "ModelManifest",
        "RequestContext", "Router", "RouterChain", "RouterConfig", "RouterMetrics", "RouterModel", "RouterV1",
        "RouterV2", "RouterV3", "RoutingDecision", "WorkflowCost", "as_request", "build_router", "load_examples",
        "load_published", "publish", "train_bootstrap",
    ])  # fmt: skip
    for name in routing.__all__:
        assert hasattr(routing, name), name


def test_router_package_public_api_is_pinned() -> None:
    assert sorted(router.__all__) == sorted(
        ["LabelRule", "TrainReport", "TrainSettings", "label_from_row", "label_from_trace", "run_training"]
    )


def test_guide_import_path_works() -> None:
    from mm_orch.routing.router_v1 import RouterV1

    assert RouterV1().route("What is Python?").workflow in routing.WORKFLOWS
