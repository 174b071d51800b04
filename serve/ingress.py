"""The FastAPI ingress: routes, auth, limits and error mapping over an :class:`IngressBackend`.

``create_app(backend, ...)`` builds the ASGI app. Inside Serve the backend is the replica's orchestrator (see
``serve.app``); tests pass a fake backend and use FastAPI's TestClient, with no Ray at all.

Routes (bearer API key when configured): POST /v1/answer (``?stream=true``: a typed event stream), POST
/v1/route, GET /v1/workflows, GET /v1/stats, POST /v1/feedback, and the OpenAI-compatible POST
/v1/chat/completions and GET /v1/models (serve.openai_routes). Always open: GET /healthz (liveness) and GET
/readyz (readiness: the router and model deployments can serve). Errors are :class:`~serve.schemas.ErrorResponse`
bodies, in OpenAI's shape on the OpenAI routes (serve.errors).
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any, Protocol

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse

from mm_orch.exceptions import WorkflowNotFoundError
from mm_orch.observability.feedback import FeedbackRecord, FeedbackStore
from mm_orch.routing import RoutingDecision
from mm_orch.schemas import UserRequest, WorkflowResult
from serve.auth import ApiKeyAuth, BodySizeLimit
from serve.config import LimitsConfig
from serve.errors import ApiError, from_exception, install_error_handlers
from serve.middleware import RequestContextMiddleware
from serve.openai_routes import openai_router
from serve.ratelimit import RateLimiter
from serve.schemas import (
    ErrorResponse,
    FeedbackRequest,
    HealthResponse,
    ReadyResponse,
    StatsResponse,
    WorkflowInfo,
    WorkflowsResponse,
)
from serve.streaming import StreamedRun, sse

__all__ = ["ApiError", "IngressBackend", "create_app"]

log = logging.getLogger(__name__)

API_VERSION = "1"


class IngressBackend(Protocol):
    """What the HTTP layer needs from the orchestrator side."""

    async def answer(self, request: UserRequest) -> WorkflowResult: ...

    async def route(self, request: UserRequest) -> RoutingDecision: ...

    def workflows(self) -> list[WorkflowInfo]: ...

    async def stats(self) -> dict[str, Any]: ...

    def health(self) -> dict[str, Any]: ...

    async def ready(self) -> dict[str, str]:
        """Per deployment: 'ok' or why it cannot serve."""
        ...


def _responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {
        401: "Missing or invalid API key",
        404: "Unknown workflow (the body lists the registered ones)",
        413: "Request body too large",
        422: "Invalid request body (the body names each invalid field)",
        429: "Rate limit exceeded (Retry-After says when to retry)",
        500: "The workflow failed (the message names the trace id)",
        503: "A model deployment cannot serve right now, or feedback storage is off",
        504: "The request ran past limits.request_timeout_s",
    }
    return {c: {"model": ErrorResponse, "description": text[c]} for c in codes}


def create_app(
    backend: IngressBackend,
    *,
    api_keys: list[str] | None = None,
    limits: LimitsConfig | None = None,
    feedback: FeedbackStore | None = None,
) -> FastAPI:
    """The ingress ASGI app over ``backend``; ``api_keys`` empty or None disables auth (logged);
    ``feedback`` stores POST /v1/feedback (None: that route answers 503)."""
    limits = limits or LimitsConfig()
    auth = ApiKeyAuth(api_keys or [])
    limiter = RateLimiter(limits.requests_per_minute, limits.burst) if limits.requests_per_minute else None
    counters: collections.Counter[str] = collections.Counter()
    app = FastAPI(
        title="mm-orch",
        version=API_VERSION,
        description="Multi-model question answering: routing, workflow graphs and traced runs; OpenAI-compatible "
        "chat completions.",
    )
    app.add_middleware(BodySizeLimit, max_bytes=limits.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, counters=counters)  # outermost: every response gets the id
    install_error_handlers(app)

    def guard(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
        problem = auth.check(authorization)
        if problem is not None:
            raise ApiError(401, "unauthorized", problem)
        if limiter is not None:
            key = authorization.partition(" ")[2].strip() if authorization and auth.enabled else None
            client = request.client.host if request.client else None
            wait = limiter.check(RateLimiter.client_key(key, client))
            if wait is not None:
                raise ApiError(
                    429,
                    "rate_limit_exceeded",
                    f"more than {limits.requests_per_minute:g} requests per minute from this client "
                    f"(limits.requests_per_minute); retry in {wait:.1f} s",
                    headers={"Retry-After": str(max(1, round(wait + 0.5)))},
                )

    def request_id(request: Request) -> str:
        return str(getattr(request.state, "request_id", "") or "")

    def with_request_id(req: UserRequest, request: Request) -> UserRequest:
        """The header's id wins; else the body's explicit request_id is kept and echoed."""
        if getattr(request.state, "request_id_given", False) or "request_id" not in req.model_fields_set:
            return req.model_copy(update={"request_id": request_id(request)})
        request.state.request_id = req.request_id
        return req

    def check_query(req: UserRequest) -> UserRequest:
        if len(req.query) > limits.max_query_chars:
            raise RequestValidationError(
                [
                    {
                        "loc": ("body", "query"),
                        "msg": f"query has {len(req.query)} characters; the limit is {limits.max_query_chars}",
                        "type": "string_too_long",
                    }
                ]
            )
        return req

    def workflow_names() -> list[str]:
        return [w.name for w in backend.workflows()]

    authed = [Depends(guard)]

    @app.post(
        "/v1/answer",
        response_model=WorkflowResult,
        dependencies=authed,
        responses={
            **_responses(401, 404, 413, 422, 429, 500, 503, 504),
            200: {
                "content": {"text/event-stream": {}},
                "description": "WorkflowResult; with ?stream=true Server-Sent Events: node_started, "
                "node_finished, token, then final (or error) — see serve.schemas.AnswerEvent",
            },
        },
        summary="Route a question and run its workflow",
    )
    async def answer(
        req: UserRequest,
        request: Request,
        stream: Annotated[bool, Query(description="Stream typed events (text/event-stream).")] = False,
    ) -> Any:
        req = with_request_id(check_query(req), request)
        run = StreamedRun(
            backend, req, timeout_s=limits.request_timeout_s, node_events=stream, stream_tokens=stream
        )
        request.state.run = run  # names the workflow in the request metric (serve.middleware)
        if not stream:
            return await run.run()

        async def events() -> AsyncIterator[bytes]:
            async for event in run.events():
                yield sse(event, event=event.type)

        return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    @app.post(
        "/v1/route",
        response_model=RoutingDecision,
        dependencies=authed,
        responses=_responses(401, 404, 413, 422, 429),
        summary="The routing decision only (nothing runs)",
    )
    async def route(req: UserRequest, request: Request) -> RoutingDecision:
        req = with_request_id(check_query(req), request)
        if req.workflow is not None and req.workflow not in workflow_names():
            raise from_exception(
                WorkflowNotFoundError(f"workflow {req.workflow!r} is not registered"),
                request_id=req.request_id,
                workflows=workflow_names(),
            )
        return await backend.route(req)

    @app.post(
        "/v1/feedback",
        response_model=FeedbackRecord,
        status_code=201,
        dependencies=authed,
        responses=_responses(401, 413, 422, 429, 503),
        summary="Rate a run (by trace id); stored durably for router retraining",
    )
    async def post_feedback(body: FeedbackRequest) -> FeedbackRecord:
        if feedback is None:
            raise ApiError(
                503,
                "feedback_disabled",
                "this application stores no feedback; enable tracing (args.tracing) or set args.tracing.feedback_path",
            )
        names = workflow_names()
        if body.workflow is not None and body.workflow not in names:
            raise RequestValidationError(
                [
                    {
                        "loc": ("body", "workflow"),
                        "msg": f"workflow {body.workflow!r} is not registered; registered: {', '.join(sorted(names))}",
                        "type": "unknown_workflow",
                    }
                ]
            )
        record = FeedbackRecord(**body.model_dump(), source="http")
        return await asyncio.to_thread(feedback.append, record)

    @app.get(
        "/v1/workflows", response_model=WorkflowsResponse, dependencies=authed, responses=_responses(401, 429)
    )
    async def workflows() -> WorkflowsResponse:
        return WorkflowsResponse(workflows=backend.workflows())

    @app.get("/v1/stats", response_model=StatsResponse, dependencies=authed, responses=_responses(401, 429))
    async def stats() -> StatsResponse:
        data = await backend.stats()
        return StatsResponse(ingress={**dict(counters), "auth_enabled": auth.enabled}, **data)

    app.include_router(openai_router(backend, limits=limits, guard=guard, request_id=request_id))

    @app.get("/healthz", response_model=HealthResponse, summary="Liveness: this replica answers")
    async def healthz() -> HealthResponse:
        info = backend.health()
        return HealthResponse(
            status="ok" if info.get("using_phase_b", True) else "degraded",
            using_phase_b=bool(info.get("using_phase_b", True)),
            auth_enabled=auth.enabled,
            replica=dict(info.get("replica", {})),
        )

    @app.get(
        "/readyz",
        response_model=ReadyResponse,
        responses={503: {"model": ReadyResponse, "description": "Some deployment cannot serve"}},
        summary="Readiness: the router and every model deployment can serve",
    )
    async def readyz() -> JSONResponse:
        deployments = await backend.ready()
        ready = bool(deployments) and all(v == "ok" for v in deployments.values())
        body = ReadyResponse(status="ready" if ready else "not_ready", deployments=deployments)
        return JSONResponse(body.model_dump(), status_code=200 if ready else 503)

    return app
