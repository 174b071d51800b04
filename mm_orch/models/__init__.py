"""The model layer: one interface per role (generate/chat/summarize, embed) over transformers, vLLM and
sentence-transformers, a lazy thread-safe model manager, and the configuration that names the models.

Quick use::

    from mm_orch.models import get_model_manager, GenerationParams

    llm = get_model_manager().get_model("default")          # SmolLM2-135M-Instruct, fully offline
    llm.generate("The capital of France is", GenerationParams(max_tokens=8)).text
    get_model_manager().get_model("embedder").embed(["a", "b"])   # (2, 384) float32, L2-normalised

Importing this package imports neither torch nor vLLM; a backend is imported when its first model loads.
"""

from mm_orch.models.backends.base import BaseEmbedder, BaseGenerator, summarize_messages
from mm_orch.models.backends.fake import FakeEmbedder, FakeGenerator, fake_metadata
from mm_orch.models.config import (
    CACHE_DIR_ENV,
    CONFIG_ENV,
    DefaultsConfig,
    ModelsConfig,
    embedded_defaults,
    load_models_config,
    resolve_cache_dir,
)
from mm_orch.models.errors import ContextLengthError, ModelOutputError, ModelRequestError
from mm_orch.models.manager import LoadedModel, LoadRecord, ModelManager, get_model_manager, set_model_manager
from mm_orch.models.metadata import (
    GGUFPart,
    HubSource,
    ModelMetadata,
    ModelSource,
    PackageDirSource,
    PackageGGUFPartsSource,
    PackageGGUFSource,
    PathSource,
)
from mm_orch.models.params import ChatMessage, GenerationParams, GenerationResult

__all__ = [
    "CACHE_DIR_ENV",
    "CONFIG_ENV",
    "BaseEmbedder",
    "BaseGenerator",
    "ChatMessage",
    "ContextLengthError",
    "DefaultsConfig",
    "FakeEmbedder",
    "FakeGenerator",
    "GGUFPart",
    "GenerationParams",
    "GenerationResult",
    "HubSource",
    "LoadRecord",
    "LoadedModel",
    "ModelManager",
    "ModelMetadata",
    "ModelOutputError",
    "ModelRequestError",
    "ModelSource",
    "ModelsConfig",
    "PackageDirSource",
    "PackageGGUFPartsSource",
    "PackageGGUFSource",
    "PathSource",
    "embedded_defaults",
    "fake_metadata",
    "get_model_manager",
    "load_models_config",
    "resolve_cache_dir",
    "set_model_manager",
    "summarize_messages",
]
