"""The evaluation sets: one JSON object per line, validated (no pickle, no eval).

Two shapes of question record are read:

* the hand-written sets ``data/eval/qa_{dev,test}.jsonl`` (documented in data/eval/README.md): ``kind`` is
  ``single``, ``bridge``, ``comparison`` or ``unanswerable``; unanswerable records name ``closest_titles``;
* the older ``data/eval/questions.jsonl`` (no ``kind``): ``hops`` 1 is read as ``single``, 2 as ``bridge``.

Prompt records (``data/eval/prompts_{dev,test}.jsonl``) are lesson and chat requests scored on structure by the
``expect`` keys (:mod:`mm_orch.evaluation.structure`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mm_orch.exceptions import ConfigError

__all__ = [
    "DEFAULT_QUESTIONS",
    "EVAL_DIR",
    "EvalPrompt",
    "EvalQuestion",
    "Kind",
    "first_per_kind",
    "load_prompts",
    "load_questions",
    "split_paths",
]

EVAL_DIR = Path("data/eval")
DEFAULT_QUESTIONS = EVAL_DIR / "questions.jsonl"
R = TypeVar("R")
Kind = Literal["single", "bridge", "comparison", "unanswerable"]


class EvalQuestion(BaseModel):
    """One question with its gold answers and the gold source titles (in hop order)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, description="Stable id, e.g. 's001'.")
    question: str = Field(min_length=1, description="The question as a user would ask it.")
    kind: Kind = Field(default="single", description="single, bridge, comparison or unanswerable.")
    answers: list[str] = Field(default_factory=list, description="Accepted answers; any one counts.")
    gold_titles: list[str] = Field(default_factory=list, description="Source articles, in hop order.")
    alt_titles: list[str] = Field(
        default_factory=list, description="Other articles that also state the answer (count as a hit)."
    )
    closest_titles: list[str] = Field(
        default_factory=list, description="unanswerable only: the articles nearest to what was asked."
    )
    absent_terms: list[str] = Field(
        default_factory=list, description="unanswerable only: terms not in the corpus."
    )
    bridge: str | list[str] | None = Field(default=None, description="bridge only: the bridge entity.")
    facts: Any = Field(default=None, description="comparison only: the compared facts, as the author noted them.")
    hops: int = Field(default=1, ge=0, le=3, description="Articles the answer needs (0 for unanswerable).")
    note: str = Field(default="", description="Author's note.")
    split: Literal["dev", "test"] | None = Field(default=None, description="Which split the record is in.")

    @model_validator(mode="before")
    @classmethod
    def _kind_from_hops(cls, data: Any) -> Any:
        if isinstance(data, dict) and "kind" not in data:
            data = {**data, "kind": "bridge" if int(data.get("hops", 1)) >= 2 else "single"}
        return data

    @model_validator(mode="after")
    def _answerable_has_gold(self) -> EvalQuestion:
        if self.kind != "unanswerable" and (not self.answers or not self.gold_titles):
            raise ValueError(f"{self.kind} question {self.id!r} needs answers and gold_titles")
        return self

    @property
    def answerable(self) -> bool:
        return self.kind != "unanswerable"

    @property
    def multi_hop(self) -> bool:
        return self.kind in ("bridge", "comparison")


class EvalPrompt(BaseModel):
    """A lesson or chat request whose reply is scored on structure (``expect``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, description="Stable id, e.g. 'l001'.")
    kind: Literal["lesson", "chat"] = Field(description="lesson or chat.")
    prompt: str = Field(min_length=1, description="What the user sends.")
    topic_titles: list[str] = Field(default_factory=list, description="Corpus articles on the topic, if any.")
    expect: dict[str, Any] = Field(default_factory=dict, description="Structural checks (see structure.py).")
    note: str = Field(default="", description="Author's note.")
    split: Literal["dev", "test"] | None = Field(default=None, description="Which split the record is in.")


def first_per_kind(records: Sequence[R], n: int | None) -> list[R]:
    """The first ``n`` records of each ``kind`` (all when ``n`` is None), in their original order: a quick run
    still sees every kind."""
    if n is None:
        return list(records)
    seen: dict[str, int] = {}
    out = []
    for record in records:
        kind = str(getattr(record, "kind", ""))
        if seen.get(kind, 0) < n:
            seen[kind] = seen.get(kind, 0) + 1
            out.append(record)
    return out


def split_paths(split: str, directory: Path = EVAL_DIR) -> tuple[Path, Path]:
    """``(qa file, prompts file)`` of a split: ``qa_<split>.jsonl`` and ``prompts_<split>.jsonl``."""
    if split not in ("dev", "test"):
        raise ConfigError(f"unknown split {split!r}; use 'dev' or 'test'")
    return directory / f"qa_{split}.jsonl", directory / f"prompts_{split}.jsonl"


def _records(path: Path, model: type[BaseModel], what: str) -> list[Any]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc}; pass an existing JSONL file") from exc
    out = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.append(model.model_validate(json.loads(line)))
        except (ValueError, ValidationError) as exc:
            raise ConfigError(f"{path}:{number} is not a valid {what} record: {exc}") from exc
    if not out:
        raise ConfigError(f"{what} {path} holds no records")
    return out


def load_questions(path: str | Path = DEFAULT_QUESTIONS) -> list[EvalQuestion]:
    """Read and validate a question set; errors name the file and line."""
    return _records(Path(path), EvalQuestion, "evaluation question")


def load_prompts(path: str | Path) -> list[EvalPrompt]:
    """Read and validate a prompt set; errors name the file and line."""
    return _records(Path(path), EvalPrompt, "evaluation prompt")
