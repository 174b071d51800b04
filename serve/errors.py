"""Errors of the HTTP API, in two shapes: mm-orch's :class:`~serve.schemas.ErrorResponse` on its own routes and
OpenAI's ``{"error": {message, type, param, code}}`` on the OpenAI-compatible ones (/v1/chat/completions,
/v1/models), so the official SDK raises its typed exceptions (AuthenticationError, NotFoundError, ...).

One :class:`ApiError` carries status, code and message; :func:`error_payload` renders it for the route that
failed; :func:`from_exception` maps what the backend raised (unknown workflow, model unavailable, time-out,
anything else) to the right status, with the trace id in 500 messages.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from mm_orch.exceptions import MMOrchError, ModelUnavailableError, WorkflowNotFoundError
from serve.openai_schemas import OpenAIError, OpenAIErrorBody
from serve.schemas import ErrorResponse, FieldError

__all__ = [
    "OPENAI_PREFIXES",
    "ApiError",
    "error_payload",
    "from_exception",
    "from_http_exception",
    "install_error_handlers",
    "is_openai",
]

log = logging.getLogger(__name__)

#: Route prefixes whose errors use OpenAI's shape.
OPENAI_PREFIXES = ("/v1/chat/", "/v1/models")

_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    503: "service_unavailable_error",
    504: "timeout_error",
}
# mm-orch codes whose OpenAI name differs.
_OPENAI_CODES = {"unauthorized": "invalid_api_key", "workflow_not_found": "model_not_found"}
# FastAPI's 400 for a body json.loads refused with something other than a JSONDecodeError: bytes that are not
# UTF-8 (UnicodeDecodeError) or nesting deeper than the parser's recursion limit (RecursionError).
_FASTAPI_BODY_ERROR = "There was an error parsing the body"
# Ray Serve raises these (by name, to keep ray out of the import) when a deployment cannot take the request.
_UNAVAILABLE = {
    "DeploymentUnavailableError",
    "BackPressureError",
    "ActorDiedError",
    "RayActorError",
    "ActorUnavailableError",
}


def is_openai(path: str) -> bool:
    return path.startswith(OPENAI_PREFIXES)


class ApiError(MMOrchError):
    """An HTTP error: status, stable code, a message that says how to fix it, and details."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        options: list[str] | None = None,
        fields: list[FieldError] | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.options = list(options or [])
        self.fields = list(fields or [])
        self.param = param
        self.headers = dict(headers or {})
        if status == 401:
            self.headers.setdefault("WWW-Authenticate", "Bearer")

    @property
    def body(self) -> ErrorResponse:
        """The mm-orch shape."""
        return ErrorResponse(error=self.code, message=self.message, fields=self.fields, options=self.options)

    def openai_body(self) -> OpenAIError:
        """The OpenAI shape."""
        kind = _OPENAI_TYPES.get(self.status, "server_error" if self.status >= 500 else "invalid_request_error")
        code = _OPENAI_CODES.get(self.code, self.code)
        return OpenAIError(error=OpenAIErrorBody(message=self.message, type=kind, param=self.param, code=code))


def error_payload(path: str, error: ApiError) -> dict[str, Any]:
    """The JSON body of ``error`` in the shape of the route at ``path``."""
    return error.openai_body().model_dump() if is_openai(path) else error.body.model_dump()


def _response(request: Request, error: ApiError) -> JSONResponse:
    return JSONResponse(error_payload(request.url.path, error), status_code=error.status, headers=error.headers)


def validation_error(path: str, errors: list[dict[str, Any]]) -> ApiError:
    """422 (mm-orch routes) or 400 (OpenAI routes, as OpenAI answers) naming every invalid field."""
    fields = [
        FieldError(
            field=".".join(str(p) for p in e.get("loc", ())), message=e.get("msg", ""), type=e.get("type", "")
        )
        for e in errors
    ]
    names = ", ".join(f.field for f in fields)
    if is_openai(path):
        first = fields[0] if fields else None
        detail = "; ".join(f"{f.field}: {f.message}" for f in fields)
        param = first.field.removeprefix("body.") if first else None
        return ApiError(400, "invalid_request", f"invalid request: {detail}", fields=fields, param=param)
    return ApiError(
        422,
        "validation_error",
        f"invalid request: {names}; see the fields list and the OpenAPI schema at /docs",
        fields=fields,
    )


def from_exception(exc: BaseException, *, request_id: str, workflows: list[str] | None = None) -> ApiError:
    """The ApiError for what a request raised: 404 unknown workflow, 503 a model or deployment that cannot
    serve, 504 time-out, else 500 naming the trace id to look up."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, WorkflowNotFoundError):
        names = sorted(workflows or [])
        message = str(exc)
        if "registered workflows" not in message:
            message += f"; registered workflows: {', '.join(names)}"
        message += ". Leave 'workflow' out (model 'mm-orch' on /v1/chat/completions) to let the router choose."
        return ApiError(404, "workflow_not_found", message, options=names, param="model")
    trace_id = _trace_id(exc)
    unavailable = _unavailable(exc)
    if unavailable is not None:
        trace = f"; trace id {trace_id}" if trace_id else ""
        return ApiError(
            503,
            "service_unavailable",
            f"a model deployment cannot serve right now ({type(unavailable).__name__}: {unavailable}); retry "
            f"shortly, and check GET /readyz and the Serve status (`serve status`){trace}; request id "
            f"{request_id}",
            headers={"Retry-After": "5"},
        )
    log.error("request %s failed (trace %s)", request_id, trace_id, exc_info=exc)
    where = (
        f"trace id {trace_id} (POST /v1/feedback takes it; the trace is in this replica's trace folder)"
        if trace_id
        else "no trace was written"
    )
    return ApiError(
        500,
        "workflow_failed",
        f"the request failed: {type(exc).__name__}: {exc}; {where}; request id {request_id} (search the "
        "replica log for it)",
    )


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from (``__cause__``/``__context__``), innermost last."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 20:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _unavailable(exc: BaseException) -> BaseException | None:
    """The model-unavailable error ``exc`` is, or was raised from (a run that failed because a deployment died
    fails with the executor's error, whose cause says so)."""
    for item in _chain(exc):
        if isinstance(item, ModelUnavailableError) or type(item).__name__ in _UNAVAILABLE:
            return item
    return None


def _trace_id(exc: BaseException) -> str | None:
    return next((str(t) for t in (getattr(e, "trace_id", None) for e in _chain(exc)) if t), None)


def install_error_handlers(app: FastAPI) -> None:
    """Render ApiError, validation errors and Starlette's HTTP errors in the failing route's shape."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _response(request, validation_error(request.url.path, list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _response(request, from_http_exception(request.method, request.url.path, exc))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Last resort (routes map their own failures): JSON, not Starlette's plain-text "Internal Server Error".
        rid = str(getattr(request.state, "request_id", "") or "")
        return _response(request, from_exception(exc, request_id=rid))


def from_http_exception(method: str, path: str, exc: StarletteHTTPException) -> ApiError:
    """Starlette's and FastAPI's own HTTP errors as ApiErrors whose messages say what to fix (405 keeps Allow)."""
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        return ApiError(
            404, "not_found", f"no route {path}; the routes are listed at /docs and /openapi.json", headers=headers
        )
    if exc.status_code == 405:
        allowed = headers.get("Allow") or headers.get("allow") or "?"
        return ApiError(
            405, "method_not_allowed", f"{method} is not allowed on {path}; use {allowed}", headers=headers
        )
    if exc.status_code == 400 and exc.detail == _FASTAPI_BODY_ERROR:
        return ApiError(
            400,
            "invalid_body",
            "the request body could not be read as JSON: send UTF-8 encoded JSON (no other encoding, "
            "nested at most a few hundred levels deep) with Content-Type: application/json",
            headers=headers,
        )
    return ApiError(exc.status_code, "http_error", str(exc.detail), headers=headers)
