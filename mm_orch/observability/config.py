"""Tracer settings: one validated :class:`TracerConfig`, the same shape as the ``tracer:`` section of config YAML.

Defaults in one place:

* JSONL goes to ``data/traces/traces.jsonl`` (relative paths resolve against the working directory).
* Parquet goes to a ``parquet/`` folder next to the JSONL file (``data/traces/parquet/``) unless
  ``parquet_dir`` names another folder. With no JSONL path at all, ``parquet_dir`` must be given.
* Every run is traced (``sample_rate=1.0``); when the Parquet writer falls behind, callers wait
  (``on_queue_full="block"``) rather than lose traces, because drops under load would bias the latency
  statistics the cost-aware router learns from. Choose ``"drop"`` where request latency matters more.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mm_orch.exceptions import ConfigError

__all__ = ["DEFAULT_JSONL_PATH", "PARQUET_SUBDIR", "TracerConfig"]

DEFAULT_JSONL_PATH = Path("data/traces/traces.jsonl")
PARQUET_SUBDIR = "parquet"


class TracerConfig(BaseModel):
    """Where and how traces are written. Build a tracer from it with ``Tracer.from_config(cfg)``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(default=True, description="False turns tracing off: no run is sampled, no file opened.")
    output_path: Path | None = Field(
        default=DEFAULT_JSONL_PATH,
        description="JSONL file (one line per run). None turns the JSONL sink off.",
    )
    jsonl: bool = Field(default=True, description="Write the JSONL sink (needs output_path).")
    jsonl_max_bytes: int | None = Field(
        default=None,
        gt=0,
        description="Rotate the JSONL file once it would grow past this size; None never rotates.",
    )
    jsonl_backup_count: int | None = Field(
        default=None,
        ge=0,
        description="Rotated JSONL files to keep (oldest deleted first); None keeps all of them.",
    )
    parquet: bool = Field(default=True, description="Write the Parquet sink.")
    parquet_dir: Path | None = Field(
        default=None,
        description="Folder of Parquet files; None means a 'parquet' folder next to output_path.",
    )
    parquet_rows_per_file: int = Field(
        default=100_000, ge=1, description="Rows per Parquet file before it is closed and a new one started."
    )
    parquet_row_group_size: int = Field(
        default=10_000, ge=1, description="Rows per Parquet row group (buffered in memory until written)."
    )
    parquet_max_file_age_s: float = Field(
        default=60.0,
        gt=0,
        description="Close and publish a Parquet file at most this many seconds after its first row arrived.",
    )
    parquet_compression: Literal["zstd", "snappy", "gzip", "none"] = Field(
        default="zstd", description="Parquet compression codec."
    )
    queue_size: int = Field(
        default=10_000, ge=1, description="Most runs waiting for the background Parquet writer at once."
    )
    on_queue_full: Literal["block", "drop"] = Field(
        default="block",
        description="When the Parquet queue is full: 'block' waits for room, 'drop' discards and counts the run.",
    )
    sample_rate: float = Field(default=1.0, ge=0.0, le=1.0, description="Fraction of runs traced, 0 to 1.")
    seed: int | None = Field(default=None, description="Seed of the sampling generator (reproducible sampling).")

    @model_validator(mode="after")
    def _check_sinks(self) -> Self:
        if self.parquet_row_group_size > self.parquet_rows_per_file:
            raise ValueError(
                f"parquet_row_group_size={self.parquet_row_group_size} exceeds parquet_rows_per_file="
                f"{self.parquet_rows_per_file}; a row group cannot span files. Lower parquet_row_group_size "
                "or raise parquet_rows_per_file."
            )
        if not self.enabled:
            return self
        if self.parquet and self.parquet_dir is None and self.output_path is None:
            raise ValueError(
                "the Parquet sink has no folder: output_path is None and parquet_dir is not set. "
                "Set parquet_dir, or set output_path so the default folder sits next to it, or set parquet=False."
            )
        if not self.jsonl_enabled and not self.parquet:
            raise ValueError(
                "both sinks are off (jsonl is off or output_path is None, and parquet=False). "
                "Enable one of them, or set enabled=False to turn tracing off."
            )
        return self

    @property
    def jsonl_enabled(self) -> bool:
        """True when runs are written to the JSONL file."""
        return self.enabled and self.jsonl and self.output_path is not None

    @property
    def parquet_enabled(self) -> bool:
        """True when runs are written as Parquet rows."""
        return self.enabled and self.parquet

    def resolved_parquet_dir(self) -> Path | None:
        """The Parquet folder in use: ``parquet_dir`` or ``<output_path's folder>/parquet``; None when off."""
        if not self.parquet_enabled:
            return None
        if self.parquet_dir is not None:
            return self.parquet_dir
        assert self.output_path is not None  # guaranteed by _check_sinks
        return self.output_path.parent / PARQUET_SUBDIR

    @classmethod
    def build(cls, **values: object) -> TracerConfig:
        """Validate ``values`` into a config, raising :class:`ConfigError` (not pydantic's error) when invalid."""
        from pydantic import ValidationError

        try:
            return cls.model_validate(values)
        except ValidationError as err:
            raise ConfigError(
                f"Invalid tracer settings: {err}. Allowed keys: {', '.join(sorted(cls.model_fields))}."
            ) from err
