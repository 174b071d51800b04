"""Structural scoring of lesson and chat replies against a prompt record's ``expect`` keys.

Each key is one check that passes or fails (data/eval/README.md defines them):

- ``min_words`` / ``max_words``, ``max_sentences``, ``max_lines``: size of the reply text;
- ``min_sections`` / ``max_sections``: lesson sections (the lesson pack's ``sections``, else Markdown headings);
- ``quiz``, ``min_quiz_questions``: the lesson has a quiz (with at least N questions);
- ``min_bullets`` / ``max_bullets``, ``min_numbered_steps``: list items ("- ", "* ", "• " / "1. ", "2) ");
- ``min_questions``, ``ends_with_question``: question marks in the reply / the reply ends with one;
- ``must_include`` (all), ``must_include_any`` (one), ``must_not_include`` (none): case-insensitive phrases;
- ``json_keys``: the reply (or the lesson pack) is a JSON object with these keys.

A lesson reply's text is its answer plus the lesson's sections, exercises and quiz, so phrases in any of them
count.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["CHECKS", "reply_text", "score_structure"]

_WORD = re.compile(r"\b[\w'’-]+\b")
_SENTENCE = re.compile(r"[^.!?]+[.!?]+")
_BULLET = re.compile(r"^\s*(?:[-*•])\s+\S", re.MULTILINE)
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+\S", re.MULTILINE)
_HEADING = re.compile(r"^\s*#{1,6}\s+\S", re.MULTILINE)


def reply_text(answer: str, lesson: Mapping[str, Any] | None) -> str:
    """Everything the user reads: the answer, and for a lesson its sections, exercises and quiz."""
    parts = [answer]
    if lesson:
        for section in lesson.get("sections") or []:
            parts += [str(section.get("title", "")), str(section.get("explanation", ""))]
        for exercise in lesson.get("exercises") or []:
            parts += [str(exercise.get("question", "")), str(exercise.get("answer", ""))]
        for quiz in lesson.get("quiz") or []:
            parts += [str(quiz.get("question", "")), *[str(o) for o in quiz.get("options") or []]]
    return "\n".join(p for p in parts if p)


def _sections(answer: str, lesson: Mapping[str, Any] | None) -> int:
    if lesson and lesson.get("sections"):
        return len(lesson["sections"])
    return len(_HEADING.findall(answer))


def _quiz(lesson: Mapping[str, Any] | None) -> int:
    return len((lesson or {}).get("quiz") or [])


def _json_keys(answer: str, lesson: Mapping[str, Any] | None, keys: list[str]) -> bool:
    obj: Any = lesson
    if not obj:
        try:
            obj = json.loads(answer)
        except ValueError:
            return False
    return isinstance(obj, dict) and all(k in obj for k in keys)


def _contains(text: str, phrase: str) -> bool:
    return phrase.casefold() in text.casefold()


Check = Callable[[str, str, "Mapping[str, Any] | None", Any], bool]

CHECKS: dict[str, Check] = {
    "min_words": lambda a, t, les, v: len(_WORD.findall(a)) >= int(v),
    "max_words": lambda a, t, les, v: len(_WORD.findall(a)) <= int(v),
    "max_sentences": lambda a, t, les, v: len(_SENTENCE.findall(a)) <= int(v),
    "max_lines": lambda a, t, les, v: len([ln for ln in a.splitlines() if ln.strip()]) <= int(v),
    "min_sections": lambda a, t, les, v: _sections(a, les) >= int(v),
    "max_sections": lambda a, t, les, v: _sections(a, les) <= int(v),
    "quiz": lambda a, t, les, v: (_quiz(les) > 0) == bool(v),
    "min_quiz_questions": lambda a, t, les, v: _quiz(les) >= int(v),
    "min_bullets": lambda a, t, les, v: len(_BULLET.findall(a)) >= int(v),
    "max_bullets": lambda a, t, les, v: len(_BULLET.findall(a)) <= int(v),
    "min_numbered_steps": lambda a, t, les, v: len(_NUMBERED.findall(a)) >= int(v),
    "min_questions": lambda a, t, les, v: a.count("?") >= int(v),
    "ends_with_question": lambda a, t, les, v: a.rstrip().endswith("?") == bool(v),
    "must_include": lambda a, t, les, v: all(_contains(t, p) for p in v),
    "must_include_any": lambda a, t, les, v: any(_contains(t, p) for p in v),
    "must_not_include": lambda a, t, les, v: not any(_contains(t, p) for p in v),
    "json_keys": lambda a, t, les, v: _json_keys(a, les, list(v)),
}


def score_structure(expect: Mapping[str, Any], answer: str, lesson: Mapping[str, Any] | None) -> dict[str, bool]:
    """``{check: passed}`` for every key of ``expect``; an unknown key fails with its name kept."""
    text = reply_text(answer, lesson)
    return {key: bool(key in CHECKS and CHECKS[key](answer, text, lesson, value)) for key, value in expect.items()}
