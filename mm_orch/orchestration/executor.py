"""GraphExecutor: runs a workflow graph over a State, superstep by superstep.

:meth:`GraphExecutor.run` (synchronous) and :meth:`GraphExecutor.arun` (asynchronous) are twins that read top
to bottom over the same helpers: start the run, then while nodes wait, pick the ready ones (:mod:`.scheduling`),
run them (:mod:`.node_runner`; under ``arun`` the nodes of one superstep run concurrently in an
``asyncio.TaskGroup``), merge their writes and choose the successors; finally record the trace and the events.
A graph of only synchronous steps never touches an event loop under ``run``, which keeps the in-process path
cheap; a graph with async steps under ``run`` is driven by a per-thread ``asyncio.Runner``.

Lifecycle hooks (:mod:`.hooks`): pass ``hooks=[...]`` to the constructor (every run) or to ``run``/``arun`` (one
run). They receive ``run_started``, ``node_started``/``node_finished`` (workflow, node, step, duration, error,
written keys) and ``run_finished``, so an HTTP layer can stream typed progress events and a metrics layer can
time steps. With no hooks and no tracing none of this is paid for.

Cancellation: cancelling the task that awaits :meth:`arun` stops the run at once — no further node is
scheduled, the in-flight node tasks of the superstep are cancelled (a blocking step on a thread has its cancel
token set, see :mod:`.cancellation`), the cancelled nodes and the run are recorded with
:class:`~mm_orch.exceptions.RunCancelledError` in the trace and the ``run_finished`` event (``cancelled=True``),
and ``asyncio.CancelledError`` propagates to the canceller as asyncio requires.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
import time
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from mm_orch.exceptions import (
    ExecutionError,
    LoopLimitError,
    MergeError,
    RunCancelledError,
    StateConflictError,
    WorkflowDefinitionError,
    format_options,
)
from mm_orch.observability import metrics
from mm_orch.observability.records import WorkflowTrace
from mm_orch.orchestration.compiler import CompiledGraph, StepLookup, compile_graph
from mm_orch.orchestration.graph_node import END, START, GraphNode, merge_values
from mm_orch.orchestration.hooks import LifecycleHook, emit
from mm_orch.orchestration.node_runner import NodeRecord, RunContext, arun_node, run_node
from mm_orch.orchestration.protocols import TraceSink
from mm_orch.orchestration.scheduling import ready_nodes
from mm_orch.orchestration.state import State
from mm_orch.orchestration.trace_builder import build_trace

__all__ = ["GraphExecutor", "RunResult", "new_run_id"]

T = TypeVar("T")
_MISSING = object()
_AD_HOC = "<graph>"
_Results = list[tuple[str, Mapping[str, Any]]]

# Run ids: a random per-process prefix and a counter. Unique across processes without a syscall per run
# (os.urandom per call measured ~20 us here); ids need to be unique, not secret.
_ID_PREFIX = os.urandom(8).hex()
_ID_COUNTER = itertools.count()


def _reseed_ids() -> None:
    global _ID_PREFIX, _ID_COUNTER
    _ID_PREFIX, _ID_COUNTER = os.urandom(8).hex(), itertools.count()


os.register_at_fork(after_in_child=_reseed_ids)


def new_run_id(prefix: str = "") -> str:
    """A process-unique run (trace) id: ``prefix`` + 16 random hex digits per process + a 16-digit counter."""
    return f"{prefix}{_ID_PREFIX}{next(_ID_COUNTER):016x}"


@dataclass(slots=True)
class RunResult:
    """The outcome of one run: the final State, its node records, and its trace when it was traced."""

    state: State
    trace_id: str
    latency_ms: float
    records: list[NodeRecord] = field(default_factory=list)
    trace: WorkflowTrace | None = None


class GraphExecutor:
    """Runs graphs of registered steps. ``execute(graph, state, runtime)`` -> final State.

    ``graph`` is a WorkflowDefinition, a CompiledGraph (from a WorkflowRegistry) or a plain
    ``dict[str, GraphNode]``, which is validated on first use like a registered workflow would be; a plain
    graph's initial keys are the keys of the state it is called with.
    ``validate=False`` skips the per-step input/output contract checks (structure is always validated).
    """

    def __init__(
        self,
        step_registry: StepLookup,
        tracer: TraceSink | None = None,
        *,
        validate: bool = True,
        max_steps: int = 10_000,
        hooks: Sequence[LifecycleHook] = (),
    ) -> None:
        self.step_registry = step_registry
        self.tracer = tracer
        self.validate = validate
        self.max_steps = max_steps
        self.hooks: tuple[LifecycleHook, ...] = tuple(hooks)
        self._cache: dict[Any, tuple[Any, CompiledGraph]] = {}
        self._cache_lock = threading.Lock()

    # --- public API ---------------------------------------------------------------------------------------

    def execute(self, graph: Any, state: Mapping[str, Any], runtime: Any = None, **options: Any) -> State:
        """Run ``graph`` from ``start`` and return the final State (raises StepExecutionError & co)."""
        return self.run(graph, state, runtime, **options).state

    async def aexecute(self, graph: Any, state: Mapping[str, Any], runtime: Any = None, **options: Any) -> State:
        """Async twin of :meth:`execute`."""
        return (await self.arun(graph, state, runtime, **options)).state

    def run(
        self,
        graph: Any,
        state: Mapping[str, Any],
        runtime: Any = None,
        *,
        trace_context: Mapping[str, Any] | None = None,
        record: bool = False,
        hooks: Sequence[LifecycleHook] = (),
    ) -> RunResult:
        """Run and return a :class:`RunResult`. ``record=True`` keeps node records even when not traced.

        ``trace_context`` fills the trace's request fields (request_id, question, router_version,
        router_confidence, router_alternatives, mode, phase, workflow_forced, metadata, trace_id).
        ``hooks`` observe this run in addition to the executor's own.
        """
        compiled = self._compiled(graph, state)
        if compiled.has_async:
            return _run_coroutine(
                self.arun(compiled, state, runtime, trace_context=trace_context, record=record, hooks=hooks)
            )
        ctx = self._start(compiled, state, runtime, trace_context, record, hooks)
        try:
            frontier = [START]
            while frontier:
                batch = self._ready(ctx, frontier)
                results = [(node, run_node(ctx, node)) for node in batch]
                frontier = self._advance(ctx, frontier, batch, results)
        except BaseException as exc:
            self._finish(ctx, exc)
            raise
        return self._finish(ctx, None)

    async def arun(
        self,
        graph: Any,
        state: Mapping[str, Any],
        runtime: Any = None,
        *,
        trace_context: Mapping[str, Any] | None = None,
        record: bool = False,
        hooks: Sequence[LifecycleHook] = (),
    ) -> RunResult:
        """Async twin of :meth:`run`; the ready nodes of a superstep run concurrently. Cancelling the task
        that awaits this stops the run and records it as cancelled (see the module docstring)."""
        ctx = self._start(self._compiled(graph, state), state, runtime, trace_context, record, hooks)
        try:
            frontier = [START]
            while frontier:
                batch = self._ready(ctx, frontier)
                if len(batch) == 1:
                    results = [(batch[0], await arun_node(ctx, batch[0]))]
                else:
                    results = await _run_together(ctx, batch)
                frontier = self._advance(ctx, frontier, batch, results)
        except asyncio.CancelledError:
            self._finish(ctx, RunCancelledError("the run was cancelled before it finished", workflow=ctx.workflow))
            raise
        except BaseException as exc:
            self._finish(ctx, exc)
            raise
        return self._finish(ctx, None)

    # --- one superstep ------------------------------------------------------------------------------------

    def _ready(self, ctx: RunContext, frontier: list[str]) -> list[str]:
        """The frontier nodes that run in this superstep (counted against max_steps and max_iterations)."""
        batch = ready_nodes(frontier, ctx.graph.reach, ctx.graph.order)
        ctx.executed += len(batch)
        if ctx.executed > self.max_steps:
            raise LoopLimitError(
                f"the run executed more than max_steps={self.max_steps} nodes; raise "
                f"GraphExecutor(max_steps=...) or lower max_iterations",
                workflow=ctx.workflow,
            )
        counts = ctx.counts
        for node in batch:
            counts[node] = counts.get(node, 0) + 1
        return batch

    def _advance(self, ctx: RunContext, frontier: list[str], batch: list[str], results: _Results) -> list[str]:
        """Merge the superstep's writes into the state; return the next frontier."""
        ctx.state = _apply(ctx.graph, ctx.state, results, ctx.workflow)
        nodes = ctx.graph.nodes
        nxt = [n for n in frontier if n not in batch] if len(frontier) > 1 else []
        for node in batch:
            for choice in _choose(nodes[node], node, ctx.state, ctx.workflow):
                succ = _bounded(nodes, choice, ctx)
                if succ is not None and succ not in nxt:
                    nxt.append(succ)
        return nxt

    # --- set-up and tear-down -----------------------------------------------------------------------------

    def _compiled(self, graph: Any, state: Mapping[str, Any]) -> CompiledGraph:
        if isinstance(graph, CompiledGraph):
            return graph
        if isinstance(graph, Mapping):
            # A plain graph starts from whatever the caller passes: its initial keys are the state's keys.
            inputs = tuple(state)
            key: Any = (tuple((k, id(v)) for k, v in graph.items()), frozenset(inputs))
            name, rules, nodes = _AD_HOC, None, graph
        else:
            from mm_orch.registries.workflow_registry import WorkflowDefinition

            if not isinstance(graph, WorkflowDefinition):
                raise WorkflowDefinitionError(
                    f"execute() takes a WorkflowDefinition, a CompiledGraph or a dict of GraphNodes, got "
                    f"{type(graph).__name__}; build one with {{'start': GraphNode(step_name=...), ...}}"
                )
            key = id(graph)
            name, inputs, rules, nodes = graph.name, tuple(graph.input_keys), graph.merge_rules, graph.graph
        with self._cache_lock:
            hit = self._cache.get(key)
            if hit is not None:
                return hit[1]
        compiled = compile_graph(nodes, self.step_registry, name=name, input_keys=inputs, merge_rules=rules)
        with self._cache_lock:
            if len(self._cache) >= 256:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = (graph, compiled)  # holding `graph` keeps the ids in `key` from being reused
        return compiled

    def _start(
        self,
        graph: CompiledGraph,
        state: Mapping[str, Any],
        runtime: Any,
        trace_context: Mapping[str, Any] | None,
        record: bool,
        hooks: Sequence[LifecycleHook],
    ) -> RunContext:
        traced = self.tracer is not None and self.tracer.sampled()
        recording = traced or record
        given_id = trace_context.get("trace_id") if trace_context else None
        ctx = RunContext(
            graph=graph,
            workflow=None if graph.name == _AD_HOC else graph.name,
            runtime=runtime,
            validate=self.validate,
            recording=recording,
            state=state if type(state) is State else State(state),
            run_id=str(given_id) if given_id else new_run_id(),
            hooks=self.hooks + tuple(hooks) if hooks else self.hooks,
            traced=traced,
            observed=recording or bool(hooks) or bool(self.hooks),
            metered=metrics.recording(),
            trace_context=trace_context,
            manager=getattr(runtime, "model_manager", None) if recording else None,
            wall0=time.time(),
            perf0=time.perf_counter(),
        )
        if ctx.hooks:
            emit(ctx.hooks, "run_started", run_id=ctx.run_id, workflow=ctx.workflow, state=ctx.state)
        return ctx

    def _finish(self, ctx: RunContext, error: BaseException | None) -> RunResult:
        latency_ms = (time.perf_counter() - ctx.perf0) * 1000.0
        trace = None
        if ctx.traced and self.tracer is not None:
            trace = build_trace(
                ctx.graph.name,
                ctx.state,
                ctx.records,
                trace_id=ctx.run_id,
                started=ctx.wall0,
                latency_ms=latency_ms,
                context=ctx.trace_context or {},
                error=error,
            )
            self.tracer.write(trace)
        if isinstance(error, ExecutionError):
            error.trace_id = ctx.run_id
        if ctx.metered:
            metrics.record_run(ctx.workflow, metrics.run_outcome(error), latency_ms / 1000.0)
        if ctx.hooks:
            emit(
                ctx.hooks,
                "run_finished",
                run_id=ctx.run_id,
                workflow=ctx.workflow,
                state=ctx.state,
                duration_ms=latency_ms,
                error=error,
                cancelled=isinstance(error, RunCancelledError),
            )
        return RunResult(ctx.state, ctx.run_id, latency_ms, ctx.records, trace)


# --- helpers ------------------------------------------------------------------------------------------------


async def _run_together(ctx: RunContext, batch: list[str]) -> _Results:
    """Run one superstep's nodes concurrently; the first failure (in graph order) cancels the rest."""
    tasks: list[asyncio.Task[Mapping[str, Any]]] = []
    try:
        async with asyncio.TaskGroup() as group:
            tasks.extend(group.create_task(arun_node(ctx, node)) for node in batch)
    except BaseExceptionGroup as failed:
        errors = [t.exception() for t in tasks if t.done() and not t.cancelled()]
        first = next((e for e in errors if e is not None), failed.exceptions[0])
        raise first from None
    return [(node, task.result()) for node, task in zip(batch, tasks, strict=True)]


def _apply(graph: CompiledGraph, state: State, results: _Results, workflow: str | None) -> State:
    rules = graph.merge_rules
    if len(results) == 1 and not rules:
        return state.merged(results[0][1])
    combined: dict[str, Any] = {}
    writer: dict[str, str] = {}
    for node, updates in results:
        for key, value in updates.items():
            rule = rules.get(key)
            if rule is None:
                if key in writer:
                    raise StateConflictError(
                        f"nodes {writer[key]!r} and {node!r} ran in parallel and both wrote {key!r}; give "
                        f"{key!r} a merge rule in the workflow's merge_rules or write different keys",
                        workflow=workflow,
                        node=node,
                    )
                combined[key] = value
            else:
                base = combined[key] if key in combined else state.get(key, _MISSING)
                if base is _MISSING:
                    combined[key] = value
                else:
                    combined[key] = _merge(rule, key, base, value, node, workflow)
            writer[key] = node
    return state.merged(combined)


def _merge(rule: Any, key: str, old: Any, new: Any, node: str, workflow: str | None) -> Any:
    try:
        return merge_values(rule, key, old, new)
    except Exception as exc:
        label = rule if isinstance(rule, str) else getattr(rule, "__name__", repr(rule))
        where = f"workflow {workflow!r}, node {node!r}" if workflow else f"node {node!r}"
        raise MergeError(
            f"{where}: merge rule {label!r} for key {key!r} could not combine the state's "
            f"{type(old).__name__} with the {type(new).__name__} the node wrote ({type(exc).__name__}: {exc}); "
            f"write values the rule accepts or change merge_rules[{key!r}]",
            workflow=workflow,
            node=node,
        ) from exc


def _choose(node: GraphNode, name: str, state: State, workflow: str | None) -> list[str]:
    if node.condition is None:
        return node.next_nodes
    try:
        if callable(node.condition):
            choice = node.condition(state)
        else:
            value = state.get(node.condition)
            label = str(value).lower() if isinstance(value, bool) else str(value)
            choice = node.branches.get(label, _MISSING) if node.branches is not None else label
            if choice is _MISSING:
                raise ExecutionError(
                    f"node {name!r}: state[{node.condition!r}] = {value!r} matches no branch; branches: "
                    f"{format_options(node.branches or {})}",
                    workflow=workflow,
                    node=name,
                )
    except ExecutionError:
        raise
    except Exception as exc:
        raise ExecutionError(
            f"node {name!r}: its condition raised {type(exc).__name__}: {exc}", workflow=workflow, node=name
        ) from exc
    if choice not in node.next_nodes:
        raise ExecutionError(
            f"node {name!r}: the condition chose {choice!r}, which is not one of its next_nodes {node.next_nodes}",
            workflow=workflow,
            node=name,
        )
    return [choice]


def _bounded(nodes: Mapping[str, GraphNode], succ: str, ctx: RunContext) -> str | None:
    """``succ`` itself, its loop_exit when its max_iterations is used up, or None for the end."""
    seen: set[str] = set()
    while succ != END:
        node = nodes[succ]
        if node.max_iterations is None or ctx.counts.get(succ, 0) < node.max_iterations:
            return succ
        if node.loop_exit is None or succ in seen:
            raise LoopLimitError(
                f"node {succ!r} already ran max_iterations={node.max_iterations} times; raise the bound or set "
                f"loop_exit to leave the loop gracefully",
                workflow=ctx.workflow,
                node=succ,
            )
        seen.add(succ)
        succ = node.loop_exit
    return None


_runners = threading.local()


def _run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from synchronous code, on one ``asyncio.Runner`` per thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        runner = getattr(_runners, "runner", None)
        if runner is None:
            runner = _runners.runner = asyncio.Runner()
        return runner.run(coro)
    # Called from inside a running loop (a notebook, an async server): run on a private thread instead.
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - carried to the calling thread, which re-raises it
            box["error"] = exc

    thread = threading.Thread(target=target, name="mm-orch-sync-bridge")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]
