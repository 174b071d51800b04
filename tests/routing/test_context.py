"""Routing context: session stickiness, the workflow hint, the user's collection - each recorded in the decision."""

from __future__ import annotations

from pathlib import Path

import pytest

from mm_orch.routing.chain import build_router
from mm_orch.routing.context import RoutingContext, SessionMemory, apply_hint, apply_stickiness
from mm_orch.routing.decision import RoutingDecision, RoutingExplanation
from mm_orch.routing.model import RouterModel
from mm_orch.routing.persistence import ModelManifest
from mm_orch.schemas import ChatTurn, UserRequest

Published = tuple[Path, RouterModel, ModelManifest]


def _decision(probs: dict[str, float]) -> RoutingDecision:
    best = next(iter(probs))
    return RoutingDecision(
        workflow=best, confidence=probs[best], alternatives=probs, router_version="v2", reason="model: test",
        explanation=RoutingExplanation(probabilities=probs),
    )  # fmt: skip


def test_follow_up_keeps_the_session_workflow_unless_clearly_better() -> None:
    ctx = RoutingContext(session_id="s1", history_turns=2, previous_workflow="lesson_pack")
    close = apply_stickiness(_decision({"search_qa": 0.5, "lesson_pack": 0.4, "chat_generate": 0.1}), ctx)
    assert close.workflow == "lesson_pack"
    assert close.source == "session"
    assert "kept the session's 'lesson_pack'" in close.reason
    assert "0.50" in close.reason
    assert close.explanation is not None
    assert close.explanation.chain[-1].router == "session"
    clear = apply_stickiness(_decision({"chat_generate": 0.85, "lesson_pack": 0.1, "search_qa": 0.05}), ctx)
    assert clear.workflow == "chat_generate"
    assert clear.source == "model"
    assert "switched from the session's 'lesson_pack'" in clear.reason
    same = apply_stickiness(_decision({"lesson_pack": 0.9, "search_qa": 0.1}), ctx)
    assert same.workflow == "lesson_pack"
    assert "same workflow as the session's last turn" in same.reason
    outside = apply_stickiness(_decision({"search_qa": 0.5, "lesson_pack": 0.4}), RoutingContext())
    assert outside.workflow == "search_qa"
    assert outside.reason == "model: test"


def test_hint_is_followed_unless_the_router_is_sure_of_another_family() -> None:
    soft = apply_hint(_decision({"search_qa": 0.6, "rag_qa": 0.3}), RoutingContext(hint="rag_qa"))
    assert soft.workflow == "rag_qa"
    assert soft.source == "hint"
    assert "caller's hint 'rag_qa'" in soft.reason
    sure = apply_hint(_decision({"chat_generate": 0.95, "rag_qa": 0.03}), RoutingContext(hint="rag_qa"))
    assert sure.workflow == "chat_generate"
    assert "overruled" in sure.reason
    bogus = apply_hint(_decision({"search_qa": 0.6}), RoutingContext(hint="no_such_flow"))
    assert bogus.workflow == "search_qa"
    assert "not a workflow" in bogus.reason


def test_context_reads_request_and_session_memory() -> None:
    memory = SessionMemory(max_sessions=2)
    memory.remember("a", "rag_qa")
    req = UserRequest(query="and the other one?", session_id="a", context={"workflow_hint": "rag_qa"})
    ctx = RoutingContext.of(req, memory)
    assert ctx.previous_workflow == "rag_qa"
    assert ctx.in_session
    assert ctx.hint == "rag_qa"
    memory.remember("b", "search_qa")
    memory.remember("c", "search_qa")
    assert memory.get("a") is None  # bounded: the oldest session is forgotten
    explicit = RoutingContext.of(UserRequest(query="x", history=[ChatTurn(role="user", content="hi")],
                                             context={"previous_workflow": "chat_generate"}))  # fmt: skip
    assert explicit.in_session
    assert explicit.previous_workflow == "chat_generate"


@pytest.fixture
def chain(published_router: Published) -> object:
    return build_router({"version": "v2", "model_path": str(published_router[0]), "abstain_to": "default",
                         "abstain_threshold": 0.0})  # fmt: skip


def test_session_in_the_chain_records_why_it_stayed_or_switched(chain: object) -> None:
    route = chain.route  # type: ignore[attr-defined]
    first = route(UserRequest(query="teach me how volcanoes form, with a short quiz at the end", session_id="s"))
    assert first.workflow == "lesson_pack"
    history = [
        ChatTurn(role="user", content="teach me how volcanoes form"),
        ChatTurn(role="assistant", content="..."),
    ]
    thanks = route(UserRequest(query="thanks so much, that was fun!", session_id="s", history=history))
    assert thanks.workflow == "chat_generate"
    assert "switched from the session's 'lesson_pack'" in thanks.reason
    assert thanks.explanation is not None
    assert thanks.explanation.context["previous_workflow"] == "lesson_pack"
    # The chain remembered chat_generate for the session; a neutral follow-up stays unless clearly another flow.
    again = route(UserRequest(query="ok", session_id="s", history=history))
    assert again.workflow == "chat_generate"
    assert again.source in ("session", "model")
    assert "session" in again.reason


def test_collection_context_decides_pronoun_questions(chain: object) -> None:
    route = chain.route  # type: ignore[attr-defined]
    question = "what does it say about refunds?"
    assert route(UserRequest(query=question, context={"has_collection": True})).workflow == "rag_qa"
    assert route(UserRequest(query="summarize the meeting minutes I added last week")).workflow == "rag_qa"
    world = route(UserRequest(query="who painted the mona lisa?", context={"has_collection": True}))
    assert world.workflow.startswith("search_qa")
    hinted = route(UserRequest(query="what is the notice period?", context={"workflow_hint": "rag_qa"}))
    assert hinted.workflow == "rag_qa"
    assert hinted.explanation is not None
    assert hinted.explanation.context["hint"] == "rag_qa"
