"""Checks for text that arrives from outside (HTTP bodies, CLI arguments) before it reaches logs, traces or files.

Python's ``json.loads`` (which FastAPI uses) accepts escapes such as ``"\\udfff"`` and yields a *lone UTF-16
surrogate*: a ``str`` that cannot be encoded as UTF-8. Such text passes a plain ``str`` field and then breaks
whatever writes it out later (the trace, the HTTP answer, a session file). These helpers refuse it up front,
naming the field and the fix, and refuse control characters in identifiers, which end up in log lines.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["check_finite", "check_identifier", "check_text", "check_tree"]

_SURROGATES = range(0xD800, 0xE000)


def _surrogate_at(value: str) -> int | None:
    for index, char in enumerate(value):
        if ord(char) in _SURROGATES:
            return index
    return None


def _printable(value: str) -> str:
    """``value`` with lone surrogates escaped, safe to put in a message."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def check_text(value: str, field: str) -> str:
    """``value`` unchanged, or ValueError when it holds a lone UTF-16 surrogate."""
    index = _surrogate_at(value)
    if index is not None:
        raise ValueError(
            f"{field} holds a lone UTF-16 surrogate (U+{ord(value[index]):04X} at position {index}), which is not "
            "valid Unicode; send UTF-8 text (a \\ud800-\\udbff escape must be followed by a \\udc00-\\udfff one)"
        )
    return value


def check_identifier(value: str, field: str) -> str:
    """Like :func:`check_text`, and also refuses control characters (ids are written into log lines)."""
    check_text(value, field)
    bad = next((c for c in value if ord(c) < 0x20 or ord(c) == 0x7F), None)
    if bad is not None:
        raise ValueError(
            f"{field} holds the control character U+{ord(bad):04X}; send printable text (no newlines or tabs)"
        )
    return value


def check_tree(value: Any, field: str) -> Any:
    """``value`` unchanged, or ValueError naming the first string (key or value) with a lone surrogate.

    Walks mappings and sequences (JSON-like data such as ``UserRequest.context``) to any depth.
    """
    stack: list[tuple[Any, str]] = [(value, field)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            check_text(item, where)
        elif isinstance(item, Mapping):
            for key, inner in item.items():
                name = _printable(key) if isinstance(key, str) else repr(key)
                if isinstance(key, str):
                    check_text(key, f"a key of {where}")
                stack.append((inner, f"{where}.{name}"))
        elif isinstance(item, Sequence) and not isinstance(item, bytes | bytearray):
            stack.extend((inner, f"{where}[{i}]") for i, inner in enumerate(item))
    return value


def check_finite(value: Any, field: str) -> Any:
    """``value`` unchanged, or ValueError naming the first NaN or infinite number in it (at any depth)."""
    stack: list[tuple[Any, str]] = [(value, field)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise ValueError(
                f"{where} is {item!r}, which standard JSON cannot carry; send a finite number, a string or null"
            )
        if isinstance(item, Mapping):
            stack.extend((inner, f"{where}.{_printable(str(key))}") for key, inner in item.items())
        elif isinstance(item, Sequence) and not isinstance(item, str | bytes | bytearray):
            stack.extend((inner, f"{where}[{i}]") for i, inner in enumerate(item))
    return value
