"""Router training throughput: N synthetic trace rows in Parquet -> a fitted, evaluated, published router.

Runs the Ray Data pipeline (``router.pipeline.run_training``) and, as the baseline in the same run, the same
stages in one process without Ray (pyarrow read, the same label/featurize functions, the same fit). Prints
rows/s for both and the ratio. Data generation and Ray start-up are reported but not part of either time.

    python benchmarks/bench_router_training.py --rows 1000000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mm_orch.routing.features import FeaturizerConfig
from mm_orch.routing.model import fit_classifier
from router.labels import LabelRule
from router.pipeline import TRACE_COLUMNS, TrainSettings, _csr, featurize_batch, label_batch, run_training
from router.synthetic import synthetic_traces, write_parquet


def baseline(traces: Path, batch_size: int = 8192) -> tuple[float, int]:
    """Same stages in one process: read, label, featurize, dedupe, fit. Returns (seconds, rows fitted)."""
    start = time.perf_counter()
    rule, feat = LabelRule().model_dump_json(), FeaturizerConfig()
    parts = []
    for f in sorted(traces.glob("*.parquet")):
        for batch in pq.ParquetFile(f).iter_batches(batch_size=batch_size, columns=TRACE_COLUMNS):
            labelled = label_batch(pa.Table.from_batches([batch]), rule)
            parts.append(featurize_batch(labelled, feat.model_dump_json()))
    table = pa.concat_tables(parts)
    _, first = np.unique(table["key"].to_numpy(), return_index=True)
    table = table.take(pa.array(np.sort(first)))
    x = _csr(table, feat.n_features)
    fit_classifier(x, table["workflow"].to_pylist(), sample_weight=table["weight"].to_numpy())
    return time.perf_counter() - start, table.num_rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--skip-baseline", action="store_true", help="only time the Ray pipeline")
    args = p.parse_args()
    import ray

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        table = synthetic_traces(args.rows, seed=7).drop_columns(["truth"])
        write_parquet(table, Path(tmp) / "traces", rows_per_file=50_000)
        del table
        print(f"generated {args.rows:,} rows of Parquet in {time.perf_counter() - t:.1f}s (not timed)")
        t = time.perf_counter()
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
        print(f"ray.init: {time.perf_counter() - t:.1f}s (not timed)")
        report = run_training(
            TrainSettings(
                traces=str(Path(tmp) / "traces"),
                output=str(Path(tmp) / "models"),
                featurizer=FeaturizerConfig(),  # n-grams in both contenders, like for like with the baseline
                progress=False,
            )
        )
        ray_s = report.seconds["total"]
        ray.shutdown()
        print(f"ray pipeline: {ray_s:.1f}s total {report.seconds}")
        print(
            f"  rows read {report.rows_read:,}, labelled {report.rows_labelled:,}, after dedupe "
            f"{report.rows_deduplicated:,}, fitted {report.train_rows:,}; held-out macro-F1 "
            f"{report.new_metrics.macro_f1:.3f}, accuracy {report.new_metrics.accuracy:.3f}"
        )
        print(f"  throughput {report.rows_read / ray_s:,.0f} trace rows/s")
        if not args.skip_baseline:
            base_s, _ = baseline(Path(tmp) / "traces")
            print(f"baseline (one process, no Ray): {base_s:.1f}s, {args.rows / base_s:,.0f} trace rows/s")
            print(f"ratio ray/baseline time: {ray_s / base_s:.2f}x (speed-up {base_s / ray_s:.2f}x)")


if __name__ == "__main__":
    main()
