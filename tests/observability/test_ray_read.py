"""Ray Data reads the tracer's Parquet folder while it is being written, and gets the same records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from mm_orch.observability import Tracer, WorkflowTrace, trace_arrow_schema

pytestmark = pytest.mark.integration


def test_ray_read_parquet_returns_equal_records(tmp_path: Path, make_trace, ray_cluster: Any) -> None:
    ray = ray_cluster
    originals = [make_trace(i) for i in range(600)]
    tracer = Tracer(tmp_path / "t.jsonl", parquet_rows_per_file=250, parquet_row_group_size=50)
    for trace in originals:
        tracer.write(trace)
    tracer.close()
    # a writer's leftover temporary file (e.g. after a crash) must not be read
    (tmp_path / "parquet" / ".traces-crashed.parquet.tmp").write_bytes(b"PAR1 half a file")

    ds = ray.data.read_parquet(str(tmp_path / "parquet"))
    assert ds.count() == 600
    assert ds.schema().names == trace_arrow_schema().names
    table = pa.concat_tables(ray.get(ds.to_arrow_refs()))
    rows = table.to_pylist(maps_as_pydicts="strict")
    back = sorted((WorkflowTrace.model_validate(r) for r in rows), key=lambda t: t.trace_id)
    assert back == originals
