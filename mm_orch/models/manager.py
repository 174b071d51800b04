"""The model manager: lazy, thread-safe, one copy per process of each configured model.

``get_model(name)`` loads a model on first use (preparing packaged weights if needed) and returns the same
object afterwards, however many threads ask at once. ``load_history`` (append-only) and ``token_count``
(cumulative completion tokens) let the executor attribute loads and tokens to the step that caused them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from mm_orch.exceptions import ModelLoadError, ModelNotFoundError, format_options
from mm_orch.models.backends.base import BaseEmbedder, BaseGenerator
from mm_orch.models.config import DefaultsConfig, ModelsConfig, load_models_config, resolve_cache_dir
from mm_orch.models.errors import ModelRequestError
from mm_orch.models.metadata import GGUF_SOURCES, ModelMetadata
from mm_orch.singletons import ProcessSingleton

if TYPE_CHECKING:  # the registry module imports mm_orch.models (metadata); a runtime import here would cycle
    from mm_orch.registries.model_registry import ModelRegistry

__all__ = [
    "LoadRecord",
    "LoadedModel",
    "ModelManager",
    "get_model_manager",
    "set_model_manager",
]

LoadedModel = BaseGenerator | BaseEmbedder
ALIASES = ("default", "embedder")


class LoadRecord(BaseModel):
    """One model load."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Configured model name.")
    backend: str = Field(description="Backend that loaded it.")
    seconds: float = Field(ge=0.0, description="Wall time of the load, preparation included.")
    device: str = Field(description="Device policy it was loaded under.")
    started_at: float = Field(description="Unix time (s) the load began.")


class ModelManager:
    """Loads the models of its :class:`~mm_orch.registries.ModelRegistry` on first use and keeps one copy of
    each. Cheap to construct."""

    def __init__(
        self,
        registry: ModelRegistry,
        defaults: DefaultsConfig,
        *,
        cache_dir: Path | None = None,
        check_memory: bool = True,
        show_progress: bool = True,
    ) -> None:
        self.registry = registry
        self.defaults = defaults
        self.cache_dir = cache_dir if cache_dir is not None else resolve_cache_dir()
        self.check_memory = check_memory
        self.show_progress = show_progress
        self.load_history: list[LoadRecord] = []
        self.token_count = 0
        self._models: dict[str, LoadedModel] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._calls: dict[str, int] = {}

    @classmethod
    def from_config(cls, config: ModelsConfig | str | Path | None = None, **kwargs: Any) -> ModelManager:
        """A manager over a models config (object, YAML path, or None for ``$MM_ORCH_MODELS_CONFIG``/defaults)."""
        from mm_orch.registries.model_registry import ModelRegistry

        cfg = config if isinstance(config, ModelsConfig) else load_models_config(config)
        kwargs.setdefault("cache_dir", resolve_cache_dir(cfg.cache_dir))
        return cls(ModelRegistry(cfg.models), cfg.defaults, **kwargs)

    # --- lookup --------------------------------------------------------------------------------------------
    def resolve(self, name: str) -> str:
        """The configured model name behind ``name`` ('default' and 'embedder' are aliases)."""
        return {"default": self.defaults.generator, "embedder": self.defaults.embedder}.get(name, name)

    def metadata(self, name: str) -> ModelMetadata:
        """Metadata of ``name`` (aliases resolved); ModelNotFoundError listing the options otherwise."""
        real = self.resolve(name)
        if real not in self.registry:
            options = [*self.registry.list_all(), *ALIASES]
            raise ModelNotFoundError(
                f"model {name!r} is not configured; options: {format_options(options)}. Add it to the models "
                f"config (config/models.yaml) or pick one of these"
            )
        return self.registry.get(real)

    # --- loading -------------------------------------------------------------------------------------------
    def get_model(self, name: str = "default") -> LoadedModel:
        """The loaded model called ``name``, loading it once on first use (thread-safe)."""
        real = self.resolve(name)
        model = self._models.get(real)
        if model is None:
            meta = self.metadata(name)
            with self._guard:
                lock = self._locks.setdefault(real, threading.Lock())
            with lock:
                model = self._models.get(real)
                if model is None:
                    model = self._load(meta)
                    with self._guard:
                        self._models[real] = model
        with self._guard:
            self._calls[real] = self._calls.get(real, 0) + 1
        return model

    async def aget_model(self, name: str = "default") -> LoadedModel:
        """Async :meth:`get_model`: a first-use load runs in a worker thread, not on the event loop."""
        real = self.resolve(name)
        if real in self._models:
            return self.get_model(real)
        return await asyncio.to_thread(self.get_model, real)

    def get_generator(self, name: str = "default") -> BaseGenerator:
        """:meth:`get_model` for a model that generates; ModelRequestError if ``name`` is an embedder."""
        model = self.get_model(name)
        if not isinstance(model, BaseGenerator):
            raise ModelRequestError(f"model {name!r} is an embedder; ask for a generator such as 'default'")
        return model

    def get_embedder(self, name: str = "embedder") -> BaseEmbedder:
        """:meth:`get_model` for an embedding model; ModelRequestError if ``name`` generates text."""
        model = self.get_model(name)
        if not isinstance(model, BaseEmbedder):
            raise ModelRequestError(f"model {name!r} generates text; ask for an embedder such as 'embedder'")
        return model

    def warm_up(self, names: list[str] | None = None) -> None:
        """Load ``names`` (default: the default generator and embedder) now instead of on first use."""
        for name in names or list(ALIASES):
            self.get_model(name)

    def _add_tokens(self, n: int) -> None:
        with self._guard:
            self.token_count += n

    def _load(self, meta: ModelMetadata) -> LoadedModel:
        if self.check_memory:
            self._check_memory(meta)
        started_at = time.time()
        start = time.perf_counter()
        model = self._build(meta)
        record = LoadRecord(
            name=meta.name,
            backend=meta.backend,
            seconds=time.perf_counter() - start,
            device=meta.device,
            started_at=started_at,
        )
        with self._guard:
            self.load_history.append(record)
        return model

    def _build(self, meta: ModelMetadata) -> LoadedModel:
        from mm_orch.models.sources import local_folder

        if meta.backend == "fake":
            from mm_orch.models.backends.fake import FakeEmbedder, FakeGenerator

            return FakeEmbedder(meta) if meta.is_embedder else FakeGenerator(meta, self._add_tokens)
        if isinstance(meta.source, GGUF_SOURCES):
            from mm_orch.models.prepare import prepare_model

            prepare_model(meta, self.cache_dir, show_progress=self.show_progress)
        folder = local_folder(meta, self.cache_dir)
        if meta.backend == "sentence_transformers":
            from mm_orch.models.backends.st_embedder import SentenceTransformerEmbedder

            return SentenceTransformerEmbedder(meta, folder)
        if meta.backend == "vllm":
            from mm_orch.models.backends.vllm_backend import VLLMGenerator

            return VLLMGenerator(meta, folder, self._add_tokens)
        from mm_orch.models.backends.transformers_backend import TransformersGenerator

        return TransformersGenerator(meta, folder, self._add_tokens)

    @staticmethod
    def _check_memory(meta: ModelMetadata) -> None:
        import psutil

        available = psutil.virtual_memory().available / 2**30
        if meta.device != "cuda" and available < meta.memory_gb:
            raise ModelLoadError(
                f"model {meta.name!r} needs about {meta.memory_gb} GiB but only {available:.1f} GiB of RAM is "
                "free; unload other models (ModelManager.unload), pick a smaller model, or lower memory_gb "
                "in the models config if the estimate is too high"
            )

    # --- bookkeeping ---------------------------------------------------------------------------------------
    def loaded(self) -> list[str]:
        """Names of the models in memory now."""
        with self._guard:
            return sorted(self._models)

    def unload(self, name: str) -> bool:
        """Release a loaded model (closing vLLM engines); False when it was not loaded."""
        real = self.resolve(name)
        with self._guard:
            model = self._models.pop(real, None)
        if model is None:
            return False
        model.close()
        return True

    def close(self) -> None:
        """Unload every model."""
        for name in self.loaded():
            self.unload(name)

    def stats(self) -> dict[str, Any]:
        """Loaded models, per-model load count/seconds and get_model calls, cumulative tokens."""
        with self._guard:
            history = list(self.load_history)
            calls = dict(self._calls)
            tokens = self.token_count
            loaded = sorted(self._models)
        per_model: dict[str, dict[str, Any]] = {}
        for rec in history:
            entry = per_model.setdefault(rec.name, {"loads": 0, "load_seconds": 0.0, "backend": rec.backend})
            entry["loads"] += 1
            entry["load_seconds"] += rec.seconds
        for name, n in calls.items():
            per_model.setdefault(name, {"loads": 0, "load_seconds": 0.0, "backend": ""})["calls"] = n
        return {"loaded": loaded, "token_count": tokens, "loads": len(history), "models": per_model}


_manager: ProcessSingleton[ModelManager] = ProcessSingleton(
    ModelManager.from_config, close=ModelManager.close, close_at_exit=True
)


def get_model_manager() -> ModelManager:
    """The process-wide manager, built on first use from ``$MM_ORCH_MODELS_CONFIG`` or the embedded defaults."""
    return _manager.get()


def set_model_manager(manager: ModelManager | None) -> ModelManager | None:
    """Replace the process-wide manager (None: build a fresh one next time); returns the previous one."""
    return _manager.set(manager)
