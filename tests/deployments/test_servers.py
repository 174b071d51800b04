"""The deployment server classes without Ray: LLM and embedder over fake models, the router's hot reload."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

import deployments
from deployments import EmbedderServer, LLMServer, RouterServer, RouterUserConfig, parse_user_config
from mm_orch.exceptions import ConfigError, ModelNotFoundError, ModelUnavailableError
from mm_orch.models import GenerationParams
from mm_orch.schemas import UserRequest


def test_public_api_is_pinned() -> None:
    assert sorted(deployments.__all__) == [
        "EmbedderDeployment",
        "EmbedderServer",
        "LLMDeployment",
        "LLMServer",
        "RouterDeployment",
        "RouterServer",
        "RouterUserConfig",
        "parse_user_config",
    ]


def test_deployment_names_match_the_serve_configs() -> None:
    assert deployments.LLMDeployment.name == "LLM"
    assert deployments.EmbedderDeployment.name == "Embedder"
    assert deployments.RouterDeployment.name == "Router"


def test_llm_server_generates_chats_and_summarizes(fake_models_yaml: Path) -> None:
    server = LLMServer("default", str(fake_models_yaml))
    result = asyncio.run(server.generate("Where is France?", GenerationParams(max_tokens=16)))
    assert result.text == "Paris is the capital of France [1]."
    assert result.model == "gen"
    chat = asyncio.run(server.chat([{"role": "user", "content": "Hello there"}]))
    assert chat.text == "echo: user: Hello there"
    batch = asyncio.run(server.generate_batch(["France?", "Spain?"]))
    assert [r.text for r in batch] == ["Paris is the capital of France [1].", "echo: Spain?"]
    assert server.info()["token_count"] == sum(r.completion_tokens for r in [result, chat, *batch])
    summary = asyncio.run(server.summarize("France is in Europe.", max_words=3))
    assert summary == "Paris is the"  # the summary prompt mentions France, cut to max_words
    info = server.info()
    assert info["model"] == "gen"
    assert info["backend"] == "fake"
    server.shutdown()
    with pytest.raises(ModelUnavailableError, match="was shut down; redeploy it"):
        server.check_health()
    server.shutdown()  # twice is fine


def test_llm_server_rejects_an_unknown_model(fake_models_yaml: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"'nope' is not configured; options: .*'gen'"):
        LLMServer("nope", str(fake_models_yaml))


def test_embedder_server_embeds_normalised_rows(fake_models_yaml: Path) -> None:
    server = EmbedderServer("embedder", str(fake_models_yaml))
    vectors = asyncio.run(server.embed(["capital of France", "capital of France", "bananas"]))
    assert vectors.shape == (3, 32)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert float(vectors[0] @ vectors[1]) == pytest.approx(1.0)
    assert float(vectors[0] @ vectors[2]) < 0.5
    assert server.info()["dimension"] == 32
    server.shutdown()
    with pytest.raises(ModelUnavailableError, match="shut down"):
        server.check_health()


def test_router_user_config_is_validated() -> None:
    assert parse_user_config(None) == RouterUserConfig()
    assert parse_user_config({"router": {"version": "v1"}}).router.version == "v1"
    with pytest.raises(ConfigError, match=r"user_config .*'colour'.* Allowed keys: 'router'"):
        parse_user_config({"colour": "red"})
    with pytest.raises(ConfigError, match="version"):
        parse_user_config({"router": {"version": "v9"}})


def test_router_server_reconfigure_swaps_the_chain_and_counts_reloads() -> None:
    server = RouterServer({"router": {"version": "v1"}, "revision": "a"})
    first = asyncio.run(server.route(UserRequest(query="Teach me about photosynthesis")))
    assert first.router_version == "v1"
    assert first.workflow == "lesson_pack"
    assert server.info()["reloads"] == 0
    asyncio.run(
        server.reconfigure({"router": {"version": "v1", "default_workflow": "chat_generate"}, "revision": "b"})
    )
    info = server.info()
    assert info["reloads"] == 1
    assert info["config"]["revision"] == "b"
    assert info["config"]["router"]["default_workflow"] == "chat_generate"
    forced = asyncio.run(server.route(UserRequest(query="hi", workflow="rag_qa")))
    assert forced.router_version == "forced"
    assert forced.workflow == "rag_qa"


def test_router_server_keeps_the_old_chain_when_a_reload_is_invalid() -> None:
    server = RouterServer({"router": {"version": "v1"}})
    with pytest.raises(ConfigError, match="abstain_threshold"):
        asyncio.run(server.reconfigure({"router": {"abstain_threshold": 7}}))
    assert server.info()["router_version"] == "v1"
    assert server.reloads == 0
