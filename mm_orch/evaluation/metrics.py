"""Scoring rules: retrieval hit@k and answer accuracy by normalised containment."""

from __future__ import annotations

import re
import string
from collections.abc import Sequence

__all__ = ["answer_correct", "hit_at_k", "normalize"]

_PUNCT = str.maketrans("", "", string.punctuation + "’‘“”–—")
_MARKER = re.compile(r"\[\d+\]")


def normalize(text: str) -> str:
    """Lower case, citation markers and punctuation removed, articles dropped, whitespace collapsed."""
    text = _MARKER.sub(" ", text).lower().translate(_PUNCT)
    return " ".join(w for w in text.split() if w not in {"a", "an", "the"})


def answer_correct(answer: str, gold: Sequence[str]) -> bool:
    """True when any gold answer, normalised, occurs as whole words in the normalised answer."""
    padded = f" {normalize(answer)} "
    return any(f" {normalize(g)} " in padded for g in gold if normalize(g))


def hit_at_k(retrieved_titles: Sequence[str], gold_title: str, k: int) -> bool:
    """True when ``gold_title`` is among the first ``k`` retrieved titles (case-insensitive)."""
    wanted = gold_title.casefold()
    return any(t.casefold() == wanted for t in list(retrieved_titles)[:k])
