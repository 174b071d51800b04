"""``mm-orch report TRACES [-o report.html]``: build the trace report (see :mod:`mm_orch.reporting.report`).

Exit codes: 0 written, 1 could not write, 2 usage error or no traces to report on.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mm_orch.exceptions import TracingError
from mm_orch.reporting.data import NoTracesError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mm-orch report",
        description="Render the Parquet traces under TRACES as one self-contained HTML report (no network needed "
        "to view it): volume, latency and cost per workflow, quality, router confidence and confusion against "
        "feedback, cheaper-workflow suggestions, RouterV3's lambda curve, the slowest steps and failures.",
    )
    p.add_argument("traces", nargs="?", default="data/traces", help="trace folder (default: data/traces)")
    p.add_argument("-o", "--output", default="report.html", help="HTML file to write (default: report.html)")
    p.add_argument("--feedback", help="feedback JSONL file or folder (default: TRACES/feedback)")
    p.add_argument("--lambda", dest="cost_lambda", type=float, default=0.3,
                   help="RouterV3 cost weight to mark on the lambda curve (default: 0.3, the router's default)")  # fmt: skip
    p.add_argument("--tolerance", type=float, default=0.03,
                   help="quality shortfall still counted as equal for cheaper-workflow suggestions (default: 0.03)")  # fmt: skip
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.cost_lambda < 0 or not 0 <= args.tolerance <= 1:
        sys.stderr.write("mm-orch report: error: --lambda must be >= 0 and --tolerance within 0..1\n")
        return 2
    from mm_orch.reporting.report import build_report

    try:
        summary = build_report(
            args.traces,
            args.output,
            feedback=args.feedback,
            cost_lambda=args.cost_lambda,
            tolerance=args.tolerance,
        )
    except NoTracesError as exc:
        sys.stderr.write(f"mm-orch report: {exc}\n")
        return 2
    except TracingError as exc:
        sys.stderr.write(f"mm-orch report: failed: {exc}\n")
        return 1
    print(
        f"wrote {summary.output} ({summary.bytes / 1e6:.1f} MB, {summary.figures} plots) from {summary.runs:,} runs "
        f"in {summary.files} Parquet files and {summary.feedback_records:,} feedback records in {summary.seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
