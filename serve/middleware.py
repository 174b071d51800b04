"""ASGI middleware of the ingress: the request id (``X-Request-Id``), the replica's HTTP counters and the
``mm_orch_request_duration_seconds`` metric (endpoint, workflow, outcome; timed to the response's last byte).

Plain ASGI rather than ``@app.middleware("http")``: Starlette's BaseHTTPMiddleware wraps streaming responses
in its own task and memory stream, which delays Server-Sent Events and hides a client's disconnect from the
route; this middleware only decorates ``send``.
"""

from __future__ import annotations

import asyncio
import collections
import json
import re
import time
import uuid
from typing import Any
from urllib.parse import quote

from starlette.datastructures import MutableHeaders

from mm_orch.observability import metrics

__all__ = [
    "REQUEST_ID_HEADER",
    "RequestContextMiddleware",
    "header_request_id",
    "request_outcome",
    "valid_request_id",
]

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
#: path -> the ``endpoint`` label (a closed set: any other path is ``other``).
_ENDPOINTS = {
    "/v1/answer": "answer",
    "/v1/route": "route",
    "/v1/chat/completions": "chat_completions",
    "/v1/feedback": "feedback",
    "/v1/models": "models",
    "/v1/workflows": "workflows",
    "/v1/stats": "stats",
    "/healthz": "healthz",
    "/readyz": "readyz",
}


def request_outcome(status: int, run: Any) -> str:
    """The ``outcome`` label of a response: its status, and for a streamed run that ended in an error event
    (status 200 already sent) ``error``."""
    if status == 504:
        return "timeout"
    if status in (429, 503):
        return "rejected"
    if status >= 500:
        return "error"
    if status >= 400:
        return "client_error"
    if run is not None and getattr(run, "result", None) is None:
        return "error"
    return "success"


def valid_request_id(value: str) -> bool:
    """1-128 characters of letters, digits and ``._:@/+=-`` (ids end up in logs, file names and traces)."""
    return bool(_REQUEST_ID.match(value))


def header_request_id(value: str) -> str:
    """``value`` as it can stand in the ``X-Request-Id`` response header: unchanged when it is a valid header id,
    else percent-encoded as UTF-8 (a body's ``request_id`` may hold any printable text, and header values are
    latin-1: echoing ``"req-é"`` or ``"问题"`` raw failed the whole response with a 500)."""
    return value if valid_request_id(value) else quote(value, safe="._:@/+=-")


class RequestContextMiddleware:
    """Gives each request an id (the client's ``X-Request-Id`` when valid, else a new one), keeps it in
    ``request.state.request_id`` (a route may replace it, e.g. with the body's ``request_id``), echoes it in the
    response's ``X-Request-Id``, and counts responses by status."""

    def __init__(self, app: Any, counters: collections.Counter[str]) -> None:
        self.app = app
        self.counters = counters

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"x-request-id"), None)
        state = scope.setdefault("state", {})
        if given is not None and not valid_request_id(given):
            await self._reject(scope, send, given)
            return
        state["request_id"] = given or uuid.uuid4().hex
        state["request_id_given"] = given is not None
        started, status = time.perf_counter(), 0

        async def send_with_id(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = header_request_id(str(state["request_id"]))
                status = int(message["status"])
                self._count(status)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except asyncio.CancelledError:  # the client went away mid-request
            self._observe(scope, state, started, "cancelled")
            raise
        except Exception:
            self._observe(scope, state, started, "error")
            raise
        self._observe(scope, state, started, request_outcome(status, state.get("run")))

    @staticmethod
    def _observe(scope: dict[str, Any], state: dict[str, Any], started: float, outcome: str) -> None:
        # A route that runs a workflow leaves its StreamedRun in request.state.run (the result names the workflow).
        run = state.get("run")
        result = getattr(run, "result", None)
        workflow = (
            result.workflow if result is not None else getattr(getattr(run, "request", None), "workflow", None)
        )
        endpoint = _ENDPOINTS.get(str(scope.get("path", "")).rstrip("/") or "/", "other")
        metrics.record_request(endpoint, workflow or "none", outcome, time.perf_counter() - started)

    def _count(self, status: int) -> None:
        self.counters["requests"] += 1
        if status >= 400:
            self.counters[f"status_{status}"] += 1

    async def _reject(self, scope: dict[str, Any], send: Any, given: str) -> None:
        from serve.errors import ApiError, error_payload

        error = ApiError(
            400,
            "invalid_request_id",
            f"X-Request-Id {given[:80]!r} is not a valid request id; send 1-128 characters of letters, digits and "
            "._:@/+=- (or leave the header out and one is made up)",
            param="X-Request-Id",
        )
        body = json.dumps(error_payload(str(scope.get("path", "")), error)).encode()
        self._count(400)
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
