"""The FastAPI ingress against a fake backend: routes, auth, limits, error bodies, OpenAPI (no Ray)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi.testclient import TestClient

import serve
from mm_orch.exceptions import ExecutionError, WorkflowNotFoundError
from mm_orch.routing import RoutingDecision
from mm_orch.schemas import UserRequest, WorkflowResult
from serve import LimitsConfig, WorkflowInfo, create_app

WORKFLOWS = ["rag_qa", "search_qa"]


class FakeBackend:
    """Answers 'Paris' for France questions; records what it was asked."""

    def __init__(self, *, delay_s: float = 0.0, fail: Exception | None = None) -> None:
        self.asked: list[UserRequest] = []
        self.delay_s = delay_s
        self.fail = fail

    async def answer(self, request: UserRequest) -> WorkflowResult:
        self.asked.append(request)
        await asyncio.sleep(self.delay_s)
        if self.fail is not None:
            raise self.fail
        if request.workflow is not None and request.workflow not in WORKFLOWS:
            raise WorkflowNotFoundError(f"workflow {request.workflow!r} is not registered")
        answer = "Paris is the capital of France." if "France" in request.query else "I do not know."
        return WorkflowResult(
            answer=answer, workflow=request.workflow or "search_qa", trace_id="t1", request_id=request.request_id
        )

    async def route(self, request: UserRequest) -> RoutingDecision:
        return RoutingDecision(workflow="search_qa", confidence=0.9, router_version="v1", reason="rules")

    def workflows(self) -> list[WorkflowInfo]:
        return [
            WorkflowInfo(name=n, description=f"{n} workflow", required_capabilities=["search"], steps=["search"])
            for n in WORKFLOWS
        ]

    async def stats(self) -> dict[str, Any]:
        return {"orchestrator": {"requests": len(self.asked)}, "router": {"router_version": "v1"}}

    def health(self) -> dict[str, Any]:
        return {"using_phase_b": True, "replica": {"replica_id": "r1"}}

    async def ready(self) -> dict[str, str]:
        return {"ingress": "ok", "router": "ok", "llm": "ok"}


def client(backend: FakeBackend | None = None, **kwargs: Any) -> TestClient:
    return TestClient(create_app(backend or FakeBackend(), **kwargs))


def test_public_api_is_pinned() -> None:
    assert sorted(serve.__all__) == sorted(
        [
            "ApiError", "AuthConfig", "ErrorResponse", "FieldError", "HandleEmbedder", "HandleGenerator",
            "HandleModelManager", "HandleRouter", "HealthResponse", "IngressBackend", "LimitsConfig",
            "OrchestratorBackend", "ServeAppArgs", "StatsResponse", "SyncModelCallError", "TracingArgs",
            "WorkflowInfo", "WorkflowsResponse", "build_handle_runtime", "create_app", "deploy_config",
            "load_serve_config", "parse_args", "set_router_user_config",
        ]
    )  # fmt: skip


def test_answer_returns_the_backend_result() -> None:
    backend = FakeBackend()
    r = client(backend).post("/v1/answer", json={"query": "What is the capital of France?", "request_id": "abc"})
    assert r.status_code == 200
    body = WorkflowResult.model_validate(r.json())
    assert body.answer == "Paris is the capital of France."
    assert body.request_id == "abc"
    assert backend.asked[0].query == "What is the capital of France?"


def test_route_workflows_stats_and_health() -> None:
    c = client()
    decision = c.post("/v1/route", json={"query": "What is the capital of France?"}).json()
    assert decision["workflow"] == "search_qa"
    assert decision["router_version"] == "v1"
    assert [w["name"] for w in c.get("/v1/workflows").json()["workflows"]] == WORKFLOWS
    c.post("/v1/answer", json={"query": "France?"})
    stats = c.get("/v1/stats").json()
    assert stats["orchestrator"] == {"requests": 1}
    assert stats["router"] == {"router_version": "v1"}
    assert stats["ingress"]["requests"] >= 3
    assert stats["ingress"]["auth_enabled"] is False
    health = c.get("/healthz").json()
    assert health == {
        "status": "ok",
        "using_phase_b": True,
        "auth_enabled": False,
        "replica": {"replica_id": "r1"},
    }


def test_auth_requires_a_valid_bearer_key() -> None:
    c = client(api_keys=["k-1", "k-2"])
    missing = c.post("/v1/answer", json={"query": "France?"})
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["error"] == "unauthorized"
    assert "Authorization: Bearer" in missing.json()["message"]
    wrong = c.post("/v1/answer", json={"query": "France?"}, headers={"Authorization": "Bearer k-3"})
    assert wrong.status_code == 401
    assert "not valid" in wrong.json()["message"]
    basic = c.get("/v1/workflows", headers={"Authorization": "Basic k-1"})
    assert basic.status_code == 401
    assert "'Basic' is not supported" in basic.json()["message"]
    ok = c.post("/v1/answer", json={"query": "France?"}, headers={"Authorization": "Bearer k-2"})
    assert ok.status_code == 200
    assert ok.json()["answer"].startswith("Paris")
    assert c.get("/healthz").json()["auth_enabled"] is True  # health stays open for probes


def test_api_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEYS", " a1 , b2 ,")
    keys = serve.AuthConfig(api_keys_env="MY_KEYS", api_keys=["c3"]).keys()
    assert keys == ["c3", "a1", "b2"]


def test_validation_errors_name_the_field() -> None:
    c = client()
    r = c.post("/v1/answer", json={"query": "", "colour": "red"})
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "validation_error"
    fields = {f["field"]: f["type"] for f in body["fields"]}
    assert fields == {"body.query": "string_too_short", "body.colour": "extra_forbidden"}
    bad_mode = c.post("/v1/answer", json={"query": "hi", "mode": "shout"}).json()
    assert bad_mode["fields"][0]["field"] == "body.mode"


def test_query_and_body_size_limits() -> None:
    c = client(limits=LimitsConfig(max_body_bytes=1024, max_query_chars=50))
    long_query = c.post("/v1/answer", json={"query": "x" * 51})
    assert long_query.status_code == 422
    assert long_query.json()["fields"][0] == {
        "field": "body.query",
        "message": "query has 51 characters; the limit is 50",
        "type": "string_too_long",
    }
    big = c.post("/v1/answer", json={"query": "x", "context": {"blob": "y" * 2000}})
    assert big.status_code == 413
    assert big.json()["error"] == "payload_too_large"
    assert "limit is 1024 bytes" in big.json()["message"]

    def chunks() -> Any:
        yield b'{"query": "x", "context": {"blob": "'
        for _ in range(10):
            yield b"y" * 200
        yield b'"}}'

    streamed = c.post("/v1/answer", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413


def test_unknown_workflow_is_404_listing_the_registered_ones() -> None:
    c = client()
    for path in ("/v1/answer", "/v1/route"):
        r = c.post(path, json={"query": "France?", "workflow": "nope"})
        assert r.status_code == 404, path
        body = r.json()
        assert body["error"] == "workflow_not_found"
        assert body["options"] == WORKFLOWS
        assert "'nope'" in body["message"]
        assert "rag_qa, search_qa" in body["message"]
    forced = c.post("/v1/route", json={"query": "France?", "workflow": "rag_qa"})
    assert forced.status_code == 200  # the fake backend's own decision; the real one says 'forced'


def test_backend_failure_is_500_and_timeout_is_504() -> None:
    failing = client(FakeBackend(fail=ExecutionError("step 'answer' exploded")))
    r = failing.post("/v1/answer", json={"query": "France?"})
    assert r.status_code == 500
    assert r.json()["error"] == "workflow_failed"
    assert "ExecutionError: step 'answer' exploded" in r.json()["message"]
    slow = client(FakeBackend(delay_s=2.0), limits=LimitsConfig(request_timeout_s=0.2))
    t = slow.post("/v1/answer", json={"query": "France?"})
    assert t.status_code == 504
    assert "0.2 s" in t.json()["message"]


def test_unknown_path_is_a_json_404() -> None:
    r = client().get("/v2/nothing")
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"


def test_openapi_documents_the_error_models() -> None:
    spec = client().get("/openapi.json").json()
    assert "ErrorResponse" in spec["components"]["schemas"]
    answer = spec["paths"]["/v1/answer"]["post"]["responses"]
    assert set(answer) >= {"200", "401", "404", "413", "422", "500", "504"}
    assert answer["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
    assert answer["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/WorkflowResult")
    request_body = spec["paths"]["/v1/answer"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert request_body["$ref"].endswith("/UserRequest")
