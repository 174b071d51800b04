"""Ingress security and error shape over a fake backend (no Ray): the outside probe's findings, each pinned.

Auth is checked from the headers before any body byte is read; /docs, /redoc and /openapi.json need the key
when keys are configured; keys rotate through a re-read key file; per-key rate and concurrency limits answer
429 with Retry-After; backend failures on every route are JSON; invalid UTF-8 is a declared 400 saying what to
fix; 405 carries Allow; session ids are scoped per key; keys never reach a log line or an error body.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from mm_orch.exceptions import ConfigError, ModelUnavailableError
from mm_orch.schemas import UserRequest
from serve import LimitsConfig, create_app
from serve.auth import ApiKeyAuth
from tests.serve.test_ingress import FakeBackend

KEY, OTHER = "sk-rel-alpha-0123456789", "sk-rel-beta-9876543210"
AUTH = {"Authorization": f"Bearer {KEY}"}
ROUTES = [("POST", "/v1/answer"), ("POST", "/v1/route"), ("POST", "/v1/feedback"), ("GET", "/v1/workflows"),
          ("GET", "/v1/stats"), ("POST", "/v1/chat/completions"), ("GET", "/v1/models"), ("GET", "/readyz"),
          ("GET", "/docs"), ("GET", "/redoc"), ("GET", "/openapi.json"), ("GET", "/v2/no-such-route")]  # fmt: skip


class FailingBackend(FakeBackend):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    async def route(self, request: UserRequest) -> Any:
        raise self.error

    async def stats(self) -> dict[str, Any]:
        raise self.error


def _client(backend: FakeBackend | None = None, **kwargs: Any) -> TestClient:
    return TestClient(create_app(backend or FakeBackend(), **kwargs), raise_server_exceptions=False)


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (RuntimeError("router chain broke"), 500, "workflow_failed"),
        (ModelUnavailableError("Router deployment is restarting"), 503, "service_unavailable"),
    ],
)
def test_backend_failures_on_route_and_stats_are_json(error: Exception, status: int, code: str) -> None:
    c = _client(FailingBackend(error))
    for r in (c.post("/v1/route", json={"query": "What is DNA?"}), c.get("/v1/stats")):
        assert r.status_code == status
        assert r.headers["content-type"] == "application/json"
        assert r.json()["error"] == code
        assert type(error).__name__ in r.json()["message"]
        assert r.headers["x-request-id"]
    if status == 503:
        assert r.headers["retry-after"] == "5"


@pytest.mark.parametrize("body", [b'{"query": "caf\xe9"}', b'{"query": "\xff\xfe\xfd"}', b"\xc3("])
def test_invalid_utf8_is_a_declared_400_saying_what_to_fix(body: bytes) -> None:
    c = _client()
    for path in ("/v1/answer", "/v1/route", "/v1/feedback"):
        r = c.post(path, content=body, headers={"content-type": "application/json"})
        assert r.status_code == 400
        assert r.json()["error"] == "invalid_body"
        assert "send UTF-8 encoded JSON" in r.json()["message"]
    chat = c.post("/v1/chat/completions", content=body, headers={"content-type": "application/json"})
    assert chat.status_code == 400
    assert "UTF-8" in chat.json()["error"]["message"]
    spec = c.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if "requestBody" in operation:
                assert "400" in operation["responses"], f"{method.upper()} {path} does not declare 400"


def test_deeply_nested_json_is_a_clean_400() -> None:
    deep = b'{"query": "q", "context": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}"
    r = _client(limits=LimitsConfig(max_body_bytes=64 * 1024)).post(
        "/v1/answer", content=deep, headers={"content-type": "application/json"}
    )
    assert r.status_code in (400, 422)
    assert r.headers["content-type"] == "application/json"
    assert r.json()["error"] in ("invalid_body", "validation_error")


def test_405_names_the_allowed_methods_in_allow() -> None:
    c = _client()
    for method, path, allowed in [("GET", "/v1/answer", "POST"), ("DELETE", "/v1/workflows", "GET"),
                                  ("PUT", "/v1/chat/completions", "POST")]:  # fmt: skip
        r = c.request(method, path)
        assert r.status_code == 405
        assert r.headers["allow"] == allowed
        body = r.json()
        message = body["message"] if "message" in body else body["error"]["message"]
        assert f"use {allowed}" in message


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b'{"query": ', {}),  # malformed JSON: 422 without auth-first
        (b'{"query": "\xff"}', {}),  # invalid UTF-8: 400
        (b'{"nope": 1}', {}),  # unknown field: 422
        (b"x" * 70_000, {}),  # over max_body_bytes: 413
        (b"x" * 10, {"content-length": "999999"}),
    ],
)
def test_auth_is_checked_before_the_body_is_read(content: bytes, headers: dict[str, str]) -> None:
    c = _client(api_keys=[KEY])
    for path in ("/v1/answer", "/v1/route", "/v1/feedback", "/v1/chat/completions"):
        r = c.post(path, content=content, headers={"content-type": "application/json", **headers})
        assert r.status_code == 401, (path, r.status_code, r.text)
        assert r.headers["www-authenticate"] == "Bearer"


def test_every_route_but_liveness_needs_the_key_docs_included() -> None:
    c = _client(api_keys=[KEY])
    for method, path in ROUTES:
        r = c.request(method, path)
        assert r.status_code == 401, f"{method} {path} answered {r.status_code} without a key"
    assert c.get("/healthz").status_code == 200
    assert c.get("/docs", headers=AUTH).status_code == 200
    assert c.get("/redoc", headers=AUTH).status_code == 200
    spec = c.get("/openapi.json", headers=AUTH).json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    opened = _client(api_keys=[KEY], open_paths=["/healthz", "/readyz"])
    assert opened.get("/readyz").status_code == 200
    assert opened.get("/v1/stats").status_code == 401
    assert _client().get("/docs").status_code == 200  # auth off: local use, everything open


def test_key_file_rotates_keys_without_a_restart(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"# ingress keys\n{KEY}\n")
    now = [0.0]
    auth = ApiKeyAuth([], key_file=keys, reload_interval_s=1.0, clock=lambda: now[0])
    assert auth.enabled
    assert auth.check(f"Bearer {KEY}") is None
    assert auth.check(f"Bearer {OTHER}") is not None
    keys.write_text(f"{OTHER}\n")
    os.utime(keys, ns=(1, 1))  # a new stamp even within the file system's time resolution
    assert auth.check(f"Bearer {KEY}") is None  # not re-read within reload_interval_s
    now[0] = 1.5
    assert auth.check(f"Bearer {OTHER}") is None
    assert auth.check(f"Bearer {KEY}") is not None
    keys.write_text("")  # emptied: fail closed, every key refused, auth stays on
    os.utime(keys, ns=(2, 2))
    now[0] = 3.0
    assert auth.enabled
    assert auth.check(f"Bearer {OTHER}") == "the API key is not valid; check the key or ask for a new one"
    keys.unlink()  # gone: the keys read before stay
    now[0] = 5.0
    assert auth.check(f"Bearer {OTHER}") is not None
    with pytest.raises(ConfigError, match="does not exist; create it"):
        ApiKeyAuth([], key_file=tmp_path / "missing")


def test_key_file_rotation_through_the_app(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"{KEY}\n")
    c = _client(api_keys_file=str(keys))
    assert c.get("/v1/workflows", headers=AUTH).status_code == 200
    keys.write_text(f"{OTHER}\n")
    os.utime(keys, ns=(10**9, 10**9))
    deadline = 0
    while c.get("/v1/workflows", headers=AUTH).status_code != 401 and deadline < 30:  # re-read within ~1 s
        deadline += 1
        asyncio.run(asyncio.sleep(0.1))
    assert c.get("/v1/workflows", headers=AUTH).status_code == 401
    assert c.get("/v1/workflows", headers={"Authorization": f"Bearer {OTHER}"}).status_code == 200


def test_rate_limit_is_per_key_with_retry_after_before_the_body() -> None:
    c = _client(api_keys=[KEY, OTHER], limits=LimitsConfig(requests_per_minute=60, burst=2))
    codes = [c.post("/v1/route", json={"query": "q"}, headers=AUTH).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    limited = c.post("/v1/route", content=b'{"query": ', headers={**AUTH, "content-type": "application/json"})
    assert limited.status_code == 429
    assert limited.json()["error"] == "rate_limit_exceeded"
    assert int(limited.headers["retry-after"]) >= 1
    assert (
        c.post("/v1/route", json={"query": "q"}, headers={"Authorization": f"Bearer {OTHER}"}).status_code == 200
    )


def test_concurrency_limit_per_key_is_429_with_retry_after() -> None:
    backend = FakeBackend(delay_s=0.3)
    app = create_app(backend, api_keys=[KEY, OTHER], limits=LimitsConfig(max_concurrent_per_client=2))

    async def burst() -> tuple[list[int], int, str]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            answers = [http.post("/v1/answer", json={"query": "France?"}, headers=AUTH) for _ in range(4)]
            other = http.post(
                "/v1/answer", json={"query": "France?"}, headers={"Authorization": f"Bearer {OTHER}"}
            )
            replies = await asyncio.gather(*answers, other)
            again = await http.post("/v1/answer", json={"query": "France?"}, headers=AUTH)
        over = next(r for r in replies if r.status_code == 429)
        assert again.status_code == 200  # the slots were released
        return [r.status_code for r in replies[:4]], replies[4].status_code, over.headers["retry-after"]

    mine, theirs, retry_after = asyncio.run(burst())
    assert sorted(mine) == [200, 200, 429, 429]
    assert theirs == 200
    assert retry_after == "1"


def test_session_ids_are_scoped_per_key() -> None:
    backend = FakeBackend()
    c = _client(backend, api_keys=[KEY, OTHER])
    body = {"query": "What did I say?", "mode": "chat", "session_id": "s1"}
    c.post("/v1/answer", json=body, headers=AUTH)
    c.post("/v1/answer", json=body, headers={"Authorization": f"Bearer {OTHER}"})
    c.post("/v1/chat/completions", json={"model": "mm-orch", "messages": [{"role": "user", "content": "Hi"}],
                                        "mm_orch": {"session_id": "s1"}}, headers=AUTH)  # fmt: skip
    mine, theirs, chat = (str(r.session_id) for r in backend.asked)
    assert mine != theirs
    assert mine == chat
    assert mine.endswith("/s1")
    assert theirs.endswith("/s1")
    assert KEY not in mine
    assert OTHER not in theirs
    open_backend = FakeBackend()
    _client(open_backend).post("/v1/answer", json=body)
    assert open_backend.asked[0].session_id == "s1"  # auth off: nothing to scope by


def test_keys_never_appear_in_error_bodies_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "sk-WRONG-marker-5f3a"
    c = _client(FailingBackend(RuntimeError("boom")), api_keys=[KEY], limits=LimitsConfig(requests_per_minute=600))
    bodies = []
    for headers in ({"Authorization": f"Bearer {wrong}"}, {"Authorization": f"Basic {wrong}"}, AUTH):
        for method, path in ROUTES:
            bodies.append(c.request(method, path, headers=headers, json={"query": "q"}).text)
    text = "\n".join(bodies) + "\n" + caplog.text
    assert "boom" in text  # the failures were logged and reported...
    assert wrong not in text
    assert KEY not in text
