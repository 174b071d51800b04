"""Fast unit tests of the built-in steps: real tools where cheap, FakeGenerator for the model."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import steps
from mm_orch.exceptions import MMOrchError
from mm_orch.orchestration import Runtime, SessionStore, State
from steps.answer import REFUSAL, compose_answer
from steps.common import SourceDoc, StepInputError, read_sources
from steps.lesson import Lesson, build_lesson, lesson_topic
from steps.text import content_words, grounding_score, select_evidence, split_sentences

FRANCE = SourceDoc(
    title="France",
    url="https://en.wikipedia.org/wiki/France",
    doc_id="France",
    text="France is a country in Western Europe. Its capital and largest city is Paris. It has many regions.",
)
HAMLET = SourceDoc(
    title="Hamlet",
    url="https://en.wikipedia.org/wiki/Hamlet",
    doc_id="Hamlet",
    text="Hamlet is a tragedy written by William Shakespeare between 1599 and 1601. It is set in Denmark.",
)


class _Manager:
    def __init__(self, model: Any) -> None:
        self.model = model

    def get_model(self, name: str = "default") -> Any:
        return self.model


class _FailingModel:
    async def achat(self, *args: Any, **kwargs: Any) -> Any:
        raise MMOrchError("model is down")


def _runtime(reply: str | None = None, model: Any = None, **settings: Any) -> Runtime:
    if reply is not None:
        model = _Reply(reply)
    return Runtime(model_manager=_Manager(model), settings=settings)


class _Reply:
    """A generator that always replies ``text`` and records the prompts it saw."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.seen: list[Any] = []

    async def achat(self, messages: Any, params: Any = None) -> Any:
        self.seen.append(messages)
        return type("R", (), {"text": self.text})()


def test_public_api_is_pinned() -> None:
    assert set(steps.__all__) >= {"BUILTIN_STEPS", "AnswerStep", "Lesson", "compose_answer"}
    names = {cls.name for cls in steps.BUILTIN_STEPS}
    assert {
        "search",
        "fetch",
        "summarize",
        "answer",
        "answer_strict",
        "retrieve",
        "rerank",
        "lesson",
        "chat",
    } <= names
    assert {"self_ask_decompose", "self_ask_hop", "self_ask_compose", "search_fast", "snippets"} <= names


def test_split_sentences_keeps_abbreviations() -> None:
    assert split_sentences("It was built c. 1200 by monks. Then it fell. e.g. this stays.") == [
        "It was built c. 1200 by monks.",
        "Then it fell. e.g. this stays.",
    ]


def test_select_evidence_prefers_question_words_and_keeps_lead() -> None:
    chosen = select_evidence("What is the capital of France?", [(FRANCE.title, FRANCE.text)], max_sentences=2)
    texts = [e.text for e in chosen]
    assert "Its capital and largest city is Paris." in texts
    assert texts[0] == "France is a country in Western Europe."


def test_grounding_score_counts_supported_words() -> None:
    assert grounding_score("Paris", [FRANCE.text]) == 1.0
    assert grounding_score("Lyon is the capital", [FRANCE.text]) == pytest.approx(0.5)
    assert content_words("The plays were written") == ["play", "written"]


def test_answer_keeps_grounded_model_answer_and_cites() -> None:
    runtime = _runtime(reply="Paris")
    result = asyncio.run(
        compose_answer(
            "What is the capital of France?",
            [FRANCE, HAMLET],
            select_evidence("What is the capital of France?", [(FRANCE.title, FRANCE.text)]),
            runtime,
        )
    )
    assert result.answer.startswith("Paris [1]")
    assert "Its capital and largest city is Paris. [1]" in result.answer
    assert result.citations == [FRANCE.citation()]
    assert result.quality_signals["answer_from_model"] is True
    assert result.quality_signals["grounded"] is True


def test_answer_replaces_ungrounded_model_answer_with_extract() -> None:
    runtime = _runtime(reply="Berlin, obviously")
    ev = select_evidence("What is the capital of France?", [(FRANCE.title, FRANCE.text)])
    result = asyncio.run(compose_answer("What is the capital of France?", [FRANCE], ev, runtime))
    assert "Berlin" not in result.answer
    assert "[1]" in result.answer
    assert result.quality_signals["answer_from_model"] is False


def test_answer_survives_model_failure_with_extract() -> None:
    runtime = _runtime(model=_FailingModel())
    ev = select_evidence("capital of France", [(FRANCE.title, FRANCE.text)])
    result = asyncio.run(compose_answer("What is the capital of France?", [FRANCE], ev, runtime))
    assert "Paris" in result.answer
    assert result.failures
    assert "model is down" in result.failures[0]


def test_strict_answer_refuses_unsupported_question() -> None:
    runtime = _runtime(reply="Forty-two")
    question = "What is the airspeed velocity of an unladen swallow?"
    ev = select_evidence(question, [(HAMLET.title, HAMLET.text)])
    result = asyncio.run(compose_answer(question, [HAMLET], ev, runtime, strict=True))
    assert result.answer == REFUSAL
    assert result.citations == []
    assert result.quality_signals["refused"] is True


def test_read_sources_validates_shape() -> None:
    with pytest.raises(StepInputError, match=r"state\['sources'\]\[0\].*is not a source"):
        read_sources(State(sources=[{"name": "x"}]))
    assert read_sources(State(docs={"u": "text"}))[0].text == "text"


def test_lesson_is_valid_and_cites_sources() -> None:
    lesson = build_lesson("hamlet", "beginner", [HAMLET, FRANCE], "Hamlet is a play by William Shakespeare.")
    Lesson.model_validate(lesson.model_dump())
    assert lesson.sections[0].title == "Introduction"
    assert lesson.exercises[0].answer == "Denmark"
    assert "_____" in lesson.exercises[0].question
    assert lesson.quiz[0].options[lesson.quiz[0].answer_index] == "Hamlet"
    assert lesson_topic("Teach me about photosynthesis") == "photosynthesis"


def test_chat_keeps_history_per_session() -> None:
    model = _Reply("Hello there")
    runtime = Runtime(model_manager=_Manager(model), sessions=SessionStore())
    step = steps.ChatStep()
    out1 = asyncio.run(step.execute(State(question="Hi, I am Ada", session_id="s1"), runtime))
    out2 = asyncio.run(step.execute(State(question="What is my name?", session_id="s1"), runtime))
    assert out1["answer"] == "Hello there"
    assert [t["content"] for t in model.seen[1][1:3]] == ["Hi, I am Ada", "Hello there"]
    assert out2["quality_signals"]["history_turns"] == 2
    assert len(runtime.sessions.history("s1")) == 4
    with pytest.raises(StepInputError, match="is not a chat turn"):
        asyncio.run(step.execute(State(question="x", history=[{"role": "robot", "content": "x"}]), runtime))


class _Hit:
    def __init__(self, title: str) -> None:
        self.title, self.url, self.doc_id = title, f"https://x/{title.replace(' ', '_')}", title
        self.snippet, self.score = f"About {title}.", 1.0


class _Search:
    """Titles it knows; a query returns the known title it names, else the default ranking."""

    def __init__(self, ranking: list[str], known: set[str]) -> None:
        self.ranking, self.known = ranking, known

    def search(self, query: str, k: int = 5) -> list[_Hit]:
        if query in self.known:
            return [_Hit(query)]
        return [_Hit(t) for t in self.ranking[:k]]


class _Fetch:
    def __init__(self, texts: dict[str, str]) -> None:
        self.texts = texts

    def fetch(self, url: str) -> Any:
        title = url.rsplit("/", 1)[1].replace("_", " ")
        return type("Doc", (), {"text": self.texts.get(title, "")})()


def test_search_follows_the_top_hit_to_the_documents_it_names() -> None:
    from steps.sources import SearchFastStep, SearchStep

    runtime = Runtime()
    ranking = ["Don Quixote", "Novel", "Spain", "Windmill", "Knight"]
    runtime.tools.register("web_search", _Search(ranking, {"Miguel de Cervantes", "Spanish Golden Age", *ranking}))
    runtime.tools.register(
        "fetch",
        _Fetch(
            {
                "Don Quixote": "Don Quixote is a novel by Miguel de Cervantes, "
                "written in the Spanish Golden Age. Unknown Name."
            }
        ),
    )
    state = State(question="What nationality was the author of Don Quixote?")
    titles = [h["title"] for h in asyncio.run(SearchStep().execute(state, runtime))["search_results"]]
    assert titles == ["Don Quixote", "Novel", "Spain", "Miguel de Cervantes", "Spanish Golden Age"]
    fast = [h["title"] for h in asyncio.run(SearchFastStep().execute(state, runtime))["search_results"]]
    assert fast == ["Don Quixote", "Novel", "Spain"]  # the fast path does no extra lookups
    runtime.settings = {"search_link_expansion": 0}
    plain = [h["title"] for h in asyncio.run(SearchStep().execute(state, runtime))["search_results"]]
    assert plain == ranking
