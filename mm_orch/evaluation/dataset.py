"""The evaluation set: one JSON object per line, validated (no pickle, no eval)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mm_orch.exceptions import ConfigError

__all__ = ["DEFAULT_QUESTIONS", "EvalQuestion", "load_questions"]

DEFAULT_QUESTIONS = Path("data/eval/questions.jsonl")


class EvalQuestion(BaseModel):
    """One question with its gold answers and the gold source titles (in hop order)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, description="Stable id, e.g. 'q001'.")
    question: str = Field(min_length=1, description="The question as a user would ask it.")
    answers: list[str] = Field(min_length=1, description="Accepted answers; any one contained counts as correct.")
    gold_titles: list[str] = Field(min_length=1, description="Titles of the source documents, in hop order.")
    alt_titles: list[str] = Field(
        default_factory=list, description="Other documents that also state the answer (count as a retrieval hit)."
    )
    hops: Literal[1, 2] = Field(description="1 for single-hop, 2 when the answer needs a bridge document.")


def load_questions(path: str | Path = DEFAULT_QUESTIONS) -> list[EvalQuestion]:
    """Read and validate the evaluation set; errors name the file and line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read evaluation set {path}: {exc}; pass --questions PATH") from exc
    questions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            questions.append(EvalQuestion.model_validate(json.loads(line)))
        except (ValueError, ValidationError) as exc:
            raise ConfigError(f"{path}:{number} is not a valid evaluation question: {exc}") from exc
    if not questions:
        raise ConfigError(f"evaluation set {path} holds no questions")
    return questions
