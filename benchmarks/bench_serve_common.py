"""Shared pieces of the Serve benchmarks (bench_serve_overhead, bench_serve_vs_vllm, bench_serve_coldstart).

Not a benchmark itself: a free port, the application from ``config/serve.local.yaml`` deployed on a local Ray
cluster with some ``args`` replaced, a streaming chat-completions client that times the first token, and a
load runner that keeps ``c`` requests in flight.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The engine settings config/serve.local.yaml gives the LLM replica (used for every engine in a run).
LLM_ENV = {
    "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
    "VLLM_CPU_KVCACHE_SPACE": "1",
    "OMP_NUM_THREADS": "2",
    "HF_HUB_OFFLINE": "1",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def local_config(port: int, router_dir: Path, **args: Any) -> Any:
    """config/serve.local.yaml with its HTTP port, router model dir and ``args`` replaced (auth off)."""
    from serve import load_serve_config, set_router_user_config

    config = load_serve_config(ROOT / "config" / "serve.local.yaml")
    config.http_options.port = port
    (app,) = config.applications
    app.args = {**app.args, "auth": {"api_keys_env": "MM_ORCH_BENCH_NO_KEYS"}, **args}
    set_router_user_config(config, {"router": {"version": "v3", "model_path": str(router_dir)}, "revision": "b"})
    return config


def start_ray() -> None:
    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(ROOT) not in paths:  # replicas import serve.app, deployments, steps from the repository root
        os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), *paths])
    if not ray.is_initialized():
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)


def stop_ray() -> None:
    import ray
    from ray import serve

    try:
        serve.shutdown()
    finally:
        ray.shutdown()


@dataclass
class Reply:
    ttft_s: float
    latency_s: float
    completion_tokens: int
    text: str


async def stream_chat(client: Any, url: str, body: dict[str, Any]) -> Reply:
    """POST an OpenAI chat completion with ``stream: true``; time to the first content delta, usage, text."""
    body = {**body, "stream": True, "stream_options": {"include_usage": True}}
    t0 = time.perf_counter()
    first: float | None = None
    tokens = 0
    parts: list[str] = []
    async with client.stream("POST", url, json=body) as response:
        if response.status_code != 200:
            raise RuntimeError(f"{url}: HTTP {response.status_code}: {(await response.aread())[:300]!r}")
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if "error" in chunk:
                raise RuntimeError(f"{url}: error event {chunk['error']}")
            for choice in chunk.get("choices") or []:
                text = (choice.get("delta") or {}).get("content")
                if text:
                    if first is None:
                        first = time.perf_counter() - t0
                    parts.append(text)
            if chunk.get("usage"):
                tokens = int(chunk["usage"].get("completion_tokens") or 0)
    latency = time.perf_counter() - t0
    return Reply(first if first is not None else latency, latency, tokens, "".join(parts).strip())


@dataclass
class Level:
    """``requests`` sent with at most ``concurrency`` in flight."""

    concurrency: int
    requests: int
    wall_s: float
    latencies_s: list[float]
    ttfts_s: list[float]
    tokens: int
    errors: int

    @property
    def rps(self) -> float:
        return (self.requests - self.errors) / self.wall_s if self.wall_s else 0.0

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.wall_s if self.wall_s else 0.0

    @property
    def p50_ms(self) -> float:
        return 1000 * statistics.median(self.latencies_s) if self.latencies_s else float("nan")

    @property
    def ttft_p50_ms(self) -> float:
        return 1000 * statistics.median(self.ttfts_s) if self.ttfts_s else float("nan")


async def run_level(one: Callable[[int], Awaitable[Reply]], concurrency: int, requests: int) -> Level:
    """``requests`` calls of ``one(i)``, at most ``concurrency`` at once; failures are counted and printed."""
    gate = asyncio.Semaphore(concurrency)

    async def guarded(i: int) -> Reply:
        async with gate:
            return await one(i)

    t0 = time.perf_counter()
    outcomes = await asyncio.gather(*(guarded(i) for i in range(requests)), return_exceptions=True)
    wall = time.perf_counter() - t0
    replies = [o for o in outcomes if isinstance(o, Reply)]
    for failure in {f"{type(o).__name__}: {o}" for o in outcomes if isinstance(o, BaseException)}:
        print(f"request failed: {failure}", file=sys.stderr)
    return Level(
        concurrency,
        requests,
        wall,
        [r.latency_s for r in replies],
        [r.ttft_s for r in replies],
        sum(r.completion_tokens for r in replies),
        requests - len(replies),
    )


def wait_http(
    url: str,
    timeout_s: float,
    ok: Callable[[Any], bool] | None = None,
    alive: Callable[[], bool] | None = None,
) -> float:
    """Poll ``url`` until it answers 200 (and ``ok(response)``); seconds waited. TimeoutError after
    ``timeout_s``; RuntimeError as soon as ``alive()`` says the server process is gone."""
    import httpx

    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout_s:
        if alive is not None and not alive():
            raise RuntimeError(f"the server behind {url} exited before it answered")
        try:
            r = httpx.get(url, timeout=5)
            if r.status_code == 200 and (ok is None or ok(r)):
                return time.perf_counter() - t0
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer within {timeout_s} s")
