"""cluster/: the KubeRay manifests embed the same application as config/serve.yaml; the retrain script's
helpers build the right job and config update."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from ray.serve.schema import ServeDeploySchema

from serve import load_serve_config, parse_args

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "cluster"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("submit_retrain", CLUSTER / "submit_retrain.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rayservice_serves_the_production_application() -> None:
    manifest = yaml.safe_load((CLUSTER / "kuberay" / "rayservice.yaml").read_text())
    assert manifest["kind"] == "RayService"
    embedded = ServeDeploySchema.model_validate(yaml.safe_load(manifest["spec"]["serveConfigV2"]))
    (prod,) = load_serve_config(ROOT / "config" / "serve.yaml").applications
    (app,) = embedded.applications
    assert app.import_path == prod.import_path
    assert parse_args(app.args) == parse_args(prod.args)
    mine = {d.name: d for d in app.deployments}
    theirs = {d.name: d for d in prod.deployments}
    assert mine.keys() == theirs.keys()
    for name, dep in theirs.items():
        assert mine[name].ray_actor_options == dep.ray_actor_options, name
        assert mine[name].user_config == dep.user_config, name
        assert mine[name].health_check_period_s == dep.health_check_period_s, name
        assert mine[name].health_check_timeout_s == dep.health_check_timeout_s, name
        for key in ("min_replicas", "max_replicas", "target_ongoing_requests"):
            assert mine[name].autoscaling_config[key] == dep.autoscaling_config[key], (name, key)
    gpu_group = next(
        g for g in manifest["spec"]["rayClusterConfig"]["workerGroupSpecs"] if g["groupName"] == "gpu"
    )
    gpus = int(gpu_group["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"])
    assert gpus >= mine["LLM"].ray_actor_options.num_gpus


def test_rayjob_runs_the_router_training_entrypoint() -> None:
    job = yaml.safe_load((CLUSTER / "kuberay" / "rayjob-train-router.yaml").read_text())
    assert job["kind"] == "RayJob"
    assert job["spec"]["entrypoint"].startswith("python -m router.train --traces /mnt/traces/serve --output ")


def test_cluster_launcher_config_is_complete() -> None:
    cfg = yaml.safe_load((CLUSTER / "ray-cluster.yaml").read_text())
    assert cfg["head_node_type"] in cfg["available_node_types"]
    assert any("pip install -e" in c for c in cfg["setup_commands"])


def test_retrain_script_builds_the_job_and_the_reload() -> None:
    script = _script()
    assert script.train_entrypoint("/t", "/m r", force=True) == (
        "python -m router.train --traces /t --output '/m r' --no-progress --force"
    )
    config = yaml.safe_load((ROOT / "config" / "serve.yaml").read_text())
    bumped = script.bump_router_revision(config, "20270101T000000Z-abcd")
    router = next(d for d in bumped["applications"][0]["deployments"] if d["name"] == "Router")
    assert router["user_config"]["revision"] == "20270101T000000Z-abcd"
    assert router["user_config"]["router"]["version"] == "v3"  # everything else kept
    ServeDeploySchema.model_validate(bumped)
    with pytest.raises(SystemExit, match="no Router deployment in application 'x'"):
        script.bump_router_revision(config, "r", app="x")
