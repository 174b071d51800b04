"""Bearer API-key authentication and the request-body size limit of the ingress."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Sequence
from typing import Any

__all__ = ["ApiKeyAuth", "BodySizeLimit"]

log = logging.getLogger(__name__)


class ApiKeyAuth:
    """Checks ``Authorization: Bearer <key>`` against the accepted keys (constant-time compare).

    With no key configured it accepts everything and says so once in the log, for local use.
    """

    def __init__(self, keys: Sequence[str]) -> None:
        self._keys = [k.encode() for k in keys if k]
        if not self._keys:
            log.warning("mm-orch ingress: no API keys configured; authentication is DISABLED (local use only)")

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def check(self, authorization: str | None) -> str | None:
        """None when the header is acceptable, else the reason it is not."""
        if not self._keys:
            return None
        if not authorization:
            return "missing Authorization header; send 'Authorization: Bearer <api key>'"
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return f"Authorization scheme {scheme!r} is not supported; send 'Authorization: Bearer <api key>'"
        candidate = token.strip().encode()
        # Compare against every key so the time taken does not reveal which (if any) matched.
        matched = False
        for key in self._keys:
            matched |= hmac.compare_digest(candidate, key)
        return None if matched else "the API key is not valid; check the key or ask for a new one"


class BodySizeLimit:
    """ASGI middleware answering 413 when a request body exceeds ``max_bytes``.

    Starlette and FastAPI have no body-size option, so this checks Content-Length up front and counts the
    streamed bytes for chunked bodies.
    """

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._reject(scope, send, int(value))
                return
        seen = 0
        rejected = False

        async def counted_receive() -> Any:
            # Past the limit: answer 413 now and tell the app the client left, so it stops reading.
            nonlocal seen, rejected
            if rejected:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    rejected = True
                    await self._reject(scope, send, seen)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Any) -> None:
            if not rejected:  # the 413 already went out; drop whatever the app answers after it
                await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not rejected:
                raise

    async def _reject(self, scope: dict[str, Any], send: Any, size: int) -> None:
        from serve.errors import ApiError, error_payload

        error = ApiError(
            413,
            "payload_too_large",
            f"request body is {size} bytes or more; the limit is {self.max_bytes} bytes "
            "(limits.max_body_bytes in the Serve config). Send a shorter request.",
        )
        body = json.dumps(error_payload(str(scope.get("path", "")), error)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
