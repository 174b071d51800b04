"""Running one graph node: the step contract, timeout, retries with backoff, fallback, its record and events.

:func:`run_node` and :func:`arun_node` are twins that read top to bottom over the same checks (the way Burr
writes its sync and async step runners): check the inputs, call the step (retrying what may be retried), fall
back to the fallback step when the step failed for a reason other than its contract, check the outputs, and
record the node. Only the call itself differs: inline or on a thread here, awaited there.

- Retries use tenacity: exponential backoff ``retry_backoff_s * 2**(attempt-1)``, capped at 5 s. Contract
  errors (missing inputs, bad outputs, mutating the state) and cancellation are never retried nor handed to
  the fallback: they are bugs, and a second try would only repeat them.
- A synchronous step with a timeout runs on its own thread (:class:`~.cancellation.ThreadCall`); when the
  timeout passes the executor stops waiting and cancels the call's token (see :mod:`.cancellation`).
- When the run records (tracing, ``record=True``) or has lifecycle hooks, each node gets a
  :class:`NodeRecord` and its ``node_started`` / ``node_finished`` events; otherwise none of that is paid for.
- While live metrics are on (:mod:`mm_orch.observability.metrics`), each node's wall time and outcome is
  recorded as ``mm_orch_step_duration_seconds`` -- two clock reads and one in-process observation, not a hook.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn, cast

from tenacity import AsyncRetrying, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from mm_orch.exceptions import (
    ExecutionError,
    MissingInputError,
    RunCancelledError,
    StateMutationError,
    StepExecutionError,
    StepOutputError,
    StepTimeoutError,
    format_options,
)
from mm_orch.observability import metrics
from mm_orch.orchestration.base_step import BaseStep
from mm_orch.orchestration.cancellation import ThreadCall
from mm_orch.orchestration.compiler import CompiledGraph, NodePolicy, NodeSpec
from mm_orch.orchestration.hooks import LifecycleHook, emit
from mm_orch.orchestration.state import State

__all__ = ["NodeRecord", "RunContext", "arun_node", "run_node"]

_MAX_BACKOFF_S = 5.0
_NO_USAGE = (0, 0)


@dataclass(slots=True)
class NodeRecord:
    """What happened at one node (becomes a StepTrace when the run is traced)."""

    node: str
    step_name: str
    started_at: float
    ended_at: float = 0.0
    latency_ms: float = 0.0
    success: bool = True
    attempts: int = 0
    error_type: str | None = None
    error_message: str | None = None
    used_fallback: bool = False
    model_loads: list[str] = field(default_factory=list)
    tokens: int = 0


@dataclass(slots=True)
class RunContext:
    """Everything one run's nodes share."""

    graph: CompiledGraph
    workflow: str | None
    runtime: Any
    validate: bool
    recording: bool
    state: State
    run_id: str = ""
    hooks: tuple[LifecycleHook, ...] = ()
    traced: bool = False
    observed: bool = False  # recording or hooks: nodes keep records and emit events
    metered: bool = False  # live metrics on: every node's latency and outcome is recorded
    trace_context: Mapping[str, Any] | None = None
    executed: int = 0
    records: list[NodeRecord] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    manager: Any = None  # the runtime's model manager, when it has one (load and token counters)
    wall0: float = 0.0  # time.time() at the start of the run
    perf0: float = 0.0  # time.perf_counter() at the same moment


@dataclass(slots=True)
class _Node:
    """One node's progress: attempts made, the fallback that answered, and its record while observed."""

    attempts: int = 0
    fallback: BaseStep | None = None
    record: NodeRecord | None = None
    t0: float = 0.0
    usage0: tuple[int, int] = _NO_USAGE


# --- the shared checks --------------------------------------------------------------------------------------


def _check_inputs(ctx: RunContext, node: str, spec: NodeSpec) -> None:
    state = ctx.state
    for key in spec.inputs:  # the common case, all present, without building a list
        if key not in state:
            break
    else:
        return
    missing = [k for k in spec.inputs if k not in state]
    if missing:
        raise MissingInputError(
            f"missing input key(s) {missing}; the state has {format_options(state)}. Produce them in an "
            f"upstream step, pass them in the initial state, or declare them in optional_input_keys.",
            missing=missing,
            step=spec.step.step_name,
            workflow=ctx.workflow,
            node=node,
        )


def _check_outputs(
    ctx: RunContext, node: str, step: BaseStep, updates: Any, required: tuple[str, ...], writes: frozenset[str]
) -> Mapping[str, Any]:
    if type(updates) is not dict and not isinstance(updates, Mapping):
        raise StepOutputError(
            f"execute() returned {type(updates).__name__}; it must return a dict of updates "
            f"{{output_key: value}} (an empty dict when it writes nothing)",
            step=step.step_name,
            workflow=ctx.workflow,
            node=node,
        )
    if ctx.validate:
        undeclared = updates.keys() - writes
        if undeclared:
            raise StepOutputError(
                f"wrote undeclared key(s) {sorted(undeclared)}; declared outputs: {format_options(writes)}."
                f" Add them to output_keys (or optional_output_keys) or stop writing them.",
                step=step.step_name,
                workflow=ctx.workflow,
                node=node,
            )
        absent = [k for k in required if k not in updates]
        if absent:
            raise StepOutputError(
                f"did not produce declared output key(s) {absent}; return them from execute() or move them to "
                f"optional_output_keys",
                step=step.step_name,
                workflow=ctx.workflow,
                node=node,
            )
    return updates


def _retryable(exc: BaseException) -> bool:
    return not isinstance(exc, MissingInputError | StepOutputError | StateMutationError | RunCancelledError)


def _fallback_for(spec: NodeSpec, exc: Exception) -> BaseStep | None:
    """The fallback step to try after ``exc``, or None when there is none or ``exc`` must propagate."""
    fallback = spec.policy.fallback
    return fallback if fallback is not None and _retryable(exc) else None


def _retrying(policy: NodePolicy) -> dict[str, Any]:
    return {
        "stop": stop_after_attempt(policy.retries + 1),
        "wait": wait_exponential(multiplier=policy.retry_backoff_s, max=_MAX_BACKOFF_S),
        "retry": retry_if_exception(_retryable),
        "reraise": True,
    }


def _failure(ctx: RunContext, node: str, step: BaseStep, exc: BaseException, attempts: int) -> StepExecutionError:
    if isinstance(exc, StepExecutionError):
        return exc
    tried = f" after {attempts} attempts" if attempts > 1 else ""
    if isinstance(exc, TimeoutError):
        return StepTimeoutError(
            f"timed out{tried} ({exc})", step=step.step_name, workflow=ctx.workflow, node=node, cause=exc
        )
    return StepExecutionError(
        f"{type(exc).__name__}: {exc}{tried}", step=step.step_name, workflow=ctx.workflow, node=node, cause=exc
    )


# --- records and events -------------------------------------------------------------------------------------


def _usage(manager: Any) -> tuple[int, int]:
    if manager is None:
        return _NO_USAGE
    return len(getattr(manager, "load_history", ())), int(getattr(manager, "token_count", 0))


def _started(ctx: RunContext, node: str, step: BaseStep) -> _Node:
    progress = _Node()
    if not ctx.observed:
        return progress
    progress.t0 = t0 = time.perf_counter()
    # One wall-clock read per run (ctx.wall0); node start times derive from the monotonic clock.
    progress.record = NodeRecord(node=node, step_name=step.step_name, started_at=ctx.wall0 + (t0 - ctx.perf0))
    progress.usage0 = _usage(ctx.manager)
    if ctx.hooks:
        emit(ctx.hooks, "node_started", run_id=ctx.run_id, workflow=ctx.workflow, node=node, step=step.step_name)
    return progress


def _finished(
    ctx: RunContext, node: str, progress: _Node, out: Mapping[str, Any] | None, error: BaseException | None
) -> None:
    rec = progress.record
    if rec is None:
        return
    elapsed = time.perf_counter() - progress.t0
    rec.latency_ms = elapsed * 1000.0
    rec.ended_at = rec.started_at + elapsed
    rec.attempts = progress.attempts
    if progress.fallback is not None:
        rec.used_fallback, rec.step_name = True, progress.fallback.step_name
    if error is not None:
        rec.success, rec.error_type, rec.error_message = False, type(error).__name__, str(error)
    if ctx.manager is not None:
        loads, tokens = _usage(ctx.manager)
        if loads > progress.usage0[0]:
            history = ctx.manager.load_history
            rec.model_loads = [str(getattr(h, "name", h)) for h in list(history)[progress.usage0[0] : loads]]
        rec.tokens = tokens - progress.usage0[1]
    if ctx.recording:
        ctx.records.append(rec)
    if ctx.metered:
        outcome = "error" if error is not None else "fallback" if rec.used_fallback else "success"
        metrics.record_step(ctx.workflow, rec.step_name, outcome, elapsed)
    if ctx.hooks:
        emit(
            ctx.hooks,
            "node_finished",
            run_id=ctx.run_id,
            workflow=ctx.workflow,
            node=node,
            step=rec.step_name,
            duration_ms=rec.latency_ms,
            error=error,
            written_keys=tuple(out) if out is not None else (),
            attempts=progress.attempts,
            used_fallback=rec.used_fallback,
        )


def _failed(ctx: RunContext, node: str, spec: NodeSpec, progress: _Node, exc: BaseException) -> ExecutionError:
    """The error the node raises for ``exc`` (a StepExecutionError naming step, node and workflow), recorded."""
    final: ExecutionError
    final = exc if isinstance(exc, RunCancelledError) else _failure(ctx, node, spec.step, exc, progress.attempts)
    _finished(ctx, node, progress, None, final)
    return final


def _raise(final: ExecutionError, exc: BaseException) -> NoReturn:
    if final is exc:
        raise exc
    raise final from (getattr(final, "cause", None) or exc)


# --- synchronous --------------------------------------------------------------------------------------------


def _call(ctx: RunContext, step: BaseStep, timeout_s: float | None) -> Any:
    if timeout_s is None:
        return step.execute(ctx.state, ctx.runtime)
    call = ThreadCall(step.execute, ctx.state, ctx.runtime, name=step.step_name)
    try:
        return call.result(timeout_s)
    except concurrent.futures.TimeoutError:
        call.give_up(f"step {step.step_name!r} ran past timeout_s={timeout_s}")
        raise TimeoutError(f"no result within timeout_s={timeout_s}") from None
    except BaseException:
        call.give_up(f"the caller of step {step.step_name!r} stopped waiting")
        raise


def _attempt(ctx: RunContext, node: str, spec: NodeSpec, progress: _Node) -> Mapping[str, Any]:
    progress.attempts += 1
    raw = _call(ctx, spec.step, spec.policy.timeout_s)
    return _check_outputs(ctx, node, spec.step, raw, spec.outputs, spec.writes)


def _run_plain(ctx: RunContext, node: str, spec: NodeSpec) -> Mapping[str, Any]:
    """The hot path: one attempt, no fallback, nothing observed."""
    try:
        if ctx.validate:
            _check_inputs(ctx, node, spec)
        raw = _call(ctx, spec.step, spec.policy.timeout_s)
        return _check_outputs(ctx, node, spec.step, raw, spec.outputs, spec.writes)
    except RunCancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - wrapped as StepExecutionError (node, step, cause) and raised
        _raise(_failure(ctx, node, spec.step, exc, 1), exc)


def _run_plain_metered(ctx: RunContext, node: str, spec: NodeSpec) -> Mapping[str, Any]:
    t0 = time.perf_counter()
    try:
        out = _run_plain(ctx, node, spec)
    except BaseException:
        metrics.record_step(ctx.workflow, spec.step.step_name, "error", time.perf_counter() - t0)
        raise
    metrics.record_step(ctx.workflow, spec.step.step_name, "success", time.perf_counter() - t0)
    return out


def run_node(ctx: RunContext, node: str) -> Mapping[str, Any]:
    """Run ``node`` on ``ctx.state`` with its policy; return the step's validated updates."""
    spec = ctx.graph.specs[node]
    if spec.plain and not ctx.observed:
        return _run_plain_metered(ctx, node, spec) if ctx.metered else _run_plain(ctx, node, spec)
    progress = _started(ctx, node, spec.step)
    try:
        if ctx.validate:
            _check_inputs(ctx, node, spec)
        try:
            if not spec.policy.retries:
                out = _attempt(ctx, node, spec, progress)
            else:
                for attempt in Retrying(**_retrying(spec.policy)):
                    with attempt:
                        out = _attempt(ctx, node, spec, progress)
        except Exception as exc:
            fallback = _fallback_for(spec, exc)
            if fallback is None:
                raise
            progress.attempts += 1
            raw = _call(ctx, fallback, spec.policy.timeout_s)
            out = _check_outputs(ctx, node, fallback, raw, spec.outputs, fallback.writes)
            progress.fallback = fallback
    except Exception as exc:  # noqa: BLE001 - wrapped as StepExecutionError (node, step, cause) and raised
        _raise(_failed(ctx, node, spec, progress, exc), exc)
    _finished(ctx, node, progress, out, None)
    return out


# --- asynchronous -------------------------------------------------------------------------------------------


async def _acall(ctx: RunContext, step: BaseStep, is_async: bool, timeout_s: float | None) -> Any:
    if is_async:
        coro = cast(Awaitable[Mapping[str, Any]], step.execute(ctx.state, ctx.runtime))
        return await (coro if timeout_s is None else asyncio.wait_for(coro, timeout_s))
    if not step.run_in_thread and timeout_s is None:
        return step.execute(ctx.state, ctx.runtime)
    call = ThreadCall(step.execute, ctx.state, ctx.runtime, name=step.step_name)
    waiter = asyncio.wrap_future(call.future)
    try:
        return await (waiter if timeout_s is None else asyncio.wait_for(waiter, timeout_s))
    except TimeoutError:
        call.give_up(f"step {step.step_name!r} ran past timeout_s={timeout_s}")
        raise TimeoutError(f"no result within timeout_s={timeout_s}") from None
    except BaseException:
        call.give_up(f"the run stopped waiting for step {step.step_name!r} (cancelled)")
        raise


async def _aattempt(ctx: RunContext, node: str, spec: NodeSpec, progress: _Node) -> Mapping[str, Any]:
    progress.attempts += 1
    raw = await _acall(ctx, spec.step, spec.is_async, spec.policy.timeout_s)
    return _check_outputs(ctx, node, spec.step, raw, spec.outputs, spec.writes)


async def _arun_plain(ctx: RunContext, node: str, spec: NodeSpec) -> Mapping[str, Any]:
    """Async twin of :func:`_run_plain`."""
    try:
        if ctx.validate:
            _check_inputs(ctx, node, spec)
        raw = await _acall(ctx, spec.step, spec.is_async, spec.policy.timeout_s)
        return _check_outputs(ctx, node, spec.step, raw, spec.outputs, spec.writes)
    except RunCancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - wrapped as StepExecutionError (node, step, cause) and raised
        _raise(_failure(ctx, node, spec.step, exc, 1), exc)


async def arun_node(ctx: RunContext, node: str) -> Mapping[str, Any]:
    """Async twin of :func:`run_node`: the same checks and policy, the step awaited (blocking sync steps with
    a timeout or ``run_in_thread`` on their own thread). Cancelling the awaiting task cancels the node: it is
    recorded as failed with :class:`~mm_orch.exceptions.RunCancelledError` and the cancellation propagates."""
    spec = ctx.graph.specs[node]
    if spec.plain and not ctx.observed:
        if not ctx.metered:
            return await _arun_plain(ctx, node, spec)
        t0 = time.perf_counter()
        try:
            out = await _arun_plain(ctx, node, spec)
        except BaseException:
            metrics.record_step(ctx.workflow, spec.step.step_name, "error", time.perf_counter() - t0)
            raise
        metrics.record_step(ctx.workflow, spec.step.step_name, "success", time.perf_counter() - t0)
        return out
    progress = _started(ctx, node, spec.step)
    try:
        if ctx.validate:
            _check_inputs(ctx, node, spec)
        try:
            if not spec.policy.retries:
                out = await _aattempt(ctx, node, spec, progress)
            else:
                async for attempt in AsyncRetrying(**_retrying(spec.policy)):
                    with attempt:
                        out = await _aattempt(ctx, node, spec, progress)
        except Exception as exc:
            fallback = _fallback_for(spec, exc)
            if fallback is None:
                raise
            progress.attempts += 1
            raw = await _acall(ctx, fallback, fallback.is_async, spec.policy.timeout_s)
            out = _check_outputs(ctx, node, fallback, raw, spec.outputs, fallback.writes)
            progress.fallback = fallback
    except asyncio.CancelledError:
        _failed(ctx, node, spec, progress, RunCancelledError(f"node {node!r} was cancelled with its run"))
        raise
    except Exception as exc:  # noqa: BLE001 - wrapped as StepExecutionError (node, step, cause) and raised
        _raise(_failed(ctx, node, spec, progress, exc), exc)
    _finished(ctx, node, progress, out, None)
    return out
