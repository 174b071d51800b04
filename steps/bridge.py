"""Choose the bridge entity of a two-hop question from the first hop's evidence.

"What is the capital of the country where the Taj Mahal is?": hop 1 reads *Taj Mahal*, whose sentences name
*Agra*, *Uttar Pradesh* and *India*; the bridge is the one the rest of the question is about. Every article
named in the first hop's best-matching sentences is a candidate, scored by three checks against the evidence:

* **link**: how much of the inner phrase ("the country where the Taj Mahal is") the sentence naming it shares
  (the candidate must come out of evidence for the first hop, not out of the blue);
* **rest**: how much of the rest of the question ("capital") the candidate's own article covers (the second
  hop must be answerable from it);
* **type**: whether the candidate's lead says it is what the phrase asks for ("country": "India ... is a
  country"; "author": "... was an English writer"), for the nouns the type tables know.

When some candidate has the asked type only those compete. The best is accepted when it has the type or its
article covers at least ``min_rest`` of the rest of the question; otherwise there is no bridge and the caller
answers from the first hop.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

from mm_orch.exceptions import MMOrchError
from steps.sources import linked_documents
from steps.text import content_words, split_sentences

__all__ = ["BridgeChoice", "choose_bridge", "known_type", "titles_in", "type_matches"]

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "author": ("writer", "novelist", "poet", "playwright", "author", "dramatist", "essayist"),
    "writer": ("writer", "novelist", "poet", "playwright", "author"),
    "novel": ("novel", "book"),
    "book": ("novel", "book", "treatise", "work"),
    "city": ("city", "town", "capital", "metropolis", "municipality", "commune"),
    "town": ("city", "town", "village", "municipality"),
    "country": ("country", "nation", "sovereign state", "kingdom", "republic", "empire"),
    "nation": ("country", "nation", "sovereign state", "kingdom", "republic"),
    "state": ("state", "country", "province", "region"),
    "painter": ("painter", "artist"),
    "artist": ("painter", "artist", "sculptor", "musician", "singer"),
    "singer": ("singer", "musician", "rapper", "vocalist"),
    "band": ("band", "group"),
    "director": ("director", "filmmaker"),
    "film": ("film", "movie"),
    "scientist": ("scientist", "physicist", "chemist", "biologist", "mathematician", "astronomer"),
    "company": ("company", "corporation", "conglomerate", "manufacturer", "business"),
    "river": ("river", "tributary"),
    "mountain": ("mountain", "peak", "volcano"),
    "planet": ("planet",),
    "continent": ("continent",),
    "language": ("language",),
    "religion": ("religion", "faith"),
    "sea": ("sea", "ocean", "gulf"),
    "ocean": ("ocean", "sea"),
    "island": ("island", "archipelago"),
    "empire": ("empire", "state", "dynasty"),
    "team": ("team", "club"),
    "capital": ("capital", "city"),
    "university": ("university", "institute", "college"),
    "organisation": ("organisation", "organization", "foundation", "group"),
    "organization": ("organisation", "organization", "foundation", "group"),
    "province": ("province", "region", "state"),
}
_PERSON_NOUNS = frozenset(
    [
    "author", "writer", "painter", "composer", "director", "founder", "inventor", "commander", "wife",
    "husband", "son", "daughter", "father", "mother", "king", "queen", "emperor", "president", "leader",
    "discoverer", "singer", "creator", "designer", "architect", "engineer", "scientist", "player", "sculptor",
    "poet", "playwright", "novelist", "philosopher", "astronaut", "actor", "actress", "explorer", "ruler",
    "pharaoh", "pope", "brother", "sister", "teacher", "student", "successor", "predecessor", "co-founder",
    "cofounder", "person", "man", "woman", "advisor", "poetess", "mystic", "conqueror", "caliph", "sultan",
    "dictator", "general",
    ]
)  # fmt: skip
_PERSON_LEAD = re.compile(
    r"\b(?:was|is)\s+(?:an?\s+|the\s+)?(?:[\w-]+\s+){0,5}?(?:writer|author|poet|painter|composer|scientist|"
    r"physicist|chemist|politician|actor|actress|singer|philosopher|mathematician|king|queen|emperor|president|"
    r"artist|inventor|engineer|explorer|leader|astronaut|businessman|entrepreneur|novelist|playwright|sculptor|"
    r"architect|astronomer|biologist|naturalist|general|statesman|pharaoh|ruler|monarch|director|filmmaker|"
    r"musician|rapper|pianist|conductor|economist|historian|theologian|pope|saint|officer|aviator|pilot)\b",
    re.IGNORECASE,
)


_PREDICATE = re.compile(
    r"\b(?:is|was|are|were)\s+(?:an?|the|one of the)\s+(?P<noun>.*?)"
    r"(?:\s+(?:in|of|on|at|located|situated|that|which|who|whose|from|with|by|near|between|for)\b|[,;.(]|$)"
)


def type_matches(bridge_type: str, text: str) -> bool:
    """Whether an article whose lead is ``text`` is a ``bridge_type`` ("country": "India ... is a country").

    The type is read from the first sentence's predicate noun ("Agra is a city on the banks of ... the Indian
    state of Uttar Pradesh": a city, not a state), else from anywhere in the first two sentences."""
    lead = " ".join(split_sentences(text)[:2]).lower()
    if bridge_type in _PERSON_NOUNS and _PERSON_LEAD.search(lead):
        return True
    words = _SYNONYMS.get(bridge_type, (bridge_type,))
    predicate = _PREDICATE.search(split_sentences(text)[0].lower()) if text.strip() else None
    where = predicate.group("noun") if predicate else lead
    return any(re.search(rf"\b{re.escape(w)}s?\b", where) for w in words)


async def titles_in(runtime: Any, text: str, exclude: set[str], limit: int, senses: int = 1) -> list[Any]:
    """Articles named in ``text`` (the local corpus' title index, else a search per name), minus ``exclude``."""
    search = runtime.tool("web_search")
    if hasattr(search, "titles_in"):
        hits = await asyncio.to_thread(search.titles_in, text, 16, senses=senses)
        return [h for h in hits if h.title.lower() not in exclude][:limit]
    return await linked_documents(runtime, text, set(exclude), limit)


def known_type(bridge_type: str) -> bool:
    """Whether the type tables can check ``bridge_type`` against a lead."""
    return bridge_type in _SYNONYMS or bridge_type in _PERSON_NOUNS


@dataclass(frozen=True, slots=True)
class BridgeChoice:
    """The chosen bridge: its search hit and article text, and the first-hop sentence that names it."""

    hit: Any
    text: str
    sentence: str
    source: int  # index of the sentence's document in the first hop's documents
    score: float
    typed: bool


async def _article_text(runtime: Any, hit: Any) -> str:
    try:
        return str((await asyncio.to_thread(runtime.tool("fetch").fetch, hit.url)).text)
    except MMOrchError:
        return str(hit.snippet)


def _linking_sentences(
    link_words: set[str], docs: list[tuple[str, str]], limit: int
) -> list[tuple[float, int, str]]:
    """The first hop's sentences sharing the most of ``link_words`` (``(share, document, sentence)``)."""
    scored = []
    for rank, (title, text) in enumerate(docs[:3]):
        title_words = set(content_words(title))
        for position, sentence in enumerate(split_sentences(text)[:12]):
            share = len(link_words & (set(content_words(sentence)) | title_words)) / max(1, len(link_words))
            if share > 0:
                scored.append((share - 0.02 * rank - 0.004 * position, share, rank, sentence))
    scored.sort(key=lambda item: -item[0])
    return [(share, rank, sentence) for _, share, rank, sentence in scored[:limit]]


async def choose_bridge(
    runtime: Any,
    question: str,
    inner: str,
    bridge_type: str,
    docs: list[tuple[str, str]],
    exclude: set[str],
    *,
    min_rest: float = 0.34,
    max_candidates: int = 10,
) -> BridgeChoice | None:
    """The bridge entity for ``question`` named in the first hop's ``docs`` (``(title, text)``, best first), or
    None. ``inner`` is the phrase naming it ('' when unknown: the whole question links); ``exclude`` holds
    lower-cased titles that cannot be the bridge (the question's own names)."""
    question_words = set(content_words(question))
    link_words = set(content_words(inner)) or question_words
    found: dict[str, tuple[Any, float, int, str]] = {}
    for share, rank, sentence in _linking_sentences(link_words, docs, 4):
        for hit in await titles_in(runtime, sentence, exclude, 8, senses=3):
            if hit.title not in found and hit.title != docs[rank][0]:
                found[hit.title] = (hit, share, rank, sentence)
    picked = list(found.values())[:max_candidates]
    texts = await asyncio.gather(*(_article_text(runtime, hit) for hit, _, _, _ in picked))
    typed_known = known_type(bridge_type)
    choices = []
    for (hit, share, rank, sentence), text in zip(picked, texts, strict=True):
        rest_words = question_words - link_words if inner else question_words - set(content_words(sentence))
        rest_words -= set(content_words(docs[rank][0]))
        covered = set(content_words(text)) | set(content_words(hit.title))
        rest = len(rest_words & covered) / len(rest_words) if rest_words else 0.0
        typed = typed_known and type_matches(bridge_type, text)
        score = share + rest + (0.5 if typed else 0.0) - 0.05 * rank
        choices.append((score, rest, typed, BridgeChoice(hit, text, sentence, rank, round(score, 4), typed)))
    if typed_known and any(typed for _, _, typed, _ in choices):
        choices = [c for c in choices if c[2]]
    if not choices:
        return None
    _, rest, typed, best = max(choices, key=lambda c: c[0])
    return best if typed or rest >= min_rest else None
