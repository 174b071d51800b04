"""The embedder deployment: one sentence embedding model from ``mm_orch.models``."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
from ray import serve

from deployments._common import build_manager, replica_info
from mm_orch.models import BaseEmbedder

__all__ = ["EmbedderDeployment", "EmbedderServer"]

log = logging.getLogger(__name__)


class EmbedderServer:
    """Serves the embedding model ``model`` (default: the configured 'embedder') from ``models_config``."""

    def __init__(self, model: str = "embedder", models_config: str | Path | None = None) -> None:
        t0 = time.perf_counter()
        self.model_name = model
        self._manager = build_manager(models_config)
        self._embedder: BaseEmbedder | None = self._manager.get_embedder(model)
        self.load_s = time.perf_counter() - t0
        self.ready_at = time.time()
        log.info("embedder deployment serving %r (%d-dim)", self.embedder.name, self.embedder.dimension)

    @property
    def embedder(self) -> BaseEmbedder:
        if self._embedder is None:
            from mm_orch.exceptions import ModelUnavailableError

            raise ModelUnavailableError(f"embedder deployment for {self.model_name!r} was shut down; redeploy it")
        return self._embedder

    async def embed(self, texts: list[str]) -> np.ndarray:
        """One L2-normalised float32 row per text."""
        return await self.embedder.aembed(list(texts))

    def info(self) -> dict[str, Any]:
        """The served model, its dimension and the replica."""
        return {
            "model": self.embedder.name,
            "dimension": self.embedder.dimension,
            "load_s": round(self.load_s, 3),
            "ready_at": self.ready_at,
            **replica_info(),
        }

    def check_health(self) -> None:
        """Serve's health probe: fails once the model was shut down."""
        _ = self.embedder

    def shutdown(self) -> None:
        """Release the model; safe to call twice."""
        if getattr(self, "_embedder", None) is not None:
            self._embedder = None
            self._manager.close()

    def __del__(self) -> None:
        self.shutdown()


EmbedderDeployment = serve.deployment(
    name="Embedder",
    ray_actor_options={"num_cpus": 0.25},
    max_ongoing_requests=64,
)(EmbedderServer)
