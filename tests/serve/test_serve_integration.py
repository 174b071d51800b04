"""The REAL Serve application from config/serve.local.yaml on this machine: real router, vLLM (CPU) LLM and
MiniLM embedder deployments, real HTTP on 127.0.0.1, and a router hot reload through user_config."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from serve import deploy_config, set_router_user_config

pytestmark = pytest.mark.integration

AUTH = {"Authorization": "Bearer integration-test-key"}


@pytest.fixture
def app(served_app: Any) -> tuple[str, Any]:
    """The session's application (tests/serve/conftest.py): base URL and its Serve config."""
    return served_app.base, served_app.config


def test_answers_the_france_question_with_the_paris_article(app: tuple[str, Any]) -> None:
    base, _ = app
    r = httpx.post(
        f"{base}/v1/answer", json={"query": "What is the capital of France?"}, headers=AUTH, timeout=180
    )
    assert r.status_code == 200, r.text
    body = r.json()
    titles = {c["title"] for c in body["citations"]}
    assert "Paris" in body["answer"] or "France" in titles or "Paris" in titles, body
    assert body["success"]
    assert body["metadata"]["using_phase_b"] is True
    assert body["metadata"]["router_version"] == "v3"
    stats = httpx.get(f"{base}/v1/stats", headers=AUTH, timeout=30).json()
    assert stats["models"]["llm"]["backend"] == "vllm"
    assert stats["models"]["llm"]["token_count"] > 0
    assert stats["models"]["embedder"]["dimension"] == 384
    assert stats["orchestrator"]["tracer"]["written"] >= 1  # this replica's Parquet stream got the run


def test_error_paths_over_real_http(app: tuple[str, Any]) -> None:
    base, _ = app
    no_key = httpx.post(f"{base}/v1/answer", json={"query": "hi"}, timeout=30)
    assert no_key.status_code == 401
    assert no_key.json()["error"] == "unauthorized"
    bad = httpx.post(f"{base}/v1/answer", json={"query": "hi", "mode": "shout"}, headers=AUTH, timeout=30)
    assert bad.status_code == 422
    assert bad.json()["fields"][0]["field"] == "body.mode"
    unknown = httpx.post(f"{base}/v1/answer", json={"query": "hi", "workflow": "nope"}, headers=AUTH, timeout=30)
    assert unknown.status_code == 404
    assert "search_qa" in unknown.json()["options"]
    workflows = httpx.get(f"{base}/v1/workflows", headers=AUTH, timeout=30).json()["workflows"]
    assert {w["name"] for w in workflows} >= {"search_qa", "rag_qa", "lesson_pack", "chat_generate"}
    health = httpx.get(f"{base}/healthz", timeout=30).json()
    assert health["status"] == "ok"
    assert health["auth_enabled"] is True


def test_router_hot_reload_through_user_config_drops_no_request(app: tuple[str, Any]) -> None:
    base, config = app
    question = {"query": "Teach me about photosynthesis"}
    before = httpx.get(f"{base}/v1/stats", headers=AUTH, timeout=30).json()["router"]
    assert before["router_version"] == "v3"
    assert before["reloads"] == 0
    statuses: list[int] = []
    versions: list[str] = []
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(timeout=30) as client:
            while not stop.is_set():
                r = client.post(f"{base}/v1/route", json=question, headers=AUTH)
                statuses.append(r.status_code)
                if r.status_code == 200:
                    versions.append(r.json()["router_version"])

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        reloaded = {"router": {"version": "v1"}, "revision": "hot-reload"}
        set_router_user_config(config, reloaded)
        deploy_config(config, timeout_s=120)
        for _ in range(60):
            if versions and versions[-1] == "v1":
                break
            stop.wait(0.5)
    finally:
        stop.set()
        thread.join(30)
    after = httpx.get(f"{base}/v1/stats", headers=AUTH, timeout=30).json()["router"]
    assert after["router_version"] == "v1"
    assert after["config"]["revision"] == "hot-reload"
    assert after["reloads"] == 1
    assert after["replica_id"] == before["replica_id"]
    assert statuses, statuses
    assert set(statuses) == {200}, statuses
    assert versions[0] == "v3"
    assert versions[-1] == "v1"
