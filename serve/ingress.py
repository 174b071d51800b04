"""The FastAPI ingress: routes, auth, limits and error mapping over an :class:`IngressBackend`.

``create_app(backend, ...)`` builds the ASGI app. Inside Serve the backend is the replica's orchestrator (see
``serve.app``); tests pass a fake backend and use FastAPI's TestClient, with no Ray at all.

Routes: POST /v1/answer (``?stream=true``: a typed event stream), POST /v1/route, GET /v1/workflows, GET
/v1/stats, POST /v1/feedback, the OpenAI-compatible POST /v1/chat/completions and GET /v1/models
(serve.openai_routes), GET /healthz (liveness) and GET /readyz (readiness: the router and model deployments can
serve). With API keys configured every path but ``open_paths`` (default: /healthz) needs one, /docs, /redoc and
/openapi.json included; serve.access checks it, and the rate and concurrency limits, before the body is read.
Errors are :class:`~serve.schemas.ErrorResponse` bodies, in OpenAI's shape on the OpenAI routes (serve.errors).
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any, Protocol

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mm_orch.exceptions import WorkflowNotFoundError
from mm_orch.observability.feedback import FeedbackRecord, FeedbackStore
from mm_orch.routing import RoutingDecision
from mm_orch.schemas import UserRequest, WorkflowResult
from serve.access import AccessControl, scope_session
from serve.auth import ApiKeyAuth, BodySizeLimit
from serve.config import LimitsConfig
from serve.errors import ApiError, from_exception, install_error_handlers
from serve.middleware import RequestContextMiddleware
from serve.openai_routes import openai_router
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
#: The bearer scheme in OpenAPI (the "Authorize" button of /docs); serve.access does the checking.
BEARER = HTTPBearer(auto_error=False, description="Authorization: Bearer <api key> (when keys are configured)")


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
        400: "The body is not UTF-8 JSON, or is nested too deeply (the message says what to fix)",
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
    api_keys_file: str | None = None,
    open_paths: Sequence[str] = ("/healthz",),
) -> FastAPI:
    """The ingress ASGI app over ``backend``; ``api_keys`` empty or None (and no ``api_keys_file``) disables auth
    (logged); ``open_paths`` need no key; ``feedback`` stores POST /v1/feedback (None: that route answers 503)."""
    limits = limits or LimitsConfig()
    auth = ApiKeyAuth(api_keys or [], key_file=api_keys_file)
    counters: collections.Counter[str] = collections.Counter()
    app = FastAPI(
        title="mm-orch",
        version=API_VERSION,
        description="Multi-model question answering: routing, workflow graphs and traced runs; OpenAI-compatible "
        "chat completions.",
    )
    app.add_middleware(BodySizeLimit, max_bytes=limits.max_body_bytes)
    app.add_middleware(AccessControl, auth=auth, limits=limits, open_paths=open_paths)  # before any body byte
    app.add_middleware(RequestContextMiddleware, counters=counters)  # outermost: every response gets the id
    install_error_handlers(app)

    async def guard(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)] = None) -> None:
        """Declares the bearer scheme in OpenAPI; AccessControl has checked the key and limits already."""

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
            **_responses(400, 401, 404, 413, 422, 429, 500, 503, 504),
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
        req = scope_session(with_request_id(check_query(req), request), getattr(request.state, "principal", None))
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
        responses=_responses(400, 401, 404, 413, 422, 429, 500, 503),
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
        try:
            return await backend.route(req)
        except Exception as exc:  # the router deployment failing is a JSON 503/500 like /v1/answer's
            raise from_exception(exc, request_id=req.request_id) from exc

    @app.post(
        "/v1/feedback",
        response_model=FeedbackRecord,
        status_code=201,
        dependencies=authed,
        responses=_responses(400, 401, 413, 422, 429, 503),
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

    @app.get(
        "/v1/stats", response_model=StatsResponse, dependencies=authed, responses=_responses(401, 429, 500, 503)
    )
    async def stats(request: Request) -> StatsResponse:
        try:
            data = await backend.stats()
        except Exception as exc:  # a JSON 503/500 like /v1/answer's, not Starlette's plain-text 500
            raise from_exception(exc, request_id=request_id(request)) from exc
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
        responses={
            503: {"model": ReadyResponse, "description": "Some deployment cannot serve"},
            **_responses(401),
        },
        summary="Readiness: the router and every model deployment can serve",
    )
    async def readyz() -> JSONResponse:
        deployments = await backend.ready()
        ready = bool(deployments) and all(v == "ok" for v in deployments.values())
        body = ReadyResponse(status="ready" if ready else "not_ready", deployments=deployments)
        return JSONResponse(body.model_dump(), status_code=200 if ready else 503)

    return app
