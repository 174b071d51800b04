"""Retrain the router on a running Ray cluster, then hot-reload the serving router.

    python cluster/submit_retrain.py --address http://HEAD:8265 \
        --traces /mnt/traces/serve --output /mnt/models/router_v3 \
        --serve-config config/serve.yaml

1. submits ``python -m router.train --traces ... --output ...`` as a Ray job and follows its logs;
2. on success, with ``--serve-config``, sets the Router deployment's ``user_config.revision`` to the newly
   published version and re-applies the config through the dashboard's Serve REST API (what ``serve deploy``
   does). Only user_config changed, so Serve reconfigures the running Router replicas in place: no downtime.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import yaml


def train_entrypoint(traces: str, output: str, *, force: bool = False) -> str:
    """The job's shell command."""
    args = ["python", "-m", "router.train", "--traces", traces, "--output", output, "--no-progress"]
    if force:
        args.append("--force")
    return shlex.join(args)


def bump_router_revision(config: dict[str, Any], revision: str, app: str = "mm_orch") -> dict[str, Any]:
    """A copy of a Serve config dict whose Router user_config carries ``revision`` (other keys kept)."""
    out = yaml.safe_load(yaml.safe_dump(config))
    for application in out.get("applications", []):
        if application.get("name") != app:
            continue
        for deployment in application.get("deployments", []):
            if deployment.get("name") == "Router":
                deployment["user_config"] = {**(deployment.get("user_config") or {}), "revision": revision}
                return dict(out)
    raise SystemExit(
        f"no Router deployment in application {app!r} of the Serve config; add one under deployments:"
    )


def published_version(output: str) -> str:
    """The version the router directory's 'current' pointer names (read where this script runs)."""
    pointer = Path(output) / "current"
    return pointer.read_text(encoding="utf-8").strip() if pointer.is_file() else time.strftime("%Y%m%dT%H%M%SZ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--address", default="http://127.0.0.1:8265", help="Ray dashboard address")
    parser.add_argument("--traces", required=True, help="trace folder the Serve replicas write (Parquet)")
    parser.add_argument("--output", required=True, help="published-router directory the Router deployment reads")
    parser.add_argument("--force", action="store_true", help="publish even if not better than the current router")
    parser.add_argument("--serve-config", help="Serve config to re-apply with a bumped Router revision")
    args = parser.parse_args(argv)

    from ray.job_submission import JobStatus, JobSubmissionClient

    jobs = JobSubmissionClient(args.address)
    job_id = jobs.submit_job(
        entrypoint=train_entrypoint(args.traces, args.output, force=args.force),
        runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1"}},
        metadata={"purpose": "mm-orch router retraining"},
    )
    print(f"submitted {job_id}")
    while (status := jobs.get_job_status(job_id)) not in {
        JobStatus.SUCCEEDED,
        JobStatus.FAILED,
        JobStatus.STOPPED,
    }:
        time.sleep(5)
    print(jobs.get_job_logs(job_id))
    if status != JobStatus.SUCCEEDED:
        print(f"retraining job {job_id} ended {status}; the serving router is unchanged", file=sys.stderr)
        return 1
    if args.serve_config:
        from ray.dashboard.modules.serve.sdk import ServeSubmissionClient

        config = yaml.safe_load(Path(args.serve_config).read_text(encoding="utf-8"))
        revision = published_version(args.output)
        ServeSubmissionClient(args.address).deploy_applications(bump_router_revision(config, revision))
        print(f"Router user_config.revision -> {revision!r}: the Router replicas reload in place")
    return 0


if __name__ == "__main__":
    sys.exit(main())
