"""JSONL sink: whole lines, round trips, rotation, concurrency, clear path errors."""

from __future__ import annotations

import asyncio
import json
import math
import threading
from pathlib import Path

import pytest

from mm_orch.exceptions import TracingError
from mm_orch.observability.jsonl_sink import JsonlSink
from mm_orch.observability.readers import read_traces
from mm_orch.observability.records import WorkflowTrace


def test_lines_parse_back_to_equal_records(tmp_path: Path, make_trace) -> None:
    path = tmp_path / "t.jsonl"
    sink = JsonlSink(path)
    originals = [make_trace(i) for i in range(25)]
    for trace in originals:
        sink.write(trace)
    sink.close()
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""  # every record ends with a newline
    assert [WorkflowTrace.model_validate_json(line) for line in lines[:-1]] == originals
    assert sink.lines_written == 25


def test_nan_and_infinity_survive_the_round_trip(tmp_path: Path, make_trace) -> None:
    trace = make_trace(1)
    trace = trace.model_copy(update={"quality_signals": {"ratio": math.nan, "score": math.inf}})
    sink = JsonlSink(tmp_path / "t.jsonl")
    sink.write(trace)
    sink.close()
    (back,) = read_traces(tmp_path / "t.jsonl")
    assert math.isnan(back.quality_signals["ratio"])
    assert back.quality_signals["score"] == math.inf


def test_appends_to_an_existing_file(tmp_path: Path, make_trace) -> None:
    path = tmp_path / "t.jsonl"
    for i in range(3):
        sink = JsonlSink(path)
        sink.write(make_trace(i))
        sink.close()
    assert [t.trace_id for t in read_traces(path)] == ["trace-00000000", "trace-00000001", "trace-00000002"]


def test_many_threads_produce_exactly_n_intact_lines(tmp_path: Path, make_trace) -> None:
    path = tmp_path / "t.jsonl"
    sink = JsonlSink(path)
    n_threads, per_thread = 16, 250
    start = threading.Barrier(n_threads)

    def worker(k: int) -> None:
        start.wait()
        for i in range(per_thread):
            sink.write(make_trace(k * per_thread + i))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sink.close()
    lines = path.read_bytes().splitlines()
    assert len(lines) == n_threads * per_thread
    ids = sorted(json.loads(line)["trace_id"] for line in lines)  # every line is complete JSON
    assert ids == [f"trace-{i:08d}" for i in range(n_threads * per_thread)]


def test_asyncio_tasks_write_intact_lines(tmp_path: Path, make_trace) -> None:
    path = tmp_path / "t.jsonl"
    sink = JsonlSink(path)

    async def run(k: int) -> None:
        for i in range(20):
            await asyncio.sleep(0)
            sink.write(make_trace(k * 20 + i))

    async def main() -> None:
        await asyncio.gather(*(run(k) for k in range(50)))

    asyncio.run(main())
    sink.close()
    records = list(read_traces(path))
    assert sorted(r.trace_id for r in records) == [f"trace-{i:08d}" for i in range(1000)]


def test_rotation_keeps_every_line_and_bounds_file_size(tmp_path: Path, make_trace) -> None:
    path = tmp_path / "traces.jsonl"
    line_len = len(make_trace(0).model_dump_json()) + 1
    sink = JsonlSink(path, max_bytes=line_len * 10)
    for i in range(55):
        sink.write(make_trace(i))
    sink.close()
    rotated = sorted(tmp_path.glob("traces-*.jsonl"))
    assert len(rotated) == sink.files_rotated >= 5
    for f in [*rotated, path]:
        assert f.stat().st_size <= line_len * 10 + 20  # records of i >= 10 are a few bytes longer
    # rotated names sort before the live file, in write order, so a folder read keeps the order
    assert [t.trace_id for t in read_traces(tmp_path)] == [f"trace-{i:08d}" for i in range(55)]


def test_rotation_backup_count_deletes_the_oldest(tmp_path: Path, make_trace) -> None:
    path = tmp_path / "traces.jsonl"
    line_len = len(make_trace(0).model_dump_json()) + 1
    sink = JsonlSink(path, max_bytes=line_len * 2, backup_count=2)
    for i in range(20):
        sink.write(make_trace(i))
    sink.close()
    assert len(list(tmp_path.glob("traces-*.jsonl"))) == 2
    kept = [t.trace_id for t in read_traces(tmp_path)]
    assert kept[-1] == "trace-00000019"
    assert len(kept) < 20


def test_a_directory_as_path_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(TracingError, match=r"is a directory\. Pass a file path inside it.*traces\.jsonl"):
        JsonlSink(tmp_path)


def test_an_uncreatable_parent_names_the_fix(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(TracingError, match=r"Cannot create the folder .*blocker.* output_path whose folder"):
        JsonlSink(blocker / "sub" / "t.jsonl")


def test_write_after_close_raises(tmp_path: Path, make_trace) -> None:
    sink = JsonlSink(tmp_path / "t.jsonl")
    sink.close()
    sink.close()  # idempotent
    with pytest.raises(TracingError, match="is closed; create a new Tracer"):
        sink.write(make_trace(0))


def test_full_disk_raises_tracing_error(make_trace) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("/dev/full is not available")
    sink = JsonlSink("/dev/full")
    with pytest.raises(TracingError, match=r"failed: No space left on device\. Check free disk space"):
        sink.write(make_trace(0))
    sink.close()
