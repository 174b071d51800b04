"""The FastAPI ingress: routes, auth, limits and error mapping over an :class:`IngressBackend`.

``create_app(backend, ...)`` builds the ASGI app. Inside Serve the backend is the replica's orchestrator (see
``serve.app``); tests pass a fake backend and use FastAPI's TestClient, with no Ray at all.

Routes: POST /v1/answer, POST /v1/route, GET /v1/workflows, GET /v1/stats (bearer API key when configured),
GET /healthz (always open). Every error body is an :class:`~serve.schemas.ErrorResponse`.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from typing import Annotated, Any, Protocol

from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from mm_orch.exceptions import WorkflowNotFoundError
from mm_orch.routing import RoutingDecision
from mm_orch.schemas import UserRequest, WorkflowResult
from serve.auth import ApiKeyAuth, BodySizeLimit
from serve.config import LimitsConfig
from serve.schemas import ErrorResponse, FieldError, HealthResponse, StatsResponse, WorkflowInfo, WorkflowsResponse

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


class ApiError(Exception):
    """An error with an HTTP status and an ErrorResponse body."""

    def __init__(self, status: int, code: str, message: str, *, options: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = ErrorResponse(error=code, message=message, options=options or [])


def _responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {
        401: "Missing or invalid API key",
        404: "Unknown workflow (the body lists the registered ones)",
        413: "Request body too large",
        422: "Invalid request body (the body names each invalid field)",
        500: "The workflow failed",
        504: "The request ran past limits.request_timeout_s",
    }
    return {c: {"model": ErrorResponse, "description": text[c]} for c in codes}


def create_app(
    backend: IngressBackend, *, api_keys: list[str] | None = None, limits: LimitsConfig | None = None
) -> FastAPI:
    """The ingress ASGI app over ``backend``; ``api_keys`` empty or None disables auth (logged)."""
    limits = limits or LimitsConfig()
    auth = ApiKeyAuth(api_keys or [])
    counters: collections.Counter[str] = collections.Counter()
    app = FastAPI(
        title="mm-orch",
        version=API_VERSION,
        description="Multi-model question answering: routing, workflow graphs and traced runs.",
    )
    app.add_middleware(BodySizeLimit, max_bytes=limits.max_body_bytes)

    def require_key(authorization: Annotated[str | None, Header()] = None) -> None:
        problem = auth.check(authorization)
        if problem is not None:
            raise ApiError(401, "unauthorized", problem)

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

    @app.middleware("http")
    async def count(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        counters["requests"] += 1
        if response.status_code >= 400:
            counters[f"status_{response.status_code}"] += 1
        return response

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(exc.body.model_dump(), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [
            FieldError(
                field=".".join(str(p) for p in e.get("loc", ())), message=e.get("msg", ""), type=e.get("type", "")
            )
            for e in exc.errors()
        ]
        names = ", ".join(f.field for f in fields)
        body = ErrorResponse(
            error="validation_error",
            message=f"invalid request: {names}; see the fields list and the OpenAPI schema at /docs",
            fields=fields,
        )
        return JSONResponse(body.model_dump(), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        body = ErrorResponse(error=code, message=str(exc.detail))
        return JSONResponse(body.model_dump(), status_code=exc.status_code)

    authed = [Depends(require_key)]

    @app.post(
        "/v1/answer",
        response_model=WorkflowResult,
        dependencies=authed,
        responses=_responses(401, 404, 413, 422, 500, 504),
        summary="Route a question and run its workflow",
    )
    async def answer(req: UserRequest) -> WorkflowResult:
        check_query(req)
        try:
            return await asyncio.wait_for(backend.answer(req), timeout=limits.request_timeout_s)
        except TimeoutError:
            raise ApiError(
                504,
                "timeout",
                f"the request ran past {limits.request_timeout_s} s (limits.request_timeout_s); retry, or pick "
                "a faster workflow such as 'search_qa_fast'",
            ) from None
        except WorkflowNotFoundError as exc:
            raise _not_found(exc, backend) from None
        except Exception as exc:  # reported as a 500 ErrorResponse, logged with its traceback
            log.exception("request %s failed", req.request_id)
            raise ApiError(
                500,
                "workflow_failed",
                f"the request failed: {type(exc).__name__}: {exc}; the trace (if any) and the replica log have details",
            ) from None

    @app.post(
        "/v1/route",
        response_model=RoutingDecision,
        dependencies=authed,
        responses=_responses(401, 404, 413, 422),
        summary="The routing decision only (nothing runs)",
    )
    async def route(req: UserRequest) -> RoutingDecision:
        check_query(req)
        if req.workflow is not None and req.workflow not in {w.name for w in backend.workflows()}:
            raise _not_found(WorkflowNotFoundError(f"workflow {req.workflow!r} is not registered"), backend)
        return await backend.route(req)

    @app.get("/v1/workflows", response_model=WorkflowsResponse, dependencies=authed, responses=_responses(401))
    async def workflows() -> WorkflowsResponse:
        return WorkflowsResponse(workflows=backend.workflows())

    @app.get("/v1/stats", response_model=StatsResponse, dependencies=authed, responses=_responses(401))
    async def stats() -> StatsResponse:
        data = await backend.stats()
        return StatsResponse(ingress={**dict(counters), "auth_enabled": auth.enabled}, **data)

    @app.get("/healthz", response_model=HealthResponse)
    async def healthz() -> HealthResponse:
        info = backend.health()
        return HealthResponse(
            status="ok" if info.get("using_phase_b", True) else "degraded",
            using_phase_b=bool(info.get("using_phase_b", True)),
            auth_enabled=auth.enabled,
            replica=dict(info.get("replica", {})),
        )

    return app


def _not_found(exc: WorkflowNotFoundError, backend: IngressBackend) -> ApiError:
    names = sorted(w.name for w in backend.workflows())
    message = str(exc)
    if "registered workflows" not in message:
        message += f"; registered workflows: {', '.join(names)}"
    return ApiError(
        404, "workflow_not_found", f"{message} Leave 'workflow' out to let the router choose.", options=names
    )
