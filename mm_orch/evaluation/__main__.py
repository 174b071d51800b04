"""``python -m mm_orch.evaluation [--split dev|test] [--targets default,search_qa,...] [--limit N]``.

Runs the question set (and the lesson/chat prompt set) of a split end to end through the Phase B orchestrator,
prints one table per set and writes a JSON report (with every reply, except for the test split: aggregates only). ``--questions FILE`` evaluates another
question file (e.g. the older data/eval/questions.jsonl) instead of the split's. ``--models-config FILE``
switches the models (e.g. config/models.qwen.yaml) for this run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

__all__ = ["main"]

WORKFLOWS = "search_qa,search_qa_fast,search_qa_strict_citations,self_ask_search_qa,rag_qa"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mm_orch.evaluation", description=__doc__)
    parser.add_argument("--split", choices=["dev", "test"], default="dev", help="which split (default dev)")
    parser.add_argument(
        "--targets",
        default="default",
        help=f"comma-separated: 'default' (the router decides) and/or forced workflows; 'all' = default,{WORKFLOWS}",
    )
    parser.add_argument(
        "--questions", default=None, help="a question file instead of the split's qa_<split>.jsonl"
    )
    parser.add_argument(
        "--prompts", default=None, help="a prompt file instead of the split's prompts_<split>.jsonl"
    )
    parser.add_argument("--no-prompts", action="store_true", help="skip the lesson/chat prompts")
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N records of each kind")
    parser.add_argument("--models-config", default=None, help="models YAML for this run ($MM_ORCH_MODELS_CONFIG)")
    parser.add_argument("--output", default="eval_report.json", help="where to write the JSON report")
    parser.add_argument("--traces", default=None, help="write this run's traces to this JSONL file")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--verbose", action="store_true", help="print one line per record on stderr")
    args = parser.parse_args(argv)
    held_out = args.split == "test" and args.questions is None
    if held_out and args.verbose:
        parser.error(
            "--verbose prints every reply; the test split is reported in aggregate only (use --split dev)"
        )
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.models_config:
        os.environ["MM_ORCH_MODELS_CONFIG"] = str(Path(args.models_config).resolve())
    logging.basicConfig(level=logging.WARNING)

    from mm_orch.evaluation.dataset import load_prompts, load_questions, split_paths
    from mm_orch.evaluation.report import aggregate, aggregate_prompts, format_prompt_table, format_table
    from mm_orch.evaluation.runner import EvalConfig, build_orchestrator, run_prompts, run_questions
    from mm_orch.paths import resource_path

    targets = f"default,{WORKFLOWS}" if args.targets == "all" else args.targets
    config = EvalConfig(
        targets=[t.strip() for t in targets.split(",") if t.strip()],
        limit=args.limit,
        trace_path=Path(args.traces) if args.traces else None,
    )
    qa_path, prompts_path = split_paths(args.split, resource_path("data/eval"))
    questions = load_questions(args.questions or qa_path)
    prompt_file = Path(args.prompts) if args.prompts else prompts_path
    prompts = [] if args.no_prompts or not prompt_file.is_file() else load_prompts(prompt_file)
    orchestrator = build_orchestrator(config)
    for target in config.targets:
        if target != "default":
            orchestrator.workflow_registry.get(target)  # WorkflowNotFoundError lists the registered ones
    progress = (lambda line: print(line, file=sys.stderr, flush=True)) if args.verbose else None
    results = run_questions(orchestrator, questions, config, progress=progress)
    rows = aggregate(results)
    prompt_results = run_prompts(orchestrator, prompts, config, progress=progress) if prompts else []
    prompt_rows = aggregate_prompts(prompt_results)
    model = orchestrator.runtime.model_manager.resolve("default")
    source = args.questions or str(qa_path)
    print(f"questions: {source} ({len(results)} replies), generator: {model}")
    print(format_table(rows, markdown=args.markdown))
    if prompt_rows:
        print(f"\nprompts: {prompt_file} ({len(prompt_results)} replies)")
        print(format_prompt_table(prompt_rows, markdown=args.markdown))
    report: dict[str, object] = {
        "split": args.split,
        "questions": source,
        "generator": model,
        "rows": [r.model_dump() for r in rows],
        "prompt_rows": [r.model_dump() for r in prompt_rows],
    }
    if not held_out:  # the held-out split is never looked at item by item (docs/quality.md)
        report["results"] = [r.model_dump() for r in results]
        report["prompt_results"] = [r.model_dump() for r in prompt_results]
    Path(args.output).write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(f"\nreport written to {args.output}")
    orchestrator.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
