"""The language model's second opinion: a constrained zero-shot choice among workflow names.

When the router's calibrated confidence is below its threshold, :class:`LMSecondOpinion` asks the configured
generator (SmolLM2-135M-Instruct by default) which workflow fits, offering only the router's top candidates.
Decoding is greedy and a few tokens long, and it is constrained to those names: the request carries a JSON
schema ``{"enum": [...]}``, which vLLM and the transformers backend (xgrammar) enforce while decoding; output
that still names no candidate counts as no opinion. Both opinions end up in the decision's explanation.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from typing import Any

from mm_orch.routing.decision import SecondOpinion

__all__ = ["DESCRIPTIONS", "LMSecondOpinion", "routing_prompt"]

logger = logging.getLogger(__name__)

#: One line per workflow, from data/router/requests/LABELS.md.
DESCRIPTIONS: dict[str, str] = {
    "search_qa": "a factual question about the world that one encyclopedia lookup answers",
    "search_qa_fast": "the same kind of factual lookup, but the user wants it quick or bare",
    "search_qa_strict_citations": "a factual question where the user demands sources or citations",
    "self_ask_search_qa": "a factual question needing two or more chained or compared lookups",
    "rag_qa": "a question about the user's own files, notes or uploaded documents",
    "lesson_pack": "the user wants to learn or teach a topic: lessons, quizzes, study guides, exercises",
    "chat_generate": "conversation or writing with no lookup: greetings, thanks, poems, emails, rewriting, advice",
}


def routing_prompt(query: str, candidates: Sequence[str]) -> list[dict[str, str]]:
    """The chat messages the model is asked (public so tests and docs show exactly what is sent)."""
    options = "\n".join(f"- {name}: {DESCRIPTIONS.get(name, name)}" for name in candidates)
    return [
        {"role": "system", "content": "You pick the workflow that should answer a user's request."},
        {
            "role": "user",
            "content": f"Workflows:\n{options}\n\nRequest: {query}\n\nAnswer with the name of one workflow.",
        },
    ]


def _parse(text: str, candidates: Sequence[str]) -> str | None:
    cleaned = text.strip()
    try:
        value = json.loads(cleaned)
        if isinstance(value, str) and value in candidates:
            return value
    except ValueError:
        pass
    lowered = cleaned.lower()
    found = [c for c in candidates if c in lowered]
    return max(found, key=len) if found else None


class LMSecondOpinion:
    """Asks a generator from the model manager to choose one of the candidate workflows."""

    def __init__(self, model: str = "default", *, max_tokens: int = 16, manager: Any = None) -> None:
        self.model = model
        self.max_tokens = max_tokens
        self._manager = manager

    def _generator(self) -> Any:
        manager = self._manager
        if manager is None:
            from mm_orch.models import get_model_manager

            manager = get_model_manager()
        return manager.get_generator(self.model)

    def ask(self, query: str, candidates: Sequence[str]) -> SecondOpinion:
        """The model's choice among ``candidates`` (never raises: failures come back as ``error``)."""
        from mm_orch.models.params import GenerationParams

        names = list(dict.fromkeys(candidates))
        start = time.perf_counter()
        try:
            generator = self._generator()
            params = GenerationParams(max_tokens=self.max_tokens, temperature=0.0, json_schema={"enum": names})
            result = generator.chat(routing_prompt(query, names), params)
            text = result.text
            name = getattr(generator, "name", self.model)
        except Exception as exc:  # noqa: BLE001 - any model failure means "no second opinion"; the router's choice stands
            logger.warning(
                "LM second opinion failed (%s: %s); keeping the router's choice", type(exc).__name__, exc
            )
            return SecondOpinion(
                model=self.model, choice=None, candidates=names, error=f"{type(exc).__name__}: {exc}",
                latency_ms=(time.perf_counter() - start) * 1000.0,
            )  # fmt: skip
        choice = _parse(text, names)
        return SecondOpinion(
            model=str(name), choice=choice, candidates=names, text=text[:200],
            latency_ms=round((time.perf_counter() - start) * 1000.0, 3),
            error=None if choice else f"answer {text[:80]!r} names none of {names}",
        )  # fmt: skip
