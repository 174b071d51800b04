"""The tracer the graph executor calls: a sampling decision per run, then one finished record to every sink.

Typical use::

    from mm_orch.observability.tracer import Tracer

    with Tracer("data/traces/traces.jsonl") as tracer:      # JSONL + Parquet in data/traces/parquet/
        executor = GraphExecutor(step_registry, tracer=tracer)
        ...

The executor calls ``tracer.sampled()`` once per run, before building any record, and skips all trace work when
it returns False; for sampled runs it builds one :class:`WorkflowTrace` and calls ``tracer.write(trace)``.

Failure policy: a sink that cannot write (disk full, permissions) never fails the user's request. ``write`` logs
the error and counts the run as dropped; the next :meth:`Tracer.flush` or :meth:`Tracer.close` raises
:class:`~mm_orch.exceptions.TracingError` describing it. Misuse (writing a non-record, writing after close) raises
at once. Tracers still open at interpreter exit are closed by an ``atexit`` hook so buffered rows are kept.
"""

from __future__ import annotations

import atexit
import json
import logging
import random
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field

from mm_orch.exceptions import TracingError
from mm_orch.observability import metrics
from mm_orch.observability.config import DEFAULT_JSONL_PATH, TracerConfig
from mm_orch.observability.jsonl_sink import JsonlSink
from mm_orch.observability.parquet_sink import ParquetSink
from mm_orch.observability.records import WorkflowTrace

__all__ = ["Tracer", "TracerStats"]

logger = logging.getLogger(__name__)

# Strong references: a tracer dropped without close() must still be closed at exit, or its buffered rows are lost.
_OPEN_TRACERS: set[Tracer] = set()
_OPEN_LOCK = threading.Lock()
_SURROGATE = re.compile("[\ud800-\udfff]")


class TracerStats(BaseModel):
    """Counters of one tracer since it was created."""

    model_config = ConfigDict(extra="forbid")

    sampled_in: int = Field(description="Runs for which sampled() returned True.")
    sampled_out: int = Field(description="Runs for which sampled() returned False.")
    written: int = Field(description="Records accepted by write().")
    dropped: int = Field(description="Records a sink lost: Parquet queue full ('drop' mode) or a write error.")
    errors: int = Field(description="Sink errors seen (each also logged).")
    jsonl_lines: int = Field(description="Lines appended to JSONL files.")
    jsonl_files_rotated: int = Field(description="JSONL files closed by size-based rotation.")
    parquet_rows_written: int = Field(description="Rows in published (complete, visible) Parquet files.")
    parquet_rows_pending: int = Field(description="Rows accepted but not yet in a published Parquet file.")
    parquet_files_written: int = Field(description="Parquet files published.")
    queue_high_water: int = Field(description="Most records ever waiting for the Parquet writer at once.")
    jsonl_path: str | None = Field(description="JSONL file in use; None when the JSONL sink is off.")
    parquet_dir: str | None = Field(description="Parquet folder in use; None when the Parquet sink is off.")
    last_parquet_file: str | None = Field(description="Most recently published Parquet file.")


class Tracer:
    """Samples runs and writes their :class:`WorkflowTrace` records to JSONL and/or Parquet.

    Every argument is validated by :class:`TracerConfig` (invalid values raise
    :class:`~mm_orch.exceptions.ConfigError`); see its field descriptions. ``output_path`` is the JSONL file; the
    Parquet folder defaults to ``parquet/`` next to it. Bad paths raise :class:`TracingError` naming the fix.
    """

    def __init__(
        self,
        output_path: str | Path | None = DEFAULT_JSONL_PATH,
        *,
        parquet_dir: str | Path | None = None,
        sample_rate: float = 1.0,
        jsonl: bool = True,
        parquet: bool = True,
        parquet_rows_per_file: int = 100_000,
        parquet_row_group_size: int = 10_000,
        parquet_max_file_age_s: float = 60.0,
        parquet_compression: Literal["zstd", "snappy", "gzip", "none"] = "zstd",
        jsonl_max_bytes: int | None = None,
        jsonl_backup_count: int | None = None,
        queue_size: int = 10_000,
        on_queue_full: Literal["block", "drop"] = "block",
        seed: int | None = None,
        enabled: bool = True,
    ) -> None:
        config = TracerConfig.build(
            output_path=output_path,
            parquet_dir=parquet_dir,
            sample_rate=sample_rate,
            jsonl=jsonl,
            parquet=parquet,
            parquet_rows_per_file=parquet_rows_per_file,
            parquet_row_group_size=parquet_row_group_size,
            parquet_max_file_age_s=parquet_max_file_age_s,
            parquet_compression=parquet_compression,
            jsonl_max_bytes=jsonl_max_bytes,
            jsonl_backup_count=jsonl_backup_count,
            queue_size=queue_size,
            on_queue_full=on_queue_full,
            seed=seed,
            enabled=enabled,
        )
        self._setup(config)

    @classmethod
    def from_config(cls, config: TracerConfig | Mapping[str, Any]) -> Tracer:
        """A tracer from a :class:`TracerConfig` or from a mapping such as the ``tracer:`` section of YAML."""
        cfg = config if isinstance(config, TracerConfig) else TracerConfig.build(**dict(config))
        tracer = cls.__new__(cls)
        tracer._setup(cfg)
        return tracer

    def _setup(self, config: TracerConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._rng = random.Random(config.seed)
        self._rate = config.sample_rate if config.enabled else 0.0
        self._sampled_in = self._sampled_out = self._written = 0
        self._errors: list[str] = []
        self._error_count = self._dropped = 0
        self._closed = False
        self._jsonl: JsonlSink | None = None
        self._parquet: ParquetSink | None = None
        if config.jsonl_enabled:
            assert config.output_path is not None
            self._jsonl = JsonlSink(
                config.output_path, max_bytes=config.jsonl_max_bytes, backup_count=config.jsonl_backup_count
            )
        parquet_dir = config.resolved_parquet_dir()
        if parquet_dir is not None:
            self._parquet = ParquetSink(
                parquet_dir,
                rows_per_file=config.parquet_rows_per_file,
                row_group_size=config.parquet_row_group_size,
                max_file_age_s=config.parquet_max_file_age_s,
                compression=config.parquet_compression,
                queue_size=config.queue_size,
                on_queue_full=config.on_queue_full,
            )
        with _OPEN_LOCK:
            _OPEN_TRACERS.add(self)

    # ---- the executor's interface --------------------------------------------------------------------------
    def sampled(self) -> bool:
        """Whether to trace the next run: True with probability ``sample_rate`` (never when disabled/closed)."""
        if self._rate >= 1.0 and not self._closed:
            with self._lock:
                self._sampled_in += 1
            return True
        with self._lock:
            hit = not self._closed and self._rate > 0.0 and self._rng.random() < self._rate
            if hit:
                self._sampled_in += 1
            else:
                self._sampled_out += 1
        return hit

    def write(self, trace: WorkflowTrace) -> None:
        """Hand a finished run to every enabled sink. Thread-safe; does not fail on sink I/O errors (see module).

        The record is serialised before this returns, so later changes to ``trace`` are not recorded.
        """
        if not isinstance(trace, WorkflowTrace):
            raise TracingError(
                f"Tracer.write expects a WorkflowTrace, got {type(trace).__name__}. Build the record with "
                "mm_orch.observability.records.WorkflowTrace(...)."
            )
        if self._closed:
            raise TracingError("This Tracer is closed; records can no longer be written. Create a new Tracer.")
        try:
            record_json = _serialise(trace)  # one serialisation for both sinks; a snapshot of the record
        except Exception as err:  # noqa: BLE001 - an unserialisable record is the run's loss, never the request's failure
            self._note_error(f"trace {trace.trace_id!r} could not be serialised: {err}", dropped=True)
            for sink, on in (("jsonl", self._jsonl), ("parquet", self._parquet)):
                if on is not None:
                    metrics.count_trace_drops(sink, "invalid_record")
            return
        if self._jsonl is not None:
            try:
                self._jsonl.write_line(record_json)
                metrics.count_trace_rows("jsonl")
            except TracingError as err:
                self._note_error(str(err), dropped=True)
                metrics.count_trace_drops("jsonl", "write_error")
        if self._parquet is not None and not self._parquet.write_json(record_json):
            metrics.count_trace_drops("parquet", "queue_full")
        with self._lock:
            self._written += 1

    def flush(self, timeout: float | None = None) -> None:
        """Make every record written so far durable and visible: fsync the JSONL file, write and publish the
        open Parquet file. Raises :class:`TracingError` if a sink failed since the last flush."""
        if self._jsonl is not None and not self._closed:
            self._jsonl.flush()
        if self._parquet is not None:
            self._parquet.flush(timeout)
        self._raise_noted_errors()

    def close(self) -> None:
        """Flush and release both sinks; idempotent. Raises :class:`TracingError` if a sink failed."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        with _OPEN_LOCK:
            _OPEN_TRACERS.discard(self)
        try:
            if self._parquet is not None:
                self._parquet.close()
        finally:
            if self._jsonl is not None:
                self._jsonl.close()
        self._raise_noted_errors()

    def stats(self) -> TracerStats:
        """Counts so far: sampled in/out, written, dropped, errors, lines, rows and files."""
        pq_sink, js = self._parquet, self._jsonl
        last = pq_sink.last_file if pq_sink is not None else None
        return TracerStats(
            sampled_in=self._sampled_in,
            sampled_out=self._sampled_out,
            written=self._written,
            dropped=self._dropped + (pq_sink.dropped if pq_sink is not None else 0),
            errors=self._error_count + (pq_sink.error_count if pq_sink is not None else 0),
            jsonl_lines=js.lines_written if js is not None else 0,
            jsonl_files_rotated=js.files_rotated if js is not None else 0,
            parquet_rows_written=pq_sink.rows_written if pq_sink is not None else 0,
            parquet_rows_pending=pq_sink.rows_pending if pq_sink is not None else 0,
            parquet_files_written=pq_sink.files_written if pq_sink is not None else 0,
            queue_high_water=pq_sink.queue_high_water if pq_sink is not None else 0,
            jsonl_path=str(js.path) if js is not None else None,
            parquet_dir=str(pq_sink.directory) if pq_sink is not None else None,
            last_parquet_file=str(last) if last is not None else None,
        )

    @property
    def enabled(self) -> bool:
        """False when tracing is configured off (``enabled=False``) or ``sample_rate`` is 0."""
        return self._rate > 0.0

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._closed

    def _note_error(self, message: str, *, dropped: bool) -> None:
        logger.error("Tracer: %s", message)
        with self._lock:
            self._error_count += 1
            self._dropped += int(dropped)
            if len(self._errors) < 100:  # keep the first ones; the count says how many there were
                self._errors.append(message)

    def _raise_noted_errors(self) -> None:
        with self._lock:
            errors, self._errors = self._errors, []
        if errors:
            raise TracingError(f"{len(errors)} trace write(s) failed; first: {errors[0]}")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        cfg = self.config
        return (
            f"Tracer(jsonl={str(cfg.output_path) if cfg.jsonl_enabled else None!r}, "
            f"parquet_dir={str(cfg.resolved_parquet_dir()) if cfg.parquet_enabled else None!r}, "
            f"sample_rate={self._rate}, closed={self._closed})"
        )


def _serialise(trace: WorkflowTrace) -> bytes:
    """The record as UTF-8 JSON. Text that is not valid Unicode (a lone UTF-16 surrogate, which cannot be
    UTF-8) is written with each bad character replaced by U+FFFD rather than losing the whole run."""
    try:
        return pydantic_core.to_json(trace)
    except pydantic_core.PydanticSerializationError as err:
        if "surrogates not allowed" not in str(err):
            raise
        text = json.dumps(trace.model_dump(), ensure_ascii=False, separators=(",", ":"), default=str)
        return _SURROGATE.sub("\ufffd", text).encode("utf-8")


@atexit.register
def _close_open_tracers() -> None:
    """Close every tracer still open at interpreter exit so buffered Parquet rows reach disk."""
    with _OPEN_LOCK:
        tracers = list(_OPEN_TRACERS)
    for tracer in tracers:
        try:
            tracer.close()
        except Exception as err:  # noqa: BLE001 - at exit: report and carry on closing the others
            logger.error("Closing %r at exit failed: %s", tracer, err)
