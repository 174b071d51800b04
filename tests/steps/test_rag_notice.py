"""rag_qa before anything was ingested: the answer says so and names the ingest command."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from mm_orch.orchestration import GraphExecutor, State
from mm_orch.orchestration.wiring import build_default_runtime, build_default_workflow_registry
from mm_orch.tools import DocumentStoreConfig, SearchConfig, ToolsConfig
from steps.retrieve import RetrieveStep

COMMAND = "`python -m mm_orch.main ingest docs/ --collection never_ingested`"


def _runtime(tmp_path: Path) -> Any:
    tools = ToolsConfig(
        search=SearchConfig(cache_dir=tmp_path / "search", hybrid=False, show_progress=False),
        documents=DocumentStoreConfig(path=tmp_path / "store.sqlite"),
    )
    return build_default_runtime(tools_config=tools, settings={"rag_collection": "never_ingested"})


def test_retrieve_from_a_missing_collection_falls_back_with_a_notice(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path)
    out = asyncio.run(RetrieveStep().execute(State({"question": "Who wrote Hamlet?"}), runtime))
    assert out["retrieval_fallback"] is True
    assert out["sources"]
    assert "Nothing has been ingested into the document collection 'never_ingested' yet" in out["notice"]
    assert COMMAND in out["notice"]


@pytest.mark.integration
def test_rag_qa_answer_says_nothing_is_ingested_and_how_to_ingest(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path)
    registry = build_default_workflow_registry()
    state = GraphExecutor(registry.step_registry).execute(
        registry.compiled("rag_qa"), {"question": "Who wrote Hamlet?"}, runtime
    )
    answer = str(state["answer"])
    assert answer.startswith("Nothing has been ingested into the document collection 'never_ingested' yet")
    assert COMMAND in answer
    assert "Shakespeare" in answer  # and still what the built-in corpus says, cited
    assert state["citations"]
    assert state["quality_signals"]["notice"] is True
