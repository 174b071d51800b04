"""The handle-backed runtime: what the executor hands to steps inside the Serve ingress replica.

Steps ask ``runtime.model_manager.get_model(name)`` exactly as in-process; here the answer is a proxy whose
async methods (``agenerate``, ``agenerate_batch``, ``achat``, ``asummarize``, ``aembed``) await a
DeploymentHandle call on the LLM or embedder deployment, and whose ``astream``/``astream_chat`` iterate a
streaming handle call (``handle.options(stream=True)``): chunks arrive as the engine generates them, and
closing the stream early cancels the call in the LLM replica (which aborts the engine request). The sync twins (``generate``, ``chat``, ...) work from
worker threads (tools and sync steps run there) by waiting on the handle's response; called on the event loop
thread they raise :class:`SyncModelCallError` instead of deadlocking it.

A replica that dies under a call (SIGKILL, OOM, a crashed engine: Ray raises ``ActorDiedError`` and kin) fails
only that attempt: model calls are idempotent, so each non-streaming call is sent again, up to ``retries``
times, and Serve routes it to a live replica (or to the restarted one once it is up). Past the retries the
call raises :class:`~mm_orch.exceptions.ModelUnavailableError`, which the ingress answers with a retryable 503.
A stream is not retried once its first chunk has arrived.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any

import numpy as np

from mm_orch.exceptions import ModelError, ModelNotFoundError, ModelUnavailableError, format_options
from mm_orch.models import ChatMessage, GenerationParams, GenerationResult
from mm_orch.models.call_context import record_usage
from mm_orch.models.params import GenerationChunk
from mm_orch.orchestration.runtime import Runtime
from mm_orch.registries.tool_registry import ToolRegistry

__all__ = [
    "HandleEmbedder",
    "HandleGenerator",
    "HandleModelManager",
    "SyncModelCallError",
    "build_handle_runtime",
]

DEFAULT_TIMEOUT_S = 300.0
#: Attempts after the first when the replica serving a call died under it.
DEFAULT_RETRIES = 2
#: Ray's errors for a replica that is gone (matched by name, so that this module does not import ray).
_REPLICA_GONE = frozenset(
    {"ActorDiedError", "RayActorError", "ActorUnavailableError", "DeploymentUnavailableError"}
)


def replica_gone(exc: BaseException) -> bool:
    """Whether ``exc`` says the replica serving the call died or cannot be reached (worth another replica)."""
    return any(c.__name__ in _REPLICA_GONE for c in type(exc).__mro__)


def _gave_up(name: str, method: str, retries: int, exc: BaseException) -> ModelUnavailableError:
    return ModelUnavailableError(
        f"the replica serving model {name!r} ({method}) died during the call ({type(exc).__name__}) and "
        f"{retries} retr{'y' if retries == 1 else 'ies'} found no live replica; Serve is restarting it: retry "
        "shortly (GET /readyz says when it is back)"
    )


async def _acall(owner: Any, method: str, *args: Any) -> Any:
    """``await owner.handle.<method>.remote(*args)``, sent again when the replica died under it."""
    for attempt in range(owner.retries + 1):
        try:
            return await getattr(owner.handle, method).remote(*args)
        except Exception as exc:
            if not replica_gone(exc):
                raise
            if attempt == owner.retries:
                raise _gave_up(owner.name, method, owner.retries, exc) from exc
            await asyncio.sleep(owner.retry_backoff_s * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


def _call(owner: Any, method: str, *args: Any) -> Any:
    """The blocking twin of :func:`_acall` (worker threads only, see :func:`_wait`)."""
    for attempt in range(owner.retries + 1):
        try:
            return _wait(getattr(owner.handle, method).remote(*args), method, owner.timeout_s)
        except Exception as exc:
            if not replica_gone(exc):
                raise
            if attempt == owner.retries:
                raise _gave_up(owner.name, method, owner.retries, exc) from exc
            time.sleep(owner.retry_backoff_s * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


class SyncModelCallError(ModelError):
    """A blocking model method was called on the replica's event loop thread, where waiting would stall it."""


def _wait(response: Any, method: str, timeout_s: float) -> Any:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return response.result(timeout_s=timeout_s)
    response.cancel()
    raise SyncModelCallError(
        f"model.{method}() blocks, but it was called on the Serve replica's event loop thread; call "
        f"`await model.a{method}(...)` from an async step, or run the sync call in a worker thread "
        "(`await asyncio.to_thread(model." + method + ", ...)`)"
    )


class HandleGenerator:
    """A generator living in another replica, reached through a DeploymentHandle of the LLM deployment."""

    backend = "serve_handle"

    def __init__(
        self,
        name: str,
        handle: Any,
        *,
        on_tokens: Any = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        retries: int = DEFAULT_RETRIES,
        retry_backoff_s: float = 0.5,
    ):
        self.name = name
        self.handle = handle
        self.timeout_s = timeout_s
        self.retries = retries
        self.retry_backoff_s = retry_backoff_s
        self._on_tokens = on_tokens
        self._streaming: Any = None

    def _count(self, results: Sequence[GenerationResult]) -> None:
        if self._on_tokens is not None:
            self._on_tokens(sum(r.completion_tokens for r in results))
        record_usage(results)

    async def _stream(self, method: str, *args: Any) -> AsyncGenerator[GenerationChunk, None]:
        if self._streaming is None:
            self._streaming = self.handle.options(stream=True)
        response = getattr(self._streaming, method).remote(*args)
        finished = False
        try:
            async for chunk in response:
                if chunk.result is not None:
                    finished = True
                    self._count([chunk.result])
                yield chunk
        finally:
            if not finished:
                response.cancel()  # the consumer left early: stop the generation in the LLM replica

    # --- async, the path steps use -------------------------------------------------------------------------
    async def agenerate(self, prompt: str, params: GenerationParams | None = None) -> GenerationResult:
        result: GenerationResult = await _acall(self, "generate", prompt, params)
        self._count([result])
        return result

    async def agenerate_batch(
        self, prompts: list[str], params: GenerationParams | None = None
    ) -> list[GenerationResult]:
        results: list[GenerationResult] = await _acall(self, "generate_batch", list(prompts), params)
        self._count(results)
        return results

    async def achat(
        self, messages: Sequence[dict[str, str] | ChatMessage], params: GenerationParams | None = None
    ) -> GenerationResult:
        result: GenerationResult = await _acall(self, "chat", list(messages), params)
        self._count([result])
        return result

    async def asummarize(self, text: str, max_words: int = 60) -> str:
        return str(await _acall(self, "summarize", text, max_words))

    async def astream(
        self, prompt: str, params: GenerationParams | None = None
    ) -> AsyncGenerator[GenerationChunk, None]:
        """Stream a completion: text deltas as generated, then a chunk with the whole result."""
        async for chunk in self._stream("stream_generate", prompt, params):
            yield chunk

    async def astream_chat(
        self, messages: Sequence[dict[str, str] | ChatMessage], params: GenerationParams | None = None
    ) -> AsyncGenerator[GenerationChunk, None]:
        """Stream the answer to a conversation (see :meth:`astream`)."""
        async for chunk in self._stream("stream_chat", list(messages), params):
            yield chunk

    # --- sync twins, for worker threads --------------------------------------------------------------------
    def generate(self, prompt: str, params: GenerationParams | None = None) -> GenerationResult:
        result: GenerationResult = _call(self, "generate", prompt, params)
        self._count([result])
        return result

    def generate_batch(self, prompts: list[str], params: GenerationParams | None = None) -> list[GenerationResult]:
        results: list[GenerationResult] = _call(self, "generate_batch", list(prompts), params)
        self._count(results)
        return results

    def chat(
        self, messages: Sequence[dict[str, str] | ChatMessage], params: GenerationParams | None = None
    ) -> GenerationResult:
        result: GenerationResult = _call(self, "chat", list(messages), params)
        self._count([result])
        return result

    def summarize(self, text: str, max_words: int = 60) -> str:
        return str(_call(self, "summarize", text, max_words))

    def close(self) -> None:
        """Nothing to release here: the model lives in the LLM deployment."""


class HandleEmbedder:
    """An embedding model living in the embedder deployment."""

    backend = "serve_handle"

    def __init__(
        self,
        name: str,
        handle: Any,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        retries: int = DEFAULT_RETRIES,
        retry_backoff_s: float = 0.5,
    ) -> None:
        self.name = name
        self.handle = handle
        self.timeout_s = timeout_s
        self.retries = retries
        self.retry_backoff_s = retry_backoff_s
        self._model_id: str | None = None

    @property
    def model_id(self) -> str:
        """What tools key cached vectors by: the model the deployment serves, named as in-process
        (``models:<configured name>``, :class:`mm_orch.orchestration.wiring._LazyEmbedder`), so a cluster reuses
        the corpus vectors a local run built, and two models behind the same deployment name never share them."""
        if self._model_id is None:
            info = _wait(self.handle.info.remote(), "info", self.timeout_s)
            self._model_id = f"models:{info['model']}"
        return self._model_id

    async def aembed(self, texts: list[str]) -> np.ndarray:
        return np.asarray(await _acall(self, "embed", list(texts)), dtype=np.float32)

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.asarray(_call(self, "embed", list(texts)), dtype=np.float32)

    def close(self) -> None:
        """Nothing to release here: the model lives in the embedder deployment."""


class HandleModelManager:
    """``get_model(name)`` for the cluster: names map to deployment handles, proxies are built once.

    ``generators`` maps model names to LLM deployment handles (the first one also answers ``"default"``);
    ``embedder`` is the embedder deployment handle (answers ``"embedder"``). ``token_count`` adds up the
    completion tokens of every call, so the executor attributes tokens to steps as in-process;
    ``load_history`` stays empty because models load in their own deployments.
    """

    def __init__(
        self,
        generators: Mapping[str, Any],
        embedder: Any = None,
        *,
        embedder_name: str = "embedder",
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        if not generators:
            raise ModelNotFoundError("HandleModelManager needs at least one generator handle, got none")
        self.load_history: list[Any] = []
        self.token_count = 0
        self._lock = threading.Lock()
        self._models: dict[str, HandleGenerator | HandleEmbedder] = {
            name: HandleGenerator(name, h, on_tokens=self._add_tokens, timeout_s=timeout_s)
            for name, h in generators.items()
        }
        self._aliases = {"default": next(iter(generators))}
        if embedder is not None:
            self._models[embedder_name] = HandleEmbedder(embedder_name, embedder, timeout_s=timeout_s)
            self._aliases["embedder"] = embedder_name

    def _add_tokens(self, n: int) -> None:
        with self._lock:
            self.token_count += n

    def names(self) -> list[str]:
        """Every name get_model accepts."""
        return sorted(set(self._models) | set(self._aliases))

    def get_model(self, name: str = "default") -> HandleGenerator | HandleEmbedder:
        """The proxy for ``name`` (cheap: no I/O)."""
        real = self._aliases.get(name, name)
        try:
            return self._models[real]
        except KeyError:
            raise ModelNotFoundError(
                f"model {name!r} is not served by this application; options: {format_options(self.names())}. "
                "Add an LLM deployment for it in the Serve config (args.generators)."
            ) from None

    async def aget_model(self, name: str = "default") -> HandleGenerator | HandleEmbedder:
        return self.get_model(name)

    def loaded(self) -> list[str]:
        return sorted(self._models)

    def stats(self) -> dict[str, Any]:
        return {"served": self.loaded(), "token_count": self.token_count}

    def close(self) -> None:
        """Nothing to release: the models live in their deployments."""


def build_handle_runtime(
    manager: HandleModelManager,
    *,
    tools_config: Any = None,
    settings: Mapping[str, Any] | None = None,
) -> Runtime:
    """The runtime for the ingress replica: handle-backed models, the default tools in-process (hybrid search
    and the document store embed through the embedder deployment when one is served)."""
    from mm_orch.tools import default_tools

    embedder = manager.get_model("embedder") if "embedder" in manager.names() else None
    tools = ToolRegistry()
    for name, (tool, metadata) in default_tools(tools_config, embedder=embedder).items():  # type: ignore[arg-type]
        tools.register(name, tool, metadata)
    return Runtime(model_manager=manager, tools=tools, settings=dict(settings or {}))
