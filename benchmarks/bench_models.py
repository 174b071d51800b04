"""Model-layer benchmark: transformers vs the vLLM engine on the same prompts, in one run.

Measures load time, tokens/s single stream (8 prompts one after another) and with 8 requests at once
(transformers: one padded batch; vLLM: 8 concurrent async requests, continuous batching), and the peak
resident memory of the process tree (vLLM's engine core is a child process) during each phase.
Ratios are against the transformers single-stream baseline measured in the same run.

    HF_HUB_OFFLINE=1 python benchmarks/bench_models.py [--max-tokens 64] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import psutil

from mm_orch.models import BaseGenerator, GenerationParams, ModelManager, embedded_defaults

QUESTIONS = [
    "Context: Marie Curie was born in Warsaw in 1867.\nQuestion: Where was Marie Curie born?",
    "Explain in two sentences why the sky is blue.",
    "Write a short poem about the sea.",
    "List three uses of the Python programming language.",
    "Context: The Nile flows north into the Mediterranean Sea.\nQuestion: Into which sea does the Nile flow?",
    "What are the benefits of regular exercise?",
    "Describe a cat to someone who has never seen one.",
    "Give two tips for writing clear emails.",
]


class PeakRSS:
    """Samples the RSS of this process and its children every 50 ms; ``peak`` is the highest sum in GiB."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._proc = psutil.Process()

    def _tree_rss(self) -> float:
        total = self._proc.memory_info().rss
        for child in self._proc.children(recursive=True):
            with suppress(psutil.Error):
                total += child.memory_info().rss
        return total / 2**30

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self._tree_rss())

    @contextmanager
    def watch(self) -> Iterator[PeakRSS]:
        self.peak = self._tree_rss()
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()
            self._stop.clear()


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def bench_backend(manager: ModelManager, name: str, params: GenerationParams) -> dict[str, float]:
    mem = PeakRSS()
    with mem.watch():
        llm, load_s = timed(lambda: manager.get_generator(name))
    load_peak = mem.peak
    assert isinstance(llm, BaseGenerator)
    prompts = [llm.format_chat([{"role": "user", "content": q}]) for q in QUESTIONS]
    llm.generate(prompts[0], GenerationParams(max_tokens=4))  # warm-up, not timed
    with mem.watch():
        seq, seq_s = timed(lambda: [llm.generate(p, params) for p in prompts])
        if llm.backend == "vllm":

            async def together() -> list[Any]:
                return list(await asyncio.gather(*(llm.agenerate(p, params) for p in prompts)))

            conc, conc_s = timed(lambda: asyncio.run(together()))
        else:
            conc, conc_s = timed(lambda: llm.generate_batch(prompts, params))
    seq_tokens = sum(r.completion_tokens for r in seq)
    conc_tokens = sum(r.completion_tokens for r in conc)
    manager.unload(name)
    return {
        "load_s": load_s,
        "single_tok_s": seq_tokens / seq_s,
        "concurrent8_tok_s": conc_tokens / conc_s,
        "single_tokens": seq_tokens,
        "concurrent_tokens": conc_tokens,
        "peak_rss_gib_load": load_peak,
        "peak_rss_gib_run": mem.peak,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    params = GenerationParams(max_tokens=args.max_tokens)
    manager = ModelManager.from_config(embedded_defaults(), show_progress=False)
    from mm_orch.models.prepare import prepare_model

    meta = embedded_defaults().get("smollm2-135m")
    assert meta is not None
    prepare_model(meta, manager.cache_dir, show_progress=False)  # conversion is not part of a load time
    results = {
        "transformers": bench_backend(manager, "smollm2-135m", params),
        "vllm": bench_backend(manager, "smollm2-135m-vllm", params),
    }
    hf, vl = results["transformers"], results["vllm"]
    base = hf["single_tok_s"]
    print(
        f"SmolLM2-135M-Instruct, {len(QUESTIONS)} prompts, max_tokens={args.max_tokens}, greedy, CPU cores: "
        f"{psutil.cpu_count()}"
    )
    print(f"{'backend':<13}{'load s':>8}{'1-stream tok/s':>16}{'8-at-once tok/s':>17}{'peak RSS GiB':>14}")
    for name, r in results.items():
        print(
            f"{name:<13}{r['load_s']:>8.1f}{r['single_tok_s']:>16.1f}{r['concurrent8_tok_s']:>17.1f}"
            f"{r['peak_rss_gib_run']:>14.2f}"
        )
    print("ratios (baseline: transformers single stream):")
    print(f"  transformers 8-batch / transformers single : {hf['concurrent8_tok_s'] / base:.2f}x")
    print(f"  vllm single          / transformers single : {vl['single_tok_s'] / base:.2f}x")
    print(f"  vllm 8 concurrent    / transformers single : {vl['concurrent8_tok_s'] / base:.2f}x")
    print(f"  vllm 8 concurrent    / vllm sequential     : {vl['concurrent8_tok_s'] / vl['single_tok_s']:.2f}x")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
