"""Scoring rules: answer containment, exact match and token F1, citation and retrieval hits.

Normalisation (the same for answers and gold): diacritics folded ("Øresund" == "Oresund"), lower case, citation
markers, punctuation and articles dropped, thousands separators removed ("1,000" == "1000"), number words up to
twenty read as digits ("seven" == "7").

* **contains**: a gold answer occurs in the whole answer text starting at a word boundary (a numeric gold must
  also end at a digit boundary: "10" is not in "1910"). The answer text includes the supporting evidence
  sentence, so this measures "the user was shown the right answer with its source".
* **exact** / **F1**: the *headline* (the answer's first paragraph, before "Evidence:"/"Via:") against the best
  gold, SQuAD style.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

__all__ = [
    "answer_contains",
    "answer_correct",
    "exact_match",
    "headline",
    "hit_at_k",
    "normalize",
    "title_hit",
    "token_f1",
]

_PUNCT = str.maketrans("", "", string.punctuation.replace("-", "") + "’‘“”«»")
_MARKER = re.compile(r"\[\d+\]")
_FOLD = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "ł": "l", "đ": "d", "ı": "i", "ð": "d", "þ": "th"}
)
_NUMBER_WORDS = dict(
    zip(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ],
        [str(i) for i in range(21)],
        strict=True,
    )
)
_ARTICLES = {"a", "an", "the"}


def normalize(text: str) -> str:
    """Folded, lower-cased words without markers, punctuation or articles, single-spaced."""
    text = unicodedata.normalize("NFKD", _MARKER.sub(" ", text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold().translate(_FOLD)
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    text = re.sub(r"[\u2010-\u2015\u2212-]", " ", text).translate(_PUNCT)
    return " ".join(_NUMBER_WORDS.get(w, w) for w in text.split() if w not in _ARTICLES)


def headline(answer: str) -> str:
    """The answer's first paragraph (the short answer, before any evidence or via lines)."""
    first = answer.strip().split("\n\n", 1)[0]
    return re.split(r"\b(?:Evidence|Via):", first, maxsplit=1)[0].strip()


def answer_contains(answer: str, gold: Iterable[str]) -> bool:
    """A normalised gold answer occurs in the normalised answer, starting at a word boundary."""
    text = normalize(answer)
    for g in gold:
        wanted = normalize(g)
        if not wanted:
            continue
        tail = r"(?![0-9])" if wanted[-1].isdigit() else ""
        if re.search(r"(?<![a-z0-9])" + re.escape(wanted) + tail, text):
            return True
    return False


answer_correct = answer_contains  # the name the older reports used


def exact_match(answer: str, gold: Iterable[str]) -> bool:
    """The normalised headline equals a normalised gold answer."""
    head = normalize(headline(answer))
    return any(head == normalize(g) for g in gold if normalize(g))


def token_f1(answer: str, gold: Iterable[str]) -> float:
    """Best token-level F1 of the headline against any gold answer (SQuAD)."""
    predicted = normalize(headline(answer)).split()
    best = 0.0
    for g in gold:
        truth = normalize(g).split()
        if not truth or not predicted:
            continue
        common = sum((Counter(predicted) & Counter(truth)).values())
        if common:
            precision, recall = common / len(predicted), common / len(truth)
            best = max(best, 2 * precision * recall / (precision + recall))
    return round(best, 4)


def title_hit(titles: Sequence[str], wanted: Iterable[str]) -> bool:
    """Any of ``wanted`` is among ``titles`` (case-insensitive)."""
    have = {t.casefold() for t in titles}
    return any(w.casefold() in have for w in wanted)


def hit_at_k(retrieved_titles: Sequence[str], gold_title: str, k: int) -> bool:
    """True when ``gold_title`` is among the first ``k`` retrieved titles (case-insensitive)."""
    return title_hit(list(retrieved_titles)[:k], [gold_title])
