"""``python -m router.train --traces DIR_OR_FILE --output models/router_v2``: retrain and maybe publish.

Runs locally (starts Ray with ``ray.init()``) or inside a Ray job::

    ray job submit --working-dir . -- python -m router.train --traces /data/traces --output /models/router_v2

Prints the :class:`~router.pipeline.TrainReport` as JSON; exits 0 when it published, 3 when the new model was
not at least as good as the published one (nothing changed), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from mm_orch.exceptions import MMOrchError
from router.pipeline import TrainSettings, run_training

__all__ = ["main", "parse_args"]

NOT_PUBLISHED_EXIT = 3


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line arguments of the training entry point."""
    p = argparse.ArgumentParser(prog="python -m router.train", description=__doc__.splitlines()[0])
    p.add_argument("--traces", required=True, help="trace .jsonl/.parquet file or directory")
    p.add_argument("--output", default="models/router_v2", help="published-router directory")
    p.add_argument("--bootstrap-path", default=None, help="labelled JSONL mixed into training (default: bundled)")
    p.add_argument("--no-bootstrap", action="store_true", help="train on traces only")
    p.add_argument("--feedback", default=None, help="feedback JSONL file/folder (default: TRACES/**/feedback)")
    p.add_argument("--force", action="store_true", help="publish even if not better than the current router")
    p.add_argument("--address", default=None, help="Ray address (default: RAY_ADDRESS or a local cluster)")
    p.add_argument("--num-cpus", type=int, default=None, help="CPUs for a locally started Ray")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import ray

    if not ray.is_initialized():
        ray.init(address=args.address, num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False)
    settings = TrainSettings(
        traces=args.traces,
        output=args.output,
        bootstrap_path=args.bootstrap_path,
        use_bootstrap=not args.no_bootstrap,
        feedback=args.feedback,
        force=args.force,
        progress=not args.no_progress,
    )
    try:
        report = run_training(settings)
    except MMOrchError as exc:
        print(f"router training failed: {exc}", file=sys.stderr)
        return 1
    print(report.model_dump_json(indent=2))
    return 0 if report.published else NOT_PUBLISHED_EXIT


if __name__ == "__main__":
    raise SystemExit(main())
