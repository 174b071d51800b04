"""The Phase B orchestrator: route a request, run its workflow graph, trace it, fall back to Phase A.

``get_phase_b_orchestrator()`` returns the process-wide instance built from config/phase_b.yaml. Without that
file, or when an essential Phase B component fails to load, it runs every request through the Phase A
pipelines instead (``using_phase_b`` is False and ``get_statistics()`` says why). Setting
``orchestrator.using_phase_b = False`` is the documented rollback.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path
from typing import Any

from mm_orch.configuration import PhaseBConfig, load_phase_b_config
from mm_orch.exceptions import WorkflowNotFoundError
from mm_orch.observability import metrics
from mm_orch.orchestration.executor import GraphExecutor, RunResult
from mm_orch.orchestration.request_mapping import (
    as_user_request,
    initial_state,
    result_from_state,
    trace_metadata,
)
from mm_orch.orchestration.runtime import Runtime
from mm_orch.orchestration.statistics import RunStatistics
from mm_orch.registries.model_registry import ModelRegistry
from mm_orch.registries.step_registry import StepRegistry
from mm_orch.registries.workflow_registry import WorkflowRegistry
from mm_orch.schemas import UserRequest, WorkflowResult
from mm_orch.singletons import ProcessSingleton

__all__ = ["PhaseBOrchestrator", "get_phase_b_orchestrator", "reset_phase_b_orchestrator"]

log = logging.getLogger(__name__)

_ESSENTIAL = ("step_registry", "workflow_registry", "executor")


class PhaseBOrchestrator:
    """Routes requests to workflow graphs. Pass components to override the defaults built from config."""

    def __init__(
        self,
        config: PhaseBConfig | None = None,
        *,
        config_path: str | Path | None = None,
        runtime: Runtime | None = None,
        step_registry: StepRegistry | None = None,
        workflow_registry: WorkflowRegistry | None = None,
        router: Any = None,
        tracer: Any = None,
        phase_a: Any = None,
    ) -> None:
        self.config = config if config is not None else load_phase_b_config(config_path)
        self.statistics = RunStatistics()
        self.components: dict[str, str | None] = {}  # name -> None when available, else why not
        self._phase_a = phase_a
        self._lock = threading.Lock()
        self.runtime = runtime
        self.step_registry = step_registry
        self.workflow_registry = workflow_registry
        self.router = router
        self.tracer = tracer
        self.model_registry: ModelRegistry | None = None
        self.executor: GraphExecutor | None = None
        self.fallback_reason: str | None = None
        if self.config is None:
            self.fallback_reason = "config/phase_b.yaml not found: running Phase A"
            self.using_phase_b = False
            return
        self._build(self.config)
        broken = [n for n in _ESSENTIAL if self.components.get(n)]
        self.using_phase_b = not broken
        if broken:
            self.fallback_reason = "; ".join(f"{n}: {self.components[n]}" for n in broken)
            log.error("Phase B unavailable, falling back to Phase A: %s", self.fallback_reason)

    # --- construction -------------------------------------------------------------------------------------

    def _component(self, name: str, build: Any) -> Any:
        try:
            value = build()
        except Exception as exc:  # recorded and reported by get_statistics, never silent
            self.components[name] = f"{type(exc).__name__}: {exc}"
            log.warning("Phase B component %r failed to load: %s", name, exc)
            return None
        self.components[name] = None
        return value

    def _build(self, config: PhaseBConfig) -> None:
        from mm_orch.orchestration import wiring

        regs = config.registries
        if self.step_registry is None:
            self.step_registry = self._component(
                "step_registry", lambda: wiring.build_step_registry(regs.step_sources)
            )
        else:
            self.components["step_registry"] = None
        if self.runtime is None:
            self.runtime = self._component("runtime", self._default_runtime)
        else:
            self.components["runtime"] = None
        if regs.workflow_registry.enabled and self.workflow_registry is None and self.step_registry is not None:
            self.workflow_registry = self._component(
                "workflow_registry",
                lambda: wiring.build_default_workflow_registry(self.step_registry, regs.workflows_dir),
            )
        elif self.workflow_registry is not None:
            self.components["workflow_registry"] = None
        else:
            self.components["workflow_registry"] = "disabled in phase_b.yaml (registries.workflow_registry)"
        if regs.model_registry.enabled:
            self.model_registry = self._component("model_registry", self._default_model_registry)
        if self.tracer is None and config.tracer.enabled:
            self.tracer = self._component("tracer", lambda: _build_tracer(config))
        elif self.tracer is not None:
            self.components["tracer"] = None
        if self.router is None:
            self.router = self._component("router", lambda: _build_router(config))
        else:
            self.components["router"] = None
        if self.step_registry is not None:
            self.executor = self._component("executor", lambda: GraphExecutor(self.step_registry, self.tracer))

    def _default_runtime(self) -> Runtime:
        from mm_orch.configuration import load_system_config
        from mm_orch.orchestration.wiring import build_default_runtime

        assert self.config is not None
        runtime = build_default_runtime(sessions_path=load_system_config().sessions_path)
        if not self.config.registries.tool_registry.enabled:
            runtime.tools = type(runtime.tools)()
        return runtime

    def _default_model_registry(self) -> ModelRegistry:
        registry = ModelRegistry()
        manager = getattr(self.runtime, "model_manager", None)
        for name in getattr(getattr(manager, "config", None), "models", {}) or {}:
            registry.register(manager.metadata(name))  # type: ignore[union-attr]
        return registry

    # --- requests -----------------------------------------------------------------------------------------

    def process_request(self, request: UserRequest | str | dict[str, Any]) -> WorkflowResult:
        """Route and run one request; fall back to Phase A when Phase B is off or the run fails."""
        req = as_user_request(request)
        if not self.using_phase_b:
            return self._run_phase_a(req, self.fallback_reason or "using_phase_b is False")
        t0 = time.perf_counter()
        workflow, meta = self._decide(req)
        try:
            assert self.executor is not None and self.workflow_registry is not None
            run = self.executor.run(
                self.workflow_registry.compiled(workflow),
                initial_state(req, self.runtime),
                self.runtime,
                trace_context=self._trace_context(req, workflow, meta),
                record=True,
            )
        except Exception as exc:
            return self._failed(req, workflow, exc, t0)
        return self._succeeded(req, workflow, meta, run, t0)

    async def aprocess_request(self, request: UserRequest | str | dict[str, Any]) -> WorkflowResult:
        """Async twin of :meth:`process_request`: model calls are awaited, a router with ``aroute`` (e.g. one
        behind a Serve handle) is awaited, and a Phase A fallback runs in a worker thread, so the event loop
        is never blocked."""
        req = as_user_request(request)
        if not self.using_phase_b:
            return await asyncio.to_thread(
                self._run_phase_a, req, self.fallback_reason or "using_phase_b is False"
            )
        t0 = time.perf_counter()
        decision = None
        router = self._router()
        if req.workflow is None and hasattr(router, "aroute"):
            decision = await router.aroute(req)
        workflow, meta = self._decide(req, decision)
        try:
            assert self.executor is not None and self.workflow_registry is not None
            run = await self.executor.arun(
                self.workflow_registry.compiled(workflow),
                initial_state(req, self.runtime),
                self.runtime,
                trace_context=self._trace_context(req, workflow, meta),
                record=True,
            )
        except Exception as exc:
            return await asyncio.to_thread(self._failed, req, workflow, exc, t0)
        return self._succeeded(req, workflow, meta, run, t0)

    def route(self, request: UserRequest | str | dict[str, Any]) -> Any:
        """The RoutingDecision the configured router makes for ``request`` (nothing runs)."""
        req = as_user_request(request)
        return self._router().route(req)

    def _router(self) -> Any:
        if self.router is None:
            from mm_orch.routing.router_v1 import RouterV1

            self.router = RouterV1()
        return self.router

    def _decide(self, req: UserRequest, decision: Any = None) -> tuple[str, dict[str, Any]]:
        """The workflow to run and its routing metadata: forced, ``decision`` when given, else routed now."""
        assert self.workflow_registry is not None
        if req.workflow is not None:
            self.workflow_registry.get(req.workflow)  # WorkflowNotFoundError lists the registered ones
            metrics.record_route("forced", "forced", req.workflow, 1.0)
            return req.workflow, {"router_version": "forced", "router_confidence": 1.0, "workflow_forced": True}
        if decision is None:
            decision = self._router().route(req)
        metrics.record_decision(decision)
        workflow = decision.workflow
        meta: dict[str, Any] = {
            "router_version": decision.router_version,
            "router_confidence": decision.confidence,
            "router_alternatives": dict(decision.alternatives),
            "router_reason": decision.reason,
            "workflow_forced": False,
        }
        if workflow not in self.workflow_registry:
            registered = self.workflow_registry.list_all()
            fallback = "search_qa" if "search_qa" in registered else registered[0]
            meta["router_reason"] += f"; {workflow!r} is not registered, ran {fallback!r}"
            workflow = fallback
        return workflow, meta

    def _trace_context(self, req: UserRequest, workflow: str, meta: dict[str, Any]) -> dict[str, Any]:
        return {
            "request_id": req.request_id,
            "question": req.query,
            "workflow": workflow,
            "mode": req.mode,
            "phase": "b",
            "metadata": trace_metadata(req),
            **meta,
        }

    def _succeeded(
        self, req: UserRequest, workflow: str, meta: dict[str, Any], run: RunResult, t0: float
    ) -> WorkflowResult:
        latency_ms = (time.perf_counter() - t0) * 1000.0
        self.statistics.record(workflow, success=True, latency_ms=latency_ms, phase="b")
        metadata = {
            **meta,
            "using_phase_b": True,
            "phase": "b",
            "latency_ms": latency_ms,
            "timings_ms": {r.node: round(r.latency_ms, 3) for r in run.records},
        }
        return result_from_state(
            run.state, workflow=workflow, trace_id=run.trace_id, request=req, metadata=metadata
        )

    def _failed(self, req: UserRequest, workflow: str, exc: Exception, t0: float) -> WorkflowResult:
        latency_ms = (time.perf_counter() - t0) * 1000.0
        self.statistics.record(workflow, success=False, latency_ms=latency_ms, phase="b")
        if isinstance(exc, WorkflowNotFoundError) or self.config is None or not self.config.fallback_to_phase_a:
            raise exc
        reason = f"Phase B run of {workflow!r} failed: {exc}"
        log.warning("%s; answering with Phase A", reason)
        result = self._run_phase_a(req, reason)
        result.metadata["phase_b_trace_id"] = getattr(exc, "trace_id", None)
        return result

    def _run_phase_a(self, req: UserRequest, reason: str) -> WorkflowResult:
        orchestrator = self._phase_a_orchestrator()
        result: WorkflowResult = orchestrator.process_request(req)
        result.metadata.update({"using_phase_b": False, "fallback_reason": reason})
        self.statistics.fallbacks += 1
        return result

    def _phase_a_orchestrator(self) -> Any:
        with self._lock:
            if self._phase_a is None:
                from mm_orch.orchestrator import Orchestrator

                self._phase_a = Orchestrator(
                    runtime=self.runtime, step_registry=self.step_registry, tracer=self.tracer
                )
            return self._phase_a

    # --- introspection ------------------------------------------------------------------------------------

    def get_statistics(self) -> dict[str, Any]:
        """Which components loaded (and why not), registered workflows, request counts, success rate and
        latency per workflow."""
        tracer_stats = None
        if self.tracer is not None and hasattr(self.tracer, "stats"):
            tracer_stats = self.tracer.stats()
            tracer_stats = tracer_stats.model_dump() if hasattr(tracer_stats, "model_dump") else tracer_stats
        return {
            "using_phase_b": self.using_phase_b,
            "fallback_reason": self.fallback_reason,
            "components": {
                name: {"available": error is None, "error": error}
                for name, error in sorted(self.components.items())
            },
            "workflows": self.workflow_registry.list_all() if self.workflow_registry else [],
            "steps": self.step_registry.list_all() if self.step_registry else [],
            "router_version": getattr(self.router, "version", None),
            "tracer": tracer_stats,
            **self.statistics.snapshot(),
        }

    def close(self) -> None:
        """Flush and close the tracer."""
        if self.tracer is not None and hasattr(self.tracer, "close"):
            self.tracer.close()


def _resolve_tracer_paths(cfg: Any) -> Any:
    """``cfg`` (a TracerConfig) with relative output_path / parquet_dir under the project root."""
    from mm_orch.paths import writable_path

    update = {
        key: writable_path(getattr(cfg, key))
        for key in ("output_path", "parquet_dir")
        if getattr(cfg, key) is not None and not Path(getattr(cfg, key)).is_absolute()
    }
    return cfg.model_copy(update=update) if update else cfg


def _build_tracer(config: PhaseBConfig) -> Any:
    from mm_orch.observability import Tracer

    return Tracer.from_config(_resolve_tracer_paths(config.tracer))


def _build_router(config: PhaseBConfig) -> Any:
    from mm_orch.paths import writable_path
    from mm_orch.routing.chain import build_router

    cfg = config.router
    if not Path(cfg.model_path).is_absolute():
        cfg = cfg.model_copy(update={"model_path": str(writable_path(cfg.model_path))})
    return build_router(cfg)


_instance: ProcessSingleton[PhaseBOrchestrator] = ProcessSingleton(
    PhaseBOrchestrator, close=PhaseBOrchestrator.close
)


def get_phase_b_orchestrator(config_path: str | Path | None = None) -> PhaseBOrchestrator:
    """The process-wide Phase B orchestrator (built on first call from config/phase_b.yaml, or ``config_path``)."""
    return _instance.get(lambda: PhaseBOrchestrator(config_path=config_path))


def reset_phase_b_orchestrator() -> None:
    """Forget the process-wide instance (closing its tracer); the next get builds a fresh one."""
    _instance.reset()
