"""Self-ask decomposition as a bounded loop: ``self_ask_decompose`` -> ``self_ask_hop`` (x N) -> ``self_ask_compose``.

Each hop searches for its sub-question, fetches the best new documents, and looks in the best evidence sentence
for a *bridge*: a name that is itself the title of a document (e.g. "Hamlet ... written by William Shakespeare"
-> "William Shakespeare"). A bridge becomes the next sub-question ("<question> (about <bridge>)"), searched by
its title. The loop ends when no bridge is found or after ``self_ask_max_hops`` (default 2) hops; the workflow
graph also bounds it with ``max_iterations``. Composition answers the original question from the last hop's
sentence that covers what the earlier hops left unanswered, and cites the bridge sentence too.
"""

from __future__ import annotations

import asyncio
from typing import Any

from mm_orch.orchestration import BaseStep, State
from steps.answer import compose_answer
from steps.common import SourceDoc, cite, read_sources
from steps.sources import linked_documents
from steps.text import Evidence, content_words, select_evidence

__all__ = ["SelfAskComposeStep", "SelfAskDecomposeStep", "SelfAskHopStep", "find_bridge"]


async def find_bridge(runtime: Any, sentence: str, exclude: set[str]) -> Any | None:
    """The first capitalised name in ``sentence`` that is exactly a searchable document title (its hit)."""
    found = await linked_documents(runtime, sentence, set(exclude), 1)
    return found[0] if found else None


class SelfAskDecomposeStep(BaseStep):
    """``question`` -> ``sub_questions`` (starting with the question), empty ``hops``, ``self_ask_continue``."""

    name = "self_ask_decompose"
    description = "Start a self-ask decomposition: the first sub-question is the question itself."
    input_keys = ["question"]
    output_keys = ["sub_questions", "hops", "sources", "self_ask_continue"]

    def execute(self, state: State, runtime: Any) -> dict[str, Any]:
        return {"sub_questions": [str(state["question"])], "hops": [], "sources": [], "self_ask_continue": True}


class SelfAskHopStep(BaseStep):
    """One hop: search the next sub-question, fetch new documents, find a bridge to the next sub-question."""

    name = "self_ask_hop"
    description = "Answer the next sub-question by search and fetch; propose the next one from a bridge entity."
    input_keys = ["question", "sub_questions", "hops", "sources"]
    output_keys = ["sub_questions", "hops", "sources", "self_ask_continue"]
    required_capabilities = ["search", "fetch"]

    async def execute(self, state: State, runtime: Any) -> dict[str, Any]:
        question = str(state["question"])
        hops = [dict(h) for h in state["hops"]]
        sub_questions = list(state["sub_questions"])
        sources = [s.model_dump() for s in read_sources(state)]
        n = len(hops)
        query = sub_questions[min(n, len(sub_questions) - 1)]
        bridge_title = hops[-1].get("bridge") if hops else None
        k = int(runtime.setting("self_ask_k", 3))
        search = runtime.tool("web_search")
        hits = await asyncio.to_thread(search.search, bridge_title or query, 1 if bridge_title else k)
        seen = {s["url"] for s in sources}
        new_hits = [h for h in hits if h.url not in seen][: int(runtime.setting("self_ask_fetch", 2))]
        fetcher = runtime.tool("fetch")
        docs = await asyncio.gather(*(asyncio.to_thread(fetcher.fetch, h.url) for h in new_hits))
        start = len(sources)
        for hit, doc in zip(new_hits, docs, strict=True):
            sources.append({"title": hit.title, "url": hit.url, "doc_id": hit.doc_id, "text": doc.text})
        hop_docs = [(s["title"], s["text"]) for s in sources[start:]]
        best = select_evidence(question, hop_docs, max_sentences=1)
        sentence = best[0].text if best else ""
        bridge = None
        max_hops = int(runtime.setting("self_ask_max_hops", 2))
        if sentence and n + 1 < max_hops:
            exclude = {s["title"].lower() for s in sources} | {w.lower() for w in question.split()}
            bridge = await find_bridge(runtime, sentence, exclude)
        hops.append(
            {
                "sub_question": query,
                "titles": [t for t, _ in hop_docs],
                "sentence": sentence,
                "source": start + best[0].source if best else -1,
                "bridge": bridge.title if bridge else None,
            }
        )
        if bridge is not None:
            sub_questions.append(f"{question} (about {bridge.title})")
        return {
            "sub_questions": sub_questions,
            "hops": hops,
            "sources": sources,
            "self_ask_continue": bridge is not None,
        }


class SelfAskComposeStep(BaseStep):
    """``question``, ``hops``, ``sources`` -> ``answer``, ``citations``, ``quality_signals``."""

    name = "self_ask_compose"
    description = "Compose the final answer from the hops' evidence, citing every hop that supports it."
    input_keys = ["question", "hops", "sources"]
    output_keys = ["answer", "citations", "quality_signals"]
    optional_input_keys = ["failures"]
    required_capabilities = ["generate"]

    async def execute(self, state: State, runtime: Any) -> dict[str, Any]:
        question = str(state["question"])
        hops = list(state["hops"])
        sources = read_sources(state)
        evidence = self._evidence(question, hops, sources)
        result = await compose_answer(
            question,
            sources,
            evidence,
            runtime,
            model_name=self.model_name,
            failures=list(state.get("failures") or []),
        )
        answer, citations = result.answer, list(result.citations)
        bridge_hop = hops[0] if len(hops) > 1 else None
        if bridge_hop is not None and bridge_hop["source"] >= 0 and citations:
            cited = {c["url"] for c in citations}
            src = sources[bridge_hop["source"]]
            if src.url not in cited:
                extra, _ = cite(sources, [bridge_hop["source"]])
                citations += extra
                answer += f"\n\nVia: {bridge_hop['sentence']} [{len(citations)}]"
        signals = dict(result.quality_signals)
        signals.update(citations=len(citations), hops=len(hops), sub_questions=len(state.get("sub_questions", [])))
        return {"answer": answer, "citations": citations, "quality_signals": signals}

    @staticmethod
    def _evidence(question: str, hops: list[Any], sources: list[SourceDoc]) -> list[Evidence]:
        """Last hop first, scored on the question words the earlier hops' sentences did not already cover."""
        covered: set[str] = set()
        for hop in hops[:-1]:
            covered.update(content_words(hop["sentence"]))
            covered.update(content_words(" ".join(hop["titles"])))
        residual = " ".join(w for w in content_words(question) if w not in covered) or question
        last_titles = set(hops[-1]["titles"]) if hops else set()
        last = [i for i, s in enumerate(sources) if s.title in last_titles]
        chosen = select_evidence(residual, [(sources[i].title, sources[i].text) for i in last], max_sentences=2)
        evidence = [Evidence(e.text, last[e.source], e.score) for e in chosen]
        for hop in hops[:-1]:
            if hop["sentence"] and hop["source"] >= 0:
                evidence.append(Evidence(hop["sentence"], int(hop["source"]), 0.0))
        return evidence
