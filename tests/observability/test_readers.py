"""Readers: records and tables back from JSONL, Parquet and folders; validation and version refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as pds
import pyarrow.parquet as pq
import pytest

from mm_orch.exceptions import TracingError
from mm_orch.observability import Tracer, read_traces, read_traces_table, trace_arrow_schema, trace_files
from mm_orch.observability.arrow_schema import SCHEMA_VERSION_KEY
from mm_orch.observability.records import WorkflowTrace


def _write(tmp_path: Path, traces: list[WorkflowTrace], **kwargs) -> Path:
    with Tracer(tmp_path / "traces.jsonl", **kwargs) as tracer:
        for trace in traces:
            tracer.write(trace)
    return tmp_path


def test_a_folder_yields_jsonl_and_parquet_records_and_skips_hidden_files(
    tmp_path: Path, make_trace, caplog: pytest.LogCaptureFixture
) -> None:
    originals = [make_trace(i) for i in range(50)]
    _write(tmp_path, originals, parquet_rows_per_file=20, parquet_row_group_size=10)
    (tmp_path / "parquet" / ".traces-stale.parquet.tmp").write_bytes(b"half a file")
    (tmp_path / "parquet" / "_SUCCESS").write_bytes(b"")
    (tmp_path / "_tmp").mkdir()
    (tmp_path / "_tmp" / "x.jsonl").write_text("not json\n")
    files = trace_files(tmp_path)
    assert [f.suffix for f in files] == [".parquet"] * 3 + [".jsonl"]
    records = list(read_traces(tmp_path))
    assert records == originals + originals  # Parquet folder sorts before traces.jsonl
    assert "holds both JSONL and Parquet trace files; a Tracer writes every run to both" in caplog.text
    assert pds.dataset(tmp_path / "parquet", format="parquet").count_rows() == 50  # pyarrow skips them too


def test_an_unterminated_last_line_is_skipped(tmp_path: Path, make_trace) -> None:
    path = tmp_path / "t.jsonl"
    complete = make_trace(0).model_dump_json() + "\n"
    path.write_text(complete + "\n" + make_trace(1).model_dump_json()[:100])  # blank line, then half a line
    assert [t.trace_id for t in read_traces(path)] == ["trace-00000000"]


def test_an_unknown_schema_version_in_jsonl_is_refused(tmp_path: Path, make_trace) -> None:
    row = json.loads(make_trace(0).model_dump_json())
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({**row, "schema_version": 2, "new_field": 1}) + "\n")
    with pytest.raises(TracingError, match=r"t\.jsonl:1 has schema_version=2; .* reads \[1\]\. Upgrade mm-orch"):
        list(read_traces(path))
    path.write_text(json.dumps({**row, "schema_version": 99}) + "\n")  # valid shape, unknown version
    with pytest.raises(TracingError, match=r"schema_version=99"):
        list(read_traces(path))


def test_an_invalid_record_names_file_and_line(tmp_path: Path, make_trace) -> None:
    row = json.loads(make_trace(0).model_dump_json())
    del row["workflow"]
    path = tmp_path / "t.jsonl"
    path.write_text(make_trace(1).model_dump_json() + "\n" + json.dumps(row) + "\n")
    with pytest.raises(
        TracingError, match=r"Invalid trace record at .*t\.jsonl:2: [\s\S]*workflow[\s\S]*Field required"
    ):
        list(read_traces(path))


def test_an_unknown_schema_version_in_parquet_is_refused(tmp_path: Path, make_trace) -> None:
    schema = trace_arrow_schema()
    table = pa.Table.from_pylist([make_trace(0).to_row()], schema=schema)
    pq.write_table(table.replace_schema_metadata({SCHEMA_VERSION_KEY: b"3"}), tmp_path / "v3.parquet")
    with pytest.raises(TracingError, match=r"v3\.parquet has schema_version=3"):
        list(read_traces(tmp_path / "v3.parquet"))
    with pytest.raises(TracingError, match=r"schema_version=3"):
        read_traces_table(tmp_path)
    rows = [{**make_trace(0).to_row(), "schema_version": 5}]
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), tmp_path / "v3.parquet")  # row-level version
    with pytest.raises(TracingError, match=r"v3\.parquet row 0 has schema_version=5"):
        list(read_traces(tmp_path / "v3.parquet"))


def test_bad_paths_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(TracingError, match=r"does not exist\. Pass a \.jsonl or \.parquet file or a folder"):
        list(read_traces(tmp_path / "nope"))
    (tmp_path / "t.csv").write_text("a,b\n")
    with pytest.raises(TracingError, match=r"not a trace file: expected a name ending in \.jsonl or \.parquet"):
        list(read_traces(tmp_path / "t.csv"))


def test_table_matches_the_records(tmp_path: Path, make_trace) -> None:
    originals = [make_trace(i) for i in range(40)]
    _write(tmp_path, originals, parquet_rows_per_file=16, parquet_row_group_size=8)
    table = read_traces_table(tmp_path)
    assert table.schema.equals(trace_arrow_schema())
    expected = [t.to_row() for t in originals + originals]
    assert table.to_pylist(maps_as_pydicts="strict") == expected
    projected = read_traces_table(tmp_path / "parquet", columns=["trace_id", "cost"])
    assert projected.column_names == ["trace_id", "cost"]
    assert projected.num_rows == 40
    with pytest.raises(TracingError, match=r"Unknown trace column\(s\) \['latency'\]; the columns are: "):
        read_traces_table(tmp_path, columns=["latency"])


def test_an_empty_folder_gives_an_empty_table(tmp_path: Path) -> None:
    table = read_traces_table(tmp_path)
    assert table.num_rows == 0
    assert table.schema.equals(trace_arrow_schema())
    assert list(read_traces(tmp_path)) == []


def test_an_older_file_without_a_column_reads_with_defaults(tmp_path: Path, make_trace) -> None:
    trace = make_trace(2)  # has feedback 0.0
    full = pa.Table.from_pylist([trace.to_row()], schema=trace_arrow_schema())
    pq.write_table(full.drop_columns(["feedback"]), tmp_path / "old.parquet")
    (back,) = read_traces(tmp_path / "old.parquet")
    assert back.feedback is None
    assert back.trace_id == trace.trace_id
    assert read_traces_table(tmp_path).column("feedback").to_pylist() == [None]
