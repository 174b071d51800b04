"""``python -m mm_orch.evaluation --workflows search_qa,rag_qa [--limit N] [--output report.json]``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from mm_orch.evaluation.dataset import DEFAULT_QUESTIONS, load_questions
from mm_orch.evaluation.runner import EvalConfig, WorkflowReport, evaluate

__all__ = ["main"]

QA_WORKFLOWS = "search_qa,search_qa_fast,search_qa_strict_citations,self_ask_search_qa,rag_qa"


def _table(reports: list[WorkflowReport], k: int) -> str:
    head = f"{'workflow':<28} {'n':>3} {'hit@' + str(k):>6} {'hit1':>6} {'acc':>6} {'acc1':>6} {'acc2':>6} {'lm_acc':>6} "
    head += f"{'refuse':>6} {'ground':>6} {'err':>5} {'p50 ms':>8}"
    lines = [head, "-" * len(head)]
    for r in reports:
        a1 = f"{r.accuracy_single_hop:.3f}" if r.accuracy_single_hop is not None else "-"
        h1 = f"{r.hit_at_k_single_hop:.3f}" if r.hit_at_k_single_hop is not None else "-"
        a2 = f"{r.accuracy_two_hop:.3f}" if r.accuracy_two_hop is not None else "-"
        lines.append(
            f"{r.workflow:<28} {r.n:>3} {r.hit_at_k:>6.3f} {h1:>6} {r.accuracy:>6.3f} {a1:>6} {a2:>6} "
            f"{r.model_answer_accuracy:>6.3f} {r.refusal_rate:>6.3f} {r.grounded_rate:>6.3f} {r.error_rate:>5.2f} "
            f"{r.p50_latency_ms:>8.0f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mm_orch.evaluation", description=__doc__)
    parser.add_argument("--workflows", default=QA_WORKFLOWS, help=f"comma-separated (default {QA_WORKFLOWS})")
    parser.add_argument("--questions", default=str(DEFAULT_QUESTIONS), help="evaluation set (JSONL)")
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N questions")
    parser.add_argument("--k", type=int, default=5, help="cut-off for retrieval hit@k (default 5)")
    parser.add_argument("--output", default="eval_report.json", help="where to write the JSON report")
    parser.add_argument("--verbose", action="store_true", help="print one line per question")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.basicConfig(level=logging.WARNING)
    config = EvalConfig(workflows=[w.strip() for w in args.workflows.split(",") if w.strip()], k=args.k,
                        limit=args.limit)  # fmt: skip
    questions = load_questions(args.questions)
    progress = (lambda line: print(line, file=sys.stderr)) if args.verbose else None
    reports = evaluate(questions, config, progress=progress)
    print(_table(reports, config.k))
    Path(args.output).write_text(json.dumps([r.model_dump() for r in reports], indent=1), encoding="utf-8")
    print(f"\nreport written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
