"""Comparison questions ("Which is older, A or B?", "Is the Nile longer than the Amazon?") answered from the
facts stated in both sides' articles.

What is compared follows from the question's comparative: dates (older, earlier, first, younger, newer, later)
or measures (longer, taller, higher, larger, bigger, deeper, more populous and their opposites). The value of
each side is read from its article: the first year of a person's life span in the short description, else the
first year in the lead; or the first number with a unit of the right family (km/mi, m/ft, km²/sq mi, people),
converted to one unit. "Are A and B both ...?" questions are answered yes or no by whether the last name in the
question occurs in both sides' leads. When no value can be read for both sides the caller asks the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Verdict", "compare_items", "comparison_direction"]

_EARLIER = ("older", "oldest", "earlier", "first", "before", "earliest")
_LATER = ("younger", "newer", "later", "more recent", "last", "after", "youngest")
_MORE = ("longer", "taller", "higher", "larger", "bigger", "deeper", "heavier", "more populous", "greater",
         "wider", "more", "most")  # fmt: skip
_LESS = ("shorter", "smaller", "lower", "shallower", "lighter", "less", "fewer", "narrower")
_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-2][0-9])\b")
_LIFESPAN = re.compile(r"\((?:c\.\s*)?(\d{3,4})\s*(?:BC|BCE)?\s*[–-]")
_UNITS: dict[str, dict[str, float]] = {
    "length": {"km": 1.0, "kilometres": 1.0, "kilometers": 1.0, "mi": 1.609, "miles": 1.609},
    "height": {"m": 1.0, "metres": 1.0, "meters": 1.0, "ft": 0.3048, "feet": 0.3048},
    "area": {"km2": 1.0, "km²": 1.0, "square kilometres": 1.0, "square kilometers": 1.0, "sq mi": 2.59,
             "square miles": 2.59},
    "people": {"million": 1e6, "people": 1.0, "inhabitants": 1.0, "residents": 1.0},
}  # fmt: skip
_FAMILY = {"longer": "length", "shorter": "length", "taller": "height", "higher": "height", "deeper": "height",
           "shallower": "height", "larger": "area", "bigger": "area", "smaller": "area", "more populous": "people",
           "wider": "length", "narrower": "length"}  # fmt: skip
_NUMBER = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*(?:\(|-)?\s*([a-z²0-9 ]{1,18})", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Which item wins (its index), or a yes/no, with the values read (for the evidence line)."""

    answer: str
    winner: int | None
    values: tuple[float | None, float | None]


def comparison_direction(question: str) -> tuple[str, str] | None:
    """``(what, direction)``: ``("year", "min")`` for "older", ``("length", "max")`` for "longer", ..."""
    q = question.lower()
    if re.search(r"\bborn first\b|\bolder\b|\bearlier\b|\bfirst\b|\boldest\b", q):
        return ("year", "min")
    if any(re.search(rf"\b{w}\b", q) for w in _LATER):
        return ("year", "max")
    for word in sorted(_FAMILY, key=len, reverse=True):
        if re.search(rf"\b{word}\b", q):
            return (_FAMILY[word], "max" if word in _MORE else "min")
    if any(re.search(rf"\b{w}\b", q) for w in _EARLIER):
        return ("year", "min")
    return None


def _year(description: str, text: str) -> float | None:
    span = _LIFESPAN.search(description) or _LIFESPAN.search(text[:300])
    if span:
        return float(span.group(1))
    found = _YEAR.search(text)
    return float(found.group(1)) if found else None


def _measure(text: str, family: str) -> float | None:
    units = _UNITS[family]
    for match in _NUMBER.finditer(text):
        tail = match.group(2).lower().strip()
        for unit in sorted(units, key=len, reverse=True):
            if tail == unit or tail.startswith(unit + " ") or tail.startswith(unit + ")"):
                try:
                    return float(match.group(1).replace(",", "")) * units[unit]
                except ValueError:
                    return None
    return None


def _both(question: str, items: tuple[str, str], texts: tuple[str, str]) -> Verdict | None:
    if not re.match(r"^\s*(are|were|do|did|is|was)\b", question, re.I) or " both " not in f" {question.lower()} ":
        return None
    tail = question.lower().rsplit("both", 1)[-1]
    names = re.findall(r"\b[A-Z][\w-]+(?:\s+[A-Z][\w-]+)*", question.rsplit("both", 1)[-1])
    wanted = [n.lower() for n in names if n.lower() not in (items[0].lower(), items[1].lower())]
    if not wanted and not tail.strip(" ?"):
        return None
    key = wanted[-1] if wanted else tail.strip(" ?").split()[-1]
    ok = all(key in t.lower() for t in texts)
    return Verdict("yes" if ok else "no", None, (None, None))


def compare_items(
    question: str, items: tuple[str, str], texts: tuple[str, str], descriptions: tuple[str, str] = ("", "")
) -> Verdict | None:
    """The comparison's answer from both sides' texts, or None when the values cannot be read."""
    both = _both(question, items, texts)
    if both is not None:
        return both
    direction = comparison_direction(question)
    if direction is None:
        return None
    what, way = direction
    if what == "year":
        values = (_year(descriptions[0], texts[0]), _year(descriptions[1], texts[1]))
    else:
        values = (_measure(texts[0], what), _measure(texts[1], what))
    a, b = values
    if a is None or b is None or a == b:
        return None
    winner = (0 if a < b else 1) if way == "min" else (0 if a > b else 1)
    return Verdict(items[winner], winner, values)
