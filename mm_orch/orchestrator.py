"""Phase A: fixed pipelines. Each workflow is a hard-coded sequence of the same built-in steps Phase B runs as
a graph (see :mod:`mm_orch.pipelines`), so both phases give the same answer to the same question.

::

    from mm_orch.orchestrator import Orchestrator
    result = Orchestrator().process_request(UserRequest(query="What is Python?"))
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from mm_orch.configuration import SystemConfig, load_system_config
from mm_orch.exceptions import ExecutionError
from mm_orch.orchestration.request_mapping import (
    as_user_request,
    initial_state,
    result_from_state,
    trace_metadata,
)
from mm_orch.orchestration.runtime import Runtime
from mm_orch.orchestration.statistics import RunStatistics
from mm_orch.orchestration.trace_builder import build_trace
from mm_orch.orchestration.workflow_choice import phase_a_pipeline_for, stand_in_for
from mm_orch.pipelines import PIPELINES, PipelineRunner
from mm_orch.registries.step_registry import StepRegistry
from mm_orch.schemas import UserRequest, WorkflowResult
from mm_orch.singletons import ProcessSingleton

__all__ = ["PHASE_A_ROUTER", "Orchestrator", "get_orchestrator", "reset_orchestrator"]

#: The router_version recorded for Phase A runs (the rules router, mapped onto the Phase A pipelines).
PHASE_A_ROUTER = "v1-phase-a"


class Orchestrator:
    """Runs the Phase A pipelines enabled in config/system.yaml; routes with the rules router (v1)."""

    def __init__(
        self,
        config: SystemConfig | None = None,
        *,
        config_path: str | Path | None = None,
        runtime: Runtime | None = None,
        step_registry: StepRegistry | None = None,
        tracer: Any = None,
    ) -> None:
        self.config = config if config is not None else load_system_config(config_path)
        self.tracer = tracer  # a mm_orch.observability.Tracer: Phase A runs are traced with phase "a"
        self._runtime = runtime
        self._steps = step_registry
        self._lock = threading.Lock()
        self.statistics = RunStatistics()

    @property
    def runtime(self) -> Runtime:
        """The runtime (built on first use: the shared model manager and the default tools)."""
        with self._lock:
            if self._runtime is None:
                from mm_orch.orchestration.wiring import build_default_runtime

                self._runtime = build_default_runtime(
                    tools_config=self.config.tools or None,
                    models_config=self.config.models_config,
                    sessions_path=self.config.sessions_path,
                )
            return self._runtime

    @property
    def step_registry(self) -> StepRegistry:
        with self._lock:
            if self._steps is None:
                from mm_orch.orchestration.wiring import build_step_registry

                self._steps = build_step_registry()
            return self._steps

    def list_workflows(self) -> list[str]:
        """The pipelines this orchestrator may run (config/system.yaml ``workflows``)."""
        return list(self.config.workflows)

    def choose_workflow(self, request: UserRequest) -> str:
        """The pipeline for ``request``: the forced one, else the rules router's choice mapped onto Phase A's
        (the rule of :mod:`mm_orch.orchestration.workflow_choice`)."""
        if request.workflow is not None:
            return self._pipeline_name(request.workflow)
        from mm_orch.routing.router_v1 import RouterV1

        routed = RouterV1().route(request).workflow
        return stand_in_for(routed, self.config.workflows) or self.config.default_workflow

    def _pipeline_name(self, name: str) -> str:
        return phase_a_pipeline_for(name, self.config.workflows)

    def process_request(self, request: UserRequest | str | dict[str, Any]) -> WorkflowResult:
        """Run the pipeline the request asks for (or the router picks) and return its result."""
        req = as_user_request(request)
        return self._run(self.choose_workflow(req), req)

    def run_workflow(self, name: str, **inputs: Any) -> WorkflowResult:
        """Run pipeline ``name`` with ``inputs`` (``question`` plus any optional context keys)."""
        if "question" not in inputs:
            raise ExecutionError(
                f"run_workflow({name!r}) needs a question: run_workflow({name!r}, question='...')", workflow=name
            )
        question = str(inputs.pop("question"))
        req = UserRequest(query=question, workflow=name)
        return self._run(self._pipeline_name(name), req, extra=inputs)

    def run_pipeline(
        self, name: str, request: UserRequest, *, trace_metadata: dict[str, Any] | None = None
    ) -> WorkflowResult:
        """Run the Phase A pipeline ``name`` for ``request`` as it is (nothing is routed); ``trace_metadata`` is
        added to the trace's metadata (the Phase B fallback records why it ran)."""
        return self._run(self._pipeline_name(name), request, trace_extra=trace_metadata)

    def _run(
        self,
        name: str,
        req: UserRequest,
        extra: dict[str, Any] | None = None,
        trace_extra: dict[str, Any] | None = None,
    ) -> WorkflowResult:
        t0, started = time.perf_counter(), time.time()
        state = {**initial_state(req, self.runtime), **(extra or {})}
        runner = PipelineRunner(name, self.step_registry, self.runtime, state)
        try:
            PIPELINES[name](runner)
        except Exception as exc:
            latency_ms = (time.perf_counter() - t0) * 1000.0
            self.statistics.record(name, success=False, latency_ms=latency_ms, phase="a")
            self._trace(name, req, runner, started, latency_ms, exc, trace_extra)
            raise
        latency_ms = (time.perf_counter() - t0) * 1000.0
        self.statistics.record(name, success=True, latency_ms=latency_ms, phase="a")
        self._trace(name, req, runner, started, latency_ms, None, trace_extra)
        metadata = {
            "using_phase_b": False,
            "phase": "a",
            "router_version": PHASE_A_ROUTER,
            "latency_ms": latency_ms,
            "timings_ms": runner.timings_ms,
        }
        return result_from_state(
            runner.state, workflow=name, trace_id=runner.trace_id, request=req, metadata=metadata
        )

    def _trace(
        self,
        name: str,
        req: UserRequest,
        runner: PipelineRunner,
        started: float,
        latency_ms: float,
        error: BaseException | None,
        trace_extra: dict[str, Any] | None = None,
    ) -> None:
        if self.tracer is None or not self.tracer.sampled():
            return
        context = {
            "request_id": req.request_id,
            "question": req.query,
            "workflow": name,
            "mode": req.mode,
            "phase": "a",
            "router_version": PHASE_A_ROUTER,
            "workflow_forced": req.workflow is not None,
            "metadata": {**trace_metadata(req), **(trace_extra or {})},
        }
        self.tracer.write(
            build_trace(
                name,
                runner.state,
                runner.records,
                trace_id=runner.trace_id,
                started=started,
                latency_ms=latency_ms,
                context=context,
                error=error,
            )
        )

    def close(self) -> None:
        """Flush and close the tracer, when there is one."""
        if self.tracer is not None:
            self.tracer.close()

    def get_statistics(self) -> dict[str, Any]:
        return {"phase": "a", "workflows": self.list_workflows(), **self.statistics.snapshot()}


_instance: ProcessSingleton[Orchestrator] = ProcessSingleton(Orchestrator, close=Orchestrator.close)


def get_orchestrator() -> Orchestrator:
    """The process-wide Phase A orchestrator."""
    return _instance.get()


def reset_orchestrator() -> None:
    """Forget (and close) the process-wide Phase A orchestrator; the next get builds a fresh one."""
    _instance.reset()
