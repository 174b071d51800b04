"""Bearer API-key authentication and the request-body size limit of the ingress."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mm_orch.exceptions import ConfigError

__all__ = ["ApiKeyAuth", "BodySizeLimit"]

log = logging.getLogger(__name__)


class ApiKeyAuth:
    """Checks ``Authorization: Bearer <key>`` against the accepted keys (constant-time compare).

    Keys come from ``keys`` and, when ``key_file`` is set, from that file (one key per line, ``#`` comments):
    the file is re-read when it changes (checked at most every ``reload_interval_s``), so keys rotate without a
    restart. A configured key file turns auth on even while it holds no key (every request is refused: fail
    closed). With neither it accepts everything and says so once in the log, for local use. Keys never reach a
    log line, an error body or a trace: a caller is known by :meth:`principal`, a short hash of its key.
    """

    def __init__(
        self,
        keys: Sequence[str],
        *,
        key_file: str | Path | None = None,
        reload_interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._static = [k.encode() for k in keys if k]
        self.key_file = Path(key_file) if key_file is not None else None
        self.reload_interval_s = reload_interval_s
        self._now = clock
        self._from_file: list[bytes] = []
        self._file_stamp: tuple[int, int] | None = None
        self._checked_at = -float("inf")
        self._lock = threading.Lock()
        if self.key_file is not None:
            if not self.key_file.is_file():
                raise ConfigError(
                    f"API key file {self.key_file} does not exist; create it (one key per line) or leave "
                    "auth.api_keys_file out"
                )
            self._reload(force=True)
        elif not self._static:
            log.warning("mm-orch ingress: no API keys configured; authentication is DISABLED (local use only)")

    @property
    def enabled(self) -> bool:
        return bool(self._static) or self.key_file is not None

    def _reload(self, *, force: bool = False) -> None:
        """Re-read the key file when its size or modification time changed (a missing or unreadable file keeps
        the keys last read, and is logged)."""
        assert self.key_file is not None
        now = self._now()
        with self._lock:
            if not force and now - self._checked_at < self.reload_interval_s:
                return
            self._checked_at = now
            try:
                stat = self.key_file.stat()
                stamp = (stat.st_mtime_ns, stat.st_size)
                if stamp == self._file_stamp:
                    return
                lines = self.key_file.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                log.error("API key file %s cannot be read (%s); keeping the keys read before", self.key_file, exc)
                return
            keys = [ln.strip().encode() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
            changed = self._file_stamp is not None
            self._from_file, self._file_stamp = keys, stamp
        log.log(
            logging.INFO if keys else logging.ERROR,
            "API key file %s %s: %d key(s)%s",
            self.key_file,
            "re-read" if changed else "read",
            len(keys),
            "" if keys else "; every request is refused until it holds one",
        )

    def _keys(self) -> list[bytes]:
        if self.key_file is not None:
            self._reload()
        return [*self._static, *self._from_file]

    @staticmethod
    def principal(key: str) -> str:
        """The caller's name in logs, limits and session scopes: a hash of its key, never the key."""
        return "key-" + hashlib.blake2b(key.encode(), digest_size=8, person=b"mm-orch-key").hexdigest()

    def identify(self, authorization: str | None) -> tuple[str | None, str | None]:
        """``(principal, None)`` for an accepted key (principal None while auth is off), else ``(None, reason)``."""
        if not self.enabled:
            return None, None
        if not authorization:
            return None, "missing Authorization header; send 'Authorization: Bearer <api key>'"
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            shown = scheme[:20] if scheme.isascii() and scheme.isprintable() else "?"
            return None, f"Authorization scheme {shown!r} is not supported; send 'Authorization: Bearer <api key>'"
        candidate = token.strip().encode("latin-1", "replace")  # the header bytes, as Starlette decoded them
        # Compare against every key so the time taken does not reveal which (if any) matched.
        matched = False
        for key in self._keys():
            matched |= hmac.compare_digest(candidate, key)
        if not matched:
            return None, "the API key is not valid; check the key or ask for a new one"
        return self.principal(token.strip()), None

    def check(self, authorization: str | None) -> str | None:
        """None when the header is acceptable, else the reason it is not."""
        return self.identify(authorization)[1]


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
