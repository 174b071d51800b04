"""Does the evidence support an answer at all? Honest refusals with the closest sources.

Two checks, both chosen for precision (a refusal of an answerable question is worse than a weak answer):

* **absent name**: a name the question asks about ("Satya Nadella", "Kotlin") occurs in none of the sources,
  although the search ranks documents naming it first; the corpus does not know it.
* **no article on the subject**: a definitional question ("What is Python?") whose subject is neither the title
  of a source nor the start of one ("Monty Python" is about something else); the answer then says so and shows
  the closest match instead of passing Monty Python off as Python.

:func:`refusal_text` writes the reply: what the corpus lacks, then the closest sources with their lead
sentences, each cited.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from mm_orch.tools.entities import name_spans
from steps.common import SourceDoc
from steps.text import split_sentences

__all__ = ["Unsupported", "absent_names", "definition_subject", "find_unsupported", "refusal_text"]

_CONNECTORS = frozenset({"of", "the", "de", "von", "van", "da", "del", "la", "le", "du", "di", "and"})
_DEFINITION = re.compile(
    r"^\s*(?:what|who)\s+(?:is|are|was|were)\s+(?:an?\s+|the\s+)?(?P<subject>[^?]+?)\s*\??\s*$", re.IGNORECASE
)


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).casefold()


def _words(text: str) -> list[str]:
    return [w.rstrip(".'’") for w in re.findall(r"[a-z0-9][a-z0-9'’.-]*", _fold(text))]


def _acronym(title: str) -> str:
    return "".join(w[0] for w in title.split() if w[:1].isupper())


def _mentioned(span: str, sources: Sequence[SourceDoc]) -> bool:
    wanted = [w for w in _words(span) if w not in _CONNECTORS]
    if not wanted:
        return True
    for source in sources:
        vocabulary = set(_words(f"{source.title} {source.text}"))
        if all(w in vocabulary for w in wanted):
            return True
        if span.isupper() and span in {_acronym(source.title), _acronym(source.title) + "A"}:
            return True
    return False


def absent_names(question: str, sources: Sequence[SourceDoc]) -> list[str]:
    """The question's names that no source mentions (every word of the name, case- and accent-insensitive)."""
    if not sources:
        return []
    return [span for span in name_spans(question) if not _mentioned(span, sources)]


def definition_subject(question: str) -> str | None:
    """The subject of a definitional question ("What is Python?" -> "Python"), else None."""
    match = _DEFINITION.match(question)
    if match is None:
        return None
    subject = match.group("subject").strip()
    words = subject.lower().split()
    relational = {"of", "in", "on", "for", "by", "with", "from", "between", "than", "and", "or", "to", "at"}
    if not 0 < len(words) <= 3 or relational & set(words):
        return None  # "What is the capital of France?" asks for a fact, not a definition
    return subject


def _about(subject: str, title: str, text: str) -> bool:
    """Whether an article titled ``title`` is about ``subject``: the title (without a parenthesis) starts with
    the subject's words, or the subject is a person's surname in the title, or the lead names the subject."""
    want, have = _words(subject), _words(title.split(" (", 1)[0])
    if not want:
        return True
    if have[: len(want)] == want or (want == have[-len(want) :] and len(have) <= 4 and _is_person(text)):
        return True
    lead = split_sentences(text)[:1]
    return bool(lead) and _fold(lead[0]).startswith(" ".join(want))


def _is_person(text: str) -> bool:
    first = _fold(split_sentences(text)[0]) if text else ""
    return bool(
        re.search(
            r"\b(?:was|is) an? (?:[\w-]+ ){0,4}(?:writer|author|poet|painter|composer|scientist|"
            r"physicist|chemist|politician|actor|actress|singer|philosopher|mathematician|"
            r"king|queen|emperor|president|artist|inventor|engineer|explorer|leader)",
            first,
        )
    )


@dataclass(frozen=True, slots=True)
class Unsupported:
    """Why the sources do not support an answer, and what to say instead."""

    missing: str
    reason: str  # "absent_name" or "no_article"


def find_unsupported(question: str, sources: Sequence[SourceDoc]) -> Unsupported | None:
    """An :class:`Unsupported` when the question's subject is not in the sources, else None."""
    if not sources:
        return None
    absent = absent_names(question, sources)
    if absent:
        return Unsupported(absent[0], "absent_name")
    subject = definition_subject(question)
    if subject and not any(_about(subject, s.title, s.text) for s in sources[:3]):
        return Unsupported(subject, "no_article")
    return None


def refusal_text(unsupported: Unsupported, closest: Sequence[SourceDoc]) -> str:
    """ "The corpus has no article on X; the closest match is Y: <lead> [1]" (markers index ``closest``)."""
    head = f"The corpus has no article on {unsupported.missing}"
    if unsupported.reason == "absent_name":
        head = f"The corpus does not mention {unsupported.missing}, so it cannot answer this"
    if not closest:
        return head + "."
    names = [f"{s.title} [{i}]" for i, s in enumerate(closest, start=1)]
    match = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    noun = "match is" if len(names) == 1 else "matches are"
    lead = split_sentences(closest[0].text)[:1]
    detail = f"\n\n{closest[0].title}: {lead[0]} [1]" if lead else ""
    return f"{head}; the closest {noun} {match}.{detail}"
