"""Parquet sink: equal rows back, rolling files, fixed row groups, atomic publication, bounded queue, errors."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pyarrow.dataset as pds
import pyarrow.parquet as pq
import pytest

from mm_orch.exceptions import TracingError
from mm_orch.observability.arrow_schema import trace_arrow_schema
from mm_orch.observability.parquet_sink import ParquetSink
from mm_orch.observability.records import WorkflowTrace


def _published(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.parquet") if not p.name.startswith("."))


def _records(directory: Path) -> list[WorkflowTrace]:
    table = pq.read_table(directory)
    return [WorkflowTrace.model_validate(row) for row in table.to_pylist(maps_as_pydicts="strict")]


def test_rows_read_back_equal_by_pyarrow(tmp_path: Path, make_trace) -> None:
    sink = ParquetSink(tmp_path)
    originals = [make_trace(i) for i in range(500)]
    for trace in originals:
        assert sink.write(trace) is True
    sink.close()
    assert _records(tmp_path) == originals
    assert sink.rows_written == 500
    assert sink.files_written == 1
    assert sink.dropped == 0


def test_files_roll_with_fixed_row_groups_and_one_schema(tmp_path: Path, make_trace) -> None:
    sink = ParquetSink(tmp_path, rows_per_file=100, row_group_size=30)
    for i in range(1000):
        sink.write(make_trace(i))
    sink.close()
    files = _published(tmp_path)
    assert len(files) == 10 == sink.files_written
    for f in files:
        meta = pq.ParquetFile(f).metadata
        assert [meta.row_group(g).num_rows for g in range(meta.num_row_groups)] == [30, 30, 30, 10]
        schema = pq.read_schema(f)
        assert schema.equals(trace_arrow_schema())
        assert schema.metadata == trace_arrow_schema().metadata
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind
    assert [t.trace_id for t in _records(tmp_path)] == [f"trace-{i:08d}" for i in range(1000)]


def test_no_partial_file_is_ever_visible_while_files_roll(tmp_path: Path, make_trace) -> None:
    traces = [make_trace(i) for i in range(200)]
    sink = ParquetSink(tmp_path, rows_per_file=400, row_group_size=100, queue_size=2000)
    stop = threading.Event()
    failures: list[str] = []
    reads = {"files": 0, "datasets": 0}

    def reader() -> None:
        while not stop.is_set():
            for f in _published(tmp_path):
                try:
                    n = pq.read_table(f).num_rows
                except Exception as err:  # noqa: BLE001 - any failure here is what the test forbids
                    failures.append(f"{f.name}: {err}")
                    continue
                if n != 400:
                    failures.append(f"{f.name} has {n} rows while the writer is still running")
                reads["files"] += 1
            try:
                rows = pds.dataset(tmp_path, format="parquet").count_rows()
                assert rows % 400 == 0, rows
                reads["datasets"] += 1
            except Exception as err:  # noqa: BLE001 - any failure here is what the test forbids
                failures.append(f"dataset: {err}")

    thread = threading.Thread(target=reader)
    thread.start()
    for round_ in range(40):  # 8,000 rows -> 20 files
        for trace in traces:
            sink.write(trace.model_copy(update={"trace_id": f"{round_}-{trace.trace_id}"}))
    sink.flush()
    stop.set()
    thread.join()
    sink.close()
    assert failures == []
    assert reads["files"] > 0
    assert reads["datasets"] > 0
    assert pds.dataset(tmp_path, format="parquet").count_rows() == 8000
    assert len(_published(tmp_path)) == 20


def test_flush_publishes_everything_written_so_far(tmp_path: Path, make_trace) -> None:
    sink = ParquetSink(tmp_path, max_file_age_s=3600)
    for i in range(7):
        sink.write(make_trace(i))
    sink.flush()
    assert sink.rows_written == 7
    assert sink.rows_pending == 0
    assert len(_published(tmp_path)) == 1
    for i in range(7, 10):
        sink.write(make_trace(i))
    sink.flush()
    assert len(_published(tmp_path)) == 2
    assert [t.trace_id for t in _records(tmp_path)] == [f"trace-{i:08d}" for i in range(10)]
    sink.close()


def test_an_old_file_is_published_without_a_flush(tmp_path: Path, make_trace) -> None:
    sink = ParquetSink(tmp_path, max_file_age_s=0.2)
    for i in range(5):
        sink.write(make_trace(i))
    deadline = time.monotonic() + 10
    while not _published(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(_records(tmp_path)) == 5
    sink.close()


def test_close_is_idempotent_and_write_after_close_raises(tmp_path: Path, make_trace) -> None:
    sink = ParquetSink(tmp_path)
    sink.write(make_trace(0))
    sink.close()
    sink.close()
    assert len(_records(tmp_path)) == 1
    with pytest.raises(TracingError, match="closed"):
        sink.write(make_trace(1))


def test_close_without_any_write_creates_no_file(tmp_path: Path) -> None:
    sink = ParquetSink(tmp_path / "pq")
    sink.close()
    assert list((tmp_path / "pq").iterdir()) == []


def test_drop_mode_bounds_the_queue_and_accounts_for_every_run(tmp_path: Path, make_trace) -> None:
    sink = ParquetSink(tmp_path, queue_size=16, on_queue_full="drop", row_group_size=64)
    trace = make_trace(1)
    n_threads, per_thread = 8, 1000
    accepted = [0] * n_threads

    def worker(k: int) -> None:
        accepted[k] = sum(sink.write(trace) for _ in range(per_thread))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sink.close()
    assert sink.queue_high_water <= 16
    assert sum(accepted) + sink.dropped == n_threads * per_thread
    assert pds.dataset(tmp_path, format="parquet").count_rows() == sum(accepted) == sink.rows_written


def test_block_mode_never_drops(tmp_path: Path, make_trace) -> None:
    sink = ParquetSink(tmp_path, queue_size=8, on_queue_full="block", row_group_size=64)
    for i in range(3000):
        sink.write(make_trace(i))
    sink.close()
    assert sink.dropped == 0
    assert sink.queue_high_water <= 8
    assert pds.dataset(tmp_path, format="parquet").count_rows() == 3000


def test_a_vanished_folder_is_reported_on_flush_not_on_write(tmp_path: Path, make_trace) -> None:
    directory = tmp_path / "pq"
    sink = ParquetSink(directory, max_file_age_s=3600)
    sink.write(make_trace(0))
    sink.flush()
    shutil.rmtree(directory)
    for i in range(1, 4):
        assert sink.write(make_trace(i)) is True  # the request path does not fail
    with pytest.raises(TracingError, match=r"failed 1 time\(s\).*Check free space and permissions"):
        sink.flush()
    assert sink.dropped == 3
    assert sink.rows_written == 1
    sink.close()


def test_a_file_in_place_of_the_folder_names_the_fix(tmp_path: Path) -> None:
    blocker = tmp_path / "parquet"
    blocker.write_text("not a folder")
    with pytest.raises(TracingError, match=r"is a file\. Pass a folder path as parquet_dir"):
        ParquetSink(blocker)


def test_row_group_larger_than_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TracingError, match="row_group_size=10 exceeds rows_per_file=5"):
        ParquetSink(tmp_path, rows_per_file=5, row_group_size=10)
