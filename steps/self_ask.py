"""Self-ask as a bounded loop: ``self_ask_decompose`` -> ``self_ask_hop`` (x N) -> ``self_ask_compose``.

1. **Decompose** (:mod:`steps.decompose`): the model proposes a plan in a constrained JSON format, validated
   against the question, with a deterministic parser as the fallback: ``single``, ``bridge`` (an inner phrase
   such as "the country where the Taj Mahal is located" names the entity the question is really about) or
   ``comparison`` (two named items).
2. **Hop 1** of a bridge searches the inner phrase and reads the best evidence sentences of its documents for
   the *bridge entity*: an article named there whose lead says it is what the phrase asks for ("country" ->
   *India*, whose lead says "is a country"). The entity is accepted only when it is named in that evidence and
   has the asked type: the hop's answer is checked against its evidence. **Hop 2** rewrites the question with
   the entity ("What is the capital of India?"), fetches the entity's article and searches the rewrite.
   A comparison fetches both items' articles in one hop. A single plan is one search.
3. **Compose** answers the rewritten question from hop 2's evidence and cites hop 1's sentence too
   ("Via: ..."); a comparison reads both sides' facts (:mod:`steps.compare`) and cites both.

The loop ends when a hop finds no bridge or after ``self_ask_max_hops`` (default 2) hops; the workflow graph
bounds it as well (``max_iterations``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from mm_orch.exceptions import MMOrchError
from mm_orch.orchestration import BaseStep, State
from steps.answer import compose_answer
from steps.bridge import choose_bridge, titles_in
from steps.common import SourceDoc, cite, read_sources
from steps.compare import compare_items
from steps.decompose import Plan, corpus_names, plan_question
from steps.text import Evidence, select_evidence, split_sentences

__all__ = ["SelfAskComposeStep", "SelfAskDecomposeStep", "SelfAskHopStep"]


async def _search(runtime: Any, query: str, k: int) -> list[Any]:
    tool = runtime.tool("web_search")
    if hasattr(tool, "asearch"):
        return list(await tool.asearch(query, k))
    return list(await asyncio.to_thread(tool.search, query, k))


async def _fetch_new(runtime: Any, hits: list[Any], sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen = {s["url"] for s in sources}
    fresh = [h for h in dict((h.url, h) for h in hits).values() if h.url not in seen]
    fetcher = runtime.tool("fetch")
    docs = await asyncio.gather(*(asyncio.to_thread(fetcher.fetch, h.url) for h in fresh), return_exceptions=True)
    added = []
    for hit, doc in zip(fresh, docs, strict=True):
        if isinstance(doc, BaseException) and not isinstance(doc, MMOrchError | OSError | TimeoutError):
            raise doc
        text = hit.snippet if isinstance(doc, BaseException) else doc.text
        added.append({"title": hit.title, "url": hit.url, "doc_id": hit.doc_id, "text": text})
    return added


def _plan(state: State) -> Plan:
    raw = dict(state.get("plan") or {"kind": "single"})
    return Plan(raw.get("kind", "single"), str(raw.get("inner", "")), str(raw.get("bridge_type", "")),
                tuple(raw.get("items") or ()), raw.get("source", "rules"))  # fmt: skip


class SelfAskDecomposeStep(BaseStep):
    """``question`` -> ``plan``, ``sub_questions``, empty ``hops``/``sources``, ``self_ask_continue``."""

    name = "self_ask_decompose"
    description = "Plan the hops of a question (single, bridge or comparison) with the model, checked by rules."
    input_keys = ["question"]
    output_keys = ["sub_questions", "hops", "sources", "self_ask_continue"]
    optional_output_keys = ["plan", "retrieved_titles"]

    async def execute(self, state: State, runtime: Any) -> dict[str, Any]:
        question = str(state["question"])
        plan = await plan_question(question, runtime, self.model_name)
        first = plan.inner if plan.kind == "bridge" else question
        return {
            "plan": {"kind": plan.kind, "inner": plan.inner, "bridge_type": plan.bridge_type,
                     "items": list(plan.items), "source": plan.source},
            "sub_questions": [first],
            "hops": [],
            "sources": [],
            "retrieved_titles": [],
            "self_ask_continue": True,
        }  # fmt: skip


class SelfAskHopStep(BaseStep):
    """One hop of the plan: search and fetch, and for a bridge find the entity the next hop is about."""

    name = "self_ask_hop"
    description = "Answer the next sub-question by search and fetch; find the bridge entity for the next hop."
    input_keys = ["question", "sub_questions", "hops", "sources"]
    output_keys = ["sub_questions", "hops", "sources", "self_ask_continue"]
    optional_input_keys = ["plan", "retrieved_titles"]
    optional_output_keys = ["retrieved_titles"]
    required_capabilities = ["search", "fetch"]

    async def execute(self, state: State, runtime: Any) -> dict[str, Any]:
        question = str(state["question"])
        plan = _plan(state)
        hops = [dict(h) for h in state["hops"]]
        sub_questions = list(state["sub_questions"])
        sources = [s.model_dump() for s in read_sources(state)]
        retrieved = list(state.get("retrieved_titles") or [])
        k = int(runtime.setting("self_ask_k", 3))
        n = len(hops)
        query = sub_questions[min(n, len(sub_questions) - 1)]
        if plan.kind == "comparison" and n == 0:
            hit_lists = await asyncio.gather(*(_search(runtime, item, 3) for item in plan.items))
            hits = [_named(item, hs) for item, hs in zip(plan.items, hit_lists, strict=True) if hs]
            retrieved += [h.title for hs in hit_lists for h in hs]
        else:
            hits = await _search(runtime, query, k)
            if plan.kind == "bridge" and n == 0:  # the whole question too: the inner phrase may miss a word
                hits += await _search(runtime, question, k)
            retrieved += [h.title for h in hits]
            bridge_title = hops[-1].get("bridge") if hops else None
            if bridge_title:
                named = await titles_in(runtime, bridge_title, set(), 1)
                hits = [h for h in named if h.title == bridge_title] + hits
        added = await _fetch_new(runtime, hits[: max(2, len(plan.items))] if n else hits, sources)
        start = len(sources)
        sources += added
        hop_docs = [(s["title"], s["text"]) for s in added]
        best = select_evidence(query, hop_docs, max_sentences=3, per_source=2) if hop_docs else []
        bridge = None
        if plan.kind == "bridge" and n == 0 and best and n + 1 < int(runtime.setting("self_ask_max_hops", 2)):
            names = await corpus_names(runtime)
            exclude = {name.lower() for name in names(question)}
            exclude |= {t.lower() for t, _ in hop_docs if t.lower().removeprefix("the ") in question.lower()}
            bridge = await choose_bridge(runtime, question, plan.inner, plan.bridge_type, hop_docs, exclude)
        sentence = ""
        source = -1
        if bridge is not None:
            sentence, source = bridge.sentence, start + bridge.source
        elif best:
            sentence, source = best[0].text, start + best[0].source
        titles = list(dict.fromkeys([*(h.title for h in hits), *(t for t, _ in hop_docs)]))
        hops.append({"sub_question": query, "titles": titles, "sentence": sentence,
                     "source": source, "bridge": bridge.hit.title if bridge else None})  # fmt: skip
        if bridge is not None:
            sub_questions.append(_rewrite(question, plan.inner, bridge.hit.title))
        return {
            "sub_questions": sub_questions,
            "hops": hops,
            "sources": sources,
            "retrieved_titles": list(dict.fromkeys(retrieved)),
            "self_ask_continue": bridge is not None,
        }


def _bare(title: str) -> str:
    base = title.split(" (", 1)[0].split(",", 1)[0].lower()
    return base.removeprefix("the ").strip()


def _named(item: str, hits: list[Any]) -> Any:
    """The hit whose title is ``item`` ("The Persistence of Memory" over *Memory*), else the first."""
    want = _bare(item).removesuffix("'s").removesuffix("’s")
    return next((h for h in hits if _bare(h.title) == want), hits[0])


def _rewrite(question: str, inner: str, entity: str) -> str:
    """The question with its inner phrase replaced by the bridge entity."""
    at = question.lower().find(inner.lower())
    if at < 0:
        return f"{question} ({entity})"
    return question[:at] + entity + question[at + len(inner) :]


class SelfAskComposeStep(BaseStep):
    """``question``, ``hops``, ``sources`` (+ ``plan``) -> ``answer``, ``citations``, ``quality_signals``."""

    name = "self_ask_compose"
    description = "Compose the final answer from the hops' evidence, citing every hop that supports it."
    input_keys = ["question", "hops", "sources"]
    output_keys = ["answer", "citations", "quality_signals"]
    optional_input_keys = ["failures", "plan", "sub_questions"]
    required_capabilities = ["generate"]

    async def execute(self, state: State, runtime: Any) -> dict[str, Any]:
        question = str(state["question"])
        plan = _plan(state)
        hops = list(state["hops"])
        sources = read_sources(state)
        sub_questions = list(state.get("sub_questions") or [])
        failures = list(state.get("failures") or [])
        if plan.kind == "comparison" and len(sources) >= 2:
            out = await self._comparison(question, plan, sources, runtime, failures)
            if out is not None:
                return out
        bridged = len(hops) > 1 and bool(hops[0].get("bridge"))
        asked = sub_questions[-1] if bridged else question
        order = self._order(hops, sources) if bridged else list(range(len(sources)))
        ordered = [sources[i] for i in order]
        evidence = select_evidence(asked, [(s.title, s.text) for s in ordered],
                                   max_sentences=int(runtime.setting("evidence_sentences", 3)))  # fmt: skip
        result = await compose_answer(asked, ordered, evidence, runtime, model_name=self.model_name,
                                      failures=failures, check_support=not bridged)  # fmt: skip
        answer, citations = result.answer, list(result.citations)
        if bridged and hops[0]["source"] >= 0 and citations and not result.quality_signals.get("refused"):
            src = sources[hops[0]["source"]]
            if src.url not in {c["url"] for c in citations}:
                extra, _ = cite(sources, [hops[0]["source"]])
                citations += extra
                answer += f"\n\nVia: {hops[0]['sentence']} [{len(citations)}]"
        signals = dict(result.quality_signals)
        signals.update(citations=len(citations), hops=len(hops), sub_questions=len(sub_questions),
                       plan_kind=plan.kind, plan_from_model=plan.source == "model", bridged=bridged)  # fmt: skip
        return {"answer": answer, "citations": citations, "quality_signals": signals}

    @staticmethod
    def _order(hops: list[Any], sources: list[SourceDoc]) -> list[int]:
        """The bridge entity's article, then hop 2's other new sources: the rewritten question is about the bridge,
        so hop 1's documents (whose sentences a small model may copy a wrong span from) are left out."""
        bridge = hops[0].get("bridge")
        first = set(hops[0]["titles"]) - {bridge}
        last = [
            i for i, s in enumerate(sources) if s.title in set(hops[-1]["titles"][:3]) and s.title not in first
        ]
        last.sort(key=lambda i: sources[i].title != bridge)
        return last or list(range(len(sources)))

    async def _comparison(
        self, question: str, plan: Plan, sources: list[SourceDoc], runtime: Any, failures: list[str]
    ) -> dict[str, Any] | None:
        pair = (sources[0], sources[1])
        search = runtime.tool("web_search")
        descriptions = ("", "")
        if hasattr(search, "article"):
            arts = [search.article(s.title) for s in pair]
            descriptions = tuple(a.description if a is not None else "" for a in arts)  # type: ignore[assignment]
        items = (plan.items[0], plan.items[1])
        verdict = compare_items(question, items, (pair[0].text, pair[1].text), descriptions)
        if verdict is None:
            return None
        citations, _ = cite(sources, [0, 1])
        head = pair[verdict.winner].title if verdict.winner is not None else verdict.answer.capitalize()
        mark = f"[{verdict.winner + 1}]" if verdict.winner is not None else "[1][2]"
        lines = []
        for i, src in enumerate(pair):
            sentences = select_evidence(question, [(src.title, src.text)], max_sentences=1)
            lead = sentences[0].text if sentences else split_sentences(src.text)[0]
            value = verdict.values[i]
            note = f" ({value:g})" if value is not None else ""
            lines.append(f"{src.title}{note}: {lead} [{i + 1}]")
        answer = f"{head} {mark}\n\nEvidence: " + "\n".join(lines)
        evidence = [Evidence(line, i, 1.0) for i, line in enumerate(lines)]
        signals = {
            "sources_used": 2, "citations": len(citations), "grounded": True, "grounding_score": 1.0,
            "coverage": 1.0, "structure_valid": True, "refused": False, "closest_match": None,
            "answer_from_model": False, "model_answer": "", "failures": len(failures), "hops": 1,
            "sub_questions": 2, "plan_kind": "comparison", "plan_from_model": plan.source == "model",
            "bridged": False, "evidence_sentences": len(evidence),
        }  # fmt: skip
        return {"answer": answer, "citations": citations, "quality_signals": signals}
