"""The OpenAI-compatible routes, streaming, feedback, readiness and request ids of the ingress, against a scripted
backend (no Ray), driven by the official ``openai`` SDK over FastAPI's TestClient (an httpx client)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import openai
import pytest
from fastapi.testclient import TestClient

from mm_orch.exceptions import ExecutionError, ModelUnavailableError
from mm_orch.models.call_context import current_model_call_context
from mm_orch.observability.feedback import FeedbackStore, read_feedback
from mm_orch.routing import RoutingDecision
from mm_orch.schemas import Citation, UserRequest, WorkflowResult
from serve import LimitsConfig, WorkflowInfo, create_app

WORKFLOWS = ["chat_generate", "search_qa"]
KEY = "sk-test"


class ScriptedBackend:
    """Streams its reply word by word through the request's model-call context, like the chat step does."""

    def __init__(self, *, fail: Exception | None = None, ready: dict[str, str] | None = None) -> None:
        self.asked: list[UserRequest] = []
        self.fail = fail
        self._ready = ready or {"ingress": "ok", "router": "ok", "llm": "ok"}

    async def answer(self, request: UserRequest) -> WorkflowResult:
        self.asked.append(request)
        if self.fail is not None:
            raise self.fail
        reply = "Paris is the capital of France." if "France" in request.query else "I do not know."
        ctx = current_model_call_context()
        if ctx is not None:
            for i, word in enumerate(reply.split()):
                await asyncio.sleep(0)
                ctx.emit(word if i == 0 else " " + word)
            ctx.add_usage(12, len(reply.split()))
            ctx.finish_reason = "stop"
        routed = request.workflow is None
        return WorkflowResult(
            answer=reply,
            workflow=request.workflow or "search_qa",
            citations=[Citation(title="France", url="wiki://France")],
            trace_id="trace-123",
            request_id=request.request_id,
            metadata={
                "router_version": "v3" if routed else "forced",
                "router_confidence": 0.75 if routed else 1.0,
                "using_phase_b": True,
            },
        )

    async def route(self, request: UserRequest) -> RoutingDecision:
        return RoutingDecision(workflow="search_qa", confidence=0.9, router_version="v1", reason="rules")

    def workflows(self) -> list[WorkflowInfo]:
        return [
            WorkflowInfo(name=n, description=f"{n} workflow", required_capabilities=[], steps=["x"])
            for n in WORKFLOWS
        ]

    async def stats(self) -> dict[str, Any]:
        return {"orchestrator": {}}

    def health(self) -> dict[str, Any]:
        return {"using_phase_b": True, "replica": {}}

    async def ready(self) -> dict[str, str]:
        return dict(self._ready)


def sdk(backend: ScriptedBackend | None = None, **kwargs: Any) -> tuple[openai.OpenAI, TestClient]:
    http = TestClient(create_app(backend or ScriptedBackend(), api_keys=[KEY], **kwargs))
    return openai.OpenAI(base_url="http://testserver/v1", api_key=KEY, http_client=http, max_retries=0), http


FRANCE = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello!"},
    {"role": "user", "content": "What is the capital of France?"},
]


def test_models_list_the_workflows_and_the_router() -> None:
    client, _ = sdk()
    ids = [m.id for m in client.models.list()]
    assert ids == ["mm-orch", *WORKFLOWS]
    assert client.models.retrieve("search_qa").id == "search_qa"
    with pytest.raises(openai.NotFoundError, match="'gpt-4' does not exist"):
        client.models.retrieve("gpt-4")


def test_non_streaming_completion_maps_the_conversation_and_carries_the_extension() -> None:
    backend = ScriptedBackend()
    client, _ = sdk(backend)
    done = client.chat.completions.create(model="mm-orch", messages=FRANCE, max_tokens=20)  # type: ignore[arg-type]
    assert done.object == "chat.completion"
    assert done.model == "mm-orch"
    assert done.choices[0].message.content == "Paris is the capital of France."
    assert done.choices[0].finish_reason == "stop"
    assert done.usage is not None
    assert (done.usage.prompt_tokens, done.usage.completion_tokens) == (12, 6)
    assert done.usage.total_tokens == 18
    ext = (done.model_extra or {})["mm_orch"]
    assert ext["workflow"] == "search_qa"
    assert ext["router_version"] == "v3"
    assert ext["router_confidence"] == 0.75
    assert ext["trace_id"] == "trace-123"
    assert ext["citations"][0]["title"] == "France"
    asked = backend.asked[0]
    assert asked.query == "What is the capital of France?"
    assert asked.workflow is None
    assert [(t.role, t.content) for t in asked.history] == [
        ("system", "Be brief."),
        ("user", "Hi"),
        ("assistant", "Hello!"),
    ]
    assert done.id == f"chatcmpl-{asked.request_id}"
    assert ext["request_id"] == asked.request_id
    client.chat.completions.create(model="chat_generate", messages=[{"role": "user", "content": "Hey"}])
    assert backend.asked[1].workflow == "chat_generate"


def test_streaming_sends_chunks_then_usage_then_done() -> None:
    client, http = sdk()
    stream = client.chat.completions.create(
        model="search_qa", messages=FRANCE, stream=True, stream_options={"include_usage": True}
    )  # type: ignore[call-overload]
    chunks = list(stream)
    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert "".join(texts) == "Paris is the capital of France."
    assert len(texts) == 6
    assert chunks[0].choices[0].delta.role == "assistant"
    last_choice = [c for c in chunks if c.choices and c.choices[0].finish_reason][-1]
    assert last_choice.choices[0].finish_reason == "stop"
    assert (last_choice.model_extra or {})["mm_orch"]["workflow"] == "search_qa"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 6
    raw = http.post(
        "/v1/chat/completions",
        json={"model": "mm-orch", "messages": FRANCE, "stream": True},
        headers={"Authorization": f"Bearer {KEY}"},
    )
    assert raw.headers["content-type"].startswith("text/event-stream")
    events = [line for line in raw.text.split("\n\n") if line]
    assert events[-1] == "data: [DONE]"
    assert all(json.loads(e.removeprefix("data: "))["usage"] is None for e in events[:-1])  # no include_usage


def test_typed_errors_for_bad_key_unknown_model_and_bad_requests() -> None:
    client, _ = sdk()
    bad_key = openai.OpenAI(
        base_url="http://testserver/v1", api_key="nope", http_client=client._client, max_retries=0
    )
    with pytest.raises(openai.AuthenticationError, match="not valid") as auth:
        bad_key.chat.completions.create(model="mm-orch", messages=FRANCE)  # type: ignore[arg-type]
    assert auth.value.code == "invalid_api_key"
    assert auth.value.type == "authentication_error"
    with pytest.raises(openai.NotFoundError, match="'gpt-4o' does not exist") as missing:
        client.chat.completions.create(model="gpt-4o", messages=FRANCE)  # type: ignore[arg-type]
    assert missing.value.code == "model_not_found"
    assert missing.value.param == "model"
    with pytest.raises(openai.BadRequestError, match="messages") as empty:
        client.chat.completions.create(model="mm-orch", messages=[])
    assert empty.value.param == "messages"
    with pytest.raises(openai.UnprocessableEntityError, match="n is not supported"):
        client.chat.completions.create(model="mm-orch", messages=FRANCE, n=2)  # type: ignore[arg-type]
    with pytest.raises(openai.UnprocessableEntityError, match="last message must be a non-empty 'user'"):
        client.chat.completions.create(model="mm-orch", messages=FRANCE[:3])  # type: ignore[arg-type]


def test_server_side_failures_are_503_and_500_with_the_trace_id() -> None:
    unavailable, _ = sdk(ScriptedBackend(fail=ModelUnavailableError("LLM replica is gone")))
    with pytest.raises(openai.InternalServerError, match="cannot serve right now") as down:
        unavailable.chat.completions.create(model="mm-orch", messages=FRANCE)  # type: ignore[arg-type]
    assert down.value.status_code == 503
    assert down.value.response.headers["retry-after"] == "5"
    failed = ExecutionError("step 'chat' exploded", workflow="chat_generate", node="start")
    failed.trace_id = "trace-boom"
    broken, http = sdk(ScriptedBackend(fail=failed))
    with pytest.raises(openai.InternalServerError, match="trace id trace-boom"):
        broken.chat.completions.create(model="mm-orch", messages=FRANCE)  # type: ignore[arg-type]
    answer = http.post("/v1/answer", json={"query": "France?"}, headers={"Authorization": f"Bearer {KEY}"})
    assert answer.status_code == 500
    assert "trace id trace-boom" in answer.json()["message"]


def test_rate_limit_is_429_with_retry_after() -> None:
    client, _ = sdk(limits=LimitsConfig(requests_per_minute=60, burst=2))
    client.models.list()
    client.models.list()
    with pytest.raises(openai.RateLimitError, match="more than 60 requests per minute") as limited:
        client.models.list()
    assert int(limited.value.response.headers["retry-after"]) >= 1


def test_body_too_large_on_an_openai_route_has_the_openai_shape() -> None:
    _, http = sdk(limits=LimitsConfig(max_body_bytes=512))
    r = http.post(
        "/v1/chat/completions",
        json={"model": "mm-orch", "messages": [{"role": "user", "content": "x" * 1000}]},
        headers={"Authorization": f"Bearer {KEY}"},
    )
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"


def test_request_id_header_is_used_and_echoed() -> None:
    backend = ScriptedBackend()
    client, http = sdk(backend)
    auth = {"Authorization": f"Bearer {KEY}"}
    r = http.post(
        "/v1/answer",
        json={"query": "France?", "request_id": "body-id"},
        headers={**auth, "X-Request-Id": "req-42"},
    )
    assert r.headers["x-request-id"] == "req-42"
    assert r.json()["request_id"] == "req-42"
    assert backend.asked[-1].request_id == "req-42"  # the header wins and becomes the trace's request id
    body_only = http.post("/v1/answer", json={"query": "France?", "request_id": "body-id"}, headers=auth)
    assert body_only.headers["x-request-id"] == "body-id"
    generated = http.get("/healthz")
    assert len(generated.headers["x-request-id"]) == 32
    done = client.chat.completions.create(
        model="mm-orch",
        messages=FRANCE,
        extra_headers={"X-Request-Id": "chat-7"},  # type: ignore[arg-type]
    )
    assert done.id == "chatcmpl-chat-7"
    assert backend.asked[-1].request_id == "chat-7"
    bad = http.get("/v1/models", headers={**auth, "X-Request-Id": "no spaces allowed"})
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "X-Request-Id"


def test_answer_event_stream_ends_with_the_final_result() -> None:
    _, http = sdk()
    r = http.post(
        "/v1/answer?stream=true",
        json={"query": "What is the capital of France?"},
        headers={"Authorization": f"Bearer {KEY}"},
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = []
    for block in r.text.strip().split("\n\n"):
        head, data = block.split("\n", 1)
        events.append((head.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    kinds = [k for k, _ in events]
    assert kinds[-1] == "final"
    assert kinds.count("token") == 6
    assert "".join(e["text"] for k, e in events if k == "token") == events[-1][1]["result"]["answer"]
    assert all(e["type"] == k for k, e in events)


def test_feedback_is_stored_durably_and_validated(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback" / "feedback.jsonl")
    _, http = sdk(feedback=store)
    auth = {"Authorization": f"Bearer {KEY}"}
    r = http.post(
        "/v1/feedback", json={"trace_id": "trace-123", "rating": -1, "workflow": "chat_generate"}, headers=auth
    )
    assert r.status_code == 201
    assert r.json()["source"] == "http"
    (record,) = read_feedback(tmp_path / "feedback")
    assert (record.trace_id, record.rating, record.workflow) == ("trace-123", -1.0, "chat_generate")
    assert record.feedback_id == r.json()["feedback_id"]
    unknown = http.post("/v1/feedback", json={"trace_id": "t", "rating": 1, "workflow": "nope"}, headers=auth)
    assert unknown.status_code == 422
    assert unknown.json()["fields"][0]["field"] == "body.workflow"
    out_of_range = http.post("/v1/feedback", json={"trace_id": "t", "rating": 3}, headers=auth)
    assert out_of_range.status_code == 422
    assert out_of_range.json()["fields"][0]["field"] == "body.rating"
    _, without_store = sdk()
    assert without_store.post("/v1/feedback", json={"trace_id": "t", "rating": 1}, headers=auth).status_code == 503


def test_readyz_is_503_until_every_deployment_is_ok_and_healthz_stays_up() -> None:
    _, ready = sdk()
    ready.headers["Authorization"] = f"Bearer {KEY}"  # with keys configured, only /healthz is open
    assert ready.get("/readyz").json() == {
        "status": "ready",
        "deployments": {"ingress": "ok", "router": "ok", "llm": "ok"},
    }
    _, starting = sdk(
        ScriptedBackend(ready={"ingress": "ok", "llm": "no answer within 5.0 s (starting, or overloaded)"})
    )
    r = starting.get("/readyz", headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 503
    assert r.json()["status"] == "not_ready"
    assert "no answer" in r.json()["deployments"]["llm"]
    assert starting.get("/healthz").status_code == 200


def test_openapi_documents_the_openai_routes() -> None:
    _, http = sdk()
    spec = http.get("/openapi.json", headers={"Authorization": f"Bearer {KEY}"}).json()
    chat = spec["paths"]["/v1/chat/completions"]["post"]["responses"]
    assert set(chat) >= {"200", "400", "401", "404", "413", "422", "429", "500", "503", "504"}
    assert chat["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/OpenAIError")
    assert "text/event-stream" in chat["200"]["content"]
    assert {"/v1/models", "/v1/feedback", "/readyz"} <= set(spec["paths"])
