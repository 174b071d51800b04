"""The GPU check's measurements (scripts/gpu_check.sh drives them; they also run on CPU as a rehearsal).

Two measurements on the same model and prompts, greedy, the same ``max_tokens``:

- ``engine``: the bare vLLM engine (``AsyncLLM``) in this process, no mm-orch code in the loop: load time,
  output tokens/s at each concurrency, time to first token (streamed deltas), and GPU memory.
- ``stack``: the deployed application over HTTP. It uses ``POST /v1/chat/completions`` with ``stream: true``
  (``model: chat_generate``, so the LLM deployment generates the answer) when the app offers it, and
  ``POST /v1/answer`` otherwise (then time to first token is the whole latency).

Each prints one JSON object (and writes it with ``--json``); ``report`` joins the two into the table for
docs/benchmarks.md with the through-stack ratios.

    python benchmarks/bench_gpu_check.py engine --model-dir DIR --device cuda --json engine.json
    python benchmarks/bench_gpu_check.py stack --url http://127.0.0.1:8000 --json stack.json
    python benchmarks/bench_gpu_check.py report engine.json stack.json [--cold-start cold.json]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PROMPTS = [
    "Write a short poem about the sea.",
    "Explain in two sentences why the sky is blue.",
    "Give three tips for writing clear emails.",
    "Describe a cat to someone who has never seen one.",
    "What are the benefits of regular exercise?",
    "Write a friendly note thanking a neighbour for watering my plants.",
    "Suggest a name for a bakery that sells only bread.",
    "Tell me a joke about computers.",
]


@dataclass
class LevelResult:
    """One concurrency level: ``requests`` sent with at most ``concurrency`` in flight."""

    concurrency: int
    requests: int
    wall_s: float
    output_tokens: int
    tokens_per_s: float
    ttft_p50_ms: float
    ttft_p95_ms: float
    latency_p50_ms: float
    errors: int = 0


@dataclass
class Measurement:
    kind: str
    device: str
    model: str
    max_tokens: int
    load_s: float | None = None
    gpu_memory_mib: float | None = None
    levels: list[LevelResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _pct(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def gpu_memory_mib() -> float | None:
    """Memory in use on GPU 0 as nvidia-smi reports it (None without nvidia-smi)."""
    if shutil.which("nvidia-smi") is None:
        return None
    out = subprocess.run(
        ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", "-i", "0"],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        return float(out.stdout.strip().splitlines()[0])
    except (ValueError, IndexError):
        return None


OneRequest = Callable[[str], Awaitable[tuple[float, float, int]]]  # prompt -> (ttft_s, latency_s, tokens)


async def run_levels(one: OneRequest, levels: Sequence[int], rounds: int) -> list[LevelResult]:
    """For each level c: ``rounds * c`` requests (prompts cycled), at most c in flight."""
    results = []
    for c in levels:
        gate = asyncio.Semaphore(c)
        n = max(c * rounds, len(PROMPTS))

        async def guarded(prompt: str, gate: asyncio.Semaphore = gate) -> tuple[float, float, int]:
            async with gate:
                return await one(prompt)

        start = time.perf_counter()
        outcomes = await asyncio.gather(
            *(guarded(PROMPTS[i % len(PROMPTS)]) for i in range(n)), return_exceptions=True
        )
        samples = [o for o in outcomes if not isinstance(o, BaseException)]
        errors = len(outcomes) - len(samples)
        for failure in {f"{type(o).__name__}: {o}" for o in outcomes if isinstance(o, BaseException)}:
            print(f"request failed: {failure}", file=sys.stderr)  # counted, not fatal to the measurement
        wall = time.perf_counter() - start
        tokens = sum(s[2] for s in samples)
        results.append(
            LevelResult(
                concurrency=c,
                requests=n,
                wall_s=round(wall, 3),
                output_tokens=tokens,
                tokens_per_s=round(tokens / wall, 1) if wall else 0.0,
                ttft_p50_ms=round(1000 * _pct([s[0] for s in samples], 0.5), 1),
                ttft_p95_ms=round(1000 * _pct([s[0] for s in samples], 0.95), 1),
                latency_p50_ms=round(1000 * _pct([s[1] for s in samples], 0.5), 1),
                errors=errors,
            )
        )
        print(json.dumps(asdict(results[-1])), flush=True)
    return results


async def measure_engine(args: argparse.Namespace) -> Measurement:
    """The bare vLLM engine on ``args.model_dir``."""
    if args.device == "cpu":
        from mm_orch.models.backends.vllm_backend import CPU_ENV_DEFAULTS

        for key, value in CPU_ENV_DEFAULTS.items():  # the same engine settings mm-orch's vLLM backend uses
            os.environ.setdefault(key, value)
    from transformers import AutoTokenizer
    from vllm import SamplingParams
    from vllm.engine.arg_utils import AsyncEngineArgs
    from vllm.sampling_params import RequestOutputKind
    from vllm.v1.engine.async_llm import AsyncLLM

    tokenizer = AutoTokenizer.from_pretrained(args.model_dir)
    engine_args: dict[str, Any] = {"model": args.model_dir, "max_model_len": args.max_model_len}
    if args.device == "cuda":
        engine_args.update(dtype="bfloat16", gpu_memory_utilization=args.gpu_memory_utilization)
    else:
        engine_args.update(dtype="bfloat16", enforce_eager=True)
    start = time.perf_counter()
    engine = AsyncLLM.from_engine_args(AsyncEngineArgs(**engine_args))
    load_s = time.perf_counter() - start
    sampling = SamplingParams(max_tokens=args.max_tokens, temperature=0.0, output_kind=RequestOutputKind.DELTA)

    async def one(prompt: str) -> tuple[float, float, int]:
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        t0 = time.perf_counter()
        first: float | None = None
        tokens = 0
        async for out in engine.generate({"prompt_token_ids": ids}, sampling, request_id=uuid.uuid4().hex):
            got = sum(len(o.token_ids) for o in out.outputs)
            if got and first is None:
                first = time.perf_counter() - t0
            tokens += got
        latency = time.perf_counter() - t0
        return (first if first is not None else latency), latency, tokens

    try:
        await one(PROMPTS[0])  # warm-up, not timed
        levels = await run_levels(one, args.levels, args.rounds)
        memory = gpu_memory_mib()
    finally:
        engine.shutdown()
        engine = None  # collected now, so AsyncLLM.__del__ does not run again at interpreter teardown
        gc.collect()
    return Measurement("engine", args.device, args.model_dir, args.max_tokens, round(load_s, 2), memory, levels)


async def measure_stack(args: argparse.Namespace) -> Measurement:
    """The deployed application at ``args.url``."""
    import httpx

    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    async with httpx.AsyncClient(base_url=args.url, headers=headers, timeout=args.timeout) as client:
        has_openai = (await client.get("/v1/models")).status_code == 200
        notes = [] if has_openai else ["no /v1/chat/completions: /v1/answer used, TTFT = full latency"]

        async def chat(prompt: str) -> tuple[float, float, int]:
            body = {
                "model": "chat_generate",
                "messages": [{"role": "user", "content": prompt}],
                "max_tokens": args.max_tokens,
                "temperature": 0,
                "stream": True,
                "stream_options": {"include_usage": True},
            }
            t0 = time.perf_counter()
            first: float | None = None
            tokens = 0
            async with client.stream("POST", "/v1/chat/completions", json=body) as response:
                response.raise_for_status()
                async for line in response.aiter_lines():
                    if not line.startswith("data: ") or line == "data: [DONE]":
                        continue
                    chunk = json.loads(line[6:])
                    if first is None and any(c.get("delta", {}).get("content") for c in chunk.get("choices", [])):
                        first = time.perf_counter() - t0
                    if chunk.get("usage"):
                        tokens = int(chunk["usage"].get("completion_tokens", 0))
            latency = time.perf_counter() - t0
            return (first if first is not None else latency), latency, tokens

        async def answer(prompt: str) -> tuple[float, float, int]:
            t0 = time.perf_counter()
            response = await client.post("/v1/answer", json={"query": prompt, "workflow": "chat_generate"})
            response.raise_for_status()
            latency = time.perf_counter() - t0
            return latency, latency, len(response.json().get("answer", "").split())

        one = chat if has_openai else answer
        await one(PROMPTS[0])  # warm-up
        levels = await run_levels(one, args.levels, args.rounds)
    return Measurement("stack", args.device, args.url, args.max_tokens, None, gpu_memory_mib(), levels, notes)


def report(engine_path: str, stack_path: str, cold_path: str | None) -> str:
    engine = json.loads(Path(engine_path).read_text())
    stack = json.loads(Path(stack_path).read_text())
    lines = [
        f"model {engine['model']}, device {engine['device']}, max_tokens {engine['max_tokens']}, greedy",
        "| concurrency | engine tok/s | stack tok/s | stack/engine | engine TTFT p50 ms | stack TTFT p50 ms |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    by_c = {lv["concurrency"]: lv for lv in stack["levels"]}
    for lv in engine["levels"]:
        st = by_c.get(lv["concurrency"])
        if st is None:
            continue
        ratio = st["tokens_per_s"] / lv["tokens_per_s"] if lv["tokens_per_s"] else float("nan")
        lines.append(
            f"| {lv['concurrency']} | {lv['tokens_per_s']} | {st['tokens_per_s']} | {ratio:.2f}x | "
            f"{lv['ttft_p50_ms']} | {st['ttft_p50_ms']} |"
        )
    lines.append(
        f"engine load {engine['load_s']} s; GPU memory engine {engine['gpu_memory_mib']} MiB, "
        f"stack {stack['gpu_memory_mib']} MiB"
    )
    if cold_path:
        cold = json.loads(Path(cold_path).read_text())
        lines.append("cold start: " + ", ".join(f"{k} {v} s" for k, v in cold.items()))
    lines.extend(stack.get("notes", []))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("engine", "stack"):
        p = sub.add_parser(name)
        p.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
        p.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32])
        p.add_argument("--rounds", type=int, default=2, help="requests per level = rounds x concurrency")
        p.add_argument("--max-tokens", type=int, default=64)
        p.add_argument("--json", help="write the measurement here")
    engine_p = sub.choices["engine"]
    engine_p.add_argument("--model-dir", required=True, help="HF model folder (e.g. the prepared SmolLM2)")
    engine_p.add_argument("--max-model-len", type=int, default=2048)
    engine_p.add_argument("--gpu-memory-utilization", type=float, default=0.3)
    stack_p = sub.choices["stack"]
    stack_p.add_argument("--url", default="http://127.0.0.1:8000")
    stack_p.add_argument("--api-key", default="")
    stack_p.add_argument("--timeout", type=float, default=120.0)
    rep = sub.add_parser("report")
    rep.add_argument("engine_json")
    rep.add_argument("stack_json")
    rep.add_argument("--cold-start", help="JSON of stage -> seconds written by scripts/gpu_check.sh")
    args = parser.parse_args(argv)
    if args.command == "report":
        print(report(args.engine_json, args.stack_json, args.cold_start))
        return 0
    measure = measure_engine if args.command == "engine" else measure_stack
    result = asyncio.run(measure(args))
    text = json.dumps(asdict(result), indent=2)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    summary = {lv.concurrency: lv.tokens_per_s for lv in result.levels}
    print(
        f"{args.command}: tokens/s by concurrency {summary}; load {result.load_s} s; "
        f"gpu memory {result.gpu_memory_mib} MiB; median of TTFT p50 "
        f"{statistics.median(lv.ttft_p50_ms for lv in result.levels):.1f} ms"
    )
    return 1 if any(lv.errors for lv in result.levels) else 0


if __name__ == "__main__":
    sys.exit(main())
