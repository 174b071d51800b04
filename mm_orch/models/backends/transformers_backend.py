"""Generation with Hugging Face transformers on CPU or one GPU.

One model copy per generator; a lock serialises calls (``generate`` is not re-entrant), and async calls run
in a worker thread so the event loop keeps going. Batches are left-padded and decoded together. With a
``json_schema``, decoding is constrained by xgrammar's logits processor (installed with vLLM) when available.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

from mm_orch.exceptions import ModelLoadError, ModelUnavailableError
from mm_orch.models.backends.base import BaseGenerator, RawCompletion, UsageHook
from mm_orch.models.backends.devices import resolve_torch_device, torch_dtype
from mm_orch.models.errors import ContextLengthError
from mm_orch.models.metadata import ModelMetadata
from mm_orch.models.params import FinishReason, GenerationParams
from mm_orch.models.sources import hub_revision

__all__ = ["TransformersGenerator"]


class TransformersGenerator(BaseGenerator):
    """A causal LM loaded with ``AutoModelForCausalLM`` from a local folder or Hub id."""

    backend = "transformers"

    def __init__(self, metadata: ModelMetadata, folder: Path | str, usage_hook: UsageHook | None = None) -> None:
        super().__init__(metadata, usage_hook)
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:
            raise ModelUnavailableError(
                f"model {metadata.name!r} needs transformers and torch ({exc}); "
                "install `mm-orch[cpu]` (CPU) or `mm-orch[gpu]` (GPU)"
            ) from exc
        self._torch = torch
        self.device = resolve_torch_device(metadata)
        dtype = torch_dtype(metadata, self.device)
        try:
            pin = hub_revision(metadata)
            self.tokenizer: Any = AutoTokenizer.from_pretrained(str(folder), padding_side="left", **pin)
            loader: Any = AutoModelForCausalLM
            self.model: Any = loader.from_pretrained(str(folder), dtype=dtype, **pin, **metadata.engine_args)
            self.model.to(self.device)
            self.model.eval()
        except torch.OutOfMemoryError as exc:
            raise ModelLoadError(
                f"model {metadata.name!r} ran out of GPU memory loading on {self.device} (needs about "
                f"{metadata.memory_gb} GiB); free the GPU, use a smaller dtype, or set device: cpu"
            ) from exc
        except MemoryError as exc:
            raise ModelLoadError(
                f"model {metadata.name!r} ran out of host memory loading (needs about {metadata.memory_gb} GiB); "
                "close other models (ModelManager.unload) or pick a smaller model"
            ) from exc
        except Exception as exc:  # OSError, ValueError, safetensors' SafetensorError...: all mean bad files
            raise ModelLoadError(
                f"model {metadata.name!r}: cannot load from {str(folder)!r} ({exc}); check source in the "
                "models config or rebuild a prepared folder with `python -m mm_orch.models.prepare --force`"
            ) from exc
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self._lock = threading.Lock()
        self._grammars: dict[str, Any] = {}

    # --- primitives ----------------------------------------------------------------------------------------
    def format_chat(self, messages: list[dict[str, str]]) -> str:
        """Render with the tokenizer's chat template."""
        return str(self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))

    def count_tokens(self, text: str) -> int:
        """Token count without special tokens."""
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    async def _arun_batch(self, prompts: list[str], params: GenerationParams) -> list[RawCompletion]:
        return await asyncio.to_thread(self._run_batch, prompts, params)

    def _run_batch(self, prompts: list[str], params: GenerationParams) -> list[RawCompletion]:
        torch = self._torch
        with self._lock:
            enc = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
            width = int(enc["input_ids"].shape[1])
            room = self.metadata.context_length - width
            if room < 1:
                longest = int(enc["attention_mask"].sum(dim=1).max())
                raise ContextLengthError(
                    f"model {self.name!r}: prompt has {longest} tokens, context_length is "
                    f"{self.metadata.context_length}; shorten the prompt or configure a longer-context model"
                )
            kwargs: dict[str, Any] = {
                "max_new_tokens": min(params.max_tokens, room),
                "pad_token_id": self.tokenizer.pad_token_id,
                "eos_token_id": self.tokenizer.eos_token_id,
            }
            if params.greedy:
                kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
            else:
                kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p, top_k=None)
                if params.seed is not None:
                    torch.manual_seed(params.seed)
            if params.stop:
                kwargs.update(stop_strings=list(params.stop), tokenizer=self.tokenizer)
            if params.json_schema is not None and (proc := self._json_processor(params.json_schema)) is not None:
                kwargs["logits_processor"] = [proc]
            enc = enc.to(self.device)
            with torch.inference_mode():
                out = self.model.generate(**enc, **kwargs)
            return self._decode(out[:, width:], enc["attention_mask"], kwargs["max_new_tokens"])

    def _decode(self, new_ids: Any, mask: Any, limit: int) -> list[RawCompletion]:
        eos = self.tokenizer.eos_token_id
        results = []
        for row, row_mask in zip(new_ids.tolist(), mask.tolist(), strict=True):
            end = row.index(eos) + 1 if eos in row else len(row)
            kept = row[:end]
            text = str(self.tokenizer.decode(kept, skip_special_tokens=True))
            reason: FinishReason = "stop" if (eos in row or len(kept) < limit) else "length"
            results.append(RawCompletion(text.strip(), int(sum(row_mask)), len(kept), reason))
        return results

    def _json_processor(self, schema: dict[str, Any]) -> Any | None:
        try:
            import xgrammar as xgr
            from xgrammar.contrib.hf import LogitsProcessor
        except ImportError:  # validation in the base class still applies
            return None
        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            info = xgr.TokenizerInfo.from_huggingface(self.tokenizer, vocab_size=self.model.config.vocab_size)
            self._grammars[key] = xgr.GrammarCompiler(info).compile_json_schema(key)
        return LogitsProcessor(self._grammars[key])  # one per generate() call, as xgrammar requires

    def close(self) -> None:
        """Drop the weights (and the CUDA cache when on GPU)."""
        with self._lock:
            self.model = None
            if self.device.startswith("cuda"):
                self._torch.cuda.empty_cache()
