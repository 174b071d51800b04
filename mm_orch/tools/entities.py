"""Names in a query that are article titles, and the entity-focused rewrite of a query.

Two cheap signals that BM25 and a small sentence encoder both miss when the key entity of a question is buried
in a long sentence ("What is the currency of the country whose capital is Nairobi?"):

* :class:`TitleIndex` finds the spans of the query that *are* titles of the corpus ("Nairobi"), longest first,
  without overlaps; a span also matches a disambiguated title ("Mercury" -> "Mercury (planet)").
* :func:`entity_query` rewrites the query to its capitalised names alone ("Nairobi"), so a lexical search for
  the rewrite ranks the entity's own article first.

Both are hand-written: a span lookup over 10,000 titles is a dictionary probe per n-gram, and the names are
what the corpus' own capitalisation says they are (no NER model to load).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["QUESTION_WORDS", "TitleIndex", "TitleMatch", "entity_query", "name_spans"]

_TOKEN = re.compile(r"[A-Za-z0-9À-ÿ][\w'’.&-]*")
_MAX_SPAN = 6
QUESTION_WORDS = frozenset(
    [
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "is",
        "are",
        "was",
        "were",
        "do",
        "does",
        "did",
        "can",
        "could",
        "name",
        "tell",
        "list",
        "give",
        "in",
        "on",
        "of",
        "the",
        "a",
        "an",
        "and",
        "or",
        "to",
        "for",
        "from",
        "by",
        "with",
        "at",
        "as",
        "than",
        "that",
        "this",
        "these",
        "those",
    ]
)
_CONNECTORS = frozenset({"of", "the", "de", "von", "van", "da", "del", "la", "le", "and", "&", "du", "di"})
_REGNAL = re.compile(r"^(\S+ [ivxl]+) of \S.*$")  # a ruler's title: name, regnal number, realm


def _clean(token: str) -> str:
    token = token.rstrip(".'’")
    for suffix in ("'s", "’s"):
        if token.endswith(suffix):
            token = token[: -len(suffix)]
    return token


def _tokens(query: str) -> list[str]:
    return [t for t in (_clean(m.group(0)) for m in _TOKEN.finditer(query)) if t]


def _capitalised(token: str) -> bool:
    return token[:1].isupper() or token[:1].isdigit()


@dataclass(frozen=True, slots=True)
class TitleMatch:
    """One span of the query that names articles: the span, its article indices, and how much it counts."""

    span: str
    articles: tuple[int, ...]
    weight: float


class TitleIndex:
    """Case-insensitive lookup of query spans in the article titles (``titles`` in index order)."""

    def __init__(self, titles: Sequence[str]) -> None:
        self._exact: dict[str, list[int]] = {}
        self._base: dict[str, list[int]] = {}
        for i, title in enumerate(titles):
            self._exact.setdefault(title.casefold(), []).append(i)
            base = title.split(" (", 1)[0].casefold()
            if base != title.casefold():
                self._base.setdefault(base, []).append(i)
            if base.startswith("the ") and len(base) > 4:  # "school of athens" -> The School of Athens
                self._base.setdefault(base[4:], []).append(i)
            undotted = " ".join(base.replace(".", " ").split())
            if undotted != base:  # spans lose their dots: "H. G. Wells" is looked up as "h g wells"
                self._base.setdefault(undotted, []).append(i)
            regnal = _REGNAL.match(base)
            if regnal:  # "Philip II" -> Philip II of Macedon
                self._base.setdefault(regnal.group(1), []).append(i)

    def lookup(self, span: str) -> list[int]:
        """Articles titled ``span`` (exact, case-insensitive), then those titled ``span (...)`` or ``The span``."""
        key = span.casefold()
        return list(dict.fromkeys([*self._exact.get(key, []), *self._base.get(key, [])]))

    def matches(self, query: str) -> list[TitleMatch]:
        """Title spans of ``query``, longest first, never overlapping; question words alone never count.

        Weights: a capitalised span counts 1.0 (names), a lower-case one 0.35 (common nouns such as "river"
        are titles too, but rarely the point of the question).
        """
        tokens = _tokens(query)
        taken = [False] * len(tokens)
        found: list[tuple[int, int, TitleMatch]] = []
        for size in range(min(_MAX_SPAN, len(tokens)), 0, -1):
            for start in range(0, len(tokens) - size + 1):
                if any(taken[start : start + size]):
                    continue
                words = tokens[start : start + size]
                if all(w.lower() in QUESTION_WORDS for w in words) or words[0].lower() in _CONNECTORS:
                    continue
                if words[-1].lower() in _CONNECTORS:
                    continue
                articles = self.lookup(" ".join(words))
                if not articles:
                    continue
                first_word = start == 0 and words[0].lower() in QUESTION_WORDS
                weight = 1.0 if any(_capitalised(w) for w in words) and not first_word else 0.35
                found.append((start, size, TitleMatch(" ".join(words), tuple(articles), weight)))
                for j in range(start, start + size):
                    taken[j] = True
        found.sort(key=lambda item: (-item[2].weight, -item[1], item[0]))
        return [m for _, _, m in found]


def name_spans(query: str) -> list[str]:
    """Runs of capitalised words (with name particles such as 'of' or 'de' inside), skipping a capitalised
    question word at the start and names shorter than 3 characters: "Who painted the Mona Lisa?" ->
    ["Mona Lisa"]."""
    tokens = _tokens(query)
    spans: list[str] = []
    current: list[str] = []

    def flush() -> None:
        while current and current[-1].lower() in _CONNECTORS:
            current.pop()
        if current and len(" ".join(current)) >= 3:
            spans.append(" ".join(current))
        current.clear()

    for i, token in enumerate(tokens):
        if (_capitalised(token) and not (i == 0 and token.lower() in QUESTION_WORDS)) or (
            current and token.lower() in _CONNECTORS
        ):
            current.append(token)
        else:
            flush()
    flush()
    return spans


def entity_query(query: str) -> str | None:
    """The query's names alone, or ``None`` when it has none or is nothing but its names."""
    spans = name_spans(query)
    if not spans:
        return None
    rewritten = " ".join(spans)
    return None if rewritten.casefold() == " ".join(_tokens(query)).casefold() else rewritten
