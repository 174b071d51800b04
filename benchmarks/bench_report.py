"""Build time of ``mm-orch report`` over 1,000,000 realistic trace rows (target: under 30 s).

    python benchmarks/bench_report.py                  # 1,000,000 rows (10 Parquet files + 3% feedback)
    python benchmarks/bench_report.py --rows 200000    # quicker

Generates the rows column by column (:mod:`mm_orch.reporting.synthetic`: the real trace schema, per-workflow
step chains with log-normal latencies, failures, quality signals, feedback), writes them as the Tracer's
Parquet sink would (zstd, 100k rows per file), then times, each in the same process and in this order:

* ``read columns`` -- the floor: pyarrow reading just the columns the report uses into one table;
* ``row by row`` -- the alternative the report avoids: the public reader ``read_traces`` validating every row
  into a ``WorkflowTrace`` and ``CostStatistics.from_traces`` (on --row-sample rows, scaled to all of them);
* ``report`` -- ``build_report(folder, out.html)``: load, every section, every figure, the HTML written;
* ``mm-orch report`` -- the command in a fresh process (``python -m mm_orch.main report``), imports included.

Prints each time and its ratio to ``read columns``; the report must stay under --target-s.
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.dataset as pds

from mm_orch.observability.arrow_schema import trace_arrow_schema
from mm_orch.observability.cost_stats import CostStatistics
from mm_orch.observability.readers import read_traces
from mm_orch.reporting import build_report
from mm_orch.reporting.data import _COLUMNS
from mm_orch.reporting.synthetic import write_synthetic_traces


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="trace rows to generate and report on")
    parser.add_argument("--row-sample", type=int, default=20_000, help="rows for the row-by-row comparison")
    parser.add_argument("--target-s", type=float, default=30.0, help="report build time to stay under")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mm-orch-bench-report-") as tmp:
        folder = Path(tmp) / "traces"
        t = time.perf_counter()
        files, feedback = write_synthetic_traces(folder, args.rows)
        gen_s = time.perf_counter() - t
        size = sum(f.stat().st_size for f in files)
        print(
            f"generated {args.rows:,} rows in {len(files)} files ({size / 1e6:.0f} MB) + {feedback.stat().st_size / 1e6:.1f} MB feedback in {gen_s:.1f} s"
        )

        t = time.perf_counter()
        pds.dataset([str(f) for f in files], schema=trace_arrow_schema(), format="parquet").to_table(
            columns=_COLUMNS
        )
        read_s = time.perf_counter() - t

        t = time.perf_counter()
        sample = list(itertools.islice(read_traces(files[0]), args.row_sample))
        CostStatistics.from_traces(sample)
        rows_s = (time.perf_counter() - t) * args.rows / max(len(sample), 1)

        out = Path(tmp) / "report.html"
        t = time.perf_counter()
        summary = build_report(folder, out)
        report_s = time.perf_counter() - t

        t = time.perf_counter()
        cli = [sys.executable, "-m", "mm_orch.main", "report", str(folder), "-o", str(Path(tmp) / "cli.html")]
        subprocess.run(cli, check=True, stdout=subprocess.DEVNULL)
        cli_s = time.perf_counter() - t

    print(f"\n{'step':<44}{'seconds':>9}{'vs read':>9}")
    for name, s in (
        ("read columns (pyarrow, the floor)", read_s),
        (f"row by row (read_traces + CostStatistics, x{args.rows // max(args.row_sample, 1)})", rows_s),
        ("report (load, sections, figures, HTML)", report_s),
        ("mm-orch report (fresh process)", cli_s),
    ):
        print(f"{name:<44}{s:>9.1f}{s / read_s:>8.1f}x")
    print(
        f"\nreport: {summary.runs:,} runs, {summary.figures} plots, {summary.suggestions} suggestions, "
        f"{summary.bytes / 1e6:.1f} MB HTML; the command took {cli_s:.1f} s (target < {args.target_s:g} s): "
        f"{'met' if cli_s < args.target_s else 'MISSED'}"
    )
    return 0 if cli_s < args.target_s else 1


if __name__ == "__main__":
    sys.exit(main())
