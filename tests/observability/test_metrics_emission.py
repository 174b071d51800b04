"""Every metric is recorded from its real place: the ingress middleware (requests), the orchestrator (router
decisions), the executor hook (workflows, steps), the generator base class (tokens, time to first token).

End to end through the real ingress app, PhaseBOrchestrator, RouterServer and LLMServer over in-process handles
(no Ray; the fake model stands in for SmolLM2 so the test takes a second)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mm_orch.models import GenerationParams, fake_metadata
from mm_orch.models.backends.fake import FakeGenerator
from mm_orch.observability import metrics
from mm_orch.routing import RoutingDecision
from serve import create_app
from serve.middleware import request_outcome
from tests.serve.conftest import LocalHandle
from tests.serve.test_streaming import _backend

REQUESTS = "mm_orch_request_duration_seconds"
DECISIONS = "mm_orch_router_decisions_total"


@pytest.fixture(autouse=True)
def local_metrics() -> Iterator[None]:
    metrics.disable()
    metrics.enable("local")
    yield
    metrics.disable()


def _decision(**kw: object) -> RoutingDecision:
    base: dict[str, object] = {"workflow": "rag_qa", "confidence": 0.7, "router_version": "v3"}
    return RoutingDecision.model_validate({**base, **kw})


def test_decision_source_names_abstentions_fallbacks_and_forced() -> None:
    assert metrics.decision_source(_decision()) == "model"
    assert metrics.decision_source(_decision(router_version="v1")) == "rules"
    assert metrics.decision_source(_decision(router_version="forced")) == "forced"
    assert metrics.decision_source(_decision(fallbacks=["v3"], router_version="v2")) == "fallback"
    assert metrics.decision_source(_decision(abstained=True, router_version="v1")) == "abstention"
    assert all(
        metrics.decision_source(_decision(**kw)) in metrics.ROUTER_SOURCES for kw in ({}, {"abstained": True})
    )


def test_request_outcome_from_status_and_stream_result() -> None:
    class Run:
        result = None

    assert [request_outcome(s, None) for s in (200, 404, 422, 429, 503, 500, 504)] == [
        "success", "client_error", "client_error", "rejected", "rejected", "error", "timeout",
    ]  # fmt: skip
    assert request_outcome(200, Run()) == "error"  # a stream that ended in an error event


def test_ingress_run_records_request_decision_workflow_steps_and_tokens(tmp_path: Path) -> None:
    backend, _ = _backend(tmp_path, LocalHandle)
    client = TestClient(create_app(backend))
    assert client.post("/v1/answer", json={"query": "Tell me about Paris", "workflow": "chat_generate"}).is_success
    streamed = client.post(
        "/v1/answer?stream=true", json={"query": "Tell me about Paris", "workflow": "chat_generate"}
    )
    assert streamed.is_success
    assert "event: final" in streamed.text
    assert client.post("/v1/answer", json={"query": "Paris?", "workflow": "nope"}).status_code == 404
    assert client.get("/healthz").is_success

    snap = metrics.snapshot()
    assert snap.count(REQUESTS, endpoint="answer", workflow="chat_generate", outcome="success") == 2
    assert snap.count(REQUESTS, endpoint="answer", outcome="client_error") == 1
    assert snap.count(REQUESTS, endpoint="healthz", workflow="none", outcome="success") == 1
    assert snap.counter(DECISIONS, router="forced", source="forced", workflow="chat_generate") == 2
    assert snap.count("mm_orch_workflow_duration_seconds", workflow="chat_generate", outcome="success") == 2
    assert snap.count("mm_orch_step_duration_seconds", workflow="chat_generate", outcome="success") >= 2
    assert snap.count("mm_orch_model_request_duration_seconds", model="gen", outcome="success") == 2
    assert snap.counter("mm_orch_model_tokens_total", model="gen", direction="output") > 0
    assert snap.counter("mm_orch_model_tokens_total", model="gen", direction="input") > 0
    assert snap.count("mm_orch_model_time_to_first_token_seconds", model="gen") == 1  # only the streamed call


def test_routed_run_records_the_router_decision(tmp_path: Path) -> None:
    backend, _ = _backend(tmp_path, LocalHandle)
    client = TestClient(create_app(backend))
    assert client.post("/v1/answer", json={"query": "Tell me about Paris, please"}).is_success
    snap = metrics.snapshot()
    assert snap.label_values(DECISIONS, "router") == {"v1"}
    assert snap.label_values(DECISIONS, "source") == {"rules"}
    assert snap.count("mm_orch_router_confidence_ratio", router="v1", source="rules") == 1


def test_generator_records_tokens_and_time_to_first_token() -> None:
    gen = FakeGenerator(fake_metadata("gen", script={"France": "Paris is the capital of France."}))
    result = gen.generate("France?", GenerationParams(max_tokens=3))

    async def stream() -> None:
        async for _ in gen.astream("France?"):
            pass

    asyncio.run(stream())
    snap = metrics.snapshot()
    assert snap.count("mm_orch_model_request_duration_seconds", model="gen") == 2
    assert snap.counter("mm_orch_model_tokens_total", model="gen", direction="output") == 3 + 6
    assert snap.counter("mm_orch_model_tokens_total", model="gen", direction="input") == 2 * result.prompt_tokens
    ttft = snap.histogram("mm_orch_model_time_to_first_token_seconds", model="gen")
    assert ttft is not None
    assert ttft.count == 1
