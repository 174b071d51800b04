"""ASGI middleware of the ingress: the request id (``X-Request-Id``) and the replica's HTTP counters.

Plain ASGI rather than ``@app.middleware("http")``: Starlette's BaseHTTPMiddleware wraps streaming responses
in its own task and memory stream, which delays Server-Sent Events and hides a client's disconnect from the
route; this middleware only decorates ``send``.
"""

from __future__ import annotations

import collections
import json
import re
import uuid
from typing import Any

from starlette.datastructures import MutableHeaders

__all__ = ["REQUEST_ID_HEADER", "RequestContextMiddleware", "valid_request_id"]

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")


def valid_request_id(value: str) -> bool:
    """1-128 characters of letters, digits and ``._:@/+=-`` (ids end up in logs, file names and traces)."""
    return bool(_REQUEST_ID.match(value))


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

        async def send_with_id(message: Any) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = str(state["request_id"])
                self._count(int(message["status"]))
            await send(message)

        await self.app(scope, receive, send_with_id)

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
