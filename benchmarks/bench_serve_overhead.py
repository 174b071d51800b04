"""What the mm-orch serving layer costs per request, over a raw Ray Serve chain of the same hops and over the
same work in-process, with a trivial model so that nothing but the plumbing is measured.

Run: python benchmarks/bench_serve_overhead.py [--levels 1 8 32] [--requests 64] [--passes 2]

One run, one Ray cluster, both applications up at once (requests alternate between them level by level):

- ``mm-orch``: the real application (serve.app:build_app, config/serve.local.yaml's deployments and tracing)
  with the fake generator and embedder as its models: POST /v1/chat/completions (``model: mm-orch``, so the
  router chooses) -> FastAPI ingress (auth, validation, OpenAI mapping) -> Router deployment -> executor ->
  chat step -> LLM deployment -> chat.completion;
- ``raw chain``: the same hops with no mm-orch layer: a bare ``serve.deployment`` ingress that reads the JSON,
  awaits the same Router deployment class, then the same LLM deployment class (same fake model), and returns
  the text;
- in-process, for scale: the bare model call (``FakeGenerator.achat``) and ``PhaseBOrchestrator`` with the
  same router and model (no Ray, no HTTP).

Prints p50 latency and requests/s per level, and the ratios mm-orch/raw chain. Targets (issue 11): our layer
adds <= 25 % to p50 latency and keeps >= 80 % of the raw chain's requests/s, at concurrency 1, 8 and 32.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from bench_serve_common import (
    ROOT,
    Level,
    Reply,
    free_port,
    local_config,
    run_level,
    start_ray,
    stop_ray,
)

QUERY = "Hi there! How are you doing today?"  # conversational: the router sends it to chat_generate
SYSTEM = "You are a helpful, friendly assistant. Keep replies short."


def write_models_yaml(folder: Path) -> Path:
    import yaml

    from mm_orch.models import DefaultsConfig, ModelsConfig, fake_metadata

    config = ModelsConfig(
        defaults=DefaultsConfig(generator="bench-llm", embedder="bench-emb"),
        models=[fake_metadata("bench-llm"), fake_metadata("bench-emb", embed=True, dimension=64)],
    )
    path = folder / "models.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")), encoding="utf-8")
    return path


def build_raw_app(args: dict[str, Any]) -> Any:
    """The raw chain (import_path ``bench_serve_overhead:build_raw_app``): ingress -> Router -> LLM."""
    from ray import serve
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    from deployments import LLMDeployment, RouterDeployment
    from mm_orch.models import GenerationParams
    from mm_orch.schemas import UserRequest

    @serve.deployment(name="RawIngress", ray_actor_options={"num_cpus": 0.1}, max_ongoing_requests=64)
    class RawIngress:
        def __init__(self, router: Any, llm: Any) -> None:
            self.router, self.llm = router, llm

        async def __call__(self, request: Request) -> JSONResponse:
            body = await request.json()
            query = body["messages"][-1]["content"]
            decision = await self.router.route.remote(UserRequest(query=query))
            messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": query}]
            result = await self.llm.chat.remote(messages, GenerationParams(max_tokens=96))
            return JSONResponse(
                {"choices": [{"message": {"content": result.text}}], "workflow": decision.workflow}
            )

    router = RouterDeployment.options(
        name="RawRouter", user_config=args["router"], ray_actor_options={"num_cpus": 0.1}
    ).bind()
    llm = LLMDeployment.options(name="RawLLM", ray_actor_options={"num_cpus": 0.1}).bind(
        "default", args["models_config"]
    )
    return RawIngress.bind(router, llm)


def deploy_both(tmp: Path, models_yaml: Path, router_dir: Path) -> str:
    from ray.serve.schema import ServeApplicationSchema

    from serve import deploy_config

    config = local_config(
        free_port(),
        router_dir,
        models_config=str(models_yaml),
        llm_model="default",
        embedder_model="embedder",
        tracing={"enabled": True, "parquet_dir": str(tmp / "traces")},
    )
    router_cfg = {"router": {"version": "v3", "model_path": str(router_dir)}, "revision": "b"}
    raw = ServeApplicationSchema.model_validate(
        {
            "name": "raw",
            "route_prefix": "/raw",
            "import_path": "bench_serve_overhead:build_raw_app",
            "args": {"router": router_cfg, "models_config": str(models_yaml)},
        }
    )
    config.applications.append(raw)
    return str(deploy_config(config, timeout_s=600))


class InProcess:
    """The same router and model in this process."""

    def __init__(self, models_yaml: Path, router_dir: Path) -> None:
        from mm_orch.configuration import PhaseBConfig
        from mm_orch.orchestration.phase_b_orchestrator import PhaseBOrchestrator
        from mm_orch.orchestration.wiring import build_default_runtime
        from mm_orch.routing import build_router

        self.router = build_router({"version": "v3", "model_path": str(router_dir)})
        self.router.warm_up()  # trains/publishes the bootstrap model both Serve routers then load
        self.runtime = build_default_runtime(models_config=str(models_yaml))
        self.model = self.runtime.model_manager.get_model("default")  # type: ignore[union-attr]
        config = PhaseBConfig.model_validate({"tracer": {"enabled": False}})
        self.orch = PhaseBOrchestrator(config, runtime=self.runtime, router=self.router)
        self.orch.warm_up()

    async def bare(self, i: int) -> Reply:
        from mm_orch.models import GenerationParams

        t0 = time.perf_counter()
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUERY}]
        result = await self.model.achat(messages, GenerationParams(max_tokens=96))
        dt = time.perf_counter() - t0
        return Reply(dt, dt, result.completion_tokens, result.text)

    async def orchestrated(self, i: int) -> Reply:
        from mm_orch.schemas import UserRequest

        t0 = time.perf_counter()
        result = await self.orch.aprocess_request(UserRequest(query=QUERY))
        dt = time.perf_counter() - t0
        return Reply(dt, dt, 0, result.answer)


async def measure(args: argparse.Namespace, base: str, local: InProcess) -> None:
    import httpx

    body = {"model": "mm-orch", "messages": [{"role": "user", "content": QUERY}]}
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=httpx.Limits(max_connections=64)) as client:

        async def post(path: str) -> Reply:
            t0 = time.perf_counter()
            r = await client.post(path, json=body)
            dt = time.perf_counter() - t0
            if r.status_code != 200:
                raise RuntimeError(f"{path}: HTTP {r.status_code}: {r.text[:300]}")
            return Reply(dt, dt, 0, r.json()["choices"][0]["message"]["content"])

        paths = {"mm-orch": "/v1/chat/completions", "raw chain": "/raw"}
        warm = {name: (await client.post(path, json=body)).json() for name, path in paths.items()}
        chosen = (warm["mm-orch"].get("mm_orch") or {}).get("workflow")
        print(f"workflow chosen: mm-orch {chosen!r}, raw chain {warm['raw chain'].get('workflow')!r}")
        if chosen != "chat_generate":
            print("WARNING: the router did not choose chat_generate; the hops differ from the raw chain's")
        for _ in range(20):  # settle the HTTP connections and replicas
            for path in paths.values():
                await client.post(path, json=body)
        runners = {
            "mm-orch": lambda i: post("/v1/chat/completions"),
            "raw chain": lambda i: post("/raw"),
            "in-process orchestrator": local.orchestrated,
            "in-process model call": local.bare,
        }
        results: dict[str, dict[int, list[Level]]] = {name: {} for name in runners}
        for n in range(args.passes):
            for c in args.levels:
                names = list(runners) if n % 2 == 0 else list(reversed(runners))
                for name in names:
                    level = await run_level(runners[name], c, max(args.requests, 4 * c))
                    results[name].setdefault(c, []).append(level)
    report(results)


def report(results: dict[str, dict[int, list[Level]]]) -> None:
    def merged(levels: list[Level]) -> tuple[float, float, int]:
        latencies = sorted(x for lv in levels for x in lv.latencies_s)
        rps = sum(lv.requests - lv.errors for lv in levels) / sum(lv.wall_s for lv in levels)
        return 1000 * latencies[len(latencies) // 2], rps, sum(lv.errors for lv in levels)

    print(f"{'path':26s} {'c':>3s} {'p50 ms':>8s} {'req/s':>8s} {'err':>4s}")
    for c in sorted(results["mm-orch"]):
        rows = {name: merged(per[c]) for name, per in results.items()}
        for name, (p50, rps, errors) in rows.items():
            print(f"{name:26s} {c:3d} {p50:8.2f} {rps:8.1f} {errors:4d}")
        ours, raw, bare = rows["mm-orch"], rows["raw chain"], rows["in-process model call"]
        print(
            f"  c={c}: mm-orch/raw chain p50 {ours[0] / raw[0]:.2f}x (target <= 1.25x), "
            f"req/s {ours[1] / raw[1]:.2f}x (target >= 0.8x); mm-orch adds {ours[0] - raw[0]:.2f} ms p50 over "
            f"the raw chain, {ours[0] - bare[0]:.2f} ms over the in-process model call"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--requests", type=int, default=64, help="requests per level and pass (at least 4 x c)")
    parser.add_argument("--passes", type=int, default=2, help="passes over the levels, path order alternating")
    args = parser.parse_args()
    bench_dir = str(ROOT / "benchmarks")  # the raw chain's import_path lives here
    os.environ["PYTHONPATH"] = os.pathsep.join([bench_dir, *filter(None, [os.environ.get("PYTHONPATH")])])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        models_yaml = write_models_yaml(folder)
        local = InProcess(models_yaml, folder / "router")
        start_ray()
        try:
            t0 = time.perf_counter()
            base = deploy_both(folder, models_yaml, folder / "router")
            print(f"both applications RUNNING after {time.perf_counter() - t0:.1f} s", flush=True)
            asyncio.run(measure(args, base, local))
        finally:
            stop_ray()


if __name__ == "__main__":
    main()
