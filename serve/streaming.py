"""Streaming one request: the run in its own task, its reply tokens and node events queued as they happen.

:class:`StreamedRun` opens a :class:`~mm_orch.models.call_context.ModelCallContext` whose token sink feeds a
queue, runs ``backend.answer(request)`` in a task, and yields typed events (serve.schemas): ``token`` as the
reply is generated (or the whole answer once it exists, for workflows whose answer is composed rather than
generated), ``node_started``/``node_finished`` when asked for, then ``final`` or ``error``.

Cancellation: when the consumer stops (the client disconnected, so Starlette or Serve cancels the response),
the run's task is cancelled and awaited. That cancels the executor's in-flight node, whose model call is a
streaming DeploymentHandle call; Serve cancels it in the LLM replica, where vLLM aborts the request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextvars import ContextVar
from typing import Any

from pydantic import BaseModel

from mm_orch.models.call_context import ModelCallContext, model_call_context
from mm_orch.orchestration.hooks import LifecycleHook
from mm_orch.schemas import UserRequest, WorkflowResult
from serve.errors import ApiError, from_exception
from serve.schemas import ErrorEvent, FinalEvent, NodeFinishedEvent, NodeStartedEvent, TokenEvent

__all__ = ["NodeEventHook", "NodeEventSink", "StreamedRun", "node_event_sink", "sse", "timeout_error"]

log = logging.getLogger(__name__)

Event = TokenEvent | NodeStartedEvent | NodeFinishedEvent | FinalEvent | ErrorEvent
NodeEventSink = Callable[[NodeStartedEvent | NodeFinishedEvent], None]

_node_sink: ContextVar[NodeEventSink | None] = ContextVar("mm_orch_node_event_sink", default=None)


def node_event_sink() -> NodeEventSink | None:
    """Where the running request wants its node events (None: nobody asked)."""
    return _node_sink.get()


class NodeEventHook(LifecycleHook):
    """Executor hook (installed once on the ingress replica's executor) that forwards node events to the
    request that asked for them (``/v1/answer?stream=true``); a no-op for every other request."""

    def node_started(self, *, node: str, step: str, **future_kwargs: Any) -> None:
        sink = _node_sink.get()
        if sink is not None:
            sink(NodeStartedEvent(node=node, step=step))

    def node_finished(
        self, *, node: str, step: str, duration_ms: float, error: BaseException | None, **future_kwargs: Any
    ) -> None:
        sink = _node_sink.get()
        if sink is not None:
            message = None if error is None else f"{type(error).__name__}: {error}"[:500]
            sink(
                NodeFinishedEvent(
                    node=node, step=step, success=error is None, latency_ms=duration_ms, error=message
                )
            )


@contextlib.contextmanager
def _node_events_to(sink: NodeEventSink | None) -> Iterator[None]:
    token = _node_sink.set(sink)
    try:
        yield
    finally:
        _node_sink.reset(token)


def sse(data: BaseModel | dict[str, Any] | str, event: str | None = None) -> bytes:
    """One Server-Sent Event (``data:`` holds JSON, or a literal such as ``[DONE]``)."""
    if isinstance(data, BaseModel):
        payload = data.model_dump_json(exclude_none=False)
    elif isinstance(data, dict):
        payload = json.dumps(data, ensure_ascii=False)
    else:
        payload = data
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


def timeout_error(timeout_s: float) -> ApiError:
    return ApiError(
        504,
        "timeout",
        f"the request ran past {timeout_s} s (limits.request_timeout_s); retry, or pick a faster workflow such as "
        "'search_qa_fast'",
    )


class StreamedRun:
    """Runs ``backend.answer(request)`` in a task and yields what happens (see the module docstring)."""

    def __init__(
        self,
        backend: Any,
        request: UserRequest,
        *,
        overrides: dict[str, Any] | None = None,
        timeout_s: float,
        node_events: bool = False,
        stream_tokens: bool = True,
    ) -> None:
        self.backend = backend
        self.request = request
        self.timeout_s = timeout_s
        self.node_events = node_events
        self.call = ModelCallContext(on_token=self._token if stream_tokens else None, overrides=overrides or {})
        self.result: WorkflowResult | None = None
        self.error: ApiError | None = None
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = 0
        self._streamed = ""

    # --- producers (the run's task, its child tasks and worker threads) -------------------------------------
    def _put(self, event: Event) -> None:
        if threading.get_ident() == self._thread:
            self._queue.put_nowait(event)
        elif self._loop is not None:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, event)

    def _token(self, text: str) -> None:
        self._streamed += text
        self._put(TokenEvent(text=text))

    def _node(self, event: NodeStartedEvent | NodeFinishedEvent) -> None:
        self._put(event)

    async def _work(self) -> None:
        with model_call_context(self.call), _node_events_to(self._node if self.node_events else None):
            try:
                async with asyncio.timeout(self.timeout_s):
                    result = await self.backend.answer(self.request)
            except TimeoutError:
                self._fail(timeout_error(self.timeout_s))
                return
            except Exception as exc:  # noqa: BLE001 - sent to the client as the stream's typed error
                self._fail(from_exception(exc, request_id=self.request.request_id, workflows=self._workflows()))
                return
        self.result = result
        rest = self._rest(result.answer)
        if rest:
            self._put(TokenEvent(text=rest))
        self._put(FinalEvent(result=result))

    def _rest(self, answer: str) -> str:
        """What of the final answer was not streamed yet."""
        if answer.startswith(self._streamed):
            return answer[len(self._streamed) :]
        log.warning(
            "request %s: the streamed reply is not a prefix of the final answer (the workflow rewrote it); "
            "the final event holds the answer",
            self.request.request_id,
        )
        return ""

    def _fail(self, error: ApiError) -> None:
        self.error = error
        self._put(ErrorEvent(status=error.status, error=error.body))

    def _workflows(self) -> list[str]:
        try:
            return [w.name for w in self.backend.workflows()]
        except Exception:  # noqa: BLE001 - the list only decorates an error message
            return []

    # --- the consumer --------------------------------------------------------------------------------------
    async def events(self) -> AsyncIterator[Event]:
        """Every event up to and including the final or error one. Closing the iterator early (or cancelling
        the task that reads it) cancels the run and waits for it to wind down."""
        self._loop, self._thread = asyncio.get_running_loop(), threading.get_ident()
        task = asyncio.create_task(self._work(), name=f"mm-orch-request-{self.request.request_id}")
        try:
            while True:
                event = await self._queue.get()
                yield event
                if isinstance(event, FinalEvent | ErrorEvent):
                    return
        finally:
            if not task.done():
                task.cancel()
                log.info("request %s: client went away; cancelling its run", self.request.request_id)
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run(self) -> WorkflowResult:
        """Consume every event and return the result (raises the ApiError of a failed run)."""
        async for _ in self.events():
            pass
        if self.error is not None:
            raise self.error
        if self.result is None:  # events() always ends with final or error; this would be a bug here
            raise RuntimeError(f"request {self.request.request_id}: the run ended without a result or an error")
        return self.result
