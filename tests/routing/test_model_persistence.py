from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from sklearn.preprocessing import FunctionTransformer

from mm_orch.exceptions import ModelLoadError
from mm_orch.routing.dataset import LabelledExample
from mm_orch.routing.decision import WORKFLOWS
from mm_orch.routing.features import RequestContext
from mm_orch.routing.model import RouterModel
from mm_orch.routing.persistence import (
    MANIFEST_NAME,
    MODEL_NAME,
    TRUSTED_TYPES,
    ModelManifest,
    current_version,
    load_model,
    load_published,
    publish,
)


def test_fast_probabilities_equal_sklearn(
    published_router: tuple[Path, RouterModel, ModelManifest], validation_examples: list[LabelledExample]
) -> None:
    _, model, _ = published_router
    sample = validation_examples[:60]
    batch = model.predict_proba([e.query for e in sample], [e.context for e in sample])
    # MiniLM runs in float32 and a padded batch differs from a single sentence in the last bits, so the two
    # paths agree to float32 precision (the n-gram-only path is exact; see test_ngram_fast_path_is_exact).
    for e, row in zip(sample, batch, strict=True):
        np.testing.assert_allclose(model.predict_proba_one(e.query, e.context), row, atol=1e-6)


def test_ngram_fast_path_is_exact(
    ngram_router: tuple[Path, RouterModel, ModelManifest], validation_examples: list[LabelledExample]
) -> None:
    _, model, _ = ngram_router
    sample = validation_examples[:60]
    batch = model.predict_proba([e.query for e in sample], [e.context for e in sample])
    for e, row in zip(sample, batch, strict=True):
        np.testing.assert_allclose(model.predict_proba_one(e.query, e.context), row, atol=1e-9)


def test_published_layout_and_manifest(published_router: tuple[Path, RouterModel, ModelManifest]) -> None:
    root, model, manifest = published_router
    assert current_version(root) == manifest.version
    on_disk = json.loads((root / manifest.version / MANIFEST_NAME).read_text())
    assert set(on_disk["labels"]) == set(WORKFLOWS)
    assert len(on_disk["files"][MODEL_NAME]) == 64
    assert on_disk["metrics"]["validation"]["n"] > 400
    loaded, m2 = load_published(root)
    assert m2.version == manifest.version
    q, ctx = "Who taught the teacher of Alan Turing?", RequestContext(mode="chat")
    assert loaded.featurizer.config == model.featurizer.config
    np.testing.assert_allclose(loaded.predict_proba_one(q, ctx), model.predict_proba_one(q, ctx))


def test_tampered_model_file_is_refused(
    published_router: tuple[Path, RouterModel, ModelManifest], tmp_path: Path
) -> None:
    _, model, _ = published_router
    manifest = publish(model, tmp_path)
    path = tmp_path / manifest.version / MODEL_NAME
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match="sha256 mismatch"):
        load_published(tmp_path)


def test_untrusted_types_are_refused_even_with_matching_hash(
    published_router: tuple[Path, RouterModel, ModelManifest], tmp_path: Path
) -> None:
    import hashlib

    _, model, _ = published_router
    manifest = publish(model, tmp_path)
    folder = tmp_path / manifest.version
    sio.dump(FunctionTransformer(func=os.system), folder / MODEL_NAME)  # a function reference: not trusted
    m = ModelManifest.model_validate_json((folder / MANIFEST_NAME).read_text())
    m.files[MODEL_NAME] = hashlib.sha256((folder / MODEL_NAME).read_bytes()).hexdigest()
    (folder / MANIFEST_NAME).write_text(m.model_dump_json())
    with pytest.raises(ModelLoadError, match="could not load router model"):
        load_model(folder)
    assert not any("system" in t for t in TRUSTED_TYPES)


def test_current_pointer_moves_and_rejects_paths(
    published_router: tuple[Path, RouterModel, ModelManifest], tmp_path: Path
) -> None:
    _, model, _ = published_router
    first = publish(model, tmp_path)
    second = publish(model, tmp_path)
    assert first.version != second.version
    assert load_published(tmp_path)[1].version == second.version
    (tmp_path / "current").write_text("../elsewhere")
    with pytest.raises(ModelLoadError, match="not a version directory name"):
        load_published(tmp_path)


def test_missing_model_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"no published router under .*python -m router.train"):
        load_published(tmp_path)
