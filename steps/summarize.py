"""``summarize``: reduce each document to what matters for the question, and pick the evidence sentences."""

from __future__ import annotations

import asyncio
from typing import Any

from mm_orch.orchestration import BaseStep, State
from steps.common import get_generator, read_sources
from steps.text import select_evidence, split_sentences

__all__ = ["SummarizeStep"]


class SummarizeStep(BaseStep):
    """``docs`` (url -> text; with ``sources`` when present) -> ``summaries`` (url -> summary) and ``evidence``.

    By default summaries are query-focused extracts: the sentences of each document that share the most words
    with the question (the first sentences when there is no question). Extracts cannot invent facts, which is
    what a small model's answer is later checked against. With the runtime setting ``summarize_with_model``
    true, each summary is written by the model instead (``summarize_max_words``, default 60).

    ``evidence`` is the list of ``{"text", "source", "score"}`` sentences across all documents (``source``
    indexes ``sources``) that the answer step reads; at most ``evidence_sentences`` (default 3).
    """

    name = "summarize"
    description = "Summarise fetched documents and select the evidence sentences for the question."
    input_keys = ["docs"]
    output_keys = ["summaries"]
    optional_input_keys = ["question", "sources"]
    optional_output_keys = ["evidence"]

    async def execute(self, state: State, runtime: Any) -> dict[str, Any]:
        sources = read_sources(state)
        question = str(state.get("question") or "")
        per_doc = int(runtime.setting("summary_sentences", 2))
        summaries: dict[str, str] = {}
        if runtime.setting("summarize_with_model", False):
            model = await get_generator(runtime, self.model_name)
            max_words = int(runtime.setting("summarize_max_words", 60))
            texts = await asyncio.gather(*(model.asummarize(s.text, max_words) for s in sources))
            summaries = {s.url or s.doc_id: t for s, t in zip(sources, texts, strict=True)}
        else:
            for source in sources:
                if question:
                    picked = select_evidence(question, [(source.title, source.text)], max_sentences=per_doc)
                    # keep document order so the extract reads naturally
                    order = {s: i for i, s in enumerate(split_sentences(source.text))}
                    text = " ".join(sorted((e.text for e in picked), key=lambda t: order.get(t, 0)))
                else:
                    text = " ".join(split_sentences(source.text)[:per_doc])
                summaries[source.url or source.doc_id] = text
        out: dict[str, Any] = {"summaries": summaries}
        if question:
            evidence = select_evidence(
                question,
                [(s.title, s.text) for s in sources],
                max_sentences=int(runtime.setting("evidence_sentences", 3)),
            )
            out["evidence"] = [{"text": e.text, "source": e.source, "score": e.score} for e in evidence]
        return out
