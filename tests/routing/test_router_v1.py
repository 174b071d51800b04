from __future__ import annotations

import pytest

from mm_orch.exceptions import RoutingError
from mm_orch.routing.decision import WORKFLOWS
from mm_orch.routing.router_v1 import RouterV1
from mm_orch.schemas import ChatTurn, RequestConstraints, UserRequest


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Who was president of the US when the Eiffel Tower was built?", "self_ask_search_qa"),
        ("Teach me the basics of fractions", "lesson_pack"),
        ("Make a quiz on the water cycle for my class", "lesson_pack"),
        ("Write a poem about autumn rain", "chat_generate"),
        ("hello there!", "chat_generate"),
        ("Is it true that bats are blind? Cite your sources.", "search_qa_strict_citations"),
        ("What does our employee handbook say about parental leave?", "rag_qa"),
        ("Why did the Roman Empire fall, and what were the main causes?", "search_qa"),
        ("capital of Peru?", "search_qa"),
        ("capital of Peru? one word", "search_qa_fast"),
        ("which is longer, the Nile or the Amazon", "self_ask_search_qa"),
        ("thanks, that helped!", "chat_generate"),
        ("what does the contract I uploaded say about termination", "rag_qa"),
    ],
)
def test_rules_route_clear_requests(query: str, expected: str) -> None:
    d = RouterV1().route(query)
    assert d.workflow == expected, d.reason
    assert d.router_version == "v1"


def test_context_overrides_weak_text_cues() -> None:
    r = RouterV1()
    assert r.route(UserRequest(query="Summarize section 2", documents=["doc text"])).workflow == "rag_qa"
    assert r.route(UserRequest(query="What are the key dates?", collection="contracts")).workflow == "rag_qa"
    hist = [ChatTurn(role="user", content="hi"), ChatTurn(role="assistant", content="hello")]
    assert r.route(UserRequest(query="and why is that?", mode="chat", history=hist)).workflow == "chat_generate"
    cited = UserRequest(query="Does coffee stunt growth?", constraints=RequestConstraints(require_citations=True))
    assert r.route(cited).workflow == "search_qa_strict_citations"


def test_alternatives_are_a_sorted_distribution_over_all_workflows() -> None:
    d = RouterV1().route("How do vaccines train the immune system?")
    assert set(d.alternatives) == set(WORKFLOWS)
    values = list(d.alternatives.values())
    assert values == sorted(values, reverse=True)
    assert sum(values) == pytest.approx(1.0, abs=1e-4)
    assert d.confidence == values[0]


def test_no_rule_means_default_workflow() -> None:
    d = RouterV1(default_workflow="search_qa").route("zebra xylophone")
    assert d.workflow == "search_qa"
    assert "default" in d.reason


def test_rejects_empty_and_wrong_types() -> None:
    with pytest.raises(RoutingError, match="empty question"):
        RouterV1().route("   ")
    with pytest.raises(RoutingError, match=r"expected mm_orch\.schemas\.UserRequest or str"):
        RouterV1().route(42)  # type: ignore[arg-type]
