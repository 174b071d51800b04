"""Parquet sink: runs go through a bounded buffer to one background writer thread, which converts them to Arrow
in batches and writes fixed-size row groups into rolling files.

Visibility contract: a file is written under a hidden temporary name (``.<name>.tmp`` in the same folder), fsynced,
then atomically renamed to ``traces-<UTC time>-<pid>-<token>-<n>.parquet``. Readers that list the folder
(``pyarrow.dataset``, ``ray.data.read_parquet``, :func:`~mm_orch.observability.readers.read_traces`) skip names
starting with ``.`` and not ending in ``.parquet``, so they only ever see complete files. A file is published when
it reaches ``rows_per_file`` rows, when its first row is ``max_file_age_s`` old, on :meth:`ParquetSink.flush` and on
:meth:`ParquetSink.close`. A writer killed mid-file (``kill -9``, OOM) leaves its temporary file behind; the next
sink started on the folder removes every temporary file whose writer process (the pid in its name) is gone
(:func:`remove_stale_temp_files`), so nothing partial piles up.

Memory bound: at most ``queue_size`` runs wait in the buffer, plus one batch being converted, plus fewer than
``row_group_size`` converted rows; nothing else grows with the number of runs.

Why a thread: the writer converts each batch with :class:`~mm_orch.observability.json_to_arrow.JsonBatchConverter`,
whose work is Arrow's C++ JSON reader running with the GIL released (~10 us of CPU a 5-step run, on whichever core
is free), plus ~1.5 us a run of GIL-held Python per batch. So a CPU-bound caller is not throttled by the writer;
its share is serialising the record to JSON once (shared with the JSONL sink) and one list append. A separate
writer process was measured as well and was no faster (the same conversion CPU, plus a pipe), so the simpler
thread stays. Queuing the JSON bytes rather than the record also snapshots it (a caller changing the record later
cannot change the row) and keeps the queue small (~2 KB per run).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from pathlib import Path
from typing import IO, Literal

import pyarrow as pa
import pyarrow.parquet as pq
import pydantic_core

from mm_orch.exceptions import TracingError
from mm_orch.observability import metrics
from mm_orch.observability.arrow_schema import trace_arrow_schema
from mm_orch.observability.bounded_buffer import BoundedBuffer
from mm_orch.observability.json_to_arrow import JsonBatchConverter
from mm_orch.observability.records import WorkflowTrace

__all__ = ["ParquetSink", "remove_stale_temp_files"]

logger = logging.getLogger(__name__)

_MAX_BATCH = 2048  # runs converted per JsonBatchConverter.convert call


class ParquetSink:
    """Writes :class:`WorkflowTrace` records as Parquet rows; ``write`` is thread-safe and cheap."""

    def __init__(
        self,
        directory: str | Path,
        *,
        rows_per_file: int = 100_000,
        row_group_size: int = 10_000,
        max_file_age_s: float = 60.0,
        compression: Literal["zstd", "snappy", "gzip", "none"] = "zstd",
        queue_size: int = 10_000,
        on_queue_full: Literal["block", "drop"] = "block",
    ) -> None:
        if row_group_size > rows_per_file:
            raise TracingError(f"row_group_size={row_group_size} exceeds rows_per_file={rows_per_file}.")
        self.directory = Path(directory)
        self.rows_per_file = rows_per_file
        self.row_group_size = row_group_size
        self.max_file_age_s = max_file_age_s
        self.compression = compression
        self.schema = trace_arrow_schema()
        self._converter = JsonBatchConverter(self.schema, self._bad_record)
        _warm_up(self._converter)
        _prepare_dir(self.directory)
        self.stale_removed = remove_stale_temp_files(self.directory)
        self._buffer: BoundedBuffer[bytes] = BoundedBuffer(
            queue_size, on_full=on_queue_full, batch_hint=min(_MAX_BATCH, row_group_size)
        )
        self._token = uuid.uuid4().hex[:8]
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        # Flush handshake: flush() bumps _flush_asked and waits until the writer sets _flush_done to it.
        self._flush_cond = threading.Condition()
        self._flush_asked = 0
        self._flush_done = 0
        # Writer-thread state (touched by the writer thread only, read for stats).
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._file: IO[bytes] | None = None
        self._tmp_path: Path | None = None
        self._final_path: Path | None = None
        self._file_rows = 0
        self._file_opened_at = 0.0
        self._seq = 0
        # Counters.
        self.rows_written = 0
        self.files_written = 0
        self.rows_lost = 0
        self.last_file: Path | None = None
        self.error_count = 0
        self._errors: list[str] = []
        self._errors_lock = threading.Lock()

    # ---- producer side -------------------------------------------------------------------------------------
    def write(self, trace: WorkflowTrace) -> bool:
        """Queue ``trace``; returns False when it was dropped because the queue was full (``"drop"`` mode)."""
        return self.write_json(pydantic_core.to_json(trace))

    def write_json(self, record_json: bytes) -> bool:
        """Queue one record serialised as JSON (a snapshot: later changes to the record do not leak in)."""
        if self._thread is None:
            self._start()
        return self._buffer.put(record_json)

    def flush(self, timeout: float | None = None) -> None:
        """Write every run queued so far and publish the open file; raises :class:`TracingError` on writer errors."""
        if self._thread is not None and self._thread.is_alive():
            with self._flush_cond:
                self._flush_asked += 1
                wanted = self._flush_asked
                self._buffer.wake()
                if not self._flush_cond.wait_for(lambda: self._flush_done >= wanted, timeout):
                    raise TracingError(
                        f"Parquet flush did not finish within {timeout} s; the writer for "
                        f"{str(self.directory)!r} is stuck or the disk is slow."
                    )
        self._raise_errors()

    def close(self) -> None:
        """Write everything queued, publish the open file and stop the writer thread; idempotent."""
        self._buffer.close()
        if self._thread is not None:
            self._thread.join()
        self._raise_errors()

    @property
    def dropped(self) -> int:
        """Runs dropped because the queue was full, plus rows lost to write errors."""
        return self._buffer.dropped + self.rows_lost

    @property
    def queue_high_water(self) -> int:
        """Most runs ever waiting in the queue at once."""
        return self._buffer.high_water

    @property
    def rows_pending(self) -> int:
        """Runs accepted but not yet in a published file."""
        return len(self._buffer) + self._pending_rows + self._file_rows

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                if self._buffer.closed:
                    raise TracingError("The Parquet trace sink is closed; create a new Tracer.")
                thread = threading.Thread(target=self._run, name=f"mm-orch-parquet-{self._token}", daemon=True)
                thread.start()
                self._thread = thread

    def _raise_errors(self) -> None:
        with self._errors_lock:
            errors, self._errors = self._errors, []
        if errors:
            raise TracingError(
                f"The Parquet trace writer for {str(self.directory)!r} failed {len(errors)} time(s); "
                f"first: {errors[0]}. Check free space and permissions of that folder."
            )

    def _record_error(self, message: str) -> None:
        logger.error("Parquet trace writer: %s", message)
        with self._errors_lock:
            self.error_count += 1
            self._errors.append(message)

    # ---- writer thread -------------------------------------------------------------------------------------
    def _run(self) -> None:
        poll_s = min(1.0, self.max_file_age_s / 4)
        try:
            while True:
                items = self._buffer.take(timeout=poll_s)
                if items:
                    self._convert(items)
                    self._write_full_groups()
                if self._flush_asked != self._flush_done or self._buffer.closed:
                    with self._flush_cond:
                        asked = self._flush_asked
                    self._convert(self._buffer.take(timeout=0))
                    self._write_full_groups()
                    self._write_rest_and_publish()
                    with self._flush_cond:
                        self._flush_done = asked
                        self._flush_cond.notify_all()
                    if self._buffer.closed and not len(self._buffer):
                        return
                elif self._file_rows + self._pending_rows and self._age() >= self.max_file_age_s:
                    self._write_rest_and_publish()
        except BaseException as err:  # keep producers from blocking forever on a dead writer
            self._record_error(f"writer thread crashed: {type(err).__name__}: {err}")
            self._buffer.close()
            with self._flush_cond:
                self._flush_done = self._flush_asked = max(self._flush_asked, self._flush_done)
                self._flush_cond.notify_all()
            raise

    def _age(self) -> float:
        return time.monotonic() - self._file_opened_at

    def _convert(self, items: list[bytes]) -> None:
        for start in range(0, len(items), _MAX_BATCH):
            table = self._converter.convert(items[start : start + _MAX_BATCH])
            if table.num_rows:
                if not self._pending_rows and not self._file_rows:
                    self._file_opened_at = time.monotonic()
                self._pending.append(table)
                self._pending_rows += table.num_rows

    def _bad_record(self, record_json: bytes, err: Exception) -> None:
        """Isolated by the converter: a record that does not fit the schema (only possible via write_json)."""
        self.rows_lost += 1
        metrics.count_trace_drops("parquet", "invalid_record")
        self._record_error(f"record {record_json[:80]!r}... does not fit the trace schema: {err}")

    def _write_full_groups(self) -> None:
        while self._pending_rows >= min(self.row_group_size, self.rows_per_file - self._file_rows):
            self._write_group(min(self.row_group_size, self.rows_per_file - self._file_rows))

    def _write_rest_and_publish(self) -> None:
        while self._pending_rows:
            self._write_group(min(self._pending_rows, self.row_group_size, self.rows_per_file - self._file_rows))
        self._publish()

    def _write_group(self, n: int) -> None:
        table = pa.concat_tables(self._pending) if len(self._pending) > 1 else self._pending[0]
        group, rest = table.slice(0, n), table.slice(n)
        self._pending = [rest] if rest.num_rows else []
        self._pending_rows = rest.num_rows
        try:
            if self._writer is None:
                self._open_file()
            assert self._writer is not None
            self._writer.write_table(group, row_group_size=n)
            self._file_rows += n
        except (OSError, pa.ArrowException) as err:
            self.rows_lost += n + self._file_rows
            metrics.count_trace_drops("parquet", "write_error", n + self._file_rows)
            self._record_error(f"writing {str(self._tmp_path)!r} failed: {err}")
            self._abort_file()
            return
        if self._file_rows >= self.rows_per_file:
            self._publish()

    def _open_file(self) -> None:
        self._seq += 1
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        name = f"traces-{stamp}-{os.getpid()}-{self._token}-{self._seq:06d}.parquet"
        self._final_path = self.directory / name
        self._tmp_path = self.directory / f".{name}.tmp"
        self._file = open(self._tmp_path, "wb")  # noqa: SIM115 - closed in _publish/_abort_file
        self._writer = pq.ParquetWriter(self._file, self.schema, compression=self.compression)

    def _publish(self) -> None:
        if self._writer is None:
            return
        assert self._file is not None
        assert self._tmp_path is not None
        assert self._final_path is not None
        try:
            self._writer.close()
            self._file.flush()
            os.fsync(self._file.fileno())  # data on disk before the name appears
            self._file.close()
            os.replace(self._tmp_path, self._final_path)
        except (OSError, pa.ArrowException) as err:
            self.rows_lost += self._file_rows
            metrics.count_trace_drops("parquet", "write_error", self._file_rows)
            self._record_error(f"publishing {str(self._final_path)!r} failed: {err}")
            self._abort_file()
            return
        self.rows_written += self._file_rows
        metrics.count_trace_rows("parquet", self._file_rows)
        self.files_written += 1
        self.last_file = self._final_path
        self._writer = self._file = None
        self._file_rows = 0
        self._file_opened_at = time.monotonic()

    def _abort_file(self) -> None:
        for closer in (self._writer, self._file):
            with contextlib.suppress(Exception):  # already failing; the tmp file is removed below
                if closer is not None:
                    closer.close()
        if self._tmp_path is not None:
            self._tmp_path.unlink(missing_ok=True)
        self._writer = self._file = None
        self._file_rows = 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def remove_stale_temp_files(directory: Path) -> int:
    """Remove ``.traces-<time>-<pid>-<token>-<n>.parquet.tmp`` files whose writer process is no longer running
    (it was killed before publishing them); files of live writers, this one included, are left alone. Returns
    how many were removed. (A pid reused by an unrelated process only delays the clean-up to a later start.)"""
    removed = 0
    for tmp in directory.glob(".traces-*.parquet.tmp"):
        parts = tmp.name.split("-")
        pid = int(parts[2]) if len(parts) >= 5 and parts[2].isdigit() else None
        if pid is None or pid == os.getpid() or _pid_alive(pid):
            continue
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
            removed += 1
    if removed:
        logger.info("removed %d temporary trace file(s) left by killed writers in %s", removed, directory)
    return removed


def _prepare_dir(directory: Path) -> None:
    if directory.exists() and not directory.is_dir():
        raise TracingError(
            f"The Parquet trace folder {str(directory)!r} is a file. Pass a folder path as parquet_dir "
            f"(e.g. {str(directory.parent / 'parquet')!r}), or parquet=False."
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise TracingError(
            f"Cannot create the Parquet trace folder {str(directory)!r}: {err.strerror or err}. "
            "Pass a parquet_dir that can be created and written, or parquet=False."
        ) from err
    if not os.access(directory, os.W_OK | os.X_OK):
        raise TracingError(
            f"The Parquet trace folder {str(directory)!r} is not writable. Fix its permissions or pass another "
            "parquet_dir."
        )


_WARM = threading.Event()


def _warm_up(converter: JsonBatchConverter) -> None:
    """Convert one sample record now, once per process.

    pyarrow imports pandas lazily on its first array conversion; if that first conversion happened on the
    writer thread during interpreter shutdown (a tracer closed by atexit), the import would fail with
    "can't register atexit after shutdown" and the last rows would be lost.
    """
    if _WARM.is_set():
        return
    sample = WorkflowTrace(
        trace_id="warm-up",
        request_id="warm-up",
        timestamp=0.0,
        workflow="warm-up",
        quality_signals={"q": 1.0},
        router_alternatives={"w": 1.0},
        metadata={"k": "v"},
    )
    converter.convert([sample.model_dump_json().encode()])
    _WARM.set()
