"""Fast deterministic stand-ins (backend ``fake``) for unit tests of code that uses models.

``FakeGenerator`` answers from a script (prompt substring -> reply) or echoes the last line of the prompt, and
streams it word by word (``engine_args.token_delay_s`` between words, default 0, to test streaming and
cancellation);
``FakeEmbedder`` hashes words into a bag-of-words vector, so texts sharing words score higher than unrelated
ones, like a real embedder. Neither needs torch.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import numpy as np

from mm_orch.models.backends.base import BaseEmbedder, BaseGenerator, RawCompletion, UsageHook
from mm_orch.models.metadata import ModelMetadata, PathSource
from mm_orch.models.params import GenerationParams

__all__ = ["FakeEmbedder", "FakeGenerator", "fake_metadata"]

_WORD = re.compile(r"\w+")


class FakeGenerator(BaseGenerator):
    """Replies with the first scripted answer whose key occurs in the prompt, else ``echo: <last line>``."""

    backend = "fake"

    def __init__(
        self, metadata: ModelMetadata, usage_hook: UsageHook | None = None, script: dict[str, str] | None = None
    ) -> None:
        super().__init__(metadata, usage_hook)
        self.script = dict(script or metadata.engine_args.get("script", {}))
        self.token_delay_s = float(metadata.engine_args.get("token_delay_s", 0.0))
        self.calls: list[str] = []
        self._running = 0

    def format_chat(self, messages: list[dict[str, str]]) -> str:
        """``role: content`` lines, then ``assistant:``."""
        return "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant:"

    def count_tokens(self, text: str) -> int:
        """Whitespace words."""
        return len(text.split())

    def _reply(self, prompt: str, params: GenerationParams) -> RawCompletion:
        self.calls.append(prompt)
        reply = next((v for k, v in self.script.items() if k in prompt), None)
        if reply is None:
            lines = [ln for ln in prompt.strip().splitlines() if ln.strip() and ln.strip() != "assistant:"]
            reply = "echo: " + (lines[-1] if lines else "")
        words = reply.split()
        cut = words[: params.max_tokens]
        return RawCompletion(
            " ".join(cut), self.count_tokens(prompt), len(cut), "length" if len(words) > len(cut) else "stop"
        )

    def _run_batch(self, prompts: list[str], params: GenerationParams) -> list[RawCompletion]:
        return [self._reply(p, params) for p in prompts]

    async def _arun_batch(self, prompts: list[str], params: GenerationParams) -> list[RawCompletion]:
        await asyncio.sleep(0)
        return self._run_batch(prompts, params)

    async def _astream_one(
        self, prompt: str, params: GenerationParams
    ) -> AsyncGenerator[str | RawCompletion, None]:
        """The reply word by word, ``token_delay_s`` apart; counted in :meth:`running_requests` meanwhile."""
        raw = self._reply(prompt, params)
        self._running += 1
        try:
            for i, word in enumerate(raw.text.split()):
                await asyncio.sleep(self.token_delay_s)
                yield word if i == 0 else " " + word
        finally:
            self._running -= 1
        yield raw

    def running_requests(self) -> int:
        """Streams in progress."""
        return self._running


class FakeEmbedder(BaseEmbedder):
    """Hashed bag of lower-cased words, ``engine_args.dimension`` wide (default 64)."""

    backend = "fake"

    def __init__(self, metadata: ModelMetadata) -> None:
        super().__init__(metadata)
        self._dimension = int(metadata.engine_args.get("dimension", 64))

    @property
    def dimension(self) -> int:
        """Vector width."""
        return self._dimension

    def _encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
                out[i, int.from_bytes(digest, "little") % self._dimension] += 1.0
            out[i, 0] += 1e-3  # keep empty texts from being the zero vector
        return out

    async def _aencode(self, texts: list[str]) -> np.ndarray:
        await asyncio.sleep(0)
        return self._encode(texts)


def fake_metadata(name: str, *, embed: bool = False, **engine_args: Any) -> ModelMetadata:
    """Metadata of a model on the fake backend (no weights): a generator, or an embedder with ``embed=True``.
    ``engine_args`` go to the fake (e.g. ``script={"France": "Paris ..."}`` or ``dimension=32``)."""
    return ModelMetadata(
        name=name,
        capabilities=["embed"] if embed else ["generate", "chat", "summarize"],
        backend="fake",
        source=PathSource(path=Path("/nonexistent")),
        memory_gb=0.01,
        engine_args=dict(engine_args),
    )
