"""``mm-orch route`` and ``mm-orch feedback``: route requests, explain a decision, record an outcome.

::

    mm-orch route "Teach me fractions"                         workflow, confidence, who decided
    mm-orch route --explain "whats in my notes about refunds" --has-collection
    mm-orch route --jsonl requests.jsonl [--explain] > decisions.jsonl     the one batch-routing command
    mm-orch feedback TRACE_ID --down --workflow rag_qa          "that run should have been rag_qa"
    mm-orch feedback TRACE_ID --rating 1                        thumbs up

The router is the one config/phase_b.yaml's ``router:`` block builds (``--config`` for another file; no file:
RouterV1). ``feedback`` appends a :class:`~mm_orch.observability.feedback.FeedbackRecord` to the same file
``POST /v1/feedback`` writes beside the traces; ``python -m router.train`` reads it as labels.
``python -m mm_orch.routing`` is an alias of ``mm-orch route``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from mm_orch.exceptions import ConfigError
from mm_orch.routing.decision import WORKFLOWS

__all__ = ["configured_router", "feedback_main", "feedback_path", "route_main"]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def configured_router(config_path: str | None) -> Any:
    """The routing chain config/phase_b.yaml (or ``config_path``) describes; RouterV1 without a Phase B file."""
    from mm_orch.configuration import load_phase_b_config
    from mm_orch.orchestration.phase_b_orchestrator import _build_router
    from mm_orch.routing.router_v1 import RouterV1

    config = load_phase_b_config(config_path)
    return _build_router(config) if config is not None else RouterV1()


def _route_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mm-orch route", description="Route requests to workflows, or explain why.")
    p.add_argument("question", nargs="*", help="request(s) to route")
    p.add_argument("--jsonl", help="batch: file of JSON objects, one per line ('-' for stdin)")
    p.add_argument("--explain", action="store_true", help="alternatives, deciding features/exemplars, chain")
    p.add_argument("--json", action="store_true", help="print each decision as JSON")
    p.add_argument("--config", help="phase_b.yaml whose router to use")
    p.add_argument("--has-collection", action="store_true", help="the user has an ingested collection")
    p.add_argument("--collection", help="collection named for this request")
    p.add_argument("--session-id", help="chat session the request belongs to")
    p.add_argument("--previous-workflow", help="workflow the session's previous turn ran")
    p.add_argument("--hint", help="workflow hint (a soft choice; the router may overrule it)")
    return p


def route_main(argv: Sequence[str], out: TextIO) -> int:
    """``mm-orch route``; returns the exit code."""
    from mm_orch.batch_route import route_jsonl_lines
    from mm_orch.routing.explain import format_decision
    from mm_orch.schemas import UserRequest

    p = _route_parser()
    args = p.parse_args(argv)
    if not args.question and not args.jsonl:
        p.print_usage(sys.stderr)
        sys.stderr.write("mm-orch route: error: give a request to route, or --jsonl FILE for a batch\n")
        return EXIT_USAGE
    if args.hint and args.hint not in WORKFLOWS:
        sys.stderr.write(f"mm-orch route: error: --hint {args.hint!r} is not one of {', '.join(WORKFLOWS)}\n")
        return EXIT_USAGE
    router = configured_router(args.config)
    if args.jsonl:
        if args.jsonl == "-":
            return route_jsonl_lines(router, sys.stdin, out, explain=args.explain)
        try:
            with open(args.jsonl, encoding="utf-8") as fh:
                return route_jsonl_lines(router, fh, out, explain=args.explain)
        except OSError as exc:
            sys.stderr.write(f"mm-orch route: cannot read {args.jsonl}: {exc}\n")
            return EXIT_USAGE
    context: dict[str, Any] = {}
    if args.has_collection:
        context["has_collection"] = True
    if args.previous_workflow:
        context["previous_workflow"] = args.previous_workflow
    if args.hint:
        context["workflow_hint"] = args.hint
    for question in args.question:
        request = UserRequest(
            query=question, collection=args.collection, session_id=args.session_id, context=context
        )
        decision = router.route(request)
        if args.json:
            out.write(decision.model_dump_json(exclude_none=True) + "\n")
        elif args.explain:
            out.write(format_decision(decision) + "\n")
        else:
            out.write(
                f"{decision.workflow}\t{decision.confidence:.3f}\t{decision.router_version}\t{decision.source}\n"
            )
    return EXIT_OK


def feedback_path(config_path: str | None = None) -> Path:
    """Where in-process feedback goes: ``feedback/feedback.jsonl`` beside the configured tracer's output."""
    from mm_orch.configuration import load_phase_b_config
    from mm_orch.observability import TracerConfig
    from mm_orch.observability.feedback import default_feedback_path
    from mm_orch.orchestration.phase_b_orchestrator import resolve_tracer_paths

    config = load_phase_b_config(config_path)
    tracer = resolve_tracer_paths(config.tracer if config is not None else TracerConfig())
    base = tracer.output_path or tracer.parquet_dir
    if base is None:
        raise ConfigError(
            "the tracer block names no output_path or parquet_dir; pass --path for the feedback file"
        )
    return default_feedback_path(base)


def feedback_main(argv: Sequence[str], out: TextIO) -> int:
    """``mm-orch feedback TRACE_ID``: the CLI equivalent of ``POST /v1/feedback``; returns the exit code."""
    from mm_orch.observability.feedback import FeedbackRecord, FeedbackStore

    p = argparse.ArgumentParser(prog="mm-orch feedback", description="Record how a traced run went.")
    p.add_argument("trace_id", help="the run's trace id (WorkflowResult.trace_id, printed after each answer)")
    rating = p.add_mutually_exclusive_group(required=True)
    rating.add_argument("--rating", type=float, help="-1 (bad) .. 1 (good)")
    rating.add_argument("--up", action="store_true", help="thumbs up (rating 1)")
    rating.add_argument("--down", action="store_true", help="thumbs down (rating -1)")
    p.add_argument("--workflow", help="the workflow that should have run (a correction)")
    p.add_argument("--comment", default="", help="free text")
    p.add_argument("--path", help="feedback JSONL file (default: beside the configured traces)")
    p.add_argument("--config", help="phase_b.yaml whose tracer says where traces live")
    args = p.parse_args(argv)
    if args.workflow and args.workflow not in WORKFLOWS:
        sys.stderr.write(
            f"mm-orch feedback: error: --workflow {args.workflow!r} is not one of {', '.join(WORKFLOWS)}\n"
        )
        return EXIT_USAGE
    value = 1.0 if args.up else -1.0 if args.down else float(args.rating)
    record = FeedbackRecord(
        trace_id=args.trace_id, rating=value, workflow=args.workflow, comment=args.comment, source="cli"
    )
    path = Path(args.path) if args.path else feedback_path(args.config)
    with FeedbackStore(path) as store:
        stored = store.append(record)
    out.write(json.dumps({"stored": str(store.path), **stored.model_dump()}) + "\n")
    return EXIT_OK
