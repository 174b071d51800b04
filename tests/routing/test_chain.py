from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mm_orch.exceptions import ConfigError, RoutingError
from mm_orch.routing.chain import RouterChain, build_router
from mm_orch.routing.config import RouterConfig
from mm_orch.routing.decision import RoutingDecision
from mm_orch.routing.model import RouterModel
from mm_orch.routing.persistence import MODEL_NAME, ModelManifest, publish
from mm_orch.routing.router_v1 import RouterV1
from mm_orch.schemas import UserRequest

GUIDE_BLOCK = """
router:
  version: v3
  model_path: {path}
"""


def test_guide_config_block_builds_v3_chain(published_router: tuple[Path, RouterModel, ModelManifest]) -> None:
    cfg = yaml.safe_load(GUIDE_BLOCK.format(path=published_router[0]))["router"]
    chain = build_router(cfg)
    assert [r.version for r in chain.routers] == ["v3", "v2", "v1"]
    d = chain.route("Quiz me on the periodic table")
    assert d.router_version == "v3"
    assert d.workflow == "lesson_pack"
    assert d.fallbacks == []


def test_config_rejects_unknown_keys_and_accepts_lambda_alias() -> None:
    with pytest.raises(ConfigError, match="modle_path"):
        build_router({"version": "v2", "modle_path": "x"})
    assert RouterConfig.model_validate({"lambda": 0.7}).cost_lambda == 0.7
    with pytest.raises(ConfigError, match="version"):
        build_router({"version": "v9"})


def test_v1_only_chain_needs_no_files() -> None:
    chain = build_router({"version": "v1"})
    assert chain.route("Write a haiku about tea").router_version == "v1"


def test_corrupt_model_falls_back_to_v1_and_says_why(
    published_router: tuple[Path, RouterModel, ModelManifest], tmp_path: Path
) -> None:
    manifest = publish(published_router[1], tmp_path)
    (tmp_path / manifest.version / MODEL_NAME).write_bytes(b"not a model")
    d = build_router({"version": "v3", "model_path": str(tmp_path)}).route("Teach me long division")
    assert d.router_version == "v1"
    assert d.fallbacks == ["v3", "v2"]
    assert "sha256 mismatch" in d.reason
    assert d.workflow == "lesson_pack"


def test_missing_model_without_bootstrap_falls_back(tmp_path: Path) -> None:
    d = build_router({"version": "v2", "model_path": str(tmp_path), "bootstrap": False}).route("hi there")
    assert d.router_version == "v1"
    assert d.fallbacks == ["v2"]


class _Broken:
    version = "vX"

    def route(self, request: UserRequest | str) -> RoutingDecision:
        raise ValueError("boom at run time")


def test_run_time_failure_falls_back_and_all_failing_raises() -> None:
    d = RouterChain([_Broken(), RouterV1()]).route("hello")
    assert d.router_version == "v1"
    assert d.fallbacks == ["vX"]
    assert "boom at run time" in d.reason
    with pytest.raises(RoutingError, match=r"every router in the chain failed.*boom at run time"):
        RouterChain([_Broken()]).route("hello")
    with pytest.raises(ConfigError, match="at least one router"):
        RouterChain([])


def test_forced_workflow_is_not_routed() -> None:
    d = build_router({"version": "v1"}).route(UserRequest(query="anything", workflow="lesson_pack"))
    assert (d.workflow, d.router_version, d.confidence) == ("lesson_pack", "forced", 1.0)


def test_cli_routes_jsonl_with_config(
    published_router: tuple[Path, RouterModel, ModelManifest], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from mm_orch.routing.__main__ import main

    cfg = tmp_path / "phase_b.yaml"
    cfg.write_text(GUIDE_BLOCK.format(path=published_router[0]))
    reqs = tmp_path / "in.jsonl"
    reqs.write_text(
        json.dumps({"query": "Quiz me on the periodic table", "id": "a"})
        + "\n"
        + json.dumps({"query": "What is our refund policy?", "documents": ["policy.pdf"], "id": "b"})
        + "\n"
    )
    assert main(["--jsonl", str(reqs), "--config", str(cfg)]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(d["id"], d["workflow"], d["router_version"]) for d in lines] == [
        ("a", "lesson_pack", "v3"),
        ("b", "rag_qa", "v3"),
    ]
    assert main(["--explain", "--config", str(cfg), "Quiz me on the periodic table"]) == 0
    text = capsys.readouterr().out
    assert "workflow: lesson_pack" in text
    assert "top alternatives" in text
    assert "chain: v3 answered" in text
