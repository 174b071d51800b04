"""Decompose a question into a plan of hops: single, bridge ("the capital of the country where X is") or
comparison ("which is older, A or B").

The language model proposes the plan in a constrained format (a JSON object matching :data:`PLAN_SCHEMA`; the
transformers and vLLM backends constrain decoding to the schema and validate the result). The proposal is then
checked against the question (:func:`validate_plan`): a bridge's inner phrase must be copied from the question
and name something; comparison items must be names that occur in it. A proposal that fails, or a model that is
unavailable, gives way to the deterministic parser :func:`rule_plan`, which reads the same three shapes from
the question's syntax. The plan records which of the two produced it (``source``).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from mm_orch.exceptions import MMOrchError
from mm_orch.models import GenerationParams
from mm_orch.tools.entities import name_spans
from steps.common import get_generator

__all__ = ["PLAN_SCHEMA", "Plan", "model_plan", "plan_question", "rule_plan", "validate_plan"]

PlanKind = Literal["single", "bridge", "comparison"]

PLAN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "kind": {"type": "string", "enum": ["single", "bridge", "comparison"]},
        "inner": {"type": "string", "maxLength": 120},
        "items": {"type": "array", "items": {"type": "string", "maxLength": 80}, "maxItems": 2},
    },
    "required": ["kind", "inner", "items"],
    "additionalProperties": False,
}

_SYSTEM = (
    "Classify the question. kind is 'bridge' when it asks about something identified by another thing "
    "(then inner is that phrase, copied), 'comparison' when it compares two things (then items are the two "
    "names), else 'single'. Reply with JSON only."
)
_SHOTS = (
    ("What is the capital of the country where the Taj Mahal is located?",
     {"kind": "bridge", "inner": "the country where the Taj Mahal is located", "items": []}),
    ("Which is longer, the Nile or the Amazon River?",
     {"kind": "comparison", "inner": "", "items": ["Nile", "Amazon River"]}),
    ("Who painted the Mona Lisa?", {"kind": "single", "inner": "", "items": []}),
)  # fmt: skip

_RELATIVE = r"(?:that|which|who|whom|whose|where|when|in which|of which|on which|at which)"
_BRIDGE_NOUN = re.compile(
    r"\b[Tt]he\s+(?P<noun>(?:[a-z-]+\s+){0,2}?[a-z-]+)\s+(?P<link>of|by|" + _RELATIVE + r")\s+(?P<rest>.+)$"
)
_COMPARATIVE = re.compile(
    r"\b(?:older|younger|newer|earlier|later|first|longer|shorter|taller|higher|larger|bigger|smaller|deeper|"
    r"heavier|lighter|more|less|fewer|greater|closer|farther|further|[a-z]+er)\b",
    re.IGNORECASE,
)
_TRAILING_VERB = re.compile(
    r"\s+(?:is|was|are|were)?\s*(?:born|located|situated|found|founded|built|made|written|set|based|buried|"
    r"published|released|headquartered|born in|from)\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Plan:
    """How to answer a question: one search, a bridge (inner phrase first), or a comparison of two items."""

    kind: PlanKind
    inner: str = ""  # bridge: the phrase naming the bridge entity, copied from the question
    bridge_type: str = ""  # bridge: the head noun of ``inner`` ("country", "author")
    items: tuple[str, ...] = field(default_factory=tuple)  # comparison: the two names
    source: Literal["model", "rules"] = "rules"


def _head_noun(inner: str) -> str:
    match = re.match(
        r"^\s*(?:the|a|an)\s+((?:[a-z]+\s+){0,2}?[a-z]+)\s+(?:of|by|" + _RELATIVE + r")\b", inner, re.I
    )
    if match:
        return match.group(1).split()[-1].lower()
    words = [w for w in re.findall(r"[a-z]+", inner.lower()) if w not in {"the", "a", "an"}]
    return words[0] if words else ""


def _comparison_items(question: str) -> tuple[str, ...]:
    """Two names compared by the question: "..., A or B?", "A or B: which ...", "between A and B", "A than B"."""
    q = question.strip().rstrip("?").strip()
    patterns = (
        r",\s*(?:the\s+)?(?P<a>.+?)\s+or\s+(?:the\s+)?(?P<b>.+)$",
        r"\bbetween\s+(?:the\s+)?(?P<a>.+?)\s+and\s+(?:the\s+)?(?P<b>.+)$",
        r"^(?:is|was|are|were|does|did|do|has|had)\s+(?:the\s+)?(?P<a>.+?)\s+\w+er\s+than\s+(?:the\s+)?(?P<b>.+)$",
        r"^(?:who|which|what)\b.*?\b(?:the\s+)?(?P<a>[A-Z][\w .'-]+?)\s+or\s+(?:the\s+)?(?P<b>[A-Z][\w .'-]+)$",
        r"^(?:are|were|do|did)\s+(?:both\s+)?(?:the\s+)?(?P<a>[A-Z][\w .'-]+?)\s+and\s+(?:the\s+)?(?P<b>[A-Z][\w .'-]+?)\s+"
        r"(?:both|in|from|the|located|born|of)\b.*$",
        r"^(?:is|was|are|were|did|does)\s+(?:the\s+)?(?P<a>[\w .'-]+?)\s+or\s+(?:the\s+)?(?P<b>[\w .'-]+?)\s+"
        r"(?:built|founded|born|written|painted|published|released|made|created|discovered|established|"
        r"completed|invented|formed|started|begun|opened|composed|signed|fought)\b.*$",
    )
    for pattern in patterns:
        match = re.search(pattern, q)
        if match:
            a, b = match.group("a").strip(" ,"), match.group("b").strip(" ,")
            if a and b and a.lower() != b.lower() and len(a.split()) <= 6 and len(b.split()) <= 6:
                return (a, b)
    return ()


Names = Callable[[str], list[str]]
_ASKS_FOR_INNER = ("what is", "who is", "what was", "who was", "what are", "who were", "name", "list", "give",
                   "tell me", "what were")  # fmt: skip
_POSSESSIVE = re.compile(r"^['’]s\s+(?P<noun>[a-z][a-z-]+)\b")


def _find(text: str, span: str) -> int:
    return text.lower().find(span.lower())


def _is_entity(inner: str, names: Names) -> bool:
    """Whether ``inner`` is a name ("the Battle of Cajamarca", "the july revolution of 1830": its head noun is
    part of a name), not a phrase identifying something through a name ("the capital of ecuador")."""
    head = _head_noun(inner)
    if head in _STOP_NOUNS:
        return True  # "the last of the New Kingdom": no noun to look for
    return any(head in n.lower().split() for n in names(inner))


def _possessive_plan(q: str, names: Names) -> Plan | None:
    """ "... alexander the great's father ..." -> bridge "alexander the great's father" (type "father")."""
    for name in names(q):
        at = _find(q, name)
        if at < 0:
            continue
        match = _POSSESSIVE.match(q[at + len(name) :])
        if match is None or match.group("noun") in _STOP_NOUNS:
            continue
        after = q[at + len(name) + match.start("noun") :]
        if any(_find(after, n) == 0 for n in names(after)):
            continue  # "raphael's school of athens": the possessive names a work, not a relation
        inner = q[at : at + len(name) + match.end()]
        if q[:at].strip().lower() in _ASKS_FOR_INNER and at + len(inner) >= len(q) - 1:
            return Plan("single")  # "What is Peru's capital?" asks for the phrase itself
        return Plan("bridge", inner=inner, bridge_type=match.group("noun"))
    return None


_STOP_NOUNS = frozenset({"name", "own", "first", "last", "most", "largest", "biggest", "main", "one", "two"})


def rule_plan(question: str, names: Names = name_spans) -> Plan:
    """The deterministic plan: comparison when two names are compared, bridge when a noun phrase identifies
    its referent through a named thing ("the author of Don Quixote", "Peru's capital"), else single.

    ``names`` finds the names of a text (default: capitalised runs; the self-ask step passes the corpus' title
    spans too, so lower-case questions such as "the author of hamlet" are read the same way)."""
    items = _comparison_items(question)
    if len(items) == 2 and (_COMPARATIVE.search(question) or re.match(r"^\s*(are|were|do|did)\b", question, re.I)):
        return Plan("comparison", items=items)
    q = question.strip().rstrip("?").strip()
    possessive = _possessive_plan(q, names)
    if possessive is not None:  # "the inhabitants of burkina faso's capital": the possessive is innermost
        return possessive
    starts = [m.start() for m in re.finditer(r"\b[Tt]he\s", q)]
    candidates = [m for at in starts if (m := _BRIDGE_NOUN.match(q, at)) is not None]
    for match in reversed(candidates):  # the innermost phrase first: "the country where X is" in "the capital of
        # the country where X is"
        rest = match.group("rest")
        if re.match(r"(?:which|what)\b", rest, re.I):
            continue  # "the leaves of which plant": the question's focus, nothing named
        found = [n for n in names(rest) if not n.isdigit()]
        if match.group("link").lower() in ("of", "by") or match.start() == 0:
            if not found:
                continue
            end = _find(rest, found[0]) + len(found[0])
            inner = q[match.start() : match.start("rest") + end]
        else:
            inner = _TRAILING_VERB.sub("", q[match.start() :])
        if not inner or not names(inner) or inner.strip().lower() == q.lower() or _is_entity(inner, names):
            continue
        prefix = q[: match.start()].strip().lower()
        after = q[match.start() + len(inner) :].split()
        if prefix in _ASKS_FOR_INNER or (not prefix and len(after) < 2):
            # "Who is the author of X?" asks for the inner phrase itself: a single hop
            return Plan("single")
        return Plan("bridge", inner=inner, bridge_type=_head_noun(inner))
    return Plan("single")


def validate_plan(question: str, raw: dict[str, Any]) -> Plan | None:
    """The model's proposal as a Plan when it is consistent with ``question``, else None."""
    kind = raw.get("kind")
    folded = " ".join(question.lower().split())
    if kind == "single":
        return Plan("single", source="model")
    if kind == "bridge":
        inner = " ".join(str(raw.get("inner") or "").split()).strip(" ?.,")
        if len(inner.split()) < 3 or inner.lower() not in folded or not name_spans(inner):
            return None
        if inner.lower().rstrip("?") == folded.rstrip("?"):
            return None
        return Plan("bridge", inner=inner, bridge_type=_head_noun(inner), source="model")
    if kind == "comparison":
        items = tuple(" ".join(str(i).split()).strip(" ?.,") for i in raw.get("items") or [])
        if len(items) != 2 or items[0].lower() == items[1].lower():
            return None
        if not all(i and i.lower() in folded for i in items):
            return None
        return Plan("comparison", items=items, source="model")
    return None


async def model_plan(question: str, runtime: Any, model_name: str = "default") -> Plan | None:
    """The model's validated plan, or None (model unavailable, output invalid or inconsistent)."""
    messages = [{"role": "system", "content": _SYSTEM}]
    for shot_question, shot_plan in _SHOTS:
        messages.append({"role": "user", "content": shot_question})
        messages.append({"role": "assistant", "content": json.dumps(shot_plan)})
    messages.append({"role": "user", "content": question})
    params = GenerationParams(max_tokens=int(runtime.setting("decompose_max_tokens", 48)), json_schema=PLAN_SCHEMA)
    try:
        model = await get_generator(runtime, model_name)
        text = (await model.achat(messages, params)).text
        raw = json.loads(text)
    except (MMOrchError, ValueError):
        return None
    return validate_plan(question, raw) if isinstance(raw, dict) else None


async def corpus_names(runtime: Any) -> Names:
    """A ``names`` function for :func:`rule_plan`: capitalised runs plus the search tool's name spans
    (``names_in``: lower-case titles of proper nouns) when the tool has them."""
    tool = runtime.tool("web_search")
    names_in = getattr(tool, "names_in", None)
    if names_in is None:
        return name_spans
    await asyncio.to_thread(names_in, "")  # loads the title index off the event loop once

    def names(text: str) -> list[str]:
        spans = name_spans(text)
        folded = " ".join(spans).lower()
        return spans + [s for s in names_in(text) if s.lower() not in folded]

    return names


async def plan_question(question: str, runtime: Any, model_name: str = "default") -> Plan:
    """The model's plan when it validates, else :func:`rule_plan`.

    The model is asked only with the runtime setting ``decompose_with_model`` (off by default: on this 2-core CPU
    its constrained JSON took seconds per question, more than the rest of the workflow). The rules also get the
    last word when they see a shape the model called ``single``: a 135M model often
    labels every question single, and a missed decomposition costs the answer while a needless one does not.
    """
    rules = rule_plan(question, await corpus_names(runtime))
    if not runtime.setting("decompose_with_model", False):
        return rules
    proposed = await model_plan(question, runtime, model_name)
    if proposed is None:
        return rules
    if proposed.kind == "single" and rules.kind != "single":
        return rules
    return proposed
