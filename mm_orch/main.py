"""The command line: ``python -m mm_orch.main [options] "question"`` (also installed as ``mm-orch``).

::

    mm-orch "What is Python?"                      Phase A (fixed pipelines)
    mm-orch --phase-b "What is Python?"            Phase B (router + workflow graphs)
    mm-orch --phase-b --trace "Question"           ... and write the trace (JSONL + Parquet)
    mm-orch --phase-b --workflow lesson_pack "Photosynthesis"
    mm-orch --phase-b --mode chat                  interactive chat with history (Ctrl-D to leave)
    mm-orch --json "..."                           the whole result as JSON
    mm-orch workflows | graph NAME | stats | route --jsonl FILE | prepare | ingest FOLDER --collection NAME
    mm-orch route --explain "Teach me fractions"   why the router picks a workflow
    mm-orch feedback TRACE_ID --down --workflow rag_qa   record an outcome (the router learns from it)
    mm-orch report data/traces -o report.html      the trace report (one self-contained HTML file)

Exit codes: 0 success, 1 the request or some batch lines failed, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Sequence
from typing import Any, TextIO

from pydantic import ValidationError

from mm_orch.exceptions import ConfigError, MMOrchError, WorkflowNotFoundError
from mm_orch.schemas import ChatTurn, UserRequest, WorkflowResult

__all__ = ["EXIT_FAILURE", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
SUBCOMMANDS = ("ask", "workflows", "graph", "stats", "route", "feedback", "prepare", "ingest", "report")


def _ask_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mm-orch",
        description="Answer a question with mm-orch.",
        epilog="Other commands: " + ", ".join(SUBCOMMANDS[1:]) + " (mm-orch CMD --help)",
    )
    p.add_argument("question", nargs="?", help="the question (omit with --mode chat for an interactive session)")
    p.add_argument("--phase-b", action="store_true", help="use Phase B (router + workflow graphs)")
    p.add_argument(
        "--trace",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="write this run's trace (path and sinks from config/phase_b.yaml's tracer block)",
    )
    p.add_argument("--workflow", help="run this workflow instead of routing")
    p.add_argument("--mode", choices=["default", "chat"], default="default", help="'chat' keeps history")
    p.add_argument("--session-id", help="chat session to continue")
    p.add_argument("--collection", help="document collection to answer from (rag_qa)")
    p.add_argument("--json", action="store_true", help="print the whole result as JSON")
    p.add_argument("--config", help="phase_b.yaml to use (default: config/phase_b.yaml)")
    p.add_argument(
        "-v", "--verbose", action="store_true", help="log what happens, with third-party progress and warnings"
    )
    return p


def _orchestrator(args: argparse.Namespace) -> Any:
    from mm_orch.configuration import load_phase_b_config

    config = load_phase_b_config(args.config)
    if not args.phase_b:
        from mm_orch.orchestrator import Orchestrator, get_orchestrator

        if not args.trace:
            return get_orchestrator()
        from mm_orch.observability import Tracer, TracerConfig
        from mm_orch.orchestration.phase_b_orchestrator import resolve_tracer_paths

        tracer_config = config.tracer if config is not None else TracerConfig()
        tracer = Tracer.from_config(resolve_tracer_paths(tracer_config.model_copy(update={"enabled": True})))
        return Orchestrator(tracer=tracer)
    from mm_orch.orchestration.phase_b_orchestrator import PhaseBOrchestrator

    if config is not None:
        config = config.model_copy(update={"tracer": config.tracer.model_copy(update={"enabled": args.trace})})
    return PhaseBOrchestrator(config=config, config_path=args.config)


def _print_result(result: WorkflowResult, as_json: bool, out: TextIO) -> None:
    if as_json:
        out.write(result.model_dump_json(indent=2) + "\n")
        return
    out.write(result.answer.strip() + "\n")
    if result.citations:
        out.write("\nSources:\n")
        for i, c in enumerate(result.citations, start=1):
            where = c.url or c.doc_id or ""
            out.write(f"  [{i}] {c.title}" + (f" - {where}" if where else "") + "\n")
    lesson = result.outputs.get("lesson")
    if lesson and not result.answer.strip():
        out.write(json.dumps(lesson, indent=2) + "\n")
    meta = result.metadata
    router = meta.get("router_version")
    conf = meta.get("router_confidence")
    phase = "B" if meta.get("using_phase_b") else "A"
    line = f"\n[workflow={result.workflow} phase={phase} router={router}"
    line += f" confidence={conf:.2f}" if isinstance(conf, float) else ""
    line += f" trace={result.trace_id}]"
    if meta.get("fallback_reason") and phase == "A" and router != "v1-phase-a":
        line += f" fallback: {meta['fallback_reason']}"
    sys.stderr.write(line + "\n")


def _ask(argv: Sequence[str], out: TextIO) -> int:
    args = _ask_parser().parse_args(argv)
    from mm_orch.console import configure

    configure(verbose=args.verbose)  # before models load: third-party bars, logs and warnings stay quiet
    if args.question is None and args.mode != "chat":
        _ask_parser().print_usage(sys.stderr)
        sys.stderr.write("mm-orch: error: give a question, or --mode chat for an interactive session\n")
        return EXIT_USAGE
    if args.question is not None and not args.question.strip():
        sys.stderr.write(
            'mm-orch: error: the question is empty; put it in quotes, e.g. mm-orch "What is Python?" '
            "(or use --mode chat for an interactive session)\n"
        )
        return EXIT_USAGE
    orchestrator = _orchestrator(args)
    try:
        if args.mode == "chat" and args.question is None:
            return _chat_loop(orchestrator, args, out)
        request = UserRequest(
            query=args.question,
            workflow=args.workflow,
            mode=args.mode,
            session_id=args.session_id,
            collection=args.collection,
        )
        _print_result(orchestrator.process_request(request), args.json, out)
        return EXIT_OK
    finally:
        if hasattr(orchestrator, "close"):
            orchestrator.close()


def _chat_loop(orchestrator: Any, args: argparse.Namespace, out: TextIO) -> int:
    session = args.session_id or uuid.uuid4().hex[:12]
    history: list[ChatTurn] = []
    sys.stderr.write(f"chat session {session}; Ctrl-D or 'exit' to leave\n")
    while True:
        try:
            line = input("you> ")
        except EOFError:
            out.write("\n")
            return EXIT_OK
        if line.strip().lower() in {"exit", "quit"}:
            return EXIT_OK
        if not line.strip():
            continue
        request = UserRequest(
            query=line, mode="chat", session_id=session, history=history, workflow=args.workflow or "chat_generate"
        )
        result = orchestrator.process_request(request)
        out.write(f"bot> {result.answer.strip()}\n")
        out.flush()
        history = [
            *history,
            ChatTurn(role="user", content=line),
            ChatTurn(role="assistant", content=result.answer),
        ]


def _workflows(argv: Sequence[str], out: TextIO) -> int:
    p = argparse.ArgumentParser(
        prog="mm-orch workflows", description="List the workflows Phase B runs (from config/phase_b.yaml)."
    )
    p.add_argument("--json", action="store_true")
    p.add_argument("--config", help="phase_b.yaml whose step sources and workflows dir to read")
    args = p.parse_args(argv)
    registry = _configured_workflows(args.config)
    rows = [
        {
            "name": n,
            "description": registry.get(n).description,
            "required_capabilities": registry.get(n).required_capabilities,
        }
        for n in registry.list_all()
    ]
    if args.json:
        out.write(json.dumps(rows, indent=2) + "\n")
    else:
        for row in rows:
            out.write(f"{row['name']:28} {row['description']}\n")
    return EXIT_OK


def _graph(argv: Sequence[str], out: TextIO) -> int:
    p = argparse.ArgumentParser(prog="mm-orch graph", description="Print a workflow graph as Mermaid text.")
    p.add_argument("name")
    p.add_argument("--config", help="phase_b.yaml whose step sources and workflows dir to read")
    args = p.parse_args(argv)
    out.write(_configured_workflows(args.config).get(args.name).to_mermaid())
    return EXIT_OK


def _configured_workflows(config_path: str | None) -> Any:
    """The workflow registry Phase B builds from ``config_path`` (default: config/phase_b.yaml)."""
    from mm_orch.configuration import load_phase_b_config
    from mm_orch.orchestration.wiring import build_configured_workflow_registry

    config = load_phase_b_config(config_path)
    if config_path is not None and config is None:
        raise ConfigError(f"{config_path} does not exist; give the path of a phase_b.yaml")
    return build_configured_workflow_registry(config)


def _stats(argv: Sequence[str], out: TextIO) -> int:
    p = argparse.ArgumentParser(prog="mm-orch stats", description="Show which Phase B components load.")
    p.add_argument("--config", help="phase_b.yaml to use")
    args = p.parse_args(argv)
    from mm_orch.orchestration.phase_b_orchestrator import PhaseBOrchestrator

    orchestrator = PhaseBOrchestrator(config_path=args.config)
    out.write(json.dumps(orchestrator.get_statistics(), indent=2, default=str) + "\n")
    orchestrator.close()
    return EXIT_OK


def _route(argv: Sequence[str], out: TextIO) -> int:
    from mm_orch.routing.cli import route_main

    return route_main(argv, out)


def _feedback(argv: Sequence[str], out: TextIO) -> int:
    from mm_orch.routing.cli import feedback_main

    return feedback_main(argv, out)


def _delegate(module: str, argv: Sequence[str]) -> int:
    import importlib

    entry = importlib.import_module(module).main
    code = entry(list(argv))
    return int(code or 0)


def _one_line(exc: BaseException) -> str:
    """An error as one line (config errors list one problem per line; the CLI joins them with '; ')."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return "; ".join(lines).replace(":; ", ": ")


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the CLI; returns the exit code (see the module docstring)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    out = out or sys.stdout
    command = argv[0] if argv and argv[0] in SUBCOMMANDS else "ask"
    rest = argv[1:] if argv and argv[0] in SUBCOMMANDS else argv
    handlers = {
        "ask": _ask, "workflows": _workflows, "graph": _graph, "stats": _stats, "route": _route,
        "feedback": _feedback,
    }  # fmt: skip
    try:
        if command == "prepare":
            return _delegate("mm_orch.models.prepare", rest)
        if command == "ingest":
            return _delegate("mm_orch.tools.ingest", rest)
        if command == "report":
            return _delegate("mm_orch.reporting.cli", rest)
        return handlers[command](rest, out)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    except ValidationError as exc:  # a request the options describe is invalid: name the field and the fix
        from mm_orch.yaml_config import explain_validation_error

        sys.stderr.write(f"mm-orch: error: invalid {exc.title}:\n{explain_validation_error(exc)}\n")
        return EXIT_USAGE
    except (ConfigError, WorkflowNotFoundError) as exc:
        sys.stderr.write(f"mm-orch: error: {_one_line(exc)}\n")
        return EXIT_USAGE
    except MMOrchError as exc:
        sys.stderr.write(f"mm-orch: failed: {_one_line(exc)}\n")
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
