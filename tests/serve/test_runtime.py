"""The handle-backed runtime and the orchestrator backend over in-process handles (no Ray).

``LocalHandle`` (conftest) has the DeploymentHandle call shape (``handle.method.remote(...)`` -> awaitable with a
blocking ``result()``), so the real deployment servers, the real PhaseBOrchestrator, the real steps and tools
run here exactly as they are wired in the ingress replica; only the hop between processes is missing.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from deployments import EmbedderServer, LLMServer, RouterServer
from mm_orch.configuration import PhaseBConfig
from mm_orch.exceptions import ModelNotFoundError, WorkflowNotFoundError
from mm_orch.models import GenerationParams
from mm_orch.orchestration.phase_b_orchestrator import PhaseBOrchestrator
from mm_orch.schemas import UserRequest
from serve import (
    HandleEmbedder,
    HandleGenerator,
    HandleModelManager,
    HandleRouter,
    OrchestratorBackend,
    SyncModelCallError,
    build_handle_runtime,
)


@pytest.fixture
def manager(fake_models_yaml: Path, local_handle: Any) -> HandleModelManager:
    llm = local_handle(LLMServer("default", str(fake_models_yaml)))
    emb = local_handle(EmbedderServer("embedder", str(fake_models_yaml)))
    return HandleModelManager({"gen": llm}, emb)


def test_get_model_returns_proxies_by_name_and_alias(manager: HandleModelManager) -> None:
    assert isinstance(manager.get_model("default"), HandleGenerator)
    assert manager.get_model("default") is manager.get_model("gen")
    assert isinstance(manager.get_model("embedder"), HandleEmbedder)
    assert manager.names() == ["default", "embedder", "gen"]
    with pytest.raises(ModelNotFoundError, match=r"'big' is not served by this application; options: 'default'"):
        manager.get_model("big")
    with pytest.raises(ModelNotFoundError, match="at least one generator handle"):
        HandleModelManager({})


def test_async_methods_forward_and_count_tokens(manager: HandleModelManager) -> None:
    gen = manager.get_model("default")
    assert isinstance(gen, HandleGenerator)

    async def calls() -> tuple[Any, ...]:
        a = await gen.agenerate("France?", GenerationParams(max_tokens=32))
        b = await gen.achat([{"role": "user", "content": "Capital of France?"}])
        c = await gen.agenerate_batch(["France", "Peru"])
        d = await gen.asummarize("France is a country.", 4)
        return a, b, c, d

    a, b, c, d = asyncio.run(calls())
    assert a.text == b.text == "Paris is the capital of France [1]."
    assert [r.text for r in c] == ["Paris is the capital of France [1].", "echo: Peru"]
    assert d == "Paris is the capital"
    assert manager.token_count == a.completion_tokens + b.completion_tokens + sum(r.completion_tokens for r in c)
    assert manager.load_history == []


def test_sync_methods_work_in_worker_threads_and_refuse_the_event_loop(manager: HandleModelManager) -> None:
    gen = manager.get_model("default")
    emb = manager.get_model("embedder")
    assert isinstance(gen, HandleGenerator)
    assert isinstance(emb, HandleEmbedder)
    out: dict[str, Any] = {}

    def worker() -> None:
        out["text"] = gen.generate("France").text
        out["chat"] = gen.chat([{"role": "user", "content": "hi"}]).text
        out["vec"] = emb.embed(["a b", "c"])

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(10)
    assert out["text"] == "Paris is the capital of France [1]."
    assert out["chat"] == "echo: user: hi"
    assert out["vec"].shape == (2, 32)
    assert out["vec"].dtype == np.float32
    # cached corpus vectors are keyed by the served model, named as in-process (not by the deployment alias)
    assert emb.model_id == "models:emb"

    async def on_loop() -> None:
        gen.generate("France")

    with pytest.raises(SyncModelCallError, match=r"call `await model.agenerate\(...\)` from an async step"):
        asyncio.run(on_loop())


def _backend(manager: HandleModelManager, local_handle: Any) -> OrchestratorBackend:
    runtime = build_handle_runtime(manager)
    router = HandleRouter(local_handle(RouterServer({"router": {"version": "v1"}})))
    config = PhaseBConfig.model_validate({"tracer": {"enabled": False}})
    orchestrator = PhaseBOrchestrator(config, runtime=runtime, router=router)
    return OrchestratorBackend(orchestrator, router, info_handles={"router": router.handle})


def test_backend_answers_with_real_steps_and_tools(manager: HandleModelManager, local_handle: Any) -> None:
    backend = _backend(manager, local_handle)
    result = asyncio.run(backend.answer(UserRequest(query="What is the capital of France?")))
    assert result.success
    assert result.metadata["router_version"] == "v1"
    assert result.workflow.startswith("search_qa")
    assert any(c.title == "France" for c in result.citations), result.citations
    assert manager.token_count > 0
    stats = asyncio.run(backend.stats())
    assert stats["router"]["router_version"] == "v1"
    assert stats["orchestrator"]["requests"] == 1
    assert {w.name for w in backend.workflows()} >= {"search_qa", "rag_qa", "chat_generate"}


def test_backend_forced_and_unknown_workflows(manager: HandleModelManager, local_handle: Any) -> None:
    backend = _backend(manager, local_handle)
    decision = asyncio.run(backend.route(UserRequest(query="hi", workflow="chat_generate")))
    assert decision.router_version == "forced"
    result = asyncio.run(backend.answer(UserRequest(query="Tell me about France", workflow="chat_generate")))
    assert result.workflow == "chat_generate"
    assert result.metadata["workflow_forced"] is True
    with pytest.raises(WorkflowNotFoundError, match="'nope' is not registered"):
        asyncio.run(backend.answer(UserRequest(query="hi", workflow="nope")))


def test_concurrent_requests_keep_their_own_routing_decisions(
    manager: HandleModelManager, local_handle: Any
) -> None:
    backend = _backend(manager, local_handle)
    queries = ["Teach me about photosynthesis", "What is the capital of France?"] * 3

    async def all_at_once() -> list[Any]:
        return await asyncio.gather(*(backend.answer(UserRequest(query=q)) for q in queries))

    results = asyncio.run(all_at_once())
    expected = [asyncio.run(backend.route(UserRequest(query=q))).workflow for q in queries]
    assert [r.workflow for r in results] == expected
    assert expected[0] != expected[1]


def test_phase_a_rollback_runs_off_the_event_loop(manager: HandleModelManager, local_handle: Any) -> None:
    backend = _backend(manager, local_handle)
    backend.orchestrator.using_phase_b = False  # the documented rollback switch
    threads: dict[str, int] = {}
    original = backend.orchestrator._run_phase_a

    def recording(request: Any, reason: str) -> Any:
        threads["phase_a"] = threading.get_ident()
        return original(request, reason)

    backend.orchestrator._run_phase_a = recording  # type: ignore[method-assign]

    async def answer() -> Any:
        threads["loop"] = threading.get_ident()
        return await backend.answer(UserRequest(query="What is the capital of France?"))

    result = asyncio.run(answer())
    assert threads["phase_a"] != threads["loop"]
    assert result.metadata["using_phase_b"] is False
    assert result.success
    assert any(c.title == "France" for c in result.citations), result.citations
    assert backend.health()["using_phase_b"] is False
