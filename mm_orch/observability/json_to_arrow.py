"""Turn a batch of trace records serialised as JSON (one record per item) into an Arrow table of the trace schema.

Fast path: the items are joined into one NDJSON buffer and parsed by Arrow's C++ JSON reader
(:func:`pyarrow.json.read_json`) with an explicit schema. That parser runs with the GIL released, so a
CPU-bound caller keeps running while the background writer converts; the Python work per batch is a few dozen
calls, independent of the number of rows, and creates no per-row Python objects (no garbage-collector churn).

Arrow's JSON reader cannot produce ``map`` columns, so the three ``dict[str, ...]`` fields (e.g.
``router_alternatives``) are left out of the explicit schema, read as inferred ``struct`` columns (one child per
key seen in the batch) and rebuilt as maps with a handful of vectorised numpy/Arrow calls. A map's entries come
out in the order their keys were first seen in the batch, which may differ from a record's own key order;
as mappings they are equal.

Slow path (kept for exactness): batches the fast path refuses (a value that does not fit the schema, more than
:data:`MAX_MAP_KEYS` distinct keys in one map column of a batch, a record lacking a map field) are converted by
``pydantic_core.from_json`` + ``pa.Table.from_pylist``, one record at a time when needed so that a record that
does not fit the schema is isolated and reported without losing the rest of the batch. The C++ reader accepts
the ``NaN``/``Infinity`` constants the records are serialised with, so those stay on the fast path.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.json as pa_json
import pydantic_core

__all__ = ["MAX_MAP_KEYS", "JsonBatchConverter"]

MAX_MAP_KEYS = 512  # distinct keys of one map column in one batch before the fast path gives up (sparse cost)

_ARROW_ERRORS = (pa.ArrowException, ValueError, TypeError, KeyError, IndexError)


class JsonBatchConverter:
    """Converts lists of JSON records to tables of ``schema``; ``on_bad_record(json, error)`` hears rejects."""

    def __init__(
        self, schema: pa.Schema, on_bad_record: Callable[[bytes, Exception], None], *, fast: bool = True
    ) -> None:
        self.schema = schema
        self.fast = fast  # False: always the slow path (for comparisons in benchmarks/bench_tracing.py)
        self.on_bad_record = on_bad_record
        self.fast_batches = 0
        self.slow_batches = 0
        self._maps = {f.name: f.type for f in schema if pa.types.is_map(f.type)}
        self._explicit = pa.schema([f for f in schema if f.name not in self._maps])

    def convert(self, items: list[bytes]) -> pa.Table:
        """All of ``items`` that fit the schema, in order, as one table."""
        if not items:
            return self.schema.empty_table()
        try:
            if not self.fast:
                raise ValueError("fast path off")
            table = self._fast(items)
            self.fast_batches += 1
            return table
        except _ARROW_ERRORS:
            self.slow_batches += 1
            return self._slow(items)

    # ---- fast path -------------------------------------------------------------------------------------------
    def _fast(self, items: list[bytes]) -> pa.Table:
        data = b"\n".join(items)  # pydantic escapes newlines in strings; a raw one breaks the row count below
        table = pa_json.read_json(
            pa.BufferReader(data),
            read_options=pa_json.ReadOptions(use_threads=False, block_size=len(data) + 1),
            parse_options=pa_json.ParseOptions(
                explicit_schema=self._explicit, unexpected_field_behavior="error" if not self._maps else "infer"
            ),
        )
        if table.num_rows != len(items):
            raise ValueError(f"read {table.num_rows} rows from {len(items)} records")
        extra = set(table.column_names) - set(self.schema.names)
        if extra:  # a field the records do not have: let the slow path name the bad record
            raise ValueError(f"unexpected fields {sorted(extra)}")
        columns = []
        for field in self.schema:
            if field.name in self._maps:
                columns.append(_struct_to_map(table.column(field.name).combine_chunks(), field.type))
            else:
                columns.append(table.column(field.name))
        return pa.Table.from_arrays(columns, schema=self.schema)

    # ---- slow path -------------------------------------------------------------------------------------------
    def _slow(self, items: list[bytes]) -> pa.Table:
        try:
            return pa.Table.from_pylist([pydantic_core.from_json(j) for j in items], schema=self.schema)
        except _ARROW_ERRORS:
            pass
        good = []
        for record_json in items:
            try:
                good.append(pa.Table.from_pylist([pydantic_core.from_json(record_json)], schema=self.schema))
            except _ARROW_ERRORS as err:
                self.on_bad_record(record_json, err)
        return pa.concat_tables(good) if good else self.schema.empty_table()


def _struct_to_map(column: pa.Array, map_type: pa.MapType) -> pa.Array:
    """A struct column (one child per key; null child = key absent) as a ``map_type`` column."""
    n = len(column)
    if not pa.types.is_struct(column.type):
        raise TypeError(f"expected an object, read {column.type}")
    struct_type: pa.StructType = column.type
    k = struct_type.num_fields
    if k > MAX_MAP_KEYS:
        raise ValueError(f"{k} distinct map keys in one batch")
    if column.null_count:  # the whole field missing or null in a record: rare, left to the exact slow path
        raise ValueError(f"{column.null_count} records lack the map field")
    valid = np.zeros((n, k), dtype=bool)
    children = []
    for i in range(k):
        child = column.field(i)
        children.append(child.cast(map_type.item_type))  # int -> double; a nested object raises (slow path)
        valid[:, i] = child.is_valid().to_numpy(zero_copy_only=False) if child.null_count else True
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(valid.sum(axis=1), out=offsets[1:])
    rows, fields = np.nonzero(valid)  # row-major: each row's entries together, in key order
    names = pa.array([struct_type.field(i).name for i in range(k)], type=map_type.key_type)
    keys = names.take(pa.array(fields, type=pa.int32()))
    if k:
        values = pa.concat_arrays(children).take(pa.array(fields * n + rows, type=pa.int64()))
    else:
        values = pa.array([], type=map_type.item_type)
    result = pa.MapArray.from_arrays(pa.array(offsets), keys, values)  # no type=/mask= (pyarrow >= 15)
    return result if result.type == map_type else result.cast(map_type)
