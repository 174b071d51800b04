"""Fixtures for routing tests: one router trained from the bootstrap dataset per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from mm_orch.routing.model import RouterModel
from mm_orch.routing.persistence import ModelManifest
from mm_orch.routing.training import LabelledExample, load_examples, train_bootstrap


@pytest.fixture(scope="session")
def bootstrap_examples() -> list[LabelledExample]:
    return load_examples()


@pytest.fixture(scope="session")
def published_router(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RouterModel, ModelManifest]:
    """A router trained on the bootstrap train split and published under a session temp dir (~5 s)."""
    root = tmp_path_factory.mktemp("router_v2")
    model, manifest = train_bootstrap(root)
    return root, model, manifest
