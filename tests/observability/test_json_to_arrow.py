"""JsonBatchConverter: the C++ fast path equals the pydantic/from_pylist reference; odd batches fall back exactly."""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pydantic_core
import pytest

from mm_orch.exceptions import TracingError
from mm_orch.observability.arrow_schema import trace_arrow_schema
from mm_orch.observability.json_to_arrow import MAX_MAP_KEYS, JsonBatchConverter
from mm_orch.observability.parquet_sink import ParquetSink
from mm_orch.observability.records import WorkflowTrace

SCHEMA = trace_arrow_schema()


def _converter() -> tuple[JsonBatchConverter, list[tuple[bytes, Exception]]]:
    rejected: list[tuple[bytes, Exception]] = []
    return JsonBatchConverter(SCHEMA, lambda j, e: rejected.append((j, e))), rejected


def _reference(traces: list[WorkflowTrace]) -> pa.Table:
    return pa.Table.from_pylist([t.model_dump() for t in traces], schema=SCHEMA)


def _back(table: pa.Table) -> list[WorkflowTrace]:
    return [WorkflowTrace.model_validate(r) for r in table.to_pylist(maps_as_pydicts="strict")]


def test_fast_path_builds_the_same_table_as_the_reference(make_trace) -> None:
    traces = [make_trace(i) for i in range(300)]  # empty and full maps, nulls, citations present and absent
    conv, rejected = _converter()
    table = conv.convert([pydantic_core.to_json(t) for t in traces])
    assert conv.fast_batches == 1
    assert conv.slow_batches == 0
    assert rejected == []
    table.validate(full=True)
    assert table.schema.equals(SCHEMA, check_metadata=True)
    assert table.equals(_reference(traces))
    assert _back(table) == traces


def test_maps_with_different_keys_and_key_orders_per_row(make_trace) -> None:
    maps = [{"b": 2.0, "a": 1.0}, {}, {"a": 3.5}, {"c": -1.0, "b": 0.0, "a": 1e-9}, {"é ü": 7.0, "": 8.0}]
    traces = [
        make_trace(i).model_copy(update={"router_alternatives": m, "metadata": {k: str(v) for k, v in m.items()}})
        for i, m in enumerate(maps)
    ]
    conv, _ = _converter()
    table = conv.convert([pydantic_core.to_json(t) for t in traces])
    assert conv.fast_batches == 1
    assert [r.router_alternatives for r in _back(table)] == maps  # dict equality: same pairs, any order
    assert [r.metadata for r in _back(table)] == [{k: str(v) for k, v in m.items()} for m in maps]


def test_strings_with_escapes_and_unicode_survive(make_trace) -> None:
    text = 'line one\nline "two"\ttab \\ back \u2603 \U0001f600 \x00 end'
    trace = make_trace(1).model_copy(update={"question": text, "final_answer": text})
    conv, _ = _converter()
    (back,) = _back(conv.convert([pydantic_core.to_json(trace)]))
    assert conv.fast_batches == 1
    assert back.question == text
    assert back == trace


def test_nan_and_infinity_constants_are_read(make_trace) -> None:
    odd = make_trace(2).model_copy(update={"quality_signals": {"ratio": math.nan, "score": -math.inf}})
    traces = [make_trace(1), odd, make_trace(3)]
    conv, rejected = _converter()
    back = _back(conv.convert([pydantic_core.to_json(t) for t in traces]))
    assert rejected == []
    assert [t.trace_id for t in back] == [t.trace_id for t in traces]
    assert math.isnan(back[1].quality_signals["ratio"])
    assert back[1].quality_signals["score"] == -math.inf


def test_integer_values_in_a_float_map_are_cast(make_trace) -> None:
    row = json.loads(pydantic_core.to_json(make_trace(1)))
    row["router_alternatives"] = {"search_qa": 1, "rag_qa": 0}
    conv, _ = _converter()
    (back,) = _back(conv.convert([json.dumps(row).encode()]))
    assert conv.fast_batches == 1
    assert back.router_alternatives == {"search_qa": 1.0, "rag_qa": 0.0}


def test_too_many_distinct_map_keys_fall_back_and_stay_correct(make_trace) -> None:
    traces = [make_trace(i).model_copy(update={"metadata": {f"k{i}": str(i)}}) for i in range(MAX_MAP_KEYS + 5)]
    conv, _ = _converter()
    table = conv.convert([pydantic_core.to_json(t) for t in traces])
    assert conv.slow_batches == 1
    assert conv.fast_batches == 0
    assert _back(table) == traces


def test_a_record_that_does_not_fit_is_isolated_and_the_rest_kept(make_trace) -> None:
    bad = json.loads(pydantic_core.to_json(make_trace(5)))
    bad["steps"] = "not a list"
    items = [pydantic_core.to_json(make_trace(4)), json.dumps(bad).encode(), pydantic_core.to_json(make_trace(6))]
    conv, rejected = _converter()
    back = _back(conv.convert(items))
    assert [t.trace_id for t in back] == ["trace-00000004", "trace-00000006"]
    assert len(rejected) == 1
    assert rejected[0][0] == items[1]


def test_sink_reports_a_bad_record_from_write_json_and_keeps_the_others(tmp_path: Path, make_trace) -> None:
    sink = ParquetSink(tmp_path)
    assert sink.write_json(b'{"trace_id": "x", "steps": 5}') is True
    for i in range(3):
        sink.write(make_trace(i))
    with pytest.raises(TracingError, match=r"does not fit the trace schema"):
        sink.flush()
    sink.close()
    assert [r["trace_id"] for r in pq.read_table(tmp_path).to_pylist()] == [f"trace-{i:08d}" for i in range(3)]
    assert sink.dropped == 1
    assert sink.rows_written == 3


def test_concurrent_writers_lose_nothing_and_rows_match(tmp_path: Path, make_trace) -> None:
    sink = ParquetSink(tmp_path, queue_size=64, row_group_size=500, rows_per_file=2000)
    n_threads, per_thread = 4, 1500

    def worker(k: int) -> None:
        for i in range(per_thread):
            sink.write(make_trace(k * per_thread + i))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sink.close()
    back = _back(pq.read_table(tmp_path))
    assert sink.dropped == 0
    assert sink.rows_written == n_threads * per_thread
    assert sorted(back, key=lambda t: t.trace_id) == [make_trace(i) for i in range(n_threads * per_thread)]


def test_a_record_missing_a_map_field_falls_back_and_keeps_the_row(make_trace) -> None:
    row = json.loads(pydantic_core.to_json(make_trace(1)))
    del row["metadata"]
    conv, rejected = _converter()
    table = conv.convert([pydantic_core.to_json(make_trace(0)), json.dumps(row).encode()])
    assert conv.slow_batches == 1
    assert rejected == []
    assert table.column("metadata").to_pylist() == [[("host", "test"), ("index", "0")], None]


def test_fast_off_gives_the_same_table_by_the_slow_path(make_trace) -> None:
    items = [pydantic_core.to_json(make_trace(i)) for i in range(50)]
    fast, _ = _converter()
    slow = JsonBatchConverter(SCHEMA, lambda j, e: None, fast=False)
    assert slow.convert(items).equals(fast.convert(items))
    assert (slow.slow_batches, slow.fast_batches, fast.fast_batches) == (1, 0, 1)
