"""RouterArena-style: the default router against always-search_qa, end-to-end quality and cost per request.

    python benchmarks/bench_routing_arena.py [--limit 6] [--split dev]

Runs the project's QA evaluation (``python -m mm_orch.evaluation --targets default,search_qa``) on the dev
split - questions (single, bridge, comparison, unanswerable) and the lesson/chat prompts - with traces on, then
reads the traces for what each request cost: seconds + thousands of tokens + half a unit per model load (the
cost units RouterV3 optimises, mm_orch/routing/costs.py). Prints quality and cost side by side, so the
router's value is a number: the quality it adds (or loses) and the cost ratio, on the same questions in the
same run. ``--limit N`` takes the first N of each kind (CPU runs are slow).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from statistics import mean
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mm_orch.observability.records import WorkflowTrace  # noqa: E402


def _cost(t: WorkflowTrace) -> float:
    return t.cost.latency_ms / 1000.0 + t.cost.tokens / 1000.0 + 0.5 * t.cost.model_loads


def _row(report: dict[str, Any], target: str, group: str) -> dict[str, Any]:
    return next((r for r in report["rows"] if r["target"] == target and r["group"] == group), {})


def _prompts(report: dict[str, Any], target: str) -> tuple[float | None, int]:
    rows = [r for r in report.get("prompt_rows", []) if r["target"] == target]
    n = sum(r["n"] for r in rows)
    return (sum(r["passed"] * r["n"] for r in rows) / n if n else None), n


def _fmt(v: float | None) -> str:
    return "  -  " if v is None else f"{v:.3f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit", type=int, default=6, help="first N of each question/prompt kind")
    p.add_argument("--split", default="dev", choices=["dev"], help="the dev split only (test is aggregate-only)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        traces, out = Path(tmp) / "traces.jsonl", Path(tmp) / "report.json"
        cmd = [sys.executable, "-m", "mm_orch.evaluation", "--split", args.split, "--targets", "default,search_qa",
               "--limit", str(args.limit), "--traces", str(traces), "--output", str(out)]  # fmt: skip
        print("$ " + " ".join(["python", *cmd[1:]]), flush=True)
        done = subprocess.run(cmd, cwd=ROOT, check=False, capture_output=True, text=True)
        print(done.stdout)
        if done.returncode != 0:
            print(done.stderr[-4000:], file=sys.stderr)
            raise SystemExit(done.returncode)
        report = json.loads(out.read_text())
        runs = [
            WorkflowTrace.model_validate_json(line) for line in traces.read_text().splitlines() if line.strip()
        ]
    by_target: dict[str, list[WorkflowTrace]] = {"default": [], "search_qa": []}
    for t in runs:
        by_target["search_qa" if t.workflow_forced else "default"].append(t)
    print(
        "RouterArena-style summary (answer metrics over answerable questions; prompts: share passing every check)"
    )
    head = (
        f"{'target':<22} {'contains':>8} {'F1':>6} {'cited':>6} {'refusal R':>9} {'prompts':>8} {'cost/req':>9} "
    )
    print(head + f"{'p50 s':>6}  workflows")
    summary: dict[str, tuple[float | None, float]] = {}
    for target in ("default", "search_qa"):
        ans, unans = _row(report, target, "answerable"), _row(report, target, "unanswerable")
        passed, _ = _prompts(report, target)
        costs = [_cost(t) for t in by_target[target]]
        latency = sorted(t.cost.latency_ms / 1000.0 for t in by_target[target])
        flows: dict[str, int] = {}
        for t in by_target[target]:
            flows[t.workflow] = flows.get(t.workflow, 0) + 1
        name = "router (default)" if target == "default" else "always search_qa"
        cost = mean(costs) if costs else float("nan")
        p50 = latency[len(latency) // 2] if latency else float("nan")
        print(f"{name:<22} {_fmt(ans.get('contains')):>8} {_fmt(ans.get('f1')):>6} {_fmt(ans.get('cited')):>6} "
              f"{_fmt(unans.get('refusal_recall')):>9} {_fmt(passed):>8} {cost:>9.2f} {p50:>6.1f}  "
              f"{dict(sorted(flows.items(), key=lambda kv: -kv[1]))}")  # fmt: skip
        quality = [v for v in (ans.get("contains"), passed) if v is not None]
        summary[target] = (mean(quality) if quality else None, cost)
    (q_r, c_r), (q_s, c_s) = summary["default"], summary["search_qa"]
    if q_r is not None and q_s is not None:
        print(f"\nquality (mean of QA contains and prompts passed): router {q_r:.3f} vs always-search_qa {q_s:.3f} "
              f"({q_r - q_s:+.3f}); cost per request {c_r:.2f} vs {c_s:.2f} units ({c_r / c_s:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
