"""The Phase B orchestrator: route a request, run its workflow graph, trace it, fall back to Phase A.

Construction is cheap: it reads ``config/phase_b.yaml`` and keeps what the caller passed, nothing more.
:meth:`PhaseBOrchestrator.warm_up` builds the rest — steps, workflows, runtime, tracer, router (a trained router
loads or trains its model here) and executor — once; a Serve replica calls it at start, and the first request
(or reading ``using_phase_b`` / ``get_statistics()``) calls it otherwise. A component that fails to build is
recorded, never silent: without an essential one (steps, workflows, executor), or without phase_b.yaml, every
request runs through the Phase A pipelines (``using_phase_b`` is False and ``get_statistics()`` says why).
Setting ``orchestrator.using_phase_b = False`` is the documented rollback.

``get_phase_b_orchestrator()`` returns the process-wide instance. Which workflow runs — forced, routed, a
stand-in for an unregistered one, the Phase A fallback — follows the one rule of :mod:`.workflow_choice`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel

from mm_orch.configuration import PhaseBConfig, load_phase_b_config
from mm_orch.exceptions import ConfigError, WorkflowNotFoundError
from mm_orch.observability import metrics
from mm_orch.orchestration.compiler import CompiledGraph
from mm_orch.orchestration.executor import GraphExecutor, RunResult
from mm_orch.orchestration.hooks import LifecycleHook
from mm_orch.orchestration.protocols import AsyncRouter, ManagedTraceSink, Router, TraceSink
from mm_orch.orchestration.request_mapping import as_user_request, initial_state, result_from_state, trace_metadata
from mm_orch.orchestration.runtime import Runtime
from mm_orch.orchestration.statistics import RunStatistics
from mm_orch.orchestration.workflow_choice import WorkflowChoice, choose_workflow, phase_a_pipeline_for
from mm_orch.registries.model_registry import ModelRegistry
from mm_orch.registries.step_registry import StepRegistry
from mm_orch.registries.workflow_registry import WorkflowRegistry
from mm_orch.routing.decision import RoutingDecision
from mm_orch.schemas import UserRequest, WorkflowResult
from mm_orch.singletons import ProcessSingleton

__all__ = ["PhaseBOrchestrator", "get_phase_b_orchestrator", "reset_phase_b_orchestrator"]

log = logging.getLogger(__name__)

T = TypeVar("T")
_ESSENTIAL = ("step_registry", "workflow_registry", "executor")
Request = UserRequest | str | dict[str, Any]


@runtime_checkable
class _WarmsUp(Protocol):
    def warm_up(self) -> None: ...


@dataclass(frozen=True, slots=True)
class _Job:
    """One request on its way through Phase B: what runs, from which state, with which trace context."""

    request: UserRequest
    choice: WorkflowChoice
    graph: CompiledGraph
    state: dict[str, Any]
    context: dict[str, Any]
    started: float


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
        router: Router | None = None,
        tracer: TraceSink | None = None,
        phase_a: Any = None,
        hooks: Sequence[LifecycleHook] = (),
    ) -> None:
        self.config = config if config is not None else load_phase_b_config(config_path)
        self.runtime = runtime
        self.step_registry = step_registry
        self.workflow_registry = workflow_registry
        self.router = router
        self.tracer = tracer
        self.model_registry: ModelRegistry | None = None
        self.executor: GraphExecutor | None = None
        self.statistics = RunStatistics()
        self.components: dict[str, str | None] = {}  # name -> None when available, else why not
        self.fallback_reason: str | None = None
        self._hooks = list(hooks)
        self._phase_a = phase_a
        self._switch: bool | None = None  # set by `using_phase_b = ...` (the rollback switch)
        self._warm = False
        self._lock = threading.RLock()

    # --- warm-up ------------------------------------------------------------------------------------------

    def warm_up(self) -> None:
        """Build every component now (idempotent, thread-safe). Models still load on their first use."""
        with self._lock:
            if self._warm:
                return
            if self.config is None:
                self.fallback_reason = "config/phase_b.yaml not found: running Phase A"
            else:
                self._build(self.config)
                broken = [n for n in _ESSENTIAL if self.components.get(n)]
                if broken:
                    self.fallback_reason = "; ".join(f"{n}: {self.components[n]}" for n in broken)
                    log.error("Phase B unavailable, falling back to Phase A: %s", self.fallback_reason)
            self._warm = True

    @property
    def using_phase_b(self) -> bool:
        """True when requests run as Phase B graphs (warms up); assign False to roll back to Phase A."""
        if self._switch is not None:
            return self._switch
        self.warm_up()
        return self.fallback_reason is None

    @using_phase_b.setter
    def using_phase_b(self, value: bool) -> None:
        self._switch = bool(value)

    @property
    def hooks(self) -> tuple[LifecycleHook, ...]:
        """The lifecycle hooks added by callers (the executor also runs the metrics hook while metrics are on)."""
        return tuple(self._hooks)

    def add_hook(self, hook: LifecycleHook) -> None:
        """Observe every Phase B run with ``hook`` (see :mod:`mm_orch.orchestration.hooks`)."""
        with self._lock:
            self._hooks.append(hook)
            if self.executor is not None:
                self.executor.hooks = (*self.executor.hooks, hook)

    def _component(self, name: str, given: T | None, build: Callable[[], T]) -> T | None:
        """``given`` when the caller passed one, else ``build()``; a failure is recorded under ``name``."""
        if given is not None:
            self.components[name] = None
            return given
        try:
            value = build()
        except Exception as exc:  # noqa: BLE001 - recorded and reported by get_statistics, never silent
            self.components[name] = f"{type(exc).__name__}: {exc}"
            log.warning("Phase B component %r failed to load: %s", name, exc)
            return None
        self.components[name] = None
        return value

    def _build(self, config: PhaseBConfig) -> None:
        from mm_orch.orchestration import wiring

        regs = config.registries
        self.step_registry = self._component(
            "step_registry", self.step_registry, lambda: wiring.build_step_registry(regs.step_sources)
        )
        self.runtime = self._component("runtime", self.runtime, self._default_runtime)
        steps = self.step_registry
        if self.workflow_registry is None and not regs.workflow_registry.enabled:
            self.components["workflow_registry"] = "disabled in phase_b.yaml (registries.workflow_registry)"
        elif steps is not None or self.workflow_registry is not None:
            self.workflow_registry = self._component(
                "workflow_registry",
                self.workflow_registry,
                lambda: wiring.build_default_workflow_registry(steps, regs.workflows_dir),
            )
        if regs.model_registry.enabled:
            self.model_registry = self._component("model_registry", None, self._runtime_model_registry)
        if self.tracer is not None or config.tracer.enabled:
            self.tracer = self._component("tracer", self.tracer, lambda: _build_tracer(config))
        self.router = self._component("router", self.router, lambda: _build_router(config))
        if isinstance(self.router, _WarmsUp):
            self.router.warm_up()  # a trained router loads (or trains) its model here, not on the first request
        if steps is not None:
            self.executor = self._component(
                "executor",
                None,
                lambda: GraphExecutor(steps, self.tracer, hooks=self._hooks),
            )

    def _default_runtime(self) -> Runtime:
        from mm_orch.configuration import load_system_config
        from mm_orch.orchestration.wiring import build_default_runtime
        from mm_orch.registries.tool_registry import ToolRegistry

        runtime = build_default_runtime(sessions_path=load_system_config().sessions_path)
        if self.config is not None and not self.config.registries.tool_registry.enabled:
            runtime.tools = ToolRegistry()
        return runtime

    def _runtime_model_registry(self) -> ModelRegistry:
        registry = getattr(getattr(self.runtime, "model_manager", None), "registry", None)
        if not isinstance(registry, ModelRegistry):
            raise ConfigError(
                "the runtime's model manager keeps no ModelRegistry (e.g. models behind Serve handles); "
                "set registries.model_registry.enabled: false in phase_b.yaml to silence this"
            )
        return registry

    # --- requests: the two entry points share every step but the awaited calls ----------------------------

    def process_request(self, request: Request) -> WorkflowResult:
        """Route and run one request; fall back to Phase A when Phase B is off or the run fails."""
        req = as_user_request(request)
        engine = self._engine()
        if engine is None:
            return self._run_phase_a(req, self.fallback_reason or "using_phase_b is False")
        executor, registry = engine
        decision = None if req.workflow is not None else self._router().route(req)
        job = self._job(req, registry, decision)
        try:
            run = executor.run(job.graph, job.state, self.runtime, trace_context=job.context, record=True)
        except Exception as exc:  # noqa: BLE001 - _failed falls back to Phase A or re-raises
            return self._failed(job, exc)
        return self._succeeded(job, run)

    async def aprocess_request(self, request: Request) -> WorkflowResult:
        """Async twin of :meth:`process_request`: the router's ``aroute`` (a router behind a Serve handle) and
        the run are awaited, and a Phase A fallback runs in a worker thread, so the event loop is never
        blocked. Cancelling the awaiting task cancels the run (recorded as cancelled in its trace)."""
        req = as_user_request(request)
        engine = await asyncio.to_thread(self._engine) if not self._warm else self._engine()
        if engine is None:
            return await asyncio.to_thread(
                self._run_phase_a, req, self.fallback_reason or "using_phase_b is False"
            )
        executor, registry = engine
        decision = None if req.workflow is not None else await self._aroute(req)
        job = self._job(req, registry, decision)
        try:
            run = await executor.arun(job.graph, job.state, self.runtime, trace_context=job.context, record=True)
        except Exception as exc:  # noqa: BLE001 - _failed falls back to Phase A or re-raises
            return await asyncio.to_thread(self._failed, job, exc)
        return self._succeeded(job, run)

    def route(self, request: Request) -> RoutingDecision:
        """The RoutingDecision the configured router makes for ``request`` (nothing runs)."""
        return self._router().route(as_user_request(request))

    def _engine(self) -> tuple[GraphExecutor, WorkflowRegistry] | None:
        """The executor and workflows when Phase B serves requests, else None (then Phase A answers)."""
        if not self.using_phase_b or self.executor is None or self.workflow_registry is None:
            return None
        return self.executor, self.workflow_registry

    def _router(self) -> Router:
        if self.router is None:  # the configured router failed to build: the rules always answer
            from mm_orch.routing.router_v1 import RouterV1

            self.router = RouterV1()
        return self.router

    async def _aroute(self, req: UserRequest) -> RoutingDecision:
        router = self._router()
        if isinstance(router, AsyncRouter):
            return await router.aroute(req)
        return router.route(req)

    def _job(self, req: UserRequest, registry: WorkflowRegistry, decision: RoutingDecision | None) -> _Job:
        choice = choose_workflow(req, registry, decision)
        if decision is None:
            metrics.record_route("forced", "forced", choice.workflow, 1.0)
        else:
            metrics.record_decision(decision)
        return _Job(
            request=req,
            choice=choice,
            graph=registry.compiled(choice.workflow),
            state=initial_state(req, self.runtime),
            context=_trace_context(req, choice),
            started=time.perf_counter(),
        )

    def _succeeded(self, job: _Job, run: RunResult) -> WorkflowResult:
        latency_ms = (time.perf_counter() - job.started) * 1000.0
        workflow = job.choice.workflow
        self.statistics.record(workflow, success=True, latency_ms=latency_ms, phase="b")
        metadata = {
            **job.choice.trace_fields(),
            "using_phase_b": True,
            "phase": "b",
            "latency_ms": latency_ms,
            "timings_ms": {r.node: round(r.latency_ms, 3) for r in run.records},
        }
        if job.choice.substituted_for is not None:
            metadata["router_chose"] = job.choice.substituted_for
        return result_from_state(
            run.state, workflow=workflow, trace_id=run.trace_id, request=job.request, metadata=metadata
        )

    def _failed(self, job: _Job, exc: Exception) -> WorkflowResult:
        latency_ms = (time.perf_counter() - job.started) * 1000.0
        self.statistics.record(job.choice.workflow, success=False, latency_ms=latency_ms, phase="b")
        if isinstance(exc, WorkflowNotFoundError) or self.config is None or not self.config.fallback_to_phase_a:
            raise exc
        reason = f"Phase B run of {job.choice.workflow!r} failed: {exc}"
        log.warning("%s; answering with Phase A", reason)
        try:
            return self._run_phase_a(job.request, reason, job.choice.workflow, getattr(exc, "trace_id", None))
        except WorkflowNotFoundError:
            raise exc from None  # no Phase A pipeline answers this workflow: the Phase B error stands

    def _run_phase_a(
        self, req: UserRequest, reason: str, workflow: str | None = None, phase_b_trace_id: str | None = None
    ) -> WorkflowResult:
        """Phase A: the pipeline of ``workflow`` (the one that failed in Phase B), else Phase A's own choice."""
        orchestrator = self._phase_a_orchestrator()
        if workflow is None:
            result: WorkflowResult = orchestrator.process_request(req)
        else:
            pipeline = phase_a_pipeline_for(workflow, orchestrator.list_workflows())
            fallback = {"fallback_from": "b", "fallback_reason": reason, "phase_b_workflow": workflow}
            if phase_b_trace_id:
                fallback["phase_b_trace_id"] = phase_b_trace_id
            result = orchestrator.run_pipeline(pipeline, req, trace_metadata=fallback)
            result.metadata["phase_b_trace_id"] = phase_b_trace_id
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
        latency per workflow (warms up)."""
        using = self.using_phase_b
        self.warm_up()
        tracer_stats: Any = self.tracer.stats() if isinstance(self.tracer, ManagedTraceSink) else None
        if isinstance(tracer_stats, BaseModel):
            tracer_stats = tracer_stats.model_dump()
        return {
            "using_phase_b": using,
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
        if isinstance(self.tracer, ManagedTraceSink):
            self.tracer.close()


def _trace_context(req: UserRequest, choice: WorkflowChoice) -> dict[str, Any]:
    metadata = trace_metadata(req)
    if choice.substituted_for is not None:
        metadata["router_chose"] = choice.substituted_for
        metadata["router_reason"] = choice.reason
    return {
        "request_id": req.request_id,
        "question": req.query,
        "workflow": choice.workflow,
        "mode": req.mode,
        "phase": "b",
        "metadata": metadata,
        **choice.trace_fields(),
    }


def resolve_tracer_paths(cfg: Any) -> Any:
    """``cfg`` (a TracerConfig) with relative output_path / parquet_dir made writable paths (mm_orch.paths)."""
    from mm_orch.paths import writable_path

    update = {
        key: writable_path(getattr(cfg, key))
        for key in ("output_path", "parquet_dir")
        if getattr(cfg, key) is not None and not Path(getattr(cfg, key)).is_absolute()
    }
    return cfg.model_copy(update=update) if update else cfg


def _build_tracer(config: PhaseBConfig) -> ManagedTraceSink:
    from mm_orch.observability import Tracer

    return Tracer.from_config(resolve_tracer_paths(config.tracer))


def _build_router(config: PhaseBConfig) -> Router:
    from mm_orch.paths import writable_path
    from mm_orch.routing.chain import build_router

    cfg = config.router.model_copy(update={"model_path": str(writable_path(config.router.model_path))})
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
