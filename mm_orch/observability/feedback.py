"""User feedback on runs: :class:`FeedbackRecord` and the durable, append-only :class:`FeedbackStore`.

Feedback says how a traced run went, after the fact: a ``rating`` in [-1, 1] (thumbs down -1, up +1) and,
optionally, the ``workflow`` that should have been chosen. It arrives over HTTP (``POST /v1/feedback``), from
the CLI (``mm-orch feedback``) or from Python, and the router-training job reads it back as labels.

Records live beside the traces, by default ``<trace folder>/feedback/feedback.jsonl`` (see
:func:`default_feedback_path`): one complete JSON line per record, appended with a single ``os.write`` and
``fsync``-ed before :meth:`FeedbackStore.append` returns, so an acknowledged record survives a crash and
several processes can append to one file. Readers skip a torn last line (a writer killed mid-write) with a
warning instead of failing.

::

    store = FeedbackStore("data/traces/feedback/feedback.jsonl")
    store.append(FeedbackRecord(trace_id="3f2a...", rating=-1, workflow="rag_qa"))
    records = read_feedback("data/traces/feedback")
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mm_orch.exceptions import TracingError
from mm_orch.observability import metrics
from mm_orch.observability.jsonl_sink import JsonlSink

__all__ = [
    "FEEDBACK_SCHEMA_VERSION",
    "FeedbackRecord",
    "FeedbackStore",
    "default_feedback_path",
    "read_feedback",
]

logger = logging.getLogger(__name__)

FEEDBACK_SCHEMA_VERSION = 1
_FILE_NAME = "feedback.jsonl"


def _printable(value: str, field: str) -> str:
    if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise ValueError(f"{field} holds a lone UTF-16 surrogate; send valid Unicode text")
    if any(ord(c) < 0x20 for c in value if c not in "\t\n\r"):
        raise ValueError(f"{field} holds control characters; send printable text")
    return value


class FeedbackRecord(BaseModel):
    """One piece of feedback about one traced run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int = Field(default=FEEDBACK_SCHEMA_VERSION, description="Record schema version.")
    feedback_id: str = Field(default_factory=lambda: uuid.uuid4().hex, description="Unique id of this record.")
    trace_id: str = Field(min_length=1, max_length=128, description="The run this feedback is about.")
    rating: float = Field(ge=-1.0, le=1.0, description="-1 (bad) .. 1 (good); thumbs are -1 and 1.")
    workflow: str | None = Field(
        default=None, max_length=128, description="The workflow that should have been chosen, if not the one run."
    )
    comment: str = Field(default="", max_length=4000, description="Free text from the user.")
    source: Literal["http", "cli", "python"] = Field(default="python", description="Where the feedback came from.")
    created_at: float = Field(default_factory=time.time, description="Unix time (s) it was recorded.")

    @field_validator("trace_id")
    @classmethod
    def _trace_id_text(cls, value: str) -> str:
        value = _printable(value, "trace_id").strip()
        if not value:
            raise ValueError("trace_id is blank; pass the trace_id of the run (WorkflowResult.trace_id)")
        return value

    @field_validator("workflow")
    @classmethod
    def _workflow_text(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = _printable(value, "workflow").strip()
        return value or None

    @field_validator("comment")
    @classmethod
    def _comment_text(cls, value: str) -> str:
        return _printable(value, "comment")


def default_feedback_path(trace_output_path: str | Path) -> Path:
    """Where feedback goes for a tracer writing ``trace_output_path``: ``<its folder>/feedback/feedback.jsonl``."""
    path = Path(trace_output_path)
    folder = path if path.suffix == "" else path.parent
    return folder / "feedback" / _FILE_NAME


class FeedbackStore:
    """Appends :class:`FeedbackRecord` lines to one JSONL file, each synced to disk before ``append`` returns.

    ``path`` is the file, or a folder to hold ``feedback.jsonl``. Thread-safe; several processes may share it.
    """

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        self.path = path / _FILE_NAME if path.is_dir() or path.suffix == "" else path
        self._sink: JsonlSink | None = None

    def append(self, record: FeedbackRecord) -> FeedbackRecord:
        """Store ``record`` durably and return it. Raises :class:`TracingError` when the disk refuses."""
        if self._sink is None:
            self._sink = JsonlSink(self.path)
        self._sink.write_line(pydantic_core.to_json(record))
        self._sink.flush()
        metrics.count_feedback(record.source, record.rating)
        return record

    def close(self) -> None:
        """Close the file; idempotent. A later :meth:`append` reopens it."""
        if self._sink is not None:
            self._sink.close()
            self._sink = None

    def __enter__(self) -> FeedbackStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _feedback_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*.jsonl") if p.is_file())
    return []


def iter_feedback(path: str | Path) -> Iterator[FeedbackRecord]:
    """Every valid record under ``path`` (a file or a folder searched recursively), in file order."""
    for file in _feedback_files(Path(path)):
        try:
            lines = file.read_bytes().split(b"\n")
        except OSError as exc:
            raise TracingError(f"cannot read feedback file {str(file)!r}: {exc}; check its permissions") from exc
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                yield FeedbackRecord.model_validate(json.loads(line))
            except (ValueError, ValidationError) as exc:
                logger.warning("skipping invalid feedback line %s:%d (%s)", file, number, str(exc)[:200])


def read_feedback(path: str | Path) -> list[FeedbackRecord]:
    """All valid records under ``path``; an absent path gives ``[]`` (no feedback yet)."""
    return list(iter_feedback(path))
