"""Fake-model configs for the deployment servers (no weights, no Ray)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mm_orch.models import DefaultsConfig, ModelMetadata, ModelsConfig, PathSource


def _fake(name: str, *, embed: bool = False, **engine_args: Any) -> ModelMetadata:
    return ModelMetadata(
        name=name,
        capabilities=["embed"] if embed else ["generate", "chat", "summarize"],
        backend="fake",
        source=PathSource(path=Path("/nonexistent")),
        memory_gb=0.01,
        engine_args=dict(engine_args),
    )


@pytest.fixture
def fake_models_yaml(tmp_path: Path) -> Path:
    """A models YAML with a scripted fake generator ('gen') and a fake embedder ('emb')."""
    config = ModelsConfig(
        defaults=DefaultsConfig(generator="gen", embedder="emb"),
        models=[
            _fake("gen", script={"France": "Paris is the capital of France [1]."}),
            _fake("emb", embed=True, dimension=32),
        ],
    )
    path = tmp_path / "models.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")), encoding="utf-8")
    return path
