"""Access control of the ingress, before any byte of the body is read: API key, rate and concurrency limits.

Plain ASGI middleware rather than a FastAPI dependency: FastAPI parses and validates the body before it runs a
route's dependencies, so an unauthenticated client would get 413/422/400 parser feedback instead of 401, and a
client over its limits would still cost a parse. Here the request is refused from its headers alone, on every
path (the API, ``/docs``, ``/redoc``, ``/openapi.json``, unknown paths) except ``auth.open_paths`` (liveness,
``/healthz``, by default).

Per client (the API key's :meth:`~serve.auth.ApiKeyAuth.principal`, or the client address while auth is off):
``limits.requests_per_minute`` (token bucket, :class:`~serve.ratelimit.RateLimiter`) and
``limits.max_concurrent_per_client`` requests in flight (a streamed answer counts until its last byte). Both
answer 429 with ``Retry-After``. The principal is left in ``request.state.principal`` for the routes (session
scoping).
"""

from __future__ import annotations

import collections
import json
import threading
from collections.abc import Iterable
from typing import Any

from mm_orch.schemas import UserRequest
from serve.auth import ApiKeyAuth
from serve.config import LimitsConfig
from serve.errors import ApiError, error_payload
from serve.ratelimit import RateLimiter

__all__ = ["AccessControl", "ConcurrencyLimiter", "client_of", "scope_session"]


class ConcurrencyLimiter:
    """At most ``limit`` requests in flight per client; ``acquire`` is False when the client is at its limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._active: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def acquire(self, client: str) -> bool:
        with self._lock:
            if self._active[client] >= self.limit:
                return False
            self._active[client] += 1
            return True

    def release(self, client: str) -> None:
        with self._lock:
            self._active[client] -= 1
            if self._active[client] <= 0:
                del self._active[client]

    def active(self, client: str) -> int:
        with self._lock:
            return self._active.get(client, 0)


def client_of(principal: str | None, scope: dict[str, Any]) -> str:
    """The name limits count under: the key's principal, else the client address."""
    if principal is not None:
        return principal
    address = scope.get("client")
    return f"addr:{address[0] if address else '?'}"


class AccessControl:
    """Refuses a request from its headers: 401 (key), 429 (rate, concurrency); see the module docstring."""

    def __init__(
        self,
        app: Any,
        *,
        auth: ApiKeyAuth,
        limits: LimitsConfig,
        open_paths: Iterable[str] = ("/healthz",),
    ) -> None:
        self.app = app
        self.auth = auth
        self.limits = limits
        self.open_paths = frozenset(open_paths)
        rpm = limits.requests_per_minute
        self.rate = RateLimiter(rpm, limits.burst) if rpm else None
        cap = limits.max_concurrent_per_client
        self.concurrency = ConcurrencyLimiter(cap) if cap else None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("path") in self.open_paths:
            await self.app(scope, receive, send)
            return
        header = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"authorization"), None)
        principal, problem = self.auth.identify(header)
        if problem is not None:
            await _reject(scope, send, ApiError(401, "unauthorized", problem))
            return
        client = client_of(principal, scope)
        if self.rate is not None:
            wait = self.rate.check(RateLimiter.client_key(client, None))
            if wait is not None:
                error = ApiError(
                    429,
                    "rate_limit_exceeded",
                    f"more than {self.limits.requests_per_minute:g} requests per minute from this client "
                    f"(limits.requests_per_minute); retry in {wait:.1f} s",
                    headers={"Retry-After": str(max(1, round(wait + 0.5)))},
                )
                await _reject(scope, send, error)
                return
        scope.setdefault("state", {})["principal"] = principal
        if self.concurrency is None:
            await self.app(scope, receive, send)
            return
        if not self.concurrency.acquire(client):
            error = ApiError(
                429,
                "too_many_concurrent_requests",
                f"this client already has {self.concurrency.limit} requests in flight "
                "(limits.max_concurrent_per_client); wait for one to finish, then retry",
                headers={"Retry-After": "1"},
            )
            await _reject(scope, send, error)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.concurrency.release(client)


async def _reject(scope: dict[str, Any], send: Any, error: ApiError) -> None:
    body = json.dumps(error_payload(str(scope.get("path", "")), error)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in error.headers.items()]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def scope_session(request: UserRequest, principal: str | None) -> UserRequest:
    """The request with its session id scoped to the caller's key (``<principal>/<session id>``), so one key can
    neither read nor extend another key's session of the same name. Unchanged while auth is off."""
    if principal is None or request.session_id is None:
        return request
    return request.model_copy(update={"session_id": f"{principal}/{request.session_id}"})
