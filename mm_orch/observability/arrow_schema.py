"""The Arrow/Parquet schema of trace rows, derived once from the pydantic records.

Deriving it (rather than writing it out by hand) keeps the JSONL and Parquet sinks on one schema: a field added
to :class:`~mm_orch.observability.records.WorkflowTrace` appears in both. Mapping of Python annotations:

=====================  ==========================================
``str`` / ``float``    ``string`` / ``float64``
``int`` / ``bool``     ``int64`` / ``bool``
``X | None``           the type of ``X``, nullable
``list[X]``            ``list<X>`` (a list of models is a list of structs)
``dict[str, X]``       ``map<string, X>``
a pydantic model       ``struct<...>`` of its fields
=====================  ==========================================

The schema carries the trace schema version in its metadata (key :data:`SCHEMA_VERSION_KEY`).
"""

from __future__ import annotations

import types
from functools import cache
from typing import Any, Union, get_args, get_origin

import pyarrow as pa
from pydantic import BaseModel

from mm_orch.exceptions import TracingError
from mm_orch.observability.records import TRACE_SCHEMA_VERSION, WorkflowTrace

__all__ = ["SCHEMA_VERSION_KEY", "arrow_schema_for", "trace_arrow_schema"]

SCHEMA_VERSION_KEY = b"mm_orch.trace_schema_version"

_SCALARS: dict[Any, pa.DataType] = {
    str: pa.string(),
    float: pa.float64(),
    int: pa.int64(),
    bool: pa.bool_(),
}


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    """``X | None`` -> ``(X, True)``; anything else -> ``(annotation, False)``."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(get_args(annotation)) == 2:
            return args[0], True
        raise TracingError(f"Cannot map union {annotation!r} to Arrow; only 'X | None' unions are supported.")
    return annotation, False


def _arrow_type(annotation: Any, where: str) -> pa.DataType:
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    origin = get_origin(annotation)
    if origin is list:
        (item,) = get_args(annotation)
        item, _ = _strip_optional(item)
        return pa.list_(_arrow_type(item, f"{where}[]"))
    if origin is dict:
        key, value = get_args(annotation)
        if key is not str:
            raise TracingError(f"Cannot map {where}: {annotation!r} to Arrow; map keys must be str.")
        value, _ = _strip_optional(value)
        return pa.map_(pa.string(), _arrow_type(value, f"{where}{{}}"))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return pa.struct(list(_fields(annotation, where)))
    raise TracingError(
        f"Cannot map trace field {where} of type {annotation!r} to Arrow. Use str, int, float, bool, "
        "X | None, list[...], dict[str, ...] or a pydantic model."
    )


def _fields(model: type[BaseModel], prefix: str) -> list[pa.Field]:
    out = []
    for name, info in model.model_fields.items():
        inner, nullable = _strip_optional(info.annotation)
        where = f"{prefix}.{name}" if prefix else name
        out.append(pa.field(name, _arrow_type(inner, where), nullable=nullable))
    return out


def arrow_schema_for(model: type[BaseModel], version: int) -> pa.Schema:
    """The Arrow schema of ``model``'s rows, tagged with ``version`` in its metadata."""
    return pa.schema(_fields(model, ""), metadata={SCHEMA_VERSION_KEY: str(version).encode()})


@cache
def trace_arrow_schema() -> pa.Schema:
    """The Arrow schema of :class:`WorkflowTrace` rows (computed once, identical for every file)."""
    return arrow_schema_for(WorkflowTrace, TRACE_SCHEMA_VERSION)
