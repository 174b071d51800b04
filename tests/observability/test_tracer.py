"""The Tracer the executor calls: config, sampling, both sinks, concurrency, flush/close/atexit, errors."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pyarrow.dataset as pds
import pytest

from mm_orch.exceptions import ConfigError, TracingError
from mm_orch.observability import Tracer, TracerConfig, read_traces


def test_guide_usage_writes_jsonl_and_parquet_next_to_it(tmp_path: Path, make_trace) -> None:
    tracer = Tracer(tmp_path / "data/traces/traces.jsonl")
    assert tracer.sampled() is True
    tracer.write(make_trace(0))
    tracer.close()
    assert [t.trace_id for t in read_traces(tmp_path / "data/traces/traces.jsonl")] == ["trace-00000000"]
    assert [t.trace_id for t in read_traces(tmp_path / "data/traces/parquet")] == ["trace-00000000"]
    stats = tracer.stats()
    assert (stats.written, stats.jsonl_lines, stats.parquet_rows_written, stats.parquet_files_written) == (
        1,
        1,
        1,
        1,
    )
    assert stats.parquet_dir == str(tmp_path / "data/traces/parquet")


def test_both_sinks_hold_the_same_records(tmp_path: Path, make_trace) -> None:
    originals = [make_trace(i) for i in range(300)]
    with Tracer(tmp_path / "t.jsonl", parquet_rows_per_file=128, parquet_row_group_size=64) as tracer:
        for trace in originals:
            tracer.write(trace)
    assert list(read_traces(tmp_path / "t.jsonl")) == originals
    assert list(read_traces(tmp_path / "parquet")) == originals
    assert tracer.stats().parquet_files_written == 3


def test_later_changes_to_a_written_record_are_not_recorded(tmp_path: Path, make_trace) -> None:
    trace = make_trace(2)
    with Tracer(tmp_path / "t.jsonl") as tracer:
        tracer.write(trace)
        trace.final_answer = "changed after write"
        trace.quality_signals["late"] = 1.0
    for back in (*read_traces(tmp_path / "t.jsonl"), *read_traces(tmp_path / "parquet")):
        assert back.final_answer == "Answer 2: Python is a programming language."
        assert "late" not in back.quality_signals


def test_each_sink_can_be_off(tmp_path: Path, make_trace) -> None:
    with Tracer(tmp_path / "a/t.jsonl", parquet=False) as only_jsonl:
        only_jsonl.write(make_trace(0))
    assert not (tmp_path / "a/parquet").exists()
    with Tracer(None, parquet_dir=tmp_path / "b/pq") as only_parquet:
        only_parquet.write(make_trace(0))
    assert [p.suffix for p in (tmp_path / "b").rglob("*.*")] == [".parquet"]
    with Tracer(tmp_path / "c/t.jsonl", jsonl=False) as parquet_by_flag:
        parquet_by_flag.write(make_trace(0))
    assert not (tmp_path / "c/t.jsonl").exists()
    assert len(list((tmp_path / "c/parquet").iterdir())) == 1


def test_from_config_accepts_the_yaml_section(tmp_path: Path, make_trace) -> None:
    section = {"enabled": True, "output_path": str(tmp_path / "t.jsonl"), "sample_rate": 0.5, "seed": 1}
    tracer = Tracer.from_config(section)
    assert tracer.config == TracerConfig(**section)
    tracer.close()
    off = Tracer.from_config(TracerConfig(enabled=False, output_path=tmp_path / "off/t.jsonl"))
    assert off.enabled is False
    assert not any(off.sampled() for _ in range(100))
    off.write(make_trace(0))  # harmless: no sink
    off.close()
    assert not (tmp_path / "off").exists()


def test_invalid_settings_raise_config_error_naming_the_value() -> None:
    with pytest.raises(ConfigError, match=r"sample_rate[\s\S]*less than or equal to 1[\s\S]*input_value=1.5"):
        Tracer("x.jsonl", sample_rate=1.5)
    with pytest.raises(ConfigError, match=r"parquet_row_group_size=500 exceeds parquet_rows_per_file=100"):
        Tracer("x.jsonl", parquet_rows_per_file=100, parquet_row_group_size=500)
    with pytest.raises(ConfigError, match=r"both sinks are off.*set enabled=False"):
        Tracer("x.jsonl", jsonl=False, parquet=False)
    with pytest.raises(ConfigError, match=r"Parquet sink has no folder.*Set parquet_dir"):
        Tracer(None)
    with pytest.raises(ConfigError, match=r"Extra inputs are not permitted[\s\S]*Allowed keys: enabled"):
        Tracer.from_config({"output_path": "x.jsonl", "outputpath": "typo"})
    with pytest.raises(ConfigError, match=r"on_queue_full[\s\S]*'block' or 'drop'"):
        Tracer("x.jsonl", on_queue_full="wait")  # type: ignore[arg-type]


def test_bad_paths_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(TracingError, match=r"is a directory\. Pass a file path inside it"):
        Tracer(tmp_path)
    (tmp_path / "parquet").write_text("a file")
    with pytest.raises(TracingError, match=r"is a file\. Pass a folder path as parquet_dir"):
        Tracer(tmp_path / "t.jsonl")


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_sampling_rate_is_honoured_statistically(tmp_path: Path, rate: float) -> None:
    n = 20_000
    tracer = Tracer(tmp_path / "t.jsonl", sample_rate=rate, seed=7)
    hits = sum(tracer.sampled() for _ in range(n))
    tracer.close()
    sigma = math.sqrt(n * rate * (1 - rate))
    assert abs(hits - n * rate) < 5 * sigma
    assert (tracer.stats().sampled_in, tracer.stats().sampled_out) == (hits, n - hits)


def test_sampling_with_a_seed_is_reproducible_and_the_ends_are_exact(tmp_path: Path) -> None:
    def decisions(seed: int, rate: float) -> list[bool]:
        with Tracer(tmp_path / f"{seed}-{rate}.jsonl", sample_rate=rate, seed=seed) as tracer:
            return [tracer.sampled() for _ in range(500)]

    assert decisions(3, 0.3) == decisions(3, 0.3)
    assert decisions(3, 0.3) != decisions(4, 0.3)
    assert decisions(3, 0.0) == [False] * 500
    assert decisions(3, 1.0) == [True] * 500


def test_many_threads_give_exactly_n_lines_and_n_rows(tmp_path: Path, make_trace) -> None:
    tracer = Tracer(tmp_path / "t.jsonl", parquet_rows_per_file=1000, parquet_row_group_size=250, queue_size=64)
    n_threads, per_thread = 12, 400
    barrier = threading.Barrier(n_threads)

    def worker(k: int) -> None:
        barrier.wait()
        for i in range(per_thread):
            if tracer.sampled():
                tracer.write(make_trace(k * per_thread + i))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tracer.close()
    n = n_threads * per_thread
    lines = (tmp_path / "t.jsonl").read_bytes().splitlines()
    assert len(lines) == n
    assert len({json.loads(line)["trace_id"] for line in lines}) == n
    table = pds.dataset(tmp_path / "parquet", format="parquet").to_table(columns=["trace_id"])
    assert sorted(table.column("trace_id").to_pylist()) == [f"trace-{i:08d}" for i in range(n)]
    stats = tracer.stats()
    assert (stats.written, stats.dropped, stats.parquet_rows_pending) == (n, 0, 0)
    assert stats.queue_high_water <= 64


def test_asyncio_tasks_give_exactly_n_lines_and_n_rows(tmp_path: Path, make_trace) -> None:
    tracer = Tracer(tmp_path / "t.jsonl")

    async def run(i: int) -> None:
        await asyncio.sleep(0)
        if tracer.sampled():
            tracer.write(make_trace(i))

    async def main() -> None:
        await asyncio.gather(*(run(i) for i in range(2000)))

    asyncio.run(main())
    tracer.flush()
    assert len((tmp_path / "t.jsonl").read_bytes().splitlines()) == 2000
    assert pds.dataset(tmp_path / "parquet", format="parquet").count_rows() == 2000
    tracer.close()


def test_flush_makes_rows_visible_and_close_is_final(tmp_path: Path, make_trace) -> None:
    tracer = Tracer(tmp_path / "t.jsonl", parquet_max_file_age_s=3600)
    for i in range(10):
        tracer.write(make_trace(i))
    tracer.flush()
    assert pds.dataset(tmp_path / "parquet", format="parquet").count_rows() == 10
    tracer.write(make_trace(10))
    tracer.close()
    tracer.close()  # idempotent
    assert pds.dataset(tmp_path / "parquet", format="parquet").count_rows() == 11
    assert tracer.closed
    assert tracer.sampled() is False
    with pytest.raises(TracingError, match="Tracer is closed; records can no longer be written"):
        tracer.write(make_trace(11))


def test_writing_a_non_record_names_the_type(tmp_path: Path) -> None:
    with (
        Tracer(tmp_path / "t.jsonl") as tracer,
        pytest.raises(TracingError, match="expects a WorkflowTrace, got dict"),
    ):
        tracer.write({"trace_id": "x"})  # type: ignore[arg-type]


def test_sink_failure_does_not_fail_write_but_is_raised_by_flush(make_trace, tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("/dev/full is not available")
    tracer = Tracer("/dev/full", parquet_dir=tmp_path / "pq")
    tracer.write(make_trace(0))  # the JSONL write fails; the request path does not
    stats = tracer.stats()
    assert (stats.written, stats.dropped, stats.errors) == (1, 1, 1)
    with pytest.raises(TracingError, match=r"1 trace write\(s\) failed; first: .*No space left on device"):
        tracer.flush()
    tracer.close()
    assert pds.dataset(tmp_path / "pq", format="parquet").count_rows() == 1  # the other sink still has it


def test_an_unclosed_tracer_is_closed_at_interpreter_exit(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from conftest import build_trace
        from mm_orch.observability import Tracer
        tracer = Tracer({str(tmp_path / "t.jsonl")!r}, parquet_max_file_age_s=3600)
        for i in range(1234):
            tracer.write(build_trace(i))
        del tracer
        # no flush, no close, no reference left: the atexit hook must still publish the buffered rows
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    assert pds.dataset(tmp_path / "parquet", format="parquet").count_rows() == 1234
    assert not list((tmp_path / "parquet").glob(".*"))


def test_drop_mode_accounts_for_every_run(tmp_path: Path, make_trace) -> None:
    tracer = Tracer(tmp_path / "t.jsonl", queue_size=4, on_queue_full="drop", parquet_row_group_size=256)
    trace = make_trace(5)

    def worker() -> None:
        for _ in range(1500):
            tracer.write(trace)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tracer.close()
    stats = tracer.stats()
    assert stats.jsonl_lines == stats.written == 6000  # the JSONL sink never drops
    assert stats.parquet_rows_written + stats.dropped == 6000
    assert stats.queue_high_water <= 4
