"""Per-request model-call context: where the reply's tokens go, the caller's sampling overrides, token usage.

A server (the Serve ingress) opens one :class:`ModelCallContext` per request with :func:`model_call_context`;
it travels with the request through the executor, its tasks and worker threads (a ``ContextVar``). Nothing
changes for code that never opens one:

- every generator call adds its prompt and completion tokens to the open context (``usage``), so an API can
  report what the whole workflow used;
- a step whose reply *is* the model's output (``chat``) makes that call through :func:`reply_chat`, which
  applies the caller's overrides (``max_tokens``, ``temperature``, ...) and, when the context has a token
  sink, streams the reply into it as it is generated.

::

    with model_call_context(ModelCallContext(on_token=queue.put_nowait, overrides={"max_tokens": 64})) as ctx:
        result = await orchestrator.aprocess_request(request)
    ctx.prompt_tokens, ctx.completion_tokens
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from mm_orch.models.params import ChatMessage, FinishReason, GenerationParams, GenerationResult

__all__ = [
    "OVERRIDABLE",
    "ModelCallContext",
    "current_model_call_context",
    "model_call_context",
    "record_usage",
    "reply_chat",
]

#: GenerationParams fields a caller may override for the reply call.
OVERRIDABLE = frozenset({"max_tokens", "temperature", "top_p", "seed", "stop"})

TokenSink = Callable[[str], None]


@dataclass
class ModelCallContext:
    """What one request's model calls share. ``on_token`` is called with each reply text delta."""

    on_token: TokenSink | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    streamed: bool = False  # True once a reply delta went to on_token
    finish_reason: FinishReason | None = None  # of the reply call, when one was made
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        unknown = set(self.overrides) - OVERRIDABLE
        if unknown:
            raise ValueError(f"cannot override {sorted(unknown)}; overridable: {sorted(OVERRIDABLE)}")

    def add_usage(self, prompt_tokens: int, completion_tokens: int) -> None:
        """Count one generation (thread-safe: sync steps run in worker threads)."""
        with self._lock:
            self.prompt_tokens += prompt_tokens
            self.completion_tokens += completion_tokens
            self.calls += 1

    def reply_params(self, params: GenerationParams | None) -> GenerationParams:
        """``params`` with the caller's overrides applied."""
        base = params or GenerationParams()
        return base.model_copy(update=self.overrides) if self.overrides else base

    def emit(self, text: str) -> None:
        if text and self.on_token is not None:
            self.streamed = True
            self.on_token(text)


_current: ContextVar[ModelCallContext | None] = ContextVar("mm_orch_model_call_context", default=None)


def current_model_call_context() -> ModelCallContext | None:
    """The context the running request opened, if any."""
    return _current.get()


@contextlib.contextmanager
def model_call_context(ctx: ModelCallContext | None = None) -> Iterator[ModelCallContext]:
    """Open ``ctx`` (a fresh one by default) for the code inside the ``with`` block and its tasks."""
    ctx = ctx if ctx is not None else ModelCallContext()
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


def record_usage(results: Sequence[GenerationResult]) -> None:
    """Add ``results``' tokens to the open context (no-op without one)."""
    ctx = _current.get()
    if ctx is not None:
        for r in results:
            ctx.add_usage(r.prompt_tokens, r.completion_tokens)


async def reply_chat(
    model: Any, messages: Sequence[dict[str, str] | ChatMessage], params: GenerationParams | None = None
) -> GenerationResult:
    """The call whose text is the request's reply: ``model.achat`` with the caller's overrides, streamed into
    the context's token sink when it has one and the model can stream (``astream_chat``)."""
    ctx = _current.get()
    if ctx is None:
        result: GenerationResult = await model.achat(messages, params)
        return result
    params = ctx.reply_params(params)
    stream = getattr(model, "astream_chat", None)
    if ctx.on_token is None or stream is None:
        result = await model.achat(messages, params)
    else:
        final: GenerationResult | None = None
        async for chunk in stream(messages, params):
            ctx.emit(chunk.text)
            if chunk.result is not None:
                final = chunk.result
        if final is None:
            from mm_orch.models.errors import ModelOutputError

            raise ModelOutputError(f"model {getattr(model, 'name', model)!r} ended its stream without a result")
        result = final
    ctx.finish_reason = result.finish_reason
    return result
