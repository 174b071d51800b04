"""The ingress replica's backend: a PhaseBOrchestrator over the handle-backed runtime, routed by the Router
deployment.

The orchestrator asks its router synchronously; on the replica's event loop that must not block on a handle.
So :meth:`OrchestratorBackend.answer` awaits the Router deployment first and hands the decision to the
orchestrator through a context variable (one per request task, so concurrent requests never mix decisions).
"""

from __future__ import annotations

import asyncio
from typing import Any

from mm_orch.orchestration.phase_b_orchestrator import PhaseBOrchestrator
from mm_orch.routing import RoutingDecision
from mm_orch.schemas import UserRequest, WorkflowResult
from serve.runtime import DEFAULT_TIMEOUT_S, _wait
from serve.schemas import WorkflowInfo
from serve.streaming import NodeEventHook

__all__ = ["HandleRouter", "OrchestratorBackend"]


class HandleRouter:
    """The router the orchestrator sees: ``aroute`` awaits the Router deployment; ``route`` (worker threads
    only) asks it and waits."""

    def __init__(self, handle: Any, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.handle = handle
        self.timeout_s = timeout_s
        self.version = "serve"

    async def aroute(self, request: UserRequest) -> RoutingDecision:
        decision: RoutingDecision = await self.handle.route.remote(request)
        self.version = decision.router_version
        return decision

    def route(self, request: UserRequest | str) -> RoutingDecision:
        """Synchronous routing for worker threads (the Phase A path); never call it on the event loop."""
        req = request if isinstance(request, UserRequest) else UserRequest(query=request)
        result: RoutingDecision = _wait(self.handle.route.remote(req), "route", self.timeout_s)
        return result


class OrchestratorBackend:
    """Implements serve.ingress.IngressBackend over a PhaseBOrchestrator and the deployments' handles."""

    def __init__(
        self,
        orchestrator: PhaseBOrchestrator,
        router: HandleRouter,
        *,
        info_handles: dict[str, Any] | None = None,
        replica: dict[str, Any] | None = None,
        readiness_timeout_s: float = 5.0,
    ) -> None:
        self.orchestrator = orchestrator
        self.router = router
        self.info_handles = dict(info_handles or {})
        self.replica = dict(replica or {})
        self.readiness_timeout_s = readiness_timeout_s
        orchestrator.warm_up()  # the replica builds steps, workflows and executor at start, not on a request
        if not any(isinstance(h, NodeEventHook) for h in orchestrator.hooks):
            orchestrator.add_hook(NodeEventHook())  # node events for /v1/answer?stream=true

    async def answer(self, request: UserRequest) -> WorkflowResult:
        # The orchestrator awaits the Router deployment (HandleRouter.aroute) and keeps Phase A (the rollback
        # switch, or a failed Phase B run) off the replica's event loop in a worker thread.
        return await self.orchestrator.aprocess_request(request)

    async def route(self, request: UserRequest) -> RoutingDecision:
        if request.workflow is not None:
            return RoutingDecision(
                workflow=request.workflow,
                confidence=1.0,
                alternatives={request.workflow: 1.0},
                router_version="forced",
                reason="workflow chosen by the caller",
            )
        return await self.router.aroute(request)

    def workflows(self) -> list[WorkflowInfo]:
        registry = self.orchestrator.workflow_registry
        if registry is None:
            return []
        out = []
        for name in registry.list_all():
            d = registry.get(name)
            out.append(
                WorkflowInfo(
                    name=d.name,
                    description=d.description,
                    required_capabilities=list(d.required_capabilities),
                    steps=[node.step_name for node_name, node in d.graph.items() if node_name != "end"],
                )
            )
        return out

    async def stats(self) -> dict[str, Any]:
        names = list(self.info_handles)
        infos = await asyncio.gather(*(self.info_handles[n].info.remote() for n in names), return_exceptions=True)
        models: dict[str, Any] = {}
        router: dict[str, Any] = {}
        for name, info in zip(names, infos, strict=True):
            value = {"error": f"{type(info).__name__}: {info}"} if isinstance(info, BaseException) else info
            if name == "router":
                router = value
            else:
                models[name] = value
        manager = getattr(self.orchestrator.runtime, "model_manager", None)
        if manager is not None and hasattr(manager, "stats"):
            models["ingress_manager"] = manager.stats()
        return {"orchestrator": self.orchestrator.get_statistics(), "router": router, "models": models}

    def health(self) -> dict[str, Any]:
        return {"using_phase_b": self.orchestrator.using_phase_b, "replica": self.replica}

    async def ready(self) -> dict[str, str]:
        """Each deployment's own health check (the router's ``info``, which needs a built chain), awaited
        concurrently with a time limit. This replica answering is the ingress's part."""
        names = list(self.info_handles)

        async def probe(name: str) -> str:
            handle = self.info_handles[name]
            method = handle.info if name == "router" else handle.check_health
            try:
                await asyncio.wait_for(_awaitable(method.remote()), self.readiness_timeout_s)
            except TimeoutError:
                return f"no answer within {self.readiness_timeout_s} s (starting, or overloaded)"
            except Exception as exc:  # noqa: BLE001 - any failure means: not ready, and why
                return f"{type(exc).__name__}: {str(exc)[:300]}"
            return "ok"

        results = await asyncio.gather(*(probe(n) for n in names))
        return {"ingress": "ok", **dict(zip(names, results, strict=True))}


async def _awaitable(response: Any) -> Any:
    return await response
