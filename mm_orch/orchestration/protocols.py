"""What the orchestrators and the executor need of a tracer and of a router, as typed protocols.

:class:`~mm_orch.observability.Tracer` satisfies :class:`TraceSink` and :class:`ManagedTraceSink`; every router
in :mod:`mm_orch.routing` satisfies :class:`~mm_orch.routing.decision.Router`, and a router behind a Ray Serve
handle also satisfies :class:`AsyncRouter`.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from mm_orch.observability.records import WorkflowTrace
from mm_orch.routing.decision import Router, RoutingDecision
from mm_orch.schemas import UserRequest

__all__ = ["AsyncRouter", "ManagedTraceSink", "Router", "TraceSink"]


class TraceSink(Protocol):
    """Where the executor sends a run's trace: ``sampled()`` decides per run, ``write`` takes the record."""

    def sampled(self) -> bool: ...

    def write(self, trace: WorkflowTrace) -> None: ...


@runtime_checkable
class ManagedTraceSink(TraceSink, Protocol):
    """A trace sink an orchestrator owns: it reports statistics and is closed (flushed) at the end."""

    def stats(self) -> Any: ...

    def close(self) -> None: ...


@runtime_checkable
class AsyncRouter(Router, Protocol):
    """A router that can also be awaited (e.g. one behind a Serve deployment handle)."""

    async def aroute(self, request: UserRequest) -> RoutingDecision: ...
