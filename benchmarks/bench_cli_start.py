"""How long the README's first command takes, first run and later runs, against the import floor.

    HF_HUB_OFFLINE=1 python benchmarks/bench_cli_start.py --repeats 3

Runs ``python -m mm_orch.main --phase-b "What is Python?"`` in fresh processes. The *first* run gets an empty
user data directory (MM_ORCH_DATA_DIR), so it trains the router from the bundled bootstrap data as a new install
does; with ``--fresh-cache`` it also gets an empty cache directory (model conversion, search index and corpus
vectors are built: minutes). The *later* runs reuse what the first wrote. The baseline, measured in the same run,
is the import floor: a process that only imports the libraries a Phase B answer needs (torch, transformers,
sentence-transformers, scikit-learn, skops). Also checks that a normal run prints nothing but its status line.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMAND = [sys.executable, "-m", "mm_orch.main", "--phase-b", "What is Python?"]
FLOOR = [sys.executable, "-c", "import torch, transformers, sentence_transformers, sklearn.linear_model, skops.io"]


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{cmd} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return elapsed, done.stderr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="later runs to time (default 3)")
    parser.add_argument("--fresh-cache", action="store_true", help="also start from an empty cache dir (slow)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mm-orch-bench-") as tmp:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "MM_ORCH_DATA_DIR": str(Path(tmp) / "data")}
        env.pop("MM_ORCH_ROOT", None)
        if args.fresh_cache:
            env["MM_ORCH_CACHE_DIR"] = str(Path(tmp) / "cache")
        floor = min(_timed(FLOOR, env)[0] for _ in range(2))
        first, _ = _timed(COMMAND, env)
        later = []
        noisy = []
        for _ in range(args.repeats):
            elapsed, err = _timed(COMMAND, env)
            later.append(elapsed)
            noisy += [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("[workflow=")]
    median = statistics.median(later)
    print(f"load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs")
    print(f"import floor (torch, transformers, sentence-transformers, sklearn, skops): {floor:6.2f} s   1.00x")
    print(
        f"first run ({'empty cache and ' if args.fresh_cache else ''}empty data dir):{first:14.2f} s  {first / floor:5.2f}x"
    )
    print(f"later runs, median of {len(later)} (min {min(later):.2f} s):{median:14.2f} s  {median / floor:5.2f}x")
    print(f"lines besides the status line on stderr: {len(noisy)}" + (f" e.g. {noisy[0]!r}" if noisy else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
