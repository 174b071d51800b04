"""``Fetcher``: download a URL over HTTP(S) with timeouts, redirect and size limits and the SSRF guard.

Redirects are followed by hand (not by httpx) so that every hop is checked: scheme, address guard, and the
``max_redirects`` budget. Bodies are streamed and reading stops at ``max_bytes``. HTML is reduced to text with
:func:`mm_orch.tools.html_text.extract_html`; ``text/*``, JSON and XML bodies are decoded as text; anything else
is refused. Environment proxy variables are ignored (the guard must see the real peer address).

Each hop connects to the address the guard resolved and checked (:meth:`AddressGuard.resolve`), not to the
host name again: the URL's host is replaced by that address, the name travels in the ``Host`` header and as the
TLS server name (SNI, and the certificate is checked against it), so DNS rebinding between the check and the
connect cannot reach a private address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from mm_orch.exceptions import FetchBlockedError
from mm_orch.tools.address_guard import AddressGuard
from mm_orch.tools.config import FetchConfig
from mm_orch.tools.errors import FetchError
from mm_orch.tools.html_text import extract_html
from mm_orch.tools.types import FetchedDocument

__all__ = ["Fetcher"]

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_TEXT_TYPES = frozenset({"application/json", "application/xml", "application/ld+json"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class _Hop:
    """One request of a fetch: the URL to send (host replaced by the pinned address) and its extras."""

    url: str
    headers: dict[str, str]
    extensions: dict[str, Any]


def _pinned(url: str, host: str, address: str | None) -> _Hop:
    """``url`` sent to ``address`` (the checked IP) with ``host`` in the Host header and as TLS server name."""
    if address is None:
        return _Hop(url, {}, {})
    parts = urlsplit(url)
    literal = (
        f"[{address}]"
        if isinstance(ipaddress.ip_address(address.split("%", 1)[0]), ipaddress.IPv6Address)
        else address
    )
    named = f"[{host}]" if ":" in host else host
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    host_header = named if parts.port is None else f"{named}:{parts.port}"
    extensions: dict[str, Any] = {"sni_hostname": host} if parts.scheme == "https" else {}
    return _Hop(urlunsplit(parts._replace(netloc=netloc)), {"Host": host_header}, extensions)


@dataclass
class _Body:
    data: bytes
    truncated: bool


class Fetcher:
    """Fetch web pages as :class:`FetchedDocument`. Construction is cheap; each call opens its own client."""

    def __init__(self, config: FetchConfig | None = None) -> None:
        self.config = config or FetchConfig()
        self.guard = AddressGuard(self.config)
        c = self.config
        self._timeout = httpx.Timeout(connect=c.connect_timeout_s, read=c.read_timeout_s, write=10.0, pool=5.0)
        self._headers = {"User-Agent": c.user_agent, "Accept": "text/html,text/plain;q=0.9,*/*;q=0.5"}

    def warm_up(self) -> None:
        """Nothing to load; present so every tool can be warmed the same way."""

    # --- checks shared by the sync and async paths ---------------------------------------------------------------

    def _target(self, url: str) -> tuple[str, int]:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"}:
            raise FetchBlockedError(
                f"Refused to fetch {url!r}: scheme {parts.scheme!r} is not allowed; only 'http' and 'https' are."
            )
        if not parts.hostname:
            raise FetchBlockedError(f"Refused to fetch {url!r}: the URL has no host.")
        return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)

    def _check_peer(self, url: str, host: str, response: httpx.Response) -> None:
        stream = response.extensions.get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        if isinstance(peer, tuple) and peer:
            self.guard.check_ip(url, host, str(peer[0]))

    def _next_url(self, url: str, response: httpx.Response, hop: int) -> str | None:
        location = response.headers.get("location")
        if response.status_code not in _REDIRECTS or not location:
            return None
        if hop >= self.config.max_redirects:
            raise FetchBlockedError(
                f"Refused to fetch {url!r}: more than {self.config.max_redirects} redirects; "
                "raise fetch.max_redirects if this site needs more."
            )
        return urljoin(url, location)

    def _check_status(self, url: str, response: httpx.Response) -> None:
        if response.status_code >= 400 or response.status_code < 200:
            raise FetchError(
                f"Fetching {url!r} failed with HTTP {response.status_code}.",
                url=url,
                status_code=response.status_code,
            )
        declared = response.headers.get("content-length", "")
        if self.config.on_oversize == "error" and declared.isdigit() and int(declared) > self.config.max_bytes:
            raise self._oversize(url)

    def _oversize(self, url: str) -> FetchBlockedError:
        return FetchBlockedError(
            f"Refused to fetch {url!r}: body exceeds fetch.max_bytes ({self.config.max_bytes} bytes); raise "
            "fetch.max_bytes or set fetch.on_oversize: truncate."
        )

    def _accept_chunk(self, url: str, body: bytearray, chunk: bytes, deadline: float) -> bool:
        """Append ``chunk``; ``False`` when the size limit is reached (truncate mode)."""
        if time.monotonic() > deadline:
            raise FetchError(
                f"Fetching {url!r} took longer than fetch.total_timeout_s ({self.config.total_timeout_s} s).",
                url=url,
            )
        room = self.config.max_bytes - len(body)
        if len(chunk) > room:
            if self.config.on_oversize == "error":
                raise self._oversize(url)
            body.extend(chunk[:room])
            return False
        body.extend(chunk)
        return True

    def _document(self, url: str, final_url: str, response: httpx.Response, body: _Body) -> FetchedDocument:
        content_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        text_like = content_type.startswith("text/") or content_type in _TEXT_TYPES or not content_type
        if content_type not in _HTML_TYPES and not text_like:
            raise FetchError(
                f"Cannot read {final_url!r}: content type {content_type!r} is not HTML or text.",
                url=url,
                status_code=response.status_code,
            )
        decoded = body.data.decode(response.encoding or "utf-8", errors="replace")
        if content_type in _HTML_TYPES or (not content_type and "<html" in decoded[:2000].lower()):
            title, text = extract_html(decoded)
        else:
            title, text = "", decoded.strip()
        return FetchedDocument(
            url=url,
            final_url=final_url,
            title=title,
            text=text[: self.config.max_text_chars],
            status_code=response.status_code,
            content_type=content_type or "text/plain",
            bytes=len(body.data),
            truncated=body.truncated,
        )

    def _failed(self, url: str, err: httpx.HTTPError) -> FetchError:
        if isinstance(err, httpx.TimeoutException):
            return FetchError(
                f"Fetching {url!r} timed out ({type(err).__name__}); raise fetch.connect_timeout_s "
                f"({self.config.connect_timeout_s} s) or fetch.read_timeout_s ({self.config.read_timeout_s} s).",
                url=url,
            )
        return FetchError(f"Fetching {url!r} failed: {type(err).__name__}: {err}", url=url)

    # --- sync ----------------------------------------------------------------------------------------------------

    def fetch(self, url: str) -> FetchedDocument:
        """Fetch ``url`` and return its readable text. Raises FetchBlockedError (policy) or FetchError."""
        deadline = time.monotonic() + self.config.total_timeout_s
        current = url
        with httpx.Client(timeout=self._timeout, headers=self._headers, trust_env=False) as client:
            for hop in range(self.config.max_redirects + 1):
                host, port = self._target(current)
                sent = _pinned(current, host, self.guard.resolve(current, host, port))
                try:
                    with client.stream(
                        "GET", sent.url, headers=sent.headers, extensions=sent.extensions
                    ) as response:
                        self._check_peer(current, host, response)
                        nxt = self._next_url(current, response, hop)
                        if nxt is None:
                            self._check_status(current, response)
                            body = self._read(current, response.iter_bytes(), deadline)
                            return self._document(url, current, response, body)
                except httpx.HTTPError as err:
                    raise self._failed(current, err) from err
                current = nxt
        raise AssertionError("unreachable: _next_url raises past max_redirects")  # pragma: no cover

    def _read(self, url: str, chunks: Iterator[bytes], deadline: float) -> _Body:
        body = bytearray()
        for chunk in chunks:
            if not self._accept_chunk(url, body, chunk, deadline):
                return _Body(bytes(body), truncated=True)
        return _Body(bytes(body), truncated=False)

    # --- async ---------------------------------------------------------------------------------------------------

    async def afetch(self, url: str) -> FetchedDocument:
        """Async :meth:`fetch`, bounded by ``total_timeout_s`` as a whole."""
        try:
            return await asyncio.wait_for(self._afetch(url), timeout=self.config.total_timeout_s)
        except TimeoutError as err:
            raise FetchError(
                f"Fetching {url!r} took longer than fetch.total_timeout_s ({self.config.total_timeout_s} s).",
                url=url,
            ) from err

    async def _afetch(self, url: str) -> FetchedDocument:
        deadline = time.monotonic() + self.config.total_timeout_s
        current = url
        async with httpx.AsyncClient(timeout=self._timeout, headers=self._headers, trust_env=False) as client:
            for hop in range(self.config.max_redirects + 1):
                host, port = self._target(current)
                sent = _pinned(current, host, await self.guard.aresolve(current, host, port))
                try:
                    async with client.stream(
                        "GET", sent.url, headers=sent.headers, extensions=sent.extensions
                    ) as response:
                        self._check_peer(current, host, response)
                        nxt = self._next_url(current, response, hop)
                        if nxt is None:
                            self._check_status(current, response)
                            body = await self._aread(current, response.aiter_bytes(), deadline)
                            return self._document(url, current, response, body)
                except httpx.HTTPError as err:
                    raise self._failed(current, err) from err
                current = nxt
        raise AssertionError("unreachable: _next_url raises past max_redirects")  # pragma: no cover

    async def _aread(self, url: str, chunks: AsyncIterator[bytes], deadline: float) -> _Body:
        body = bytearray()
        async for chunk in chunks:
            if not self._accept_chunk(url, body, chunk, deadline):
                return _Body(bytes(body), truncated=True)
        return _Body(bytes(body), truncated=False)
