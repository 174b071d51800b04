"""The State a workflow run threads through its steps, and the read-only values it holds.

Values written to a :class:`State` are frozen on write: dicts become :class:`ReadOnlyDict`, lists become
:class:`ReadOnlyList` (both still ``isinstance`` of ``dict`` / ``list``, compare equal to plain ones and
serialise to JSON), sets become ``frozenset``, tuples stay tuples of frozen values. Immutable scalars pass
through untouched, and values that are already frozen are not copied again, so handing state from step to
step costs nothing.

Any other object (a step's own class, a bytearray, ...) is deep-copied on write, and every read of a key whose
value holds such an object anywhere — at the top or nested inside dicts, lists, tuples or sets — returns a
fresh copy of it, so no two steps ever share a mutable object through the state. A value that cannot be
copied (a lock, an open file, a generator) is refused with :class:`~mm_orch.exceptions.StateValueError`.

A step that wants to modify a value copies it first: ``docs = dict(state["docs"])``.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Iterator, Mapping
from typing import Any, NoReturn

from mm_orch.exceptions import StateMutationError, StateValueError

__all__ = ["ReadOnlyDict", "ReadOnlyList", "State", "freeze", "thaw"]

_IMMUTABLE_SCALARS: tuple[type, ...] = (str, int, float, bool, bytes, complex, type(None), enum.Enum, frozenset)


def _refuse(kind: str) -> NoReturn:
    raise StateMutationError(
        f"state values are read-only: this {kind} came from the workflow state and other steps may read it. "
        f"Copy it first (e.g. `dict(value)` / `list(value)`), change the copy, and return it from execute()."
    )


class ReadOnlyDict(dict[Any, Any]):
    """A ``dict`` whose mutating methods raise :class:`StateMutationError`. ``copy()`` gives a plain dict."""

    __slots__ = ()

    def __setitem__(self, key: Any, value: Any) -> None:
        _refuse("dict")

    def __delitem__(self, key: Any) -> None:
        _refuse("dict")

    def __ior__(self, other: Any) -> ReadOnlyDict:  # type: ignore[misc]
        _refuse("dict")

    def clear(self) -> None:
        _refuse("dict")

    def pop(self, *args: Any) -> Any:
        _refuse("dict")

    def popitem(self) -> tuple[Any, Any]:
        _refuse("dict")

    def setdefault(self, *args: Any) -> Any:
        _refuse("dict")

    def update(self, *args: Any, **kwargs: Any) -> None:
        _refuse("dict")

    def __copy__(self) -> ReadOnlyDict:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> ReadOnlyDict:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_dict, (dict(self),))


class ReadOnlyList(list[Any]):
    """A ``list`` whose mutating methods raise :class:`StateMutationError`. ``copy()`` gives a plain list."""

    __slots__ = ()

    def __setitem__(self, index: Any, value: Any) -> None:
        _refuse("list")

    def __delitem__(self, index: Any) -> None:
        _refuse("list")

    def __iadd__(self, other: Any) -> ReadOnlyList:  # type: ignore[misc]
        _refuse("list")

    def __imul__(self, other: Any) -> ReadOnlyList:  # type: ignore[misc]
        _refuse("list")

    def append(self, value: Any) -> None:
        _refuse("list")

    def extend(self, values: Any) -> None:
        _refuse("list")

    def insert(self, index: Any, value: Any) -> None:
        _refuse("list")

    def pop(self, *args: Any) -> Any:
        _refuse("list")

    def remove(self, value: Any) -> None:
        _refuse("list")

    def clear(self) -> None:
        _refuse("list")

    def sort(self, *args: Any, **kwargs: Any) -> None:
        _refuse("list")

    def reverse(self) -> None:
        _refuse("list")

    def __copy__(self) -> ReadOnlyList:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> ReadOnlyList:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_list, (list(self),))


def _rebuild_dict(items: dict[Any, Any]) -> ReadOnlyDict:
    return ReadOnlyDict(items)


def _rebuild_list(items: list[Any]) -> ReadOnlyList:
    return ReadOnlyList(items)


def _freeze(value: Any) -> tuple[Any, bool]:
    """``(frozen value, whether it holds a copied mutable object somewhere)``."""
    cls = type(value)
    if cls is str or cls is int or cls is float or cls is bool or value is None:  # hot path
        return value, False
    if cls is ReadOnlyDict or cls is ReadOnlyList:  # frozen by us, but it may hold copied objects
        return value, any(_freeze(v)[1] for v in (value.values() if cls is ReadOnlyDict else value))
    if isinstance(value, dict):
        items, opaque = {}, False
        for k, v in value.items():
            items[k], nested = _freeze(v)
            opaque = opaque or nested
        return ReadOnlyDict(items), opaque
    if isinstance(value, list | tuple | set | frozenset) and not hasattr(value, "_fields"):
        parts = [_freeze(v) for v in value]
        opaque = any(p[1] for p in parts)
        frozen = [p[0] for p in parts]
        if isinstance(value, list):
            return ReadOnlyList(frozen), opaque
        if isinstance(value, tuple):
            return tuple(frozen), opaque
        return frozenset(frozen), opaque
    if isinstance(value, _IMMUTABLE_SCALARS):
        return value, False
    try:
        return copy.deepcopy(value), True
    except Exception as exc:
        raise StateValueError(
            f"a {cls.__name__} cannot be stored in the state: it cannot be copied ({type(exc).__name__}: {exc}), "
            f"and steps must not share mutable objects. Store plain data (dicts, lists, strings, numbers), or "
            f"hand the object to steps through the runtime instead."
        ) from exc


def freeze(value: Any) -> Any:
    """Return a read-only equivalent of ``value`` that shares no mutable object with it."""
    return _freeze(value)[0]


def _fresh(value: Any) -> Any:
    """A copy of a frozen value that holds copied objects: containers rebuilt, the objects copied again."""
    cls = type(value)
    if cls is ReadOnlyDict:
        return ReadOnlyDict({k: _fresh(v) for k, v in value.items()})
    if cls is ReadOnlyList:
        return ReadOnlyList([_fresh(v) for v in value])
    if cls is tuple:
        return tuple(_fresh(v) for v in value)
    if cls is frozenset:
        return frozenset(_fresh(v) for v in value)
    if isinstance(value, _IMMUTABLE_SCALARS):
        return value
    return copy.deepcopy(value)


def thaw(value: Any) -> Any:
    """Return a plain, mutable deep copy of a frozen value (dicts and lists become ordinary ones)."""
    if isinstance(value, dict):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, list):
        return [thaw(v) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(thaw(v) for v in value)
    return value


class State(Mapping[str, Any]):
    """The read-only mapping a step sees: ``state["question"]``, ``"docs" in state``, ``state.get(...)``.

    Steps never modify a State; they return a dict of updates from ``execute()`` and the executor builds
    the next State with :meth:`merged`. ``State(**values)`` or ``State(mapping)`` builds an initial state.
    """

    __slots__ = ("_data", "_opaque")

    def __init__(self, data: Mapping[str, Any] | None = None, /, **kwargs: Any) -> None:
        values: dict[str, Any] = dict(data) if data is not None else {}
        values.update(kwargs)
        self._data: dict[str, Any] = {}
        self._opaque: frozenset[str] = frozenset()
        self._absorb(values)

    def _absorb(self, updates: Mapping[str, Any]) -> None:
        data, opaque = self._data, self._opaque
        changed: set[str] | None = None
        for key, value in updates.items():
            if type(key) is not str:
                raise TypeError(f"state keys must be strings, got {key!r} ({type(key).__name__})")
            try:
                frozen, is_opaque = _freeze(value)
            except StateValueError as exc:
                raise StateValueError(f"state key {key!r}: {exc}") from exc.__cause__
            data[key] = frozen
            if is_opaque != (key in opaque):
                changed = set(opaque) if changed is None else changed
                changed.add(key) if is_opaque else changed.discard(key)
                opaque = frozenset(changed)
        self._opaque = opaque

    def __getitem__(self, key: str) -> Any:
        try:
            value = self._data[key]
        except KeyError:
            available = ", ".join(sorted(self._data)) or "(empty)"
            raise KeyError(f"{key!r} is not in the state; available keys: {available}") from None
        if key in self._opaque:
            return _fresh(value)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        """``state[key]`` when present, else ``default``."""
        if key not in self._data:
            return default
        return self[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"State({self._data!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, State):
            return self._data == other._data
        if isinstance(other, Mapping):
            return self._data == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def merged(self, updates: Mapping[str, Any]) -> State:
        """A new State with ``updates`` applied (frozen on the way in); this State is unchanged."""
        new = State.__new__(State)
        new._data = dict(self._data)
        new._opaque = self._opaque
        new._absorb(updates)
        return new

    def to_dict(self) -> dict[str, Any]:
        """A plain, mutable deep copy of the whole state."""
        return {k: thaw(self[k]) for k in self._data}
