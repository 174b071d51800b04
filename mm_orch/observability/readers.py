"""Read traces back: validated :class:`WorkflowTrace` records, or one Arrow table, from JSONL and Parquet.

A path may be a ``.jsonl`` file, a ``.parquet`` file, or a folder searched recursively for both. A tracer
writes every run to both of its sinks, so point readers at one of them (``data/traces/traces.jsonl`` or
``data/traces/parquet``); a folder holding both formats is read in full, with a warning. Names starting
with ``.`` or ``_`` (the Parquet sink's temporary files, Spark/Ray markers) are skipped, as is a JSONL file's
last line while it has no newline yet (a writer is in the middle of it). Every record is validated by pydantic;
a record of a schema version this code does not know raises :class:`~mm_orch.exceptions.TracingError`. Nothing is
unpickled.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pds
import pyarrow.parquet as pq
from pydantic import ValidationError

from mm_orch.exceptions import TracingError
from mm_orch.observability.arrow_schema import SCHEMA_VERSION_KEY, trace_arrow_schema
from mm_orch.observability.records import TRACE_SCHEMA_VERSION, WorkflowTrace

__all__ = ["SUPPORTED_SCHEMA_VERSIONS", "read_traces", "read_traces_table", "trace_files"]

SUPPORTED_SCHEMA_VERSIONS = frozenset({TRACE_SCHEMA_VERSION})
logger = logging.getLogger(__name__)

_SUFFIXES = (".jsonl", ".parquet")
_BATCH_ROWS = 4096


def trace_files(path: str | Path) -> list[Path]:
    """The trace files at ``path`` (a file, or a folder searched recursively), in name order."""
    root = Path(path)
    if root.is_file():
        if root.suffix not in _SUFFIXES:
            raise TracingError(
                f"{str(root)!r} is not a trace file: expected a name ending in .jsonl or .parquet, "
                f"got {root.suffix or 'no suffix'!r}. Pass a JSONL or Parquet file, or the folder that holds them."
            )
        return [root]
    if not root.is_dir():
        raise TracingError(
            f"Trace path {str(root)!r} does not exist. Pass a .jsonl or .parquet file or a folder of them "
            "(the tracer writes data/traces/traces.jsonl and data/traces/parquet/ by default)."
        )
    files = [
        p
        for p in root.rglob("*")
        if p.suffix in _SUFFIXES
        and p.is_file()
        and not any(part.startswith((".", "_")) for part in p.relative_to(root).parts)
    ]
    if {p.suffix for p in files} == set(_SUFFIXES):
        logger.warning(
            "%s holds both JSONL and Parquet trace files; a Tracer writes every run to both, so runs may be "
            "counted twice. Point readers at one format, e.g. %s or %s.",
            root,
            root / "parquet",
            root / "traces.jsonl",
        )
    return sorted(files)


def read_traces(path: str | Path) -> Iterator[WorkflowTrace]:
    """Yield every run recorded under ``path``, validated; JSONL files first line by line, Parquet row by row."""
    for file in trace_files(path):
        if file.suffix == ".jsonl":
            yield from _read_jsonl(file)
        else:
            yield from _read_parquet(file)


def read_traces_table(path: str | Path, *, columns: Sequence[str] | None = None) -> pa.Table:
    """All runs under ``path`` as one Arrow table with the trace schema (optionally only ``columns``).

    Parquet files are read by ``pyarrow.dataset`` against the current schema (a column missing from an older
    file reads as nulls); JSONL records are validated and converted with the same schema.
    """
    schema = trace_arrow_schema()
    if columns is not None:
        unknown = [c for c in columns if c not in schema.names]
        if unknown:
            raise TracingError(f"Unknown trace column(s) {unknown}; the columns are: {', '.join(schema.names)}.")
    files = trace_files(path)
    tables: list[pa.Table] = []
    jsonl = [f for f in files if f.suffix == ".jsonl"]
    parquet = [f for f in files if f.suffix == ".parquet"]
    for file in jsonl:
        tables.extend(_jsonl_tables(file, schema))
    if parquet:
        for file in parquet:
            _check_file_version(file, pq.read_schema(file).metadata)
        tables.append(pds.dataset([str(f) for f in parquet], schema=schema, format="parquet").to_table())
    table = pa.concat_tables(tables) if tables else schema.empty_table()
    _check_versions_column(table, str(path))
    return table.select(list(columns)) if columns is not None else table


def _read_jsonl(file: Path) -> Iterator[WorkflowTrace]:
    with open(file, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.endswith(b"\n"):
                return  # the last line is still being written
            if line.strip():
                yield _validate_json_line(line, f"{file}:{number}")


def _validate_json_line(line: bytes, where: str) -> WorkflowTrace:
    try:
        record = WorkflowTrace.model_validate_json(line)
    except ValidationError as err:
        _raise_if_unknown_version(_json_version(line), where)
        raise TracingError(f"Invalid trace record at {where}: {err}") from err
    _raise_if_unknown_version(record.schema_version, where)
    return record


def _json_version(line: bytes) -> Any:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return data.get("schema_version") if isinstance(data, dict) else None


def _raise_if_unknown_version(version: Any, where: str) -> None:
    if version is not None and version not in SUPPORTED_SCHEMA_VERSIONS:
        raise TracingError(
            f"Trace record at {where} has schema_version={version!r}; this version of mm-orch reads "
            f"{sorted(SUPPORTED_SCHEMA_VERSIONS)}. Upgrade mm-orch to read it, or skip that file."
        )


def _check_file_version(file: Path, metadata: dict[bytes, bytes] | None) -> None:
    raw = (metadata or {}).get(SCHEMA_VERSION_KEY)
    if raw is not None:
        version: Any = int(raw) if raw.isdigit() else raw.decode(errors="replace")
        _raise_if_unknown_version(version, str(file))


def _check_versions_column(table: pa.Table, where: str) -> None:
    if "schema_version" in table.column_names and table.num_rows:
        for version in table.column("schema_version").unique().to_pylist():
            _raise_if_unknown_version(version, where)


def _read_parquet(file: Path) -> Iterator[WorkflowTrace]:
    try:
        reader = pq.ParquetFile(file)
    except (OSError, pa.ArrowException) as err:
        raise TracingError(f"Cannot read Parquet trace file {str(file)!r}: {err}") from err
    _check_file_version(file, reader.schema_arrow.metadata)
    with reader:
        for batch_number, batch in enumerate(reader.iter_batches(batch_size=_BATCH_ROWS)):
            for offset, row in enumerate(batch.to_pylist(maps_as_pydicts="strict")):
                where = f"{file} row {batch_number * _BATCH_ROWS + offset}"
                _raise_if_unknown_version(row.get("schema_version"), where)
                try:
                    yield WorkflowTrace.model_validate(row)
                except ValidationError as err:
                    raise TracingError(f"Invalid trace record at {where}: {err}") from err


def _jsonl_tables(file: Path, schema: pa.Schema) -> Iterator[pa.Table]:
    rows: list[dict[str, Any]] = []
    for record in _read_jsonl(file):
        rows.append(record.to_row())
        if len(rows) >= _BATCH_ROWS:
            yield pa.Table.from_pylist(rows, schema=schema)
            rows = []
    if rows:
        yield pa.Table.from_pylist(rows, schema=schema)
