"""Lifecycle hooks: watch a run as it happens (progress events for a client, metrics, logs).

Subclass :class:`LifecycleHook` and override the events you need. Every method takes keyword-only arguments
plus ``**future_kwargs``, so a field added later never breaks an existing hook (the habit of Burr's
``burr/lifecycle``)::

    class StepTimer(LifecycleHook):
        def node_finished(self, *, workflow, node, step, duration_ms, error, **future_kwargs):
            histogram.labels(workflow, step).observe(duration_ms)

    executor = GraphExecutor(steps, hooks=[StepTimer()])          # every run of this executor
    executor.run(graph, state, hooks=[StreamEvents(queue)])       # this run only

Events, in order: ``run_started``, then ``node_started`` / ``node_finished`` for each node (the nodes of one
superstep may interleave under ``arun``), then ``run_finished`` — always, for a failed or cancelled run too.
``run_id`` is the run's trace id. ``workflow`` is None for an ad-hoc graph. ``state`` is the read-only State.

Hooks run synchronously on the thread or event loop that runs the executor: keep them cheap (put an event on a
queue, bump a counter). A hook that raises is logged and skipped; watching a run never changes its outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

__all__ = ["LifecycleHook", "emit"]

log = logging.getLogger(__name__)


class LifecycleHook:
    """Base class of run observers; every method is a no-op until overridden."""

    def run_started(self, *, run_id: str, workflow: str | None, state: Any, **future_kwargs: Any) -> None:
        """The run is about to schedule its first node."""

    def node_started(
        self, *, run_id: str, workflow: str | None, node: str, step: str, **future_kwargs: Any
    ) -> None:
        """Node ``node`` (running step ``step``) begins; retries and a fallback stay inside one node event."""

    def node_finished(
        self,
        *,
        run_id: str,
        workflow: str | None,
        node: str,
        step: str,
        duration_ms: float,
        error: BaseException | None,
        written_keys: tuple[str, ...],
        attempts: int,
        used_fallback: bool,
        **future_kwargs: Any,
    ) -> None:
        """Node ``node`` ended: ``error`` is None on success; ``written_keys`` are the keys it returned;
        ``step`` is the fallback's name when a fallback answered."""

    def run_finished(
        self,
        *,
        run_id: str,
        workflow: str | None,
        state: Any,
        duration_ms: float,
        error: BaseException | None,
        cancelled: bool,
        **future_kwargs: Any,
    ) -> None:
        """The run ended (``error`` None: success; ``cancelled``: its task was cancelled)."""


def emit(hooks: Sequence[LifecycleHook], event: str, **fields: Any) -> None:
    """Call ``event`` on every hook with ``fields``; a hook's exception is logged, never raised."""
    for hook in hooks:
        try:
            getattr(hook, event)(**fields)
        except Exception:
            log.exception("lifecycle hook %r failed in %s; the run continues", hook, event)
