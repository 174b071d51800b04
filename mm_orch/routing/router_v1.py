"""RouterV1: hand-written rules. No training, no files, always available: the chain's last resort.

Each workflow collects evidence from weighted regular expressions and from the request's context (chat mode,
history, attached documents, a named collection, constraints); the highest score wins and the scores, passed
through a softmax, are the reported alternatives. With no evidence at all the request goes to ``search_qa``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from mm_orch.routing.decision import WORKFLOWS, ChainStep, RoutingDecision, RoutingExplanation, as_request
from mm_orch.schemas import UserRequest

__all__ = ["RULES", "RouterV1", "Rule"]


@dataclass(frozen=True, slots=True)
class Rule:
    """One piece of evidence: if ``pattern`` matches the lower-cased question, ``workflow`` gains ``weight``."""

    workflow: str
    pattern: re.Pattern[str]
    weight: float
    name: str


def _r(workflow: str, weight: float, name: str, pattern: str) -> Rule:
    return Rule(workflow, re.compile(pattern, re.IGNORECASE), weight, name)


RULES: tuple[Rule, ...] = (
    # lesson_pack: teaching artefacts and learning intent
    _r(
        "lesson_pack",
        3.0,
        "lesson-artefact",
        r"\b(lesson|lesson plan|worksheet|quiz|flashcards?|syllabus|curriculum|"
        r"study guide|practice (problems|questions|exercises)|exercises|homework|unit plan|lecture notes)\b",
    ),
    _r("lesson_pack", 2.5, "teach-me", r"\b(teach|tutor|coach) (me|us|my|a|the|kids|students|beginners)\b"),
    _r(
        "lesson_pack",
        2.0,
        "learning-intent",
        r"\b(help me (learn|understand|study|master|get better)|i want to learn|"
        r"i'?m (studying|learning|preparing for)|walk me through|step[- ]by[- ]step|from scratch|for beginners|"
        r"beginner'?s|crash course|explain .* like i'?m|eli5|grade students|year olds?|classroom|my (class|students))\b",
    ),
    _r(
        "lesson_pack",
        1.5,
        "exam",
        r"\b(exam|test prep|revision|revise|drill me|check my understanding|"
        r"learning objectives|key concepts)\b",
    ),
    # search_qa_strict_citations: evidence demands
    _r(
        "search_qa_strict_citations",
        3.0,
        "cite",
        r"\b(cite|citations?|cited|references?|bibliograph\w*|sources?|"
        r"footnotes?|peer[- ]reviewed|primary literature|studies show|with links)\b",
    ),
    _r(
        "search_qa_strict_citations",
        2.5,
        "verify",
        r"\b(verify|verif\w+|fact[- ]check\w*|is it true|"
        r"true that|debunk\w*|myth|evidence|proof that|back (it|this|that) up|substantiat\w+|documented|"
        r"according to (which|what)|who says|confirm(ed)? by|is there (any )?(data|research|evidence))\b",
    ),
    _r("search_qa_strict_citations", 1.5, "claims", r"\b(claim(s|ed)?|rumou?r|allegedly|accurate|reliable)\b"),
    # self_ask_search_qa: multi-hop structure
    _r(
        "self_ask_search_qa",
        2.5,
        "when-x-was",
        r"\b(when|while|at the time|in the year|the year)\b.*\b(was|were)\b.*"
        r"\b(built|founded|born|invented|released|elected|died|signed|published|discovered|won|started|opened)\b",
    ),
    _r("self_ask_search_qa", 2.5, "nested-of", r"\b(the \w+ of the \w+ (who|that|which|where|whose))\b"),
    _r(
        "self_ask_search_qa",
        2.0,
        "relative-hop",
        r"\b(who|what|which|where)\b[^?]*\b(of the|whose|where the|that "
        r"(wrote|directed|founded|invented|discovered|won|built|painted|composed))\b[^?]*\b(born|founded|capital|"
        r"president|ceo|director|author|wife|husband|mother|father|population|located|married|lead singer)\b",
    ),
    _r(
        "self_ask_search_qa",
        2.0,
        "compare-entities",
        r"\b(older|younger|taller|longer|earlier|later|first|larger|"
        r"bigger|more populous)\b.*\b(or|than)\b.*\?",
    ),
    _r(
        "self_ask_search_qa",
        1.5,
        "same-as",
        r"\b(same (year|country|city|person)|both|in common|also)\b.*\b(as|and)\b",
    ),
    # search_qa_fast: short single-fact lookups
    _r(
        "search_qa_fast",
        2.0,
        "quick-fact",
        r"^(what|who|when|where|which|how (many|much|tall|far|old|long|big))\b"
        r"[^,;]{0,50}\??$",
    ),
    _r(
        "search_qa_fast",
        2.0,
        "quick-ask",
        r"\b(quick(ly)?|just (tell|give)|one word|short answer|briefly|in short|"
        r"tl;?dr|asap|real quick)\b",
    ),
    _r(
        "search_qa_fast",
        1.5,
        "fact-slot",
        r"\b(capital of|population of|currency of|boiling point|melting point|"
        r"time zone|area code|height of|birthday of|date of|phone number|exchange rate|weather in|score of)\b",
    ),
    # search_qa: open research questions
    _r(
        "search_qa",
        1.5,
        "explain-why",
        r"\b(why|how does|how do|how did|what causes|what are the (effects|causes|"
        r"pros|benefits|risks|differences)|compare|overview|explain|latest|recent|current state|news|developments)\b",
    ),
    # rag_qa: the user's own material
    _r(
        "rag_qa",
        3.0,
        "my-docs",
        r"\b(my|our|the attached|the uploaded|this|these|the provided|the enclosed)\s+"
        r"(\w+\s+)?(documents?|docs|files?|pdfs?|notes|reports?|slides|contracts?|manuals?|papers?|spreadsheets?|"
        r"knowledge base|collection|wiki|handbook|policy|policies|transcripts?|emails?|minutes)\b",
    ),
    _r(
        "rag_qa",
        2.5,
        "in-the-doc",
        r"\b(according to (the|my|our) (doc|file|report|notes|manual|contract|"
        r"handbook)|in (the|my|our) (attached|uploaded|internal)|based on (the|my|our) (docs?|files?|notes|"
        r"documents?)|from (the|my|our) (docs?|files?|notes|documents?|collection))",
    ),
    _r(
        "rag_qa",
        1.5,
        "internal",
        r"\b(internal|onboarding|our company|our team|our policy|page \d+|section \d+|"
        r"clause \d+|appendix)\b",
    ),
    # chat_generate: conversation and creative writing
    _r(
        "chat_generate",
        3.0,
        "creative",
        r"\b(write|compose|draft|make up|invent) (me )?(a|an|some|my)?\s*(\w+\s+)?"
        r"(poem|story|song|haiku|limerick|joke|toast|speech|letter|email|caption|tweet|slogan|rap|lyrics|"
        r"birthday message|message|note|bio|tagline)\b",
    ),
    _r(
        "chat_generate",
        3.0,
        "greeting",
        r"^(hi|hello|hey|yo|good (morning|evening|afternoon)|thanks|thank you|"
        r"ok(ay)?|cool|great|nice|lol|bye)\b",
    ),
    _r(
        "chat_generate",
        2.0,
        "personal",
        r"\b(how are you|what do you think|your (opinion|favorite|favourite)|"
        r"tell me a joke|i feel|i'?m (sad|bored|tired|happy|stressed|nervous)|cheer me up|let'?s (chat|talk)|"
        r"brainstorm|rewrite|rephrase|paraphrase|make (it|this) (shorter|longer|funnier|nicer)|translate)\b",
    ),
    _r(
        "chat_generate",
        2.0,
        "follow-up",
        r"^(and|but|so|also|what about|how about|why not|really|are you sure|"
        r"can you|could you|now|then|ok so|same)\b",
    ),
)

_CITING = ("search_qa_strict_citations",)


class RouterV1:
    """Rule-based router. ``RouterV1().route("What is Python?")`` needs no files, no training, no arguments."""

    version = "v1"

    def __init__(self, default_workflow: str = "search_qa", temperature: float = 1.5) -> None:
        self.default_workflow = default_workflow
        self.temperature = temperature

    def scores(self, request: UserRequest | str) -> tuple[dict[str, float], list[str]]:
        """Raw evidence per workflow and the names of the rules that fired."""
        req = as_request(request)
        q = " ".join(req.query.lower().split())
        s = dict.fromkeys(WORKFLOWS, 0.0)
        s[self.default_workflow] = s.get(self.default_workflow, 0.0) + 0.5
        fired: list[str] = []
        for rule in RULES:
            if rule.pattern.search(q):
                s[rule.workflow] += rule.weight
                fired.append(rule.name)
        words = len(q.split())
        if words > 14:
            s["search_qa_fast"] -= 1.5  # long questions are rarely single-fact lookups
        if words <= 7 and q.endswith("?"):
            s["search_qa_fast"] += 0.5
        if req.collection or req.documents:
            s["rag_qa"] += 4.0
            fired.append("ctx-docs")
        if req.mode == "chat":
            s["chat_generate"] += 1.5
            fired.append("ctx-chat")
        if req.history:
            s["chat_generate"] += 1.0 + 0.25 * min(len(req.history), 4)
            fired.append("ctx-history")
        if req.constraints.require_citations:
            s["search_qa_strict_citations"] += 3.0
            fired.append("ctx-require-citations")
        if req.constraints.latency_budget_ms is not None and req.constraints.latency_budget_ms < 3000:
            s["search_qa_fast"] += 1.0
            fired.append("ctx-latency-budget")
        return s, fired

    def route(self, request: UserRequest | str) -> RoutingDecision:
        """Pick the workflow with the most rule evidence."""
        scores, fired = self.scores(request)
        top = max(scores.values())
        exp = {w: math.exp((v - top) / self.temperature) for w, v in scores.items()}
        total = sum(exp.values())
        probs = {w: e / total for w, e in sorted(exp.items(), key=lambda kv: -kv[1])}
        best = next(iter(probs))
        reason = f"rules: {', '.join(fired)}" if fired else f"no rule matched; default {self.default_workflow!r}"
        return RoutingDecision(
            workflow=best,
            confidence=round(probs[best], 6),
            alternatives={w: round(p, 6) for w, p in probs.items()},
            router_version=self.version,
            reason=reason,
            source="rules",
            explanation=RoutingExplanation(
                chain=[ChainStep(router=self.version, outcome="answered", detail=reason)],
                probabilities={w: round(p, 4) for w, p in list(probs.items())[:3]},
                rules=fired,
            ),
        )
