"""Fixtures for the tools tests: a real HTTP server on 127.0.0.1, a tiny corpus, embedders, a search index."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mm_orch.tools import LocalWikiSearch, SearchConfig

PAGE_HTML = b"""<!doctype html><html><head><title>Local Test Page</title><style>p{color:red}</style>
<script>var secret = "do not extract";</script></head><body>
<nav>Home | About | Contact</nav><header>Site header</header>
<main><h1>Volcanoes</h1><p>A volcano is a rupture in the crust of a <b>planetary-mass</b> object.</p>
<p>Lava flows out of it.</p><ul><li>Etna</li><li>Vesuvius</li></ul></main>
<footer>Copyright footer</footer></body></html>"""

SEARXNG_JSON = {
    "query": "volcano",
    "number_of_results": 2,
    "results": [
        {"url": "https://example.org/volcano", "title": "Volcano", "content": "A volcano is a rupture.",
         "engine": "wikipedia", "score": 3.5, "category": "general"},
        {"url": "https://example.org/etna", "title": "Etna", "content": "Etna is in Sicily.", "engine": "ddg"},
        {"url": "https://example.org/third", "title": "Third", "content": None},
    ],
    "answers": [],
}  # fmt: skip


class _Handler(BaseHTTPRequestHandler):
    """Routes: /page /text /redirect /redirect-loop /redirect-to/<n> /chain/<n> /huge /slow /drip /missing
    /binary /searxng/search /searxng-off/search /searxng-bad/search /echo-host."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path == "/page":
            self._send(200, PAGE_HTML, "text/html; charset=utf-8")
        elif path == "/text":
            self._send(200, "Plain text body, café.".encode(), "text/plain; charset=utf-8")
        elif path == "/redirect":
            self._send(302, b"", "text/plain", {"Location": "/page"})
        elif path.startswith("/chain/"):
            n = int(path.rsplit("/", 1)[1])
            self._send(302, b"", "text/plain", {"Location": f"/chain/{n - 1}" if n > 0 else "/page"})
        elif path == "/redirect-loop":
            self._send(301, b"", "text/plain", {"Location": "/redirect-loop"})
        elif path.startswith("/redirect-to/"):
            target = path[len("/redirect-to/") :]
            self._send(302, b"", "text/plain", {"Location": f"http://{target}"})
        elif path == "/huge":
            self._send(200, b"<html><body><p>" + b"x" * 3_000_000 + b"</p></body></html>", "text/html")
        elif path == "/huge-nolength":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Connection", "close")
            self.end_headers()
            for _ in range(300):
                self.wfile.write(b"y" * 10_000)
            self.close_connection = True
        elif path == "/slow":
            time.sleep(3)
            self._send(200, b"late", "text/plain")
        elif path == "/binary":
            self._send(200, b"\x89PNG\r\n\x1a\n" + bytes(100), "image/png")
        elif path == "/searxng/search":
            results = dict(SEARXNG_JSON, query=query)
            self._send(200, json.dumps(results).encode(), "application/json")
        elif path == "/searxng-off/search":
            self._send(403, b"Forbidden", "text/plain")
        elif path == "/searxng-bad/search":
            self._send(200, b"<html>not json</html>", "text/html")
        else:
            self._send(404, b"not found", "text/plain")


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # clients that hang up early (timeout and size-limit tests) are expected; stay quiet
        pass


class LocalServer:
    def __init__(self) -> None:
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
def page_html() -> bytes:
    """The exact body the server returns for /page."""
    return PAGE_HTML


@pytest.fixture(scope="session")
def http_server() -> Iterator[LocalServer]:
    """A real HTTP server on 127.0.0.1 (random port) for the whole session."""
    server = LocalServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


TINY_ARTICLES = [
    {"title": "Volcano", "extract": "A volcano is a rupture in the crust of a planet that lets lava escape.",
     "description": "Geological landform", "topic": "Geography"},
    {"title": "Lava", "extract": "Lava is molten rock expelled by a volcano during an eruption.",
     "description": "Molten rock", "topic": "Geography"},
    {"title": "Cat", "extract": "The cat is a small domesticated carnivorous mammal kept as a pet.",
     "description": "Domesticated animal", "topic": "Biology"},
    {"title": "Dog", "extract": "The dog is a domesticated descendant of the wolf, bred for hunting and herding.",
     "description": "Domesticated animal", "topic": "Biology"},
    {"title": "Piano", "extract": "The piano is a keyboard instrument that produces sound when keys strike strings.",
     "description": "Musical instrument", "topic": "Arts"},
    {"title": "Python (programming language)",
     "extract": "Python is a high-level, general-purpose programming language emphasising readability.",
     "description": "General-purpose programming language", "topic": "Technology"},
    {"title": "Café Müller", "extract": "Café Müller is a dance piece by Pina Bausch.", "description": "",
     "topic": "Arts"},
]  # fmt: skip


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    """A 7-article corpus file in the ovos format (object of title -> record)."""
    path = tmp_path / "tiny_corpus.json"
    path.write_text(json.dumps({a["title"]: a for a in TINY_ARTICLES}), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def wiki_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("wiki-cache")


@pytest.fixture(scope="session")
def wiki_search(wiki_cache: Path) -> LocalWikiSearch:
    """BM25 search (no dense half: embedding 10k articles is a slow test's job) over the full embedded corpus,
    index cached in a session temp dir."""
    search = LocalWikiSearch(SearchConfig(cache_dir=wiki_cache, hybrid=False, show_progress=False))
    search.warm_up()
    return search


class MiniLMEmbedder:
    """The tiny adapter the brief asks for: sentence-transformers' all-MiniLM-L6-v2 from its PyPI package."""

    model_id = "test-all-MiniLM-L6-v2"

    def __init__(self) -> None:
        st = pytest.importorskip("sentence_transformers")
        from mm_orch.tools.embedders import default_embedding_model_path

        self.model = st.SentenceTransformer(str(default_embedding_model_path()), device="cpu")
        self.calls = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        return np.asarray(self.model.encode(texts, normalize_embeddings=True), dtype=np.float32)


@pytest.fixture(scope="session")
def minilm() -> MiniLMEmbedder:
    """The real embedding model (loaded once per session)."""
    return MiniLMEmbedder()


class HashingEmbedder:
    """Fast fake for the unit layer: bag of hashed words, L2-normalised (similar wording -> similar vector)."""

    def __init__(self, dim: int = 64, name: str = "hashing-64") -> None:
        self.dim = dim
        self.model_id = name
        self.calls: list[list[str]] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)


@pytest.fixture
def hashing_embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture
def hashing_embedder_cls() -> type[HashingEmbedder]:
    """The fake embedder class, to build one with another dimension."""
    return HashingEmbedder
