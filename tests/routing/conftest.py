"""Fixtures for routing tests: the curated dataset's split and one router trained on it per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from mm_orch.routing.dataset import LabelledExample, load_requests, split_train_validation
from mm_orch.routing.model import RouterModel
from mm_orch.routing.persistence import ModelManifest
from mm_orch.routing.training import train_bootstrap


@pytest.fixture(scope="session")
def curated_split() -> tuple[list[LabelledExample], list[LabelledExample]]:
    """(train, validation) of data/router/requests/train_*.jsonl, as first-use training splits it."""
    return split_train_validation(load_requests())


@pytest.fixture(scope="session")
def validation_examples(
    curated_split: tuple[list[LabelledExample], list[LabelledExample]],
) -> list[LabelledExample]:
    return curated_split[1]


@pytest.fixture(scope="session")
def published_router(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RouterModel, ModelManifest]:
    """The default router (n-grams + MiniLM embedding) trained on the curated train split (~10-30 s)."""
    root = tmp_path_factory.mktemp("router_v2")
    model, manifest = train_bootstrap(root)
    return root, model, manifest


@pytest.fixture(scope="session")
def ngram_router(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RouterModel, ModelManifest]:
    """The pure n-gram router trained on the same split (~3 s)."""
    root = tmp_path_factory.mktemp("router_ngram")
    model, manifest = train_bootstrap(root, embedding=False)
    return root, model, manifest
