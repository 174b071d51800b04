"""The OpenAI-compatible routes: POST /v1/chat/completions, GET /v1/models, GET /v1/models/{model}.

``model`` names a workflow, or is 'mm-orch'/'auto' to let the router choose. The conversation maps onto a
:class:`~mm_orch.schemas.UserRequest`: the last message (the user's) is the query, the earlier ones the
history. ``max_tokens``/``temperature``/``top_p``/``seed``/``stop`` apply to the call that writes the reply
(:func:`mm_orch.models.call_context.reply_chat`); ``usage`` counts every model call the workflow made.
Streaming sends OpenAI's ``chat.completion.chunk`` events, then ``data: [DONE]``; the chunk with the
``finish_reason`` carries the ``mm_orch`` extension (workflow, router confidence, citations, trace id).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from mm_orch.models.call_context import ModelCallContext
from mm_orch.schemas import ChatTurn, RequestConstraints, UserRequest, WorkflowResult
from serve.access import scope_session
from serve.config import LimitsConfig
from serve.errors import ApiError
from serve.openai_schemas import (
    AUTO_MODELS,
    ChatChoice,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatDelta,
    ChunkChoice,
    MMOrchExtension,
    ModelCard,
    ModelList,
    OpenAIError,
    ResponseMessage,
    Usage,
)
from serve.schemas import ErrorEvent, FinalEvent, TokenEvent
from serve.streaming import StreamedRun, sse

__all__ = ["openai_router", "to_user_request"]

_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}


def _responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {
        400: "Invalid request body (param names the field)",
        401: "Missing or invalid API key",
        404: "Unknown model (a workflow name, 'mm-orch' or 'auto')",
        413: "Request body too large",
        422: "A parameter mm-orch does not support, or a conversation it cannot answer",
        429: "Rate limit exceeded (Retry-After says when to retry)",
        500: "The workflow failed (the message names the trace id)",
        503: "A model deployment cannot serve right now",
        504: "The request ran past limits.request_timeout_s",
    }
    return {c: {"model": OpenAIError, "description": text[c]} for c in codes}


def _unsupported(body: ChatCompletionRequest) -> None:
    """422 for parameters that ask for features mm-orch does not have (rather than silently ignoring them)."""
    problems = {
        "n": body.n != 1,
        "tools": bool(body.tools) and body.tool_choice != "none",
        "logprobs": bool(body.logprobs) or bool(body.top_logprobs),
        "response_format": body.response_format is not None and body.response_format.get("type") != "text",
        "frequency_penalty": bool(body.frequency_penalty),
        "presence_penalty": bool(body.presence_penalty),
    }
    for param, bad in problems.items():
        if bad:
            raise ApiError(
                422,
                "unsupported_parameter",
                f"{param} is not supported by mm-orch (n must be 1; no tools, logprobs, penalties or structured "
                f"response_format); leave {param} out",
                param=param,
            )


def to_user_request(
    body: ChatCompletionRequest, *, request_id: str, workflows: list[str], max_query_chars: int
) -> UserRequest:
    """The UserRequest a chat completion asks for (ApiError 404 unknown model, 422 unusable conversation)."""
    if body.model in AUTO_MODELS:
        workflow = None
    elif body.model in workflows:
        workflow = body.model
    else:
        raise ApiError(
            404,
            "model_not_found",
            f"model {body.model!r} does not exist; models are the workflows {sorted(workflows)}, or 'mm-orch' "
            "(alias 'auto') to let the router choose (GET /v1/models lists them)",
            param="model",
            options=sorted(workflows),
        )
    *earlier, last = body.messages
    if last.role != "user" or not last.text().strip():
        raise ApiError(
            422,
            "invalid_conversation",
            f"the last message must be a non-empty 'user' message (got role {last.role!r}); end the conversation "
            "with the question to answer",
            param="messages",
        )
    for i, message in enumerate(body.messages):
        if message.role == "tool" or (
            isinstance(message.content, list) and any(p.type != "text" for p in message.content)
        ):
            raise ApiError(
                422,
                "unsupported_content",
                f"messages[{i}] is a tool result or has non-text parts; mm-orch takes text messages only",
                param=f"messages[{i}]",
            )
    query = last.text()
    if len(query) > max_query_chars:
        raise ApiError(
            400,
            "string_too_long",
            f"the last message has {len(query)} characters; the limit is {max_query_chars} (limits.max_query_chars)",
            param="messages",
        )
    history = [ChatTurn(role=_ROLES[m.role], content=m.text()) for m in earlier]  # type: ignore[arg-type]
    options = body.mm_orch
    context = {"openai_user": body.user} if body.user else {}
    return UserRequest(
        query=query,
        request_id=request_id,
        workflow=workflow,
        history=history,
        session_id=options.session_id if options else None,
        collection=options.collection if options else None,
        documents=list(options.documents) if options else [],
        constraints=RequestConstraints(require_citations=bool(options and options.require_citations)),
        context=context,
    )


def _overrides(body: ChatCompletionRequest) -> dict[str, Any]:
    values: dict[str, Any] = {
        "max_tokens": body.max_completion_tokens or body.max_tokens,
        "temperature": body.temperature,
        "top_p": body.top_p,
        "seed": body.seed,
        "stop": body.stop_list() or None,
    }
    return {k: v for k, v in values.items() if v is not None}


def _extension(result: WorkflowResult) -> MMOrchExtension:
    meta = result.metadata
    return MMOrchExtension(
        workflow=result.workflow,
        router_version=meta.get("router_version"),
        router_confidence=meta.get("router_confidence"),
        citations=list(result.citations),
        trace_id=result.trace_id,
        request_id=result.request_id,
        success=result.success,
        using_phase_b=bool(meta.get("using_phase_b", True)),
    )


def _finish(call: ModelCallContext) -> Literal["stop", "length"]:
    return "length" if call.finish_reason == "length" else "stop"


def _usage(call: ModelCallContext) -> Usage:
    return Usage(
        prompt_tokens=call.prompt_tokens,
        completion_tokens=call.completion_tokens,
        total_tokens=call.prompt_tokens + call.completion_tokens,
    )


async def _chunks(run: StreamedRun, body: ChatCompletionRequest, cid: str, created: int) -> AsyncIterator[bytes]:
    def chunk(delta: ChatDelta, **extra: Any) -> bytes:
        choice = ChunkChoice(delta=delta, finish_reason=extra.pop("finish_reason", None))
        return sse(ChatCompletionChunk(id=cid, created=created, model=body.model, choices=[choice], **extra))

    yield chunk(ChatDelta(role="assistant", content=""))
    async for event in run.events():
        if isinstance(event, TokenEvent):
            yield chunk(ChatDelta(content=event.text))
        elif isinstance(event, FinalEvent):
            finish = _finish(run.call)
            yield chunk(ChatDelta(), finish_reason=finish, mm_orch=_extension(event.result))
            if body.stream_options is not None and body.stream_options.include_usage:
                usage = ChatCompletionChunk(
                    id=cid, created=created, model=body.model, choices=[], usage=_usage(run.call)
                )
                yield sse(usage)
            yield sse("[DONE]")
        elif isinstance(event, ErrorEvent) and run.error is not None:
            yield sse(run.error.openai_body())  # the SDK raises APIError on an 'error' event


def openai_router(
    backend: Any,
    *,
    limits: LimitsConfig,
    guard: Callable[..., Any],
    request_id: Callable[[Request], str],
) -> APIRouter:
    """The OpenAI-compatible routes over ``backend``; ``guard`` declares the bearer scheme (serve.access checks the key and limits)."""
    router = APIRouter(dependencies=[Depends(guard)])
    started = int(time.time())

    def workflows() -> list[str]:
        return [w.name for w in backend.workflows()]

    @router.post(
        "/v1/chat/completions",
        response_model=ChatCompletion,
        responses={
            **_responses(400, 401, 404, 413, 422, 429, 500, 503, 504),
            200: {
                "content": {"text/event-stream": {}},
                "description": "chat.completion, or chunks when streaming",
            },
        },
        summary="OpenAI-compatible chat completion (model: a workflow, or 'mm-orch' to route)",
    )
    async def chat_completions(body: ChatCompletionRequest, request: Request) -> Any:
        _unsupported(body)
        rid = request_id(request)
        known = [] if body.model in AUTO_MODELS else workflows()  # the registry is only consulted for a name
        req = to_user_request(body, request_id=rid, workflows=known, max_query_chars=limits.max_query_chars)
        req = scope_session(req, getattr(request.state, "principal", None))
        cid, created = f"chatcmpl-{rid}", int(time.time())
        run = StreamedRun(
            backend, req, overrides=_overrides(body), timeout_s=limits.request_timeout_s, stream_tokens=body.stream
        )
        request.state.run = run  # names the workflow in the request metric (serve.middleware)
        if body.stream:
            return StreamingResponse(
                _chunks(run, body, cid, created),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        result = await run.run()
        choice = ChatChoice(message=ResponseMessage(content=result.answer), finish_reason=_finish(run.call))
        return ChatCompletion(
            id=cid,
            created=created,
            model=body.model,
            choices=[choice],
            usage=_usage(run.call),
            mm_orch=_extension(result),
        )

    def cards() -> list[ModelCard]:
        out = [ModelCard(id="mm-orch", created=started, description="The router chooses the workflow ('auto').")]
        out += [ModelCard(id=w.name, created=started, description=w.description) for w in backend.workflows()]
        return out

    @router.get(
        "/v1/models", response_model=ModelList, responses=_responses(401, 429), summary="Workflows as models"
    )
    async def models() -> ModelList:
        return ModelList(data=cards())

    @router.get("/v1/models/{model}", response_model=ModelCard, responses=_responses(401, 404, 429))
    async def model(model: str) -> ModelCard:
        for card in cards():
            if card.id == model or (model == "auto" and card.id == "mm-orch"):
                return card
        raise ApiError(
            404, "model_not_found", f"model {model!r} does not exist; GET /v1/models lists them", param="model"
        )

    return router
