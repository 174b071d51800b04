"""The REAL application from config/serve.local.yaml (vLLM on CPU) driven by the official ``openai`` SDK:
completions with and without streaming, models.list(), typed errors, a client that disconnects mid-stream
(the vLLM engine's request is aborted) and a feedback round trip. One deployment for the session."""

from __future__ import annotations

import time
from typing import Any

import httpx
import openai
import pytest

from mm_orch.observability.feedback import read_feedback

pytestmark = pytest.mark.integration


@pytest.fixture
def client(served_app: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{served_app.base}/v1", api_key=served_app.key, max_retries=0, timeout=180)


def _running(served_app: Any) -> int:
    stats = httpx.get(f"{served_app.base}/v1/stats", headers=served_app.auth, timeout=30).json()
    return int(stats["models"]["llm"]["running_requests"])


def test_completion_models_and_feedback_round_trip(client: openai.OpenAI, served_app: Any) -> None:
    ids = [m.id for m in client.models.list()]
    assert ids[0] == "mm-orch"
    assert {"search_qa", "chat_generate", "rag_qa"} <= set(ids)
    done = client.chat.completions.create(
        model="search_qa_fast",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        extra_headers={"X-Request-Id": "it-france-1"},
    )
    assert "Paris" in (done.choices[0].message.content or "")
    assert done.id == "chatcmpl-it-france-1"
    assert done.usage is not None
    assert done.usage.completion_tokens > 0
    ext = (done.model_extra or {})["mm_orch"]
    assert ext["workflow"] == "search_qa_fast"
    assert ext["router_version"] == "forced"
    assert any(c["title"] in ("France", "Paris") for c in ext["citations"])
    stored = httpx.post(
        f"{served_app.base}/v1/feedback",
        json={"trace_id": ext["trace_id"], "rating": 1, "comment": "right answer"},
        headers=served_app.auth,
        timeout=30,
    )
    assert stored.status_code == 201, stored.text
    records = read_feedback(served_app.traces / "feedback")
    assert [(r.trace_id, r.rating, r.source) for r in records] == [(ext["trace_id"], 1.0, "http")]
    assert httpx.get(f"{served_app.base}/readyz", headers=served_app.auth, timeout=30).json()["status"] == "ready"


def test_streaming_chat_sends_tokens_as_generated(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="chat_generate",
        messages=[{"role": "user", "content": "Say hello in one short sentence."}],
        stream=True,
        max_tokens=24,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(texts) > 3
    assert "".join(texts).strip()
    final = next(c for c in chunks if c.choices and c.choices[0].finish_reason)
    assert (final.model_extra or {})["mm_orch"]["workflow"] == "chat_generate"
    usage = chunks[-1].usage
    assert usage is not None
    assert 0 < usage.completion_tokens <= 24


def test_typed_errors_for_a_bad_key_and_an_unknown_model(client: openai.OpenAI, served_app: Any) -> None:
    bad = openai.OpenAI(base_url=f"{served_app.base}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError, match="not valid"):
        bad.models.list()
    with pytest.raises(openai.NotFoundError, match="'gpt-4o' does not exist") as missing:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert missing.value.code == "model_not_found"


def test_disconnect_mid_stream_aborts_the_engine_request(client: openai.OpenAI, served_app: Any) -> None:
    assert _running(served_app) == 0
    stream = client.chat.completions.create(
        model="chat_generate",
        messages=[{"role": "user", "content": "Count from 1 to 5000, separated by commas."}],
        stream=True,
        max_tokens=1500,  # ~30 s of decoding here: the request cannot end by itself within the wait below
    )
    received = 0
    for chunk in stream:
        received += bool(chunk.choices and chunk.choices[0].delta.content)
        if received >= 3:
            break
    assert _running(served_app) == 1
    stream.close()  # the client goes away mid-stream
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _running(served_app) != 0:
        time.sleep(0.2)
    assert _running(served_app) == 0, "the vLLM request kept running after the client disconnected"
