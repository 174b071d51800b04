"""Run the evaluation sets end to end through the Phase B orchestrator and score every reply.

A *target* is ``"default"`` (the configured router picks the workflow, as for a user) or a workflow name (the
request forces it). Every request goes through :meth:`PhaseBOrchestrator.process_request`, the same path as
``get_phase_b_orchestrator()``; the evaluation's orchestrator writes its traces to its own file so evaluation
runs never mix with the traces the router is trained on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mm_orch.evaluation.dataset import EvalPrompt, EvalQuestion, first_per_kind
from mm_orch.evaluation.metrics import answer_contains, exact_match, title_hit, token_f1
from mm_orch.evaluation.structure import score_structure

__all__ = [
    "EvalConfig",
    "PromptResult",
    "QuestionResult",
    "build_orchestrator",
    "ingest_eval_collection",
    "run_prompts",
    "run_questions",
    "score_question",
]

DEFAULT_TARGET = "default"
WARM_UP_QUESTION = "Who wrote Hamlet?"


class EvalConfig(BaseModel):
    """What to evaluate and how."""

    model_config = ConfigDict(extra="forbid")

    targets: list[str] = Field(
        default_factory=lambda: [DEFAULT_TARGET],
        min_length=1,
        description="'default' (the router decides) and/or workflow names to force.",
    )
    limit: int | None = Field(default=None, ge=1, description="Evaluate only the first N records of each kind.")
    rag_collection: str = Field(default="eval_wiki", description="Document-store collection rag_qa reads.")
    rag_distractors: int = Field(default=300, ge=0, description="Non-gold corpus articles ingested with the gold.")
    trace_path: Path | None = Field(
        default=None, description="Where the evaluation's traces go (None: no traces)."
    )


class QuestionResult(BaseModel):
    """One question answered by one target."""

    model_config = ConfigDict(extra="forbid")

    id: str
    kind: str
    target: str = Field(description="'default' or the forced workflow.")
    workflow: str = Field(default="", description="The workflow that ran.")
    recall: bool = Field(default=False, description="Every needed gold article was among the retrieved ones.")
    cited: bool = Field(default=False, description="The answer cites the answer-bearing gold article(s).")
    all_cited: bool = Field(default=False, description="Every gold article is cited.")
    contains: bool = Field(default=False, description="A gold answer occurs in the answer text.")
    exact: bool = Field(default=False, description="The answer's headline is exactly a gold answer.")
    f1: float = Field(default=0.0, description="Token F1 of the headline against the best gold answer.")
    refused: bool = Field(default=False, description="The reply said the corpus does not support an answer.")
    closest_match: str = Field(default="", description="The closest article a refusal named.")
    from_model: bool = Field(default=False, description="The final answer's headline came from the model.")
    latency_ms: float = 0.0
    error: str = ""
    answer: str = Field(default="", description="The answer text (first 400 characters).")
    cited_titles: list[str] = Field(default_factory=list)


class PromptResult(BaseModel):
    """One lesson or chat prompt answered by one target."""

    model_config = ConfigDict(extra="forbid")

    id: str
    kind: str
    target: str
    workflow: str = ""
    checks: dict[str, bool] = Field(default_factory=dict)
    passed: bool = Field(default=False, description="Every check passed.")
    latency_ms: float = 0.0
    error: str = ""
    answer: str = ""


def build_orchestrator(config: EvalConfig) -> Any:
    """The Phase B orchestrator of config/phase_b.yaml (default router), tracing to ``config.trace_path``."""
    from mm_orch.configuration import load_phase_b_config
    from mm_orch.orchestration.phase_b_orchestrator import PhaseBOrchestrator

    phase_b = load_phase_b_config()
    if phase_b is not None:
        tracer = phase_b.tracer.model_copy(
            update={
                "enabled": config.trace_path is not None,
                "output_path": config.trace_path,
                "parquet_dir": None,
            }
            if config.trace_path is not None
            else {"enabled": False}
        )
        phase_b = phase_b.model_copy(update={"tracer": tracer})
    orchestrator = PhaseBOrchestrator(phase_b)
    orchestrator.warm_up()  # the constructor is cheap; registries, runtime and executor are built here
    return orchestrator


def ingest_eval_collection(runtime: Any, questions: Sequence[EvalQuestion], config: EvalConfig) -> int:
    """Make ``config.rag_collection`` hold the gold articles plus a fixed set of distractors; returns its size."""
    from mm_orch.tools import CollectionNotFoundError, load_corpus

    store = runtime.tool("document_store")
    corpus = load_corpus()
    titles = list(dict.fromkeys(t for q in questions for t in [*q.gold_titles, *q.closest_titles]))
    gold = set(titles)
    step = max(1, len(corpus) // max(1, config.rag_distractors))
    titles += [a.title for a in corpus.articles[::step] if a.title not in gold][: config.rag_distractors]
    articles = [a for t in titles if (a := corpus.get(t)) is not None]
    try:
        if store.count(config.rag_collection) > 0:
            store.delete_collection(config.rag_collection)  # rebuilt: a set may have changed its gold
    except CollectionNotFoundError:
        pass
    store.ingest_texts(
        [a.extract for a in articles], config.rag_collection, doc_ids=[a.title for a in articles],
        titles=[a.title for a in articles],
    )  # fmt: skip
    return int(store.count(config.rag_collection))


def _retrieved(outputs: dict[str, Any]) -> list[str]:
    if outputs.get("retrieved_titles"):
        return [str(t) for t in outputs["retrieved_titles"]]
    return list(dict.fromkeys(str(s.get("title", "")) for s in outputs.get("sources") or []))


def score_question(
    q: EvalQuestion, answer: str, citations: Sequence[str], outputs: dict[str, Any]
) -> dict[str, Any]:
    """The metrics of one reply (``citations``: the cited titles; ``outputs``: the result's outputs)."""
    signals = outputs.get("quality_signals") or {}
    retrieved = _retrieved(outputs)
    final = [q.gold_titles[-1], *q.alt_titles] if q.gold_titles else []
    if q.kind == "comparison":  # both sides must be found and cited
        needed = [[t] for t in q.gold_titles]
    elif q.kind == "bridge":
        needed = [[t] for t in q.gold_titles[:-1]] + [final]
    else:
        needed = [final] if final else []
    cited = bool(needed) and (
        all(title_hit(citations, n) for n in needed) if q.kind == "comparison" else title_hit(citations, final)
    )
    return {
        "recall": bool(needed) and all(title_hit(retrieved, n) for n in needed),
        "cited": cited,
        "all_cited": bool(needed) and all(title_hit(citations, n) for n in needed),
        "contains": q.answerable and answer_contains(answer, q.answers),
        "exact": q.answerable and exact_match(answer, q.answers),
        "f1": token_f1(answer, q.answers) if q.answerable else 0.0,
        "refused": bool(signals.get("refused", False)),
        "closest_match": str(signals.get("closest_match") or ""),
        "from_model": bool(signals.get("answer_from_model", False)),
    }


def _request(text: str, target: str, config: EvalConfig) -> Any:
    from mm_orch.schemas import UserRequest

    workflow = None if target == DEFAULT_TARGET else target
    collection = config.rag_collection if target == "rag_qa" else None
    return UserRequest(query=text, workflow=workflow, collection=collection)


def _run(orchestrator: Any, request: Any) -> tuple[Any, float, str]:
    start = time.perf_counter()
    try:
        result, error = orchestrator.process_request(request), ""
        if not result.success:
            error = str(result.error or "failed")
    except Exception as exc:  # noqa: BLE001 - one failed request is a scored failure, not the end of the run
        result, error = None, f"{type(exc).__name__}: {exc}"[:500]
    return result, (time.perf_counter() - start) * 1000, error


def run_questions(
    orchestrator: Any,
    questions: Sequence[EvalQuestion],
    config: EvalConfig,
    *,
    progress: Callable[[str], None] | None = None,
) -> list[QuestionResult]:
    """Every question through every target of ``config``."""
    questions = first_per_kind(questions, config.limit)
    if "rag_qa" in config.targets:
        ingest_eval_collection(orchestrator.runtime, questions, config)
    results = []
    for target in config.targets:
        if questions:  # untimed: loads the models and search indexes, so latency measures answering only
            _run(orchestrator, _request(WARM_UP_QUESTION, target, config))
        for q in questions:
            result, latency, error = _run(orchestrator, _request(q.question, target, config))
            scored: dict[str, Any] = {}
            if result is not None:
                titles = [c.title for c in result.citations]
                scored = score_question(q, result.answer, titles, dict(result.outputs))
                scored.update(workflow=result.workflow, answer=result.answer[:400], cited_titles=titles)
            row = QuestionResult(id=q.id, kind=q.kind, target=target, latency_ms=round(latency, 1), error=error,
                                 **scored)  # fmt: skip
            results.append(row)
            if progress is not None:
                progress(
                    f"{target} {q.id} {q.kind} wf={row.workflow} cited={row.cited} contains={row.contains} "
                    f"refused={row.refused} {latency:.0f} ms"
                )
    return results


def run_prompts(
    orchestrator: Any,
    prompts: Sequence[EvalPrompt],
    config: EvalConfig,
    *,
    progress: Callable[[str], None] | None = None,
) -> list[PromptResult]:
    """Every lesson/chat prompt through the router (target 'default') and, when forced targets are given,
    through the workflow of its kind (lesson_pack / chat_generate) when that is one of them."""
    prompts = first_per_kind(prompts, config.limit)
    forced = {"lesson": "lesson_pack", "chat": "chat_generate"}
    results = []
    for target in config.targets:
        for p in prompts:
            if target != DEFAULT_TARGET and forced[p.kind] != target:
                continue
            result, latency, error = _run(orchestrator, _request(p.prompt, target, config))
            checks: dict[str, bool] = {}
            answer, workflow = "", ""
            if result is not None:
                answer, workflow = result.answer, result.workflow
                checks = score_structure(p.expect, answer, (result.outputs or {}).get("lesson"))
            results.append(
                PromptResult(id=p.id, kind=p.kind, target=target, workflow=workflow, checks=checks,
                             passed=bool(checks) and all(checks.values()) and not error,
                             latency_ms=round(latency, 1), error=error, answer=answer[:400])
            )  # fmt: skip
            if progress is not None:
                progress(f"{target} {p.id} {p.kind} wf={workflow} checks={checks} {latency:.0f} ms")
    return results
