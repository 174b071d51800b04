"""The one interface every generator and embedder offers, written once over a few backend primitives.

A backend subclass implements ``_run_batch`` (blocking) and ``_arun_batch`` (async, must not block the event
loop), ``format_chat`` and ``count_tokens``; this base turns them into ``generate``/``generate_batch``/``chat``/
``summarize`` and their async twins, applies stop sequences, checks structured JSON output, and reports
generated tokens to the manager through ``usage_hook`` (and to the request's open
:class:`~mm_orch.models.call_context.ModelCallContext`).

Streaming (``astream``/``astream_chat``) is written once here too: a backend that can stream overrides
``_astream_one`` to yield text deltas as the engine produces them (vLLM does); any other backend streams its
whole completion as one delta.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import ValidationError

from mm_orch.models.call_context import record_usage
from mm_orch.models.errors import ModelOutputError, ModelRequestError
from mm_orch.models.metadata import ModelMetadata
from mm_orch.models.params import ChatMessage, FinishReason, GenerationChunk, GenerationParams, GenerationResult
from mm_orch.observability import metrics

__all__ = ["BaseEmbedder", "BaseGenerator", "RawCompletion", "summarize_messages"]

UsageHook = Callable[[int], None]
_SUMMARY_SYSTEM = "You write short, faithful summaries. Use only facts from the text."


@dataclass(frozen=True, slots=True)
class RawCompletion:
    """What a backend returns for one prompt, before the base class post-processes it."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: FinishReason


class _WhitespaceTrim:
    """Turns raw deltas into deltas whose concatenation is the stripped text: leading whitespace is dropped,
    trailing whitespace is held back until more text follows it."""

    def __init__(self) -> None:
        self.started = False
        self.held = ""

    def push(self, text: str) -> str:
        if not self.started:
            text = text.lstrip()
            if not text:
                return ""
            self.started = True
        body = text.rstrip()
        if not body:
            self.held += text
            return ""
        out, self.held = self.held + body, text[len(body) :]
        return out


def summarize_messages(text: str, max_words: int) -> list[dict[str, str]]:
    """The chat prompt ``summarize`` sends (public so steps and tests can see exactly what is asked)."""
    return [
        {"role": "system", "content": _SUMMARY_SYSTEM},
        {"role": "user", "content": f"Summarize this text in at most {max_words} words.\n\nText:\n{text}"},
    ]


def _apply_stop(raw: RawCompletion, stop: Sequence[str]) -> RawCompletion:
    cut = min((i for s in stop if s and (i := raw.text.find(s)) >= 0), default=-1)
    if cut < 0:
        return raw
    return RawCompletion(raw.text[:cut], raw.prompt_tokens, raw.completion_tokens, "stop")


def _check_json(text: str, schema: dict[str, Any], model: str) -> str:
    """Return the JSON document in ``text`` (leading/trailing chatter removed) if it matches ``schema``."""
    import jsonschema

    start = text.find("{") if text.lstrip()[:1] != "[" else text.find("[")
    try:
        doc, _end = json.JSONDecoder().raw_decode(text[max(start, 0) :])
    except ValueError as exc:
        raise ModelOutputError(
            f"model {model!r} was asked for JSON but produced {text[:200]!r} ({exc}); use a vLLM-backed model "
            "(grammar-constrained) or a larger model, or retry with a higher max_tokens"
        ) from exc
    try:
        jsonschema.validate(doc, schema)
    except jsonschema.ValidationError as exc:
        raise ModelOutputError(
            f"model {model!r} produced JSON that does not match the schema: {exc.message}; output: {text[:200]!r}"
        ) from exc
    return json.dumps(doc, ensure_ascii=False)


class BaseGenerator(ABC):
    """A loaded text generator. Constructing one loads the model; ``close()`` releases it."""

    backend: str = ""

    def __init__(self, metadata: ModelMetadata, usage_hook: UsageHook | None = None) -> None:
        self.metadata = metadata
        self.usage_hook = usage_hook

    @property
    def name(self) -> str:
        """The configured model name."""
        return self.metadata.name

    # --- backend primitives -------------------------------------------------------------------------------
    @abstractmethod
    def _run_batch(self, prompts: list[str], params: GenerationParams) -> list[RawCompletion]:
        """Generate one completion per prompt, blocking."""

    @abstractmethod
    async def _arun_batch(self, prompts: list[str], params: GenerationParams) -> list[RawCompletion]:
        """Generate one completion per prompt without blocking the running event loop."""

    @abstractmethod
    def format_chat(self, messages: list[dict[str, str]]) -> str:
        """Render chat messages with the tokenizer's chat template, ending with the assistant turn opener."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` encodes to (no special tokens added)."""

    async def _astream_one(
        self, prompt: str, params: GenerationParams
    ) -> AsyncGenerator[str | RawCompletion, None]:
        """Yield text deltas as they are generated, then the :class:`RawCompletion`. The default generates
        the whole completion first (backends that can stream override this); it must abort the generation
        when the consumer stops early (the generator is closed or cancelled)."""
        (raw,) = await self._arun_batch([prompt], params)
        yield raw

    def close(self) -> None:  # noqa: B027 - optional hook, most backends free memory on garbage collection
        """Release the model's memory and processes."""

    def running_requests(self) -> int:
        """Generations in flight in this model's engine (0 for backends that run one call at a time)."""
        return 0

    def check_health(self) -> None:  # noqa: B027 - optional hook
        """Raise ModelUnavailableError when the model can no longer serve (e.g. its engine died)."""

    # --- the public interface ------------------------------------------------------------------------------
    def generate(self, prompt: str, params: GenerationParams | None = None) -> GenerationResult:
        """Complete ``prompt`` (raw text, no chat template)."""
        return self.generate_batch([prompt], params)[0]

    def generate_batch(self, prompts: list[str], params: GenerationParams | None = None) -> list[GenerationResult]:
        """Complete each prompt; backends batch them (vLLM schedules them together)."""
        p = params or GenerationParams()
        start = time.perf_counter()
        raws = self._run_batch(list(prompts), p) if prompts else []
        return self._finish(raws, p, start)

    async def agenerate(self, prompt: str, params: GenerationParams | None = None) -> GenerationResult:
        """Async :meth:`generate`."""
        return (await self.agenerate_batch([prompt], params))[0]

    async def agenerate_batch(
        self, prompts: list[str], params: GenerationParams | None = None
    ) -> list[GenerationResult]:
        """Async :meth:`generate_batch`."""
        p = params or GenerationParams()
        start = time.perf_counter()
        raws = await self._arun_batch(list(prompts), p) if prompts else []
        return self._finish(raws, p, start)

    def chat(
        self, messages: Sequence[dict[str, str] | ChatMessage], params: GenerationParams | None = None
    ) -> GenerationResult:
        """Answer the last message of a conversation (the tokenizer's chat template is applied)."""
        return self.generate(self.format_chat(self._messages(messages)), params)

    async def achat(
        self, messages: Sequence[dict[str, str] | ChatMessage], params: GenerationParams | None = None
    ) -> GenerationResult:
        """Async :meth:`chat`."""
        return await self.agenerate(self.format_chat(self._messages(messages)), params)

    async def astream(
        self, prompt: str, params: GenerationParams | None = None
    ) -> AsyncGenerator[GenerationChunk, None]:
        """Stream the completion of ``prompt``: text deltas as they are generated, then a last chunk with the
        whole :class:`GenerationResult`. Stop early with ``aclose()`` (or by cancelling the consuming task):
        the generation is aborted."""
        p = params or GenerationParams()
        start = time.perf_counter()
        trim, emitted, raw, first_token_s = _WhitespaceTrim(), "", None, None
        # JSON output may be re-serialised after validation, so it is streamed only once complete.
        live = p.json_schema is None
        agen = self._astream_one(prompt, p)
        try:
            async for item in agen:
                if isinstance(item, RawCompletion):
                    raw = item
                    continue
                if first_token_s is None:  # the first delta from the engine: time to first token
                    first_token_s = time.perf_counter() - start
                if live and (delta := trim.push(item)):
                    emitted += delta
                    yield GenerationChunk(text=delta)
        finally:
            await agen.aclose()
        if raw is None:
            raise ModelOutputError(f"model {self.name!r} ended its stream without a completion")
        result = self._finish([raw], p, start, first_token_s)[0]
        rest = result.text[len(emitted) :] if result.text.startswith(emitted) else ""
        yield GenerationChunk(text=rest, result=result)

    async def astream_chat(
        self, messages: Sequence[dict[str, str] | ChatMessage], params: GenerationParams | None = None
    ) -> AsyncGenerator[GenerationChunk, None]:
        """Streaming :meth:`achat` (see :meth:`astream`)."""
        async for chunk in self.astream(self.format_chat(self._messages(messages)), params):
            yield chunk

    def summarize(self, text: str, max_words: int = 60) -> str:
        """A summary of ``text`` in at most ``max_words`` words (greedy; long text is cut to fit the context)."""
        prompt, params = self._summary_request(text, max_words)
        return self._trim_words(self.generate(prompt, params).text, max_words)

    async def asummarize(self, text: str, max_words: int = 60) -> str:
        """Async :meth:`summarize`."""
        prompt, params = self._summary_request(text, max_words)
        return self._trim_words((await self.agenerate(prompt, params)).text, max_words)

    # --- helpers -------------------------------------------------------------------------------------------
    def _messages(self, messages: Sequence[dict[str, str] | ChatMessage]) -> list[dict[str, str]]:
        out = []
        for i, m in enumerate(messages):
            try:
                msg = m if isinstance(m, ChatMessage) else ChatMessage.model_validate(m)
            except ValidationError as exc:
                raise ModelRequestError(
                    f"chat message {i} {m!r} is invalid: give {{'role': 'system'|'user'|'assistant', "
                    f"'content': str}} ({exc.errors()[0]['msg']})"
                ) from exc
            out.append(msg.model_dump())
        if not out:
            raise ModelRequestError("chat() needs at least one message, got an empty list")
        return out

    def _summary_request(self, text: str, max_words: int) -> tuple[str, GenerationParams]:
        if max_words < 1:
            raise ModelRequestError(f"summarize(max_words={max_words}): max_words must be >= 1")
        max_tokens = min(2 * max_words + 16, self.metadata.context_length // 4)
        overhead = self.count_tokens(self.format_chat(summarize_messages("", max_words)))
        budget = self.metadata.context_length - max_tokens - overhead - 8
        if self.count_tokens(text) > budget:
            text = self._cut_to_tokens(text, budget)
        return self.format_chat(summarize_messages(text, max_words)), GenerationParams(max_tokens=max_tokens)

    def _cut_to_tokens(self, text: str, budget: int) -> str:
        # Shrink by characters until the token count fits: tokenizers differ, and this needs only count_tokens.
        while text and self.count_tokens(text) > budget:
            text = text[: int(len(text) * 0.9)]
        return text

    @staticmethod
    def _trim_words(text: str, max_words: int) -> str:
        words = text.strip().split()
        return " ".join(words[:max_words])

    def _finish(
        self, raws: list[RawCompletion], params: GenerationParams, start: float, first_token_s: float | None = None
    ) -> list[GenerationResult]:
        latency = (time.perf_counter() - start) * 1000.0
        results = []
        for raw in raws:
            done = _apply_stop(raw, params.stop)
            text = done.text
            if params.json_schema is not None:
                text = _check_json(text, params.json_schema, self.name)
            results.append(
                GenerationResult(
                    text=text,
                    prompt_tokens=done.prompt_tokens,
                    completion_tokens=done.completion_tokens,
                    finish_reason=done.finish_reason,
                    model=self.name,
                    latency_ms=latency,
                )
            )
        if self.usage_hook is not None:
            self.usage_hook(sum(r.completion_tokens for r in results))
        record_usage(results)
        metrics.record_model_call(
            self.name,
            input_tokens=sum(r.prompt_tokens for r in results),
            output_tokens=sum(r.completion_tokens for r in results),
            seconds=latency / 1000.0,
            first_token_s=first_token_s,
        )
        return results


class BaseEmbedder(ABC):
    """A loaded embedding model: rows are L2-normalised float32 vectors."""

    backend: str = ""

    def __init__(self, metadata: ModelMetadata) -> None:
        self.metadata = metadata

    @property
    def name(self) -> str:
        """The configured model name."""
        return self.metadata.name

    @property
    @abstractmethod
    def dimension(self) -> int:
        """Length of each embedding vector."""

    @abstractmethod
    def _encode(self, texts: list[str]) -> np.ndarray:
        """Encode ``texts`` (blocking)."""

    @abstractmethod
    async def _aencode(self, texts: list[str]) -> np.ndarray:
        """Encode ``texts`` without blocking the event loop."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the model's memory."""

    def embed(self, texts: list[str]) -> np.ndarray:
        """One L2-normalised float32 row per text, shape ``(len(texts), dimension)``."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return _normalise(self._encode(list(texts)))

    async def aembed(self, texts: list[str]) -> np.ndarray:
        """Async :meth:`embed`."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return _normalise(await self._aencode(list(texts)))


def _normalise(vectors: np.ndarray) -> np.ndarray:
    arr = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    return arr / np.maximum(norms, 1e-12)
