"""GraphExecutor: runs a workflow graph over a State, superstep by superstep.

The loop (:meth:`GraphExecutor._drive`) is written once as a generator that yields each superstep's ready
nodes and receives their updates; :meth:`run` feeds it synchronously and :meth:`arun` asynchronously (ready
nodes of one superstep run concurrently there). A graph of only synchronous steps never touches an event
loop under :meth:`run`, which keeps the in-process path cheap.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
import time
from collections.abc import Coroutine, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from mm_orch.exceptions import ExecutionError, LoopLimitError, StateConflictError, format_options
from mm_orch.observability.records import WorkflowTrace
from mm_orch.orchestration.compiler import CompiledGraph, StepLookup, compile_graph
from mm_orch.orchestration.graph_node import END, START, GraphNode, merge_values
from mm_orch.orchestration.node_runner import NodeRecord, RunContext, arun_node, run_node
from mm_orch.orchestration.scheduling import ready_nodes
from mm_orch.orchestration.state import State
from mm_orch.orchestration.trace_builder import build_trace

__all__ = ["GraphExecutor", "RunResult"]

T = TypeVar("T")
_MISSING = object()
# Trace ids: a random per-process prefix and a counter. Unique across processes without a syscall per run
# (os.urandom per call measured ~20 us here); ids need to be unique, not secret.
_ID_PREFIX = os.urandom(8).hex()
_ID_COUNTER = itertools.count()


def _reseed_ids() -> None:
    global _ID_PREFIX, _ID_COUNTER
    _ID_PREFIX, _ID_COUNTER = os.urandom(8).hex(), itertools.count()


os.register_at_fork(after_in_child=_reseed_ids)
_Batch = list[str]
_Results = list[tuple[str, Mapping[str, Any]]]


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
    ``dict[str, GraphNode]``, which is validated on first use like a registered workflow would be.
    ``validate=False`` skips the per-step input/output contract checks (structure is always validated).
    """

    def __init__(
        self, step_registry: StepLookup, tracer: Any = None, *, validate: bool = True, max_steps: int = 10_000
    ) -> None:
        self.step_registry = step_registry
        self.tracer = tracer
        self.validate = validate
        self.max_steps = max_steps
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
    ) -> RunResult:
        """Run and return a :class:`RunResult`. ``record=True`` keeps node records even when not traced.

        ``trace_context`` fills the trace's request fields (request_id, question, router_version,
        router_confidence, router_alternatives, mode, phase, workflow_forced, metadata, trace_id).
        """
        compiled = self._compiled(graph)
        if compiled.has_async:
            return _run_coroutine(self.arun(compiled, state, runtime, trace_context=trace_context, record=record))
        ctx, traced, t0, started = self._begin(compiled, state, runtime, record)
        try:
            driver = self._drive(ctx)
            batch = next(driver)
            while True:
                results = []
                for node in batch:
                    results.append((node, run_node(ctx, node)))
                batch = driver.send(results)
        except StopIteration:
            return self._end(ctx, traced, t0, started, trace_context, None)
        except Exception as exc:
            self._end(ctx, traced, t0, started, trace_context, exc)
            raise

    async def arun(
        self,
        graph: Any,
        state: Mapping[str, Any],
        runtime: Any = None,
        *,
        trace_context: Mapping[str, Any] | None = None,
        record: bool = False,
    ) -> RunResult:
        """Async twin of :meth:`run`; the ready nodes of a superstep run concurrently."""
        ctx, traced, t0, started = self._begin(self._compiled(graph), state, runtime, record)
        try:
            driver = self._drive(ctx)
            batch = next(driver)
            while True:
                if len(batch) == 1:
                    results = [(batch[0], await arun_node(ctx, batch[0]))]
                else:
                    results = list(
                        zip(batch, await _gather_or_cancel([arun_node(ctx, n) for n in batch]), strict=True)
                    )
                batch = driver.send(results)
        except StopIteration:
            return self._end(ctx, traced, t0, started, trace_context, None)
        except Exception as exc:
            self._end(ctx, traced, t0, started, trace_context, exc)
            raise

    # --- the loop -----------------------------------------------------------------------------------------

    def _drive(self, ctx: RunContext) -> Generator[_Batch, _Results, None]:
        graph, frontier, executed = ctx.graph, [START], 0
        while frontier:
            batch = ready_nodes(frontier, graph.reach, graph.order)
            executed += len(batch)
            if executed > self.max_steps:
                raise LoopLimitError(
                    f"the run executed more than max_steps={self.max_steps} nodes; raise "
                    f"GraphExecutor(max_steps=...) or lower max_iterations",
                    workflow=ctx.workflow,
                )
            for node in batch:
                ctx.counts[node] = ctx.counts.get(node, 0) + 1
            results = yield batch
            ctx.state = _apply(graph, ctx.state, results, ctx.workflow)
            frontier = self._advance(ctx, frontier, batch)

    def _advance(self, ctx: RunContext, frontier: list[str], batch: list[str]) -> list[str]:
        nodes = ctx.graph.nodes
        nxt = [n for n in frontier if n not in batch] if len(frontier) > 1 else []
        for node in batch:
            for choice in _choose(nodes[node], node, ctx.state, ctx.workflow):
                succ = _bounded(nodes, choice, ctx)
                if succ is not None and succ not in nxt:
                    nxt.append(succ)
        return nxt

    # --- set-up and tear-down -----------------------------------------------------------------------------

    def _compiled(self, graph: Any) -> CompiledGraph:
        if isinstance(graph, CompiledGraph):
            return graph
        if isinstance(graph, Mapping):
            key: Any = tuple((k, id(v)) for k, v in graph.items())
            name, inputs, rules, nodes = "<graph>", ("question",), None, graph
        elif hasattr(graph, "graph") and hasattr(graph, "name"):  # a WorkflowDefinition
            key = id(graph)
            name, inputs, rules, nodes = graph.name, graph.input_keys, graph.merge_rules, graph.graph
        else:
            raise TypeError(
                f"execute() takes a WorkflowDefinition, a CompiledGraph or a dict of GraphNodes, "
                f"got {type(graph).__name__}"
            )
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

    def _begin(
        self, graph: CompiledGraph, state: Mapping[str, Any], runtime: Any, record: bool
    ) -> tuple[RunContext, bool, float, float]:
        traced = self.tracer is not None and self.tracer.sampled()
        initial = state if type(state) is State else State(state)
        workflow = None if graph.name == "<graph>" else graph.name
        recording = traced or record
        perf0, wall0 = time.perf_counter(), time.time()
        ctx = RunContext(
            graph=graph,
            workflow=workflow,
            runtime=runtime,
            validate=self.validate,
            recording=recording,
            state=initial,
            manager=getattr(runtime, "model_manager", None) if recording else None,
            wall0=wall0,
            perf0=perf0,
        )
        return ctx, traced, perf0, wall0

    def _end(
        self,
        ctx: RunContext,
        traced: bool,
        t0: float,
        started: float,
        trace_context: Mapping[str, Any] | None,
        error: BaseException | None,
    ) -> RunResult:
        latency_ms = (time.perf_counter() - t0) * 1000.0
        trace_id = str((trace_context or {}).get("trace_id") or f"{_ID_PREFIX}{next(_ID_COUNTER):016x}")
        trace = None
        if traced:
            trace = build_trace(
                ctx.graph.name,
                ctx.state,
                ctx.records,
                trace_id=trace_id,
                started=started,
                latency_ms=latency_ms,
                context=trace_context or {},
                error=error,
            )
            self.tracer.write(trace)
        if isinstance(error, ExecutionError):
            error.trace_id = trace_id
        return RunResult(ctx.state, trace_id, latency_ms, ctx.records, trace)


# --- helpers ------------------------------------------------------------------------------------------------


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
                combined[key] = value if base is _MISSING else merge_values(rule, key, base, value)
            writer[key] = node
    return state.merged(combined)


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


async def _gather_or_cancel(coros: list[Coroutine[Any, Any, T]]) -> list[T]:
    """Run concurrently; on the first failure cancel the rest and raise that failure."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        failed = [t for t in tasks if t in done and not t.cancelled() and t.exception() is not None]
        if failed:
            raise failed[0].exception()  # type: ignore[misc]
        return [t.result() for t in tasks]
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()


_loops = threading.local()


def _run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from synchronous code, reusing one event loop per thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        loop = getattr(_loops, "loop", None)
        if loop is None or loop.is_closed():
            loop = _loops.loop = asyncio.new_event_loop()
        return loop.run_until_complete(coro)
    # Called from inside a running loop (a notebook, an async server): run on a private thread instead.
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="mm-orch-sync-bridge")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]
