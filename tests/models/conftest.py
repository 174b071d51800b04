"""Fixtures for the model-layer tests: fake-backed configs (fast) and one prepared SmolLM2 folder per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mm_orch.models import (
    DefaultsConfig,
    ModelsConfig,
    embedded_defaults,
    fake_metadata,
)

CURIE = (
    "Context: Marie Curie was born in Warsaw in 1867.\n"
    "Question: In which city was Marie Curie born? Answer with the city name only."
)
TOM = "Context: Tom's favourite colour is green.\nQuestion: What is Tom's favourite colour?"
CITY_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


fake_meta = fake_metadata


@pytest.fixture
def fake_config() -> ModelsConfig:
    """Two fake generators and one fake embedder."""
    return ModelsConfig(
        defaults=DefaultsConfig(generator="gen", embedder="emb"),
        models=[
            fake_meta("gen", script={"capital": "Paris is the capital.", "json": '{"city": "Paris"} trailing'}),
            fake_meta("gen2"),
            fake_meta("emb", embed=True, dimension=128),
        ],
    )


@pytest.fixture(scope="session")
def models_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache dir holding SmolLM2 converted once for the session ($MM_ORCH_TEST_CACHE_DIR reuses one)."""
    from mm_orch.models.prepare import prepare_model

    reuse = os.environ.get("MM_ORCH_TEST_CACHE_DIR")
    cache = Path(reuse) if reuse else tmp_path_factory.mktemp("models-cache")
    meta = embedded_defaults().get("smollm2-135m")
    assert meta is not None
    prepare_model(meta, cache, show_progress=False)
    return cache
