"""Text helpers the built-in steps share: sentences, content words, evidence selection and grounding checks.

A 135M-parameter model answers well only from a few relevant sentences, and its answers must be checked against
them. These helpers are that "extract and verify" half: pure functions, no models, cheap enough for every request.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "STOPWORDS",
    "Evidence",
    "content_words",
    "grounding_score",
    "normalize_answer",
    "question_coverage",
    "select_evidence",
    "split_sentences",
    "stem",
]

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
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
        "but",
        "not",
        "no",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "do",
        "does",
        "did",
        "has",
        "have",
        "had",
        "having",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "that",
        "this",
        "these",
        "those",
        "it",
        "its",
        "as",
        "into",
        "than",
        "then",
        "there",
        "their",
        "they",
        "them",
        "he",
        "she",
        "his",
        "her",
        "him",
        "we",
        "you",
        "your",
        "i",
        "me",
        "my",
        "our",
        "us",
        "about",
        "after",
        "before",
        "during",
        "over",
        "under",
        "also",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "some",
        "any",
        "each",
        "every",
        "many",
        "much",
        "more",
        "most",
        "other",
        "such",
        "only",
        "own",
        "same",
        "so",
        "too",
        "very",
        "just",
        "one",
        "ones",
        "tell",
        "name",
        "named",
        "give",
        "please",
        "known",
        "called",
        "s",
        "t",
    ]
)

# A sentence ends at . ! or ? followed by whitespace and an upper-case letter, digit or quote. Hand-written
# rather than a library splitter: the corpus is clean encyclopedic prose, and this keeps steps dependency-free.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_ABBREVIATIONS = ("e.g.", "i.e.", "c.", "ca.", "St.", "Mr.", "Mrs.", "Dr.", "U.S.", "vs.", "No.", "Jr.", "Sr.")
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")
_INITIAL = re.compile(r"(?:^|\s)[A-Z]\.$")  # "H. G. Wells": an initial ends no sentence
_PUNCT_TABLE = str.maketrans("", "", string.punctuation + "’‘“”–—")


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences (common abbreviations such as 'e.g.' and 'c.' do not end one)."""
    parts = _SENTENCE_END.split(" ".join(text.split()))
    sentences: list[str] = []
    for part in parts:
        if sentences and (sentences[-1].endswith(_ABBREVIATIONS) or _INITIAL.search(sentences[-1])):
            sentences[-1] = f"{sentences[-1]} {part}"
        elif part:
            sentences.append(part)
    return sentences


def stem(word: str) -> str:
    """A light suffix stripper (plural and common verb endings), enough to match 'wrote'/'written' loosely."""
    for suffix in ("ies", "es", "s", "ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def content_words(text: str) -> list[str]:
    """Lower-cased, stemmed words of ``text`` without stopwords, in order."""
    return [stem(w) for w in (m.group(0).lower() for m in _WORD.finditer(text)) if w not in STOPWORDS]


def normalize_answer(text: str) -> str:
    """SQuAD-style normalisation: lower case, no punctuation, no articles, single spaces."""
    text = text.lower().translate(_PUNCT_TABLE)
    return " ".join(w for w in text.split() if w not in {"a", "an", "the"})


def grounding_score(answer: str, sources: Iterable[str]) -> float:
    """Share of the answer's content words that occur in the sources (1.0 for an answer with none)."""
    words = set(content_words(answer))
    if not words:
        return 1.0
    vocabulary: set[str] = set()
    for text in sources:
        vocabulary.update(content_words(text))
    return len(words & vocabulary) / len(words)


@dataclass(frozen=True, slots=True)
class Evidence:
    """One sentence chosen as evidence, with the source it came from (``source`` indexes the source list)."""

    text: str
    source: int
    score: float


def select_evidence(
    question: str,
    documents: Sequence[tuple[str, str]],
    *,
    max_sentences: int = 3,
    per_source: int = 2,
) -> list[Evidence]:
    """The sentences of ``documents`` (``(title, text)`` pairs, best source first) that best match ``question``.

    A sentence scores the question words it shares (counting words of its document's title, since leads often
    say "It ..."), plus small bonuses for the earlier source and the earlier sentence, so ties go to the
    search ranking and to the definitional first sentence.
    """
    wanted = set(content_words(question))
    scored: list[Evidence] = []
    for rank, (title, text) in enumerate(documents):
        title_words = set(content_words(title))
        for position, sentence in enumerate(split_sentences(text)):
            words = set(content_words(sentence)) | title_words
            overlap = len(wanted & words) / max(1, len(wanted))
            score = overlap + 0.15 / (1 + rank) + 0.05 / (1 + position)
            scored.append(Evidence(sentence, rank, round(score, 6)))
    scored.sort(key=lambda e: -e.score)
    chosen: list[Evidence] = []
    taken: dict[int, int] = {}
    lead = next(
        (e for e in scored if e.source == 0 and documents and e.text == split_sentences(documents[0][1])[0]), None
    )
    if lead is not None and max_sentences > 1:  # the top document's definitional first sentence always counts
        chosen.append(lead)
        taken[0] = 1
        scored = [e for e in scored if e is not lead]
    for item in scored:
        if taken.get(item.source, 0) >= per_source:
            continue
        chosen.append(item)
        taken[item.source] = taken.get(item.source, 0) + 1
        if len(chosen) >= max_sentences:
            break
    return chosen


def question_coverage(question: str, evidence: Sequence[Evidence], titles: Sequence[str]) -> float:
    """Share of the question's content words found in the evidence sentences or their sources' titles."""
    wanted = set(content_words(question))
    if not wanted:
        return 1.0
    found: set[str] = set()
    for item in evidence:
        found.update(content_words(item.text))
        if 0 <= item.source < len(titles):
            found.update(content_words(titles[item.source]))
    return len(wanted & found) / len(wanted)
