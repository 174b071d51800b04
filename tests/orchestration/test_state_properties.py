"""Property: nothing read from a State, however deeply nested, lets a step change what another step reads."""

from __future__ import annotations

import copy
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mm_orch.exceptions import StateMutationError, StateValueError
from mm_orch.orchestration import State


class Box:
    """A custom mutable object, the kind a step might put in the state."""

    def __init__(self, items: list[Any]) -> None:
        self.items = items

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Box) and self.items == other.items

    __hash__ = object.__hash__  # hashable by identity, so it can sit in sets too


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5), st.binary(max_size=4))
boxes = st.lists(scalars, max_size=3).map(Box)
values = st.recursive(
    st.one_of(scalars, boxes),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=3), inner, max_size=3),
        st.frozensets(scalars, max_size=3),  # a Box in a set: see below (sets compare Boxes by identity)
    ),
    max_leaves=12,
)


def snapshot(value: Any) -> Any:
    """A plain deep copy to compare against (Box compares by its items)."""
    return copy.deepcopy(value)


def vandalise(value: Any, *, read_only: bool = True) -> None:
    """Try every mutation a careless step could make, everywhere inside ``value``; containers read from a
    State must refuse with StateMutationError (``read_only``), the caller's own ones simply change."""
    if isinstance(value, Box):
        value.items.append("changed")
        return
    children: list[Any] = []
    if isinstance(value, dict):
        children = list(value.values())
        attempts = [lambda: value.__setitem__("new", 1), value.clear]
    elif isinstance(value, list):
        children = list(value)
        attempts = [lambda: value.append(1), value.clear]
    else:
        children = list(value) if isinstance(value, tuple | frozenset) else []
        attempts = []
    for child in children:
        vandalise(child, read_only=read_only)
    for attempt in attempts:
        if read_only:
            with pytest.raises(StateMutationError, match="read-only"):
                attempt()
        else:
            attempt()


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=4), values, min_size=1, max_size=4))
def test_reads_never_share_a_mutable_object(initial: dict[str, Any]) -> None:
    expected = snapshot(initial)
    state = State(initial)
    vandalise(initial, read_only=False)  # the caller's own objects are not shared with the state either
    for key in state:
        vandalise(state[key])
    assert state.to_dict() == expected
    assert {k: state[k] for k in state} == expected
    nxt = state.merged({"extra": state[next(iter(state))]})  # a step writing back what it read
    for key in nxt:
        vandalise(nxt[key])
    assert state.to_dict() == expected
    assert {k: nxt[k] for k in expected} == expected


def test_the_issue_example_no_longer_persists() -> None:
    state = State(d={"b": Box([])})
    state["d"]["b"].items.append(1)
    assert state["d"]["b"].items == []


def test_an_object_inside_a_set_is_copied_too() -> None:
    state = State(s={Box([1])})
    (inside,) = state["s"]
    inside.items.append(2)
    assert [b.items for b in state["s"]] == [[1]]


def test_values_that_cannot_be_copied_are_refused_with_the_key_and_the_fix() -> None:
    with pytest.raises(StateValueError, match=r"state key 'guard': a lock cannot be stored in the state.*runtime"):
        State(guard={"inner": threading.Lock()})
