"""JSONL sink: one complete JSON line per run, appended with a single ``write`` call.

The file is opened unbuffered in append mode (``O_APPEND``), and each record goes out as one ``os.write`` of the
whole line under a lock, so a reader (``tail -f``, :func:`~mm_orch.observability.readers.read_traces`) never
sees two lines interleaved, and several processes appending to one file do not overwrite each other's lines.

Optional size-based rotation: once the next line would take the live file past ``max_bytes``, the live file is
renamed to ``<stem>-<UTC time>-<n><suffix>`` in the same folder (so rotated names sort before the live name and in
time order) and a fresh live file is started. Rotation is coordinated inside one process only; when several
processes share a file, leave rotation off or give each process its own file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
import time
from pathlib import Path

import pydantic_core

from mm_orch.exceptions import TracingError
from mm_orch.observability.records import WorkflowTrace

__all__ = ["JsonlSink"]


def _open_append(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)


class JsonlSink:
    """Appends :class:`WorkflowTrace` records to a JSONL file; thread-safe."""

    def __init__(self, path: str | Path, *, max_bytes: int | None = None, backup_count: int | None = None) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backup_count = backup_count
        self.lines_written = 0
        self.files_rotated = 0
        self._lock = threading.Lock()
        _prepare_parent(self.path)
        try:
            self._fd: int | None = _open_append(self.path)
        except OSError as err:
            raise TracingError(
                f"Cannot open the JSONL trace file {str(self.path)!r} for appending: {err.strerror}. "
                "Pass a writable file path as output_path (e.g. 'data/traces/traces.jsonl'), or jsonl=False."
            ) from err
        self._size = os.fstat(self._fd).st_size

    def write(self, trace: WorkflowTrace) -> None:
        """Append ``trace`` as one line. Raises :class:`TracingError` if the file cannot be written."""
        self.write_line(pydantic_core.to_json(trace))

    def write_line(self, record_json: bytes) -> None:
        """Append one record already serialised as JSON (no newline) as one line."""
        line = record_json + b"\n"
        with self._lock:
            if self._fd is None:
                raise TracingError(f"The JSONL sink for {str(self.path)!r} is closed; create a new Tracer.")
            if self.max_bytes is not None and self._size > 0 and self._size + len(line) > self.max_bytes:
                self._rotate()
            try:
                written = os.write(self._fd, line)
            except OSError as err:
                raise TracingError(
                    f"Writing a trace line to {str(self.path)!r} failed: {err.strerror}. "
                    "Check free disk space and permissions of the trace folder."
                ) from err
            if written != len(line):  # only on a full disk / quota; never leave half a record unterminated
                raise TracingError(
                    f"Short write to {str(self.path)!r} ({written} of {len(line)} bytes); the disk is probably "
                    "full. Free space in the trace folder."
                )
            self._size += written
            self.lines_written += 1

    def _rotate(self) -> None:
        assert self._fd is not None
        os.close(self._fd)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        self.files_rotated += 1
        target = self.path.with_name(f"{self.path.stem}-{stamp}-{self.files_rotated:06d}{self.path.suffix}")
        with contextlib.suppress(FileNotFoundError):  # someone else moved it; start a fresh file either way
            os.replace(self.path, target)
        self._fd = _open_append(self.path)
        self._size = os.fstat(self._fd).st_size
        if self.backup_count is not None:
            rotated = sorted(self.path.parent.glob(f"{self.path.stem}-*{self.path.suffix}"))
            for old in rotated[: max(0, len(rotated) - self.backup_count)]:
                old.unlink(missing_ok=True)

    def flush(self) -> None:
        """Push written lines to stable storage (``fsync``); lines are visible to readers as soon as written."""
        with self._lock:
            if self._fd is None:
                return
            try:
                os.fsync(self._fd)
            except OSError as err:
                if err.errno != errno.EINVAL:  # EINVAL: a pipe or device, nothing to sync
                    raise TracingError(
                        f"Syncing the JSONL trace file {str(self.path)!r} failed: {err.strerror}. "
                        "Check the disk holding the trace folder."
                    ) from err

    def close(self) -> None:
        """Close the file; idempotent."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def _prepare_parent(path: Path) -> None:
    if path.is_dir():
        raise TracingError(
            f"The JSONL trace path {str(path)!r} is a directory. Pass a file path inside it, "
            f"e.g. {str(path / 'traces.jsonl')!r}."
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise TracingError(
            f"Cannot create the folder {str(path.parent)!r} for the JSONL trace file: {err.strerror or err}. "
            "Pass an output_path whose folder can be created and written (or create it first)."
        ) from err
