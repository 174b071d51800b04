"""config/serve.yaml and config/serve.local.yaml: valid for Serve's own schema and for build_app's args."""

from __future__ import annotations

from pathlib import Path

import pytest
from ray.serve.schema import ServeDeploySchema

from mm_orch.exceptions import ConfigError
from serve import ServeAppArgs, load_serve_config, parse_args, set_router_user_config
from serve.app import build_app

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ["serve.yaml", "serve.local.yaml"]


def _deployment_names(app: object) -> set[str]:
    """Names of every deployment bound into an Application (walks the bound arguments)."""
    names: set[str] = set()
    stack = [app]
    while stack:
        node = stack.pop()
        bound = getattr(node, "_bound_deployment", None)
        if bound is None:
            continue
        names.add(bound.name)
        args = [*getattr(bound, "init_args", ()), *getattr(bound, "init_kwargs", {}).values()]
        stack.extend(a for a in args if hasattr(a, "_bound_deployment"))
    return names


@pytest.mark.parametrize("name", CONFIGS)
def test_config_validates_with_serves_schema_and_our_args(name: str) -> None:
    config = load_serve_config(ROOT / "config" / name)
    assert isinstance(config, ServeDeploySchema)
    (app,) = config.applications
    assert app.import_path == "serve.app:build_app"
    assert app.route_prefix == "/"
    args = parse_args(app.args)
    assert isinstance(args, ServeAppArgs)
    declared = {d.name for d in app.deployments}
    assert declared == _deployment_names(build_app(app.args)) == {"Ingress", "Router", "LLM", "Embedder"}
    router = next(d for d in app.deployments if d.name == "Router")
    assert isinstance(router.user_config, dict)
    assert router.user_config["router"]["version"] == "v3"


def test_production_config_asks_for_gpus_and_autoscales() -> None:
    (app,) = load_serve_config(ROOT / "config" / "serve.yaml").applications
    by_name = {d.name: d for d in app.deployments}
    assert by_name["LLM"].ray_actor_options.num_gpus == 2  # tensor_parallel_size: 2 in models.gpu.yaml
    assert parse_args(app.args).models_config == "config/models.gpu.yaml"
    for name in ("Ingress", "Router", "LLM", "Embedder"):
        scaling = by_name[name].autoscaling_config
        assert scaling is not None, name
        assert scaling["max_replicas"] > scaling["min_replicas"] >= 1, name


def test_local_config_runs_on_cpus_only() -> None:
    (app,) = load_serve_config(ROOT / "config" / "serve.local.yaml").applications
    assert all(not getattr(d.ray_actor_options, "num_gpus", None) for d in app.deployments)
    assert parse_args(app.args).models_config is None  # the embedded offline defaults


def test_invalid_args_and_configs_are_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"limits.max_body_bytes: .*\(got 1\)"):
        parse_args({"limits": {"max_body_bytes": 1}})
    with pytest.raises(ConfigError, match=r"llm_modle: unknown key \(value 'x'\); remove it or fix its spelling"):
        parse_args({"llm_modle": "x"})
    bad = tmp_path / "serve.yaml"
    bad.write_text("applications:\n  - import_path: serve.app:build_app\n    args: {warm_up: maybe}\n")
    with pytest.raises(ConfigError, match="warm_up"):
        load_serve_config(bad)
    with pytest.raises(ConfigError, match=r"Serve config .*nope.yaml"):
        load_serve_config(tmp_path / "nope.yaml")


def test_set_router_user_config_edits_the_router_only() -> None:
    config = load_serve_config(ROOT / "config" / "serve.local.yaml")
    set_router_user_config(config, {"router": {"version": "v1"}, "revision": "r2"})
    router = next(d for d in config.applications[0].deployments if d.name == "Router")
    assert router.user_config == {"router": {"version": "v1"}, "revision": "r2"}
    with pytest.raises(ConfigError, match="no Router deployment in application 'other'"):
        set_router_user_config(config, {}, app="other")


def test_feedback_goes_beside_the_traces_unless_configured(tmp_path: Path) -> None:
    from serve.app import _feedback_store
    from serve.config import parse_args

    beside = _feedback_store(parse_args({"tracing": {"parquet_dir": str(tmp_path / "traces")}}))
    assert beside.path == tmp_path / "traces" / "feedback" / "feedback.jsonl"
    chosen = _feedback_store(parse_args({"tracing": {"feedback_path": str(tmp_path / "fb.jsonl")}}))
    assert chosen.path == tmp_path / "fb.jsonl"


@pytest.mark.parametrize("name", ["serve.yaml", "serve.local.yaml"])
def test_every_deployment_has_its_health_check_wired(name: str) -> None:
    (app,) = load_serve_config(ROOT / "config" / name).applications
    for dep in app.deployments:
        assert dep.health_check_period_s is not None, (name, dep.name)
        assert dep.health_check_period_s <= 30, (name, dep.name)
        assert dep.health_check_timeout_s is not None, (name, dep.name)
        assert dep.health_check_timeout_s >= 30, (name, dep.name)
