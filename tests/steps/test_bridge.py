"""Two-hop questions: the rule planner's shapes, and choose_bridge over the real corpus (BM25, no model)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from mm_orch.orchestration.wiring import build_default_runtime
from mm_orch.tools import SearchConfig, ToolsConfig
from mm_orch.tools.entities import TitleIndex
from steps.bridge import choose_bridge, type_matches
from steps.decompose import corpus_names, rule_plan
from steps.text import split_sentences


@pytest.mark.parametrize(
    ("question", "kind", "inner"),
    [
        ("What is the capital of the country where the Taj Mahal is located?", "bridge",
         "the country where the Taj Mahal"),
        ("The author of The Grapes of Wrath was a war correspondent in which wars?", "bridge",
         "The author of The Grapes of Wrath"),
        ("In which year did Alexander the Great's father become king?", "bridge", "Alexander the Great's father"),
        ("Who is the author of Don Quixote?", "single", ""),  # asks for the inner phrase itself
        ("What is Peru's capital?", "single", ""),
        ("When was the Battle of Hastings fought?", "single", ""),  # a name, not a phrase naming something
        ("Henna dye is made from the leaves of which plant?", "single", ""),  # the focus, nothing named
        ("Which pope commissioned Raphael's School of Athens?", "single", ""),  # possessive of a work's name
        ("Which is older, the Nile or the Amazon River?", "comparison", ""),
    ],
)  # fmt: skip
def test_rule_plan_shapes(question: str, kind: str, inner: str) -> None:
    plan = rule_plan(question)
    assert (plan.kind, plan.inner) == (kind, inner)


def test_title_index_finds_the_title_behind_a_span() -> None:
    index = TitleIndex(["The School of Athens", "H. G. Wells", "Philip II of Macedon", "Mercury (planet)"])
    assert index.lookup("school of athens") == [0]
    assert index.lookup("H G Wells") == [1]
    assert index.lookup("Philip II") == [2]
    assert index.lookup("mercury") == [3]


def test_initials_end_no_sentence() -> None:
    assert split_sentences("It is a novel by English author H. G. Wells. It was written in 1897.") == [
        "It is a novel by English author H. G. Wells.",
        "It was written in 1897.",
    ]


def test_type_matches_reads_the_lead() -> None:
    assert type_matches("country", "India, officially the Republic of India, is a country in South Asia.")
    assert type_matches("writer", "Herbert George Wells was an English writer, prolific in many genres.")
    assert not type_matches("country", "Agra is a city on the banks of the Yamuna in the Indian state of Uttar.")
    assert type_matches("capital", "Quito is the capital and second-largest city of Ecuador.")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Any:
    cache = tmp_path_factory.mktemp("bridge-cache")
    search = SearchConfig(cache_dir=Path(cache), hybrid=False, show_progress=False)
    return build_default_runtime(tools_config=ToolsConfig(search=search))


def _docs(runtime: Any, titles: list[str]) -> list[tuple[str, str]]:
    search = runtime.tool("web_search")
    return [(t, a.extract) for t in titles if (a := search.article(t)) is not None]


@pytest.mark.parametrize(
    ("question", "first_hop", "bridge"),
    [
        ("What is the capital of the country where the Taj Mahal is located?", ["Taj Mahal"], "India"),
        ("How many novels did the writer of The War of the Worlds write?", ["The War of the Worlds"],
         "H. G. Wells"),
        ("in which year did alexander the great's father become king of macedon", ["Alexander the Great"],
         "Philip II of Macedon"),
    ],
)  # fmt: skip
def test_choose_bridge_picks_the_entity_the_rest_of_the_question_is_about(
    runtime: Any, question: str, first_hop: list[str], bridge: str
) -> None:
    async def run() -> Any:
        names = await corpus_names(runtime)
        plan = rule_plan(question, names)
        assert plan.kind == "bridge"
        exclude = {n.lower() for n in names(question)} | {t.lower() for t in first_hop}
        return await choose_bridge(runtime, question, plan.inner, plan.bridge_type, _docs(runtime, first_hop),
                                   exclude)  # fmt: skip

    choice = asyncio.run(run())
    assert choice is not None
    assert choice.hit.title == bridge
    assert bridge.split()[0].lower() in choice.sentence.lower() or choice.hit.title in choice.sentence


def test_no_bridge_when_nothing_named_answers_the_rest(runtime: Any) -> None:
    question = "What is the favourite colour of the author of The War of the Worlds?"
    docs = [("Notes", "These notes mention nothing else. They are about nothing.")]
    choice = asyncio.run(choose_bridge(runtime, question, "the author of The War of the Worlds", "author",
                                       docs, set()))  # fmt: skip
    assert choice is None
