"""SSRF protection of the fetch tool against real HTTP servers on loopback (no other address is ever contacted).

Two servers share one port: a stand-in for a public site on 127.0.0.2 (let through by ``allowed_hosts``) and an
"internal" service on 127.0.0.1 (refused, like any loopback, private or link-local target). Each records the
requests it got, so a test proves not only that the fetch was refused but that the internal service was never
reached. DNS answers for test names come from a patched ``socket.getaddrinfo`` (what the guard, httpx and
asyncio all resolve with), which lets a test play a rebinding DNS server: a public answer to the first lookup
and the internal address to every later one.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from mm_orch.exceptions import FetchBlockedError
from mm_orch.tools import FetchConfig, Fetcher

PUBLIC, INTERNAL = "127.0.0.2", "127.0.0.1"


@dataclass
class Site:
    address: str
    port: int
    hits: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            site.hits.append(self.path)
            site.hosts.append(self.headers.get("Host", ""))
            if self.path.startswith("/to/"):  # redirect to whatever follows /to/
                self.send_response(302)
                self.send_header("Location", self.path[len("/to/") :])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = (
                f"<html><head><title>{site.address}</title></head><body><p>from {site.address}</p></body></html>"
            )
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@pytest.fixture
def sites() -> Iterator[tuple[Site, Site]]:
    """(public, internal): two servers on one port, 127.0.0.2 and 127.0.0.1."""
    for _ in range(20):
        public_server = ThreadingHTTPServer((PUBLIC, 0), _handler(Site(PUBLIC, 0)))
        port = public_server.server_address[1]
        try:
            internal_server = ThreadingHTTPServer((INTERNAL, port), _handler(Site(INTERNAL, port)))
        except OSError:
            public_server.server_close()
            continue
        break
    else:  # pragma: no cover
        pytest.skip("no port free on both 127.0.0.1 and 127.0.0.2")
    public, internal = Site(PUBLIC, port), Site(INTERNAL, port)
    public_server.RequestHandlerClass = _handler(public)
    internal_server.RequestHandlerClass = _handler(internal)
    threads = [
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        for s in (public_server, internal_server)
    ]
    for t in threads:
        t.start()
    yield public, internal
    for s in (public_server, internal_server):
        s.shutdown()
        s.server_close()


class FakeDns:
    """``socket.getaddrinfo`` with scripted answers for test names (each a list of answers, the last repeats)."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []
        self.real = socket.getaddrinfo

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in self.answers:
            return self.real(host, port, *args, **kwargs)
        self.lookups.append(name)
        script = self.answers[name]
        addresses = script[min(len(self.lookups_of(name)) - 1, len(script) - 1)]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, int(port or 80))) for a in addresses]

    def lookups_of(self, name: str) -> list[str]:
        return [n for n in self.lookups if n == name]


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    fake = FakeDns(
        {
            "rebind.test": [[PUBLIC], [INTERNAL]],  # public to the first lookup, internal ever after
            "public.test": [[PUBLIC]],
            "internal.test": [[INTERNAL]],
            "mixed.test": [[PUBLIC, INTERNAL]],
        }
    )
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


def guarded() -> Fetcher:
    """The default guard, with only the 'public' stand-in let through."""
    return Fetcher(FetchConfig(allowed_hosts=[f"{PUBLIC}/32"], max_redirects=3))


def test_dns_rebinding_cannot_reach_the_internal_service(sites: tuple[Site, Site], dns: FakeDns) -> None:
    public, internal = sites
    doc = guarded().fetch(f"http://rebind.test:{public.port}/page")
    assert doc.title == PUBLIC
    assert doc.final_url == f"http://rebind.test:{public.port}/page"
    assert internal.hits == []
    assert public.hits == ["/page"]
    assert dns.lookups_of("rebind.test") == ["rebind.test"]  # resolved once, connected to that answer
    assert public.hosts == [f"rebind.test:{public.port}"]  # the name still reaches the site (virtual hosts)


def test_dns_rebinding_async(sites: tuple[Site, Site], dns: FakeDns) -> None:
    public, internal = sites
    doc = asyncio.run(guarded().afetch(f"http://rebind.test:{public.port}/page"))
    assert doc.title == PUBLIC
    assert internal.hits == []
    assert dns.lookups_of("rebind.test") == ["rebind.test"]


def test_a_name_with_any_internal_address_is_refused(sites: tuple[Site, Site], dns: FakeDns) -> None:
    public, internal = sites
    with pytest.raises(FetchBlockedError, match=r"'mixed.test' resolves to loopback address 127\.0\.0\.1"):
        guarded().fetch(f"http://mixed.test:{public.port}/page")
    assert internal.hits == []
    assert public.hits == []


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/secret",
        "http://localhost:{port}/secret",
        "http://internal.test:{port}/secret",
        "http://2130706433:{port}/secret",  # 127.0.0.1 as one decimal number
        "http://0x7f000001:{port}/secret",  # ... in hex
        "http://127.1:{port}/secret",  # ... shortened
        "http://[::ffff:127.0.0.1]:{port}/secret",  # IPv4-mapped IPv6
        "http://[::1]:{port}/secret",
        "http://0.0.0.0:{port}/secret",
    ],
)
def test_redirects_to_internal_targets_are_refused(sites: tuple[Site, Site], dns: FakeDns, target: str) -> None:
    public, internal = sites
    url = f"http://public.test:{public.port}/to/{target.format(port=public.port)}"
    with pytest.raises(FetchBlockedError, match=r"Refused to fetch .*/secret.*(loopback|unspecified) address"):
        guarded().fetch(url)
    assert public.hits == [f"/to/{target.format(port=public.port)}"]  # the redirect was followed...
    assert internal.hits == []  # ...and refused before connecting


def test_redirect_chain_bouncing_through_public_hops_is_checked_at_every_hop(
    sites: tuple[Site, Site], dns: FakeDns
) -> None:
    public, internal = sites
    final = f"http://internal.test:{public.port}/secret"
    middle = f"http://public.test:{public.port}/to/{final}"
    with pytest.raises(FetchBlockedError, match=r"internal\.test"):
        guarded().fetch(f"http://public.test:{public.port}/to/{middle}")
    assert len(public.hits) == 2
    assert internal.hits == []


def test_async_redirect_to_internal_is_refused(sites: tuple[Site, Site], dns: FakeDns) -> None:
    public, internal = sites
    url = f"http://public.test:{public.port}/to/http://127.0.0.1:{public.port}/secret"
    with pytest.raises(FetchBlockedError, match="loopback"):
        asyncio.run(guarded().afetch(url))
    assert internal.hits == []


def test_direct_internal_targets_are_never_contacted(sites: tuple[Site, Site], dns: FakeDns) -> None:
    _, internal = sites
    for url in (f"http://127.0.0.1:{internal.port}/", f"http://internal.test:{internal.port}/",
                f"http://localhost:{internal.port}/"):  # fmt: skip
        with pytest.raises(FetchBlockedError, match="loopback"):
            Fetcher().fetch(url)
    assert internal.hits == []
