"""Run workflows over the evaluation set and score them."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mm_orch.evaluation.dataset import EvalQuestion
from mm_orch.evaluation.metrics import answer_correct, hit_at_k

__all__ = [
    "EvalConfig",
    "QuestionResult",
    "WorkflowReport",
    "evaluate",
    "ingest_eval_collection",
    "retrieved_titles",
]


class EvalConfig(BaseModel):
    """What to evaluate and how."""

    model_config = ConfigDict(extra="forbid")

    workflows: list[str] = Field(min_length=1, description="Workflow names to run on every question.")
    k: int = Field(default=5, ge=1, description="Cut-off of the retrieval hit@k metric.")
    limit: int | None = Field(default=None, ge=1, description="Evaluate only the first N questions.")
    rag_collection: str = Field(default="eval_wiki", description="Document-store collection rag_qa reads.")
    rag_distractors: int = Field(default=300, ge=0, description="Non-gold corpus articles ingested with the gold.")


class QuestionResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Question id.")
    hops: int = Field(description="1 or 2.")
    hit: bool = Field(description="The answer-bearing gold title is in the first k retrieved titles.")
    all_gold_hit: bool = Field(description="Every gold title is in the first k retrieved titles.")
    correct: bool = Field(description="A gold answer is contained in the normalised answer.")
    model_correct: bool = Field(description="A gold answer is contained in the model's short answer alone.")
    refused: bool = Field(description="The workflow refused to answer.")
    grounded: bool = Field(description="The workflow judged its answer grounded in its sources.")
    error: str = Field(default="", description="The exception, when the run failed.")
    latency_ms: float = Field(description="Wall time of the run.")
    answer: str = Field(default="", description="The answer text (first 300 characters).")


class WorkflowReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    workflow: str
    n: int
    hit_at_k: float
    hit_at_k_single_hop: float | None
    all_gold_hit_at_k: float
    accuracy: float
    accuracy_single_hop: float | None
    accuracy_two_hop: float | None
    model_answer_accuracy: float
    refusal_rate: float
    grounded_rate: float
    error_rate: float
    mean_latency_ms: float
    p50_latency_ms: float
    results: list[QuestionResult]


def retrieved_titles(state: Any) -> list[str]:
    """Titles a run retrieved, best first: ``retrieved_titles``, else search hits, else its sources."""
    if state.get("retrieved_titles"):
        return list(state["retrieved_titles"])
    if state.get("search_results"):
        return [h["title"] for h in state["search_results"]]
    return list(dict.fromkeys(s["title"] for s in state.get("sources") or []))


def ingest_eval_collection(runtime: Any, questions: Sequence[EvalQuestion], config: EvalConfig) -> int:
    """Make ``config.rag_collection`` hold the gold articles plus a fixed set of distractors; returns its size."""
    from mm_orch.tools import CollectionNotFoundError, load_corpus

    store = runtime.tool("document_store")
    try:
        if store.count(config.rag_collection) > 0:
            return int(store.count(config.rag_collection))
    except CollectionNotFoundError:
        pass
    corpus = load_corpus()
    titles = list(dict.fromkeys(t for q in questions for t in q.gold_titles))
    gold = set(titles)
    step = max(1, len(corpus) // max(1, config.rag_distractors))
    titles += [a.title for a in corpus.articles[::step] if a.title not in gold][: config.rag_distractors]
    articles = [a for t in titles if (a := corpus.get(t)) is not None]
    store.ingest_texts(
        [a.extract for a in articles], config.rag_collection, doc_ids=[a.title for a in articles],
        titles=[a.title for a in articles],
    )  # fmt: skip
    return int(store.count(config.rag_collection))


def _score(q: EvalQuestion, state: Any, k: int) -> dict[str, Any]:
    titles = retrieved_titles(state)
    signals = state.get("quality_signals") or {}
    return {
        "hit": any(hit_at_k(titles, t, k) for t in [q.gold_titles[-1], *q.alt_titles]),
        "all_gold_hit": all(hit_at_k(titles, t, k) for t in q.gold_titles),
        "correct": answer_correct(str(state.get("answer", "")), q.answers),
        "model_correct": answer_correct(str(signals.get("model_answer", "")), q.answers),
        "refused": bool(signals.get("refused", False)),
        "grounded": bool(signals.get("grounded", False)),
        "answer": str(state.get("answer", ""))[:300],
    }


def _mean(values: Sequence[bool | float]) -> float:
    return round(sum(float(v) for v in values) / len(values), 4) if values else 0.0


def evaluate(
    questions: Sequence[EvalQuestion],
    config: EvalConfig,
    *,
    registry: Any = None,
    runtime: Any = None,
    progress: Callable[[str], None] | None = None,
) -> list[WorkflowReport]:
    """Run every workflow of ``config`` on ``questions``; one report per workflow."""
    from mm_orch.orchestration import GraphExecutor
    from mm_orch.orchestration.wiring import build_default_runtime, build_default_workflow_registry

    registry = registry or build_default_workflow_registry()
    runtime = runtime or build_default_runtime(settings={"rag_collection": config.rag_collection})
    questions = list(questions)[: config.limit] if config.limit else list(questions)
    for name in config.workflows:
        registry.get(name)  # WorkflowNotFoundError lists the registered ones before any work starts
    if "rag_qa" in config.workflows:
        ingest_eval_collection(runtime, questions, config)
    executor = GraphExecutor(registry.step_registry)
    reports = []
    for name in config.workflows:
        graph = registry.compiled(name)
        results = []
        for q in questions:
            start = time.perf_counter()
            try:
                state = executor.execute(
                    graph, {"question": q.question, "collection": config.rag_collection}, runtime
                )
                scored, error = _score(q, state, config.k), ""
            except Exception as exc:
                scored = dict(hit=False, all_gold_hit=False, correct=False, model_correct=False, refused=False,
                              grounded=False, answer="")  # fmt: skip
                error = f"{type(exc).__name__}: {exc}"[:500]
            latency = (time.perf_counter() - start) * 1000
            results.append(
                QuestionResult(id=q.id, hops=q.hops, error=error, latency_ms=round(latency, 1), **scored)
            )
            if progress is not None:
                progress(f"{name} {q.id} correct={scored['correct']} hit={scored['hit']} {latency:.0f} ms")
        one = [r.correct for r in results if r.hops == 1]
        two = [r.correct for r in results if r.hops == 2]
        latencies = [r.latency_ms for r in results]
        reports.append(
            WorkflowReport(
                workflow=name,
                n=len(results),
                hit_at_k=_mean([r.hit for r in results]),
                hit_at_k_single_hop=_mean([r.hit for r in results if r.hops == 1]) if one else None,
                all_gold_hit_at_k=_mean([r.all_gold_hit for r in results]),
                accuracy=_mean([r.correct for r in results]),
                accuracy_single_hop=_mean(one) if one else None,
                accuracy_two_hop=_mean(two) if two else None,
                model_answer_accuracy=_mean([r.model_correct for r in results]),
                refusal_rate=_mean([r.refused for r in results]),
                grounded_rate=_mean([r.grounded for r in results]),
                error_rate=_mean([bool(r.error) for r in results]),
                mean_latency_ms=round(statistics.fmean(latencies), 1) if latencies else 0.0,
                p50_latency_ms=round(statistics.median(latencies), 1) if latencies else 0.0,
                results=results,
            )
        )
    return reports
