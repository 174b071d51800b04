"""Saving and loading trained routers without pickle: skops with an explicit trusted-type list + a manifest.

Layout of a published router directory (``models/router_v2`` by default)::

    models/router_v2/
        current                 text file: the version directory in use (no symlink needed)
        20260601T101500Z-3f2a/
            model.skops         the calibrated classifier (skops format)
            exemplars.npy       training-request embeddings (models with an embedding block; explanations)
            exemplars.jsonl     their queries and workflows
            manifest.json       version, created_at, labels, featurizer config, metrics, sha256 of each file

Loading re-hashes every file listed in the manifest and refuses on any mismatch; skops refuses any type that
is not in :data:`TRUSTED_TYPES`.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Any

import skops.io as sio
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mm_orch.exceptions import ModelLoadError
from mm_orch.hashing import file_sha256
from mm_orch.routing.exemplars import EXEMPLAR_VECTORS, Exemplars
from mm_orch.routing.features import FeaturizerConfig
from mm_orch.routing.model import RouterModel

__all__ = [
    "MANIFEST_NAME",
    "MODEL_NAME",
    "TRUSTED_TYPES",
    "ModelManifest",
    "current_version",
    "load_model",
    "load_published",
    "new_version",
    "publish",
    "read_manifest",
    "save_model",
]

MANIFEST_NAME = "manifest.json"
MODEL_NAME = "model.skops"
CURRENT_NAME = "current"
FORMAT = "mm-orch-router/1"

#: The only non-default types skops may construct when loading a router (skops trusts numpy/scipy/sklearn
#: estimators it knows by default; these private sklearn helpers are what a calibrated classifier adds).
TRUSTED_TYPES: tuple[str, ...] = (
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._TemperatureScaling",
    "sklearn.frozen._frozen.FrozenEstimator",
)


class ModelManifest(BaseModel):
    """What a saved router is, how it was made and the hash of each of its files."""

    model_config = ConfigDict(extra="forbid")

    format: str = Field(default=FORMAT, description="Layout version of this directory.")
    version: str = Field(description="Version id (also the directory name when published).")
    created_at: float = Field(description="Unix time the model was saved.")
    labels: list[str] = Field(description="Workflows the model can choose, in probability-column order.")
    featurizer: FeaturizerConfig = Field(description="How requests were hashed into features.")
    files: dict[str, str] = Field(description="File name -> sha256 hex digest.")
    metrics: dict[str, Any] = Field(default_factory=dict, description="Held-out metrics at training time.")
    training: dict[str, Any] = Field(default_factory=dict, description="Data source, row counts, timings.")


def new_version() -> str:
    """A sortable, unique version id: UTC timestamp plus a random suffix."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(2)


def save_model(
    model: RouterModel,
    directory: str | Path,
    *,
    version: str | None = None,
    metrics: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
) -> ModelManifest:
    """Write ``model.skops`` and ``manifest.json`` into ``directory`` (created if needed)."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    sio.dump(model.classifier, out / MODEL_NAME)
    untrusted = set(sio.get_untrusted_types(file=out / MODEL_NAME)) - set(TRUSTED_TYPES)
    if untrusted:
        raise ModelLoadError(
            f"refusing to save a router whose file needs types outside TRUSTED_TYPES: {sorted(untrusted)}; "
            "add them to mm_orch.routing.persistence.TRUSTED_TYPES only after reviewing them"
        )
    names = [MODEL_NAME, *(model.exemplars.save(out) if model.exemplars is not None else [])]
    manifest = ModelManifest(
        version=version or out.name,
        created_at=time.time(),
        labels=list(model.classes),
        featurizer=model.featurizer.config,
        files={name: file_sha256(out / name) for name in names},
        metrics=metrics or {},
        training=training or {},
    )
    tmp = out / (MANIFEST_NAME + ".tmp")
    tmp.write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
    os.replace(tmp, out / MANIFEST_NAME)
    return manifest


def read_manifest(directory: str | Path) -> ModelManifest:
    """Read and validate ``manifest.json`` of a saved router."""
    path = Path(directory) / MANIFEST_NAME
    if not path.is_file():
        raise ModelLoadError(f"no router manifest at {path}; train one with `python -m router.train`")
    try:
        return ModelManifest.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as exc:
        raise ModelLoadError(f"router manifest {path} is invalid: {exc}") from exc


def load_model(directory: str | Path) -> tuple[RouterModel, ModelManifest]:
    """Load a saved router after checking every file's sha256 against its manifest."""
    root = Path(directory)
    manifest = read_manifest(root)
    if manifest.format != FORMAT:
        raise ModelLoadError(f"router at {root} has format {manifest.format!r}; this version reads {FORMAT!r}")
    for name, digest in manifest.files.items():
        path = root / name
        if not path.is_file():
            raise ModelLoadError(f"router file {path} listed in the manifest is missing; re-publish the model")
        actual = file_sha256(path)
        if actual != digest:
            raise ModelLoadError(
                f"sha256 mismatch for {path}: manifest says {digest[:16]}..., file is {actual[:16]}...; the file "
                "was modified or corrupted. Re-train or restore it; it will not be loaded."
            )
    try:
        classifier = sio.load(root / MODEL_NAME, trusted=list(TRUSTED_TYPES))
    except Exception as exc:  # skops raises UntrustedTypesFoundException, zip errors, ...
        raise ModelLoadError(
            f"could not load router model {root / MODEL_NAME}: {type(exc).__name__}: {exc}"
        ) from exc
    model = RouterModel(classifier, manifest.featurizer)
    if list(model.classes) != manifest.labels:
        raise ModelLoadError(
            f"router at {root}: model labels {model.classes} differ from manifest {manifest.labels}"
        )
    if EXEMPLAR_VECTORS in manifest.files:
        model.exemplars = Exemplars.load(root)
    if model.featurizer.uses_embedding and manifest.featurizer.embedding_probe:
        model.featurizer.embedder.check_probe(manifest.featurizer.embedding_probe)
    return model, manifest


def current_version(root: str | Path) -> str | None:
    """The version the ``current`` pointer of a published-router directory names, or None."""
    pointer = Path(root) / CURRENT_NAME
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    return name or None


def publish(
    model: RouterModel,
    root: str | Path,
    *,
    metrics: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
) -> ModelManifest:
    """Save ``model`` as a new version under ``root`` and point ``root/current`` at it (atomic rename)."""
    version = new_version()
    base = Path(root)
    manifest = save_model(model, base / version, version=version, metrics=metrics, training=training)
    tmp = base / (CURRENT_NAME + ".tmp")
    tmp.write_text(version + "\n", encoding="utf-8")
    os.replace(tmp, base / CURRENT_NAME)
    return manifest


def load_published(root: str | Path) -> tuple[RouterModel, ModelManifest]:
    """Load the version ``root/current`` points at (or ``root`` itself if it is a single saved model)."""
    base = Path(root)
    version = current_version(base)
    if version is None:
        if (base / MANIFEST_NAME).is_file():
            return load_model(base)
        raise ModelLoadError(
            f"no published router under {base} (no 'current' file and no manifest.json); train one with "
            f"`python -m router.train --traces DIR --output {base}` or let build_router bootstrap it"
        )
    if "/" in version or "\\" in version or version in {".", ".."}:
        raise ModelLoadError(f"{base / CURRENT_NAME} names {version!r}, which is not a version directory name")
    return load_model(base / version)
