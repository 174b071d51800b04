"""Per-client request rate limit of an ingress replica (429 with Retry-After past it).

A token bucket per client (the API key, or the client address when auth is off): ``requests_per_minute``
tokens refill per minute, up to ``burst``. Hand-written because it is a dozen lines; the libraries for it
(``limits``, ``slowapi``) bring storage back-ends and decorators this app does not use. The limit holds per
replica: with N ingress replicas a client gets up to N times the rate (Serve spreads requests over them).
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["RateLimiter"]

_MAX_CLIENTS = 10_000  # buckets kept; the least recently seen client is forgotten beyond this


class RateLimiter:
    """``check(client)`` -> None when allowed, else the seconds to wait before retrying."""

    def __init__(
        self, requests_per_minute: float, burst: int | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = requests_per_minute / 60.0
        self.burst = float(burst if burst is not None else max(1, math.ceil(requests_per_minute / 6)))
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client -> (tokens, at)
        self._lock = threading.Lock()
        self._now = clock

    @staticmethod
    def client_key(api_key: str | None, address: str | None) -> str:
        """A bucket name that does not keep the API key itself in memory."""
        raw = f"key:{api_key}" if api_key else f"addr:{address or '?'}"
        return hashlib.blake2b(raw.encode(), digest_size=12).hexdigest()

    def check(self, client: str) -> float | None:
        now = self._now()
        with self._lock:
            tokens, at = self._buckets.pop(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                allowed = True
            else:
                self._buckets[client] = (tokens, now)
                allowed = False
            while len(self._buckets) > _MAX_CLIENTS:
                self._buckets.popitem(last=False)
        return None if allowed else (1.0 - tokens) / self.rate
