"""Fixtures shared by the whole suite.

Tests that need Ray take the ``ray_cluster`` fixture: one local cluster per test session, shut down at the end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    """A local Ray cluster shared by every test in the session (2 CPUs)."""
    ray = pytest.importorskip("ray")
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield ray
    try:
        from ray import serve

        serve.shutdown()
    except Exception:  # noqa: BLE001 - teardown: a Serve that cannot shut down must not fail the session
        pass
    ray.shutdown()


@pytest.fixture
def fake_models_yaml(tmp_path: Any) -> Any:
    """A models YAML with a scripted fake generator ('gen') and a fake embedder ('emb'); no weights."""
    import yaml

    from mm_orch.models import DefaultsConfig, ModelsConfig, fake_metadata

    config = ModelsConfig(
        defaults=DefaultsConfig(generator="gen", embedder="emb"),
        models=[
            fake_metadata("gen", script={"France": "Paris is the capital of France [1]."}),
            fake_metadata("emb", embed=True, dimension=32),
        ],
    )
    path = tmp_path / "models.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")), encoding="utf-8")
    return path
