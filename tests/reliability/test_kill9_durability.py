"""kill -9 durability: a writer process killed at random points never loses an acknowledged record and never
leaves anything that breaks a reader.

Each trial starts a fresh Python process that writes traces (JSONL and Parquet, small files so that several are
published per trial) and feedback records into the same folders as every trial before it, like a replica that
keeps being restarted. After ``Tracer.flush()`` returns it prints ``ACK <n>`` (records 0..n are durable); after
``FeedbackStore.append`` returns it prints ``FB <id>``. The parent kills it with SIGKILL after a random delay
and then checks, every trial:

- every published Parquet file reads (``pyarrow.parquet.read_table``), and ``read_traces`` reads the folder;
- every JSONL line of traces and feedback parses (no torn line);
- every acknowledged trace is in the JSONL file and in the Parquet files, every acknowledged feedback record
  is read back by ``read_feedback``;
- the Parquet rows a kill lost are at most the records written since the last flush (``FLUSH_EVERY``);
- the temporary file a killed writer left behind is removed when the next writer starts.

The figures are printed (``pytest -s``) and recorded in docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from mm_orch.observability.feedback import read_feedback
from mm_orch.observability.parquet_sink import ParquetSink
from mm_orch.observability.readers import read_traces

TRIALS = 20
FLUSH_EVERY = 5
ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import sys, time
from pathlib import Path
from mm_orch.observability import Tracer
from mm_orch.observability.feedback import FeedbackRecord, FeedbackStore
from mm_orch.observability.records import WorkflowTrace

root, trial, flush_every = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
tracer = Tracer(root / "traces.jsonl", parquet_dir=root / "parquet", parquet_rows_per_file=7,
                parquet_row_group_size=3, parquet_max_file_age_s=0.05)
feedback = FeedbackStore(root / "feedback" / "feedback.jsonl")
print("READY", flush=True)
i = 0
while True:
    trace_id = f"{trial}-{i}"
    tracer.write(WorkflowTrace(trace_id=trace_id, request_id=trace_id, timestamp=time.time(),
                               workflow="search_qa", question="x" * (i % 50), metadata={"trial": trial}))
    if i % 3 == 0:
        record = feedback.append(FeedbackRecord(trace_id=trace_id, rating=1.0, comment="ok " * (i % 7)))
        print("FB", record.feedback_id, flush=True)
    if i % flush_every == flush_every - 1:
        tracer.flush()
        print("ACK", i, flush=True)
    i += 1
    time.sleep(0.001)
"""


def _trial(root: Path, trial: str, rng: random.Random) -> tuple[int, set[str]]:
    """Run one writer, kill it at a random point; (last acknowledged index, acknowledged feedback ids)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(root), trial, str(FLUSH_EVERY)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    assert child.stdout is not None
    ready = child.stdout.readline()
    assert ready.strip() == "READY", f"the writer did not start: {ready!r}"
    time.sleep(rng.uniform(0.02, 0.4))
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    acked, feedback = -1, set()
    lines = child.stdout.read().split("\n")
    for line in lines[:-1]:  # the last piece has no newline: a line the kill may have cut short
        kind, _, value = line.partition(" ")
        if kind == "ACK":
            acked = int(value)
        elif kind == "FB":
            feedback.add(value)
    assert child.returncode == -signal.SIGKILL
    return acked, feedback


def _jsonl_ids(path: Path) -> list[str]:
    if not path.exists():
        return []
    ids = []
    data = path.read_bytes()
    for line in data.split(b"\n"):
        if line:
            ids.append(json.loads(line)["trace_id"])  # raises on a torn line
    assert not data or data.endswith(b"\n"), f"{path} ends in a torn line"
    return ids


@pytest.mark.slow
def test_kill9_loses_no_acknowledged_record_and_leaves_nothing_broken(tmp_path: Path) -> None:
    rng = random.Random(20240612)
    parquet = tmp_path / "parquet"
    acked_traces: set[str] = set()
    acked_feedback: set[str] = set()
    written_total = lost_max = stale_seen = 0
    for n in range(TRIALS):
        trial = f"t{n:02d}"
        acked, feedback = _trial(tmp_path, trial, rng)
        acked_traces |= {f"{trial}-{i}" for i in range(acked + 1)}
        acked_feedback |= feedback
        # every published file reads; the one the kill interrupted is a hidden .tmp the readers skip
        files = sorted(parquet.glob("*.parquet"))
        parquet_ids = {
            tid for f in files for tid in pq.read_table(f, columns=["trace_id"])["trace_id"].to_pylist()
        }
        assert len(list(read_traces(parquet))) == len(parquet_ids)
        jsonl_ids = _jsonl_ids(tmp_path / "traces.jsonl")
        assert len(jsonl_ids) == len(set(jsonl_ids)), "a trace was written twice"
        assert acked_traces <= set(jsonl_ids)
        assert acked_traces <= parquet_ids
        # Parquet rows of this trial lost by the kill: bounded by the flush interval
        this_trial = {t for t in jsonl_ids if t.startswith(f"{trial}-")}
        lost = len(this_trial - parquet_ids)
        assert lost <= FLUSH_EVERY, f"trial {trial} lost {lost} Parquet rows, more than FLUSH_EVERY"
        lost_max = max(lost_max, lost)
        written_total += len(this_trial)
        stored = {r.feedback_id for r in read_feedback(tmp_path / "feedback")}
        assert acked_feedback <= stored
        feedback_lines = (tmp_path / "feedback" / "feedback.jsonl").read_bytes().split(b"\n")
        assert all(json.loads(line) for line in feedback_lines if line)  # no torn feedback line
        stale = list(parquet.glob(".*.tmp"))
        assert len(stale) <= 1, f"temporary files of earlier killed writers were not cleaned up: {stale}"
        stale_seen += len(stale)
    # the next start cleans the last killed writer's temporary file too
    sink = ParquetSink(parquet)
    sink.close()
    assert list(parquet.glob(".*.tmp")) == []
    print(
        f"\nkill -9: {TRIALS} trials, {written_total} traces written, {len(acked_traces)} acknowledged (0 lost), "
        f"{len(acked_feedback)} feedback records acknowledged (0 lost), {len(list(parquet.glob('*.parquet')))} "
        f"Parquet files all readable, at most {lost_max} unflushed Parquet rows lost per kill "
        f"(bound {FLUSH_EVERY}), {stale_seen} temporary files left by kills, all removed at the next start"
    )
    assert len(acked_traces) > TRIALS
    assert len(acked_feedback) > TRIALS


def test_stale_temp_files_of_dead_writers_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    stale = tmp_path / f".traces-20240101T000000-{dead_pid}-deadbeef-000001.parquet.tmp"
    live = tmp_path / f".traces-20240101T000000-{os.getppid()}-cafecafe-000001.parquet.tmp"
    other = tmp_path / ".notes.tmp"
    for f in (stale, live, other):
        f.write_bytes(b"PAR1 half a file")
    sink = ParquetSink(tmp_path)
    sink.close()
    assert sink.stale_removed == 1
    assert not stale.exists()
    assert live.exists()
    assert other.exists()
