"""Running one graph node: the step contract, timeout, retries with backoff, fallback, and its record.

:func:`run_node` and :func:`arun_node` are the synchronous and asynchronous forms of the same policy; the
checks and the failure wrapping they share live in plain functions here so both obey one rule set.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from mm_orch.exceptions import (
    MissingInputError,
    StateMutationError,
    StepExecutionError,
    StepOutputError,
    StepTimeoutError,
    format_options,
)
from mm_orch.orchestration.base_step import BaseStep
from mm_orch.orchestration.compiler import CompiledGraph, NodePolicy
from mm_orch.orchestration.state import State

__all__ = ["NodeRecord", "RunContext", "arun_node", "run_node"]

_MAX_BACKOFF_S = 5.0
_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _thread_pool() -> concurrent.futures.ThreadPoolExecutor:
    """Shared workers for steps with a timeout under the synchronous executor."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = concurrent.futures.ThreadPoolExecutor(max_workers=16, thread_name_prefix="mm-orch-step")
        return _pool


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
    records: list[NodeRecord] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    manager: Any = None  # the runtime's model manager, when it has one (load and token counters)
    wall0: float = 0.0  # time.time() at the start of the run
    perf0: float = 0.0  # time.perf_counter() at the same moment


# --- the contract -------------------------------------------------------------------------------------------


def _check_inputs(ctx: RunContext, node: str, step: BaseStep, inputs: tuple[str, ...], state: State) -> None:
    for key in inputs:
        if key not in state:
            break
    else:
        return
    missing = [k for k in inputs if k not in state]
    if missing:
        raise MissingInputError(
            f"missing input key(s) {missing}; the state has {format_options(state)}. Produce them in an "
            f"upstream step, pass them in the initial state, or declare them in optional_input_keys.",
            missing=missing,
            step=step.step_name,
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


def _failure(ctx: RunContext, node: str, step: BaseStep, exc: BaseException, attempts: int) -> StepExecutionError:
    if isinstance(exc, StepExecutionError):
        return exc
    tried = f" after {attempts} attempts" if attempts > 1 else ""
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return StepTimeoutError(
            f"timed out{tried}", step=step.step_name, workflow=ctx.workflow, node=node, cause=exc
        )
    return StepExecutionError(
        f"{type(exc).__name__}: {exc}{tried}", step=step.step_name, workflow=ctx.workflow, node=node, cause=exc
    )


def _retryable(exc: BaseException) -> bool:
    return not isinstance(exc, MissingInputError | StepOutputError | StateMutationError)


def _backoff(policy: NodePolicy, attempt: int) -> float:
    return float(min(policy.retry_backoff_s * (2 ** (attempt - 1)), _MAX_BACKOFF_S))


_NO_USAGE = (0, 0)


def _usage(manager: Any) -> tuple[int, int]:
    if manager is None:
        return _NO_USAGE
    return len(getattr(manager, "load_history", ())), int(getattr(manager, "token_count", 0))


def _begin(ctx: RunContext, node: str, step: BaseStep) -> tuple[NodeRecord | None, tuple[int, int], float]:
    if not ctx.recording:
        return None, _NO_USAGE, 0.0
    t0 = time.perf_counter()
    # One wall-clock read per run (ctx.wall0); node start times derive from the monotonic clock.
    rec = NodeRecord(node=node, step_name=step.step_name, started_at=ctx.wall0 + (t0 - ctx.perf0))
    return rec, _usage(ctx.manager), t0


def _finish(
    ctx: RunContext,
    rec: NodeRecord | None,
    usage0: tuple[int, int],
    t0: float,
    attempts: int,
    error: BaseException | None,
    fallback: BaseStep | None,
) -> None:
    if rec is None:
        return
    elapsed = time.perf_counter() - t0
    rec.latency_ms = elapsed * 1000.0
    rec.ended_at = rec.started_at + elapsed
    rec.attempts = attempts
    if fallback is not None:
        rec.used_fallback, rec.step_name = True, fallback.step_name
    if error is not None:
        rec.success, rec.error_type, rec.error_message = False, type(error).__name__, str(error)
    if ctx.manager is not None:
        loads, tokens = _usage(ctx.manager)
        if loads > usage0[0]:
            history = ctx.manager.load_history
            rec.model_loads = [str(getattr(h, "name", h)) for h in list(history)[usage0[0] : loads]]
        rec.tokens = tokens - usage0[1]
    ctx.records.append(rec)


# --- the policy, written once -------------------------------------------------------------------------------


class _Ask(NamedTuple):
    """What the policy asks its driver for: run ``step`` (send back its raw result, or throw what it raised)
    or, when ``step`` is None, sleep ``seconds`` (a retry backoff)."""

    step: BaseStep | None
    seconds: float | None


def _policy(ctx: RunContext, node: str) -> Generator[_Ask, Any, Mapping[str, Any]]:
    """Contract checks, retries with backoff and the fallback for one node, independent of how steps are
    called; :func:`run_node` and :func:`arun_node` drive it synchronously and asynchronously."""
    spec, state = ctx.graph.specs[node], ctx.state
    step, policy = spec.step, spec.policy
    rec, usage0, t0 = _begin(ctx, node, step)
    attempts = 0
    try:
        if ctx.validate:
            _check_inputs(ctx, node, step, spec.inputs, state)
        while True:
            attempts += 1
            try:
                raw = yield _Ask(step, policy.timeout_s)
                out = _check_outputs(ctx, node, step, raw, spec.outputs, spec.writes)
                _finish(ctx, rec, usage0, t0, attempts, None, None)
                return out
            except Exception as exc:
                if not _retryable(exc) or attempts > policy.retries:
                    error = _failure(ctx, node, step, exc, attempts)
                    break
            yield _Ask(None, _backoff(policy, attempts))
        if policy.fallback is None or not _retryable(error.cause or error):
            raise error
        raw = yield _Ask(policy.fallback, policy.timeout_s)
        out = _check_outputs(ctx, node, policy.fallback, raw, spec.outputs, policy.fallback.writes)
        _finish(ctx, rec, usage0, t0, attempts + 1, None, policy.fallback)
        return out
    except Exception as exc:
        final = _failure(ctx, node, step, exc, attempts)
        _finish(ctx, rec, usage0, t0, attempts, final, None)
        if final is exc:
            raise
        raise final from (final.cause or exc)


# --- synchronous --------------------------------------------------------------------------------------------


def _call(step: BaseStep, state: State, runtime: Any, timeout_s: float | None) -> Any:
    if timeout_s is None:
        return step.execute(state, runtime)
    future = _thread_pool().submit(step.execute, state, runtime)
    try:
        return future.result(timeout=timeout_s)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise TimeoutError(f"no result within timeout_s={timeout_s}") from None


def run_node(ctx: RunContext, node: str) -> Mapping[str, Any]:
    """Run ``node`` on ``ctx.state`` with its policy; return the step's validated updates."""
    policy = _policy(ctx, node)
    ask = next(policy)
    try:
        while True:
            try:
                if ask.step is None:
                    time.sleep(ask.seconds or 0.0)
                    result = None
                else:
                    result = _call(ask.step, ctx.state, ctx.runtime, ask.seconds)
            except Exception as exc:
                ask = policy.throw(exc)
            else:
                ask = policy.send(result)
    except StopIteration as done:
        return done.value


# --- asynchronous -------------------------------------------------------------------------------------------


async def _acall(step: BaseStep, state: State, runtime: Any, timeout_s: float | None) -> Any:
    coro: Any
    if step.is_async:
        coro = step.execute(state, runtime)
    elif step.run_in_thread or timeout_s is not None:
        coro = asyncio.to_thread(step.execute, state, runtime)
    else:
        return step.execute(state, runtime)
    if timeout_s is None:
        return await coro
    return await asyncio.wait_for(coro, timeout_s)


async def arun_node(ctx: RunContext, node: str) -> Mapping[str, Any]:
    """Async twin of :func:`run_node`: the same policy, steps awaited."""
    policy = _policy(ctx, node)
    ask = next(policy)
    try:
        while True:
            try:
                if ask.step is None:
                    await asyncio.sleep(ask.seconds or 0.0)
                    result = None
                else:
                    result = await _acall(ask.step, ctx.state, ctx.runtime, ask.seconds)
            except Exception as exc:
                ask = policy.throw(exc)
            else:
                ask = policy.send(result)
    except StopIteration as done:
        return done.value
