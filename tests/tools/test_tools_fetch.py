"""Fetcher against a real HTTP server on 127.0.0.1: extraction, redirects, limits, timeouts and the guard."""

from __future__ import annotations

import asyncio
import ipaddress
import time

import pytest

from mm_orch.exceptions import FetchBlockedError, ToolError
from mm_orch.tools import FetchConfig, Fetcher, FetchError, extract_html
from mm_orch.tools.address_guard import blocked_reason

LOOPBACK = FetchConfig(allow_private_addresses=True)


def fetcher(**kw: object) -> Fetcher:
    return Fetcher(FetchConfig(**{"allow_private_addresses": True, **kw}))  # type: ignore[arg-type]


def test_html_page_is_reduced_to_visible_text(http_server, page_html: bytes) -> None:  # type: ignore[no-untyped-def]
    doc = Fetcher(LOOPBACK).fetch(http_server.url("/page"))
    assert doc.title == "Local Test Page"
    assert doc.status_code == 200
    assert doc.content_type == "text/html"
    assert doc.text.startswith("Volcanoes\n\nA volcano is a rupture in the crust of a planetary-mass object.")
    assert "Etna\nVesuvius" in doc.text
    for boilerplate in ("secret", "color:red", "Home | About", "Site header", "Copyright footer"):
        assert boilerplate not in doc.text
    assert doc.bytes == len(page_html)
    assert doc.final_url == doc.url
    assert not doc.truncated


def test_plain_text_is_decoded(http_server) -> None:  # type: ignore[no-untyped-def]
    doc = Fetcher(LOOPBACK).fetch(http_server.url("/text"))
    assert (doc.text, doc.title, doc.content_type) == ("Plain text body, café.", "", "text/plain")


def test_redirect_is_followed_and_reported(http_server) -> None:  # type: ignore[no-untyped-def]
    doc = Fetcher(LOOPBACK).fetch(http_server.url("/redirect"))
    assert doc.url == http_server.url("/redirect")
    assert doc.final_url == http_server.url("/page")
    assert doc.title == "Local Test Page"


def test_redirect_limit(http_server) -> None:  # type: ignore[no-untyped-def]
    assert fetcher(max_redirects=3).fetch(http_server.url("/chain/2")).title == "Local Test Page"  # 3 hops
    with pytest.raises(FetchBlockedError, match=r"more than 3 redirects; raise fetch.max_redirects"):
        fetcher(max_redirects=3).fetch(http_server.url("/chain/3"))
    with pytest.raises(FetchBlockedError, match="more than 5 redirects"):
        fetcher().fetch(http_server.url("/redirect-loop"))


def test_oversize_body_is_truncated_by_default(http_server) -> None:  # type: ignore[no-untyped-def]
    doc = fetcher(max_bytes=100_000).fetch(http_server.url("/huge-nolength"))
    assert doc.truncated
    assert doc.bytes == 100_000
    assert doc.text == "y" * 100_000


def test_oversize_body_raises_in_error_mode(http_server) -> None:  # type: ignore[no-untyped-def]
    strict = fetcher(max_bytes=100_000, on_oversize="error")
    with pytest.raises(FetchBlockedError, match=r"exceeds fetch.max_bytes \(100000 bytes\)"):
        strict.fetch(http_server.url("/huge"))  # refused from Content-Length, before reading
    with pytest.raises(FetchBlockedError, match=r"exceeds fetch\.max_bytes"):
        strict.fetch(http_server.url("/huge-nolength"))  # no Content-Length: refused while streaming


def test_read_timeout(http_server) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"timed out .*fetch.read_timeout_s \(0.5 s\)"):
        fetcher(read_timeout_s=0.5).fetch(http_server.url("/slow"))
    assert time.monotonic() - started < 2.5  # the server answers after 3 s


def test_total_timeout_async(http_server) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FetchError, match=r"longer than fetch.total_timeout_s \(0.5 s\)"):
        asyncio.run(fetcher(total_timeout_s=0.5, read_timeout_s=10).afetch(http_server.url("/slow")))


def test_http_error_status(http_server) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FetchError, match="failed with HTTP 404") as info:
        fetcher().fetch(http_server.url("/missing"))
    assert info.value.status_code == 404
    assert info.value.url.endswith("/missing")


def test_binary_content_is_refused(http_server) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FetchError, match="content type 'image/png' is not HTML or text"):
        fetcher().fetch(http_server.url("/binary"))


def test_connection_refused_is_a_fetch_error() -> None:
    with pytest.raises(FetchError, match="failed: ConnectError"):
        fetcher().fetch("http://127.0.0.1:9/")  # discard port: nothing listens


# --- the guard ---------------------------------------------------------------------------------------------------


def test_loopback_is_refused_by_default(http_server) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FetchBlockedError, match=r"loopback address 127\.0\.0\.1.*fetch.allow_private_addresses"):
        Fetcher().fetch(http_server.url("/page"))
    with pytest.raises(FetchBlockedError, match="resolves to loopback address"):
        Fetcher().fetch(http_server.url("/page", host="localhost"))


def test_allowed_hosts_lets_named_hosts_and_networks_through(http_server) -> None:  # type: ignore[no-untyped-def]
    by_name = Fetcher(FetchConfig(allowed_hosts=["LOCALHOST"]))
    assert by_name.fetch(http_server.url("/page", host="localhost")).title == "Local Test Page"
    by_net = Fetcher(FetchConfig(allowed_hosts=["127.0.0.0/8"]))
    assert by_net.fetch(http_server.url("/page")).title == "Local Test Page"


def test_guard_is_checked_after_every_redirect(http_server) -> None:  # type: ignore[no-untyped-def]
    # localhost is allowed, but it redirects to 127.0.0.1, which is not
    only_localhost = Fetcher(FetchConfig(allowed_hosts=["localhost"]))
    target = f"127.0.0.1:{http_server.port}/page"
    with pytest.raises(FetchBlockedError, match=r"Refused to fetch 'http://127\.0\.0\.1:\d+/page'.*loopback"):
        only_localhost.fetch(http_server.url(f"/redirect-to/{target}", host="localhost"))


def test_async_fetch_applies_the_guard_and_extracts(http_server) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FetchBlockedError, match="loopback"):
        asyncio.run(Fetcher().afetch(http_server.url("/page")))
    doc = asyncio.run(Fetcher(LOOPBACK).afetch(http_server.url("/redirect")))
    assert doc.title == "Local Test Page"
    assert doc.final_url.endswith("/page")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x", "gopher://h/", "http:///nohost"])
def test_only_http_and_https(url: str) -> None:
    with pytest.raises(FetchBlockedError, match=r"is not allowed; only 'http' and 'https'|has no host"):
        fetcher().fetch(url)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("172.16.5.4", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata endpoint
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped IPv6
        ("100.64.0.1", "non-global"),  # carrier-grade NAT
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_blocked_reason(address: str, reason: str | None) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) == reason


def test_blocked_private_literal_ip_without_connecting() -> None:
    with pytest.raises(FetchBlockedError, match=r"link-local address 169\.254\.169\.254"):
        Fetcher().fetch("http://169.254.169.254/latest/meta-data/")


def test_fetch_errors_are_tool_errors() -> None:
    assert issubclass(FetchError, ToolError)
    assert issubclass(FetchBlockedError, ToolError)


def test_extract_html_edge_cases() -> None:
    assert extract_html("") == ("", "")
    title, text = extract_html('<html><head><meta property="og:title" content="OG"></head><body>x</body></html>')
    assert (title, text) == ("OG", "x")
    title, text = extract_html("<article><h1>Head</h1><p>a&nbsp;b   c</p></article><p>outside</p>")
    assert (title, text) == ("Head", "Head\n\na b c")
