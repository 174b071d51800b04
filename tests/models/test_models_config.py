"""Config, metadata and parameter schemas (fast)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

import mm_orch.models as models
from mm_orch.exceptions import ConfigError
from mm_orch.models import (
    GenerationParams,
    HubSource,
    ModelMetadata,
    ModelsConfig,
    embedded_defaults,
    load_models_config,
    resolve_cache_dir,
)

REPO = Path(__file__).resolve().parents[2]


def test_public_api_is_pinned() -> None:
    assert sorted(models.__all__) == sorted(
        [
            "CACHE_DIR_ENV", "CONFIG_ENV", "BaseEmbedder", "BaseGenerator", "ChatMessage", "ContextLengthError",
            "DefaultsConfig", "FakeEmbedder", "FakeGenerator", "GGUFPart", "GenerationParams", "GenerationResult",
            "HubSource", "LoadRecord", "LoadedModel", "ModelManager",
            "ModelMetadata", "ModelOutputError", "ModelRequestError", "ModelSource", "ModelsConfig",
            "PackageDirSource", "PackageGGUFPartsSource", "PackageGGUFSource", "PathSource", "embedded_defaults", "fake_metadata", "get_model_manager",
            "load_models_config", "resolve_cache_dir", "set_model_manager", "summarize_messages",
        ]
    )  # fmt: skip
    for name in models.__all__:
        assert hasattr(models, name), name


def test_importing_the_package_does_not_import_torch_or_vllm() -> None:
    import subprocess
    import sys

    code = "import sys, mm_orch.models; print('torch' in sys.modules, 'vllm' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_generation_params_defaults_and_limits() -> None:
    p = GenerationParams()
    assert p.greedy
    assert p.max_tokens == 256
    assert p.stop == []
    assert p.json_schema is None
    assert not GenerationParams(temperature=0.7).greedy
    with pytest.raises(ValidationError, match="max_tokens"):
        GenerationParams(max_tokens=0)
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        GenerationParams(max_new_tokens=5)  # type: ignore[call-arg]


def test_metadata_refuses_mixed_roles() -> None:
    with pytest.raises(ValidationError, match="mix 'embed' with generation"):
        ModelMetadata(
            name="x", capabilities=["embed", "chat"], backend="transformers", source=HubSource(repo_id="a/b")
        )
    with pytest.raises(ValidationError, match="only embeds"):
        ModelMetadata(
            name="x", capabilities=["generate"], backend="sentence_transformers", source=HubSource(repo_id="a/b")
        )


def test_config_checks_defaults_point_at_models_of_the_right_role() -> None:
    raw = embedded_defaults().model_dump(mode="json")
    raw["defaults"]["generator"] = "nope"
    with pytest.raises(ValidationError, match=r"defaults.generator = 'nope' is not a configured model; options:"):
        ModelsConfig.model_validate(raw)
    raw["defaults"]["generator"] = "minilm-l6"
    with pytest.raises(ValidationError, match="pick a model that generates"):
        ModelsConfig.model_validate(raw)
    raw = embedded_defaults().model_dump(mode="json")
    raw["models"].append(raw["models"][0])
    with pytest.raises(ValidationError, match=r"duplicated: \['smollm2-135m'\]"):
        ModelsConfig.model_validate(raw)


def test_local_yaml_states_the_embedded_defaults() -> None:
    assert load_models_config(REPO / "config" / "models.yaml") == embedded_defaults()


def test_gpu_yaml_names_a_large_model_with_tensor_parallelism() -> None:
    cfg = load_models_config(REPO / "config" / "models.gpu.yaml")
    gen = cfg.get(cfg.defaults.generator)
    assert gen is not None
    assert gen.backend == "vllm"
    assert gen.device == "cuda"
    assert "8B" in gen.source.repo_id  # type: ignore[union-attr]
    assert gen.engine_args["tensor_parallel_size"] == 2


def test_load_models_config_errors_name_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_models_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("defaults: {generator: a, embedder: b}\nmodels: []\nextra_key: 1\n")
    with pytest.raises(ConfigError, match=r"bad.yaml is invalid:\n  extra_key: unknown key"):
        load_models_config(bad)
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_models_config(bad)
    monkeypatch.setenv("MM_ORCH_MODELS_CONFIG", str(REPO / "config" / "models.gpu.yaml"))
    assert load_models_config().defaults.generator == "llama-3.1-8b-instruct"


def test_cache_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MM_ORCH_CACHE_DIR", raising=False)
    assert resolve_cache_dir().parts[-2:] == ("mm-orch", "models")
    assert resolve_cache_dir(tmp_path / "cfg") == tmp_path / "cfg"
    monkeypatch.setenv("MM_ORCH_CACHE_DIR", str(tmp_path / "env"))
    assert resolve_cache_dir(tmp_path / "cfg") == tmp_path / "env"
