"""Streaming and cancellation through the real ingress pieces over in-process handles (no Ray): the chat step
streams its reply through HandleGenerator -> LLMServer.stream_chat -> the fake model, and a consumer that goes
away cancels the run down to the model."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient

from deployments import LLMServer, RouterServer
from mm_orch.configuration import PhaseBConfig
from mm_orch.models import DefaultsConfig, ModelsConfig, fake_metadata
from mm_orch.orchestration.phase_b_orchestrator import PhaseBOrchestrator
from mm_orch.schemas import UserRequest
from serve import HandleModelManager, HandleRouter, OrchestratorBackend, build_handle_runtime, create_app
from serve.schemas import FinalEvent, TokenEvent
from serve.streaming import StreamedRun

REPLY = "Bonjour! Paris is lovely in the spring, and the museums are open late on Fridays."


def _models_yaml(tmp_path: Path, delay_s: float) -> Path:
    config = ModelsConfig(
        defaults=DefaultsConfig(generator="gen", embedder="emb"),
        models=[
            fake_metadata("gen", script={"Paris": REPLY}, token_delay_s=delay_s),
            fake_metadata("emb", embed=True, dimension=32),
        ],
    )
    path = tmp_path / "models.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")), encoding="utf-8")
    return path


def _backend(tmp_path: Path, local_handle: Any, delay_s: float = 0.0) -> tuple[OrchestratorBackend, LLMServer]:
    llm = LLMServer("default", str(_models_yaml(tmp_path, delay_s)))
    manager = HandleModelManager({"gen": local_handle(llm)})
    router = HandleRouter(local_handle(RouterServer({"router": {"version": "v1"}})))
    config = PhaseBConfig.model_validate({"tracer": {"enabled": False}})
    orchestrator = PhaseBOrchestrator(config, runtime=build_handle_runtime(manager), router=router)
    backend = OrchestratorBackend(
        orchestrator, router, info_handles={"router": router.handle, "llm": local_handle(llm)}
    )
    return backend, llm


CHAT = UserRequest(query="Tell me about Paris", workflow="chat_generate")


def test_chat_reply_streams_token_by_token_with_usage(tmp_path: Path, local_handle: Any) -> None:
    backend, _ = _backend(tmp_path, local_handle)
    run = StreamedRun(backend, CHAT, timeout_s=30, overrides={"max_tokens": 5})

    async def collect() -> list[Any]:
        return [e async for e in run.events()]

    events = asyncio.run(collect())
    tokens = [e.text for e in events if isinstance(e, TokenEvent)]
    assert tokens == ["Bonjour!", " Paris", " is", " lovely", " in"]  # max_tokens=5 reached the model
    assert isinstance(events[-1], FinalEvent)
    assert events[-1].result.answer == "".join(tokens)
    assert run.call.finish_reason == "length"
    assert run.call.completion_tokens == 5
    assert run.call.prompt_tokens > 0


def test_a_consumer_that_leaves_cancels_the_run_and_the_model_stream(tmp_path: Path, local_handle: Any) -> None:
    backend, llm = _backend(tmp_path, local_handle, delay_s=0.05)
    run = StreamedRun(backend, CHAT, timeout_s=30)

    async def leave_after_two_tokens() -> tuple[int, int]:
        events = run.events()
        seen = 0
        async for event in events:
            seen += isinstance(event, TokenEvent)
            if seen == 2:
                break
        during = llm.running_requests()
        await events.aclose()  # what Starlette/Serve do when the client disconnects
        for _ in range(50):
            if llm.running_requests() == 0:
                break
            await asyncio.sleep(0.01)
        return during, llm.running_requests()

    during, after = asyncio.run(leave_after_two_tokens())
    assert (during, after) == (1, 0)
    assert run.result is None
    assert run.error is None
    runs = backend.orchestrator.get_statistics()["workflows"]
    assert runs.get("chat_generate", {}).get("successes", 0) == 0


def test_openai_stream_of_the_real_chat_step_over_http(tmp_path: Path, local_handle: Any) -> None:
    backend, _ = _backend(tmp_path, local_handle)
    http = TestClient(create_app(backend))
    r = http.post(
        "/v1/chat/completions",
        json={
            "model": "chat_generate",
            "messages": [{"role": "user", "content": "Tell me about Paris"}],
            "stream": True,
            "max_tokens": 4,
            "stream_options": {"include_usage": True},
        },
    )
    events = [json.loads(b.removeprefix("data: ")) for b in r.text.strip().split("\n\n")[:-1]]
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in events if c["choices"])
    assert content == "Bonjour! Paris is lovely"
    assert events[-1]["usage"]["completion_tokens"] == 4
    final = next(c for c in events if c["choices"] and c["choices"][0]["finish_reason"])
    assert final["choices"][0]["finish_reason"] == "length"
    assert final["mm_orch"]["workflow"] == "chat_generate"
    assert final["mm_orch"]["router_version"] == "forced"
    ready = http.get("/readyz").json()
    assert ready == {"status": "ready", "deployments": {"ingress": "ok", "router": "ok", "llm": "ok"}}


def test_answer_event_stream_reports_each_node_then_tokens_then_final(tmp_path: Path, local_handle: Any) -> None:
    backend, _ = _backend(tmp_path, local_handle)
    http = TestClient(create_app(backend))
    r = http.post("/v1/answer?stream=true", json={"query": "Tell me about Paris", "workflow": "chat_generate"})
    events = []
    for block in r.text.strip().split("\n\n"):
        head, data = block.split("\n", 1)
        events.append((head.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    kinds = [k for k, _ in events]
    assert kinds[0] == "node_started"
    assert events[0][1] == {"type": "node_started", "node": "start", "step": "chat"}
    finished = kinds.index("node_finished")
    assert set(kinds[1:finished]) == {"token"}  # the reply streams while the node runs
    assert events[finished][1]["success"] is True
    assert events[finished][1]["latency_ms"] > 0
    assert kinds[-1] == "final"
    assert events[-1][1]["result"]["answer"] == REPLY
    assert "".join(e["text"] for k, e in events if k == "token") == REPLY
