"""``answer`` and ``answer_strict``: answer from the evidence with a small model, verify, cite.

The recipe that makes a 135M model useful: show it only the few evidence sentences (after two worked examples
of the short answer wanted), ask for a short answer with greedy decoding, then check it. A model answer is kept
when its words occur in those sentences and it has the type the question asks for (a year for "when", a number
for "how many", a name for "who"); it is then followed by the sentence that supports it. Otherwise the answer is
that sentence (an extractive answer). Every sentence of the answer ends with a ``[n]`` marker that points into
``citations``.

Before any of that, :func:`steps.support.find_unsupported` checks that the sources are about what was asked;
when they are not, the reply says so and shows the closest sources (``refused`` and ``closest_match`` in the
quality signals). ``answer_strict`` also refuses ("The sources do not support an answer.") when the evidence
covers fewer than ``strict_min_coverage`` (0.6) of the question's content words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mm_orch.exceptions import MMOrchError
from mm_orch.models import GenerationParams
from mm_orch.orchestration import BaseStep, State
from steps.common import SourceDoc, cite, get_generator, read_sources, strip_markers
from steps.support import find_unsupported, refusal_text
from steps.text import Evidence, content_words, grounding_score, question_coverage, select_evidence

__all__ = [
    "REFUSAL",
    "AnswerStep",
    "ComposedAnswer",
    "StrictAnswerStep",
    "compose_answer",
    "expected_type",
    "has_type",
]

REFUSAL = "The sources do not support an answer."
NO_SOURCES = "I found no sources for this question, so I cannot answer it."
_SYSTEM = "Answer the question with a few words copied from the sources. No full sentence."
# Two worked examples: a 135M model copies the shape of the reply it was shown (a short span, no sentence).
_SHOTS = (
    ("[1] Mount Everest is Earth's highest mountain above sea level, located in the Himalayas.",
     "In which mountain range is Mount Everest?", "the Himalayas"),
    ("[1] Pride and Prejudice is an 1813 novel of manners written by Jane Austen.",
     "Who wrote Pride and Prejudice?", "Jane Austen"),
)  # fmt: skip
_GROUNDED = 0.75
_YEAR = re.compile(
    r"\b(?:1[0-9]{3}|20[0-9]{2}|[1-9][0-9]{0,2})\s*(?:BC|BCE|AD|CE)?\b|\b(?:1[0-9]{3}|20[0-9]{2})s?\b"
)
_NUMBER = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|hundred|thousand|"
                     r"million|billion|dozen)\b", re.IGNORECASE)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ComposedAnswer:
    """What :func:`compose_answer` returns: the state updates of an answering step."""

    answer: str
    citations: list[dict[str, str]]
    quality_signals: dict[str, Any]
    failures: list[str]


def _evidence_from_state(state: State, question: str, sources: Sequence[SourceDoc], n: int) -> list[Evidence]:
    raw = state.get("evidence")
    if raw:
        return [Evidence(str(e["text"]), int(e["source"]), float(e.get("score", 0.0))) for e in raw]
    return select_evidence(question, [(s.title, s.text) for s in sources], max_sentences=n)


def _prompt(question: str, evidence: Sequence[Evidence]) -> list[dict[str, str]]:
    context = "\n".join(f"[{i}] {e.text}" for i, e in enumerate(evidence, start=1))
    messages = [{"role": "system", "content": _SYSTEM}]
    for sources, shot_question, shot_answer in _SHOTS:
        messages.append({"role": "user", "content": f"Sources:\n{sources}\n\nQuestion: {shot_question}"})
        messages.append({"role": "assistant", "content": shot_answer})
    messages.append({"role": "user", "content": f"Sources:\n{context}\n\nQuestion: {question}"})
    return messages


def expected_type(question: str) -> str:
    """What kind of answer ``question`` asks for: 'year', 'number', 'name' or 'any'."""
    q = question.lower().strip()
    if re.match(
        r"^(when|in what year|in which year|what year|which year|what century|in which century)\b", q
    ) or re.search(r"\b(what|which) (year|century|decade)\b", q):
        return "year"
    if re.search(r"\bhow (many|much|long|tall|high|old|far|deep|big|large|wide|heavy)\b", q):
        return "number"
    if re.match(r"^(who|whom)\b", q):
        return "name"
    return "any"


def has_type(answer: str, kind: str) -> bool:
    """Whether ``answer`` has the shape ``kind`` needs (a year, a number, a capitalised name)."""
    if kind == "year":
        return bool(_YEAR.search(answer))
    if kind == "number":
        return bool(_NUMBER.search(answer))
    if kind == "name":
        return any(w[:1].isupper() for w in answer.split())
    return True


def _clean(text: str) -> str:
    text = text.strip().strip('"').strip()
    for prefix in ("Short answer:", "The answer is:", "The answer to this question is:", "Answer:", "A:"):
        if text.lower().startswith(prefix.lower()):
            text = text[len(prefix) :].strip()
    text = strip_markers(text)
    return text.rstrip(" .") if text.count(".") <= 1 else text


def _supporting(answer: str, evidence: Sequence[Evidence]) -> Evidence:
    """The evidence sentence sharing the most words with ``answer`` (the first on ties)."""
    words = set(content_words(answer))
    return max(evidence, key=lambda e: (len(words & set(content_words(e.text))), e.score))


async def compose_answer(
    question: str,
    sources: Sequence[SourceDoc],
    evidence: Sequence[Evidence],
    runtime: Any,
    *,
    model_name: str = "default",
    strict: bool = False,
    failures: Sequence[str] = (),
    check_support: bool = True,
) -> ComposedAnswer:
    """Answer ``question`` from ``evidence`` (sentences of ``sources``), verified and cited.

    ``check_support`` False skips the refusal check (a caller that already checked, e.g. per hop)."""
    failures = list(failures)
    titles = [s.title for s in sources]
    coverage = question_coverage(question, evidence, titles)
    signals: dict[str, Any] = {
        "sources_used": 0,
        "citations": 0,
        "grounded": False,
        "grounding_score": 0.0,
        "coverage": round(coverage, 3),
        "structure_valid": True,
        "refused": False,
        "closest_match": None,
        "answer_from_model": False,
    }
    unsupported = find_unsupported(question, sources) if check_support else None
    if unsupported is not None:
        closest = list(sources[: int(runtime.setting("refusal_closest", 2))])
        citations, _ = cite(closest, list(range(len(closest))))
        signals.update(
            refused=True,
            closest_match=closest[0].title if closest else None,
            refusal_reason=unsupported.reason,
            citations=len(citations),
            failures=len(failures),
        )
        return ComposedAnswer(refusal_text(unsupported, closest), citations, signals, failures)
    min_coverage = float(runtime.setting("strict_min_coverage", 0.6))
    if not evidence or (strict and coverage < min_coverage):
        signals.update(refused=True, failures=len(failures))
        return ComposedAnswer(REFUSAL if strict or evidence else NO_SOURCES, [], signals, failures)

    short = ""
    try:
        model = await get_generator(runtime, model_name)
        params = GenerationParams(max_tokens=int(runtime.setting("answer_max_tokens", 16)), stop=["\n"])
        short = _clean((await model.achat(_prompt(question, evidence), params)).text)
    except MMOrchError as exc:  # the extractive answer below still serves the request
        failures.append(f"answer model: {type(exc).__name__}: {exc}"[:300])
    evidence_texts = [e.text for e in evidence] + titles
    model_score = grounding_score(short, evidence_texts) if short else 0.0
    use_model = (
        bool(short)
        and model_score >= _GROUNDED
        and short.lower() not in {"unknown", "i don't know"}
        and has_type(short, expected_type(question))
        and len(short.split()) <= 12
    )

    best = _supporting(short, evidence) if use_model else max(evidence, key=lambda e: e.score)
    used = [best.source]
    citations, numbers = cite(sources, used)
    mark = f"[{numbers[best.source]}]"
    answer = f"{short} {mark}\n\nEvidence: {best.text} {mark}" if use_model else f"{best.text} {mark}"
    score = grounding_score(answer.replace(mark, ""), evidence_texts)
    signals.update(
        sources_used=len({e.source for e in evidence}),
        citations=len(citations),
        grounded=score >= _GROUNDED and coverage >= 0.5,
        grounding_score=round(score, 3),
        answer_from_model=use_model,
        model_answer=short[:200],
        failures=len(failures),
    )
    return ComposedAnswer(answer, citations, signals, failures)


class AnswerStep(BaseStep):
    """``question`` (+ ``sources``/``docs``, ``evidence``) -> ``answer``, ``citations``, ``quality_signals``."""

    name = "answer"
    description = "Answer the question from the evidence with the model; verify it and cite the sources."
    input_keys = ["question"]
    output_keys = ["answer", "citations", "quality_signals"]
    optional_input_keys = ["sources", "docs", "evidence", "failures", "summaries", "notice"]
    optional_output_keys = ["failures"]
    required_capabilities = ["generate"]
    strict = False

    async def execute(self, state: State, runtime: Any) -> dict[str, Any]:
        question = str(state["question"])
        sources = read_sources(state)
        evidence = _evidence_from_state(state, question, sources, int(runtime.setting("evidence_sentences", 3)))
        result = await compose_answer(
            question,
            sources,
            evidence,
            runtime,
            model_name=self.model_name,
            strict=self.strict,
            failures=list(state.get("failures") or []),
        )
        answer, signals = result.answer, result.quality_signals
        notice = str(state.get("notice") or "")
        if notice:  # e.g. RAG over a collection that holds nothing yet: say so first, then what search found
            answer = f"{notice}\n\nFrom the built-in corpus instead: {answer}"
            signals = {**signals, "notice": True}
        out: dict[str, Any] = {"answer": answer, "citations": result.citations, "quality_signals": signals}
        if result.failures:
            out["failures"] = result.failures
        return out


class StrictAnswerStep(AnswerStep):
    """:class:`AnswerStep` that refuses when the sources do not cover the question."""

    name = "answer_strict"
    description = "Answer only what the sources support, every claim cited; refuse otherwise."
    strict = True
