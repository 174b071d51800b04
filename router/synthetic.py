"""Synthetic traces for tests and the throughput benchmark, built from the bootstrap dataset.

Each row is a bootstrap request with light noise (prefixes, suffixes, casing, a random id) and a simulated
outcome: routed runs that went well (label), forced choices (label), wrong routes that failed or got negative
feedback (no label), and successes without any quality evidence (no label). ``truth`` says which workflow the
request really belonged to, so tests can check that training learned outcomes rather than routes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mm_orch.routing.decision import WORKFLOWS
from mm_orch.routing.training import DEFAULT_BOOTSTRAP_PATH, LabelledExample, load_split

__all__ = ["OUTCOMES", "synthetic_traces", "write_parquet"]

_PREFIX = ["", "", "", "hey, ", "quick one: ", "please ", "so ", "i was wondering, ", "ok ", "question: "]
_SUFFIX = ["", "", "", " thanks", " please", " ?", " :)", " asap", " if you can", " thx"]
#: outcome kinds and their shares
OUTCOMES = {"good": 0.40, "forced": 0.15, "wrong_failed": 0.15, "wrong_negative": 0.10, "no_signal": 0.20}


def synthetic_traces(
    n: int, *, seed: int = 0, examples: list[LabelledExample] | None = None, split: str | None = "train"
) -> pa.Table:
    """``n`` trace rows (the columns training reads, plus ids, timestamp and ``truth``)."""
    rng = np.random.default_rng(seed)
    if examples is not None:
        pool = [e for e in examples if split is None or e.split == split]
    else:
        train, validation = load_split(DEFAULT_BOOTSTRAP_PATH)
        pool = {"train": train, "validation": validation, "test": validation}.get(split or "", train + validation)
    pick = rng.integers(0, len(pool), n)
    kinds = rng.choice(list(OUTCOMES), size=n, p=list(OUTCOMES.values()))
    pre = rng.integers(0, len(_PREFIX), n)
    suf = rng.integers(0, len(_SUFFIX), n)
    ids = rng.integers(0, 10_000_000, n)
    with_id = rng.random(n) < 0.7
    wrong = rng.integers(0, len(WORKFLOWS) - 1, n)
    quality = rng.uniform(0.7, 1.0, n)
    questions, workflows, truth, forced, success, feedback, signals, modes, metas = ([] for _ in range(9))
    for i in range(n):
        e = pool[pick[i]]
        q = _PREFIX[pre[i]] + e.query + _SUFFIX[suf[i]]
        questions.append(q + (f" (ref {ids[i]})" if with_id[i] else ""))
        kind = kinds[i]
        others = [w for w in WORKFLOWS if w != e.workflow]
        ran = e.workflow if kind in ("good", "forced", "no_signal") else others[wrong[i] % len(others)]
        workflows.append(ran)
        truth.append(e.workflow)
        forced.append(kind == "forced")
        success.append(kind != "wrong_failed")
        feedback.append(-1.0 if kind == "wrong_negative" else None)
        signals.append([("answer_relevance", float(quality[i]))] if kind == "good" else [])
        modes.append(e.mode)
        metas.append([("has_collection", str(e.has_collection).lower()),
                      ("has_documents", str(e.has_documents).lower()),
                      ("history_turns", str(e.history_turns))])  # fmt: skip
    str_map = pa.map_(pa.string(), pa.string())
    return pa.table(
        {
            "trace_id": pa.array([f"t{seed}-{i}" for i in range(n)]),
            "request_id": pa.array([f"r{seed}-{i}" for i in range(n)]),
            "timestamp": pa.array(1.7e9 + np.arange(n, dtype=np.float64)),
            "question": pa.array(questions),
            "workflow": pa.array(workflows),
            "workflow_forced": pa.array(forced),
            "success": pa.array(success),
            "quality_signals": pa.array(signals, type=pa.map_(pa.string(), pa.float64())),
            "feedback": pa.array(feedback, type=pa.float64()),
            "mode": pa.array(modes),
            "metadata": pa.array(metas, type=str_map),
            "truth": pa.array(truth),
        }
    )


def write_parquet(table: pa.Table, directory: str | Path, *, rows_per_file: int = 100_000) -> list[Path]:
    """Write ``table`` as numbered Parquet files under ``directory``."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, start in enumerate(range(0, table.num_rows, rows_per_file)):
        path = out / f"traces-{k:05d}.parquet"
        pq.write_table(table.slice(start, rows_per_file), path)
        paths.append(path)
    return paths
